using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>
/// One sequence's part in a step: its block table, how many of its tokens are already in the cache
/// (<paramref name="Past"/>), its new tokens, and whether the logits after its last new token are wanted (a prompt
/// prefilled in chunks wants them only after its last chunk). A <paramref name="Prompt"/> chunk after a cached past
/// always attends on its own, even when it is a single token: batched with the decoding rows it would make every one
/// of them read as many positions as the longest prompt.
/// </summary>
public sealed record StepRow(IReadOnlyList<int> Blocks, int Past, IReadOnlyList<int> Tokens, bool Logits = true, bool Prompt = false);

/// <summary>Rows of equal length starting fresh at position 0, packed from token <see cref="Start"/>: they attend
/// only to their own new tokens, so the cache is written but not read.</summary>
public readonly record struct PrefillGroup(int Start, int Rows, int Length);

/// <summary>A sequence that continues after <see cref="Past"/> cached tokens with <see cref="Length"/> new ones (a
/// chunk of a long prompt, or a prompt whose prefix was cached): it reads its cached blocks
/// (<see cref="KeyBlocks"/>; in place from <see cref="FirstBlock"/> when they are consecutive), masked so new token
/// i sees positions up to <c>Past + i</c>.</summary>
public sealed record ExtendRun(int Start, int Length, int Past, Tensor KeyBlocks, Tensor Mask, int FirstBlock = -1);

/// <summary>
/// The shape of one forward step over a packed batch of N new tokens: fresh prefill groups first, then sequences
/// that extend a cached past, then one token per decoding sequence. Every index the step needs is copied to the
/// device in one buffer and cut into views there; masks are computed on the device from lengths.
/// </summary>
public sealed class StepPlan
{
    /// <summary>[N] token ids and their positions in their own sequence.</summary>
    public required Tensor Tokens { get; init; }

    public required Tensor Positions { get; init; }

    public IReadOnlyList<PrefillGroup> Prefills { get; init; } = [];

    public IReadOnlyList<ExtendRun> Extends { get; init; } = [];

    /// <summary>[N] the cache row each new token's k/v is written to; null writes nothing.</summary>
    public Tensor? WriteRows { get; init; }

    public int DecodeStart { get; init; }

    public int DecodeRows { get; init; }

    /// <summary>[R × blocks] each decoding sequence's block table, padded to the longest.</summary>
    public Tensor? DecodeBlocks { get; init; }

    /// <summary>Cache positions the decode attention reads per row: the longest table's blocks × block size.</summary>
    public int DecodeKeys { get; init; }

    /// <summary>[R, 1, 1, keys] true where a key belongs to the row's sequence (shaped for attention over [R, KVH, G, keys]).</summary>
    public Tensor? DecodeMask { get; init; }

    /// <summary>[rows] which packed tokens to return logits for; null returns all (a step of one new token per row,
    /// each wanting its logits, as every decode-only step is).</summary>
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
    /// A step in which <paramref name="rows"/> sequences decode one token each, read from a device buffer laid out as
    /// <see cref="Build"/> lays out a decode-only step: tokens | positions | write rows | block tables
    /// (<paramref name="blocks"/> per row) | lengths. The mask is computed from the lengths, so a step recorded as a
    /// CUDA graph reads all of its inputs from the buffer (see <see cref="DecodeGraphs"/>).
    /// </summary>
    public static StepPlan DecodeOnly(Tensor buffer, int rows, int blocks, int blockSize)
    {
        int tablesAt = 3 * rows, lengthsAt = tablesAt + rows * blocks, keys = blocks * blockSize;
        return new StepPlan
        {
            Tokens = buffer.narrow(0, 0, rows),
            Positions = buffer.narrow(0, rows, rows),
            WriteRows = buffer.narrow(0, 2 * rows, rows),
            DecodeRows = rows,
            DecodeBlocks = buffer.narrow(0, tablesAt, rows * blocks),
            DecodeKeys = keys,
            DecodeMask = arange(keys, device: buffer.device).unsqueeze(0).lt(buffer.narrow(0, lengthsAt, rows).unsqueeze(1)).view(rows, 1, 1, keys),
        };
    }

    /// <summary>Longs in a <see cref="DecodeOnly"/> buffer.</summary>
    public static int DecodeOnlyLength(int rows, int blocks) => 4 * rows + rows * blocks;

    /// <summary>
    /// One batched step over <paramref name="rows"/>. Logits come back, in the rows' order, for each row that
    /// wants them.
    /// </summary>
    public static StepPlan Build(IReadOnlyList<StepRow> rows, int blockSize, Device device)
    {
        // Fresh prefills of equal length share one attention call; order them so each group is contiguous.
        var fresh = new List<int>();
        var extends = new List<int>();
        var decodes = new List<int>();
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (row.Tokens.Count == 0)
            {
                throw new ArgumentException("A step row needs at least one new token.", nameof(rows));
            }

            (row.Past == 0 ? fresh : row.Tokens.Count == 1 && !row.Prompt ? decodes : extends).Add(i);
        }

