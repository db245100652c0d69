#!/usr/bin/env bash
# Issue 18, E5: the decode roofline on a GPU node, in one short run (about two minutes after the build).
# Needs the CUDA build of the engine's native runtime: libtorch-cuda-12.8-linux-x64 from NuGet (not served by the
# registry these sessions use; a GPU node with nuget.org, or a local feed holding it, restores it). Where neither is
# reachable but CUDA PyTorch is installed, use gpu-pack.sh here and gpu-e5-torch.sh there instead.
# Prints, per batch (1, 32, 128), tokens/s, ms per step, tensor ops and host<->device copies per step, and the % of
# the decode roofline from the device's measured read bandwidth, for the Qwen2.5-0.5B shape in bf16.
# Aim: batch 1 >= 10 % and batch 128 >= 40 % of the roofline. Output goes to bench/Engine/gpu-e5.out as well.
set -euo pipefail
cd "$(dirname "$0")/../.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
dotnet build bench/Engine -c Release -p:LanesGpu=true -v q -nologo
dotnet run -c Release --no-build --project bench/Engine -p:LanesGpu=true -- --shape qwen2.5-0.5b --device cuda --steps 64 \
  | tee bench/Engine/gpu-e5.out
