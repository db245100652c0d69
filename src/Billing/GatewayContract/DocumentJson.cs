using Marten;

namespace Lanes.Billing.GatewayContract;

/// <summary>Billing's documents as JSON, written the way billing stores them: what a gateway keeps on its own disk
/// (the key snapshot) reads back into the same records.</summary>
public sealed class DocumentJson(IDocumentStore store)
{
    private readonly ISerializer _serializer = store.Options.Serializer();

    public string Write<T>(T value) => _serializer.ToJson(value);

    public T Read<T>(Stream json) => _serializer.FromJson<T>(json);
}
