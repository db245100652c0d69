namespace Lanes.Portal.Admin;

/// <summary>What a command runs with: the services of a host on the portal's database, and who is acting.</summary>
internal sealed record OperatorContext(IServiceProvider Services, string By)
{
    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();
}
