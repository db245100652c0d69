namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// Sizes prefill chunks so running sequences keep their pace: from what steps have cost so far (a decode-only step,
/// and each prefilled token), the tokens a step may prefill alongside decodes so it takes at most
/// <c>stretch</c> times a decode-only step. With nothing decoding, a step prefills as much as the cap allows.
/// Measured on the device the engine runs on, so the same setting holds on a CPU and on a GPU, where a token of
/// prefill costs a very different share of a step.
/// </summary>
internal sealed class PrefillPace(double stretch, int cap, int blockSize)
{
    /// <summary>Weight of the newest measurement in the running averages.</summary>
    private const double Smoothing = 0.2;

    private double _decodeStep;
    private double _perPrefillToken;
    private double _perDecodeRow;

    /// <summary>Prompt tokens the next step may prefill with <paramref name="decoding"/> sequences decoding in it.</summary>
    public int Budget(int decoding)
    {
        if (decoding == 0)
        {
            return cap;
        }

        if (_perPrefillToken <= 0 || _decodeStep <= 0)
        {
            return blockSize; // nothing measured yet: a small chunk, then measure
        }

        var decodeStep = Math.Max(_decodeStep, _perDecodeRow * decoding);
        var tokens = (stretch - 1) * decodeStep / _perPrefillToken;
        return (int)Math.Clamp(tokens, blockSize, cap);
    }

    /// <summary>What a step that prefilled <paramref name="prefilled"/> tokens and decoded
    /// <paramref name="decoding"/> sequences took.</summary>
    public void Record(TimeSpan took, int prefilled, int decoding)
    {
        var seconds = took.TotalSeconds;
        if (prefilled == 0)
        {
            _decodeStep = Average(_decodeStep, seconds);
            _perDecodeRow = Average(_perDecodeRow, seconds / Math.Max(1, decoding));
        }
        else
        {
            // The step's time beyond what its decodes alone would have taken is the prefill's.
            var decodes = decoding == 0 ? 0 : Math.Max(_decodeStep, _perDecodeRow * decoding);
            _perPrefillToken = Average(_perPrefillToken, Math.Max(seconds - decodes, seconds * 0.1) / prefilled);
        }
    }

    private static double Average(double current, double sample) => current <= 0 ? sample : current + Smoothing * (sample - current);
}
