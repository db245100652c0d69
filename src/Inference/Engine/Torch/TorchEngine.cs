using System.Diagnostics;
using System.Runtime.CompilerServices;
using Lanes.Inference.Engine.Torch.Batching;
using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Constraints;
using Lanes.Inference.Engine.Torch.Model;
using Lanes.Inference.Engine.Torch.Tokenization;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch;

/// <summary>A tokenized prompt for the torch engine, with the grammar its output must follow (if any) and the
/// tools whose calls are read back out of the text.</summary>
internal sealed record TorchPrompt(int[] Tokens)
{
    public Grammar? Grammar { get; init; }

    public Grammar? CallBody { get; init; }

    public IReadOnlyCollection<string> Tools { get; init; } = [];

    /// <summary>Leading tokens that are an operator-marked public system prompt: their blocks may be shared by every
    /// tenant.</summary>
    public int SharedTokens { get; init; }
}

/// <summary>
/// Runs a Llama-family model in-process with continuous batching over a paged KV cache: up to <see cref="Slots"/>
/// sequences run at once, each holding the cache blocks it needs; every step decodes one token for every running
/// sequence and prefills waiting prompts in the same batched forward pass, in chunks while others decode so a long
/// prompt does not stall their tokens. A prompt that starts with blocks the cache holds for its tenant (an agent's
/// system prompt, tools and conversation so far) is prefilled only from where they end. A finished or cancelled
/// sequence frees its slot before the next step. The lane scheduler decides which request reaches the engine; the
/// engine serves them in arrival order.
/// </summary>
public sealed partial class TorchEngine : IInferenceEngine, IDisposable
{
    private readonly TorchEngineOptions _options;
    private readonly ILogger _logger;
    private readonly LlamaModel _model;
    private readonly KvCache _cache;

    /// <summary>Decode-only steps replayed as CUDA graphs; null off CUDA, without the shim, or after a recording failed.</summary>
    private DecodeGraphs? _graphs;
    private readonly BlockPool _blocks;
    private readonly PrefillPace _pace;
    private readonly int[][] _sharedPrefixes;
    private readonly ModelTokenizer _tokenizer;
    private readonly ChatTemplate? _chat;
    private readonly HashSet<int> _stopTokens;
    private readonly TokenVocabulary _vocabulary;
    private readonly Dictionary<int, byte[]> _markers;
    private readonly GrammarCache _grammars;
    private readonly string _modelId;
    private readonly Sequence?[] _running;
    private readonly Queue<Sequence> _waiting = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _work = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _loop;
    private long _admissions;
    private long _steps;
    private int _widestStep;
    private long _prefilledTokens;
    private long _cachedTokens;
    private ConstraintMasks.Scratch? _maskScratch;
    private int _disposed;
    private long _liveTensors;
    private StepCounts _decodeCounts;