        fresh.Sort((a, b) => rows[a].Tokens.Count != rows[b].Tokens.Count ? rows[a].Tokens.Count.CompareTo(rows[b].Tokens.Count) : a.CompareTo(b));
        var n = rows.Sum(r => r.Tokens.Count);
        var decodeBlocks = decodes.Count == 0 ? 0 : decodes.Max(i => (rows[i].Past + 1 + blockSize - 1) / blockSize);
        var extendBlocks = extends.Sum(i => (rows[i].Past + rows[i].Tokens.Count + blockSize - 1) / blockSize);
        var logitCount = rows.Count(r => r.Logits);

        // One host buffer: tokens | positions | write rows | decode tables | decode lengths | logit rows | extend tables.
        var buffer = new long[3 * n + decodes.Count * decodeBlocks + decodes.Count + logitCount + extendBlocks];
        int tokensAt = 0, positionsAt = n, writesAt = 2 * n, tablesAt = 3 * n, lengthsAt = tablesAt + decodes.Count * decodeBlocks,
            logitsAt = lengthsAt + decodes.Count, extendAt = logitsAt + logitCount;
        var lastToken = new int[rows.Count];
        var at = 0;
        void Pack(int index)
        {
            var row = rows[index];
            for (var t = 0; t < row.Tokens.Count; t++, at++)
            {
                var position = row.Past + t;
                buffer[tokensAt + at] = row.Tokens[t];
                buffer[positionsAt + at] = position;
                buffer[writesAt + at] = (long)row.Blocks[position / blockSize] * blockSize + position % blockSize;
            }

            lastToken[index] = at - 1;
        }

        var groups = new List<PrefillGroup>();
        for (var g = 0; g < fresh.Count;)
        {
            var length = rows[fresh[g]].Tokens.Count;
            var start = at;
            var count = 0;
            for (; g < fresh.Count && rows[fresh[g]].Tokens.Count == length; g++, count++)
            {
                Pack(fresh[g]);
            }

            groups.Add(new PrefillGroup(start, count, length));
        }

        var extendShapes = new List<(int Start, int Length, int Past, int Table, int Blocks, int First)>();
        var table = extendAt;
        foreach (var i in extends)
        {
            var start = at;
            Pack(i);
            var row = rows[i];
            var blocks = (row.Past + row.Tokens.Count + blockSize - 1) / blockSize;
            for (var b = 0; b < blocks; b++)
            {
                buffer[table + b] = row.Blocks[b];
            }

            var consecutive = true;
            for (var b = 1; b < blocks && consecutive; b++)
            {
                consecutive = row.Blocks[b] == row.Blocks[0] + b;
            }

            extendShapes.Add((start, row.Tokens.Count, row.Past, table, blocks, consecutive ? row.Blocks[0] : -1));
            table += blocks;
        }

        var decodeStart = at;
        for (var d = 0; d < decodes.Count; d++)
        {
            var row = rows[decodes[d]];
            Pack(decodes[d]);
            var blocks = (row.Past + 1 + blockSize - 1) / blockSize;
            for (var b = 0; b < decodeBlocks; b++)
            {
                // Padding points at the row's first block: read, then masked out.
                buffer[tablesAt + d * decodeBlocks + b] = row.Blocks[b < blocks ? b : 0];
            }

            buffer[lengthsAt + d] = row.Past + 1;
        }

        var logit = logitsAt;
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Logits)
            {
                buffer[logit++] = lastToken[i];
            }
        }

        // Every packed token wants its logits, and the rows were packed in their own order: the logits are the
        // forward's output as it is, with no gather.
        bool InPackedOrder()
        {
            if (logitCount != n)
            {
                return false;
            }

            for (var i = 0; i < rows.Count; i++)
            {
                if (lastToken[i] != i)
                {
                    return false;
                }
            }

            return true;
        }

        var all = DeviceCopies.ToDevice(buffer, device);
        Tensor? decodeMask = null;
        if (decodes.Count > 0)
        {
            var keys = decodeBlocks * blockSize;
            decodeMask = arange(keys, device: device).unsqueeze(0).lt(all.narrow(0, lengthsAt, decodes.Count).unsqueeze(1)).view(decodes.Count, 1, 1, keys);
        }

        return new StepPlan
        {
            Tokens = all.narrow(0, tokensAt, n),
            Positions = all.narrow(0, positionsAt, n),
            WriteRows = all.narrow(0, writesAt, n),
            Prefills = groups,
            Extends = [.. extendShapes.Select(e => new ExtendRun(e.Start, e.Length, e.Past, all.narrow(0, e.Table, e.Blocks),
                // New token i (at position Past + i) sees every position up to its own.
                arange(e.Blocks * blockSize, device: device).unsqueeze(0).le(arange(e.Length, device: device).add(e.Past).unsqueeze(1)), e.First))],
            DecodeStart = decodeStart,
            DecodeRows = decodes.Count,
            DecodeBlocks = decodes.Count == 0 ? null : all.narrow(0, tablesAt, decodes.Count * decodeBlocks),
            DecodeKeys = decodeBlocks * blockSize,
            DecodeMask = decodeMask,
            LogitRows = InPackedOrder() ? null : all.narrow(0, logitsAt, logitCount),
        };
    }
}
