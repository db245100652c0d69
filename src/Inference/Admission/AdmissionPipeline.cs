using Lanes.Billing.GatewayContract;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Usage;
using Lanes.Inference.Auth;
using Lanes.Inference.Budgets;
using Lanes.Inference.Engine;
using Lanes.Inference.LaneScheduling;
using Lanes.Inference.Metering;
using Lanes.Inference.Metrics;
using Lanes.Shared.Keys;
using Lanes.Shared.Plans;
using Lanes.Shared.Pricing;
using Lanes.Shared.Windows;
using Lanes.Inference.Api;

namespace Lanes.Inference.Admission;

/// <summary>
/// The data plane's decisions, in the order a request meets them: key, subscription, model, context, request
/// window, budget hold, lane. Everything here is in memory; nothing waits on the database.
/// </summary>
public sealed partial class AdmissionPipeline(
    KeyDirectory keys,
    BudgetLedger budgets,
    PlacementService placement,
    RequestWindows requestWindows,
    LaneScheduler lanes,
    IInferenceEngine engine,
    PriceTable prices,
    PlanCatalog plans,
    UsageMeter meter,
    GatewayMetrics metrics,
    RequestDrain drain,
    TimeProvider clock,
    ILogger<AdmissionPipeline> logger)
{
    public TimeProvider Clock => clock;

    private static readonly ApiRefusal MissingKey =
        ApiRefusal.Unauthorized("missing_api_key", "Send your Lanes API key as 'Authorization: Bearer <key>'.");

    private static readonly ApiRefusal UnknownKey =
        ApiRefusal.Unauthorized("invalid_api_key", "Incorrect API key. Create or copy one in the Lanes portal.");

    private static readonly ApiRefusal Paused = ApiRefusal.Forbidden(
        "subscription_paused", "Your organisation's subscription is paused, so its keys cannot run requests. Resume it in the Lanes portal.");

    private static readonly ApiRefusal Inactive = ApiRefusal.Forbidden(
        "subscription_inactive", "Your organisation has no active subscription, so its keys cannot run requests. Choose a plan in the Lanes portal.");

    private static readonly ApiRefusal ShuttingDown =
        ApiRefusal.Unavailable("shutting_down", "This gateway is shutting down; retry the request (another node will take it).");

    private static readonly ApiRefusal BudgetUnavailable =
        ApiRefusal.Unavailable("budget_unavailable", "The budget service is unreachable just now; retry in a moment.");

    /// <summary>Each tenant's prefix-cache scope, made once per tenant rather than once per request.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, string> _cacheScopes = new();

    private string CacheScopeOf(Guid tenant) => _cacheScopes.GetOrAdd(tenant, static id => id.ToString("N"));

    public Refusable<KeyStatus> Authenticate(string? authorization) => Authenticate(authorization, null);

    /// <summary>
    /// The key of a bearer token. With the connection's items, the token's hash is kept for the connection's next
    /// requests: an agent's keep-alive connection is hashed once (compared, not hashed again, while the header does not change). The key's state (revoked, expired, its tenant) is checked every time.
    /// </summary>
    public Refusable<KeyStatus> Authenticate(string? authorization, IDictionary<object, object?>? connection)
    {
        const string bearer = "Bearer ";
        if (authorization is null || !authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return MissingKey;
        }

        return AuthenticateSecret(authorization, bearer.Length, connection);
    }

    /// <summary>The key of the secret in <paramref name="header"/> from <paramref name="start"/> (a bearer token or
    /// Anthropic's <c>x-api-key</c>).</summary>
    public Refusable<KeyStatus> AuthenticateSecret(string header, int start, IDictionary<object, object?>? connection)
    {
        var now = clock.GetUtcNow();
        Span<char> hash = stackalloc char[ApiKeySecret.HashLength];
        if (connection?.TryGetValue(VerifiedHeader.Slot, out var kept) == true && kept is VerifiedHeader same && same.Start == start && string.Equals(same.Header, header, StringComparison.Ordinal))
        {
            same.Hash.CopyTo(hash);
        }
        else if (!keys.TryHash(header.AsSpan(start).Trim(), hash))
        {
            return UnknownKey;
        }
        else if (connection is not null)
        {
            connection[VerifiedHeader.Slot] = new VerifiedHeader(header, start, new string(hash));
        }

        if (keys.FindByHash(hash, now) is not { } key)
        {
            return UnknownKey;
        }

        if (key.State == KeyState.Revoked)
        {
            return ApiRefusal.Unauthorized("key_revoked", $"This API key was revoked{(key.RevokedFor is { } r ? $" ({Describe(r)})" : "")} on {key.RevokedAt:u}.");
        }

        if (key.ExpiresAt <= now)
        {
            return ApiRefusal.Unauthorized("key_expired", $"This API key expired at {key.ExpiresAt:u}.");
        }

        return key;
    }

    public Refusable<TenantReservation> LiveReservation(KeyStatus key) => keys.ReservationOf(key.TenantId) switch
    {
        { Status: SubscriptionStatus.Paused } => Paused,
        { IsLive: true } s => s,
        _ => Inactive,
    };

    /// <summary>The models this key may use: served by the engine, priced, in the plan and in the key's allow-list.</summary>
    public IReadOnlyList<EngineModel> ModelsFor(KeyStatus key)
    {
        var plan = keys.ReservationOf(key.TenantId) is { } t ? plans.Find(t.PlanId) : null;
        return engine.Models.Where(m => prices.Knows(m.Id) && key.AllowsModel(m.Id) && (plan?.Allows(m.Id) ?? true)).ToList();
    }

    /// <summary>More characters than any tokenizer packs into one token (long runs of spaces in code vocabularies
    /// reach a few dozen): prompts longer than context × this cannot fit.</summary>
    public const int MaxCharactersPerToken = 64;

    public Standing StandingOf(KeyStatus key)
    {
        var now = clock.GetUtcNow();
        var tenant = keys.ReservationOf(key.TenantId);
        var reserved = tenant?.ReservedLanesAt(now) ?? 0;
        var requestWindow = WindowSchedule.At(now, tenant?.WindowLength is { } w && w > TimeSpan.Zero ? w : PlanCatalog.DefaultWindow);
        return new Standing(
            budgets.View(key, now),
            lanes.View(key.TenantId, reserved),
            tenant?.RequestsPerWindow ?? 0,
            requestWindows.Used(key.TenantId, requestWindow),
            requestWindow);
    }

    /// <summary>What a request needs once checked: the tenant, the model, its price, the prompt and the room left
    /// in the context for the completion.</summary>
    private sealed record Resolved(TenantReservation Tenant, EngineModel Model, ModelPrice Price, EnginePrompt Prompt, int Room);

    /// <summary>What every door checks before anything is held: the subscription, the model (served, priced,
    /// allowed), the features the request needs, and the prompt tokenized within the context.</summary>
    private Refusable<Resolved> Resolve(KeyStatus key, GenerationCall call)
    {
        if (LiveReservation(key).IsRefused(out var inactive, out var tenant))
        {
            return inactive;
        }

        if (Served(call.Model) is not { } model)
        {
            return ApiRefusal.NotFound("model_not_found", $"The model '{call.Model}' does not exist here. GET /v1/models lists the models your key can use.", "model");
        }

        if (prices.Find(model.Id) is not { } price)
        {
            return ApiRefusal.NotFound("model_not_found", $"The model '{call.Model}' has no price configured, so it cannot be budgeted.", "model");
        }

        if (!key.AllowsModel(model.Id))
        {
            return ApiRefusal.Forbidden("model_not_allowed", $"This key may only use: {string.Join(", ", key.Models)}.", "model");
        }

        if (plans.Find(tenant.PlanId) is { } plan && !plan.Allows(model.Id))
        {
            return ApiRefusal.Forbidden("model_not_in_plan", $"The {plan.Name} plan does not include '{model.Id}'.", "model");
        }

        foreach (var (feature, param) in call.Needs)
        {
            if (!model.Features.HasFlag(feature))
            {
                return ApiRefusal.InvalidRequest(
                    $"'{param}' cannot be honoured: the engine serving '{model.Id}' does not support {Describe(feature)}.", param, "unsupported_parameter");
            }
        }

        // Note: a prompt too long to fit the context whatever the tokenizer does is refused before it is tokenized:
        // tokenizing megabytes costs seconds of CPU, and no token is shorter than one character.
        var promptParam = call.IsChat ? (call.Chat!.Tools.Count > 0 ? "tools" : "messages") : "prompt";
        var characters = call.PromptCharacters;
        if (characters > (long)model.ContextTokens * MaxCharactersPerToken)
        {
            return ApiRefusal.InvalidRequest(
                $"The prompt is {characters:N0} characters; '{model.Id}' takes at most {model.ContextTokens} tokens of prompt and completion together.",
                promptParam, "context_length_exceeded");
        }

        EnginePrompt prompt;
        try
        {
            prompt = call.IsChat ? engine.PrepareChat(model.Id, call.Chat!) : engine.PrepareCompletion(model.Id, call.Prompt!);
        }
        catch (EngineRequestInvalid invalid)
        {
            return ApiRefusal.FromEngine(invalid);
        }

        var room = model.ContextTokens - prompt.PromptTokens;
        if (room < 1)
        {
            return ApiRefusal.InvalidRequest(
                $"The prompt{(promptParam == "tools" ? " with its tool definitions" : "")} is {prompt.PromptTokens} tokens; '{model.Id}' takes at most {model.ContextTokens} tokens of prompt and completion together.",
                promptParam, "context_length_exceeded");
        }

        return new Resolved(tenant, model, price, prompt, room);
    }

    private EngineModel? Served(string id)
    {
        foreach (var model in engine.Models)
        {
            if (model.Id == id)
            {
                return model;
            }
        }

        return null;
    }

    /// <summary>The prompt a request would run, checked like an admission but holding nothing (token counting).</summary>
    public Refusable<EnginePrompt> Prepare(KeyStatus key, GenerationCall call) =>
        Resolve(key, call).IsRefused(out var refusal, out var resolved) ? refusal : resolved.Prompt;

    public IInferenceEngine Engine => engine;

    /// <summary>Admits a request: checked, counted against the tenant's requests per window, its worst case held
    /// from the key's budget, and a lane granted; or the refusal, with everything taken given back.</summary>
    public async ValueTask<Refusable<Admission>> AdmitAsync(KeyStatus key, GenerationCall call, CancellationToken ct)
    {
        var arrived = clock.GetUtcNow();
        if (drain.Stopping)
        {
            return ShuttingDown;
        }

        if (Resolve(key, call).IsRefused(out var unfit, out var resolved))
        {
            return unfit;
        }

        var (tenant, model, price, prompt, room) = resolved;

        // A missing max_tokens is capped by what is left of the model's context: that is the worst case held.
        var maxTokens = Math.Min(call.MaxTokens ?? room, room);
        var worstCase = PriceTable.Spend(price, prompt.PromptTokens, maxTokens);

        var requestWindow = WindowSchedule.At(arrived, tenant.WindowLength > TimeSpan.Zero ? tenant.WindowLength : PlanCatalog.DefaultWindow);
        long? counted;
        try
        {
            counted = await requestWindows.TryCountAsync(key.TenantId, requestWindow, tenant.RequestsPerWindow, ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            Log.BudgetUnavailable(logger, "request window", (clock.GetUtcNow() - arrived).TotalMilliseconds);
            return BudgetUnavailable;
        }

        if (counted is null)
        {
            return Refuse(key, model.Id, ApiRefusal.TooMany("request_window_exhausted",
                $"Your organisation used its {tenant.RequestsPerWindow:N0} requests for this window; the window resets at {requestWindow.End:u}.",
                requestWindow.Remaining(arrived)), arrived, call.Door);
        }

        Hold? hold;
        BudgetView view;
        try
        {
            (hold, view) = await budgets.TryHoldAsync(key, worstCase, arrived, ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or OperationCanceledException)
        {
            requestWindows.Refund(key.TenantId, requestWindow);
            if (e is OperationCanceledException && ct.IsCancellationRequested)
            {
                throw;
            }

            // Note: without a lease from PostgreSQL the gateway cannot prove the request fits the budget, so it
            // refuses rather than risk overspending; keys with leased budget left keep working meanwhile.
            Log.BudgetUnavailable(logger, "budget", (clock.GetUtcNow() - arrived).TotalMilliseconds);
            return BudgetUnavailable;
        }

        if (hold is null)
        {
            // A refused request does not use up the organisation's requests for the window.
            requestWindows.Refund(key.TenantId, requestWindow);
            return Refuse(key, model.Id, ApiRefusal.TooMany("budget_exhausted",
                $"This key's budget of ${view.LimitUsd:0.00####} for the window is spent (${view.SpentUsd:0.00####} used, ${view.HeldUsd:0.00####} held by running requests; " +
                $"this request needs up to ${worstCase:0.00####}). It resets at {view.Window.End:u}.",
                view.Window.Remaining(arrived)), arrived, call.Door);
        }

        var admitted = false;
        try
        {
            // With several gateways, each holds its placed share of the tenant's reservation (docs/scale-out.md).
            var reservedInPool = keys.ReservedInPool(tenant, arrived);
            var (lease, refusal, within) = await lanes.AcquireAsync(
                key.TenantId, placement.ReservedHere(key.TenantId, reservedInPool), placement.ReservedByAllHere(keys.TotalReservedLanes), ct,
                new FleetStanding(reservedInPool, placement.RunningElsewhere(key.TenantId)));
            if (lease is null)
            {
                return Refuse(key, model.Id, ApiRefusal.TooMany(refusal!.Code, refusal.Message, TimeSpan.FromSeconds(1)), arrived, call.Door,
                    within ? LanePromise.Missed : LanePromise.NotCovered);
            }

            admitted = true;
            var queueWait = clock.GetUtcNow() - arrived;
            var target = (plans.Find(tenant.PlanId)?.Slo ?? Lanes.Shared.Plans.LaneSlo.Default).AdmissionTarget;
            drain.Enter();
            return new Admission
            {
                Key = key,
                Tenant = tenant,
                Prompt = prompt,
                Sampling = new Sampling(maxTokens, call.Temperature, call.TopP, null, call.Seed, call.Stop) { Streamed = call.Stream, CacheScope = CacheScopeOf(key.TenantId) },
                Price = price,
                Hold = hold!,
                Lease = lease,
                ArrivedAt = arrived,
                QueueWait = queueWait,
                Door = call.Door,
                Promise = !within ? LanePromise.NotCovered : queueWait <= target ? LanePromise.Honoured : LanePromise.Missed,
                // Read just after the grant, so it includes this request; what runs elsewhere is a moment old.
                LanesInUse = lanes.View(key.TenantId, 0).InUse + placement.RunningElsewhere(key.TenantId),
            };
        }
        finally
        {
            if (!admitted)
            {
                // Queue full, timed out or the client left: the money held and the request counted go back at once.
                budgets.Settle(hold!, 0m);
                requestWindows.Refund(key.TenantId, requestWindow);
            }
        }
    }

    /// <summary>The request ended: the hold settles at what it cost (prompt tokens the engine served from its prefix
    /// cache, <paramref name="cachedPromptTokens"/> of <paramref name="promptTokens"/>, at the cached-input rate), and
    /// the lane, the meter and the metrics are told. Only the first call for an admission counts.</summary>
    /// <remarks>Note: the APIs call this as soon as the engine has finished, before the answer's last bytes go out, so
    /// a client that sends its next request the moment it has read the answer finds the hold settled and the lane free
    /// (an agent loop would otherwise see its budget still held by the turn it has just read).</remarks>
    public void Complete(Admission a, long promptTokens, long cachedPromptTokens, long outputTokens, TimeSpan? firstToken, TimeSpan generation, string outcome)
    {
        if (!a.TryComplete())
        {
            return;
        }

        // Note: the hold is the most a request may cost; an engine that reports more than was held (an upstream
        // whose tokenizer disagrees with the estimate) is settled at the hold, never above the budget.
        var cost = Math.Min(PriceTable.Spend(a.Price, promptTokens, cachedPromptTokens, outputTokens), a.Hold.AmountUsd);
        budgets.Settle(a.Hold, cost);
        a.Lease.ServedTokens = promptTokens + outputTokens;
        a.Lease.Dispose();
        meter.Record(new Metered(a.Key.TenantId, a.Key.Id, a.Prompt.Model, a.Hold.WindowStart, a.ArrivedAt, promptTokens, outputTokens, cost, Refused: null, a.QueueWait, generation, a.Door, a.Promise, a.LanesInUse));
        metrics.LanePromise(a.Key.TenantId, a.Prompt.Model, a.Promise);
        metrics.Request(outcome, a.Prompt.Model);
        metrics.Completed(a.Prompt.Model, promptTokens, outputTokens, cost, a.QueueWait, firstToken, generation);

        // Last: a shutdown waiting on the drain flushes only once this request's usage is in the meter.
        drain.Leave();
    }

    private ApiRefusal Refuse(KeyStatus key, string model, ApiRefusal error, DateTimeOffset at, Lanes.Billing.Usage.ApiDoor door, LanePromise promise = LanePromise.NotCovered)
    {
        var cause = error.Code switch
        {
            "budget_exhausted" => RefusalCause.Budget,
            "request_window_exhausted" => RefusalCause.Requests,
            _ => RefusalCause.Lanes,
        };
        meter.Record(new Metered(key.TenantId, key.Id, model, WindowSchedule.At(at, key.WindowLength).Start, at, 0, 0, 0m, cause, Door: door, Promise: promise));
        metrics.Request(error.Code, model);
        metrics.LanePromise(key.TenantId, model, promise);
        return error;
    }

    private static string Describe(EngineFeatures feature) => feature switch
    {
        EngineFeatures.Tools => "tool calling",
        EngineFeatures.StructuredOutputs => "structured outputs",
        EngineFeatures.Penalties => "presence or frequency penalties and logit bias",
        EngineFeatures.Logprobs => "log probabilities",
        EngineFeatures.Vision => "images",
        _ => feature.ToString(),
    };

    private static string Describe(RevocationReason reason) => reason switch
    {
        RevocationReason.User => "by your organisation",
        RevocationReason.Staff => "by Lanes support",
        RevocationReason.SubscriptionEnded => "the subscription ended",
        RevocationReason.Expired => "it expired",
        _ => reason.ToString(),
    };

    /// <summary>Why a request got 503 <c>budget_unavailable</c> and how long after it arrived (the lease call's own
    /// wait is logged by <see cref="LeaseCircuit"/>): nothing about the request itself.</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = 4311, Level = LogLevel.Debug,
            Message = "A request was refused (budget_unavailable) {ElapsedMs:0} ms after it arrived: its {Account} lease could not be asked for")]
        public static partial void BudgetUnavailable(ILogger logger, string account, double elapsedMs);
    }
}

/// <summary>A connection's last authentication header and its secret's keyed hash (never the secret alone).</summary>
internal sealed record VerifiedHeader(string Header, int Start, string Hash)
{
    public static readonly object Slot = new();
}
