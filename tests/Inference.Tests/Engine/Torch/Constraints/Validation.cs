using Json.Schema;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

/// <summary>The independent check of outputs: JsonSchema.Net.</summary>
public static class Validation
{
    /// <summary>A validator for <paramref name="schema"/>. Each gets a base URI of its own: JsonSchema.Net keeps
    /// schemas in a process-wide registry and refuses to register a different one under a URI already used.</summary>
    public static JsonSchema Validator(string schema) => JsonSchema.FromText(schema, baseUri: new Uri($"https://lanes.test/{Guid.NewGuid():N}"));
}
