namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// One frame of a parse stack: a node of a rule, with the frame to return to once that rule has read a whole value.
/// Stacks are immutable linked lists sharing their tails, so a nondeterministic parse (anyOf alternatives that
/// start alike) is a small set of stacks. Equality is structural, so equal stacks reached two ways merge.
/// </summary>
internal sealed class Frame : IEquatable<Frame>
{
    /// <summary>Beyond this many live stacks the extras are dropped: the matcher then allows fewer spellings, never
    /// an invalid one, and a pathological schema cannot blow up a decoding step.</summary>
    public const int MaxStacks = 64;

    private readonly int _hash;

    public Frame(Rule rule, int node, Frame? parent)
    {
        Rule = rule;
        Node = node;
        Parent = parent;
        _hash = HashCode.Combine(rule.Id, node, parent?._hash ?? 0);
    }

    public Rule Rule { get; }

    public int Node { get; }

    /// <summary>Where the caller continues once <see cref="Rule"/> ends; null at the bottom of the stack.</summary>
    public Frame? Parent { get; }

    public RuleNode At => Rule.Nodes[Node];

    /// <summary>
    /// Adds to <paramref name="ready"/> every frame the next byte can be read in: this one if its node reads bytes,
    /// the start of every rule its node calls (with the return pushed), and, where this rule may end here, whatever
    /// the parent can read. <paramref name="bottomEnds"/> is set when the bottom frame's rule may end here.
    /// </summary>
    public static void Expand(Frame frame, List<Frame> ready, ref bool bottomEnds)
    {
        while (true)
        {
            var at = frame.At;
            if (!at.Reads.IsEmpty)
            {
                ready.Add(frame);
            }

            foreach (var call in at.Calls)
            {
                Expand(new Frame(call.Rule, 0, new Frame(frame.Rule, call.Return, frame.Parent)), ready, ref bottomEnds);
            }

            if (!at.Accepting)
            {
                return;
            }

            if (frame.Parent is null)
            {
                bottomEnds = true;
                return;
            }

            frame = frame.Parent;
        }
    }

    /// <summary>The union of the bytes that the ready frames can read.</summary>
    public static ByteSet Readable(List<Frame> ready)
    {
        var set = default(ByteSet);
        foreach (var frame in ready)
        {
            set.Union(frame.At.Reads);
        }

        return set;
    }

    /// <summary>Reads <paramref name="b"/> in every ready frame, adding the distinct results to <paramref name="next"/>.</summary>
    public static void Read(List<Frame> ready, byte b, List<Frame> next)
    {
        foreach (var frame in ready)
        {
            var target = frame.At.Next(b);
            if (target < 0 || next.Count >= MaxStacks)
            {
                continue;
            }

            var moved = new Frame(frame.Rule, target, frame.Parent);
            if (!Contains(next, moved))
            {
                next.Add(moved);
            }
        }
    }

    /// <summary>Whether some stack's bottom rule may end without reading more.</summary>
    public static bool CanEnd(List<Frame> stacks)
    {
        foreach (var stack in stacks)
        {
            for (var frame = stack; frame.At.Accepting; frame = frame.Parent)
            {
                if (frame.Parent is null)
                {
                    return true;
                }
            }
        }

        return false;
    }

    public static bool Contains(List<Frame> frames, Frame frame)
    {
        foreach (var f in frames)
        {
            if (f.Equals(frame))
            {
                return true;
            }
        }

        return false;
    }

    public bool Equals(Frame? other)
    {
        var a = this;
        var b = other;
        while (true)
        {
            if (ReferenceEquals(a, b))
            {
                return true;
            }

            if (a is null || b is null || a._hash != b._hash || a.Node != b.Node || !ReferenceEquals(a.Rule, b.Rule))
            {
                return false;
            }

            a = a.Parent;
            b = b.Parent;
        }
    }

    public override bool Equals(object? obj) => obj is Frame other && Equals(other);

    public override int GetHashCode() => _hash;
}
