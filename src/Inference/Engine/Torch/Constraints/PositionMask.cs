namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// What is known, for one node of one rule, about which tokens can be read there, whatever the stack below:
/// <list type="bullet">
/// <item>tokens read whole inside the rule (the rule may call others on the way): allowed wherever the node is
/// reached, kept as a bitset when there are many (<see cref="Dense"/>) and as ids otherwise (<see cref="Sparse"/>);</item>
/// <item>tokens that finish the rule part-way through (<see cref="Completing"/>): allowed only if what the caller
/// expects next reads the rest, so the rests are kept in tries, walked with the caller's stack (and cached per
/// caller, <see cref="RestCache"/>);</item>
/// <item>everything else: never allowed here.</item>
/// </list>
/// Tokens that the rule could end before (ending needs no byte) are not here: the matcher adds the caller's own
/// mask for that case.
/// </summary>
internal sealed class PositionMask(ulong[]? dense, ReadOnlyMemory<int> sparse, RestSet? completing)
{
    public static readonly PositionMask Nothing = new(null, ReadOnlyMemory<int>.Empty, null);

    public ulong[]? Dense { get; } = dense;

    public ReadOnlyMemory<int> Sparse { get; } = sparse;

    public RestSet? Completing { get; } = completing;

    public void AddTo(Span<ulong> mask)
    {
        if (Dense is not null)
        {
            TokenBits.Or(mask, Dense);
        }

        TokenBits.SetAll(mask, Sparse.Span);
    }

    public static PositionMask Of(int vocabularySize, List<int> allowed, RestSet? completing)
    {
        // A bitset costs vocabulary/8 bytes, a list 4 bytes an id: use whichever is smaller.
        var dense = allowed.Count * 32 > vocabularySize;
        return new PositionMask(dense ? TokenBits.FromIds(vocabularySize, allowed) : null, dense ? ReadOnlyMemory<int>.Empty : allowed.ToArray(), completing);
    }

    /// <summary>
    /// Computes the mask by walking the vocabulary trie from the node, depth first, carrying the set of parse stacks
    /// (bottom frame: this node); a subtree is pruned as soon as no stack can read its byte, so only the prefixes
    /// the grammar allows are visited.
    /// </summary>
    public static PositionMask Walk(Rule rule, int node, TokenVocabulary vocabulary)
    {
        var walk = new TrieWalk(vocabulary);
        walk.Run(new Frame(rule, node, null));
        return Of(vocabulary.Size, walk.Allowed, RestSet.Of(walk.Completing, vocabulary.Trie, walk.Subtrees));
    }

    private sealed class TrieWalk(TokenVocabulary vocabulary)
    {
        /// <summary>Past this many tokens under the node where the rule ends, the node's vocabulary subtree is kept
        /// as it is rather than copied into a trie of rests.</summary>
        private const int SubtreeTokens = 16;

        private readonly ByteTrie _trie = vocabulary.Trie;
        private readonly List<Frame>[] _stacks = Lists(vocabulary.Trie.MaxDepth + 2);
        private readonly List<Frame>[] _ready = Lists(vocabulary.Trie.MaxDepth + 2);

        // Depths at which the rule ended along the current path, whose rests are still to be collected one by one
        // (the others are kept as whole subtrees): the rest of a token from there is the caller's.
        private readonly List<int> _ends = [];

        public List<int> Allowed { get; } = [];

        public List<(int Id, ReadOnlyMemory<byte> After)> Completing { get; } = [];

        public List<int> Subtrees { get; } = [];

        public void Run(Frame start)
        {
            _stacks[0].Add(start);
            Visit(ByteTrie.Root, 0);
        }

        private void Visit(int node, int depth)
        {
            var stacks = _stacks[depth];
            if (depth > 0)
            {
                foreach (var id in _trie.Own(node))
                {
                    Allowed.Add(id);
                }
            }

            var ready = _ready[depth];
            ready.Clear();
            var ends = false;
            foreach (var stack in stacks)
            {
                Frame.Expand(stack, ready, ref ends);
            }

            // Ending before any byte is the caller's business (see the class summary).
            ends &= depth > 0;
            if (ends && _trie.Subtree(node).Length - _trie.Own(node).Length >= SubtreeTokens)
            {
                // Every token below this node may continue in the caller from here, including those the rule also
                // reads further: the walk at run time decides.
                Subtrees.Add(node);
                ends = false;
            }
            else if (ends)
            {
                _ends.Add(depth);
            }

            var readable = Frame.Readable(ready);
            for (var edge = _trie.ChildStart(node); edge < _trie.ChildEnd(node); edge++)
            {
                var b = _trie.ChildByte(edge);
                var child = _trie.ChildNode(edge);
                var next = _stacks[depth + 1];
                next.Clear();
                if (readable.Contains(b))
                {
                    Frame.Read(ready, b, next);
                }

                if (next.Count == 1 && IsPlain(next[0].Rule, next[0].Node))
                {
                    VisitPlain(child, depth + 1, next[0].Rule, next[0].Node, next[0].Parent);
                }
                else if (next.Count > 0)
                {
                    Visit(child, depth + 1);
                }
                else
                {
                    Dead(child);
                }
            }

            if (ends)
            {
                _ends.RemoveAt(_ends.Count - 1);
            }
        }

        /// <summary>
        /// The walk with one stack whose top node only reads bytes (no call, no end): stepping is a table lookup
        /// and allocates nothing (the inside of strings, literals, numbers, which most visited subtrees are). A
        /// frame is made again only where the node calls or may end.
        /// </summary>
        private void VisitPlain(int trieNode, int depth, Rule rule, int node, Frame? parent)
        {
            foreach (var id in _trie.Own(trieNode))
            {
                Allowed.Add(id);
            }

            var at = rule.Nodes[node];
            for (var edge = _trie.ChildStart(trieNode); edge < _trie.ChildEnd(trieNode); edge++)
            {
                var child = _trie.ChildNode(edge);
                var target = at.Next(_trie.ChildByte(edge));
                if (target < 0)
                {
                    Dead(child);
                }
                else if (IsPlain(rule, target))
                {
                    VisitPlain(child, depth + 1, rule, target, parent);
                }
                else
                {
                    var stacks = _stacks[depth + 1];
                    stacks.Clear();
                    stacks.Add(new Frame(rule, target, parent));
                    Visit(child, depth + 1);
                }
            }
        }

        private static bool IsPlain(Rule rule, int node) => rule.Nodes[node] is { Accepting: false, Calls.Length: 0 };

        /// <summary>No stack reads the subtree's first byte: its tokens can only be ones that ended the rule earlier
        /// on the path, with the caller reading the rest.</summary>
        private void Dead(int child)
        {
            if (_ends.Count == 0)
            {
                return;
            }

            foreach (var id in _trie.Subtree(child))
            {
                var bytes = vocabulary.Memory(id);
                foreach (var end in _ends)
                {
                    Completing.Add((id, bytes[end..]));
                }
            }
        }

        private static List<Frame>[] Lists(int count) => [.. Enumerable.Range(0, count).Select(_ => new List<Frame>())];
    }
}
