using Lanes.Inference.Engine.Torch.Constraints;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

/// <summary>Vocabularies the constraint tests share (building one and its masks is the slow part).</summary>
public static class TestVocabularies
{
    /// <summary>One token per byte value (ids 0-255), then two end tokens with no bytes (256, 257): every string
    /// is spelt one byte at a time, so the allowed bytes at each step are exactly the grammar's.</summary>
    public static readonly TokenVocabulary Bytes = TokenVocabulary.Build([.. Enumerable.Range(0, 256).Select(b => new[] { (byte)b }), [], []]);

    public static readonly int[] ByteEnds = [256, 257];

    /// <summary>A synthetic BPE-like vocabulary of 6,000 byte tokens and 16 special ids.</summary>
    public static readonly SyntheticVocabulary SmallSource = SyntheticVocabulary.Build(6_000, 6_016, seed: 11);

    public static readonly TokenVocabulary Small = TokenVocabulary.Build(SmallSource.Tokens);
}
