using System.Diagnostics;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>
/// The overlays as a cluster would receive them: rendered with `kubectl kustomize` (kustomize is built into kubectl),
/// so patches are merged and the invariants hold on the result, not only on the base. Where kubectl is not
/// installed, rendering cannot happen and only the per-file checks in <see cref="InfraManifestsTests"/> apply.
/// </summary>
public sealed class RenderedOverlaysTests
{
    [Theory]
    [InlineData("dev")]
    [InlineData("production")]
    public async Task Each_overlay_renders_and_keeps_the_invariants(string overlay)
    {
        if (FindOnPath("kubectl") is not { } kubectl)
        {
            return;
        }

        var rendered = await RenderAsync(kubectl, Path.Combine(InfraTree.InfraRoot, "k8s", "overlays", overlay));
        var docs = Yaml.Parse($"overlays/{overlay} (rendered)", rendered);

        var workloads = docs.Where(WorkloadRules.IsWorkload).ToList();
        Assert.Equal(["inference", "otel-collector", "portal", "portal-jobs"], workloads.Select(w => w.Name!).Order(StringComparer.Ordinal));
        Assert.Empty(workloads.SelectMany(WorkloadRules.Workload));
        Assert.Empty(workloads.Where(w => w.Name == "inference").SelectMany(WorkloadRules.Inference));
        Assert.Empty(docs.SelectMany(SecretRules.Kubernetes));
        Assert.Empty(WorkloadRules.DisruptionBudgets(docs));
        Assert.True(WorkloadRules.HasDefaultDeny(docs));
        // Every namespaced object lands in the overlay's namespace, the Namespace itself renamed with it.
        var ns = Assert.Single(docs, d => d.Kind == "Namespace").Name;
        Assert.All(docs.Where(d => d.Kind != "Namespace"), d => Assert.Equal(ns, d.Root.Str("metadata", "namespace")));
    }

    private static async Task<string> RenderAsync(string kubectl, string directory)
    {
        var start = new ProcessStartInfo(kubectl, ["kustomize", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {directory} failed: {await stderr}");
        return await stdout;
    }

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);
}
