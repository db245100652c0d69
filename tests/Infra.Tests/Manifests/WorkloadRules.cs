using YamlDotNet.RepresentationModel;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>What every Deployment and StatefulSet must declare; each rule answers the violations it finds.</summary>
public static class WorkloadRules
{
    public static readonly string[] WorkloadKinds = ["Deployment", "StatefulSet"];

    /// <summary>Room left after the last step of a gateway's shutdown before the kubelet's SIGKILL.</summary>
    public const int GraceMarginSeconds = 5;

    /// <summary>
    /// What a gateway's shutdown takes, from the pod's deletion to its exit: the preStop sleep, then
    /// <c>Gateway__DrainTimeout</c> (30 s unless set) for running streams, then the final usage flush (bounded by
    /// <c>UsageFlusher.FinalFlushTimeout</c>, read from its source so the two cannot drift), plus a margin.
    /// </summary>
    public static int NeededInferenceGraceSeconds(YamlNode container, int finalFlushSeconds)
    {
        var command = container.At("lifecycle", "preStop", "exec", "command").Items().Select(i => i.AsString()).ToList();
        var preStop = command is ["sleep", { } seconds] && int.TryParse(seconds, out var n) ? n : 0;
        var drainText = container.At("env").Items().FirstOrDefault(e => e.Str("name") == "Gateway__DrainTimeout").Str("value");
        var drain = drainText is not null && TimeSpan.TryParse(drainText, System.Globalization.CultureInfo.InvariantCulture, out var d) ? (int)Math.Ceiling(d.TotalSeconds) : 30;
        return preStop + drain + finalFlushSeconds + GraceMarginSeconds;
    }

