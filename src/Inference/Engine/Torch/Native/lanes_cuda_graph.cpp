// CUDA graphs for the TorchSharp engine: TorchSharp 0.107 exposes neither CUDA graphs nor streams, so this shim wraps
// libtorch's own at::cuda::CUDAGraph (which gives a graph its private memory pool in the caching allocator and keeps
// the RNG state right) behind a C API that Model/CudaGraph.cs binds at run time. A decode step of a 24-layer model is
// ~850 small ops; issued one by one from .NET each costs the host 7-12 us while the GPU needs ~0.2-1 ms for the whole
// step, so replaying the recorded step is what lets a GPU node reach its memory bandwidth.
//
// Built against the libtorch the engine loads (its headers and the CUDA runtime's), never on CPU-only machines:
//   g++ -std=c++17 -O2 -fPIC -shared -I<torch>/include -I<torch>/include/torch/csrc/api/include -I<cuda>/include \
//       lanes_cuda_graph.cpp -L<torch>/lib -ltorch_cuda -lc10_cuda -lc10 -o liblanes_cuda_graph.so
// (bench/Engine/gpu-e5-torch.sh and infra/docker/inference-cuda.Dockerfile do this).
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>

#include <exception>
#include <optional>
#include <string>

namespace {

thread_local std::string last_error;

// Capture cannot run on the legacy default stream TorchSharp's ops go to: an engine's thread switches to its own side
// stream around a warm-up and a capture, then back (per thread, as libtorch's current stream is, so two engines in one
// process never share one). Replays launch on the current (default) stream, so they are ordered with the copies into a
// graph's inputs and the reads of its outputs.
thread_local std::optional<c10::cuda::CUDAStream> side;
thread_local std::optional<c10::cuda::CUDAStream> previous;

int fail(const std::exception& e) {
  last_error = e.what();
  return -1;
}

}  // namespace

extern "C" {

const char* lanes_graph_error() { return last_error.c_str(); }

int lanes_graph_enter_side_stream() {
  try {
    if (!side) {
      side = c10::cuda::getStreamFromPool(false);
    }
    auto current = c10::cuda::getCurrentCUDAStream();
    // The side stream must see everything queued before (the weights, the cache), and the default stream
    // everything the side stream did: both are synchronised at the switch (only at capture, never per step).
    current.synchronize();
    previous = current;
    c10::cuda::setCurrentCUDAStream(*side);
    return 0;
  } catch (const std::exception& e) {
    return fail(e);
  }
}

int lanes_graph_exit_side_stream() {
  try {
    if (side) {
      side->synchronize();
    }
    if (previous) {
      c10::cuda::setCurrentCUDAStream(*previous);
      previous.reset();
    }
    return 0;
  } catch (const std::exception& e) {
    return fail(e);
  }
}

// Starts recording the current (side) stream; thread-local mode, so another thread's allocation cannot invalidate it.
void* lanes_graph_capture_begin() {
  try {
    auto* graph = new at::cuda::CUDAGraph();
    try {
      graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    } catch (...) {
      delete graph;
      throw;
    }
    return graph;
  } catch (const std::exception& e) {
    fail(e);
    return nullptr;
  }
}

int lanes_graph_capture_end(void* graph) {
  try {
    static_cast<at::cuda::CUDAGraph*>(graph)->capture_end();
    return 0;
  } catch (const std::exception& e) {
    return fail(e);
  }
}

int lanes_graph_replay(void* graph) {
  try {
    static_cast<at::cuda::CUDAGraph*>(graph)->replay();
    return 0;
  } catch (const std::exception& e) {
    return fail(e);
  }
}

// Frees the graph and returns its private pool's memory to the caching allocator.
void lanes_graph_free(void* graph) { delete static_cast<at::cuda::CUDAGraph*>(graph); }
}
