using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Identity;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Lanes.Portal.Api.Idempotency;

/// <summary>A request body that takes part in the idempotency hash.</summary>
public interface IApiRequest;

/// <summary>Marks an endpoint that honours <c>Idempotency-Key</c> (read by the OpenAPI document).</summary>
public sealed record IdempotentWrite;

/// <summary>
/// <c>Idempotency-Key</c> on management writes: the first request with a key runs and its response is stored; a
/// retry with the same key and body gets that response again (with <c>Idempotent-Replayed: true</c>); the same key
/// with another body is 422; while the first is still running, 409. Business refusals are stored like successes
/// (the same request would be refused again); a server error frees the key for a retry.
/// </summary>
public sealed class IdempotencyFilter(TimeProvider clock) : IEndpointFilter
{
    public const string Header = "Idempotency-Key";
    public const int MaxKeyLength = 255;

    /// <summary>A request that has held its key this long without finishing died with its process.</summary>
    private static readonly TimeSpan Abandoned = TimeSpan.FromMinutes(2);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var key = http.Request.Headers[Header].ToString();
        if (key.Length == 0)
        {
            return await next(context);
        }

        if (key.Length > MaxKeyLength)
        {
            return ApiProblems.Invalid("invalid_idempotency_key", $"An {Header} is at most {MaxKeyLength} characters.");
        }

        var caller = ManagementCaller.Of(http);
        var hash = HashOf(http, context.Arguments.OfType<IApiRequest>());
        var store = http.RequestServices.GetRequiredService<IdentityStore>();
        var record = new IdempotencyRecord { TenantId = caller.TenantId, Key = key, RequestHash = hash, CreatedAt = clock.GetUtcNow() };
        if (!await TryClaimAsync(store, record, http.RequestAborted))
        {
            var first = await store.IdempotencyRecords.AsNoTracking().SingleAsync(r => r.TenantId == caller.TenantId && r.Key == key, http.RequestAborted);
            if (first.RequestHash != hash)
            {
                return Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, type: "idempotency_key_reused",
                    title: $"This {Header} was used for a different request; use a new key for a new request.");
            }

            if (first.CompletedAt is not null)
            {
                return new StoredResponse(first);
            }

            if (clock.GetUtcNow() - first.CreatedAt < Abandoned || !await TryTakeOverAsync(store, first, record, http.RequestAborted))
            {
                http.Response.Headers.RetryAfter = "1";
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, type: "idempotency_in_progress",
                    title: $"A request with this {Header} is still running; retry shortly to get its response.");
            }
        }

        var completed = false;
        try
        {
            object? outcome;
            try
            {
                outcome = await next(context);
            }
            catch (Exception e) when (ApiProblems.TryFrom(e, out var problem))
            {
                outcome = problem;
            }

            var result = outcome as IResult ?? Results.Ok(outcome);
            var original = http.Response.Body;
            using var buffer = new MemoryStream();
            http.Response.Body = buffer;
            try
            {
                await result.ExecuteAsync(http);
            }
            finally
            {
                http.Response.Body = original;
            }

            if (http.Response.StatusCode < 500)
            {
                record.StatusCode = http.Response.StatusCode;
                record.ContentType = http.Response.ContentType;
                record.Location = http.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null;
                record.Body = buffer.ToArray();
                record.CompletedAt = clock.GetUtcNow();
                // Note: not the request's token: the key was created, so its response must be stored even if the
                // caller hung up.
                await store.SaveChangesAsync(CancellationToken.None);
                completed = true;
            }

            buffer.Position = 0;
            await buffer.CopyToAsync(original, http.RequestAborted);
            return Results.Empty;
        }
        finally
        {
            if (!completed)
            {
                store.IdempotencyRecords.Remove(record);
                await store.SaveChangesAsync(CancellationToken.None);
            }
        }
    }

    private static async Task<bool> TryClaimAsync(IdentityStore store, IdempotencyRecord record, CancellationToken ct)
    {
        store.IdempotencyRecords.Add(record);
        try
        {
            await store.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            store.ChangeTracker.Clear();
            return false;
        }
    }

    /// <summary>Replaces an abandoned claim; only one of several retries wins the delete.</summary>
    private static async Task<bool> TryTakeOverAsync(IdentityStore store, IdempotencyRecord abandoned, IdempotencyRecord record, CancellationToken ct)
    {
        var deleted = await store.IdempotencyRecords
            .Where(r => r.TenantId == abandoned.TenantId && r.Key == abandoned.Key && r.CompletedAt == null && r.CreatedAt == abandoned.CreatedAt)
            .ExecuteDeleteAsync(ct);
        return deleted == 1 && await TryClaimAsync(store, record, ct);
    }

    private static string HashOf(HttpContext http, IEnumerable<IApiRequest> bodies)
    {
        var text = new StringBuilder($"{http.Request.Method} {http.Request.Path}");
        foreach (var body in bodies)
        {
            text.Append('\n').Append(JsonSerializer.Serialize(body, body.GetType()));
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private sealed class StoredResponse(IdempotencyRecord record) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = record.StatusCode;
            http.Response.Headers["Idempotent-Replayed"] = "true";
            if (record.ContentType is not null)
            {
                http.Response.ContentType = record.ContentType;
            }

            if (record.Location is not null)
            {
                http.Response.Headers.Location = record.Location;
            }

            if (record.Body is { Length: > 0 } body)
            {
                await http.Response.Body.WriteAsync(body, http.RequestAborted);
            }
        }
    }
}
