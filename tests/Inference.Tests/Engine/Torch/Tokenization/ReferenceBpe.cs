using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Lanes.Inference.Tests.Engine.Torch.Tokenization;

/// <summary>
/// BPE as Hugging Face's tokenizers merges it, written plainly for tests to compare against: split the text with the
/// pre-tokenizer's pattern (or keep it whole), map bytes to GPT-2's printable characters (byte-level) or spaces to
/// "▁" (SentencePiece-style), then merge each word's lowest-ranked adjacent pair until none is in the merges, the
/// whole word at once however long; pieces missing from the vocabulary are spelled in byte-fallback tokens. It is the
/// engine's hand-written tokenizer from before Microsoft.ML.Tokenizers, without its cut of long words into pieces.
/// </summary>
public sealed class ReferenceBpe
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _ranks = [];
    private readonly Regex? _split;
    private readonly bool _byteLevel;

    public ReferenceBpe(JsonObject json, string? splitPattern)
    {
        var model = json["model"]!.AsObject();
        _vocab = model["vocab"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>(), StringComparer.Ordinal);
        var merges = model["merges"]!.AsArray().Select(m => m is JsonArray pair ? (pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()) : m!.GetValue<string>().Split(' ', 2) switch { var p => (p[0], p[1]) }).ToList();
        for (var i = 0; i < merges.Count; i++)
        {
            _ranks.TryAdd(merges[i], i);
        }

        _byteLevel = model["byte_fallback"]?.GetValue<bool>() != true;
        _split = splitPattern is null ? null : new Regex(splitPattern, RegexOptions.CultureInvariant);
    }

    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        if (!_byteLevel)
        {
            ids.AddRange(Merge(("▁" + text).Replace(' ', '▁')));
            return ids;
        }

        foreach (var word in _split is null ? [text] : _split.Matches(text).Select(m => m.Value))
        {
            ids.AddRange(Merge(string.Concat(Encoding.UTF8.GetBytes(word).Select(Lanes.Inference.Engine.Torch.Tokenization.ModelTokenizer.ByteChar))));
        }

        return ids;
    }

    private List<int> Merge(string word)
    {
        var symbols = new List<string>();
        for (var i = 0; i < word.Length; i++)
        {
            symbols.Add(char.IsHighSurrogate(word[i]) && i + 1 < word.Length ? word.Substring(i++, 2) : word[i].ToString());
        }

        while (symbols.Count > 1)
        {
            var (best, at) = (int.MaxValue, -1);
            for (var i = 0; i < symbols.Count - 1; i++)
            {
                if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out var rank) && rank < best)
                {
                    (best, at) = (rank, i);
                }
            }

            if (at < 0)
            {
                break;
            }

            var (left, right) = (symbols[at], symbols[at + 1]);
            for (var i = 0; i < symbols.Count - 1; i++)
            {
                if (symbols[i] == left && symbols[i + 1] == right)
                {
                    symbols[i] = left + right;
                    symbols.RemoveAt(i + 1);
                }
            }
        }

        var ids = new List<int>();
        foreach (var symbol in symbols)
        {
            if (_vocab.TryGetValue(symbol, out var id))
            {
                ids.Add(id);
            }
            else
            {
                ids.AddRange(Encoding.UTF8.GetBytes(symbol).Select(b => _vocab[$"<0x{b:X2}>"]));
            }
        }

        return ids;
    }
}
