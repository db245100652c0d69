using Npgsql;

namespace Lanes.Billing.Payments;

/// <summary>
/// Serialises the syncing of one Stripe subscription across job workers and nodes: the holder reads Stripe and applies
/// what it read before the next may read. Note: without it, two webhook jobs could read Stripe in one order and apply
/// in the other, so a stale "active" would revive a subscription canceled a moment later until the nightly
/// reconciliation. A session-level advisory lock on a connection of its own, because it spans the Stripe call.
/// </summary>
public sealed class StripeSyncLock(NpgsqlDataSource dataSource)
{
    /// <summary>The first key of the two-key advisory lock ("STRP"), apart from every other lock Lanes takes.</summary>
    public const int Namespace = 0x53545250;

    public async Task<IAsyncDisposable> AcquireAsync(string subscriptionId, CancellationToken ct = default)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand("select pg_advisory_lock($1, $2)", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = Namespace });
            command.Parameters.Add(new NpgsqlParameter { Value = KeyOf(subscriptionId) });
            await command.ExecuteNonQueryAsync(ct);
            return new Held(connection, KeyOf(subscriptionId));
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A stable 32-bit key for the subscription (FNV-1a): the same in every process, unlike
    /// <see cref="string.GetHashCode()"/>. Two subscriptions sharing a key only wait for each other.</summary>
    public static int KeyOf(string subscriptionId)
    {
        var hash = 2166136261u;
        foreach (var c in subscriptionId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return unchecked((int)hash);
    }

    private sealed class Held(NpgsqlConnection connection, int key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand("select pg_advisory_unlock($1, $2)", connection);
                command.Parameters.Add(new NpgsqlParameter { Value = Namespace });
                command.Parameters.Add(new NpgsqlParameter { Value = key });
                await command.ExecuteNonQueryAsync();
            }
            finally
            {
                // Closing the connection releases the lock too, should the unlock itself fail.
                await connection.DisposeAsync();
            }
        }
    }
}
