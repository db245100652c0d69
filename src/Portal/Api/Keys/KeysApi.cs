using System.Text.Json.Serialization;
using Lanes.Billing.Keys;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Api.Idempotency;
using Lanes.Shared.Windows;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Lanes.Portal.Api.Keys;

/// <summary>A new key: the budget per window and the window default to the tenant's plan.</summary>
public sealed record CreateKeyRequest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("budget_usd")] decimal? BudgetUsd = null,
    [property: JsonPropertyName("window")] string? Window = null,
    [property: JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt = null,
    [property: JsonPropertyName("models")] IReadOnlyList<string>? Models = null) : IApiRequest;

public sealed record UpdateKeyRequest([property: JsonPropertyName("budget_usd")] decimal BudgetUsd) : IApiRequest;

/// <summary>How long the old secret keeps working; empty: the deployment's default (24 h).</summary>
public sealed record RotateKeyRequest([property: JsonPropertyName("grace_seconds")] int? GraceSeconds = null) : IApiRequest;

public sealed record KeyWindowView(
    [property: JsonPropertyName("start")] DateTimeOffset Start,
    [property: JsonPropertyName("end")] DateTimeOffset End,
    [property: JsonPropertyName("spent_usd")] decimal SpentUsd,
    [property: JsonPropertyName("remaining_usd")] decimal RemainingUsd,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("input_tokens")] long InputTokens,
    [property: JsonPropertyName("output_tokens")] long OutputTokens,
    [property: JsonPropertyName("throttled")] long Throttled);

/// <summary>An API key as the management API shows it: never its secret or hash.</summary>
public sealed record KeyView(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("budget_usd")] decimal BudgetUsd,
    [property: JsonPropertyName("window")] string Window,
    [property: JsonPropertyName("window_seconds")] long WindowSeconds,
    [property: JsonPropertyName("models")] IReadOnlyList<string> Models,
    [property: JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("created_by")] string CreatedBy,
    [property: JsonPropertyName("last_used_at")] DateTimeOffset? LastUsedAt,
    [property: JsonPropertyName("revoked_at")] DateTimeOffset? RevokedAt,
    [property: JsonPropertyName("previous_secret_valid_until")] DateTimeOffset? PreviousSecretValidUntil,
    [property: JsonPropertyName("current_window")] KeyWindowView CurrentWindow)
{
    public static KeyView Of(ApiKey k, DateTimeOffset now) => new(
        k.Id, k.Name, k.Prefix,
        k.State == KeyState.Revoked ? "revoked" : k.ExpiresAt <= now ? "expired" : "active",
        k.BudgetUsd, WindowSchedule.Format(k.WindowLength), (long)k.WindowLength.TotalSeconds, k.Models, k.ExpiresAt,
        k.CreatedAt, k.CreatedBy, k.LastUsedAt, k.RevokedAt, k.PreviousSecretValidUntil > now ? k.PreviousSecretValidUntil : null,
        new KeyWindowView(k.WindowStart, k.WindowEnd, k.WindowSpentUsd, k.RemainingUsd, k.WindowRequests, k.WindowInputTokens, k.WindowOutputTokens, k.WindowThrottled));
}

/// <summary>A key with its secret: returned once, by create and rotate.</summary>
public sealed record KeyWithSecret(
    [property: JsonPropertyName("key")] KeyView Key,
    [property: JsonPropertyName("secret")] string Secret);

/// <summary><c>/api/v1/keys</c>: a tenant's API keys, scoped to the token's tenant (another tenant's key is 404).</summary>
public static class KeysApi
{
    public static void MapKeysApi(this RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").WithTags("Keys");

        keys.MapGet("", ListAsync).WithName("ListKeys").RequireScope(ManagementScopes.KeysRead)
            .WithSummary("List API keys").WithDescription("Newest first; pass next_cursor back as cursor for the next page.");
        keys.MapGet("/{id:guid}", GetAsync).WithName("GetKey").RequireScope(ManagementScopes.KeysRead)
            .WithSummary("Get an API key");
        keys.MapPost("", CreateAsync).WithName("CreateKey").RequireScope(ManagementScopes.KeysWrite).Idempotent()
            .WithSummary("Create an API key").WithDescription("The secret is in this response only. Budget and window default to the plan's.");
        keys.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateKey").RequireScope(ManagementScopes.KeysWrite).Idempotent()
            .WithSummary("Change a key's budget per window");
        keys.MapPost("/{id:guid}/rotate", RotateAsync).WithName("RotateKey").RequireScope(ManagementScopes.KeysWrite).Idempotent()
            .WithSummary("Rotate a key's secret").WithDescription("The new secret is in this response only; the old one keeps working for the grace period.");
        keys.MapPost("/{id:guid}/revoke", RevokeAsync).WithName("RevokeKey").RequireScope(ManagementScopes.KeysWrite).Idempotent()
            .WithSummary("Revoke a key").WithDescription("Requests with it stop within seconds. Revoking cannot be undone.");
    }

