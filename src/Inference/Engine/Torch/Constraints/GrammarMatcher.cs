namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// Follows one sequence through a grammar: at each decoding step <see cref="FillMask"/> says which token ids may
/// come next, and <see cref="Accept"/> records the one that was chosen. Not thread-safe: one per sequence, used
/// from the engine's loop.
/// <para>
/// A mask is the union, over the live parse stacks, of each stack top's precomputed <see cref="PositionMask"/>
/// (a bitset copy inside strings, a short id list elsewhere), plus the few tokens that finish the top rule and
/// continue in its caller, checked by walking their remaining bytes with the caller's stack. Where the top rule
/// may end without reading more, the caller's own mask is added the same way.
/// </para>
/// </summary>
public sealed class GrammarMatcher
{
    private readonly TokenVocabulary _vocabulary;
    private readonly int[] _endTokens;
    private List<Frame> _stacks;
    private List<Frame> _one = [];
    private List<Frame> _two = [];
    private readonly List<Frame> _seen = [];
    private readonly List<Frame> _ready = [];
    private readonly List<List<Frame>> _walkStacks = [];
    private readonly List<List<Frame>> _walkReady = [];
    private readonly List<int> _restIds = [];
    private readonly RestCache _rests;
    private readonly Func<RestSet, Frame, int[]> _walkRests;
    private bool _ended;

    /// <param name="endTokens">The tokens that end generation (EOS, end of turn): allowed once the grammar is complete.</param>
    public GrammarMatcher(Grammar grammar, TokenVocabulary vocabulary, IReadOnlyList<int> endTokens)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(endTokens);
        _vocabulary = vocabulary;
        _endTokens = [.. endTokens.Where(t => (uint)t < (uint)vocabulary.Size)];
        _stacks = [new Frame(grammar.Root, 0, null)];
        _rests = grammar.Rests;
        _walkRests = WalkRests;
        IsComplete = Frame.CanEnd(_stacks);
    }

    /// <summary>A whole value (and any suffix) has been produced: an end token may come next.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>An end token has been accepted; nothing but end tokens is allowed any more.</summary>
    public bool IsTerminated => _ended;

    /// <summary>Sets bit <c>id</c> (word <c>id / 64</c>, bit <c>id % 64</c>) for every token allowed next and clears
    /// the rest. End tokens are allowed only once <see cref="IsComplete"/>; then tokens that could still extend
    /// the value (more digits of a top-level number) stay allowed too.</summary>
    public void FillMask(Span<ulong> allowed)
    {
        if (allowed.Length != _vocabulary.MaskWords)
        {
            throw new ArgumentException($"The mask needs {_vocabulary.MaskWords} words for {_vocabulary.Size} tokens.", nameof(allowed));
        }

        allowed.Clear();
        if (!_ended)
        {
            _seen.Clear();
            foreach (var stack in _stacks)
            {
                AddStack(stack, allowed);
            }
        }

        foreach (var end in _endTokens)
        {
            allowed[end >> 6] &= ~(1UL << (end & 63));
        }

        if (IsComplete)
        {
            foreach (var end in _endTokens)
            {
                TokenBits.Set(allowed, end);
            }
        }
    }

    /// <summary>Advances past <paramref name="tokenId"/>; false (and nothing changes) if it is not allowed.</summary>
    public bool Accept(int tokenId)
    {
        if (System.Array.IndexOf(_endTokens, tokenId) >= 0)
        {
            if (!IsComplete)
            {
                return false;
            }

            _ended = true;
            return true;
        }

        if (_ended || !Read(_vocabulary.Bytes(tokenId), commit: true))
        {
            return false;
        }

        IsComplete = Frame.CanEnd(_stacks);
        return true;
    }

    /// <summary>Whether <see cref="Accept"/> would take <paramref name="tokenId"/>, by reading its bytes through
    /// the grammar (the slow way; <see cref="FillMask"/> answers for all tokens at once).</summary>
    public bool CanAccept(int tokenId) =>
        System.Array.IndexOf(_endTokens, tokenId) >= 0 ? IsComplete : !_ended && Read(_vocabulary.Bytes(tokenId), commit: false);

    private bool Read(ReadOnlySpan<byte> bytes, bool commit)
    {
        if (bytes.IsEmpty)
        {
            return false;
        }

        var current = _stacks;
        foreach (var b in bytes)
        {
            _ready.Clear();
            var ends = false;
            foreach (var stack in current)
            {
                Frame.Expand(stack, _ready, ref ends);
            }

            var next = ReferenceEquals(current, _one) ? _two : _one;
            next.Clear();
            Frame.Read(_ready, b, next);
            if (next.Count == 0)
            {
                return false;
            }

            current = next;
        }

        if (commit)
        {
            // The lists swap roles so that accepting a token allocates no list.
            var old = _stacks;
            _stacks = current;
            if (ReferenceEquals(current, _one))
            {
                _one = old;
            }
            else
            {
                _two = old;
            }
        }

        return true;
    }

    private void AddStack(Frame top, Span<ulong> allowed)
    {
        for (Frame? frame = top; frame is not null; frame = frame.Parent)
        {
            if (Frame.Contains(_seen, frame))
            {
                return;
            }

            _seen.Add(frame);
            var mask = frame.Rule.MaskAt(frame.Node, _vocabulary);
            mask.AddTo(allowed);
            if (mask.Completing is { } rests && frame.Parent is { } caller)
            {
                TokenBits.SetAll(allowed, _rests.GetOrAdd(rests, caller, _walkRests));
            }

            if (!frame.At.Accepting)
            {
                return;
            }
        }
    }

    /// <summary>The tokens whose bytes after the top rule's end the caller's stack can read.</summary>
    private int[] WalkRests(RestSet rests, Frame caller)
    {
        _restIds.Clear();
        foreach (var (trie, root) in rests.Parts)
        {
            WalkList(_walkStacks, 0).Add(caller);
            VisitRest(trie, root, 0);
        }

        return [.. _restIds.Distinct()];
    }

    private void VisitRest(ByteTrie rests, int node, int depth)
    {
        var stacks = _walkStacks[depth];
        if (depth > 0)
        {
            _restIds.AddRange(rests.Own(node));
        }

        var ready = WalkList(_walkReady, depth);
        var ends = false;
        foreach (var stack in stacks)
        {
            Frame.Expand(stack, ready, ref ends);
        }

        var readable = Frame.Readable(ready);
        for (var edge = rests.ChildStart(node); edge < rests.ChildEnd(node); edge++)
        {
            var b = rests.ChildByte(edge);
            if (!readable.Contains(b))
            {
                continue;
            }

            var next = WalkList(_walkStacks, depth + 1);
            Frame.Read(ready, b, next);
            if (next.Count > 0)
            {
                VisitRest(rests, rests.ChildNode(edge), depth + 1);
            }
        }
    }

    private static List<Frame> WalkList(List<List<Frame>> lists, int depth)
    {
        while (lists.Count <= depth)
        {
            lists.Add([]);
        }

        lists[depth].Clear();
        return lists[depth];
    }
}
