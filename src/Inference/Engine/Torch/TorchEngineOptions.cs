using System.ComponentModel.DataAnnotations;

namespace Lanes.Inference.Engine.Torch;

/// <summary>The TorchSharp engine (<c>Engine:Torch</c>): a Llama-family model folder in Hugging Face format.</summary>
public sealed class TorchEngineOptions
{
    public const string Section = "Engine:Torch";

    /// <summary>Folder with config.json, *.safetensors, tokenizer.json and tokenizer_config.json. Relative paths
    /// are taken from the current directory.</summary>
    [Required]
    public string ModelPath { get; set; } = "";

    /// <summary>The id clients send as <c>model</c> (and the price table knows); default: the folder's name.</summary>
    public string? ModelId { get; set; }

    /// <summary>Sequences run at once. 0 derives it from <see cref="CacheMemoryMiB"/> at 1,024 tokens a sequence
    /// (at most 256): on a GPU node, set the memory and let the slots follow.</summary>
    [Range(0, 4096)]
    public int Slots { get; set; } = 8;

    /// <summary>Most memory the paged KV cache takes (running sequences and cached prompt prefixes together). It
    /// takes less when twice every slot's longest sequence fits in less.</summary>
    [Range(1, 1_000_000)]
    public int CacheMemoryMiB { get; set; } = 1024;

    /// <summary>System prompts the operator publishes (a product's own agent prompt): their cached blocks are
    /// shared by every tenant whose prompt starts with them. Everything else is cached per tenant only.</summary>
    public List<string> SharedPrefixes { get; set; } = [];

    /// <summary>Most tokens (prompt and completion) one sequence may hold; 0 means the model's
    /// max_position_embeddings, capped at 4096 so the cache stays modest.</summary>
    [Range(0, 1_000_000)]
    public int ContextTokens { get; set; }

    /// <summary><c>auto</c> (CUDA with bf16 when available, else CPU with f32), <c>cpu</c> or <c>cuda</c>.</summary>
    [RegularExpression("^(auto|cpu|cuda)$")]
    public string Device { get; set; } = "auto";

    /// <summary>Torch intra-op threads on CPU; 0 leaves torch's default (one per core).</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Temperature when a request sets none (OpenAI's default is 1).</summary>
    [Range(0.0, 2.0)]
    public double DefaultTemperature { get; set; } = 1.0;

    /// <summary>Keep generating through end-of-sequence tokens until max tokens (benchmarks only: every
    /// sequence then runs its full length).</summary>
    public bool IgnoreEndOfSequence { get; set; }

    /// <summary>Most prompt tokens one step prefills when no sequence is decoding; longer prompts go in chunks.</summary>
    [Range(16, 1_000_000)]
    public int MaxPrefillTokensPerStep { get; set; } = 4096;

    /// <summary>How much longer than a decode-only step a step may take when it also prefills a prompt: the prompt
    /// is cut into chunks that keep running sequences' inter-token latency within this factor (measured as the
    /// engine runs, so it holds on any device). 1.25 rather than 1.5: on the E3 bench (docs/benchmarks.md, session
    /// 18) it gave the lower inter-token p99 in all five runs for a first token about a quarter later.</summary>
    [Range(1.05, 100.0)]
    public double PrefillStretch { get; set; } = 1.25;
}
