using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>The invariants that matter for what infra/ deploys, checked on the files in the checkout.</summary>
public sealed class InfraManifestsTests
{
    private static readonly IReadOnlyList<YamlDoc> Docs = InfraTree.KubernetesDocuments();
    private static readonly IReadOnlySet<string> Patches = InfraTree.PatchFiles();
    private static IEnumerable<YamlDoc> Complete => Docs.Where(d => !Patches.Contains(d.File));

    [Fact]
    public void Every_yaml_and_json_file_under_infra_parses()
    {
        var failures = new List<string>();
        foreach (var file in InfraTree.YamlFiles())
        {
            try
            {
                InfraTree.Load(file);
            }
            catch (YamlDotNet.Core.YamlException e)
            {
                failures.Add($"{InfraTree.Relative(file)}: {e.Message}");
            }
        }

        foreach (var file in InfraTree.Files(".json"))
        {
            try
            {
                using var _ = JsonDocument.Parse(File.ReadAllText(file));
            }
            catch (JsonException e)
            {
                failures.Add($"{InfraTree.Relative(file)}: {e.Message}");
            }
        }

        Assert.Empty(failures);
        Assert.Contains(Docs, d => d.Kind == "Deployment");
    }

    [Fact]
    public void Every_container_has_requests_a_memory_limit_probes_and_a_pinned_image()
    {
        var workloads = Complete.Where(WorkloadRules.IsWorkload).ToList();
        Assert.Contains(workloads, d => d.Name == "portal");
        Assert.Empty(workloads.SelectMany(WorkloadRules.Workload));
        Assert.Empty(Docs.Where(d => Patches.Contains(d.File)).SelectMany(WorkloadRules.AddedContainers));
    }

    [Fact]
    public void Inference_pods_take_a_gpu_on_the_gpu_pool_and_have_time_to_drain_streams()
    {
        var inference = Complete.Where(d => WorkloadRules.IsWorkload(d) && d.Name == "inference").ToList();
        Assert.NotEmpty(inference);
        var finalFlush = WorkloadRules.FinalFlushSeconds(File.ReadAllText(Path.Combine(InfraTree.RepositoryRoot, "src", "Inference", "Metering", "UsageFlusher.cs")));
        Assert.Empty(inference.SelectMany(d => WorkloadRules.Inference(d, finalFlush)));
    }

    [Fact]
    public void No_secret_value_is_committed_in_any_manifest()
    {
        Assert.Empty(Docs.SelectMany(SecretRules.Kubernetes));
    }

    [Fact]
    public void Compose_takes_every_secret_from_the_env_file()
    {
        var compose = Path.Combine(InfraTree.InfraRoot, "compose.yaml");
        var root = InfraTree.Load(compose).Single().Root;
        Assert.Empty(SecretRules.Compose(InfraTree.Relative(compose), root));
        Assert.NotNull(root.At("services", "postgres", "healthcheck"));
    }

    [Fact]
    public void Every_deployment_is_covered_by_a_disruption_budget()
    {
        Assert.Empty(WorkloadRules.DisruptionBudgets(Complete));
    }

    [Fact]
    public void Network_policies_start_from_default_deny()
    {
        Assert.True(WorkloadRules.HasDefaultDeny(Docs), "no NetworkPolicy selects every pod and allows nothing");
    }

    [Fact]
    public void Kustomizations_name_only_files_that_exist()
    {
        var kustomizations = InfraTree.YamlFiles().Where(f => Path.GetFileName(f) == "kustomization.yaml").ToList();
        Assert.Contains(kustomizations, k => InfraTree.Relative(k).Contains("overlays/production", StringComparison.Ordinal));
        Assert.Empty(kustomizations.SelectMany(k =>
            KustomizationRules.MissingReferences(InfraTree.Relative(k), InfraTree.Load(k).Single().Root, Path.GetDirectoryName(k)!)));
    }

