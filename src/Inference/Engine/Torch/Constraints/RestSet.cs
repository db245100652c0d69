namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// Tokens that finish a rule part-way, keyed by the bytes after the rule's end: subtrees of tries whose paths below
/// the root are those bytes and whose ids are the tokens. A part is either a trie built from the tokens' remaining
/// bytes, or a subtree of the vocabulary's own trie when the rule ends right at one of its nodes (after a closing
/// quote, every token starting with that quote continues in the caller): that needs no copy however many tokens
/// it holds.
/// </summary>
internal sealed class RestSet(IReadOnlyList<(ByteTrie Trie, int Root)> parts)
{
    public IReadOnlyList<(ByteTrie Trie, int Root)> Parts { get; } = parts;

    public static RestSet? Of(List<(int Id, ReadOnlyMemory<byte> After)> rests, ByteTrie? vocabulary = null, List<int>? subtrees = null)
    {
        var parts = new List<(ByteTrie, int)>();
        if (rests.Count > 0)
        {
            parts.Add((ByteTrie.Build(rests), ByteTrie.Root));
        }

        foreach (var node in subtrees ?? [])
        {
            parts.Add((vocabulary!, node));
        }

        return parts.Count == 0 ? null : new RestSet(parts);
    }
}
