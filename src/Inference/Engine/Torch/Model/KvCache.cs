using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>
/// Keys and values for every slot, allocated once at start: per layer <c>[slots, kvHeads, maxTokens, headDim]</c>.
/// A slot's sequence writes positions 0..length-1; a freed slot is simply overwritten by the next sequence.
/// </summary>
public sealed class KvCache : IDisposable
{
    public KvCache(ModelConfigView config, int slots, int maxTokens, ScalarType dtype, Device device)
    {
        Slots = slots;
        MaxTokens = maxTokens;
        Keys = new Tensor[config.Layers];
        Values = new Tensor[config.Layers];
        for (var i = 0; i < config.Layers; i++)
        {
            Keys[i] = zeros([slots, config.KvHeads, maxTokens, config.HeadDim], dtype, device).DetachFromDisposeScope();
            Values[i] = zeros([slots, config.KvHeads, maxTokens, config.HeadDim], dtype, device).DetachFromDisposeScope();
        }

        BytesPerSlot = 2L * config.Layers * config.KvHeads * maxTokens * config.HeadDim * Keys[0].ElementSize;
    }

    public int Slots { get; }

    public int MaxTokens { get; }

    public long BytesPerSlot { get; }

    public Tensor[] Keys { get; }

    public Tensor[] Values { get; }

    public void Dispose()
    {
        foreach (var t in Keys.Concat(Values))
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
