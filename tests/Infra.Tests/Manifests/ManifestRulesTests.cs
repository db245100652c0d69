namespace Lanes.Infra.Tests.Manifests;

/// <summary>The checkers themselves: each must flag a bad manifest, or the tests over infra/ would prove nothing.</summary>
public sealed class ManifestRulesTests
{
    private const string BareDeployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: inference
        spec:
          template:
            metadata:
              labels:
                app: inference
            spec:
              terminationGracePeriodSeconds: 30
              containers:
                - name: gateway
                  image: registry.example.com/lanes/inference:latest
                  env:
                    - name: Keys__Pepper
                      value: c2VjcmV0LXBlcHBlci10aGF0LWlzLWxvbmctZW5vdWdoLTEyMzQ=
                    - name: ConnectionStrings__Lanes
                      value: Host=db;Username=lanes;Password=hunter2
                    - name: ManagementApi__KeysPath
                      value: /var/lib/lanes/keys
        """;

    private static YamlDoc Parse(string yaml) => Yaml.Parse("test.yaml", yaml).Single();

    [Fact]
    public void A_container_without_resources_or_probes_is_reported()
    {
        var violations = WorkloadRules.Workload(Parse(BareDeployment)).ToList();

        Assert.Contains(violations, v => v.Contains("no resource requests", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("no memory limit", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("no readinessProbe", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("no livenessProbe", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains(":latest", StringComparison.Ordinal));
    }

    [Fact]
    public void An_inference_pod_without_gpu_toleration_readyz_or_drain_time_is_reported()
    {
        var violations = WorkloadRules.Inference(Parse(BareDeployment), finalFlushSeconds: 5).ToList();

        Assert.Contains(violations, v => v.Contains("nvidia.com/gpu\"]", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("taint", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("GPU pool", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("readinessProbe must check /readyz", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("terminationGracePeriodSeconds", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(49, true)]
    [InlineData(50, false)]
    public void An_inference_grace_period_shorter_than_its_prestop_drain_and_final_flush_is_reported(int grace, bool reported)
    {
        var doc = Parse($$"""
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: inference
            spec:
              template:
                spec:
                  terminationGracePeriodSeconds: {{grace}}
                  containers:
                    - name: inference
                      env:
                        - name: Gateway__DrainTimeout
                          value: "00:00:30"
                      lifecycle:
                        preStop:
                          exec:
                            command: ["sleep", "10"]
            """);

        var violations = WorkloadRules.Inference(doc, finalFlushSeconds: 5).Where(v => v.Contains("terminationGracePeriodSeconds", StringComparison.Ordinal));

        Assert.Equal(reported, violations.Any());
    }

    [Fact]
    public void Literal_secrets_in_env_and_secret_manifests_are_reported_but_paths_are_not()
    {
        var env = SecretRules.Kubernetes(Parse(BareDeployment)).ToList();
        var secret = SecretRules.Kubernetes(Parse("""
            apiVersion: v1
            kind: Secret
            metadata:
              name: lanes-app-secrets
            stringData:
              keys-pepper: not-in-git
            """)).ToList();

        Assert.Contains(env, v => v.Contains("Keys__Pepper has a literal value", StringComparison.Ordinal));
        Assert.Contains(env, v => v.Contains("ConnectionStrings__Lanes carries a literal password", StringComparison.Ordinal));
        Assert.DoesNotContain(env, v => v.Contains("KeysPath", StringComparison.Ordinal));
        Assert.Single(secret);
    }

    [Fact]
    public void A_password_expanded_from_a_secret_is_accepted()
    {
        var violations = SecretRules.Kubernetes(Parse("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: { name: portal }
            spec:
              template:
                spec:
                  containers:
                    - name: portal
                      env:
                        - name: LANES_DB_PASSWORD
                          valueFrom: { secretKeyRef: { name: lanes-db-app, key: password } }
                        - name: ConnectionStrings__Lanes
                          value: Host=lanes-db-rw;Password=$(LANES_DB_PASSWORD)
            """));

        Assert.Empty(violations);
    }

    [Fact]
    public void A_deployment_without_a_matching_disruption_budget_is_reported()
    {
        var docs = Yaml.Parse("test.yaml", BareDeployment + """

            ---
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata: { name: other }
            spec:
              maxUnavailable: 1
              selector:
                matchLabels: { app: portal }
            """);

        Assert.Single(WorkloadRules.DisruptionBudgets(docs));
    }

    [Fact]
    public void Network_policies_that_allow_some_traffic_are_not_a_default_deny()
    {
        var docs = Yaml.Parse("test.yaml", """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: { name: allow-dns }
            spec:
              podSelector: {}
              policyTypes: [Egress]
              egress:
                - ports: [{ protocol: UDP, port: 53 }]
            """);

        Assert.False(WorkloadRules.HasDefaultDeny(docs));
    }

    [Fact]
    public void A_kustomization_naming_a_missing_file_is_reported()
    {
        var dir = Directory.CreateTempSubdirectory("lanes-infra-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "present.yaml"), "kind: ConfigMap\n");
            var k = Parse("""
                resources:
                  - present.yaml
                  - missing.yaml
                patches:
                  - path: missing-patch.yaml
                """).Root;

            var missing = KustomizationRules.MissingReferences("kustomization.yaml", k, dir.FullName).ToList();

            Assert.Equal(2, missing.Count);
            Assert.DoesNotContain(missing, m => m.Contains("present.yaml", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_compose_file_with_a_literal_secret_is_reported()
    {
        var compose = Parse("""
            services:
              portal:
                environment:
                  Keys__Pepper: c2VjcmV0
                  Stripe__SecretKey: ${STRIPE_SECRET_KEY:-}
                  ConnectionStrings__Lanes: Host=postgres;Password=lanes
              postgres:
                environment:
                  - POSTGRES_PASSWORD=lanes
                  - POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password
            """).Root;

        var violations = SecretRules.Compose("compose.yaml", compose).ToList();

        Assert.Equal(3, violations.Count);
        Assert.DoesNotContain(violations, v => v.Contains("Stripe__SecretKey", StringComparison.Ordinal) || v.Contains("_FILE", StringComparison.Ordinal));
    }

    [Fact]
    public void Dashboard_queries_for_series_the_gateway_does_not_export_are_reported()
    {
        var exported = MetricNames.FromSource("""
            meter.CreateHistogram<double>("lanes.gateway.queue_wait", "s", "wait");
            meter.CreateHistogram<double>("lanes.gateway.tokens_per_second", "{token}/s", "speed");
            meter.CreateCounter<long>("lanes.gateway.requests", description: "requests");
            meter.CreateObservableGauge("lanes.gateway.lanes_in_use", () => lanes.Occupancy());
            """);
        var queries = new[]
        {
            "histogram_quantile(0.95, sum by (le) (rate(lanes_gateway_queue_wait_seconds_bucket[5m])))",
            "rate(lanes_gateway_tokens_per_second_count[5m]) + rate(lanes_gateway_requests_total[5m])",
            "sum by (tenant) (lanes_gateway_lanes_in_use)",
            "sum(lanes_gateway_budget_spent_usd_total)",
        };

        var unknown = DashboardRules.UnknownMetrics(queries, exported).ToList();

        Assert.Equal(["lanes_gateway_budget_spent_usd_total (in sum(lanes_gateway_budget_spent_usd_total))"], unknown);
    }

    [Fact]
    public void A_single_stage_root_dockerfile_without_healthcheck_is_reported()
    {
        var violations = DockerfileRules.Violations("bad.Dockerfile", """
            FROM mcr.microsoft.com/dotnet/sdk
            ENV Stripe__SecretKey=sk_live_x
            RUN dotnet build
            ENTRYPOINT ["dotnet", "Lanes.Portal.dll"]
            """).ToList();

        Assert.Equal(6, violations.Count);
    }
}
