#!/usr/bin/env bash
# Packs what bench/Engine/gpu-e5-torch.sh needs into .gpu/ (ignored by git), for a GPU machine that has CUDA PyTorch
# but neither the .NET SDK nor a NuGet feed serving libtorch-cuda-12.8-linux-x64: the .NET runtime, the benchmark's
# CPU build without libtorch itself (PyTorch's libtorch, CUDA included, stands in for it there), and TorchSharp's
# native sources (set TORCHSHARP_SRC to a TorchSharp v0.107.0 checkout), built there only if the shipped
# libLibTorchSharp.so does not bind to that libtorch. PyTorch's CUDA 13 wheels ship the CUDA runtime's headers
# without crt/ (which cuda_runtime.h includes), so the CUDA graph shim needs headers from elsewhere: set CUDA_DEV_DEB
# to Debian's nvidia-cuda-dev .deb (bookworm non-free, CUDA 11.8: apt-get download nvidia-cuda-dev) and its
# usr/include is packed, to be searched after the wheels' own headers.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu
rm -rf "$out" && mkdir -p "$out"
dotnet build bench/Engine -c Release -v q -nologo
root=$(dirname "$(readlink -f "$(command -v dotnet)")")
tar -C "$root" -cJf "$out/dotnet.tar.xz" dotnet host shared/Microsoft.NETCore.App shared/Microsoft.AspNetCore.App
bin=bench/Engine/bin/Release/net10.0
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$bin"/*.dll "$bin"/*.json "$stage/"
mkdir -p "$stage/runtimes/linux-x64/native" && cp "$bin/runtimes/linux-x64/native/libLibTorchSharp.so" "$stage/runtimes/linux-x64/native/"
tar -C "$stage" -cJf "$out/bench.tar.xz" .
if [ -n "${TORCHSHARP_SRC:-}" ]; then
  mkdir -p "$out/native" && cp -r "$TORCHSHARP_SRC/src/Native/LibTorchSharp" "$TORCHSHARP_SRC/src/Native/Stdafx.h" "$TORCHSHARP_SRC/src/Native/UnixSal.h" "$out/native/"
fi
if [ -n "${CUDA_DEV_DEB:-}" ]; then
  dpkg-deb --fsys-tarfile "$CUDA_DEV_DEB" | tar -x -C "$stage" ./usr/include && tar -C "$stage/usr" -cJf "$out/cuda-include.tar.xz" include
fi
du -sh "$out"/*
