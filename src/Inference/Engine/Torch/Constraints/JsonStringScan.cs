using System.Collections.Concurrent;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// Every token of a vocabulary read as JSON string content, once, from each place inside a string (between
/// characters, after a backslash, part-way through a UTF-8 character): whether the token stays inside the string
/// and how many characters it adds, or closes the string after how many characters (and what follows the quote).
/// A string node's mask is then a lookup: between characters with no length limit it is one precomputed bitset,
/// plus the few tokens that close the string, which depend on what the caller expects next.
/// </summary>
internal sealed class JsonStringScan
{
    /// <summary>Tokens adding up to this many characters are kept as cumulative bitsets (a few hundred KiB per
    /// vocabulary); longer ones (whitespace runs, long words) as ids.</summary>
    private const int DenseChars = 32;

    private readonly TokenVocabulary _vocabulary;
    private readonly Reading[] _readings = new Reading[JsonStrings.Substates];
    private readonly ConcurrentDictionary<(int Substate, int StayRoom, int CloseNeed, int CloseRoom), PositionMask> _masks = new();
    private readonly ConcurrentDictionary<(int Substate, int Need, int Room), (int[] Whole, RestSet? Rests)> _closing = new();

    public JsonStringScan(TokenVocabulary vocabulary)
    {
        _vocabulary = vocabulary;
        var stays = Enumerable.Range(0, JsonStrings.Substates).Select(_ => new List<(int Id, int Chars)>()).ToArray();
        var closes = Enumerable.Range(0, JsonStrings.Substates).Select(_ => new List<(int Id, int Chars, int Quote)>()).ToArray();
        for (var id = 0; id < vocabulary.Size; id++)
        {
            var bytes = vocabulary.Bytes(id);
            if (bytes.IsEmpty)
            {
                continue;
            }

            for (var start = 0; start < JsonStrings.Substates; start++)
            {
                var substate = start;
                var chars = 0;
                var i = 0;
                for (; i < bytes.Length; i++)
                {
                    var next = JsonStrings.Step(substate, bytes[i]);
                    if (next == JsonStrings.Dead)
                    {
                        break;
                    }

                    if (next == JsonStrings.Close)
                    {
                        closes[start].Add((id, chars, i));
                        break;
                    }

                    chars += next == JsonStrings.Content ? 1 : 0;
                    substate = next;
                }

                if (i == bytes.Length)
                {
                    // A character still being spelt counts: it must fit a maximum length.
                    stays[start].Add((id, chars + (substate == JsonStrings.Content ? 0 : 1)));
                }
            }
        }

        for (var s = 0; s < JsonStrings.Substates; s++)
        {
            var stay = stays[s].OrderBy(t => t.Chars).ThenBy(t => t.Id).ToArray();
            var close = closes[s].OrderBy(t => t.Chars).ToArray();
            ulong[][]? cumulative = null;
            if (s == JsonStrings.Content)
            {
                cumulative = new ulong[DenseChars + 1][];
                var bits = new ulong[vocabulary.MaskWords];
                var k = 0;
                for (var chars = 0; chars <= DenseChars; chars++)
                {
                    for (; k < stay.Length && stay[k].Chars <= chars; k++)
                    {
                        TokenBits.Set(bits, stay[k].Id);
                    }

                    cumulative[chars] = (ulong[])bits.Clone();
                }
            }

            _readings[s] = new Reading(
                [.. stay.Select(t => t.Id)], [.. stay.Select(t => t.Chars)], close, cumulative,
                stay.Length == 0 ? 0 : stay[^1].Chars, close.Length == 0 ? 0 : close[^1].Chars);
        }
    }

    /// <summary>The mask at <paramref name="substate"/> after <paramref name="count"/> characters of a string of
    /// <paramref name="min"/> to <paramref name="max"/> characters.</summary>
    public PositionMask MaskAt(int substate, int count, int min, int? max)
    {
        var reading = _readings[substate];
        var room = max is null ? int.MaxValue : max.Value - count;
        var need = Math.Max(0, min - count);
        if (room < 0)
        {
            return PositionMask.Nothing;
        }

        // Limits are clamped to what the tokens can reach, so that nodes with the same effective limits (every
        // count of a long bounded string, mostly) share one mask and one trie of closing tokens.
        var stayRoom = Math.Min(room, reading.MaxStayChars);
        var closeRoom = Math.Min(room, reading.MaxCloseChars);
        var closeNeed = Math.Min(need, reading.MaxCloseChars + 1);
        return _masks.GetOrAdd((substate, stayRoom, closeNeed, closeRoom), key =>
        {
            var (dense, stay) = Staying(_readings[key.Substate], key.StayRoom);
            var (closing, rests) = _closing.GetOrAdd((key.Substate, key.CloseNeed, key.CloseRoom), k => Closing(_readings[k.Substate], k.Need, k.Room));
            return new PositionMask(dense, closing.Length == 0 ? stay : (int[])[.. stay, .. closing], rests);
        });
    }

    /// <summary>The tokens read whole inside the string with at most <paramref name="room"/> characters.</summary>
    private static (ulong[]? Dense, int[] Sparse) Staying(Reading reading, int room)
    {
        if (reading.Cumulative is null)
        {
            return (null, reading.StayIds[..UpperBound(reading.StayChars, room)]);
        }

        var dense = reading.Cumulative[Math.Min(room, DenseChars)];
        var from = UpperBound(reading.StayChars, Math.Min(room, DenseChars));
        return (dense, reading.StayIds[from..UpperBound(reading.StayChars, room)]);
    }

    /// <summary>The tokens that close the string after <paramref name="need"/> to <paramref name="room"/>
    /// characters: those ending with the quote are read whole; the rest go in a trie keyed by what follows it.</summary>
    private (int[] Whole, RestSet? Rests) Closing(Reading reading, int need, int room)
    {
        var whole = new List<int>();
        var rests = new List<(int Id, ReadOnlyMemory<byte> After)>();
        foreach (var (id, chars, quote) in reading.Closes)
        {
            if (chars < need || chars > room)
            {
                continue;
            }

            var bytes = _vocabulary.Memory(id);
            if (quote == bytes.Length - 1)
            {
                whole.Add(id);
            }
            else
            {
                rests.Add((id, bytes[(quote + 1)..]));
            }
        }

        return ([.. whole], RestSet.Of(rests));
    }

    private static int UpperBound(int[] sorted, int value)
    {
        var (lo, hi) = (0, sorted.Length);
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            (lo, hi) = sorted[mid] <= value ? (mid + 1, hi) : (lo, mid);
        }

        return lo;
    }

    /// <param name="StayIds">Tokens read whole inside the string, by the characters they add (ascending).</param>
    /// <param name="Closes">Tokens that close the string: characters before the quote, and the quote's index.</param>
    /// <param name="Cumulative">Between characters only: bitset k holds the staying tokens of at most k characters.</param>
    private sealed record Reading(int[] StayIds, int[] StayChars, (int Id, int Chars, int Quote)[] Closes, ulong[][]? Cumulative, int MaxStayChars, int MaxCloseChars);
}
