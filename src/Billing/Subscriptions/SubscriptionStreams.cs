using System.Security.Cryptography;
using System.Text;

namespace Lanes.Billing.Subscriptions;

/// <summary>Each tenant has exactly one subscription stream, whose id is derived from the tenant id so that
/// nothing has to be looked up before writing to it.</summary>
public static class SubscriptionStreams
{
    public static Guid For(Guid tenantId)
    {
        Span<byte> input = stackalloc byte[16 + 13];
        tenantId.TryWriteBytes(input);
        Encoding.ASCII.GetBytes("subscription:", input[16..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5-style, name based
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16]);
    }
}
