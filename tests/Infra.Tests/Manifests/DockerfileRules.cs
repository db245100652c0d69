using System.Text.RegularExpressions;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>The Dockerfiles cannot be built here (no Docker): check the lines that decide how the image behaves.</summary>
public static partial class DockerfileRules
{
    public static IEnumerable<string> Violations(string file, string text)
    {
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        if (froms.Count < 2)
        {
            yield return $"{file}: not multi-stage (build with the SDK, run on a runtime image)";
        }

        foreach (var from in froms)
        {
            var image = from.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            if (WorkloadRules.ImageProblem(image) is { } problem)
            {
                yield return $"{file}: {problem}";
            }
        }

        if (!lines.Any(l => l.Contains("dotnet publish", StringComparison.Ordinal) && l.Contains("-c Release", StringComparison.Ordinal)))
        {
            yield return $"{file}: no `dotnet publish -c Release` (Blazor static assets exist only in publish output)";
        }

        var user = lines.LastOrDefault(l => l.StartsWith("USER ", StringComparison.Ordinal));
        if (user is null || user is "USER root" or "USER 0")
        {
            yield return $"{file}: the final stage does not switch to a non-root USER";
        }

        if (!lines.Any(l => l.StartsWith("HEALTHCHECK", StringComparison.Ordinal)) || !text.Contains("/healthz", StringComparison.Ordinal))
        {
            yield return $"{file}: no HEALTHCHECK on /healthz";
        }

        foreach (Match env in EnvName().Matches(text))
        {
            if (SecretRules.LooksSecret(env.Groups[1].Value))
            {
                yield return $"{file}: bakes {env.Groups[1].Value} into the image";
            }
        }
    }

    [GeneratedRegex(@"(?:^ENV\s+|\\\s*\n\s+)([A-Za-z_][A-Za-z0-9_]*)=", RegexOptions.Multiline)]
    private static partial Regex EnvName();
}
