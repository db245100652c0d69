using Npgsql;

namespace Lanes.Billing.Infrastructure;

/// <summary>Positional-parameter commands ($1, $2, …) for the tables billing writes without Marten.</summary>
internal static class Sql
{
    /// <summary>A command of a batch, its parameters in order.</summary>
    public static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        AddParameters(command.Parameters, values);
        return command;
    }

    public static void AddParameters(NpgsqlParameterCollection parameters, params object[] values)
    {
        foreach (var value in values)
        {
            parameters.AddWithValue(value);
        }
    }
}
