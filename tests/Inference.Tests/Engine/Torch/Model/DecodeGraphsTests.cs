using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Model;
using static TorchSharp.torch;

namespace Lanes.Inference.Tests.Engine.Torch.Model;

/// <summary>
/// Decode steps as they are recorded into CUDA graphs: padded to a recorded shape, every input read from one buffer.
/// On CPU each step is run again instead of replayed (<see cref="DecodeGraphs.Unrecorded"/>), which checks the
/// padding, the scratch block and the buffer layout; the replay itself needs a GPU (bench/Engine/gpu-e5-torch.sh).
/// </summary>
public class DecodeGraphsTests
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void Sequences_decoding_through_padded_steps_get_the_logits_of_a_full_forward_pass_and_leave_other_blocks_alone()
    {
        var config = ModelConfig.Load(TinyModel.Path_);
        using var model = LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.Float32, 128);
        using var cache = new KvCache(config, blocks: 20, ScalarType.Float32, CPU, blockSize: 8);
        using var graphs = DecodeGraphs.Unrecorded(model, cache);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var random = new Random(11);
        int[][] tables = [[9, 2, 14, 5, 11], [3, 12, 6, 1, 10], [0, 7, 15, 8, 13]];
        int[] bystanderTable = [4, 16, 17];
        var prompts = new[] { 5, 12, 9 };
        const int Decoded = 24;
        var tokens = prompts.Select(p => Enumerable.Range(0, p + Decoded).Select(_ => random.Next(config.VocabSize)).ToArray()).ToArray();
        var bystander = Enumerable.Range(0, 20).Select(_ => random.Next(config.VocabSize)).ToArray();
        var references = tokens.Select(t => LlamaModelTests.Reference(model, t)).ToArray();
        var bystanderReference = LlamaModelTests.Reference(model, bystander);

        // Prompts (and a sequence that then sits out every padded step) prefill op by op.
        model.Forward(StepPlan.Build([.. prompts.Select((p, s) => new StepRow(tables[s], 0, tokens[s][..p])), new StepRow(bystanderTable, 0, bystander[..19])], cache.BlockSize, CPU), cache);

        // Three rows run as four (one padding row into the scratch block), their tables padded to 2, 4, then 8 blocks.
        var worst = 0f;
        for (var step = 0; step < Decoded; step++)
        {
            var rows = prompts.Select((p, s) => new StepRow(tables[s], p + step, [tokens[s][p + step]])).ToList();
            Assert.True(graphs.TryForward(rows, out var logits));
            Assert.Equal(new long[] { 3, config.VocabSize }, logits.shape);
            for (var s = 0; s < rows.Count; s++)
            {
                worst = Math.Max(worst, (logits[s] - references[s][rows[s].Past]).abs().max().item<float>());
            }
        }

        Assert.True(worst < Tolerance, $"largest logit difference {worst} exceeds {Tolerance}");
        Assert.Equal(3, graphs.Recordings);

        // The sequence that sat out still reads its own keys and values.
        var resumed = model.Forward(StepPlan.Build([new StepRow(bystanderTable, 19, [bystander[19]])], cache.BlockSize, CPU), cache);
        Assert.True((resumed[0] - bystanderReference[19]).abs().max().item<float>() < Tolerance);
        Assert.True((references[0][1] - references[0][0]).abs().max().item<float>() > 100 * Tolerance, "the logits vary from token to token");
    }

    [Fact]
    public void Steps_that_prefill_or_extend_a_past_are_left_to_run_op_by_op()
    {
        var config = ModelConfig.Load(TinyModel.Path_);
        using var model = LlamaModel.Load(TinyModel.Path_, config, CPU, ScalarType.Float32, 128);
        using var cache = new KvCache(config, blocks: 8, ScalarType.Float32, CPU, blockSize: 8);
        using var graphs = DecodeGraphs.Unrecorded(model, cache);
        int[] table = [0, 1];
        StepRow decoding = new(table, 3, [7]);

        Assert.False(graphs.TryForward([decoding, new StepRow([2, 3], 0, [1, 2, 3])], out _));
        Assert.False(graphs.TryForward([decoding, new StepRow([2, 3], 4, [1, 2])], out _));
        Assert.False(graphs.TryForward([decoding, new StepRow([2, 3], 4, [1], Prompt: true)], out _));
        Assert.False(graphs.TryForward([decoding, new StepRow([2, 3], 4, [1], Logits: false)], out _));
        Assert.False(graphs.TryForward([.. Enumerable.Repeat(decoding, DecodeGraphs.MaxRows + 1)], out _));
        Assert.Equal(0, graphs.Recordings);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 4)]
    [InlineData(9, 16)]
    [InlineData(17, 24)]
    [InlineData(25, 32)]
    [InlineData(33, 48)]
    [InlineData(128, 128)]
    [InlineData(130, 192)]
    [InlineData(256, 256)]
    public void Rows_are_padded_to_few_shapes(int rows, int padded) => Assert.Equal(padded, DecodeGraphs.RowsFor(rows));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 8)]
    [InlineData(32, 32)]
    [InlineData(33, 48)]
    [InlineData(49, 64)]
    public void Block_tables_are_padded_to_few_shapes(int blocks, int padded) => Assert.Equal(padded, DecodeGraphs.BlocksFor(blocks));
}
