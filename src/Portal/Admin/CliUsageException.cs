namespace Lanes.Portal.Admin;

/// <summary>The operator asked for something the CLI cannot do as written: exit 2 with the usage, never a stack trace.</summary>
internal sealed class CliUsageException(string message) : Exception(message);
