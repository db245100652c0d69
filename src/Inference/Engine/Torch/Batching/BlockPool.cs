using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// Hands out the KV cache's blocks and remembers which full blocks hold which tokens, so a prompt that starts with
/// tokens computed before (the same system prompt, tools and conversation an agent resends every turn) reuses
/// their keys and values instead of prefilling them again.
/// <list type="bullet">
/// <item>A full block is known by a 128-bit hash of its tokens chained to the block before it and to its
/// <em>partition</em>: the tenant, so one tenant's prompts are never served from another's, or <c>shared</c> for the
/// blocks of a system prompt the operator marked public.</item>
/// <item>Blocks nobody reads stay cached, least recently used first, and are taken back only when a sequence needs
/// room: the cache's memory is the budget.</item>
/// <item>A sequence reserves, when it is admitted, every block it could need (prompt and completion), so a running
/// sequence never waits for memory and nothing has to be evicted from under it.</item>
/// </list>
/// Not thread-safe: the engine's loop owns it.
/// </summary>
internal sealed class BlockPool
{
    public const string SharedPartition = "shared";

    private readonly int[] _references;
    private readonly UInt128?[] _keys;
    private readonly LinkedListNode<int>?[] _idleNodes;
    private readonly Dictionary<UInt128, int> _index = [];
    private readonly Stack<int> _free = new();
    private readonly LinkedList<int> _idle = new();
    private int _reserved;

    public BlockPool(int blocks, int blockSize)
    {
        BlockSize = blockSize;
        _references = new int[blocks];
        _keys = new UInt128?[blocks];
        _idleNodes = new LinkedListNode<int>?[blocks];
        for (var b = blocks - 1; b >= 0; b--)
        {
            _free.Push(b);
        }
    }

    public int BlockSize { get; }

    /// <summary>Blocks a new sequence could still reserve: free ones and cached ones nobody reads.</summary>
    public int Available => _free.Count + _idle.Count - _reserved;

    /// <summary>Full blocks whose tokens are known, read or idle.</summary>
    public int Cached => _index.Count;

    /// <summary>Where every chain starts; the partition is part of each block's key, so a tenant's blocks after a
    /// shared system prompt are its own.</summary>
    public static readonly UInt128 Root = Hash("lanes kv blocks"u8);

    /// <summary>The key of a full block of <paramref name="tokens"/> after the block keyed <paramref name="parent"/>.</summary>
    public static UInt128 Chain(UInt128 parent, ReadOnlySpan<int> tokens, string partition)
    {
        Span<byte> input = stackalloc byte[16 + 4 * tokens.Length + Encoding.UTF8.GetMaxByteCount(partition.Length)];
        MemoryMarshal.Write(input, in parent);
        MemoryMarshal.AsBytes(tokens).CopyTo(input[16..]);
        var length = 16 + 4 * tokens.Length + Encoding.UTF8.GetBytes(partition, input[(16 + 4 * tokens.Length)..]);
        return Hash(input[..length]);
    }

    /// <summary>
    /// The cached blocks that start <paramref name="tokens"/>, at most <paramref name="limit"/> tokens' worth, each now
    /// read by the caller, with their keys. Blocks within the first <paramref name="sharedTokens"/> tokens are looked
    /// up in the shared partition, the rest in <paramref name="partition"/>.
    /// </summary>
    public (List<int> Blocks, List<UInt128> Keys) Match(string partition, ReadOnlySpan<int> tokens, int limit, int sharedTokens)
    {
        var blocks = new List<int>();
        var keys = new List<UInt128>();
        var key = Root;
        for (var b = 0; (b + 1) * BlockSize <= Math.Min(limit, tokens.Length); b++)
        {
            key = Chain(key, tokens.Slice(b * BlockSize, BlockSize), PartitionOf(b, partition, sharedTokens));
            if (!_index.TryGetValue(key, out var block))
            {
                break;
            }

            Read(block);
            blocks.Add(block);
            keys.Add(key);
        }

        return (blocks, keys);
    }

    /// <summary>The partition block <paramref name="index"/> of a prompt is cached under.</summary>
    public string PartitionOf(int index, string partition, int sharedTokens) => (index + 1) * BlockSize <= sharedTokens ? SharedPartition : partition;

    /// <summary>Promises <paramref name="blocks"/> to a sequence, or false when the cache cannot hold them now.</summary>
    public bool TryReserve(int blocks)
    {
        if (blocks > Available)
        {
            return false;
        }

        _reserved += blocks;
        return true;
    }

    /// <summary>One block of a reservation: a free one, else the least recently used cached one (forgotten).</summary>
    public int Take()
    {
        if (_reserved <= 0)
        {
            throw new InvalidOperationException("A block was taken without a reservation.");
        }

        _reserved--;
        int block;
        if (_free.Count > 0)
        {
            block = _free.Pop();
        }
        else
        {
            block = _idle.First!.Value;
            _idle.RemoveFirst();
            _idleNodes[block] = null;
            _index.Remove(_keys[block]!.Value);
            _keys[block] = null;
        }

        _references[block] = 1;
        return block;
    }

    /// <summary>Records that a full block now holds the tokens <paramref name="key"/> names. When another block holds
    /// them already (two sequences computed the same prefix at once), this one stays unnamed and is freed with its
    /// sequence.</summary>
    public void Register(int block, UInt128 key)
    {
        if (_keys[block] is null && _index.TryAdd(key, block))
        {
            _keys[block] = key;
        }
    }

    /// <summary>A sequence is done with its blocks and the part of its reservation it did not take.</summary>
    public void Release(IEnumerable<int> blocks, int unreserved)
    {
        _reserved -= unreserved;
        foreach (var block in blocks)
        {
            if (--_references[block] > 0)
            {
                continue;
            }

            if (_keys[block] is not null)
            {
                _idleNodes[block] = _idle.AddLast(block); // most recently used last
            }
            else
            {
                _free.Push(block);
            }
        }
    }

    private void Read(int block)
    {
        if (_references[block]++ == 0 && _idleNodes[block] is { } node)
        {
            _idle.Remove(node);
            _idleNodes[block] = null;
        }
    }

    private static UInt128 Hash(ReadOnlySpan<byte> input)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input, digest);
        return MemoryMarshal.Read<UInt128>(digest);
    }
}
