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

    /// <summary>Block tables that are deliberately not consecutive, so every read goes through the table.</summary>
    private static readonly int[] Scattered = [9, 2, 14, 5, 11, 0, 7];

    private static readonly int[] Other = [3, 12, 6, 1, 10, 4];

    [Fact]
    public void Incremental_decoding_through_scattered_blocks_gives_the_logits_of_a_full_forward_pass()
    {
        var (config, model, cache) = Load(blocks: 16);
        using var _ = model;
        using var __ = cache;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var random = new Random(3);
        var tokens = Enumerable.Range(0, 40).Select(_ => random.Next(config.VocabSize)).ToArray();
        var other = Enumerable.Range(0, 11).Select(_ => random.Next(config.VocabSize)).ToArray();
        var reference = Reference(model, tokens);

        // The sequence prefills 9 tokens beside another one, then both decode one token a step.
        const int Prompt = 9;
        var step = model.Forward(StepPlan.Build([new StepRow(Other, 0, other), new StepRow(Scattered, 0, tokens[..Prompt])], cache.BlockSize, CPU), cache);
        var worst = (step[1] - reference[Prompt - 1]).abs().max().item<float>();
        for (var t = Prompt; t < tokens.Length; t++)
        {
            var logits = model.Forward(StepPlan.Build([new StepRow(Scattered, t, [tokens[t]]), new StepRow(Other, other.Length + t - Prompt, [other[0]])], cache.BlockSize, CPU), cache);
            worst = Math.Max(worst, (logits[0] - reference[t]).abs().max().item<float>());
        }

        AssertClose(worst, reference);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_prompt_prefilled_in_chunks_beside_decoding_sequences_gets_the_logits_of_a_full_forward_pass(bool consecutiveBlocks)
    {
        int[] table = consecutiveBlocks ? [16, 17, 18, 19, 20, 21] : Scattered; // read in place, or gathered
        var (config, model, cache) = Load(blocks: 24);
        using var _ = model;
        using var __ = cache;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var random = new Random(5);
        var tokens = Enumerable.Range(0, 45).Select(_ => random.Next(config.VocabSize)).ToArray();
        var reference = Reference(model, tokens);
        model.Forward(StepPlan.Build([new StepRow(Other, 0, [1, 2, 3])], cache.BlockSize, CPU), cache);

        // Chunks of 7, 16 and 19 tokens, crossing block edges, each step also decoding the other sequence; then decodes.
        var worst = 0f;
        var past = 0;
        foreach (var chunk in new[] { 7, 16, 19 })
        {
            var last = past + chunk == 42;
            var logits = model.Forward(StepPlan.Build(
                [new StepRow(table, past, tokens[past..(past + chunk)], last), new StepRow(Other, 3 + past / 7, [4])], cache.BlockSize, CPU), cache);
            past += chunk;
            Assert.Equal(last ? 2 : 1, logits.shape[0]); // a chunk before the last asks no logits
            if (last)
            {
                worst = Math.Max(worst, (logits[0] - reference[41]).abs().max().item<float>());
            }
        }

        for (var t = 42; t < tokens.Length; t++)
        {
            var logits = model.Forward(StepPlan.Build([new StepRow(table, t, [tokens[t]])], cache.BlockSize, CPU), cache);
            worst = Math.Max(worst, (logits[0] - reference[t]).abs().max().item<float>());
        }

        AssertClose(worst, reference);
    }

    [Fact]
    public void A_prompt_that_reuses_another_sequences_cached_prefix_blocks_gets_the_logits_of_a_full_forward_pass()
    {
        var (config, model, cache) = Load(blocks: 16);
        using var _ = model;
        using var __ = cache;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var random = new Random(8);
        var prefix = Enumerable.Range(0, 32).Select(_ => random.Next(config.VocabSize)).ToArray();
        int[] first = [.. prefix, 4, 5, 6], second = [.. prefix, .. Enumerable.Range(0, 13).Select(_ => random.Next(config.VocabSize))];

        // The first sequence fills blocks 9, 2, 14 and 5 with the prefix; the second reads them and computes only its
        // own tail, in blocks of its own.
        model.Forward(StepPlan.Build([new StepRow(Scattered, 0, first)], cache.BlockSize, CPU), cache);
        int[] table = [9, 2, 14, 5, 13, 6];
        var tail = model.Forward(StepPlan.Build([new StepRow(table, 32, second[32..])], cache.BlockSize, CPU), cache);

        var reference = Reference(model, second);
        AssertClose((tail[0] - reference[^1]).abs().max().item<float>(), reference);
    }

    [Fact]
    public void A_sequence_prefilled_with_others_of_other_lengths_gets_the_logits_it_gets_alone()
    {
        var (_, model, cache) = Load(blocks: 24);
        using var m = model;
        using var c = cache;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int[] a = [5, 9, 200, 31, 7], b = [44, 2], c2 = [100, 101, 102, 103, 104, 105, 106], d = [8, 9, 10, 11, 12];
        var alone = model.Forward(StepPlan.Build([new StepRow([0], 0, a)], cache.BlockSize, CPU), cache)[0];
        var together = model.Forward(StepPlan.Build([new StepRow([1], 0, b), new StepRow([3], 0, a), new StepRow([2], 0, c2), new StepRow([4], 0, d)], cache.BlockSize, CPU), cache);

        Assert.True((together[1] - alone).abs().max().item<float>() < Tolerance);
    }

    [Fact]
    public void One_token_rows_packed_out_of_their_order_get_their_logits_back_in_row_order()
    {
        var (_, model, cache) = Load(blocks: 8);
        using var m = model;
        using var c = cache;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int[] a = [5, 9, 200, 31], b = [77];
        model.Forward(StepPlan.Build([new StepRow([0], 0, a[..3])], cache.BlockSize, CPU), cache);

        // A decodes its fourth token while B's one-token prompt starts fresh: B is packed first, yet row 0 is A's.
        var step = model.Forward(StepPlan.Build([new StepRow([0], 3, [a[3]]), new StepRow([5], 0, b)], cache.BlockSize, CPU), cache);

        AssertClose((step[0] - Reference(model, a)[3]).abs().max().item<float>(), Reference(model, a));
        Assert.True((step[1] - Reference(model, b)[0]).abs().max().item<float>() < Tolerance);
    }

    private static (ModelConfig Config, LlamaModel Model, KvCache Cache) Load(int blocks)
    {
        var config = ModelConfig.Load(TinyModel.Path_);
        return (config, LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.Float32, 128), new KvCache(config, blocks, ScalarType.Float32, CPU, blockSize: 8));
    }

    /// <summary>Every position's logits from one pass over the whole sequence, without a cache.</summary>
    internal static Tensor Reference(LlamaModel model, int[] tokens)
    {
        var full = new long[1, tokens.Length];
        for (var t = 0; t < tokens.Length; t++)
        {
            full[0, t] = tokens[t];
        }

        return model.Forward(StepPlan.Full(full, CPU), null);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(40)]
    public void Preparing_the_weights_for_inference_leaves_every_logit_of_the_plain_formulas_unchanged(int length)
    {
        // Unprepared, the model runs Hugging Face's formulas as written: RMSNorm as x · rsqrt(mean(x²) + eps) · weight
        // and linear projections on [out, in] weights. Prepared, the norm weights and √hidden are folded into the
        // projections, the weights are stored [in, out] with padded rows, and from 16 rows up the widest products are
        // asked for transposed: 3 rows take the narrow path, 40 the wide one.
        var config = ModelConfig.Load(TinyModel.Path_);
        using var model = LlamaModel.Random(config, seed: 12, CPU);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var random = new Random(length);
        var tokens = Enumerable.Range(0, length).Select(_ => random.Next(config.VocabSize)).ToArray();
        var plain = Reference(model, tokens);

        model.PrepareForInference();
        var prepared = Reference(model, tokens);

        AssertClose((prepared - plain).abs().max().item<float>(), plain);
    }

    private static void AssertClose(float worst, Tensor reference)
    {
        Assert.True(worst < Tolerance, $"largest logit difference {worst} exceeds {Tolerance}");
        // The logits are not trivially equal: they vary by far more than the tolerance from token to token.
        Assert.True((reference[1] - reference[0]).abs().max().item<float>() > 100 * Tolerance);
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
    [Fact]
    public void Decoding_in_bfloat16_as_on_gpus_stays_within_rounding_of_float32_and_picks_the_same_tokens()
    {
        // GPUs run bf16: its norms round only the norm, its decode mask is a bf16 bias. Checked here on CPU against
        // the float32 full pass, through prefill, the cache and decode steps.
        var config = ModelConfig.Load(TinyModel.Path_);
        using var model = LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.BFloat16, 128);
        using var reference = LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.Float32, 128);
        using var cache = new KvCache(config, 16, ScalarType.BFloat16, CPU, blockSize: 8);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var random = new Random(8);
        var tokens = Enumerable.Range(0, 28).Select(_ => random.Next(config.VocabSize)).ToArray();
        var expected = Reference(reference, tokens);
        const int Prompt = 12;
        var logits = new List<Tensor> { model.Forward(StepPlan.Build([new StepRow(Scattered, 0, tokens[..Prompt])], cache.BlockSize, CPU), cache)[0] };
        for (var t = Prompt; t < tokens.Length; t++)
        {
            logits.Add(model.Forward(StepPlan.Build([new StepRow(Scattered, t, [tokens[t]])], cache.BlockSize, CPU), cache)[0]);
        }

        var actual = stack(logits);
        var wanted = expected.narrow(0, Prompt - 1, tokens.Length - Prompt + 1);
        var worst = (actual - wanted).abs().max().item<float>();
        var spread = wanted.std().item<float>();
        Assert.True(worst < 0.1 * spread, $"largest logit difference {worst} against a spread of {spread}");
        Assert.True(worst > 0, "the activations were really rounded");
        Assert.Equal(wanted.argmax(1).data<long>().ToArray(), actual.argmax(1).data<long>().ToArray());
    }
}
