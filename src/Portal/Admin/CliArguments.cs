namespace Lanes.Portal.Admin;

/// <summary>"--name value" options and "--flag" switches after a command's words.</summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public CliArguments(IReadOnlyList<string> args)
    {
        var words = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                words.Add(arg);
                continue;
            }

            var name = arg[2..];
            if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                _options[name] = args[++i];
            }
            else
            {
                _flags.Add(name);
            }
        }

        Words = words;
    }

    public IReadOnlyList<string> Words { get; }

    public bool Json => _flags.Contains("json");

    public bool Has(string flag) => _flags.Contains(flag);

    public string? Optional(string name) => _options.GetValueOrDefault(name);

    /// <summary>A password: from standard input with <c>--password-stdin</c>, else from the environment variable.
    /// Note: never from the command line, which every user of the machine can read (<c>ps</c>, /proc).</summary>
    public string Secret(string name, string environmentVariable)
    {
        if (_options.ContainsKey(name))
        {
            throw new CliUsageException($"--{name} on the command line is visible to every user of this machine; pass it in {environmentVariable} or on standard input with --password-stdin.");
        }

        var secret = Has("password-stdin") ? Console.In.ReadLine() : Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrWhiteSpace(secret)
            ? throw new CliUsageException($"a password is required: set {environmentVariable} or pass --password-stdin and write it to standard input.")
            : secret;
    }

    public string Required(string name) =>
        _options.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new CliUsageException($"--{name} is required.");
}

internal sealed class CliUsageException(string message) : Exception(message);
