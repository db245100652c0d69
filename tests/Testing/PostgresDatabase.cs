using Npgsql;
using Xunit;

namespace Lanes.Testing;

/// <summary>
/// A fresh PostgreSQL database for one test class (or collection), created on the server that <c>./lanes test</c>
/// starts and dropped afterwards, so tests run in parallel without sharing state.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public const string ServerVariable = "LANES_TEST_POSTGRES";

    private readonly string _server;

    /// <summary>A database on the shared test server (the constructor xUnit uses for fixtures).</summary>
    public PostgresDatabase()
        : this(null)
    {
    }

    /// <summary>A database on <paramref name="server"/>, a server of the test's own (<see cref="PrivatePostgres"/>), or
    /// on the shared one when null.</summary>
    public static PostgresDatabase On(string? server) => new(server);

    private PostgresDatabase(string? server)
    {
        _server = server ?? Environment.GetEnvironmentVariable(ServerVariable)
            ?? throw new InvalidOperationException($"{ServerVariable} is not set: run the tests with ./lanes test, which starts PostgreSQL.");
        Name = $"lanes_test_{Guid.NewGuid():N}";
        ConnectionString = new NpgsqlConnectionStringBuilder(_server) { Database = Name, MaxPoolSize = 30 }.ConnectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public async Task InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"create database \"{Name}\"", connection);
        await create.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"drop database if exists \"{Name}\" with (force)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
