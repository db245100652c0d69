# syntax=docker/dockerfile:1
# The gateway with its co-deployed TorchSharp engine, CPU build (libtorch-cpu-linux-x64). For GPU nodes use
# inference-cuda.Dockerfile. Build from the repository root where Docker exists (CI here only validates these files):
#   docker build -f infra/docker/inference.Dockerfile -t registry.example.com/lanes/inference:$(git rev-parse --short HEAD) .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.* ./
COPY src/Shared/Lanes.Shared.csproj src/Shared/
COPY src/Billing/Lanes.Billing.csproj src/Billing/
COPY src/Inference/Lanes.Inference.csproj src/Inference/
# libtorch is a ~128 MB download: this layer is worth keeping apart from the sources.
RUN dotnet restore src/Inference/Lanes.Inference.csproj
COPY src/ src/
# TorchSharp 0.107.0's libLibTorchSharp.so asks for GLIBCXX_3.4.32, which Debian 12 lacks (see shared TOOLCHAIN.md).
# The MSBuild step in Directory.Build.targets marks that requirement weak after every build and publish, so the
# publish output is already patched; the Ubuntu 24.04 runtime below would not even need it.
RUN dotnet publish src/Inference/Lanes.Inference.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /models && chown $APP_UID /models
WORKDIR /app
COPY --from=build /app ./
# Weights are mounted, never baked in: /models/<folder> with config.json, *.safetensors and tokenizer files
# (or trained there with `dotnet Lanes.Inference.dll demo-model --out /models/lanes-demo`).
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    Engine__Kind=torch \
    Engine__Torch__Device=cpu
EXPOSE 8080
USER $APP_UID
# Liveness only: /readyz (model loaded) is for routing, and Kubernetes probes it separately.
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["dotnet", "Lanes.Inference.dll"]
