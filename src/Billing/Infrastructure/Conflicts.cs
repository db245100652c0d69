using JasperFx;
using Npgsql;

namespace Lanes.Billing.Infrastructure;

/// <summary>Recognises the database telling us a row already exists (unique key or primary key violation).</summary>
internal static class Conflicts
{
    /// <summary>Another writer got there first (a stream's version moved, or PostgreSQL broke a deadlock by aborting
    /// us): reading again and deciding again is safe.</summary>
    public static bool IsRetryable(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is ConcurrencyException || x is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure })
            {
                return true;
            }
        }

        return false;
    }

    public static bool IsUniqueViolation(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is DocumentAlreadyExistsException || x is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                return true;
            }
        }

        return false;
    }
}
