using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lanes.Inference.Engine.Torch.Checkpoint;
using Microsoft.ML.Tokenizers;

namespace Lanes.Inference.Engine.Torch.Tokenization;

/// <summary>
/// A model's BPE tokenizer read from a Hugging Face <c>tokenizer.json</c>, in the two forms the Llama family ships:
/// byte-level (GPT-2 style: Llama 3, Qwen2, with the model's own split pattern) and SentencePiece-style with byte
/// fallback (Llama 2, Mistral: spaces as "▁", unknown characters as <c>&lt;0xNN&gt;</c> tokens). Encoding is
/// Microsoft.ML.Tokenizers' (its BPE merges a word in n log n, so a long word is merged whole, as the reference
/// does); this class adds what the engine needs around it: each token's bytes for streaming and grammars, the
/// special tokens by name, the prompt's prefix token. Text given to <see cref="Encode"/> is never scanned for
/// special tokens, so a user cannot inject a turn marker; templates add special tokens by id.
/// </summary>
public sealed class ModelTokenizer
{
    /// <summary>GPT-2's pre-tokenizer pattern, used when a ByteLevel pre-tokenizer splits on its own.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private const char SpaceMark = '\u2581';

    /// <summary>The pre-tokenizer for text that is one word: Microsoft.ML.Tokenizers' BPE splits words from
    /// non-words when it is given none, which would keep "▁" from ever merging with the word after it.</summary>
    private static readonly Regex WholeText = new(@"[\s\S]+", RegexOptions.CultureInvariant);

    /// <summary>Metaspace: a word starts at each "▁".</summary>
    private static readonly Regex MetaspaceWords = new("\u2581?[^\u2581]+|\u2581+", RegexOptions.CultureInvariant);

    /// <summary>Stands for "no such piece" inside the encoder, so a character the vocabulary lacks comes back with
    /// its place in the text and is spelled in byte-fallback tokens.</summary>
    private const string EncoderUnknown = "\u0000unknown";

    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _special;
    private readonly HashSet<int> _specialIds;
    private readonly byte[][] _tokenBytes;
    private readonly Tokenizer _encoder;
    private readonly bool _byteLevel;
    private readonly bool _prependSpace;

