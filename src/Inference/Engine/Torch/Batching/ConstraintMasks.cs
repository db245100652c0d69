using Lanes.Inference.Engine.Torch.Constraints;
using Lanes.Inference.Engine.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// Applies every constrained sequence's grammar to its row of a step's logits in one masked fill: tokens the grammar
/// does not allow get -inf, so greedy and sampled picks alike can only continue valid output. Unconstrained rows
/// are untouched, and a step without constrained rows costs nothing.
/// </summary>
public static class ConstraintMasks
{
    /// <summary>Buffers reused from step to step (the engine's loop is the only caller).</summary>
    public sealed class Scratch(int vocab)
    {
        public int Vocab { get; } = vocab;

        public ulong[] Bits { get; } = new ulong[(vocab + 63) / 64];

        public bool[] Allowed { get; set; } = new bool[vocab];
    }

    /// <param name="logits">[rows, vocab].</param>
    /// <param name="constraints">One per row; null for an unconstrained row.</param>
    public static Tensor Apply(Tensor logits, IReadOnlyList<GrammarMatcher?> constraints, ref Scratch? scratch)
    {
        var rows = new List<int>();
        for (var i = 0; i < constraints.Count; i++)
        {
            if (constraints[i] is not null)
            {
                rows.Add(i);
            }
        }

        if (rows.Count == 0)
        {
            return logits;
        }

        var vocab = (int)logits.shape[1];
        if (scratch is null || scratch.Vocab != vocab)
        {
            scratch = new Scratch(vocab);
        }

        if (scratch.Allowed.Length != rows.Count * vocab)
        {
            scratch.Allowed = new bool[rows.Count * vocab];
        }

        var allowed = scratch.Allowed.AsSpan();
        allowed.Clear();
        for (var r = 0; r < rows.Count; r++)
        {
            var bits = scratch.Bits.AsSpan();
            constraints[rows[r]]!.FillMask(bits);
            Expand(bits, allowed.Slice(r * vocab, vocab));
        }

        var device = logits.device;
        using var mask = DeviceCopies.ToDevice(scratch.Allowed, [rows.Count, vocab], device);
        using var index = DeviceCopies.ToDevice(rows.Select(r => (long)r).ToArray(), device);
        var picked = logits.index_select(0, index).masked_fill(mask.logical_not(), float.NegativeInfinity);
        return logits.index_copy(0, index, picked);
    }

    private static void Expand(ReadOnlySpan<ulong> bits, Span<bool> allowed)
    {
        for (var w = 0; w < bits.Length; w++)
        {
            var word = bits[w];
            if (word == ulong.MaxValue && (w << 6) + 64 <= allowed.Length)
            {
                // Inside a string most of the vocabulary is allowed: whole words at a time.
                allowed.Slice(w << 6, 64).Fill(true);
                continue;
            }

            while (word != 0)
            {
                var bit = System.Numerics.BitOperations.TrailingZeroCount(word);
                var id = (w << 6) + bit;
                if (id < allowed.Length)
                {
                    allowed[id] = true;
                }

                word &= word - 1;
            }
        }
    }
}
