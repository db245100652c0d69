# syntax=docker/dockerfile:1
# The portal (Blazor Server, management API, Hangfire dashboard; with Lanes__Role=jobs a jobs worker, see infra/README.md).
# Build from the repository root where Docker exists (CI here only validates these files):
#   docker build -f infra/docker/portal.Dockerfile -t registry.example.com/lanes/portal:$(git rev-parse --short HEAD) .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first: the restore layer is reused until a project or a package version changes.
COPY global.json Directory.* ./
COPY src/Shared/Lanes.Shared.csproj src/Shared/
COPY src/Billing/Lanes.Billing.csproj src/Billing/
COPY src/Portal/Lanes.Portal.csproj src/Portal/
RUN dotnet restore src/Portal/Lanes.Portal.csproj
COPY src/ src/
# Publish, not build: Blazor's static web assets (_framework/blazor.web.js, _content/MudBlazor/*) are only laid out
# in publish output; a dll from bin/ answers 500 for them in Production.
RUN dotnet publish src/Portal/Lanes.Portal.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl only for HEALTHCHECK (the aspnet image ships none). The key folder exists, owned by the app user, so a volume
# mounted there starts writable: ManagementApi:KeysPath holds the management API's token signing keys.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/lanes/keys && chown $APP_UID /var/lib/lanes/keys && chmod 700 /var/lib/lanes/keys
WORKDIR /app
COPY --from=build /app ./
ENV ASPNETCORE_HTTP_PORTS=8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_gcServer=1 \
    ManagementApi__KeysPath=/var/lib/lanes/keys
EXPOSE 8080
# The aspnet image's unprivileged user (uid 1654); Kubernetes pins the same uid in securityContext.
USER $APP_UID
# /healthz answers 200 while the process answers (liveness); /readyz adds the database.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["dotnet", "Lanes.Portal.dll"]
