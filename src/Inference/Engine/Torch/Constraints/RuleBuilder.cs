namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// Builds a <see cref="Rule"/> from a nondeterministic automaton with empty moves (literals, optional spaces,
/// alternatives, repetition are easiest to write that way), determinised by subset construction with calls treated
/// as symbols. Overlapping alternatives (enum values sharing a prefix) merge into one path.
/// </summary>
internal sealed class RuleBuilder
{
    // Note: caps a schema's automaton so a hostile schema (an enum of millions of values, maxItems in the millions)
    // is refused at compile time instead of exhausting memory.
    public const int MaxNodes = 200_000;

    private readonly List<List<(byte Lo, byte Hi, int To)>> _bytes = [];
    private readonly List<List<(Rule Rule, int To)>> _calls = [];
    private readonly List<List<int>> _empty = [];

    public RuleBuilder()
    {
        Start = State();
        Accept = State();
    }

    public int Start { get; }

    public int Accept { get; }

    public int State()
    {
        if (_bytes.Count >= MaxNodes)
        {
            throw new GrammarTooLarge();
        }

        _bytes.Add([]);
        _calls.Add([]);
        _empty.Add([]);
        return _bytes.Count - 1;
    }

    public void Empty(int from, int to) => _empty[from].Add(to);

    public void Byte(int from, byte lo, byte hi, int to) => _bytes[from].Add((lo, hi, to));

    public void Byte(int from, char c, int to) => Byte(from, checked((byte)c), checked((byte)c), to);

    public void Call(int from, Rule rule, int to) => _calls[from].Add((rule, to));

    /// <summary>Reads <paramref name="bytes"/> from <paramref name="from"/>; returns the state after them.</summary>
    public int Literal(int from, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            var next = State();
            Byte(from, b, b, next);
            from = next;
        }

        return from;
    }

    public int Literal(int from, string ascii) => Literal(from, System.Text.Encoding.UTF8.GetBytes(ascii));

    /// <summary>At most one optional space: JSON allows any amount of whitespace, but a small model offered it
    /// tends to loop on it forever.</summary>
    public int Space(int from)
    {
        var to = State();
        Empty(from, to);
        Byte(from, ' ', to);
        return to;
    }

    public int CallFrom(int from, Rule rule)
    {
        var to = State();
        Call(from, rule, to);
        return to;
    }

    public Rule Build(string name) => Define(new Rule(name));

    /// <summary>Determinises into <paramref name="rule"/>, keeping only nodes from which the rule can still end.</summary>
    public Rule Define(Rule rule)
    {
        var sets = new List<int[]>();
        var ids = new Dictionary<int[], int>(IntArrayComparer.Instance);
        var edges = new List<List<ByteEdge>>();
        var calls = new List<List<RuleCall>>();
        var accepting = new List<bool>();

        int Id(IEnumerable<int> seeds)
        {
            var set = Closure(seeds);
            if (ids.TryGetValue(set, out var id))
            {
                return id;
            }

            if (sets.Count >= MaxNodes)
            {
                throw new GrammarTooLarge();
            }

            id = sets.Count;
            ids[set] = id;
            sets.Add(set);
            edges.Add([]);
            calls.Add([]);
            accepting.Add(Array.IndexOf(set, Accept) >= 0);
            return id;
        }

        Id([Start]);
        for (var d = 0; d < sets.Count; d++)
        {
            var set = sets[d];
            // Split the byte ranges of all members into elementary intervals with one target set each.
            var cuts = new SortedSet<int>();
            foreach (var s in set)
            {
                foreach (var (lo, hi, _) in _bytes[s])
                {
                    cuts.Add(lo);
                    cuts.Add(hi + 1);
                }
            }

            var points = cuts.ToArray();
            for (var i = 0; i + 1 < points.Length; i++)
            {
                var (lo, hi) = (points[i], points[i + 1] - 1);
                var targets = new List<int>();
                foreach (var s in set)
                {
                    foreach (var edge in _bytes[s])
                    {
                        if (edge.Lo <= lo && hi <= edge.Hi)
                        {
                            targets.Add(edge.To);
                        }
                    }
                }

                if (targets.Count == 0)
                {
                    continue;
                }

                var target = Id(targets);
                var list = edges[d];
                if (list.Count > 0 && list[^1].Target == target && list[^1].Hi + 1 == lo)
                {
                    list[^1] = list[^1] with { Hi = (byte)hi };
                }
                else
                {
                    list.Add(new ByteEdge((byte)lo, (byte)hi, target));
                }
            }

            foreach (var group in set.SelectMany(s => _calls[s]).GroupBy(c => c.Rule))
            {
                calls[d].Add(new RuleCall(group.Key, Id(group.Select(c => c.To))));
            }
        }

        // Keep the nodes that can reach an accepting node (assuming every called rule can end, which the builders
        // guarantee), so that any prefix the matcher allows can still be completed.
        var alive = new bool[sets.Count];
        var into = new List<int>[sets.Count];
        for (var d = 0; d < sets.Count; d++)
        {
            into[d] = [];
        }

        var pending = new Stack<int>();
        for (var d = 0; d < sets.Count; d++)
        {
            foreach (var e in edges[d])
            {
                into[e.Target].Add(d);
            }

            foreach (var c in calls[d])
            {
                into[c.Return].Add(d);
            }

            if (accepting[d])
            {
                alive[d] = true;
                pending.Push(d);
            }
        }

        while (pending.TryPop(out var d))
        {
            foreach (var from in into[d])
            {
                if (!alive[from])
                {
                    alive[from] = true;
                    pending.Push(from);
                }
            }
        }

        if (!alive[0])
        {
            throw new InvalidOperationException($"Rule {rule.Name} matches nothing.");
        }

        var renumber = new int[sets.Count];
        var count = 0;
        for (var d = 0; d < sets.Count; d++)
        {
            renumber[d] = alive[d] ? count++ : -1;
        }

        var nodes = new RuleNode[count];
        for (var d = 0; d < sets.Count; d++)
        {
            if (alive[d])
            {
                nodes[renumber[d]] = new RuleNode(
                    accepting[d],
                    [.. edges[d].Where(e => alive[e.Target]).Select(e => e with { Target = renumber[e.Target] })],
                    [.. calls[d].Where(c => alive[c.Return]).Select(c => c with { Return = renumber[c.Return] })]);
            }
        }

        rule.Define(nodes);
        return rule;
    }

    private int[] Closure(IEnumerable<int> seeds)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<int>(seeds);
        while (stack.TryPop(out var s))
        {
            if (seen.Add(s))
            {
                foreach (var next in _empty[s])
                {
                    stack.Push(next);
                }
            }
        }

        // Only states that read, call or accept matter for identity; pure pass-through states are dropped.
        var set = seen.Where(s => s == Accept || _bytes[s].Count > 0 || _calls[s].Count > 0).ToArray();
        Array.Sort(set);
        return set;
    }

    private sealed class IntArrayComparer : IEqualityComparer<int[]>
    {
        public static readonly IntArrayComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(obj.AsSpan()));
            return hash.ToHashCode();
        }
    }
}

/// <summary>Thrown when a grammar would need more automaton nodes than <see cref="RuleBuilder.MaxNodes"/>.</summary>
internal sealed class GrammarTooLarge() : Exception($"The grammar needs more than {RuleBuilder.MaxNodes:N0} automaton nodes.");
