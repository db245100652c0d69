namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// A tokenizer's vocabulary as grammars see it: the bytes each token id decodes to, and a trie over those bytes
/// that mask computations walk. Built once per tokenizer; grammars keep their per-vocabulary mask caches keyed by
/// this object, so build it once and share it. Tokens with no bytes (special tokens, unused ids) are never allowed
/// inside a constraint.
/// </summary>
public sealed class TokenVocabulary
{
    private readonly byte[][] _bytes;

    private TokenVocabulary(byte[][] bytes)
    {
        _bytes = bytes;
        Trie = ByteTrie.Build([.. bytes.Select((b, id) => (id, (ReadOnlyMemory<byte>)b))]);
        // Every JSON constraint reads strings: classify the tokens now rather than on some request's first step.
        Strings = new JsonStringScan(this);
    }

    /// <summary>The number of token ids (the width of a mask in bits).</summary>
    public int Size => _bytes.Length;

    /// <summary>The length of a mask in 64-bit words: (Size + 63) / 64.</summary>
    public int MaskWords => TokenBits.Words(Size);

    internal ByteTrie Trie { get; }

    /// <summary>How every token reads inside a JSON string.</summary>
    internal JsonStringScan Strings { get; }

    /// <param name="tokenBytes">For each id, the UTF-8 bytes the token decodes to; empty for special and unused ids.</param>
    public static TokenVocabulary Build(IReadOnlyList<byte[]> tokenBytes)
    {
        ArgumentNullException.ThrowIfNull(tokenBytes);
        return new TokenVocabulary([.. tokenBytes.Select(b => b is null ? [] : b.ToArray())]);
    }

    public ReadOnlySpan<byte> Bytes(int id) => (uint)id < (uint)_bytes.Length ? _bytes[id] : [];

    internal ReadOnlyMemory<byte> Memory(int id) => _bytes[id];
}
