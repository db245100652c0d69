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
public sealed class IdempotencyFilter(TimeProvider clock, Microsoft.Extensions.Options.IOptions<Lanes.Billing.Keys.KeyOptions> keys) : IEndpointFilter
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
        var seal = new ResponseSeal(keys.Value.PepperBytes(), caller, key);
        var record = new IdempotencyRecord { TenantId = caller.TenantId, Key = seal.StoredKey, RequestHash = hash, CreatedAt = clock.GetUtcNow() };
        key = seal.StoredKey;
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
                return new StoredResponse(first, seal);
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
                record.Body = seal.Seal(buffer.ToArray());
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

    private sealed class StoredResponse(IdempotencyRecord record, ResponseSeal seal) : IResult
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

            if (record.Body is { Length: > 0 } sealedBody)
            {
                await http.Response.Body.WriteAsync(seal.Open(sealedBody), http.RequestAborted);
            }
        }
    }

    /// <summary>
    /// Note: a stored response can hold a new key's secret (create, rotate). It is kept sealed (AES-GCM) under a key
    /// derived from the server pepper, the calling client and its Idempotency-Key, and only a hash of the client and
    /// key is stored, so the database alone cannot reveal a secret, and another client of the same tenant that
    /// happens to send the same Idempotency-Key gets its own request run, never the first client's response.
    /// </summary>
    private sealed class ResponseSeal
    {
        private readonly byte[] _key;

        public ResponseSeal(byte[] pepper, ManagementCaller caller, string idempotencyKey)
        {
            var scoped = $"{caller.ClientId}\n{idempotencyKey}";
            StoredKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(scoped)));
            _key = HMACSHA256.HashData(pepper, Encoding.UTF8.GetBytes($"lanes:idempotency:{caller.TenantId:N}:{scoped}"));
        }

        public string StoredKey { get; }

        public byte[] Seal(byte[] plain)
        {
            var sealedBytes = new byte[12 + 16 + plain.Length];
            RandomNumberGenerator.Fill(sealedBytes.AsSpan(0, 12));
            using var aes = new AesGcm(_key, 16);
            aes.Encrypt(sealedBytes.AsSpan(0, 12), plain, sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16));
            return sealedBytes;
        }

        public byte[] Open(byte[] sealedBytes)
        {
            var plain = new byte[sealedBytes.Length - 28];
            using var aes = new AesGcm(_key, 16);
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(28), sealedBytes.AsSpan(12, 16), plain);
            return plain;
        }
    }
}
