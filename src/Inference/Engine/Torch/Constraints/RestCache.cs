using System.Collections.Concurrent;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// Per grammar: for a set of tokens that finish a rule part-way (<see cref="PositionMask.Completing"/>) and a
/// caller stack, which of them the caller accepts. The same node under the same caller recurs all through a
/// generation (every key of an object at one depth, every step inside one string), so the walk of the remaining
/// bytes is done once. Keys hold only this grammar's rules, so the cache lives and dies with the grammar.
/// </summary>
internal sealed class RestCache
{
    /// <summary>Note: bounds the memory one grammar can hold (deeply recursive schemas make many distinct stacks);
    /// past it, walks are simply not cached.</summary>
    private const int MaxEntries = 16_384;

    private readonly ConcurrentDictionary<(RestSet Rests, Frame Caller), int[]> _allowed = new();

    public int[] GetOrAdd(RestSet rests, Frame caller, Func<RestSet, Frame, int[]> walk)
    {
        if (_allowed.TryGetValue((rests, caller), out var known))
        {
            return known;
        }

        var computed = walk(rests, caller);
        if (_allowed.Count < MaxEntries)
        {
            _allowed.TryAdd((rests, caller), computed);
        }

        return computed;
    }
}
