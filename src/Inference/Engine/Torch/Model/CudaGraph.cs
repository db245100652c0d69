using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>
/// A step recorded once as a CUDA graph and replayed: the device runs the recorded kernels back to back, the host
/// issues one launch instead of hundreds of ops. Bound at run time to <c>liblanes_cuda_graph.so</c> (the shim in
/// <c>Engine/Torch/Native</c>, built only for GPU images); without it, or off CUDA, <see cref="Available"/> is false
/// and the engine issues its ops one by one as before.
/// </summary>
/// <remarks>
/// Whatever a graph reads must be at the same address at every replay (the inputs are copied into tensors made before
/// the capture), and whatever it returns is overwritten by the next replay. The tensors made during the capture live in
/// the graph's private memory pool until the graph is disposed.
/// </remarks>
internal sealed class CudaGraph : IRecordedStep
{
    private static readonly Lazy<Shim?> s_shim = new(Shim.TryLoad);

    private IntPtr _graph;

    private CudaGraph(IntPtr graph, Tensor output)
    {
        _graph = graph;
        Output = output;
    }

    /// <summary>Whether the shim was found and loads against this process's libtorch.</summary>
    public static bool Available => s_shim.Value is not null;

    /// <summary>The captured step's result, rewritten in place by each <see cref="Replay"/>.</summary>
    public Tensor Output { get; }

    /// <summary>
    /// Records <paramref name="step"/>, after running it once to <paramref name="warmUp"/> (cuBLAS makes its handle
    /// and workspace for the stream lazily, which a capture must not do). Both run on a side stream: capture is not
    /// allowed on the default one.
    /// </summary>
    public static CudaGraph Capture(Func<Tensor> step, bool warmUp = true)
    {
        var shim = s_shim.Value ?? throw new InvalidOperationException("liblanes_cuda_graph.so is not loaded.");
        shim.Check(shim.EnterSideStream());
        try
        {
            if (warmUp)
            {
                using (NewDisposeScope())
                {
                    step();
                }
            }

            var graph = shim.CaptureBegin();
            if (graph == IntPtr.Zero)
            {
                throw new InvalidOperationException("CUDA graph capture did not start: " + shim.Error());
            }

            Tensor output;
            try
            {
                using var scope = NewDisposeScope();
                output = step().DetachFromDisposeScope();
            }
            catch
            {
                // End the capture so the stream is usable again; the error that matters is the step's.
                shim.CaptureEnd(graph);
                shim.Free(graph);
                throw;
            }

            if (shim.CaptureEnd(graph) != 0)
            {
                var error = shim.Error();
                output.Dispose();
                shim.Free(graph);
                throw new InvalidOperationException("CUDA graph capture failed: " + error);
            }

            return new CudaGraph(graph, output);
        }
        finally
        {
            shim.Check(shim.ExitSideStream());
        }
    }

    /// <summary>Runs the recorded step again on the default stream and returns <see cref="Output"/>.</summary>
    public Tensor Replay()
    {
        ObjectDisposedException.ThrowIf(_graph == IntPtr.Zero, this);
        var shim = s_shim.Value!;
        shim.Check(shim.Replay(_graph));
        return Output;
    }

    public void Dispose()
    {
        if (_graph != IntPtr.Zero)
        {
            Output.Dispose();
            s_shim.Value!.Free(_graph);
            _graph = IntPtr.Zero;
        }
    }

    private sealed class Shim
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate int Call();

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate IntPtr Begin();

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate int OnGraph(IntPtr graph);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate void FreeGraph(IntPtr graph);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate IntPtr LastError();

        private Call _enter = null!, _exit = null!;
        private Begin _begin = null!;
        private OnGraph _end = null!, _replay = null!;
        private FreeGraph _free = null!;
        private LastError _error = null!;

        public static Shim? TryLoad()
        {
            if (!cuda.is_available())
            {
                return null;
            }

            // An explicit path first, then next to the engine's assemblies, then the loader's search path.
            string?[] candidates = [Environment.GetEnvironmentVariable("LANES_CUDA_GRAPH_LIB"), Path.Combine(AppContext.BaseDirectory, "liblanes_cuda_graph.so"), "liblanes_cuda_graph.so"];
            foreach (var candidate in candidates)
            {
                if (string.IsNullOrEmpty(candidate) || !NativeLibrary.TryLoad(candidate, out var library))
                {
                    continue;
                }

                T Export<T>(string name) where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(library, name));
                return new Shim
                {
                    _enter = Export<Call>("lanes_graph_enter_side_stream"),
                    _exit = Export<Call>("lanes_graph_exit_side_stream"),
                    _begin = Export<Begin>("lanes_graph_capture_begin"),
                    _end = Export<OnGraph>("lanes_graph_capture_end"),
                    _replay = Export<OnGraph>("lanes_graph_replay"),
                    _free = Export<FreeGraph>("lanes_graph_free"),
                    _error = Export<LastError>("lanes_graph_error"),
                };
            }

            return null;
        }

        public int EnterSideStream() => _enter();

        public int ExitSideStream() => _exit();

        public IntPtr CaptureBegin() => _begin();

        public int CaptureEnd(IntPtr graph) => _end(graph);

        public int Replay(IntPtr graph) => _replay(graph);

        public void Free(IntPtr graph) => _free(graph);

        public string Error() => Marshal.PtrToStringUTF8(_error()) ?? "";

        public void Check(int result)
        {
            if (result != 0)
            {
                throw new InvalidOperationException("CUDA graph: " + Error());
            }
        }
    }
}
