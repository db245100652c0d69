using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>
/// Decode-only steps replayed from CUDA graphs. On a GPU a decode step is bound by the host, not the device: the
/// ~850 ops of a 24-layer step cost the host 7-12 µs each to issue from .NET (10 ms a step, measured on an H200, see
/// docs/benchmarks.md) while the device needs well under a millisecond to run them. So each shape of step is recorded
/// once and replayed: the host copies the step's inputs into the graph's buffer and launches it.
/// </summary>
/// <remarks>
/// A graph replays fixed shapes, so a step is padded to a recorded one: its rows to one of 13 counts up to
/// <see cref="MaxRows"/> (see <see cref="RowsFor"/>), its block tables to a power of two of blocks up to 32, then a multiple of 16 (a
/// sequence crosses one every 256 tokens, so a long decode records a new shape rarely, and attention reads at most
/// 16 blocks more than it needs). Padding rows decode token 0 at position 0 into the cache's scratch block, padding
/// table entries point at it, and the mask hides it. Shapes are kept by last use, at most <see cref="MaxGraphs"/>.
/// Steps that prefill or extend a past run as before, op by op.
/// </remarks>
public sealed class DecodeGraphs : IDisposable
{
    /// <summary>The widest step recorded; wider ones run op by op.</summary>
    public const int MaxRows = 256;

    /// <summary>Shapes kept recorded at once; each holds its own activations and logits (for 256 rows of a 152k
    /// vocabulary about 240 MB).</summary>
    public const int MaxGraphs = 24;

    private readonly LlamaModel _model;
    private readonly KvCache _cache;
    private readonly Func<Func<Tensor>, bool, IRecordedStep> _record;
    private readonly Dictionary<(int Rows, int Blocks), Shape> _shapes = [];
    private long _clock;

    private DecodeGraphs(LlamaModel model, KvCache cache, Func<Func<Tensor>, bool, IRecordedStep> record)
    {
        _model = model;
        _cache = cache;
        _record = record;
    }

    /// <summary>Steps recorded so far (a shape dropped and needed again is recorded again).</summary>
    public int Recordings { get; private set; }

    /// <summary>Graphs for a model on CUDA with the shim (<c>liblanes_cuda_graph.so</c>) loaded; otherwise null, and
    /// the engine issues every step op by op.</summary>
    public static DecodeGraphs? ForDevice(LlamaModel model, KvCache cache) =>
        model.Device.type == DeviceType.CUDA && CudaGraph.Available ? new(model, cache, (step, warmUp) => CudaGraph.Capture(step, warmUp)) : null;

    /// <summary>The same padding, buffers and shapes, with each step run again instead of replayed: how tests check
    /// on CPU that a padded step computes what the unpadded one does.</summary>
    public static DecodeGraphs Unrecorded(LlamaModel model, KvCache cache) => new(model, cache, (step, _) => new Rerun(step));

