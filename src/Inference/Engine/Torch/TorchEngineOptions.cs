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

    /// <summary>Sequences run at once. 0 derives it from <see cref="CacheMemoryMiB"/> and the model's KV size per slot.</summary>
    [Range(0, 4096)]
    public int Slots { get; set; } = 8;

    /// <summary>KV-cache memory when <see cref="Slots"/> is 0.</summary>
    [Range(1, 1_000_000)]
    public int CacheMemoryMiB { get; set; } = 1024;

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

    /// <summary>Largest prompt one step prefills for newly admitted sequences together; more wait a step, so
    /// running sequences keep decoding while long prompts arrive.</summary>
    [Range(1, 1_000_000)]
    public int MaxPrefillTokensPerStep { get; set; } = 4096;
}
