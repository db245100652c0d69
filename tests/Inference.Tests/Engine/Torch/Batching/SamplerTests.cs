using Lanes.Inference.Engine.Torch.Batching;
using Lanes.Inference.Engine.Torch.Model;
using static TorchSharp.torch;

namespace Lanes.Inference.Tests.Engine.Torch.Batching;

public class SamplerTests
{
    // Probabilities 0.5, 0.3, 0.2, then tokens the grammar forbids (-inf) and ones far too unlikely to matter.
    private static readonly float[] Row = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f), float.NegativeInfinity, float.NegativeInfinity, -1e4f];

    [Fact]
    public void Sampling_without_top_k_or_top_p_draws_each_token_at_its_probability_and_never_a_forbidden_one()
    {
        var counts = Draw(new RowSampling(1, 1, 0, new Random(11)), draws: 20_000);

        Assert.Equal(0, counts[3] + counts[4] + counts[5]);
        Assert.InRange(counts[0] / 20_000.0, 0.48, 0.52);
        Assert.InRange(counts[1] / 20_000.0, 0.28, 0.32);
        Assert.InRange(counts[2] / 20_000.0, 0.18, 0.22);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_set_of_likeliest_tokens_that_reaches_it_and_renormalises()
    {
        // 0.5 alone is under 0.7; 0.5 + 0.3 reaches it: token 2 is cut, and 0 and 1 split 5:3.
        var counts = Draw(new RowSampling(1, 0.7, 0, new Random(12)), draws: 20_000);

        Assert.Equal(0, counts[2]);
        Assert.InRange(counts[0] / 20_000.0, 0.600, 0.650);
    }

    [Fact]
    public void Top_k_one_and_temperature_zero_both_pick_the_likeliest_token_beside_rows_that_sample()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(Row.Concat(Row).Concat(Row).ToArray(), [3, Row.Length]);
        var random = new Random(13);
        for (var i = 0; i < 200; i++)
        {
            var picks = Sampler.Sample(logits, [new RowSampling(1, 1, 1, random), new RowSampling(0, 1, 0, random), new RowSampling(1, 1, 0, random)]);
            Assert.Equal(0, picks[0]);
            Assert.Equal(0, picks[1]);
            Assert.InRange(picks[2], 0, 2);
        }
    }

    [Fact]
    public void A_step_reads_its_tokens_back_in_one_copy_whatever_the_rows_ask_for()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(Row.Concat(Row).Concat(Row).ToArray(), [3, Row.Length]);
        var random = new Random(14);
        var before = DeviceCopies.ToHostCount;

        Sampler.Sample(logits, [new RowSampling(0, 1, 0, random), new RowSampling(0.7, 0.9, 0, random), new RowSampling(1.2, 1, 0, random)]);

        Assert.Equal(1, DeviceCopies.ToHostCount - before);
    }

    private static int[] Draw(RowSampling sampling, int draws)
    {
        using var scope = NewDisposeScope();
        // Many rows of the same distribution in one call, as one batch step samples them.
        const int RowsPerCall = 500;
        var logits = tensor(Enumerable.Repeat(Row, RowsPerCall).SelectMany(r => r).ToArray(), [RowsPerCall, Row.Length]);
        var rows = Enumerable.Repeat(sampling, RowsPerCall).ToArray();
        var counts = new int[Row.Length];
        for (var i = 0; i < draws / RowsPerCall; i++)
        {
            foreach (var token in Sampler.Sample(logits, rows))
            {
                counts[token]++;
            }
        }

        return counts;
    }
}
