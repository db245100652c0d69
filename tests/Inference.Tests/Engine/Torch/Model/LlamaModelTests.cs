using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;
using Weights = Lanes.Inference.Engine.Torch.Checkpoint.Checkpoint;

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

    [Theory]
    [InlineData(ScalarType.Float16, 0.01)]
    [InlineData(ScalarType.BFloat16, 0.1)]
    public void A_half_precision_checkpoint_in_shards_loads_and_gives_nearly_the_same_logits(ScalarType stored, double tolerance)
    {
        var folder = Directory.CreateTempSubdirectory("lanes-sharded-").FullName;
        try
        {
            var config = ModelConfig.Load(TinyModel.Path_);
            foreach (var file in new[] { "config.json", "tokenizer.json", "tokenizer_config.json" })
            {
                File.Copy(Path.Combine(TinyModel.Path_, file), Path.Combine(folder, file));
            }

            using (var scope = NewDisposeScope())
            {
                var source = Weights.Open(TinyModel.Path_);
                var names = source.Names.Order(StringComparer.Ordinal).ToList();
                var entries = SafeTensors.ReadHeader(Path.Combine(TinyModel.Path_, "model.safetensors")).ToDictionary(e => e.Name);
                var shards = names.Chunk((names.Count + 1) / 2).ToList();
                var map = new System.Text.Json.Nodes.JsonObject();
                for (var i = 0; i < shards.Count; i++)
                {
                    var shard = $"model-{i + 1:00000}-of-{shards.Count:00000}.safetensors";
                    SafeTensors.Write(Path.Combine(folder, shard), shards[i].Select(n => (n, SafeTensors.Read(entries[n]).to(stored))));
                    foreach (var name in shards[i])
                    {
                        map[name] = shard;
                    }
                }

                File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), new System.Text.Json.Nodes.JsonObject { ["weight_map"] = map }.ToJsonString());
            }

            using var full = LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.Float32, 64);
            using var half = LlamaModel.Load(folder, config, CPU, ScalarType.Float32, 64);
            using var steps = NewDisposeScope();
            using var noGrad = no_grad();
            var tokens = new long[1, 16];
            for (var t = 0; t < 16; t++)
            {
                tokens[0, t] = (t * 37) % config.VocabSize;
            }

            var expected = full.Forward(StepPlan.Full(tokens, CPU), null);
            var actual = half.Forward(StepPlan.Full(tokens, CPU), null);

            var worst = (expected - actual).abs().max().item<float>();
            Assert.True(worst < tolerance, $"largest logit difference {worst} (tolerance {tolerance})");
            Assert.True(worst > 0, "the half-precision weights were really rounded");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
