# syntax=docker/dockerfile:1
# The gateway with its co-deployed TorchSharp engine on CUDA 12.8 (runs bf16). Build from the repository root where
# Docker exists (CI here only validates these files; the CUDA libtorch package is not served by the development
# registry, so this build needs nuget.org):
#   docker build -f infra/docker/inference-cuda.Dockerfile -t registry.example.com/lanes/inference-cuda:$(git rev-parse --short HEAD) .
# Run it on a host with the NVIDIA driver (>= 570 for CUDA 12.8) and the NVIDIA Container Toolkit: docker run --gpus all ...

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.* ./
COPY src/Shared/Lanes.Shared.csproj src/Shared/
COPY src/Billing/Lanes.Billing.csproj src/Billing/
COPY src/Inference/Lanes.Inference.csproj src/Inference/
# LanesGpu=true swaps libtorch-cpu-linux-x64 for libtorch-cuda-12.8-linux-x64 (several GB restored); it must be given
# to restore and publish alike, or publish would look for the CPU package's assets.
RUN dotnet restore src/Inference/Lanes.Inference.csproj -p:LanesGpu=true
COPY src/ src/
# Publish output is already patched for TorchSharp's GLIBCXX_3.4.32 requirement (Directory.Build.targets).
RUN dotnet publish src/Inference/Lanes.Inference.csproj -c Release --no-restore -p:LanesGpu=true -o /app /p:UseAppHost=false

# The CUDA graph shim (src/Inference/Engine/Torch/Native): decode steps replayed as CUDA graphs, which TorchSharp does
# not expose. Built against the libtorch TorchSharp 0.107 binds (2.10, CUDA 12.8), whose headers and CUDA's come with
# PyTorch's devel image; without it the engine runs, issuing every op (about 5x slower decode, docs/benchmarks.md).
FROM pytorch/pytorch:2.10.0-cuda12.8-cudnn9-devel AS graphs
WORKDIR /shim
COPY src/Inference/Engine/Torch/Native/lanes_cuda_graph.cpp .
RUN torch="$(python -c 'import os, torch; print(os.path.dirname(torch.__file__))')" \
 && abi="$(python -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')" \
 && g++ -std=c++17 -O2 -fPIC -shared -D_GLIBCXX_USE_CXX11_ABI="$abi" -I"$torch/include" -I"$torch/include/torch/csrc/api/include" \
      -I/usr/local/cuda/include lanes_cuda_graph.cpp -L"$torch/lib" -ltorch_cuda -lc10_cuda -lc10 -o liblanes_cuda_graph.so

# The CUDA libraries themselves (cudart, cuBLAS, cuDNN) come inside the libtorch-cuda package; the base image gives the
# driver hooks that the NVIDIA Container Toolkit fills in, and Ubuntu 24.04 (the same distro as aspnet:10.0).
FROM nvidia/cuda:12.8.1-base-ubuntu24.04 AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libssl3t64 libstdc++6 tzdata zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1654 app \
 && useradd --uid 1654 --gid app --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /models && chown 1654 /models
# The ASP.NET Core runtime from the official image, so runtime patches follow the aspnet:10.0 tag.
COPY --from=mcr.microsoft.com/dotnet/aspnet:10.0 /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
WORKDIR /app
COPY --from=build /app ./
# Next to the assemblies, where the engine looks first; its libtorch dependencies resolve to the ones TorchSharp loaded.
COPY --from=graphs /shim/liblanes_cuda_graph.so ./
ENV DOTNET_ROOT=/usr/share/dotnet \
    ASPNETCORE_HTTP_PORTS=8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    Engine__Kind=torch \
    Engine__Torch__Device=cuda \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
EXPOSE 8080
# Same uid as the aspnet images' app user, so one securityContext fits every Lanes image.
USER 1654
HEALTHCHECK --interval=15s --timeout=3s --start-period=300s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["dotnet", "Lanes.Inference.dll"]
