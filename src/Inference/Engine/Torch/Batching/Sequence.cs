using System.Threading.Channels;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>One request inside the engine: its prompt, how it samples, where its text goes, and (while running)
/// its slot and length.</summary>
internal sealed class Sequence(int[] prompt, Sampling sampling, RowSampling row, SequenceText text, CancellationToken ct)
{
    public int[] Prompt { get; } = prompt;

    public Sampling Sampling { get; } = sampling;

    public RowSampling Row { get; } = row;

    public SequenceText Text { get; } = text;

    public CancellationToken Cancellation { get; } = ct;

    /// <summary>Unbounded so the batch loop never waits on a slow reader.</summary>
    public Channel<GeneratedChunk> Output { get; } = Channel.CreateUnbounded<GeneratedChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public int Slot { get; set; } = -1;

    /// <summary>When it got its slot, counted: prompts are prefilled in this order.</summary>
    public long Admitted { get; set; }

    /// <summary>Tokens in the cache (prompt and generated so far, excluding <see cref="NextToken"/>).</summary>
    public int Length { get; set; }

    /// <summary>True until the whole prompt is in the cache (a long one takes several steps).</summary>
    public bool Prefilling => Length < Prompt.Length;

    /// <summary>Where its prompt's blocks are cached and looked up: the tenant (from <see cref="Sampling.CacheScope"/>),
    /// or null to neither reuse nor keep any.</summary>
    public string? Partition { get; } = sampling.CacheScope;

    /// <summary>Leading prompt tokens that are an operator-marked public system prompt.</summary>
    public int SharedTokens { get; init; }

    /// <summary>Its block table: block i holds positions i × block size onwards.</summary>
    public List<int> Blocks { get; } = [];

    /// <summary>The keys of its full blocks, in order (each chained to the one before).</summary>
    public List<UInt128> Keys { get; } = [];

    /// <summary>Blocks promised at admission and not yet taken.</summary>
    public int Reserved { get; set; }

    /// <summary>Prompt tokens served from the prefix cache.</summary>
    public int CachedTokens { get; set; }

    /// <summary>Tokens sampled so far, in order (the one at position prompt length + i is <c>Produced[i]</c>).</summary>
    public List<int> Produced { get; } = [];

    public int TokenAt(int position) => position < Prompt.Length ? Prompt[position] : Produced[position - Prompt.Length];

    /// <summary>The last sampled token, fed in the next step.</summary>
    public int NextToken { get; set; }

    public int Generated { get; set; }

    /// <summary>The grammar the output must follow (structured outputs, a required tool call), or null.</summary>
    public Constraints.GrammarMatcher? Constraint { get; set; }

    /// <summary>The grammar of a call's body, applied from the moment the model opens a call on its own
    /// (<c>tool_choice: "auto"</c>) until the call is complete; null when no tools are offered.</summary>
    public Constraints.Grammar? CallBody { get; init; }

    /// <summary>The current <see cref="Constraint"/> came from <see cref="CallBody"/> and ends with the call.</summary>
    public bool ConstraintEndsWithCall { get; set; }

    /// <summary>Separates tool calls from text in what is generated.</summary>
    public ToolCallStream? ToolCalls { get; init; }

    private volatile bool _abandoned;

    /// <summary>The reader went away (cancelled, or stopped reading): the slot is freed at the next step.</summary>
    public bool Gone => _abandoned || Cancellation.IsCancellationRequested;

    public void Abandon() => _abandoned = true;
}
