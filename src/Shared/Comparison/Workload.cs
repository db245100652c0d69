using Lanes.Shared.Plans;

namespace Lanes.Shared.Comparison;

/// <summary>A workload as a customer describes it to the calculator: how many requests a day, how big, how many at
/// once at the busiest moment, and how fast one lane writes tokens. The one set of inputs every figure comes from.</summary>
public sealed record Workload(long RequestsPerDay, int InputTokensPerRequest, int OutputTokensPerRequest, int PeakConcurrentRequests, double OutputTokensPerSecond)
{
    /// <summary>Prompt processing is much faster than generation; 20× the output speed is a conservative CPU/GPU middle.</summary>
    public const double PromptSpeedup = 20;

    public static Workload Typical { get; } = new(RequestsPerDay: 5_000, InputTokensPerRequest: 1_500, OutputTokensPerRequest: 300, PeakConcurrentRequests: 4, OutputTokensPerSecond: 40);

    public RequestShape Shape => new(InputTokensPerRequest, OutputTokensPerRequest, OutputTokensPerSecond, Math.Max(1, OutputTokensPerSecond * PromptSpeedup));

    /// <summary>Thirty days of this workload's tokens.</summary>
    public (long Input, long Output) MonthlyTokens => (RequestsPerDay * 30 * InputTokensPerRequest, RequestsPerDay * 30 * OutputTokensPerRequest);

    /// <summary>What is wrong with the workload, each problem under the property it concerns (so a form can put it on
    /// that field); empty when every figure is in range.</summary>
    public IReadOnlyList<(string Field, string Message)> Problems()
    {
        var problems = new List<(string, string)>();
        if (RequestsPerDay is < 0 or > 100_000_000)
        {
            problems.Add((nameof(RequestsPerDay), "Requests per day are between 0 and 100,000,000."));
        }

        if (PeakConcurrentRequests is < 1 or > 100_000)
        {
            problems.Add((nameof(PeakConcurrentRequests), "Requests at once at the busiest moment are between 1 and 100,000."));
        }

        if (OutputTokensPerSecond is <= 0 or > 10_000 || !double.IsFinite(OutputTokensPerSecond))
        {
            problems.Add((nameof(OutputTokensPerSecond), "Output tokens per second are above 0 and up to 10,000."));
        }

        if (InputTokensPerRequest is < 0 or > 1_000_000)
        {
            problems.Add((nameof(InputTokensPerRequest), "Prompt tokens per request are between 0 and 1,000,000."));
        }

        if (OutputTokensPerRequest is < 1 or > 1_000_000)
        {
            problems.Add((nameof(OutputTokensPerRequest), "Output tokens per request are between 1 and 1,000,000."));
        }

        return problems;
    }
}

/// <summary>What stops a plan from carrying a workload, if anything.</summary>
public enum PlanFit
{
    /// <summary>The plan runs every request, and the busiest moment fits in its lanes.</summary>
    Carries,

    /// <summary>The plan runs every request over the day, but at the busiest moment some wait for a lane.</summary>
    QueuesAtPeak,

    /// <summary>The plan's requests per window allow fewer requests a day than the workload sends: the rest get 429.</summary>
    TooFewRequests,

    /// <summary>Even busy all day, the plan's lanes cannot run that many requests of that size.</summary>
    TooFewLanes,
}

/// <summary>One plan judged against one workload: whether it carries it, and what it allows.</summary>
public sealed record PlanVerdict(PlanTier Plan, PlanFit Fit, double RequestsPerDayAllowed, double RequestsPerDayLanesRun)
{
    /// <summary>True when the plan runs the whole workload (possibly with waits at the peak): only then does
    /// comparing its price with a per-token bill mean anything.</summary>
    public bool Carries => Fit is PlanFit.Carries or PlanFit.QueuesAtPeak;

    public static PlanVerdict For(PlanTier plan, Workload workload)
    {
        var allowed = plan.RequestsPerDay;
        var lanesRun = LaneSizing.Estimate(plan.ReservedLanes, workload.Shape).RequestsPerHour * 24;
        var fit = workload.RequestsPerDay > allowed ? PlanFit.TooFewRequests
            : workload.RequestsPerDay > lanesRun ? PlanFit.TooFewLanes
            : workload.PeakConcurrentRequests > plan.ReservedLanes ? PlanFit.QueuesAtPeak
            : PlanFit.Carries;
        return new PlanVerdict(plan, fit, allowed, lanesRun);
    }
}
