namespace Lanes.Infra.Tests.Manifests;

/// <summary>The checkout's infra/ folder, read from disk: the tests check what would be deployed, not a copy.</summary>
public static class InfraTree
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string InfraRoot => Path.Combine(RepositoryRoot, "infra");

    public static IEnumerable<string> Files(params string[] extensions) =>
        Directory.EnumerateFiles(InfraRoot, "*", SearchOption.AllDirectories)
            .Where(f => extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);

    public static IEnumerable<string> YamlFiles() => Files(".yaml", ".yml");

    public static string Relative(string path) => Path.GetRelativePath(RepositoryRoot, path).Replace('\\', '/');

    public static IReadOnlyList<YamlDoc> Load(string path) => Yaml.Parse(Relative(path), File.ReadAllText(path));

    /// <summary>Every Kubernetes object under infra/ (documents with apiVersion and kind), patches included.</summary>
    public static IReadOnlyList<YamlDoc> KubernetesDocuments() =>
        [.. YamlFiles().SelectMany(Load).Where(d => d.Root.Str("apiVersion") is not null && d.Kind is not null && d.Kind != "Kustomization")];

    /// <summary>Files that some kustomization applies as a patch: partial objects, checked only for what they add.</summary>
    public static IReadOnlySet<string> PatchFiles() =>
        YamlFiles().Where(f => Path.GetFileName(f) == "kustomization.yaml")
            .SelectMany(k => KustomizationRules.PatchPaths(Load(k).Single().Root)
                .Select(p => Relative(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(k)!, p)))))
            .ToHashSet();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Portal.sln")) && Directory.Exists(Path.Combine(dir.FullName, "infra")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Portal.sln with an infra/ folder above {AppContext.BaseDirectory}.");
    }
}
