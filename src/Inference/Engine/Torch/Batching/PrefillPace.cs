namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// Sizes prefill chunks so running sequences keep their pace: a step that prefills beside decodes should take about
/// <c>stretch</c> times a decode-only step. The chunk is steered by what the last such step really took, not by a
/// cost model: a chunk late in a long prompt attends to (and gathers) every position before it, so it costs more per
/// token than an early one, and feedback follows that where an average would lag. With nothing decoding, a step
/// prefills as much as the cap allows. Measured on the device the engine runs on, so one setting holds on a CPU and
/// on a GPU, where a token of prefill costs a very different share of a step.
/// <para>
/// What a decode-only step costs grows as the decoding sequences' contexts do (each reads every position before it),
/// and while a prompt is prefilled every step would carry a chunk, so the target would stay what it was when the
/// prompt arrived: beside a 4,000-token prompt on the benchmark CPU, seven sequences' decode-only steps went from
/// 24.5 ms before it to 38.1 ms over its 23 s of prefill (in a trial of half-block chunks). So every
/// <see cref="ProbeEvery"/>th step beside decodes leaves the prompt out and is timed as a decode-only step; its
/// running sequences get a step at their own pace too.
/// </para>
/// </summary>
internal sealed class PrefillPace
{
    /// <summary>Weight of the newest decode-only step in its running average.</summary>
    private const double Smoothing = 0.2;

    /// <summary>Steps that prefill beside decodes between two decode-only steps (one step in this many gives the prompt
    /// nothing: its time to first token grows by about that share).</summary>
    public const int ProbeEvery = 8;

    private readonly double _stretch;
    private readonly int _cap;
    private readonly int _floor;
    private double _decodeStep;
    private int _chunk;
    private int _sinceDecodeOnly;

    public PrefillPace(double stretch, int cap, int blockSize)
    {
        (_stretch, _cap) = (stretch, cap);
        // Never below half a block. Late in a long prompt a chunk's cost is its attention to every position before it
        // (16 new tokens against a 4,000-token past: 1.0 ms a layer on the benchmark model, 0.41 ms for 4), so with a
        // whole block as the floor the chunk stopped shrinking there and running sequences' steps took 1.55-1.77 times
        // a decode-only step, not the stretch asked for; half a block held it, for a first token about twice as late
        // while others decode. Measured on a 2-vCPU Xeon (docs/benchmarks.md, session 19: E3 median 1.84 against
        // 2.09); a quarter block did no better there, and on session 18's AMD EPYC half a block made no difference.
        _floor = Math.Max(1, blockSize / 2);
        _chunk = blockSize;
    }

    /// <summary>Prompt tokens the next step may prefill with <paramref name="decoding"/> sequences decoding in it: none
    /// when it is time to time a decode-only step again.</summary>
    public int Budget(int decoding) => decoding == 0 ? _cap : _sinceDecodeOnly >= ProbeEvery - 1 ? 0 : _chunk;

    /// <summary>What a step that prefilled <paramref name="prefilled"/> tokens beside <paramref name="decoding"/>
    /// decoding sequences took.</summary>
    public void Record(TimeSpan took, int prefilled, int decoding)
    {
        var seconds = took.TotalSeconds;
        if (prefilled == 0)
        {
            _sinceDecodeOnly = 0;
            _decodeStep = _decodeStep <= 0 ? seconds : _decodeStep + Smoothing * (seconds - _decodeStep);
        }
        else if (decoding > 0)
        {
            // Counted even before any decode-only step was timed, so the first probe comes within ProbeEvery steps.
            _sinceDecodeOnly++;
            if (_decodeStep > 0 && seconds > 0)
            {
                // Scale the chunk by how far the step was from its target (a quarter to twice the tokens).
                var correction = Math.Clamp(_stretch * _decodeStep / seconds, 0.25, 2.0);
                _chunk = (int)Math.Clamp(prefilled * correction, _floor, _cap);
            }
        }
    }
}
