namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// A trie over byte strings, each carrying an id, laid out in flat arrays. Nodes are numbered in depth-first order
/// with children in byte order, so the ids of every string under a node form one contiguous run of
/// <see cref="Ids"/>: a walk that finds a whole subtree allowed (or in need of the same later check) takes the run
/// without visiting it.
/// </summary>
internal sealed class ByteTrie
{
    private readonly int[] _childStart;
    private readonly byte[] _childByte;
    private readonly int[] _childNode;
    private readonly int[] _idStart;
    private readonly int[] _idEnd;
    private readonly int[] _ownCount;

    private ByteTrie(int[] childStart, byte[] childByte, int[] childNode, int[] idStart, int[] idEnd, int[] ownCount, int[] ids, int maxDepth)
    {
        _childStart = childStart;
        _childByte = childByte;
        _childNode = childNode;
        _idStart = idStart;
        _idEnd = idEnd;
        _ownCount = ownCount;
        Ids = ids;
        MaxDepth = maxDepth;
    }

    public const int Root = 0;

    /// <summary>Every id, in the byte order of its string.</summary>
    public int[] Ids { get; }

    public int NodeCount => _idStart.Length;

    public int MaxDepth { get; }

    public int ChildStart(int node) => _childStart[node];

    public int ChildEnd(int node) => _childStart[node + 1];

    public byte ChildByte(int edge) => _childByte[edge];

    public int ChildNode(int edge) => _childNode[edge];

    /// <summary>The ids whose string ends exactly at this node.</summary>
    public ReadOnlySpan<int> Own(int node) => Ids.AsSpan(_idStart[node], _ownCount[node]);

    /// <summary>The ids whose string passes through (or ends at) this node.</summary>
    public ReadOnlySpan<int> Subtree(int node) => Ids.AsSpan(_idStart[node], _idEnd[node] - _idStart[node]);

    /// <summary>Builds the trie; empty strings are left out (nothing can spell them).</summary>
    public static ByteTrie Build(IReadOnlyList<(int Id, ReadOnlyMemory<byte> Bytes)> entries)
    {
        var sorted = entries.Where(e => e.Bytes.Length > 0).ToArray();
        Array.Sort(sorted, static (a, b) => a.Bytes.Span.SequenceCompareTo(b.Bytes.Span) is var c && c != 0 ? c : a.Id.CompareTo(b.Id));

        // At most one node per byte, plus the root.
        var capacity = 1 + sorted.Sum(e => e.Bytes.Length);
        var parent = new List<int>(capacity) { -1 };
        var edgeByte = new List<byte>(capacity) { 0 };
        var idStart = new List<int>(capacity) { 0 };
        var idEnd = new List<int>(capacity) { sorted.Length };
        var ownCount = new List<int>(capacity) { 0 };
        var path = new List<int> { Root };
        var previous = ReadOnlySpan<byte>.Empty;
        var maxDepth = 0;
        for (var k = 0; k < sorted.Length; k++)
        {
            var bytes = sorted[k].Bytes.Span;
            var common = bytes.CommonPrefixLength(previous);
            for (var d = path.Count - 1; d > common; d--)
            {
                idEnd[path[d]] = k;
            }

            path.RemoveRange(common + 1, path.Count - common - 1);
            for (var d = common; d < bytes.Length; d++)
            {
                var node = parent.Count;
                parent.Add(path[d]);
                edgeByte.Add(bytes[d]);
                idStart.Add(k);
                idEnd.Add(sorted.Length);
                ownCount.Add(0);
                path.Add(node);
            }

            ownCount[path[bytes.Length]]++;
            maxDepth = Math.Max(maxDepth, bytes.Length);
            previous = bytes;
        }

        // Children of a node were created in byte order but interleaved with their own descendants: gather them.
        var nodes = parent.Count;
        var childStart = new int[nodes + 1];
        for (var n = 1; n < nodes; n++)
        {
            childStart[parent[n] + 1]++;
        }

        for (var n = 0; n < nodes; n++)
        {
            childStart[n + 1] += childStart[n];
        }

        var fill = childStart[..^1];
        var childByte = new byte[Math.Max(0, nodes - 1)];
        var childNode = new int[Math.Max(0, nodes - 1)];
        for (var n = 1; n < nodes; n++)
        {
            var edge = fill[parent[n]]++;
            childByte[edge] = edgeByte[n];
            childNode[edge] = n;
        }

        return new ByteTrie(childStart, childByte, childNode, [.. idStart], [.. idEnd], [.. ownCount], sorted.Select(e => e.Id).ToArray(), maxDepth);
    }
}
