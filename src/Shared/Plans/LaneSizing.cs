namespace Lanes.Shared.Plans;

/// <summary>A typical request: its prompt, its answer, and how fast one lane reads and writes tokens.</summary>
public sealed record RequestShape(int InputTokens, int OutputTokens, double OutputTokensPerSecond, double PromptTokensPerSecond)
{
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (InputTokens is < 0 or > 1_000_000 || OutputTokens is < 1 or > 1_000_000)
        {
            errors.Add("A request has 0 to 1,000,000 prompt tokens and 1 to 1,000,000 output tokens.");
        }

        if (OutputTokensPerSecond is <= 0 or > 10_000 || PromptTokensPerSecond is <= 0 or > 1_000_000)
        {
            errors.Add("Token speeds are positive (output up to 10,000/s, prompt up to 1,000,000/s).");
        }

        return errors;
    }

    public TimeSpan Duration => TimeSpan.FromSeconds(InputTokens / PromptTokensPerSecond + OutputTokens / OutputTokensPerSecond);
}

/// <summary>What a number of lanes carries per hour for a request shape, and whether a plan's request limit caps it first.</summary>
public sealed record LaneThroughput(int Lanes, double RequestsPerHour, double InputTokensPerHour, double OutputTokensPerHour, double? PlanRequestsPerHour)
{
    /// <summary>True when the plan's requests per window, spread over the window, are fewer than the lanes could run.</summary>
    public bool CappedByRequests => PlanRequestsPerHour is { } cap && cap < RequestsPerHour;
}

public static class LaneSizing
{
    /// <summary>Every lane busy all the time: each runs one request after another.</summary>
    public static LaneThroughput Estimate(int lanes, RequestShape shape, PlanTier? plan = null)
    {
        var perLanePerHour = 3600 / Math.Max(shape.Duration.TotalSeconds, 0.001);
        var requests = lanes * perLanePerHour;
        double? cap = plan is null ? null : plan.RequestsPerWindow / plan.WindowLength.TotalHours;
        return new LaneThroughput(lanes, requests, requests * shape.InputTokens, requests * shape.OutputTokens, cap);
    }

}
