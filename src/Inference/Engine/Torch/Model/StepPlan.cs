using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>Rows of equal length starting fresh at position 0, packed from token <see cref="Start"/>.</summary>
public readonly record struct PrefillGroup(int Start, int Rows, int Length);

/// <summary>
/// The shape of one forward step over a packed batch of N new tokens: prefill groups first, then one token per
/// decoding sequence. Built once per step on the host; its tensors live in the step's dispose scope.
/// </summary>
public sealed class StepPlan
{
    /// <summary>[N] token ids and their positions in their own sequence.</summary>
    public required Tensor Tokens { get; init; }

    public required Tensor Positions { get; init; }

    public IReadOnlyList<PrefillGroup> Prefills { get; init; } = [];

    /// <summary>Where each new token's k/v goes in the cache: [N] slots and [N] positions; null writes nothing.</summary>
    public Tensor? WriteSlots { get; init; }

    public Tensor? WritePositions { get; init; }

    public int DecodeStart { get; init; }

    public int DecodeRows { get; init; }

    /// <summary>[R] the decoding sequences' slots.</summary>
    public Tensor? DecodeSlots { get; init; }

    /// <summary>The first decoding slot when the decoding slots are consecutive and in order (the usual case: slots
    /// are handed out lowest first), so attention reads the cache in place instead of gathering it; else -1.</summary>
    public int DecodeFirstSlot { get; init; } = -1;

    /// <summary>Cache positions the decode attention reads: the longest decoding sequence.</summary>
    public int DecodeKeys { get; init; }

    /// <summary>[R, 1, 1, keys] true where a key belongs to the row's sequence.</summary>
    public Tensor? DecodeMask { get; init; }

    /// <summary>[rows] which packed tokens to return logits for; null returns all.</summary>
    public Tensor? LogitRows { get; init; }

    /// <summary>A batch of sequences of equal length, run without a cache (all logits): the reference forward
    /// pass and training.</summary>
    public static StepPlan Full(long[,] tokens, Device device)
    {
        int rows = tokens.GetLength(0), length = tokens.GetLength(1);
        var flat = new long[rows * length];
        var positions = new long[rows * length];
        for (var r = 0; r < rows; r++)
        {
            for (var t = 0; t < length; t++)
            {
                flat[r * length + t] = tokens[r, t];
                positions[r * length + t] = t;
            }
        }

        return new StepPlan
        {
            Tokens = tensor(flat, device: device),
            Positions = tensor(positions, device: device),
            Prefills = [new PrefillGroup(0, rows, length)],
        };
    }

    /// <summary>
    /// One batched step: <paramref name="prefills"/> are new sequences (slot, all prompt tokens);
    /// <paramref name="decodes"/> are running ones (slot, next token, its position). Logits come back for each
    /// prefill's last token, then each decode, in the given order.
    /// </summary>
    public static StepPlan Batch(IReadOnlyList<(int Slot, IReadOnlyList<int> Tokens)> prefills, IReadOnlyList<(int Slot, int Token, int Position)> decodes, Device device)
    {
        // Prefills of equal length share one attention call; order them so each group is contiguous.
        var ordered = prefills.Select((p, i) => (p.Slot, p.Tokens, Index: i)).OrderBy(p => p.Tokens.Count).ThenBy(p => p.Index).ToList();
        var n = ordered.Sum(p => p.Tokens.Count) + decodes.Count;
        var tokens = new long[n];
        var positions = new long[n];
        var slots = new long[n];
        var groups = new List<PrefillGroup>();
        var logitRows = new long[prefills.Count + decodes.Count];
        var at = 0;
        foreach (var run in ordered.GroupBy(p => p.Tokens.Count))
        {
            groups.Add(new PrefillGroup(at, run.Count(), run.Key));
            foreach (var p in run)
            {
                for (var t = 0; t < p.Tokens.Count; t++, at++)
                {
                    tokens[at] = p.Tokens[t];
                    positions[at] = t;
                    slots[at] = p.Slot;
                }

                logitRows[p.Index] = at - 1;
            }
        }

        var decodeStart = at;
        var keys = decodes.Count == 0 ? 0 : decodes.Max(d => d.Position) + 1;
        var mask = new bool[decodes.Count * keys];
        for (var i = 0; i < decodes.Count; i++, at++)
        {
            tokens[at] = decodes[i].Token;
            positions[at] = decodes[i].Position;
            slots[at] = decodes[i].Slot;
            logitRows[prefills.Count + i] = at;
            mask.AsSpan(i * keys, decodes[i].Position + 1).Fill(true);
        }

        return new StepPlan
        {
            Tokens = tensor(tokens, device: device),
            Positions = tensor(positions, device: device),
            Prefills = groups,
            WriteSlots = tensor(slots, device: device),
            WritePositions = tensor(positions, device: device),
            DecodeStart = decodeStart,
            DecodeRows = decodes.Count,
            DecodeSlots = decodes.Count == 0 ? null : tensor(decodes.Select(d => (long)d.Slot).ToArray(), device: device),
            DecodeKeys = keys,
            DecodeFirstSlot = decodes.Count > 0 && decodes.Select((d, i) => d.Slot - i).Distinct().Count() == 1 ? decodes[0].Slot : -1,
            DecodeMask = decodes.Count == 0 ? null : tensor(mask, [decodes.Count, 1, 1, keys], device: device),
            LogitRows = tensor(logitRows, device: device),
        };
    }
}
