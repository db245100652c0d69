using YamlDotNet.RepresentationModel;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>A kustomization that names a missing file fails only at apply time; this finds it at test time.</summary>
public static class KustomizationRules
{
    public static IEnumerable<string> PatchPaths(YamlMappingNode k) =>
        k.At("patches").Items().Select(p => p.Str("path")).OfType<string>()
            .Concat(k.At("patchesStrategicMerge").Items().Select(p => p.AsString()).OfType<string>());

    public static IEnumerable<string> MissingReferences(string file, YamlMappingNode k, string directory)
    {
        var referenced = new List<(string Field, string Path, bool MayBeDirectory)>();
        referenced.AddRange(k.At("resources").Items().Select(r => ("resources", r.AsString() ?? "", true)));
        referenced.AddRange(k.At("components").Items().Select(r => ("components", r.AsString() ?? "", true)));
        referenced.AddRange(PatchPaths(k).Select(p => ("patches", p, false)));
        foreach (var generator in new[] { "configMapGenerator", "secretGenerator" })
        {
            referenced.AddRange(k.At(generator).Items().SelectMany(g => g.At("files").Items())
                .Select(f => f.AsString() ?? "").Select(f => (generator, f.Contains('=') ? f[(f.IndexOf('=') + 1)..] : f, false)));
        }

        foreach (var (field, path, mayBeDirectory) in referenced)
        {
            if (path.Contains("://", StringComparison.Ordinal))
            {
                continue;
            }

            var full = Path.GetFullPath(Path.Combine(directory, path));
            var exists = File.Exists(full) || (mayBeDirectory && File.Exists(Path.Combine(full, "kustomization.yaml")));
            if (!exists)
            {
                yield return $"{file}: {field} names {path}, which does not exist";
            }
        }
    }
}
