using YamlDotNet.RepresentationModel;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>One parsed YAML document and the file it came from (relative to the repository root).</summary>
public sealed record YamlDoc(string File, YamlMappingNode Root)
{
    public string? Kind => Root.Str("kind");

    public string? Name => Root.At("metadata", "name").AsString();

    public override string ToString() => $"{File}: {Kind} {Name}";
}

/// <summary>Navigation over YamlDotNet's representation model that answers null instead of throwing.</summary>
public static class Yaml
{
    public static IReadOnlyList<YamlDoc> Parse(string file, string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return [.. stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().Select(root => new YamlDoc(file, root))];
    }

    public static YamlNode? At(this YamlNode? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out node))
            {
                return null;
            }
        }

        return node;
    }

    public static string? Str(this YamlNode? node, params string[] path) => node.At(path).AsString();

    public static string? AsString(this YamlNode? node) => (node as YamlScalarNode)?.Value;

    public static IEnumerable<YamlNode> Items(this YamlNode? node) =>
        node is YamlSequenceNode seq ? seq.Children : [];

    public static IEnumerable<KeyValuePair<string, YamlNode>> Entries(this YamlNode? node) =>
        node is YamlMappingNode map
            ? map.Children.Where(e => e.Key is YamlScalarNode).Select(e => KeyValuePair.Create(((YamlScalarNode)e.Key).Value ?? "", e.Value))
            : [];

    /// <summary>A mapping's scalar entries as a dictionary (labels, matchLabels).</summary>
    public static Dictionary<string, string> Labels(this YamlNode? node) =>
        node.Entries().Where(e => e.Value is YamlScalarNode).ToDictionary(e => e.Key, e => e.Value.AsString() ?? "");
}
