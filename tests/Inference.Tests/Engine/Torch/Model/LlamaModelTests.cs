using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Inference.Tests.Engine.Torch.Model;

public class LlamaModelTests
{
    /// <summary>Float32 on CPU: the cached path and the full pass differ only by summation order.</summary>
    private const double Tolerance = 1e-4;

    [Fact]
    public void Incremental_decoding_with_the_kv_cache_gives_the_logits_of_a_full_forward_pass()
    {
        var config = ModelConfig.Load(TinyModel.Path_);
        using var model = LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.Float32, 64);
        using var cache = new KvCache(config, slots: 3, maxTokens: 64, ScalarType.Float32, CPU);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var random = new Random(3);
        var tokens = Enumerable.Range(0, 40).Select(_ => random.Next(config.VocabSize)).ToArray();
        var other = Enumerable.Range(0, 11).Select(_ => random.Next(config.VocabSize)).ToArray();

        var full = new long[1, tokens.Length];
        for (var t = 0; t < tokens.Length; t++)
        {
            full[0, t] = tokens[t];
        }

        var reference = model.Forward(StepPlan.Full(full, CPU), null); // [40, vocab]

        // Slot 2 prefills 9 tokens (slot 0 holds another sequence, decoded alongside), then decodes one at a time.
        const int Prompt = 9;
        var step = model.Forward(StepPlan.Batch([(0, other), (2, tokens[..Prompt])], [], CPU), cache);
        var worst = (step[1] - reference[Prompt - 1]).abs().max().item<float>();
        for (var t = Prompt; t < tokens.Length; t++)
        {
            var logits = model.Forward(StepPlan.Batch([], [(2, tokens[t], t), (0, other[0], other.Length + t - Prompt)], CPU), cache);
            worst = Math.Max(worst, (logits[0] - reference[t]).abs().max().item<float>());
        }

        Assert.True(worst < Tolerance, $"largest logit difference {worst} exceeds {Tolerance}");
        // The logits are not trivially equal: they vary by far more than the tolerance from token to token.
        Assert.True((reference[1] - reference[0]).abs().max().item<float>() > 100 * Tolerance);
    }

    [Fact]
    public void A_sequence_prefilled_with_others_of_other_lengths_gets_the_logits_it_gets_alone()
    {
        var config = ModelConfig.Load(TinyModel.Path_);
        using var model = LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.Float32, 64);
        using var cache = new KvCache(config, slots: 4, maxTokens: 64, ScalarType.Float32, CPU);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int[] a = [5, 9, 200, 31, 7], b = [44, 2], c = [100, 101, 102, 103, 104, 105, 106], d = [8, 9, 10, 11, 12];
        var alone = model.Forward(StepPlan.Batch([(0, a)], [], CPU), cache)[0];
        var together = model.Forward(StepPlan.Batch([(1, b), (3, a), (2, c), (0, d)], [], CPU), cache);

        Assert.True((together[1] - alone).abs().max().item<float>() < Tolerance);
    }
}
