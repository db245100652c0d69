using JasperFx;
using Npgsql;

namespace Lanes.Billing.Infrastructure;

/// <summary>Recognises the database telling us a row already exists (unique key or primary key violation).</summary>
internal static class Conflicts
{
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
