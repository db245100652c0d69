#!/usr/bin/env bash
# Issue 18, E5, on a GPU machine that has CUDA PyTorch but no .NET SDK and no NuGet feed (run bench/Engine/gpu-pack.sh
# where the SDK is, carry .gpu/ there, run this). The benchmark's CPU build runs on the carried .NET runtime over
# PyTorch's own libtorch (libtorch_cuda.so included): TorchSharp loads libtorch_cuda, libtorch_cpu and libc10 by name
# from LD_LIBRARY_PATH. TorchSharp 0.107's libLibTorchSharp.so is built against libtorch 2.10; if it does not bind to
# the machine's libtorch (checked with every symbol bound at load), it is rebuilt there from .gpu/native.
# Output: the same tables as gpu-e5.sh, into $OUT (or bench/Engine) as gpu-e5.out.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-bench/Engine}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader
mkdir -p /tmp/lanes-dotnet /tmp/lanes-bench
tar -xJf .gpu/dotnet.tar.xz -C /tmp/lanes-dotnet && tar -xJf .gpu/bench.tar.xz -C /tmp/lanes-bench || exit 1
torch=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))') || exit 1
python3 -c 'import torch; print("libtorch from PyTorch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name(0))'
export LD_LIBRARY_PATH=$torch/lib DOTNET_ROOT=/tmp/lanes-dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
bench() { /tmp/lanes-dotnet/dotnet /tmp/lanes-bench/Lanes.Engine.Bench.dll --device cuda "$@"; }
smoke() { LD_BIND_NOW=1 bench --shape qwen2.5-0.5b --batches 1,3 --steps 2 --past 40 > /tmp/smoke.log 2>&1; local rc=$?; tail -c 3000 /tmp/smoke.log; return $rc; }

if ! smoke; then
  if ! grep -qE "undefined symbol|LoadNativeBackend|libtorch-cuda|DllNotFound|cannot open shared" /tmp/smoke.log; then
    echo "The smoke run failed inside the engine, not in loading libtorch: see above." && exit 2
  fi
  echo "== libLibTorchSharp.so does not bind to this libtorch: building it against $torch"
  src=.gpu/native/LibTorchSharp obj=/tmp/lts && mkdir -p $obj
  flags="-c -O2 -fPIC -w -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=1 -I$torch/include -I$torch/include/torch/csrc/api/include"
  gcc $flags $src/crc32c.c -o $obj/crc32c.o
  ls $src/*.cpp | xargs -P "$(nproc)" -I{} sh -c "g++ -std=c++17 $flags {} -o $obj/\$(basename {}).o 2> $obj/\$(basename {}).err || echo 'failed: {}'"
  for e in $obj/*.err; do [ -s "$e" ] && head -c 1500 "$e"; done
  g++ -shared -o /tmp/lanes-bench/runtimes/linux-x64/native/libLibTorchSharp.so $obj/*.o -L$torch/lib -ltorch -ltorch_cpu -lc10 -Wl,-rpath,$torch/lib || exit 3
  smoke || exit 4
fi

# The CUDA graph shim (src/Inference/Engine/Torch/Native), built against this libtorch's headers and the CUDA
# runtime's (from PyTorch's nvidia-* wheels, else a CUDA toolkit); without it the bench runs op by op only.
echo "== CUDA graph shim"
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
cudainc=
for d in "$torch"/../nvidia/cu13/include "$torch"/../nvidia/cuda_runtime/include /usr/local/cuda/include; do
  [ -f "$d/cuda_runtime_api.h" ] && cudainc=$(readlink -f "$d") && break
done
[ -n "$cudainc" ] || cudainc=$(dirname "$(find / -name cuda_runtime_api.h -not -path '/proc/*' 2>/dev/null | head -1)")
echo "g++: $(g++ --version 2>&1 | head -1); CXX11 ABI $abi; CUDA headers: ${cudainc:-none}"
after=
if [ -f .gpu/cuda-include.tar.xz ]; then
  mkdir -p /tmp/cuda-fallback && tar -xJf .gpu/cuda-include.tar.xz -C /tmp/cuda-fallback && after="-idirafter /tmp/cuda-fallback/include"
fi
shim=/tmp/lanes-bench/liblanes_cuda_graph.so
for std in c++20 c++17; do
  g++ -std=$std -O2 -fPIC -shared -w -D_GLIBCXX_USE_CXX11_ABI=$abi -I"$torch/include" -I"$torch/include/torch/csrc/api/include" -I"$cudainc" $after \
    src/Inference/Engine/Torch/Native/lanes_cuda_graph.cpp -L"$torch/lib" -ltorch_cuda -lc10_cuda -lc10 -Wl,-rpath,"$torch/lib" -o $shim 2> /tmp/shim.err && break
  echo "-std=$std failed:"; head -c 3000 /tmp/shim.err
done
if [ -f $shim ]; then echo "built $shim" && export LANES_CUDA_GRAPH_LIB=$shim; elif [ -n "${NEED_GRAPHS:-}" ]; then exit 5; fi

echo "== E5: Qwen2.5-0.5B shape, bf16, random weights"
bench --shape qwen2.5-0.5b --steps 64 | tee "$out/gpu-e5.out"
echo "== Llama-3.2-1B shape, bf16, random weights"
bench --shape llama-3.2-1b --steps 64 | tee -a "$out/gpu-e5.out"
# Further runs asked for by the caller, e.g. E5_EXTRA="--shape qwen2.5-0.5b --past 16 --batches 1,128" (where a
# batch-128 step's time goes: with short pasts attention reads almost nothing).
if [ -n "${E5_EXTRA:-}" ]; then
  echo "== extra: $E5_EXTRA"
  bench $E5_EXTRA | tee -a "$out/gpu-e5-extra.out"
fi