    private ModelTokenizer(Dictionary<string, int> vocab, List<(string, string)> merges, Dictionary<string, int> special,
        Regex? split, bool byteLevel, bool prependSpace, bool metaspace, int? bos)
    {
        _vocab = vocab;
        _special = special;
        _specialIds = [.. special.Values];
        _byteLevel = byteLevel;
        _prependSpace = prependSpace;
        PrefixToken = bos;
        // The vocabulary without the added tokens, and no special tokens: text is text, whatever it spells.
        _encoder = byteLevel
            ? Microsoft.ML.Tokenizers.BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges.Select(m => m.Item1 + " " + m.Item2),
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(split ?? WholeText, specialTokens: null),
            })
            : Microsoft.ML.Tokenizers.BpeTokenizer.Create(new BpeOptions(vocab.Append(KeyValuePair.Create(EncoderUnknown, int.MaxValue)))
            {
                Merges = merges.Select(m => m.Item1 + " " + m.Item2),
                UnknownToken = EncoderUnknown,
                // Without a Metaspace pre-tokenizer the text is one word, as the reference merges it.
                PreTokenizer = new RegexPreTokenizer(metaspace ? MetaspaceWords : WholeText, specialTokens: null),
            });
        VocabSize = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, special.Count == 0 ? 0 : special.Values.Max() + 1);
        var names = new string[VocabSize];
        foreach (var (token, id) in vocab)
        {
            names[id] = token;
        }

        foreach (var (token, id) in special)
        {
            names[id] = token;
        }

        _tokenBytes = new byte[VocabSize][];
        for (var id = 0; id < VocabSize; id++)
        {
            _tokenBytes[id] = names[id] is not { } n || _specialIds.Contains(id) ? [] : TokenToBytes(n, id);
        }
    }

    public int VocabSize { get; }

    /// <summary>The token a plain prompt starts with (Llama's BOS), if the tokenizer adds one.</summary>
    public int? PrefixToken { get; }

    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    public static ModelTokenizer Load(string folder)
    {
        var path = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path))
        {
            throw new ModelLoadException(File.Exists(Path.Combine(folder, "tokenizer.model"))
                ? $"The model folder '{folder}' has only a SentencePiece tokenizer.model; this engine reads tokenizer.json (convert it with Hugging Face's tokenizers)."
                : $"The model folder '{folder}' has no tokenizer.json.");
        }

        try
        {
            return FromJson(JsonNode.Parse(File.ReadAllText(path))!.AsObject(), path);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    public static ModelTokenizer FromJson(JsonObject json, string source = "tokenizer.json")
    {
        var model = json["model"]?.AsObject() ?? throw new ModelLoadException($"{source} has no model.");
        if (model["type"]?.GetValue<string>() is { } type && type != "BPE")
        {
            throw new ModelLoadException($"{source}: tokenizer model '{type}' is not supported; only BPE is.");
        }

        var vocab = model["vocab"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>(), StringComparer.Ordinal);
        var merges = model["merges"]!.AsArray().Select(m => m switch
        {
            JsonArray pair => (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()),
            _ => m!.GetValue<string>().Split(' ', 2) is [var a, var b] ? (a, b) : throw new ModelLoadException($"{source}: malformed merge '{m}'."),
        }).ToList();
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var added in json["added_tokens"]?.AsArray() ?? [])
        {
            var content = added!["content"]!.GetValue<string>();
            var id = added["id"]!.GetValue<int>();
            special[content] = id;
            vocab.Remove(content);
        }

        var preTokenizers = Flatten(json["pre_tokenizer"]).ToList();
        var byteLevel = preTokenizers.Any(p => p["type"]?.GetValue<string>() == "ByteLevel") || Flatten(json["decoder"]).Any(d => d["type"]?.GetValue<string>() == "ByteLevel");
        Regex? split = null;
        if (byteLevel)
        {
            var pattern = preTokenizers.FirstOrDefault(p => p["type"]?.GetValue<string>() == "Split")?["pattern"]?["Regex"]?.GetValue<string>()
                          ?? (preTokenizers.Any(p => p["type"]?.GetValue<string>() == "ByteLevel" && p["use_regex"]?.GetValue<bool>() != false) ? Gpt2Pattern : null);
            split = pattern is null ? null : new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        else if (model["byte_fallback"]?.GetValue<bool>() != true)
        {
            throw new ModelLoadException($"{source}: neither a ByteLevel pre-tokenizer nor byte_fallback: this BPE variant is not supported.");
        }

        // SentencePiece-style: a normalizer or Metaspace pre-tokenizer prepends "▁" to the text.
        var metaspace = !byteLevel && preTokenizers.Any(p => p["type"]?.GetValue<string>() == "Metaspace");
        var prepend = !byteLevel && (Flatten(json["normalizer"]).Any(n => n["type"]?.GetValue<string>() == "Prepend")
                                     || preTokenizers.Any(p => p["type"]?.GetValue<string>() == "Metaspace" && p["prepend_scheme"]?.GetValue<string>() != "never"));
        int? bos = null;
        foreach (var processor in Flatten(json["post_processor"]).Where(p => p["type"]?.GetValue<string>() == "TemplateProcessing"))
        {
            if (processor["single"]?.AsArray().FirstOrDefault()?["SpecialToken"]?["id"]?.GetValue<string>() is { } first && special.TryGetValue(first, out var id))
            {
                bos = id;
            }
        }

        return new ModelTokenizer(vocab, merges, special, split, byteLevel, prepend, metaspace, bos);
    }

    private static IEnumerable<JsonObject> Flatten(JsonNode? node)
    {
        if (node is not JsonObject o)
        {
            yield break;
        }

        var children = o["pretokenizers"] ?? o["normalizers"] ?? o["processors"] ?? o["decoders"];
        if (children is JsonArray list)
        {
            foreach (var child in list.SelectMany(Flatten))
            {
                yield return child;
            }
        }
        else
        {
            yield return o;
        }
    }

    public int SpecialId(string token) => _special.TryGetValue(token, out var id) ? id
        : _vocab.TryGetValue(token, out var v) ? v
        : throw new ModelLoadException($"The tokenizer has no token '{token}'.");

    public bool TrySpecialId(string token, out int id) => _special.TryGetValue(token, out id) || _vocab.TryGetValue(token, out id);

    public bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <summary>Encodes plain text (special-token strings in it are ordinary text).</summary>
    public List<int> Encode(string text, List<int>? into = null)
    {
        into ??= [];
        if (text.Length == 0)
        {
            return into;
        }

        if (_byteLevel)
        {
            into.AddRange(_encoder.EncodeToIds(text));
            return into;
        }

        // SentencePiece-style: spaces become "▁" (one prepended, as the normalizer says); a character the vocabulary
        // lacks is spelled in byte-fallback tokens.
        var normalized = (_prependSpace ? " " + text : text).Replace(' ', SpaceMark);
        foreach (var token in _encoder.EncodeToTokens(normalized, out _))
        {
            if (token.Id != int.MaxValue)
            {
                into.Add(token.Id);
                continue;
            }

            foreach (var b in Encoding.UTF8.GetBytes(normalized[token.Offset]))
            {
                into.Add(ByteFallback(b));
            }
        }

        return into;
    }

    /// <summary>The bytes a token stands for (nothing for special tokens).</summary>
    public ReadOnlySpan<byte> Bytes(int id) => (uint)id < (uint)_tokenBytes.Length ? _tokenBytes[id] : [];

    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            bytes.AddRange(_tokenBytes[id]);
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private int ByteFallback(byte b) =>
        _vocab.TryGetValue($"<0x{b:X2}>", out var id) ? id : throw new InvalidOperationException($"The vocabulary lacks the byte-fallback token <0x{b:X2}>.");

    private byte[] TokenToBytes(string token, int id)
    {
        if (_byteLevel)
        {
            var bytes = new byte[token.Length];
            for (var i = 0; i < token.Length; i++)
            {
                if (!CharToByte.TryGetValue(token[i], out bytes[i]))
                {
                    // An added non-special token written in plain text.
                    return Encoding.UTF8.GetBytes(token);
                }
            }

            return bytes;
        }

        if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var single))
        {
            return [single];
        }

        return Encoding.UTF8.GetBytes(token.Replace(SpaceMark, ' '));
    }

    private static string ToByteChars(ReadOnlySpan<char> text)
    {
        var bytes = Encoding.UTF8.GetBytes(text.ToArray());
        return string.Create(bytes.Length, bytes, (span, b) =>
        {
            for (var i = 0; i < b.Length; i++)
            {
                span[i] = ByteToChar[b[i]];
            }
        });
    }

    /// <summary>GPT-2's reversible map from bytes to printable characters.</summary>
    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            map[b] = printable.Contains(b) ? (char)b : (char)(256 + next++);
        }

        return map;
    }

    /// <summary>The printable character standing for a byte in byte-level vocabularies.</summary>
    public static char ByteChar(byte b) => ByteToChar[b];
}
