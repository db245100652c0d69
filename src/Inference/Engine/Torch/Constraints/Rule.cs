using System.Runtime.CompilerServices;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// One rule of a grammar: a deterministic automaton over bytes whose edges either read a byte or call another rule
/// (and continue at a return node once that rule has read a whole value). Rules calling rules make the grammar a
/// pushdown automaton, which is what recursion ($ref, nested JSON) needs. No rule matches the empty string, so a
/// call always reads at least one byte before it can return; that keeps every walk finite.
/// <para>
/// A rule keeps, per vocabulary, the token mask of each of its nodes (<see cref="PositionMask"/>), computed on
/// first use. Built-in JSON rules are shared by every grammar, so their masks are computed once per vocabulary.
/// </para>
/// </summary>
internal sealed class Rule
{
    private static int _lastId;
    private readonly ConditionalWeakTable<TokenVocabulary, PositionMask?[]> _masks = new();
    private RuleNode[] _nodes = [];

    public Rule(string name)
    {
        Name = name;
        Id = Interlocked.Increment(ref _lastId);
    }

    public string Name { get; }

    public int Id { get; }

    /// <summary>Node 0 is where the rule starts.</summary>
    public RuleNode[] Nodes => _nodes;

    /// <summary>Computes a node's mask from vocabulary-wide tables instead of walking the trie (JSON strings), or
    /// returns null to fall back to the walk.</summary>
    public Func<int, TokenVocabulary, PositionMask?>? MaskSource { get; set; }

    public void Define(RuleNode[] nodes)
    {
        if (_nodes.Length != 0)
        {
            throw new InvalidOperationException($"Rule {Name} is already defined.");
        }

        _nodes = nodes;
    }

    public PositionMask MaskAt(int node, TokenVocabulary vocabulary)
    {
        var masks = _masks.GetValue(vocabulary, _ => new PositionMask?[_nodes.Length]);
        if (Volatile.Read(ref masks[node]) is { } known)
        {
            return known;
        }

        // Two threads may compute the same mask; both results are equal and one wins.
        var computed = MaskSource?.Invoke(node, vocabulary) ?? PositionMask.Walk(this, node, vocabulary);
        return Interlocked.CompareExchange(ref masks[node], computed, null) ?? computed;
    }

    public override string ToString() => Name;
}

/// <summary>A byte range [Lo, Hi] that leads to node Target.</summary>
internal readonly record struct ByteEdge(byte Lo, byte Hi, int Target);

/// <summary>A call of <paramref name="Rule"/>; once it has read a whole value the caller continues at Return.</summary>
internal readonly record struct RuleCall(Rule Rule, int Return);

internal sealed class RuleNode
{
    private readonly ByteEdge[] _edges;
    private readonly short[]? _table;
    private ByteSet _reads;

    public RuleNode(bool accepting, ByteEdge[] edges, RuleCall[] calls)
    {
        Accepting = accepting;
        _edges = edges;
        Calls = calls;
        foreach (var edge in edges)
        {
            _reads.Add(edge.Lo, edge.Hi);
        }

        // Nodes with many ranges (inside JSON strings) get a lookup table; the rest scan their few ranges.
        if (edges.Length > 4)
        {
            _table = new short[256];
            Array.Fill(_table, (short)-1);
            foreach (var edge in edges)
            {
                for (var b = edge.Lo; b <= edge.Hi; b++)
                {
                    _table[b] = checked((short)edge.Target);
                    if (b == 255)
                    {
                        break;
                    }
                }
            }
        }
    }

    /// <summary>The rule may end here (its caller continues).</summary>
    public bool Accepting { get; }

    public RuleCall[] Calls { get; }

    /// <summary>Every byte this node can read.</summary>
    public ref readonly ByteSet Reads => ref _reads;

    public ReadOnlySpan<ByteEdge> Edges => _edges;

    /// <summary>The node after reading <paramref name="b"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(byte b)
    {
        if (_table is not null)
        {
            return _table[b];
        }

        foreach (var edge in _edges)
        {
            if (b >= edge.Lo && b <= edge.Hi)
            {
                return edge.Target;
            }
        }

        return -1;
    }
}

/// <summary>A set of byte values as four 64-bit words.</summary>
internal struct ByteSet
{
    private ulong _w0, _w1, _w2, _w3;

    public readonly bool IsEmpty => (_w0 | _w1 | _w2 | _w3) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Contains(byte b) => ((b >> 6) switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 } & (1UL << (b & 63))) != 0;

    public void Add(byte lo, byte hi)
    {
        for (int b = lo; b <= hi; b++)
        {
            switch (b >> 6)
            {
                case 0: _w0 |= 1UL << (b & 63); break;
                case 1: _w1 |= 1UL << (b & 63); break;
                case 2: _w2 |= 1UL << (b & 63); break;
                default: _w3 |= 1UL << (b & 63); break;
            }
        }
    }

    public void Union(in ByteSet other)
    {
        _w0 |= other._w0;
        _w1 |= other._w1;
        _w2 |= other._w2;
        _w3 |= other._w3;
    }
}
