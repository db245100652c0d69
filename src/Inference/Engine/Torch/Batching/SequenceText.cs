using System.Text;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// Turns a sequence's tokens into text deltas: never splits a UTF-8 character across deltas (a token may end
/// mid-character), and holds back any tail that could still become a stop string, so a stop string is never
/// streamed.
/// </summary>
public sealed class SequenceText(ModelTokenizer tokenizer, IReadOnlyList<string> stops)
{
    private readonly List<byte> _bytes = [];
    private readonly StringBuilder _held = new();

    /// <summary>Adds a token; returns the text that can be streamed now and whether a stop string was reached
    /// (the text before it is returned, the stop string and everything after are dropped).</summary>
    public (string Text, bool Stopped) Add(int token) => Add(tokenizer.Bytes(token));

    /// <summary>Adds a token given by its bytes (a control token that stands for text, such as a tool-call marker).</summary>
    public (string Text, bool Stopped) Add(ReadOnlySpan<byte> bytes)
    {
        _bytes.AddRange(bytes);
        var complete = CompleteLength();
        if (complete > 0)
        {
            _held.Append(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes)[..complete]));
            _bytes.RemoveRange(0, complete);
        }

        if (stops.Count == 0)
        {
            return (Take(_held.Length), false);
        }

        var held = _held.ToString();
        var first = -1;
        foreach (var stop in stops)
        {
            var at = held.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        if (first >= 0)
        {
            _held.Clear();
            _bytes.Clear();
            return (held[..first], true);
        }

        // Keep the longest tail that is the start of some stop string.
        var keep = 0;
        foreach (var stop in stops)
        {
            for (var n = Math.Min(stop.Length - 1, held.Length); n > keep; n--)
            {
                if (held.AsSpan(held.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    keep = n;
                    break;
                }
            }
        }

        return (Take(held.Length - keep), false);
    }

    /// <summary>The rest, when the sequence ends without a stop string (a cut-off character becomes U+FFFD).</summary>
    public string Flush()
    {
        if (_bytes.Count > 0)
        {
            _held.Append(Encoding.UTF8.GetString(_bytes.ToArray()));
            _bytes.Clear();
        }

        return Take(_held.Length);
    }

    private string Take(int length)
    {
        var text = _held.ToString(0, length);
        _held.Remove(0, length);
        return text;
    }

    /// <summary>How many leading bytes form whole UTF-8 characters (an incomplete last character waits).</summary>
    private int CompleteLength()
    {
        var n = _bytes.Count;
        for (var back = 1; back <= Math.Min(3, n); back++)
        {
            var b = _bytes[n - back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte: look further back for the lead byte
            }

            var need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return need > back ? n - back : n;
        }

        return n;
    }
}
