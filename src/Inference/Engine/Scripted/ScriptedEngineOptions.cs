using System.ComponentModel.DataAnnotations;

namespace Lanes.Inference.Engine.Scripted;

/// <summary>The deterministic engine used by tests, benchmarks and engine-less demos (<c>Engine:Scripted</c>).</summary>
public sealed class ScriptedEngineOptions
{
    public const string Section = "Engine:Scripted";

    [Required]
    public string Model { get; set; } = "scripted";

    [Range(1, 1_000_000)]
    public int ContextTokens { get; set; } = 8192;

    /// <summary>Tokens each reply has, unless the request's max tokens is lower.</summary>
    [Range(1, 100_000)]
    public int Tokens { get; set; } = 16;

    public TimeSpan TokenDelay { get; set; } = TimeSpan.Zero;

    [Range(1, 100_000)]
    public int Slots { get; set; } = 8;
}