    /// <summary>1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256: at most a third of a step's rows are padding, and a
    /// batch whose size wanders records few shapes (a projection's cost hardly grows with rows on a GPU; the attention's
    /// gather does, by the padding rows' tables).</summary>
    public static int RowsFor(int rows)
    {
        var power = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)rows);
        if (rows <= 16)
        {
            return power;
        }

        var step = power / 4;
        return (rows + step - 1) / step * step;
    }

    public static int BlocksFor(int blocks) => blocks <= 32 ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, blocks)) : (blocks + 15) / 16 * 16;

    /// <summary>
    /// Logits <c>[rows, vocab]</c> (float32, in the rows' order) for a step in which every row decodes one token and
    /// wants its logits. False, with nothing run, for any other step or one wider than <see cref="MaxRows"/>. The
    /// logits are the graph's own output: read them before the next step.
    /// </summary>
    public bool TryForward(IReadOnlyList<StepRow> rows, out Tensor logits)
    {
        logits = null!;
        if (rows.Count == 0 || rows.Count > MaxRows)
        {
            return false;
        }

        var longest = 0;
        foreach (var row in rows)
        {
            if (row.Past == 0 || row.Tokens.Count != 1 || row.Prompt || !row.Logits)
            {
                return false;
            }

            longest = Math.Max(longest, _cache.BlocksFor(row.Past + 1));
        }

        var key = (Rows: RowsFor(rows.Count), Blocks: BlocksFor(longest));
        if (_shapes.TryGetValue(key, out var shape))
        {
            DeviceCopies.CopyInto(shape.Input, Inputs(rows, key.Rows, key.Blocks, shape.Host));
        }
        else
        {
            shape = Record(key.Rows, key.Blocks, Inputs(rows, key.Rows, key.Blocks, new long[StepPlan.DecodeOnlyLength(key.Rows, key.Blocks)]));
        }

        shape.LastUse = ++_clock;
        logits = shape.Step.Replay().narrow(0, 0, rows.Count);
        return true;
    }

    /// <summary>Writes the step's buffer (see <see cref="StepPlan.DecodeOnly"/>), padded to <paramref name="width"/>
    /// rows of <paramref name="blocks"/> blocks with the scratch block, over every entry of <paramref name="buffer"/>:
    /// each shape keeps its host buffer, since at 256 rows one is past the large-object threshold.</summary>
    private long[] Inputs(IReadOnlyList<StepRow> rows, int width, int blocks, long[] buffer)
    {
        int size = _cache.BlockSize, scratch = _cache.ScratchBlock, tablesAt = 3 * width, lengthsAt = tablesAt + width * blocks;
        for (var r = 0; r < width; r++)
        {
            var real = r < rows.Count;
            var position = real ? rows[r].Past : 0;
            var owned = real ? _cache.BlocksFor(position + 1) : 0;
            buffer[r] = real ? rows[r].Tokens[0] : 0;
            buffer[width + r] = position;
            buffer[2 * width + r] = real ? (long)rows[r].Blocks[position / size] * size + position % size : (long)scratch * size;
            for (var b = 0; b < blocks; b++)
            {
                buffer[tablesAt + r * blocks + b] = b < owned ? rows[r].Blocks[b] : scratch;
            }

            buffer[lengthsAt + r] = position + 1;
        }

        return buffer;
    }

    /// <summary>Records a shape with this step's own inputs already in its buffer: the warm-up run before the capture
    /// writes exactly the keys and values the replay then writes again.</summary>
    private Shape Record(int width, int blocks, long[] values)
    {
        if (_shapes.Count >= MaxGraphs)
        {
            var oldest = _shapes.MinBy(s => s.Value.LastUse);
            oldest.Value.Dispose();
            _shapes.Remove(oldest.Key);
        }

        var input = DeviceCopies.ToDevice(values, _model.Device).DetachFromDisposeScope();
        IRecordedStep step;
        try
        {
            // Only the first recording warms up: later ones run the same kinds of ops, whose lazy state (cuBLAS
            // handles and workspaces on the side stream) exists by then. The step that records then issues one
            // forward pass (the capture) before its replay instead of two: about 22 ms instead of 67 on the H200
            // (bench/Engine/gpu-e5-extra.out).
            step = _record(() => _model.Forward(StepPlan.DecodeOnly(input, width, blocks, _cache.BlockSize), _cache), Recordings == 0);
        }
        catch
        {
            input.Dispose();
            throw;
        }

        Recordings++;
        var shape = new Shape(input, values, step);
        _shapes[(width, blocks)] = shape;
        return shape;
    }

    public void Dispose()
    {
        foreach (var shape in _shapes.Values)
        {
            shape.Dispose();
        }

        _shapes.Clear();
    }

    private sealed class Shape(Tensor input, long[] host, IRecordedStep step) : IDisposable
    {
        public Tensor Input { get; } = input;

        /// <summary>The host side of <see cref="Input"/>, rewritten each step.</summary>
        public long[] Host { get; } = host;

        public IRecordedStep Step { get; } = step;

        public long LastUse { get; set; }

        public void Dispose()
        {
            Step.Dispose();
            Input.Dispose();
        }
    }

    /// <summary>A step run again at every replay, its previous output freed.</summary>
    private sealed class Rerun(Func<Tensor> step) : IRecordedStep
    {
        private Tensor? _output;

        public Tensor Replay()
        {
            _output?.Dispose();
            using var scope = NewDisposeScope();
            _output = step().DetachFromDisposeScope();
            return _output;
        }

        public void Dispose() => _output?.Dispose();
    }
}

/// <summary>A step that can be run again with whatever its input buffers hold now.</summary>
internal interface IRecordedStep : IDisposable
{
    /// <summary>Runs the step; the result is valid until the next replay.</summary>
    Tensor Replay();
}
