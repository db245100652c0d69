using Xunit.Abstractions;

namespace Lanes.ScaleOut.Tests.Faults;

/// <summary>
/// The fault suite's results table: one row per pass criterion of a scenario, with what was measured. Written to the
/// test's output, and appended to <c>LANES_FAULT_REPORT</c> (<c>./lanes test</c> sets it and prints the table at the end).
/// </summary>
public sealed class FaultReport(ITestOutputHelper output, string scenario)
{
    public const string Header = "| scenario | criterion | measured | result |\n|---|---|---|---|";

    private readonly List<string> _failures = [];

    public void Row(string criterion, string measured, bool passed)
    {
        var line = $"| {scenario} | {criterion} | {measured} | {(passed ? "pass" : "FAIL")} |";
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("LANES_FAULT_REPORT") is { Length: > 0 } path)
        {
            lock (Header)
            {
                File.AppendAllText(path, line + "\n");
            }
        }

        if (!passed)
        {
            _failures.Add($"{criterion}: {measured}");
        }
    }

    /// <summary>Fails the test with every criterion that was missed (after all rows are written).</summary>
    public void AssertAllPassed() => Assert.True(_failures.Count == 0, $"{scenario}: " + string.Join("; ", _failures));
}
