using System.Text;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

/// <summary>
/// A deterministic stand-in for a real byte-level BPE vocabulary (no real one is on disk, and none can be
/// downloaded), shaped like Qwen's where it matters for grammar masks: all 256 single bytes; English-like words
/// with and without a leading space and capitalised; a punctuation character glued to a word (<c>"name</c>,
/// <c>.append</c>, as Qwen's and cl100k's pre-tokenizers allow); JSON and code punctuation runs (<c>":</c>,
/// <c>",</c>, <c>{"</c>, <c>"}</c>); digit runs; whitespace and indentation runs; CJK, Cyrillic, accented and emoji
/// pieces, including partial UTF-8. Special tokens decode to no bytes. Also used by bench/Constraints.
/// </summary>
public sealed class SyntheticVocabulary
{
    /// <summary>Qwen2.5's vocabulary: 151,643 byte tokens, then special tokens and unused ids up to 151,936.</summary>
    public const int QwenRegular = 151_643, QwenSize = 151_936;

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly int _longest;

    private SyntheticVocabulary(List<byte[]> tokens, int[] endTokens)
    {
        Tokens = tokens;
        EndTokens = endTokens;
        for (var id = 0; id < tokens.Count; id++)
        {
            if (tokens[id].Length > 0)
            {
                _ids.TryAdd(Encoding.Latin1.GetString(tokens[id]), id);
                _longest = Math.Max(_longest, tokens[id].Length);
            }
        }
    }

    public IReadOnlyList<byte[]> Tokens { get; }

    /// <summary>The end-of-text and end-of-turn tokens (special: no bytes).</summary>
    public int[] EndTokens { get; }

    public static SyntheticVocabulary Qwen() => Build(QwenRegular, QwenSize, seed: 2025);

