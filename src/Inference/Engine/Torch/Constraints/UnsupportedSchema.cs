namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// A JSON Schema that cannot be compiled into a grammar that guarantees valid output: a keyword the compiler does
/// not honour, a $ref it cannot resolve, a schema no value satisfies. <see cref="Path"/> says where, as the dotted
/// keywords from the schema's root (e.g. <c>properties.age.type</c>), so the gateway can return it as a 400.
/// </summary>
public sealed class UnsupportedSchema(string message, string path) : Exception(message)
{
    public string Path { get; } = path;
}
