using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>
/// Note: secrets reach the pods only by reference (secretKeyRef, envFrom.secretRef, ExternalSecret) and compose only
/// by interpolation; a value committed to this repository would be a leaked credential.
/// </summary>
public static partial class SecretRules
{
    /// <summary>A setting name that holds a secret: its last segment mentions one, unless it only says where one is.</summary>
    public static bool LooksSecret(string name)
    {
        var last = name.Split("__")[^1].ToUpperInvariant();
        return SecretWord().IsMatch(last) && !NotASecret().IsMatch(last);
    }

    public static IEnumerable<string> Kubernetes(YamlDoc doc)
    {
        if (doc.Kind == "Secret" && (doc.Root.At("data") is not null || doc.Root.At("stringData") is not null))
        {
            yield return $"{doc}: a Secret with literal data; reference it instead (secretKeyRef, ExternalSecret)";
        }

        foreach (var env in EnvEntries(doc.Root))
        {
            var name = env.Str("name") ?? "";
            var value = env.Str("value");
            if (value is null)
            {
                continue;
            }

            if (LooksSecret(name))
            {
                yield return $"{doc}: env {name} has a literal value; use valueFrom.secretKeyRef";
            }

            if (LiteralPassword().IsMatch(value))
            {
                yield return $"{doc}: env {name} carries a literal password; expand it from a secret with $(VAR)";
            }
        }
    }

    /// <summary>compose.yaml: every secret-looking variable and every connection-string password is one ${VAR} interpolation.</summary>
    public static IEnumerable<string> Compose(string file, YamlMappingNode compose)
    {
        var blocks = compose.At("services").Entries().Select(s => (s.Key, s.Value.At("environment")))
            .Concat(compose.Entries().Where(e => e.Key.StartsWith("x-", StringComparison.Ordinal)).Select(e => (e.Key, (YamlNode?)e.Value)));
        foreach (var (owner, env) in blocks)
        {
            foreach (var (name, value) in ComposeVariables(env))
            {
                if (LooksSecret(name) && !string.IsNullOrEmpty(value) && !OneInterpolation().IsMatch(value))
                {
                    yield return $"{file}: {owner} sets {name} to a literal; interpolate it (${{VAR:?}}) from the env file";
                }

                if (value is not null && ComposeLiteralPassword().IsMatch(value))
                {
                    yield return $"{file}: {owner} {name} carries a literal password; interpolate it";
                }
            }
        }
    }

    private static IEnumerable<(string Name, string? Value)> ComposeVariables(YamlNode? env) => env switch
    {
        YamlMappingNode map => map.Entries().Where(e => e.Key != "<<").Select(e => (e.Key, e.Value.AsString())),
        YamlSequenceNode seq => seq.Children.Select(i => i.AsString() ?? "").Select(s => s.Split('=', 2) is [var n, var v] ? (n, (string?)v) : (s, null)),
        _ => [],
    };

    /// <summary>env entries of every container in the document, wherever the pod spec sits.</summary>
    private static IEnumerable<YamlNode> EnvEntries(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.SelectMany(e =>
            e.Key is YamlScalarNode { Value: "env" } && e.Value is YamlSequenceNode seq ? seq.Children : EnvEntries(e.Value)),
        YamlSequenceNode seq => seq.Children.SelectMany(EnvEntries),
        _ => [],
    };

    [GeneratedRegex("PASSWORD|SECRET|PEPPER|KEY|TOKEN")]
    private static partial Regex SecretWord();

    [GeneratedRegex("(PATH|URL|FILE|ID|NAME)$")]
    private static partial Regex NotASecret();

    [GeneratedRegex(@"Password=(?!\$\()[^;]+", RegexOptions.IgnoreCase)]
    private static partial Regex LiteralPassword();

    [GeneratedRegex(@"Password=(?!\$\{)[^;]+", RegexOptions.IgnoreCase)]
    private static partial Regex ComposeLiteralPassword();

    [GeneratedRegex(@"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}$")]
    private static partial Regex OneInterpolation();
}