    [Fact]
    public void Postgres_is_a_three_instance_cloudnativepg_cluster_and_each_host_logs_in_as_its_own_managed_role()
    {
        var cluster = Assert.Single(Complete, d => d.Kind == "Cluster" && d.Root.Str("apiVersion") == "postgresql.cnpg.io/v1");
        Assert.Equal("3", cluster.Root.Str("spec", "instances"));
        var roleSecrets = cluster.Root.At("spec", "managed", "roles").Items().Select(r => r.Str("passwordSecret", "name")).ToList();
        var hosts = Complete.Where(WorkloadRules.IsWorkload).Where(d => d.Name is "portal" or "portal-jobs" or "inference").ToList();
        Assert.Equal(3, hosts.Count);
        var used = hosts.Select(h => WorkloadRules.Containers(WorkloadRules.PodSpec(h)).SelectMany(c => c.Node.At("env").Items())
            .Select(e => e.Str("valueFrom", "secretKeyRef", "name")).Where(s => s?.StartsWith("lanes-db-", StringComparison.Ordinal) == true).Distinct().Single()).ToList();

        // Least privilege: no host uses the owner's secret, and no two kinds share a role.
        Assert.DoesNotContain($"{cluster.Name}-app", used);
        Assert.Equal(3, used.Distinct().Count());
        Assert.All(used, s => Assert.Contains(s, roleSecrets));
    }

    [Fact]
    public void Dashboard_queries_only_metrics_the_gateway_exports()
    {
        var source = File.ReadAllText(Path.Combine(InfraTree.RepositoryRoot, "src", "Inference", "Metrics", "GatewayMetrics.cs"));
        var exported = MetricNames.FromSource(source);
        var dashboard = File.ReadAllText(Path.Combine(InfraTree.InfraRoot, "grafana", "lanes-dashboard.json"));
        var queries = DashboardRules.Queries(dashboard).ToList();

        Assert.True(queries.Count >= 5, $"only {queries.Count} queries in the dashboard");
        Assert.Empty(DashboardRules.UnknownMetrics(queries, exported));
        foreach (var needed in new[] { "lanes_gateway_lanes_in_use", "lanes_gateway_queue_wait_seconds_bucket", "lanes_gateway_requests_total", "lanes_gateway_tokens_total" })
        {
            Assert.Contains(queries, q => q.Contains(needed, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Alert_rules_query_only_metrics_the_gateway_exports_and_cover_lost_capacity_and_a_missed_lane_promise()
    {
        var source = File.ReadAllText(Path.Combine(InfraTree.RepositoryRoot, "src", "Inference", "Metrics", "GatewayMetrics.cs"));
        var exported = MetricNames.FromSource(source);
        var rules = File.ReadAllLines(Path.Combine(InfraTree.InfraRoot, "prometheus", "lanes-alerts.yaml"))
            .Select(l => l.Trim()).Where(l => l.StartsWith("expr:", StringComparison.Ordinal)).Select(l => l["expr:".Length..].Trim()).ToList();

        Assert.Equal(3, rules.Count);
        Assert.DoesNotContain(rules.SelectMany(MetricNames.Referenced), n => !exported.Contains(n));
        Assert.Contains(rules, r => r.Contains("lanes_fleet_unplaced_lanes", StringComparison.Ordinal));
        Assert.Contains(rules, r => r.Contains("lanes_fleet_sold_lanes", StringComparison.Ordinal) && r.Contains("lanes_fleet_live_slots", StringComparison.Ordinal));
        Assert.Contains(rules, r => r.Contains("lanes_lane_promise_requests_total{outcome=\"honoured\"}", StringComparison.Ordinal) && r.Contains("< 0.999", StringComparison.Ordinal));
    }

    [Fact]
    public void Dockerfiles_publish_in_release_run_as_non_root_and_check_health()
    {
        var dockerfiles = Directory.GetFiles(Path.Combine(InfraTree.InfraRoot, "docker"), "*.Dockerfile");
        Assert.Equal(3, dockerfiles.Length);
        Assert.All(dockerfiles, f => Assert.Empty(DockerfileRules.Violations(InfraTree.Relative(f), File.ReadAllText(f))));
    }
}
