using System.Text.RegularExpressions;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>
/// The Prometheus series the gateway exports, derived from its instrument declarations the way OpenTelemetry's
/// Prometheus exporter names them (dots to underscores, unit suffix, _total/_bucket/_sum/_count).
/// </summary>
public static partial class MetricNames
{
    public static IReadOnlySet<string> FromSource(string csharp)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Instrument().Matches(csharp))
        {
            var baseName = m.Groups["name"].Value.Replace('.', '_');
            var unit = UnitSuffix(m.Groups["unit"].Success ? m.Groups["unit"].Value : "");
            var full = unit.Length == 0 || baseName.EndsWith(unit, StringComparison.Ordinal) ? baseName : $"{baseName}_{unit}";
            foreach (var suffix in new[] { "", "_total", "_bucket", "_sum", "_count" })
            {
                names.Add(full + suffix);
            }
        }

        return names;
    }

    /// <summary>Every lanes_* series a PromQL expression names.</summary>
    public static IEnumerable<string> Referenced(string promQl) =>
        SeriesName().Matches(promQl).Select(m => m.Value).Distinct();

    private static string UnitSuffix(string unit)
    {
        var plain = Annotation().Replace(unit, "");
        return plain switch
        {
            "" => "",
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            _ when plain.StartsWith('/') => "per_" + UnitSuffix(plain[1..]).TrimEnd('s'),
            _ => plain,
        };
    }

    [GeneratedRegex("""Create(?:Counter|Histogram|UpDownCounter|Gauge|ObservableGauge|ObservableCounter|ObservableUpDownCounter)(?:<\w+>)?\(\s*"(?<name>[^"]+)"(?:\s*,\s*"(?<unit>[^"]*)")?""")]
    private static partial Regex Instrument();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Annotation();

    [GeneratedRegex(@"\blanes_[a-z0-9_]+")]
    private static partial Regex SeriesName();
}
