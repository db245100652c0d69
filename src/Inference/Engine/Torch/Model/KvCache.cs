using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>
/// Keys and values in blocks of <see cref="BlockSize"/> token positions, allocated once at start: per layer one
/// tensor <c>[2 × kvHeads, blocks × blockSize, headDim]</c>, the key heads then the value heads, head first, so one
/// head's keys for a run of positions are one run of memory that attention multiplies in place, and a step writes a
/// layer's new keys and values with one copy and gathers a sequence's blocks of both with one index. A sequence owns
/// a block table: its position <c>p</c> lives in row <c>table[p / blockSize] × blockSize + p % blockSize</c>. So a
/// sequence's blocks need not be consecutive, memory is spent on the tokens sequences hold rather than on every
/// slot's longest possible sequence, and a block holding a prompt's prefix can be read by every later sequence that
/// starts with the same tokens (see <see cref="Batching.BlockPool"/>).
/// </summary>
public sealed class KvCache : IDisposable
{
    /// <summary>Positions per block: small enough that a shared prefix wastes little of its last block, large enough
    /// that gathering a sequence's blocks moves whole runs of memory.</summary>
    public const int DefaultBlockSize = 16;

    public KvCache(ModelConfigView config, int blocks, ScalarType dtype, Device device, int blockSize = DefaultBlockSize)
    {
        Blocks = blocks;
        BlockSize = blockSize;
        KvHeads = config.KvHeads;
        Layers = new Tensor[config.Layers];
        HeadBlocks = new Tensor[config.Layers];
        // One block more than the pool hands out: the scratch block (see ScratchBlock).
        long stored = blocks + 1L;
        for (var i = 0; i < config.Layers; i++)
        {
            Layers[i] = zeros([2L * config.KvHeads, stored * blockSize, config.HeadDim], dtype, device).DetachFromDisposeScope();
            HeadBlocks[i] = Layers[i].view(2L * config.KvHeads * stored, (long)blockSize * config.HeadDim).DetachFromDisposeScope();
        }

        _headStarts = (arange(2L * config.KvHeads, device: device) * stored).unsqueeze(1).DetachFromDisposeScope();

        BytesPerToken = BytesPerTokenOf(config, Layers[0].ElementSize);
    }

    /// <summary>Blocks sequences may own: ids 0 to Blocks - 1.</summary>
    public int Blocks { get; }

    /// <summary>A block no sequence owns (id <see cref="Blocks"/>): the rows a step is padded with to a recorded
    /// graph's shape write their keys and values here and read it, masked out (see <see cref="DecodeGraphs"/>).</summary>
    public int ScratchBlock => Blocks;

    public int BlockSize { get; }

    public int KvHeads { get; }

    /// <summary>Keys and values of one token position across every layer.</summary>
    public long BytesPerToken { get; }

    public long BytesPerBlock => BytesPerToken * BlockSize;

    /// <summary>Per layer, one row per token position and head, keys first: <c>[2 × kvHeads, blocks × blockSize, headDim]</c>.</summary>
    public Tensor[] Layers { get; }

    /// <summary>The same memory with one row per head and block: <c>[2 × kvHeads × blocks, blockSize × headDim]</c>.
    /// Gathering rows of it (<see cref="HeadBlockRows"/>) reads the same bytes as gathering blocks along the second
    /// dimension of a <c>[2 × kvHeads, blocks, blockSize × headDim]</c> view, and on CPU took a third of the time
    /// (0.15 ms against 0.41-0.56 ms for 32 sequences of 6 blocks of the benchmark model): whole rows are copied
    /// instead of a strided walk.</summary>
    public Tensor[] HeadBlocks { get; }

    /// <summary>[2 × kvHeads, 1]: each head's first row in <see cref="HeadBlocks"/>.</summary>
    private readonly Tensor _headStarts;

    /// <summary>The rows of <see cref="HeadBlocks"/> holding <paramref name="blocks"/> ([B] block ids), for every head:
    /// <c>[2 × kvHeads × B]</c>, head first, so the rows gathered by them view as <c>[2 × kvHeads, B × blockSize,
    /// headDim]</c>. Computed once a step and used by every layer.</summary>
    public Tensor HeadBlockRows(Tensor blocks) => _headStarts.add(blocks.unsqueeze(0)).view(-1);

    /// <summary>The rows of <see cref="HeadBlocks"/> holding <paramref name="tables"/> ([sequences × B] block ids),
    /// sequence first: <c>[sequences × 2 × kvHeads × B]</c>, so the rows gathered by them view as <c>[sequences,
    /// 2 × kvHeads, B × blockSize, headDim]</c> (decode attention's layout).</summary>
    public Tensor SequenceBlockRows(Tensor tables, long sequences) => tables.view(sequences, 1, -1).add(_headStarts).view(-1);

    public static long BytesPerTokenOf(ModelConfigView config, long elementSize) => 2L * config.Layers * config.KvHeads * config.HeadDim * elementSize;

    /// <summary>Blocks covering <paramref name="tokens"/> positions.</summary>
    public int BlocksFor(int tokens) => (tokens + BlockSize - 1) / BlockSize;

    public void Dispose()
    {
        foreach (var t in HeadBlocks.Concat(Layers))
        {
            t.Dispose();
        }

        _headStarts.Dispose();
    }
}

/// <summary>The sizes a KV cache depends on.</summary>
public readonly record struct ModelConfigView(int Layers, int KvHeads, int HeadDim)
{
    public static implicit operator ModelConfigView(Checkpoint.ModelConfig c) => new(c.Layers, c.KvHeads, c.HeadDim);
}
