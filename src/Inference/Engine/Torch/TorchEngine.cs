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
}

/// <summary>
/// Runs a Llama-family model in-process with continuous batching: a fixed set of slots, each with its KV cache
/// allocated once; every step prefills the sequences admitted since the last step and decodes one token for every
/// running sequence in one batched forward pass. A finished or cancelled sequence frees its slot before the next
/// step. The lane scheduler decides which request reaches the engine; the engine serves them in arrival order.
/// </summary>
public sealed partial class TorchEngine : IInferenceEngine, IDisposable
{
    private readonly TorchEngineOptions _options;
    private readonly ILogger _logger;
    private readonly LlamaModel _model;
    private readonly KvCache _cache;
    private readonly BpeTokenizer _tokenizer;
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
    private long _steps;
    private ConstraintMasks.Scratch? _maskScratch;
    private int _disposed;
    private long _liveTensors;

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
        _tokenizer = BpeTokenizer.Load(folder);
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
        var perSlot = 2L * config.Layers * config.KvHeads * ContextTokens * config.HeadDim * (cuda ? 2 : 4);
        Slots = _options.Slots > 0 ? _options.Slots : (int)Math.Clamp(_options.CacheMemoryMiB * 1024L * 1024 / perSlot, 1, 4096);
        _cache = new KvCache(config, Slots, ContextTokens, dtype, Device);
        _running = new Sequence?[Slots];
        _modelId = _options.ModelId is { Length: > 0 } id ? id : Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar));
        Models = [new EngineModel(_modelId, ContextTokens, Features: EngineFeatures.Tools | EngineFeatures.StructuredOutputs)];
        Log.Loaded(logger, _modelId, config.Architecture, config.Parameters, Device.type.ToString(), dtype.ToString(), Slots, ContextTokens, _cache.BytesPerSlot / 1024 / 1024);
        _loop = new Thread(Run) { IsBackground = true, Name = "torch-engine" };
        _loop.Start();
    }

    public IReadOnlyList<EngineModel> Models { get; }

    public int Slots { get; }

    public int ContextTokens { get; }

    public Device Device { get; }

    public BpeTokenizer Tokenizer => _tokenizer;

    public LlamaModel Model => _model;

    public long KvBytesPerSlot => _cache.BytesPerSlot;

    /// <summary>Forward steps run so far (each batches every running sequence).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>Tensors alive on the engine's thread after the last step: flat when every step frees what it made.</summary>
    public long LiveTensors => Interlocked.Read(ref _liveTensors);

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
                            _running[s] = null;
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

    /// <summary>One iteration: free cancelled slots, admit waiting sequences, run one batched forward pass, and
    /// hand each sequence its token. False when there was nothing to do.</summary>
    private bool Step()
    {
        var prefills = new List<Sequence>();
        var decodes = new List<Sequence>();
        lock (_gate)
        {
            for (var s = 0; s < _running.Length; s++)
            {
                if (_running[s] is { Gone: true } cancelled)
                {
                    cancelled.Output.Writer.TryComplete();
                    _running[s] = null;
                }
                else if (_running[s] is { } running)
                {
                    decodes.Add(running);
                }
            }

            var budget = _options.MaxPrefillTokensPerStep;
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

                if (prefills.Count > 0 && next.Prompt.Length > budget)
                {
                    break;
                }

                _waiting.Dequeue();
                budget -= next.Prompt.Length;
                next.Slot = s;
                _running[s] = next;
                prefills.Add(next);
            }
        }

        if (prefills.Count == 0 && decodes.Count == 0)
        {
            return false;
        }

        int[] sampled;
        using (NewDisposeScope())
        using (no_grad())
        {
            var plan = StepPlan.Batch(
                prefills.Select(p => (p.Slot, (IReadOnlyList<int>)p.Prompt)).ToList(),
                decodes.Select(d => (d.Slot, d.NextToken, d.Length)).ToList(),
                Device);
            var logits = _model.Forward(plan, _cache);
            var batch = prefills.Concat(decodes).ToList();
            logits = ConstraintMasks.Apply(logits, batch.Select(s => s.Constraint).ToList(), ref _maskScratch);
            sampled = Sampler.Sample(logits, batch.Select(s => s.Row).ToList());
        }

        Interlocked.Increment(ref _steps);
        Interlocked.Exchange(ref _liveTensors, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        var i = 0;
        foreach (var sequence in prefills.Concat(decodes))
        {
            sequence.Length += sequence.Length == 0 ? sequence.Prompt.Length : 1;
            Emit(sequence, sampled[i++]);
        }

        return true;
    }

    private void Emit(Sequence sequence, int token)
    {
        sequence.Generated++;
        sequence.NextToken = token;
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
            sequence.Output.Writer.TryWrite(new GeneratedChunk("", 1, finish));
        }

        for (var i = 0; i < pieces.Count; i++)
        {
            var (piece, call) = pieces[i];
            sequence.Output.Writer.TryWrite(new GeneratedChunk(piece ?? "", i == 0 ? 1 : 0, i == pieces.Count - 1 ? finish : null) { ToolCall = call });
        }

        if (finish is not null)
        {
            sequence.Output.Writer.TryComplete();
            lock (_gate)
            {
                _running[sequence.Slot] = null;
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
        _cache.Dispose();
        _model.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4501, Level = LogLevel.Information,
            Message = "Torch engine serves {Model} ({Architecture}, {Parameters:N0} parameters) on {Device} in {DType}: {Slots} slots of {Context} tokens, KV cache {SlotMiB} MiB per slot")]
        public static partial void Loaded(ILogger logger, string model, string architecture, long parameters, string device, string dtype, int slots, int context, long slotMiB);

        [LoggerMessage(EventId = 4502, Level = LogLevel.Error, Message = "A torch engine step failed; its sequences were ended")]
        public static partial void StepFailed(ILogger logger, Exception exception);
    }
}
