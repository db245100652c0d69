using System.Diagnostics.CodeAnalysis;

namespace Lanes.Inference.Api;

/// <summary>What a step of admission produces: its value, or the refusal the client gets instead. Either converts
/// implicitly, so a step returns whichever it has.</summary>
public readonly struct Refusable<T>
    where T : class
{
    private readonly T? _value;
    private readonly ApiRefusal? _refusal;

    private Refusable(T? value, ApiRefusal? refusal) => (_value, _refusal) = (value, refusal);

    public static implicit operator Refusable<T>(T value) => new(value, null);

    public static implicit operator Refusable<T>(ApiRefusal refusal) => new(null, refusal);

    /// <summary>Reads the outcome: <c>if (step.IsRefused(out var refusal, out var value)) return refusal;</c></summary>
    public bool IsRefused([NotNullWhen(true)] out ApiRefusal? refusal, [NotNullWhen(false)] out T? value)
    {
        (refusal, value) = (_refusal, _value);
        return refusal is not null;
    }
}
