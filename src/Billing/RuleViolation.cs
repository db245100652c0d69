namespace Lanes.Billing;

/// <summary>A command refused by a business rule. <see cref="Code"/> is stable (for APIs and scripts);
/// the message says which rule applied, in words a customer or operator understands.</summary>
public sealed class RuleViolation(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>The resource a command names does not exist (for the caller's tenant).</summary>
public sealed class NotFound(string what) : Exception($"{what} was not found.");
