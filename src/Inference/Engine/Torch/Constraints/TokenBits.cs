using System.Numerics;
using System.Runtime.InteropServices;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>Bit operations on token masks: bit <c>id</c> of word <c>id / 64</c> stands for token <c>id</c>.</summary>
internal static class TokenBits
{
    public static int Words(int tokens) => (tokens + 63) >> 6;

    public static void Set(Span<ulong> mask, int id) => mask[id >> 6] |= 1UL << (id & 63);

    public static bool Get(ReadOnlySpan<ulong> mask, int id) => (mask[id >> 6] & (1UL << (id & 63))) != 0;

    public static void SetAll(Span<ulong> mask, ReadOnlySpan<int> ids)
    {
        foreach (var id in ids)
        {
            mask[id >> 6] |= 1UL << (id & 63);
        }
    }

    public static void Or(Span<ulong> into, ReadOnlySpan<ulong> from)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && from.Length >= Vector<ulong>.Count)
        {
            var target = MemoryMarshal.Cast<ulong, Vector<ulong>>(into);
            var source = MemoryMarshal.Cast<ulong, Vector<ulong>>(from);
            for (var v = 0; v < source.Length; v++)
            {
                target[v] |= source[v];
            }

            i = source.Length * Vector<ulong>.Count;
        }

        for (; i < from.Length; i++)
        {
            into[i] |= from[i];
        }
    }

    public static int Count(ReadOnlySpan<ulong> mask)
    {
        var count = 0;
        foreach (var word in mask)
        {
            count += BitOperations.PopCount(word);
        }

        return count;
    }

    public static ulong[] FromIds(int tokens, IEnumerable<int> ids)
    {
        var mask = new ulong[Words(tokens)];
        foreach (var id in ids)
        {
            Set(mask, id);
        }

        return mask;
    }
}