    private static async Task<Results<Ok<Page<KeyView>>, ProblemHttpResult, ValidationProblem>> ListAsync(
        HttpContext http, KeyService keys, TimeProvider clock, [FromQuery] string? limit = null, [FromQuery] string? cursor = null)
    {
        var query = new QueryParameters();
        var size = query.Integer(limit, "limit");
        if (!query.Valid)
        {
            return query.Problem();
        }

        if (!Paging.TryRead(size, cursor, out var take, out var skip))
        {
            return TypedResults.Problem(statusCode: 400, type: "invalid_page", title: $"limit is 1-{Paging.MaxLimit}; cursor is a next_cursor from a previous page.");
        }

        var page = await keys.PageAsync(ManagementCaller.Of(http).TenantId, skip, take, http.RequestAborted);
        var now = clock.GetUtcNow();
        var more = page.Count > take;
        return TypedResults.Ok(new Page<KeyView>([.. page.Take(take).Select(k => KeyView.Of(k, now))], more, more ? Paging.CursorAt(skip + take) : null));
    }

    private static async Task<Ok<KeyView>> GetAsync(Guid id, HttpContext http, KeyService keys, TimeProvider clock) =>
        TypedResults.Ok(KeyView.Of(await FindAsync(keys, http, id), clock.GetUtcNow()));

    private static async Task<Results<Created<KeyWithSecret>, ProblemHttpResult>> CreateAsync(
        CreateKeyRequest request, HttpContext http, KeyService keys, TimeProvider clock)
    {
        TimeSpan? window = null;
        if (request.Window is not null)
        {
            if (!WindowSchedule.TryParseLength(request.Window, out var length))
            {
                return TypedResults.Problem(statusCode: 400, type: "invalid_window", title: "window is a length such as 8h, 30m or 1d (1 minute to 31 days).");
            }

            window = length;
        }

        var caller = ManagementCaller.Of(http);
        var issued = await keys.IssueAsync(caller.TenantId,
            new KeyRequest(request.Name ?? "", request.BudgetUsd, window, request.ExpiresAt, request.Models), caller.Actor, http.RequestAborted);
        return TypedResults.Created($"/api/v1/keys/{issued.Key.Id}", new KeyWithSecret(KeyView.Of(issued.Key, clock.GetUtcNow()), issued.Secret));
    }

    private static async Task<Ok<KeyView>> UpdateAsync(Guid id, UpdateKeyRequest request, HttpContext http, KeyService keys, TimeProvider clock)
    {
        var caller = ManagementCaller.Of(http);
        await FindAsync(keys, http, id);
        var key = await keys.ChangeBudgetAsync(caller.TenantId, id, request.BudgetUsd, caller.Actor, http.RequestAborted);
        return TypedResults.Ok(KeyView.Of(key, clock.GetUtcNow()));
    }

    private static async Task<Ok<KeyWithSecret>> RotateAsync(Guid id, HttpContext http, KeyService keys, TimeProvider clock, RotateKeyRequest? request = null)
    {
        var caller = ManagementCaller.Of(http);
        await FindAsync(keys, http, id);
        TimeSpan? grace = request?.GraceSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
        var issued = await keys.RotateAsync(caller.TenantId, id, caller.Actor, grace, http.RequestAborted);
        return TypedResults.Ok(new KeyWithSecret(KeyView.Of(issued.Key, clock.GetUtcNow()), issued.Secret));
    }

    private static async Task<Ok<KeyView>> RevokeAsync(Guid id, HttpContext http, KeyService keys, TimeProvider clock)
    {
        var caller = ManagementCaller.Of(http);
        await FindAsync(keys, http, id);
        var key = await keys.RevokeAsync(caller.TenantId, id, RevocationReason.User, caller.Actor, http.RequestAborted);
        return TypedResults.Ok(KeyView.Of(key, clock.GetUtcNow()));
    }

    /// <summary>The caller's key; another tenant's key id is not found, exactly like one that never existed.</summary>
    private static async Task<ApiKey> FindAsync(KeyService keys, HttpContext http, Guid id) =>
        await keys.FindAsync(ManagementCaller.Of(http).TenantId, id, http.RequestAborted) ?? throw new Lanes.Billing.NotFound("API key");
}
