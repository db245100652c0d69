using System.Diagnostics.Metrics;
using Lanes.Inference.LaneScheduling;

namespace Lanes.Inference.Metrics;

/// <summary>
/// The gateway's instruments (meter <c>Lanes.Gateway</c>), exported at <c>/metrics</c>. Labels are ids and
/// outcomes, never request content.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Lanes.Gateway";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _tokensPerSecond;
    private readonly Counter<double> _spend;
    private readonly Counter<long> _lanePromise;

    /// <summary>Each tenant's label, made once: the promise is counted on every request.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, string> _tenantLabels = new();

    public GatewayMetrics(IMeterFactory meters, LaneScheduler lanes, PlacementService placement, Auth.KeyDirectory keys, Infrastructure.GatewayNode node, Metering.UsageSpool spool, TimeProvider clock)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("lanes.gateway.requests", description: "Requests by outcome (ok or the refusal code)");
        _tokens = meter.CreateCounter<long>("lanes.gateway.tokens", description: "Tokens processed, by direction");
        _queueWait = meter.CreateHistogram<double>("lanes.gateway.queue_wait", "s", "Time a request waited for a lane");
        _timeToFirstToken = meter.CreateHistogram<double>("lanes.gateway.time_to_first_token", "s", "From arrival to the first generated token");
        _tokensPerSecond = meter.CreateHistogram<double>("lanes.gateway.tokens_per_second", "{token}/s", "Generation speed per request");
        meter.CreateObservableGauge("lanes.gateway.lanes_in_use", () => lanes.Occupancy()
            .Select(o => new Measurement<int>(o.InUse, new KeyValuePair<string, object?>("tenant", o.Tenant.ToString()))));
        _spend = meter.CreateCounter<double>("lanes.gateway.spend_usd", description: "Spend equivalent at list prices, by model (what budgets count; never billed)");
        _lanePromise = meter.CreateCounter<long>("lanes.lane_promise.requests",
            description: "Requests within their tenant's reservation, by whether they started within the plan's admission target (outcome honoured or missed)");
        meter.CreateObservableGauge("lanes.gateway.lanes_reserved", () => keys.Reservations(clock.GetUtcNow())
            .Select(r => new Measurement<int>(placement.ReservedHere(r.Tenant, r.Reserved), new KeyValuePair<string, object?>("tenant", r.Tenant.ToString()))));
        // The fleet as this gateway sees it, for its model pool (every gateway of a pool computes the same placement):
        // an alert on sold above live, or on any unplaced lane, says a pool has lost capacity that is sold
        // (infra/prometheus/lanes-alerts.yaml).
        var pool = new KeyValuePair<string, object?>("pool", node.Pool);
        meter.CreateObservableGauge("lanes.fleet.sold_lanes", () => new Measurement<int>(keys.Reservations(clock.GetUtcNow()).Sum(r => r.Reserved), pool),
            description: "Lanes reserved by every tenant in this gateway's model pool");
        meter.CreateObservableGauge("lanes.fleet.live_slots", () => new Measurement<int>(placement.LiveSlots, pool), description: "Engine slots of the pool's live gateways");
        meter.CreateObservableGauge("lanes.fleet.unplaced_lanes", () => new Measurement<int>(placement.Unplaced, pool), description: "Reserved lanes no live gateway of the pool has room for");
        // Usage waiting on this gateway's disk for billing: growing means billing is away and a kill would lose nothing,
        // but a full spool would (alert on its age and on its size against Gateway:Metering:MaxSpoolBytes).
        meter.CreateObservableGauge("lanes.usage.spool_batches", () => spool.Batches, description: "Usage batches spooled and not yet acknowledged by billing");
        meter.CreateObservableGauge("lanes.usage.spool_bytes", () => spool.Bytes, "By", "Size of the usage spool");
        meter.CreateObservableGauge("lanes.usage.spool_oldest_age", () => spool.OldestAge.TotalSeconds, "s", "Age of the oldest unacknowledged usage batch");
        meter.CreateObservableGauge("lanes.gateway.lane_queue_depth", () => lanes.Occupancy()
            .Select(o => new Measurement<int>(o.Queued, new KeyValuePair<string, object?>("tenant", o.Tenant.ToString()))));
    }

    public void Request(string outcome, string model) =>
        _requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("model", model));

    /// <summary>A request the lane promise covered: honoured (started within the admission target) or missed.</summary>
    public void LanePromise(Guid tenant, string model, Metering.LanePromise promise)
    {
        if (promise == Metering.LanePromise.NotCovered)
        {
            return;
        }

        _lanePromise.Add(1, new KeyValuePair<string, object?>("tenant", _tenantLabels.GetOrAdd(tenant, static t => t.ToString())), new KeyValuePair<string, object?>("model", model),
            new KeyValuePair<string, object?>("outcome", promise == Metering.LanePromise.Honoured ? "honoured" : "missed"));
    }

    public void Completed(string model, long inputTokens, long outputTokens, decimal spendUsd, TimeSpan queueWait, TimeSpan? firstToken, TimeSpan generation)
    {
        var m = new KeyValuePair<string, object?>("model", model);
        _spend.Add((double)spendUsd, m);
        _tokens.Add(inputTokens, m, new KeyValuePair<string, object?>("direction", "input"));
        _tokens.Add(outputTokens, m, new KeyValuePair<string, object?>("direction", "output"));
        _queueWait.Record(queueWait.TotalSeconds, m);
        if (firstToken is { } ttft)
        {
            _timeToFirstToken.Record(ttft.TotalSeconds, m);
        }

        if (generation > TimeSpan.Zero && outputTokens > 0)
        {
            _tokensPerSecond.Record(outputTokens / generation.TotalSeconds, m);
        }
    }
}
