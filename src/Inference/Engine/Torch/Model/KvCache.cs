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
        ByBlock = new Tensor[config.Layers];
        for (var i = 0; i < config.Layers; i++)
        {
            Layers[i] = zeros([2L * config.KvHeads, (long)blocks * blockSize, config.HeadDim], dtype, device).DetachFromDisposeScope();
            ByBlock[i] = Layers[i].view(2L * config.KvHeads, blocks, (long)blockSize * config.HeadDim).DetachFromDisposeScope();
        }

        BytesPerToken = BytesPerTokenOf(config, Layers[0].ElementSize);
    }

    public int Blocks { get; }

    public int BlockSize { get; }

    public int KvHeads { get; }

    /// <summary>Keys and values of one token position across every layer.</summary>
    public long BytesPerToken { get; }

    public long BytesPerBlock => BytesPerToken * BlockSize;

    /// <summary>Per layer, one row per token position and head, keys first: <c>[2 × kvHeads, blocks × blockSize, headDim]</c>.</summary>
    public Tensor[] Layers { get; }

    /// <summary>The same memory seen a block per row: <c>[2 × kvHeads, blocks, blockSize × headDim]</c>, for gathering
    /// whole blocks.</summary>
    public Tensor[] ByBlock { get; }

    public static long BytesPerTokenOf(ModelConfigView config, long elementSize) => 2L * config.Layers * config.KvHeads * config.HeadDim * elementSize;

    /// <summary>Blocks covering <paramref name="tokens"/> positions.</summary>
    public int BlocksFor(int tokens) => (tokens + BlockSize - 1) / BlockSize;

    public void Dispose()
    {
        foreach (var t in ByBlock.Concat(Layers))
        {
            t.Dispose();
        }
    }
}

/// <summary>The sizes a KV cache depends on.</summary>
public readonly record struct ModelConfigView(int Layers, int KvHeads, int HeadDim)
{
    public static implicit operator ModelConfigView(Checkpoint.ModelConfig c) => new(c.Layers, c.KvHeads, c.HeadDim);
}