    /// <summary>The final flush's bound as <c>src/Inference/Metering/UsageFlusher.cs</c> declares it.</summary>
    public static int FinalFlushSeconds(string usageFlusherSource) =>
        int.Parse(System.Text.RegularExpressions.Regex.Match(usageFlusherSource, @"FinalFlushTimeout = TimeSpan\.FromSeconds\((\d+)\)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    public static bool IsWorkload(YamlDoc doc) => WorkloadKinds.Contains(doc.Kind);

    public static YamlNode? PodSpec(YamlDoc doc) => doc.Root.At("spec", "template", "spec");

    public static IEnumerable<(string Name, YamlNode Node)> Containers(YamlNode? podSpec, string list = "containers") =>
        podSpec.At(list).Items().Select(c => (c.Str("name") ?? "(unnamed)", c));

    /// <summary>Complete workloads: requests and a memory limit everywhere, readiness and liveness probes, pinned images.</summary>
    public static IEnumerable<string> Workload(YamlDoc doc)
    {
        if (!IsWorkload(doc))
        {
            yield break;
        }

        var spec = PodSpec(doc);
        if (!Containers(spec).Any())
        {
            yield return $"{doc}: has no containers";
        }

        foreach (var (name, c) in Containers(spec))
        {
            foreach (var v in Resources(doc, name, c))
            {
                yield return v;
            }

            foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
            {
                if (c.At(probe) is null)
                {
                    yield return $"{doc}: container {name} has no {probe}";
                }
            }
        }

        foreach (var v in AddedContainers(doc))
        {
            yield return v;
        }
    }

    /// <summary>For patches too: any container that names an image is a new container and must be complete on its own.</summary>
    public static IEnumerable<string> AddedContainers(YamlDoc doc)
    {
        var spec = PodSpec(doc);
        foreach (var list in new[] { "containers", "initContainers" })
        {
            foreach (var (name, c) in Containers(spec, list).Where(c => c.Node.Str("image") is not null))
            {
                if (list == "initContainers")
                {
                    foreach (var v in Resources(doc, name, c))
                    {
                        yield return v;
                    }
                }

                if (ImageProblem(c.Str("image")!) is { } problem)
                {
                    yield return $"{doc}: container {name} {problem}";
                }
            }
        }
    }

    /// <summary>The gateway pods: a GPU each, on the GPU pool, ready only when the model is loaded, time to drain streams.</summary>
    /// <param name="finalFlushSeconds">The gateway's final-flush bound (<see cref="FinalFlushSeconds"/>).</param>
    public static IEnumerable<string> Inference(YamlDoc doc, int finalFlushSeconds)
    {
        var spec = PodSpec(doc);
        foreach (var (name, c) in Containers(spec))
        {
            if (c.Str("resources", "limits", "nvidia.com/gpu") is not { } gpus || !int.TryParse(gpus, out var n) || n < 1)
            {
                yield return $"{doc}: container {name} has no resources.limits[\"nvidia.com/gpu\"]";
            }

            foreach (var probe in new[] { "readinessProbe", "startupProbe" })
            {
                if (c.Str(probe, "httpGet", "path") != "/readyz")
                {
                    yield return $"{doc}: container {name} {probe} must check /readyz (ready only once the model is loaded)";
                }
            }

            if (c.Str("livenessProbe", "httpGet", "path") != "/healthz")
            {
                yield return $"{doc}: container {name} livenessProbe must check /healthz";
            }
        }

        if (!spec.At("tolerations").Items().Any(t => t.Str("key") == "nvidia.com/gpu"))
        {
            yield return $"{doc}: does not tolerate the nvidia.com/gpu taint";
        }

        if (spec.At("nodeSelector") is null && spec.At("affinity", "nodeAffinity") is null)
        {
            yield return $"{doc}: has no nodeSelector or node affinity for the GPU pool";
        }

        var needed = Containers(spec).Select(c => NeededInferenceGraceSeconds(c.Node, finalFlushSeconds)).DefaultIfEmpty(0).Max();
        if (!int.TryParse(spec.Str("terminationGracePeriodSeconds"), out var grace) || grace < needed)
        {
            yield return $"{doc}: terminationGracePeriodSeconds must be at least {needed} (preStop, drain, final usage flush and a margin) so streams drain and usage is sent";
        }
    }

    /// <summary>Every Deployment is covered by a PodDisruptionBudget whose selector matches its pod labels.</summary>
    public static IEnumerable<string> DisruptionBudgets(IEnumerable<YamlDoc> docs)
    {
        var list = docs.ToList();
        var selectors = list.Where(d => d.Kind == "PodDisruptionBudget").Select(d => d.Root.At("spec", "selector", "matchLabels").Labels()).ToList();
        foreach (var deployment in list.Where(d => d.Kind == "Deployment"))
        {
            var labels = deployment.Root.At("spec", "template", "metadata", "labels").Labels();
            if (!selectors.Any(s => s.Count > 0 && s.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value)))
            {
                yield return $"{deployment}: no PodDisruptionBudget selects its pods";
            }
        }
    }

    /// <summary>A NetworkPolicy that selects every pod and allows nothing, for both directions.</summary>
    public static bool HasDefaultDeny(IEnumerable<YamlDoc> docs) =>
        docs.Where(d => d.Kind == "NetworkPolicy").Any(d =>
            d.Root.At("spec", "podSelector") is YamlMappingNode { Children.Count: 0 }
            && d.Root.At("spec", "policyTypes").Items().Select(t => t.AsString()).ToHashSet() is var types
            && types.Contains("Ingress") && types.Contains("Egress")
            && !d.Root.At("spec", "ingress").Items().Any()
            && !d.Root.At("spec", "egress").Items().Any());

    /// <summary>Null when the reference pins a tag or digest other than latest.</summary>
    public static string? ImageProblem(string image)
    {
        if (image.Contains('@'))
        {
            return null;
        }

        var lastSegment = image[(image.LastIndexOf('/') + 1)..];
        var colon = lastSegment.LastIndexOf(':');
        return colon < 0 ? $"uses image {image} without a tag"
            : lastSegment[(colon + 1)..] == "latest" ? $"uses image {image} (:latest)"
            : null;
    }

    private static IEnumerable<string> Resources(YamlDoc doc, string name, YamlNode c)
    {
        if (!c.At("resources", "requests").Entries().Any())
        {
            yield return $"{doc}: container {name} has no resource requests";
        }

        if (c.Str("resources", "limits", "memory") is null)
        {
            yield return $"{doc}: container {name} has no memory limit";
        }
    }
}