    /// <param name="regular">How many byte tokens (at least ~1,500: the fixed part).</param>
    /// <param name="size">Total ids; those after the byte tokens are special or unused (no bytes).</param>
    public static SyntheticVocabulary Build(int regular, int size, int seed)
    {
        var random = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tokens = new List<byte[]>();
        void Add(byte[] bytes)
        {
            if (bytes.Length > 0 && tokens.Count < regular && seen.Add(Encoding.Latin1.GetString(bytes)))
            {
                tokens.Add(bytes);
            }
        }

        void AddText(string text) => Add(Encoding.UTF8.GetBytes(text));

        for (var b = 0; b < 256; b++)
        {
            Add([(byte)b]);
        }

        foreach (var fixedToken in FixedTokens())
        {
            AddText(fixedToken);
        }

        // Digit runs of 1-3 digits (cl100k style), some with a leading space.
        for (var n = 0; n < 1000 && tokens.Count < regular; n++)
        {
            AddText(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (n < 100)
            {
                AddText(" " + n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        // The rest in fixed proportions, drawn until full.
        var punctuationGlue = "\"._('/-@$#<[{:\\";
        while (tokens.Count < regular)
        {
            var roll = random.NextDouble();
            var word = Word(random);
            switch (roll)
            {
                case < 0.62:
                    AddText(random.Next(4) switch { 0 => word, 1 => " " + word, 2 => " " + Capital(word), _ => Capital(word) });
                    break;
                case < 0.70:
                    AddText(punctuationGlue[random.Next(punctuationGlue.Length)] + (random.Next(3) == 0 ? Capital(word) : word));
                    break;
                case < 0.74:
                    AddText(Punctuation(random));
                    break;
                case < 0.78:
                    AddText(random.Next(3) switch { 0 => word + "_" + Word(random), 1 => word + Capital(Word(random)), _ => "_" + word });
                    break;
                case < 0.88:
                    AddText(Cjk(random, random.Next(1, 3)));
                    break;
                case < 0.93:
                    AddText((random.Next(2) == 0 ? " " : "") + Cyrillic(random));
                    break;
                case < 0.95:
                    AddText((random.Next(2) == 0 ? " " : "") + Accented(random));
                    break;
                case < 0.96:
                    AddText(char.ConvertFromUtf32(0x1F300 + random.Next(0x300)));
                    break;
                default:
                    // Partial UTF-8: the leading or trailing bytes of a multi-byte character, as byte-level BPE keeps them.
                    var utf8 = Encoding.UTF8.GetBytes(Cjk(random, 1) + Cjk(random, 1));
                    var cut = random.Next(1, utf8.Length);
                    Add(random.Next(2) == 0 ? utf8[..cut] : utf8[cut..]);
                    break;
            }
        }

        var result = new List<byte[]>(tokens);
        while (result.Count < size)
        {
            result.Add([]);
        }

        // Qwen's <|endoftext|> and <|im_end|> positions relative to the first special id.
        var ends = new[] { regular, regular + 2 }.Where(e => e < size).ToArray();
        return new SyntheticVocabulary(result, ends);
    }

    /// <summary>Greedy longest-match tokenization; every byte is a token, so any text encodes.</summary>
    public List<int> Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ids = new List<int>();
        for (var i = 0; i < bytes.Length;)
        {
            for (var length = Math.Min(_longest, bytes.Length - i); length > 0; length--)
            {
                if (_ids.TryGetValue(Encoding.Latin1.GetString(bytes, i, length), out var id))
                {
                    ids.Add(id);
                    i += length;
                    break;
                }
            }
        }

        return ids;
    }

    private static IEnumerable<string> FixedTokens()
    {
        string[] json =
        [
            "\":", "\",", "{\"", "\"}", "\":\"", "\",\"", "\"]", "[\"", "\":[", "\":{\"", "\"},{\"", " \"", "\\\"", "\\\\",
            "\\n", "\"\n", "\",\n", "{\n", "}\n", "},\n", "],\n", "\": ", "\", ", "\": \"", "\", \"", "\": {", "\": [", "},", "}}",
            "}]", "]}", "}}\n", "\"}}", "\"}\n", "\"},", "\"],", "\" ", ":\"", ",\"", ", \"", "\":true", "\":false", "\":null",
            " true", " false", " null", "true", "false", "null", ": ", ", ", ":{", ":[", "[{", "[{\"", "[]", "{}", "\"\"", "\"\",",
            "<tool_call>", "</tool_call>", "<tool", "_call", ">\n", "\n<", "</", "\"\n}", "\n}", "\n]", "\u00e9\"", "\"\u4e2d",
            "0.", ".0", "0,", "1,", "2,", "e-", "e+", "E+", "-1", " -", "\t\"", "\"\t", "\"\\", "\\u", "\\u00",
        ];
        foreach (var token in json)
        {
            yield return token;
        }

        for (var n = 2; n <= 64; n++)
        {
            yield return new string(' ', n);
            yield return "\n" + new string(' ', n - 2);
        }

        for (var n = 1; n <= 8; n++)
        {
            yield return new string('\t', n);
            yield return "\n" + new string('\t', n);
            yield return new string('\n', n);
        }

        yield return "\r\n";
        yield return "\r\n\r\n";
    }

    private static readonly string[] Onsets = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y", "z", "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gr", "pl", "pr", "qu", "sh", "sl", "sp", "st", "str", "th", "tr", "wh"];
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ie", "io", "ou", "oo", "ue", "y"];
    private static readonly string[] Codas = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "nt", "st", "ll", "ck", "ss", "rd", "rt", "x", "ch", "th", "tion", "ing", "ed", "er", "ly", "ment", "ness"];

    private static string Word(Random random)
    {
        var builder = new StringBuilder();
        var syllables = random.Next(10) switch { < 4 => 1, < 8 => 2, < 9 => 3, _ => 4 };
        for (var s = 0; s < syllables; s++)
        {
            builder.Append(Onsets[random.Next(Onsets.Length)]).Append(Vowels[random.Next(Vowels.Length)]).Append(Codas[random.Next(Codas.Length)]);
        }

        return builder.ToString();
    }

    private static string Capital(string word) => word.Length == 0 ? word : char.ToUpperInvariant(word[0]) + word[1..];

    private static string Punctuation(Random random)
    {
        const string chars = "{}[]()\":,.;'!?<>/=+-*&|\\#@$%^~`_ \n";
        var length = random.Next(2, 5);
        return string.Concat(Enumerable.Range(0, length).Select(_ => chars[random.Next(chars.Length)]));
    }

    private static string Cjk(Random random, int count) =>
        string.Concat(Enumerable.Range(0, count).Select(_ => (char)(0x4E00 + random.Next(0x5000))));

    private static string Cyrillic(Random random) =>
        string.Concat(Enumerable.Range(0, random.Next(2, 8)).Select(_ => (char)(0x0430 + random.Next(32))));

    private static string Accented(Random random)
    {
        const string accents = "éèêëàâäôöûüùçñßøåæ";
        var word = Word(random);
        var at = random.Next(word.Length + 1);
        return word[..at] + accents[random.Next(accents.Length)] + word[at..];
    }
}