    public TorchEngine(IOptions<TorchEngineOptions> options, ILogger<TorchEngine> logger)
    {
        _options = options.Value;
        _logger = logger;
        var folder = Path.GetFullPath(_options.ModelPath);
        if (!Directory.Exists(folder))
        {
            throw new ModelLoadException($"Engine:Torch:ModelPath '{folder}' does not exist. Generate the demo model with './lanes up' or point it at a Hugging Face model folder.");
        }

        if (_options.Threads > 0)
        {
            torch.set_num_threads(_options.Threads);
        }

        var cuda = _options.Device switch
        {
            "cuda" => torch.cuda.is_available() ? true : throw new ModelLoadException("Engine:Torch:Device is 'cuda' but CUDA is not available (is this the -p:LanesGpu=true build on a GPU node?)."),
            "cpu" => false,
            _ => torch.cuda.is_available(),
        };
        Device = cuda ? CUDA : CPU;
        var dtype = cuda ? ScalarType.BFloat16 : ScalarType.Float32;

        var config = ModelConfig.Load(folder);
        _tokenizer = ModelTokenizer.Load(folder);
        _chat = ChatTemplate.Load(folder, _tokenizer);
        _stopTokens = [.. config.EosTokenIds, .. GenerationEos(folder), _chat.EndOfTurn];

        // An id past the embedding table fails inside torch (on CUDA it poisons the device): refuse the folder instead.
        if (_tokenizer.VocabSize > config.VocabSize || _stopTokens.Any(t => t < 0 || t >= config.VocabSize))
        {
            throw new ModelLoadException($"The tokenizer in '{folder}' has {_tokenizer.VocabSize} ids but the model's embedding has {config.VocabSize}: they do not belong together.");
        }
        ContextTokens = _options.ContextTokens > 0 ? _options.ContextTokens : Math.Min(config.MaxPositions, 4096);
        _model = LlamaModel.Load(folder, config, Device, dtype, ContextTokens);

        // The vocabulary's byte strings, indexed like the logits (ids past the tokenizer's, and special tokens, spell
        // nothing, so a grammar never allows them). Built at load (about 0.6 s for a 152k vocabulary) so the first
        // constrained request does not stall the batch.
        // Tool-call markers the vocabulary has as single added tokens (Qwen's <tool_call>, Mistral's [TOOL_CALLS]) spell
        // their text, so a constrained call can use the token the model was trained to write.
        _markers = new[] { "<tool_call>", "</tool_call>", ToolFormat.MistralCalls }
            .Where(m => _tokenizer.TrySpecialId(m, out var id) && id < config.VocabSize)
            .ToDictionary(m => _tokenizer.SpecialId(m), m => System.Text.Encoding.UTF8.GetBytes(m));
        _vocabulary = TokenVocabulary.Build(
            Enumerable.Range(0, config.VocabSize).Select(id => _markers.TryGetValue(id, out var marker) ? marker : _tokenizer.IsSpecial(id) ? [] : _tokenizer.Bytes(id).ToArray()).ToList());
        _grammars = new GrammarCache(_vocabulary);
        // The cache is sized from memory; without an explicit slot count, slots follow from it at an average of
        // 1,024 tokens a sequence (paging lets short sequences leave room for more). It never grows past room for
        // twice every slot's longest sequence, so a small model does not claim the whole memory budget.
        var bytesPerBlock = KvCache.BytesPerTokenOf(config, cuda ? 2 : 4) * KvCache.DefaultBlockSize;
        var budgetBlocks = Math.Max(1, _options.CacheMemoryMiB * 1024L * 1024 / bytesPerBlock);
        var blocksPerContext = (ContextTokens + KvCache.DefaultBlockSize - 1) / KvCache.DefaultBlockSize;
        Slots = _options.Slots > 0 ? _options.Slots : (int)Math.Clamp(budgetBlocks * KvCache.DefaultBlockSize / 1024, 1, 256);
        var blocks = (int)Math.Min(budgetBlocks, 2L * Slots * blocksPerContext);
        if (blocks < blocksPerContext)
        {
            throw new ModelLoadException($"Engine:Torch:CacheMemoryMiB ({_options.CacheMemoryMiB}) cannot hold one sequence of {ContextTokens} tokens; raise it or lower ContextTokens.");
        }

        _cache = new KvCache(config, blocks, dtype, Device);
        _graphs = DecodeGraphs.ForDevice(_model, _cache);
        _blocks = new BlockPool(blocks, _cache.BlockSize);
        _pace = new PrefillPace(_options.PrefillStretch, _options.MaxPrefillTokensPerStep, _cache.BlockSize);
        _sharedPrefixes = [.. _options.SharedPrefixes.Where(p => p.Length > 0).Select(p => _chat!.Render(ChatRequest.Of([new ChatTurn("system", p)])).ToArray())];
        _running = new Sequence?[Slots];
        _modelId = _options.ModelId is { Length: > 0 } id ? id : Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar));
        Models = [new EngineModel(_modelId, ContextTokens, Features: EngineFeatures.Tools | EngineFeatures.StructuredOutputs)];
        Log.Loaded(logger, _modelId, config.Architecture, config.Parameters, Device.type.ToString(), dtype.ToString(), Slots, ContextTokens, blocks, blocks * _cache.BytesPerBlock / 1024 / 1024);
        _loop = new Thread(Run) { IsBackground = true, Name = "torch-engine" };
        _loop.Start();
    }

    public IReadOnlyList<EngineModel> Models { get; }

    public int Slots { get; }

    public int ContextTokens { get; }

    public Device Device { get; }

    public ModelTokenizer Tokenizer => _tokenizer;

    public LlamaModel Model => _model;

    /// <summary>Keys and values of one token position across every layer.</summary>
    public long KvBytesPerToken => _cache.BytesPerToken;

    /// <summary>Blocks the KV cache holds, and positions per block.</summary>
    public int KvBlocks => _cache.Blocks;

    public int KvBlockSize => _cache.BlockSize;

    /// <summary>Prompt tokens computed so far (prefilled), and prompt tokens served from the prefix cache instead.</summary>
    public long PrefilledTokens => Interlocked.Read(ref _prefilledTokens);

    public long CachedPromptTokens => Interlocked.Read(ref _cachedTokens);

    /// <summary>Forward steps run so far (each batches every running sequence).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>The most sequences one step has carried so far: how full batches get.</summary>
    public int WidestStep => Volatile.Read(ref _widestStep);

    /// <summary>Tensors alive on the engine's thread after the last step: flat when every step frees what it made.</summary>
    public long LiveTensors => Interlocked.Read(ref _liveTensors);

    /// <summary>What the steps that only decoded (no prompt in the batch) cost, summed: tensor ops and copies between
    /// host and device (see <see cref="StepCounts"/>).</summary>
    public StepCounts DecodeStepCounts
    {
        get
        {
            lock (_gate)
            {
                return _decodeCounts;
            }
        }
    }

    /// <summary>Sequences holding a slot or waiting for one.</summary>
    public int Active
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count + _running.Count(s => s is not null);
            }
        }
    }

    public EnginePrompt PrepareChat(string model, ChatRequest request)
    {
        var tokens = _chat!.Render(request).ToArray();
        var tools = request.ToolChoice.Mode == ToolChoiceMode.None ? [] : request.Tools.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return new EnginePrompt(model, tokens.Length, new TorchPrompt(tokens)
        {
            Grammar = _grammars.For(request, _chat.Format),
            CallBody = _grammars.CallBodyFor(request, _chat.Format),
            Tools = tools,
            SharedTokens = _sharedPrefixes.Length == 0 ? 0 : _sharedPrefixes.Max(p => tokens.AsSpan().CommonPrefixLength(p)),
        });
    }

    public EnginePrompt PrepareCompletion(string model, string prompt)
    {
        var tokens = new List<int>();
        if (_tokenizer.PrefixToken is { } bos)
        {
            tokens.Add(bos);
        }

        _tokenizer.Encode(prompt, tokens);
        return new EnginePrompt(model, tokens.Count, new TorchPrompt([.. tokens]));
    }

    public async IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, [EnumeratorCancellation] CancellationToken ct)
    {
        var tokens = ((TorchPrompt)prompt.State).Tokens;

        if (tokens.Length == 0 || tokens.Length >= ContextTokens)
        {
            throw new EngineUnavailable($"The prompt is {tokens.Length} tokens; this engine takes 1 to {ContextTokens - 1}.");
        }

        var temperature = sampling.Temperature ?? _options.DefaultTemperature;
        var row = new RowSampling(temperature, sampling.TopP ?? 1.0, sampling.TopK ?? 0,
            sampling.Seed is { } seed ? new Random(unchecked((int)seed ^ (int)(seed >> 32))) : new Random());
        var state = (TorchPrompt)prompt.State;
        var sequence = new Sequence(tokens, sampling, row, new SequenceText(_tokenizer, sampling.Stop ?? []), ct)
        {
            SharedTokens = state.SharedTokens,
            Constraint = state.Grammar is { } grammar ? new GrammarMatcher(grammar, _vocabulary, [.. _stopTokens]) : null,
            CallBody = state.CallBody,
            ToolCalls = new ToolCallStream(_chat?.Format ?? ChatFormat.ChatMl, state.Tools),
        };
        lock (_gate)
        {
            // After the loop's last sweep nothing would ever complete this sequence.
            if (_stop.IsCancellationRequested)
            {
                throw new EngineUnavailable("The engine is shutting down.");
            }

            _waiting.Enqueue(sequence);
        }

        _work.Release();
        // Wake the loop on cancellation so the slot is freed before the next step, even when it is idle.
        await using var wake = ct.Register(() => _work.Release());
        try
        {
            // The caller's token ends the wait too: a request still queued for a slot must not outlive its client.
            while (await sequence.Output.Reader.WaitToReadAsync(ct))
            {
                while (sequence.Output.Reader.TryRead(out var chunk))
                {
                    yield return chunk;
                }
            }
        }
        finally
        {
            // A caller that stops reading early also gives the slot back.
            sequence.Abandon();
            _work.Release();
        }

        ct.ThrowIfCancellationRequested();
    }

    private static IEnumerable<int> GenerationEos(string folder)
    {
        var path = Path.Combine(folder, "generation_config.json");
        return File.Exists(path) ? ModelConfig.TokenIds(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))?["eos_token_id"]) : [];
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (!Step())
                {
                    _work.Wait(_stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // A failed step fails the sequences in it, never the loop: the next requests still run.
                Log.StepFailed(_logger, e);
                lock (_gate)
                {
                    for (var s = 0; s < _running.Length; s++)
                    {
                        if (_running[s] is { } failed)
                        {
                            failed.Output.Writer.TryComplete(new EngineUnavailable("The engine failed while generating.", e));
                            Free(failed);
                        }
                    }
                }
            }
        }

        lock (_gate)
        {
            foreach (var s in _running.Where(s => s is not null).Concat(_waiting))
            {
                s!.Output.Writer.TryComplete(new EngineUnavailable("The engine is shutting down."));
            }
        }
    }

    /// <summary>One iteration: free cancelled slots, admit waiting sequences whose blocks the cache can promise, run
    /// one batched forward pass (decodes and prefill chunks), and hand each sequence whose logits came back its
    /// token. False when there was nothing to do.</summary>
    private bool Step()
    {
        var decodes = new List<Sequence>();
        var prefilling = new List<Sequence>();
        lock (_gate)
        {
            for (var s = 0; s < _running.Length; s++)
            {
                if (_running[s] is { Gone: true } cancelled)
                {
                    cancelled.Output.Writer.TryComplete();
                    Free(cancelled);
                }
            }

            for (var s = 0; s < _running.Length && _waiting.Count > 0; s++)
            {
                if (_running[s] is not null)
                {
                    continue;
                }

                var next = _waiting.Peek();
                if (next.Gone)
                {
                    _waiting.Dequeue().Output.Writer.TryComplete();
                    s--;
                    continue;
                }

                if (!TryPlace(next))
                {
                    break; // first come, first served: the next waits for blocks too
                }

                _waiting.Dequeue();
                next.Slot = s;
                next.Admitted = _admissions++;
                _running[s] = next;
            }

            foreach (var running in _running)
            {
                if (running is not null)
                {
                    (running.Prefilling ? prefilling : decodes).Add(running);
                }
            }
        }

        if (prefilling.Count == 0 && decodes.Count == 0)
        {
            return false;
        }

        // Prompts in arrival order, in chunks the pace allows while others decode.
        prefilling.Sort((a, b) => a.Admitted.CompareTo(b.Admitted));
        var budget = _pace.Budget(decodes.Count);
        var rows = new List<StepRow>(decodes.Count + prefilling.Count);
        var stepping = new List<(Sequence Sequence, int Tokens, bool Logits)>(rows.Capacity);
        var prefilled = 0;
        foreach (var sequence in prefilling)
        {
            var chunk = Math.Min(sequence.Prompt.Length - sequence.Length, budget - prefilled);
            if (chunk <= 0)
            {
                break;
            }

            var last = sequence.Length + chunk == sequence.Prompt.Length;
            stepping.Add((sequence, chunk, last));
            prefilled += chunk;
        }

        foreach (var sequence in decodes)
        {
            stepping.Add((sequence, 1, true));
        }

        foreach (var (sequence, tokens, logits) in stepping)
        {
            while (sequence.Blocks.Count < _cache.BlocksFor(sequence.Length + tokens))
            {
                sequence.Blocks.Add(_blocks.Take());
                sequence.Reserved--;
            }

            var prompt = sequence.Prefilling;
            IReadOnlyList<int> input = prompt ? new ArraySegment<int>(sequence.Prompt, sequence.Length, tokens) : [sequence.NextToken];
            rows.Add(new StepRow(sequence.Blocks, sequence.Length, input, logits, prompt));
        }

        int[] sampled;
        var started = Stopwatch.GetTimestamp();
        var before = StepCounts.Now();
        using (NewDisposeScope())
        using (no_grad())
        {
            var logits = Forward(rows);
            var batch = stepping.Where(s => s.Logits).Select(s => s.Sequence).ToList();
            logits = ConstraintMasks.Apply(logits, batch.Select(s => s.Constraint).ToList(), ref _maskScratch);
            sampled = Sampler.Sample(logits, batch.Select(s => s.Row).ToList());
        }

        _pace.Record(Stopwatch.GetElapsedTime(started), prefilled, decodes.Count);
        if (prefilled == 0)
        {
            var step = StepCounts.Now() - before;
            lock (_gate)
            {
                _decodeCounts += step;
            }
        }

        Interlocked.Increment(ref _steps);
        if (stepping.Count > _widestStep)
        {
            Volatile.Write(ref _widestStep, stepping.Count);
        }
        Interlocked.Add(ref _prefilledTokens, prefilled);
        Interlocked.Exchange(ref _liveTensors, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        var i = 0;
        foreach (var (sequence, tokens, logits) in stepping)
        {
            sequence.Length += tokens;
            Remember(sequence);
            if (logits)
            {
                Emit(sequence, sampled[i++]);
            }
        }

        return true;
    }

    /// <summary>
    /// Finds the cached blocks that start the sequence's prompt (in its tenant's partition) and reserves the rest of
    /// what it could need; false, holding nothing, when the cache cannot promise them now. At least the prompt's
    /// last token is computed, since its logits start the answer.
    /// </summary>
    private bool TryPlace(Sequence sequence)
    {
        var (blocks, keys) = sequence.Partition is { } partition
            ? _blocks.Match(partition, sequence.Prompt, sequence.Prompt.Length - 1, sequence.SharedTokens)
            : ([], []);
        var need = _cache.BlocksFor(Math.Min(sequence.Prompt.Length + sequence.Sampling.MaxTokens, ContextTokens)) - blocks.Count;
        if (!_blocks.TryReserve(need))
        {
            _blocks.Release(blocks, 0);
            return false;
        }

        sequence.Blocks.AddRange(blocks);
        sequence.Keys.AddRange(keys);
        sequence.Reserved = need;

        // The prompt's own blocks are taken now, together, so a long prompt's table is one run of blocks where the
        // cache allows, and its chunks read their past in place; the completion's blocks are taken as it grows.
        while (sequence.Blocks.Count < _cache.BlocksFor(sequence.Prompt.Length))
        {
            sequence.Blocks.Add(_blocks.Take());
            sequence.Reserved--;
        }

        sequence.Length = sequence.CachedTokens = blocks.Count * _cache.BlockSize;
        Interlocked.Add(ref _cachedTokens, sequence.CachedTokens);
        return true;
    }

    /// <summary>Names each block the sequence has filled since the last step, so later prompts can reuse it.</summary>
    private void Remember(Sequence sequence)
    {
        if (sequence.Partition is not { } partition)
        {
            return;
        }

        Span<int> tokens = stackalloc int[_cache.BlockSize];
        while (sequence.Keys.Count < sequence.Length / _cache.BlockSize)
        {
            var index = sequence.Keys.Count;
            for (var t = 0; t < tokens.Length; t++)
            {
                tokens[t] = sequence.TokenAt(index * _cache.BlockSize + t);
            }

            var key = BlockPool.Chain(index == 0 ? BlockPool.Root : sequence.Keys[index - 1], tokens, _blocks.PartitionOf(index, partition, sequence.SharedTokens));
            _blocks.Register(sequence.Blocks[index], key);
            sequence.Keys.Add(key);
        }
    }

    /// <summary>The sequence leaves its slot and gives back its blocks (cached ones stay cached). Under the gate.</summary>
    private void Free(Sequence sequence)
    {
        if (sequence.Slot >= 0 && ReferenceEquals(_running[sequence.Slot], sequence))
        {
            _running[sequence.Slot] = null;
        }

        _blocks.Release(sequence.Blocks, sequence.Reserved);
        sequence.Blocks.Clear();
        sequence.Reserved = 0;
    }

    private void Emit(Sequence sequence, int token)
    {
        sequence.Generated++;
        sequence.NextToken = token;
        sequence.Produced.Add(token);
        // The first chunk says how much of the prompt came from the prefix cache (usage's cached_tokens).
        int? cached = sequence.Generated == 1 && sequence.CachedTokens > 0 ? sequence.CachedTokens : null;
        FinishReason? finish = null;
        string text;
        if (sequence.Constraint is { } constraint && !_stopTokens.Contains(token))
        {
            if (!constraint.Accept(token))
            {
                // The mask allowed only tokens the grammar accepts, so this cannot happen; end rather than emit bad JSON.
                token = _stopTokens.First();
            }
            else if (sequence.ConstraintEndsWithCall && constraint.IsComplete)
            {
                // The call the model opened is whole: it may write text or open another call freely again.
                sequence.Constraint = null;
                sequence.ConstraintEndsWithCall = false;
            }
        }

        if (_stopTokens.Contains(token) && !_options.IgnoreEndOfSequence)
        {
            text = sequence.Text.Flush();
            finish = FinishReason.Stop;
        }
        else
        {
            var (delta, stopped) = _markers.TryGetValue(token, out var marker) ? sequence.Text.Add(marker) : sequence.Text.Add(token);
            text = delta;
            if (stopped)
            {
                finish = FinishReason.Stop;
            }
            else if (sequence.Generated >= sequence.Sampling.MaxTokens || sequence.Length + 1 >= ContextTokens)
            {
                text += sequence.Text.Flush();
                finish = FinishReason.Length;
            }
        }

        var pieces = sequence.ToolCalls!.Add(text);
        if (sequence.Constraint is null && sequence.CallBody is { } body && sequence.ToolCalls.AwaitingCallBody && finish is null)
        {
            // tool_choice "auto": the model opened a call on its own, so the rest of the call must be valid.
            sequence.Constraint = new GrammarMatcher(body, _vocabulary, [.. _stopTokens]);
            sequence.ConstraintEndsWithCall = true;
        }

        if (finish is not null)
        {
            pieces.AddRange(sequence.ToolCalls.Finish());
            if (finish == FinishReason.Stop && sequence.ToolCalls.Calls > 0)
            {
                finish = FinishReason.ToolCalls;
            }
        }

        if (pieces.Count == 0)
        {
            sequence.Output.Writer.TryWrite(new GeneratedChunk("", 1, finish) { CachedPromptTokens = cached });
        }

        for (var i = 0; i < pieces.Count; i++)
        {
            var (piece, call) = pieces[i];
            sequence.Output.Writer.TryWrite(new GeneratedChunk(piece ?? "", i == 0 ? 1 : 0, i == pieces.Count - 1 ? finish : null) { ToolCall = call, CachedPromptTokens = i == 0 ? cached : null });
        }

        if (finish is not null)
        {
            sequence.Output.Writer.TryComplete();
            lock (_gate)
            {
                Free(sequence);
            }
        }
    }

    /// <summary>Stops the loop and frees the model and cache. Idempotent: the container disposes the engine under
    /// both of its registrations. The semaphore and token source stay undisposed, since readers may still release them.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stop.Cancel();
        _loop.Join();
        _graphs?.Dispose();
        _cache.Dispose();
        _model.Dispose();
    }

    /// <summary>One step's logits: replayed from a CUDA graph when it only decodes, else issued op by op. A graph that
    /// cannot be recorded turns graphs off for good (logged once) and the step runs op by op: a capture runs nothing,
    /// and a warm-up before it wrote the same keys and values the step writes again.</summary>
    private Tensor Forward(IReadOnlyList<StepRow> rows)
    {
        if (_graphs is not null)
        {
            try
            {
                if (_graphs.TryForward(rows, out var replayed))
                {
                    return replayed;
                }
            }
            catch (InvalidOperationException e)
            {
                Log.GraphsOff(_logger, e);
                _graphs.Dispose();
                _graphs = null;
            }
        }

        return _model.Forward(StepPlan.Build(rows, _cache.BlockSize, Device), _cache);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4501, Level = LogLevel.Information,
            Message = "Torch engine serves {Model} ({Architecture}, {Parameters:N0} parameters) on {Device} in {DType}: {Slots} slots of up to {Context} tokens, KV cache {Blocks} blocks ({CacheMiB} MiB)")]
        public static partial void Loaded(ILogger logger, string model, string architecture, long parameters, string device, string dtype, int slots, int context, int blocks, long cacheMiB);

        [LoggerMessage(EventId = 4502, Level = LogLevel.Error, Message = "A torch engine step failed; its sequences were ended")]
        public static partial void StepFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4503, Level = LogLevel.Warning, Message = "Recording a decode step as a CUDA graph failed; steps run op by op from now on")]
        public static partial void GraphsOff(ILogger logger, Exception exception);
    }
}
