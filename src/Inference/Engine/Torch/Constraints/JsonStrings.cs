using System.Collections.Concurrent;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// JSON strings as rules: the byte-level automaton of a string's content (escapes, no raw control bytes, valid
/// UTF-8 even when a token splits a character), replicated per character count when the schema bounds the length.
/// Their token masks are not walked from the trie but read off <see cref="JsonStringScan"/>, which classifies
/// every token once per vocabulary: inside a string, almost the whole vocabulary is allowed.
/// </summary>
internal static class JsonStrings
{
    /// <summary>Where inside a string the automaton is (between characters, or part-way through one).</summary>
    public const int Content = 0, Escape = 1, Hex1 = 2, Hex2 = 3, Hex2Low = 4, Hex3 = 5, Hex4 = 6,
        Cont1 = 7, Cont2 = 8, Cont2E0 = 9, Cont2ED = 10, Cont3 = 11, Cont3F0 = 12, Cont3F4 = 13, Substates = 14;

    public const sbyte Dead = -1, Close = -2;

    // Note: the longest bound compiled into per-count nodes; a longer maxLength is refused, not silently ignored.
    public const int MaxLengthBound = 4096;

    private const int MaxCached = 1024;

    private static readonly sbyte[] Table = BuildTable();
    private static readonly ConcurrentDictionary<(int Min, int? Max), Rule> Bounded = new();

    /// <summary>Any string.</summary>
    public static readonly Rule Any = Build(0, null);

    /// <summary>The substate after <paramref name="b"/>: a substate, <see cref="Close"/> or <see cref="Dead"/>.
    /// Arriving at <see cref="Content"/> completes one character.</summary>
    public static sbyte Step(int substate, byte b) => Table[(substate << 8) | b];

    /// <summary>A string of <paramref name="min"/> to <paramref name="max"/> characters (code points).</summary>
    public static Rule Length(int min, int? max) =>
        min == 0 && max is null ? Any
        : Bounded.TryGetValue((min, max), out var rule) ? rule
        : Bounded.Count < MaxCached ? Bounded.GetOrAdd((min, max), key => Build(key.Min, key.Max))
        : Build(min, max);

    private static Rule Build(int min, int? max)
    {
        // Counts run 0..max, or 0..min and then stay at min when there is no upper bound.
        var top = max ?? min;
        var rule = new Rule(max is null ? $"string(min {min})" : $"string({min}..{max})");
        const int Start = 0, End = 1;
        int NodeOf(int count, int substate) => 2 + count * Substates + substate;
        var nodes = new RuleNode[2 + (top + 1) * Substates];
        nodes[Start] = new RuleNode(false, [new ByteEdge((byte)'"', (byte)'"', NodeOf(0, Content))], []);
        nodes[End] = new RuleNode(true, [], []);
        for (var count = 0; count <= top; count++)
        {
            for (var substate = 0; substate < Substates; substate++)
            {
                var edges = new List<ByteEdge>();
                for (var b = 0; b < 256; b++)
                {
                    var next = Step(substate, (byte)b);
                    var target = next switch
                    {
                        Dead => -1,
                        Close => count >= min ? End : -1,
                        Content when max is null => NodeOf(Math.Min(count + 1, top), Content),
                        Content => count + 1 <= max ? NodeOf(count + 1, Content) : -1,
                        // Part-way through a character: it will count once complete, so it must fit.
                        _ => max is null || count + 1 <= max || substate != Content ? NodeOf(count, next) : -1,
                    };
                    if (target < 0)
                    {
                        continue;
                    }

                    if (edges.Count > 0 && edges[^1].Target == target && edges[^1].Hi == b - 1)
                    {
                        edges[^1] = edges[^1] with { Hi = (byte)b };
                    }
                    else
                    {
                        edges.Add(new ByteEdge((byte)b, (byte)b, target));
                    }
                }

                nodes[NodeOf(count, substate)] = new RuleNode(false, [.. edges], []);
            }
        }

        rule.Define(nodes);
        rule.MaskSource = (node, vocabulary) => node switch
        {
            Start => null,
            End => PositionMask.Nothing,
            _ => vocabulary.Strings.MaskAt((node - 2) % Substates, (node - 2) / Substates, min, max),
        };
        return rule;
    }

    private static sbyte[] BuildTable()
    {
        var table = new sbyte[Substates * 256];
        Array.Fill(table, Dead);
        void Set(int substate, int lo, int hi, int next)
        {
            for (var b = lo; b <= hi; b++)
            {
                table[(substate << 8) | b] = (sbyte)next;
            }
        }

        // Between characters: printable ASCII (JSON allows DEL raw), the quote ends, the backslash escapes, and a
        // UTF-8 lead byte starts a multi-byte character (overlong forms and surrogates excluded).
        Set(Content, 0x20, 0x7F, Content);
        Set(Content, '"', '"', Close);
        Set(Content, '\\', '\\', Escape);
        Set(Content, 0xC2, 0xDF, Cont1);
        Set(Content, 0xE0, 0xE0, Cont2E0);
        Set(Content, 0xE1, 0xEC, Cont2);
        Set(Content, 0xED, 0xED, Cont2ED);
        Set(Content, 0xEE, 0xEF, Cont2);
        Set(Content, 0xF0, 0xF0, Cont3F0);
        Set(Content, 0xF1, 0xF3, Cont3);
        Set(Content, 0xF4, 0xF4, Cont3F4);
        foreach (var c in "\"\\/bfnrt")
        {
            Set(Escape, c, c, Content);
        }

        Set(Escape, 'u', 'u', Hex1);
        // \u escapes of UTF-16 surrogates (D800-DFFF) are left out: a lone one is not valid Unicode, and a pair is
        // better written as the raw UTF-8 character anyway.
        foreach (var (from, to) in new[] { (Hex1, Hex2), (Hex2, Hex3), (Hex3, Hex4), (Hex4, Content) })
        {
            Set(from, '0', '9', to);
            Set(from, 'a', 'f', to);
            Set(from, 'A', 'F', to);
        }

        Set(Hex1, 'd', 'd', Hex2Low);
        Set(Hex1, 'D', 'D', Hex2Low);
        Set(Hex2Low, '0', '7', Hex3);
        Set(Cont1, 0x80, 0xBF, Content);
        Set(Cont2, 0x80, 0xBF, Cont1);
        Set(Cont2E0, 0xA0, 0xBF, Cont1);
        Set(Cont2ED, 0x80, 0x9F, Cont1);
        Set(Cont3, 0x80, 0xBF, Cont2);
        Set(Cont3F0, 0x90, 0xBF, Cont2);
        Set(Cont3F4, 0x80, 0x8F, Cont2);
        return table;
    }
}
