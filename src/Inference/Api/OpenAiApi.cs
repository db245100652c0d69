using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Lanes.Billing.GatewayContract;
using Lanes.Inference.Admission;
using Lanes.Inference.Engine;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Api;

/// <summary>The OpenAI wire: <c>/v1/chat/completions</c>, <c>/v1/completions</c>, <c>/v1/models</c>, <c>/v1/usage</c>.</summary>
public static partial class OpenAiApi
{
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapPost("/chat/completions", ChatCompletionsAsync);
        v1.MapPost("/completions", CompletionsAsync);
        v1.MapGet("/models", ListModelsAsync);
        // Model ids may hold slashes ("org/model"), so the id is the rest of the path.
        v1.MapGet("/models/{**id}", GetModelAsync);
        v1.MapGet("/usage", UsageAsync);

        // Any other path or method under /v1 is a 404 in the caller's error shape, as OpenAI answers it, rather than
        // routing's empty 404 or 405 that SDKs cannot read.
        v1.MapFallback("{**path}", UnknownUrlAsync);
        return app;
    }

    private static Task ChatCompletionsAsync(HttpContext http, AdmissionPipeline pipeline, IOptions<GatewayOptions> options) =>
        AnswerAsync(http, GenerateAsync(http, pipeline, options.Value, RequestParser.ParseChat), WriteRefusalAsync);

    private static Task CompletionsAsync(HttpContext http, AdmissionPipeline pipeline, IOptions<GatewayOptions> options) =>
        AnswerAsync(http, GenerateAsync(http, pipeline, options.Value, RequestParser.ParseCompletion), WriteRefusalAsync);

    private static async Task<ApiRefusal?> GenerateAsync(HttpContext http, AdmissionPipeline pipeline, GatewayOptions options, Func<JsonElement, GenerationCall> parse)
    {
        if (Authenticate(http, pipeline, http.Request.Headers.Authorization).IsRefused(out var refusal, out var key))
        {
            return refusal;
        }

        return (await ReadBodyAsync(http, options, parse)).IsRefused(out refusal, out var call)
            ? refusal
            : await Generate(http, pipeline, key, call);
    }

    private static Task ListModelsAsync(HttpContext http, AdmissionPipeline pipeline) =>
        // Anthropic's SDKs list models on the same path with their own headers and shape.
        IsAnthropic(http) ? Anthropic.MessagesApi.ListModelsAsync(http, pipeline) : AnswerAsync(http, ListModels(http, pipeline), WriteRefusalAsync);

    private static async Task<ApiRefusal?> ListModels(HttpContext http, AdmissionPipeline pipeline)
    {
        if (Authenticate(http, pipeline, http.Request.Headers.Authorization).IsRefused(out var refusal, out var key))
        {
            return refusal;
        }

        await http.Response.WriteAsJsonAsync(new ModelList("list", [.. pipeline.ModelsFor(key).Select(m => new ModelEntry(m.Id, "model", 0, m.OwnedBy))]), Wire.Json);
        return null;
    }

    private static Task GetModelAsync(HttpContext http, AdmissionPipeline pipeline, string id) =>
        IsAnthropic(http) ? Anthropic.MessagesApi.GetModelAsync(http, pipeline, id) : AnswerAsync(http, GetModel(http, pipeline, id), WriteRefusalAsync);

    private static async Task<ApiRefusal?> GetModel(HttpContext http, AdmissionPipeline pipeline, string id)
    {
        if (Authenticate(http, pipeline, http.Request.Headers.Authorization).IsRefused(out var refusal, out var key)
            || ModelFor(pipeline, key, id).IsRefused(out refusal, out var model))
        {
            return refusal;
        }

        await http.Response.WriteAsJsonAsync(new ModelEntry(model.Id, "model", 0, model.OwnedBy), Wire.Json);
        return null;
    }

    private static Task UsageAsync(HttpContext http, AdmissionPipeline pipeline) => AnswerAsync(http, KeyUsage(http, pipeline), WriteRefusalAsync);

    private static async Task<ApiRefusal?> KeyUsage(HttpContext http, AdmissionPipeline pipeline)
    {
        if (Authenticate(http, pipeline, http.Request.Headers.Authorization).IsRefused(out var refusal, out var key))
        {
            return refusal;
        }

        await http.Response.WriteAsJsonAsync(UsageOf(pipeline, key), Wire.Json);
        return null;
    }

    private static Task UnknownUrlAsync(HttpContext http)
    {
        var unknown = ApiRefusal.NotFound("unknown_url", $"Unknown request URL: {http.Request.Method} {http.Request.Path}. See the README for the endpoints Lanes serves.");
        return IsAnthropic(http) ? Anthropic.MessagesApi.WriteRefusalAsync(http, unknown) : WriteRefusalAsync(http, unknown);
    }

    /// <summary>Anthropic's SDKs send these headers; their requests get Anthropic's shapes where a path is shared.</summary>
    internal static bool IsAnthropic(HttpContext http) =>
        http.Request.Headers.ContainsKey("anthropic-version") || http.Request.Headers.ContainsKey("x-api-key");

    /// <summary>A model this key may use, or 404 naming it: an id it may not use is as unknown as one never served.</summary>
    internal static Refusable<EngineModel> ModelFor(AdmissionPipeline pipeline, KeyStatus key, string id)
    {
        foreach (var model in pipeline.ModelsFor(key))
        {
            if (model.Id == id)
            {
                return model;
            }
        }

        return ApiRefusal.NotFound("model_not_found", $"The model '{id}' does not exist here or your key cannot use it. GET /v1/models lists the models your key can use.", "model");
    }

    /// <summary>The key a request is sent with; once known, its budget, window and lanes go out as headers on
    /// whatever the answer is, success or refusal, so clients pace themselves.</summary>
    internal static Refusable<KeyStatus> Authenticate(HttpContext http, AdmissionPipeline pipeline, string? authorization) =>
        WithStanding(http, pipeline, pipeline.Authenticate(authorization, ConnectionItems(http)));

    /// <summary>Where the connection keeps what outlives one request on it (the verified key's hash).</summary>
    internal static IDictionary<object, object?>? ConnectionItems(HttpContext http) => http.Features.Get<IConnectionItemsFeature>()?.Items;

    /// <summary>An authenticated caller's standing goes on the answer's headers, whatever the answer.</summary>
    internal static Refusable<KeyStatus> WithStanding(HttpContext http, AdmissionPipeline pipeline, Refusable<KeyStatus> authenticated)
    {
        if (!authenticated.IsRefused(out _, out var key))
        {
            http.Response.OnStarting(() =>
            {
                RateHeaders.Write(http.Response, pipeline.StandingOf(key), pipeline.Clock.GetUtcNow());
                return Task.CompletedTask;
            });
        }

        return authenticated;
    }

    /// <summary>Waits for a door's answer and sends its refusal, if any, in the door's shape
    /// (<paramref name="writeRefusal"/>). A refusal that comes after the response began (the engine failed
    /// mid-stream) can no longer change the status: the door's writer ends the stream as its wire says, or the
    /// connection is cut so the client sees an incomplete answer rather than a complete-looking one.</summary>
    internal static async Task AnswerAsync(HttpContext http, Task<ApiRefusal?> answering, Func<HttpContext, ApiRefusal, Task> writeRefusal)
    {
        ApiRefusal? refusal;
        try
        {
            refusal = await answering;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client left; its lane and hold were released on the way out.
            return;
        }

        if (refusal is not null)
        {
            if (http.Response.HasStarted)
            {
                // The status was sent with the first token, so the client only sees a cut or an error event: the log
                // is where an operator sees why (the code and the engine's reason, never the request's content).
                Log.AnswerCut(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenAiApi)), http.Request.Path, refusal.Code, refusal.Message);
            }

            await writeRefusal(http, refusal);
        }
    }

    /// <summary>A refusal in OpenAI's shape, with Retry-After when the client should come back; mid-stream, the
    /// connection is cut (OpenAI's streams have no error event).</summary>
    internal static Task WriteRefusalAsync(HttpContext http, ApiRefusal refusal)
    {
        if (http.Response.HasStarted)
        {
            http.Abort();
            return Task.CompletedTask;
        }

        SetStatus(http.Response, refusal);
        return http.Response.WriteAsJsonAsync(refusal.ToBody(), Wire.Json);
    }

    /// <summary>The refusal's status, and Retry-After in whole seconds (at least one) when it has one.</summary>
    internal static void SetStatus(HttpResponse response, ApiRefusal refusal)
    {
        response.StatusCode = refusal.Status;
        if (refusal.RetryAfter is { } retry)
        {
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Reads and parses a request body. Total: whatever the bytes are, the outcome is a call or a 4xx
    /// refusal (naming the field where there is one), never an exception that answers 500.</summary>
    internal static async Task<Refusable<GenerationCall>> ReadBodyAsync(
        HttpContext http, GatewayOptions options, Func<JsonElement, GenerationCall> parse, JsonPathStyle paths = JsonPathStyle.Brackets)
    {
        if (http.Request.ContentLength > options.MaxRequestBytes)
        {
            return TooLarge(options);
        }

        // Read at most one byte past the limit, whatever Content-Length claimed (or if chunked), into a pooled buffer.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(http.Request.ContentLength ?? 16 * 1024, options.MaxRequestBytes) + 1);
        try
        {
            var length = 0;
            int read;
            while ((read = await http.Request.Body.ReadAsync(buffer.AsMemory(length), http.RequestAborted)) > 0)
            {
                length += read;
                if (length > options.MaxRequestBytes)
                {
                    return TooLarge(options);
                }

                if (length == buffer.Length)
                {
                    var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, options.MaxRequestBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            return Parse(buffer.AsMemory(0, length), parse, paths);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Refusable<GenerationCall> Parse(ReadOnlyMemory<byte> body, Func<JsonElement, GenerationCall> parse, JsonPathStyle paths)
    {
        try
        {
            if (UnreadableJson.Find(body.Span, paths) is { } fault)
            {
                return ApiRefusal.InvalidRequest(
                    fault.Path is null ? $"The request body {fault.Problem}."
                    : paths == JsonPathStyle.Dots ? $"{fault.Path}: {fault.Problem}." : $"'{fault.Path}' {fault.Problem}.",
                    fault.Path, fault.Code);
            }

            using var doc = JsonDocument.Parse(body);
            return parse(doc.RootElement);
        }
        catch (InvalidRequestBody invalid)
        {
            return invalid.ToRefusal();
        }
        catch (JsonException)
        {
            return ApiRefusal.InvalidRequest("The request body is not valid JSON.", code: "invalid_json");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // Every string and number is readable once UnreadableJson passed, so this is a parser that read a value
            // as the wrong type without checking: still the request's fault, never a 500. The fuzz tests, which
            // require every such 400 to name its field, are what keep this path unused.
            return ApiRefusal.InvalidRequest("The request body holds a value of a type this API does not accept here.");
        }
    }

    private static ApiRefusal TooLarge(GatewayOptions options) => ApiRefusal.TooLarge($"The request body is larger than {options.MaxRequestBytes / 1024} KiB.");

    private static async Task<ApiRefusal?> Generate(HttpContext http, AdmissionPipeline pipeline, KeyStatus key, GenerationCall call)
    {
        if ((await pipeline.AdmitAsync(key, call, http.RequestAborted)).IsRefused(out var refusal, out var admission))
        {
            return refusal;
        }

        var engine = pipeline.Engine;
        var id = Wire.NewId(call.IsChat ? "chatcmpl" : "cmpl");
        var created = pipeline.Clock.GetUtcNow().ToUnixTimeSeconds();
        var started = Stopwatch.GetTimestamp();
        TimeSpan? firstToken = null;
        long tokens = 0;
        long promptTokens = admission.Prompt.PromptTokens;
        long cachedTokens = 0;
        FinishReason finish = FinishReason.Stop;
        var outcome = "ok";
        try
        {
            var text = call.Stream ? null : new StringBuilder();

            // The stream opens with the engine's first chunk, so an engine that fails at once still gets a
            // proper error status instead of a cut stream.
            async Task OpenStreamAsync()
            {
                if (!call.Stream || http.Response.HasStarted)
                {
                    return;
                }

                http.Response.ContentType = "text/event-stream";
                http.Response.Headers.CacheControl = "no-cache";
                if (call.IsChat)
                {
                    await Sse(http, new ChatCompletionChunk(id, "chat.completion.chunk", created, call.Model, Wire.Fingerprint,
                        [new ChatChunkChoice(0, new ChatDelta("assistant", ""), null, null)], null));
                }
            }

            // Made when a tool call or log probabilities first arrive: most answers have neither.
            SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>? calls = null;
            System.Text.Json.Nodes.JsonArray? logprobs = null;
            await foreach (var chunk in engine.GenerateAsync(admission.Prompt, admission.Sampling, http.RequestAborted))
            {
                await OpenStreamAsync();
                firstToken ??= pipeline.Clock.GetUtcNow() - admission.ArrivedAt;
                tokens += chunk.Tokens;
                promptTokens = chunk.PromptTokens ?? promptTokens;
                cachedTokens = chunk.CachedPromptTokens ?? cachedTokens;
                finish = chunk.Finish ?? finish;
                if (text is not null)
                {
                    text.Append(chunk.Text);
                    if (chunk.ToolCall is { } piece)
                    {
                        Collect(calls ??= [], piece);
                    }

                    if (chunk.Logprobs is { } lp && lp.ValueKind == JsonValueKind.Object && lp.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var entry in content.EnumerateArray())
                        {
                            (logprobs ??= []).Add(System.Text.Json.Nodes.JsonNode.Parse(entry.GetRawText()));
                        }
                    }

                    continue;
                }

                if (chunk.ToolCall is { } delta)
                {
                    await Sse(http, new ChatCompletionChunk(id, "chat.completion.chunk", created, call.Model, Wire.Fingerprint,
                        [new ChatChunkChoice(0, new ChatDelta(null, null) { ToolCalls = [ToChunk(delta)] }, null, null)], null));
                }

                if (chunk.Text.Length > 0 && call.IsChat && chunk.Logprobs is null)
                {
                    await ServerSentEvents.WriteChatTextAsync(http, id, created, call.Model, chunk.Text);
                }
                else if (chunk.Text.Length > 0)
                {
                    object piece = call.IsChat
                        ? new ChatCompletionChunk(id, "chat.completion.chunk", created, call.Model, Wire.Fingerprint,
                            [new ChatChunkChoice(0, new ChatDelta(null, chunk.Text), chunk.Logprobs, null)], null)
                        : new TextCompletion(id, "text_completion", created, call.Model, [new TextChoice(chunk.Text, 0, chunk.Logprobs, null)], null, Wire.Fingerprint);
                    await Sse(http, piece);
                }
            }

            pipeline.Complete(admission, promptTokens, cachedTokens, tokens, firstToken, Stopwatch.GetElapsedTime(started), outcome);
            await OpenStreamAsync();
            var usage = new Usage(promptTokens, tokens, promptTokens + tokens) { PromptTokensDetails = cachedTokens > 0 ? new PromptTokensDetails(cachedTokens) : null };
            var reason = Wire.FinishReasonOf(finish);
            if (text is not null)
            {
                object? choiceLogprobs = logprobs is { Count: > 0 } ? new System.Text.Json.Nodes.JsonObject { ["content"] = logprobs, ["refusal"] = null } : null;
                object body = call.IsChat
                    ? new ChatCompletion(id, "chat.completion", created, call.Model, [new ChatChoice(0, Message(text.ToString(), calls), choiceLogprobs, reason)], usage, Wire.Fingerprint)
                    : new TextCompletion(id, "text_completion", created, call.Model, [new TextChoice(text.ToString(), 0, choiceLogprobs, reason)], usage, Wire.Fingerprint);
                await JsonAnswers.WriteAsync(http, body, http.RequestAborted);
                return null;
            }

            object last = call.IsChat
                ? new ChatCompletionChunk(id, "chat.completion.chunk", created, call.Model, Wire.Fingerprint, [new ChatChunkChoice(0, new ChatDelta(null, null), null, reason)], null)
                : new TextCompletion(id, "text_completion", created, call.Model, [new TextChoice("", 0, null, reason)], null, Wire.Fingerprint);
            await Sse(http, last);
            if (call.IncludeUsage)
            {
                object usageChunk = call.IsChat
                    ? new ChatCompletionChunk(id, "chat.completion.chunk", created, call.Model, Wire.Fingerprint, [], usage)
                    : new TextCompletion(id, "text_completion", created, call.Model, [], usage, Wire.Fingerprint);
                await Sse(http, usageChunk);
            }

            await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted);
            return null;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            outcome = "client_cancelled";
            throw;
        }
        catch (EngineRequestInvalid invalid) when (!http.Response.HasStarted)
        {
            // The engine found the request impossible before producing anything (nothing served, nothing charged).
            outcome = "invalid_request";
            promptTokens = 0;
            return ApiRefusal.FromEngine(invalid);
        }
        catch (EngineUnavailable e)
        {
            // Nothing was served, so nothing is charged.
            outcome = "upstream_error";
            promptTokens = 0;
            return ApiRefusal.FromEngine(e);
        }
        finally
        {
            // Tokens generated before a disconnect are counted; the lane is free for the next request at once.
            pipeline.Complete(admission, promptTokens, cachedTokens, tokens, firstToken, Stopwatch.GetElapsedTime(started), outcome);
        }
    }

    private static void Collect(SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)> calls, ToolCallDelta delta)
    {
        if (!calls.TryGetValue(delta.Index, out var call))
        {
            call = (delta.Id ?? Wire.NewId("call"), delta.Name ?? "", new StringBuilder());
            calls[delta.Index] = call;
        }

        call.Arguments.Append(delta.Arguments);
    }

    /// <summary>The assistant's message: content is null when it only called tools, as OpenAI sends it.</summary>
    private static ChatMessageOut Message(string text, SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>? calls) =>
        calls is null or { Count: 0 }
            ? new ChatMessageOut("assistant", text)
            : new ChatMessageOut("assistant", text.Length > 0 ? text : null)
            {
                ToolCalls = calls.Values.Select(c => new ToolCallOut(c.Id, "function", new FunctionCallOut(c.Name, c.Arguments.ToString()))).ToList(),
            };

    private static ToolCallChunk ToChunk(ToolCallDelta d) =>
        new(d.Index, d.Id, d.Id is null ? null : "function", new FunctionDelta(d.Name, d.Arguments ?? (d.Id is null ? null : "")));

    private static async Task Sse(HttpContext http, object chunk) => await ServerSentEvents.WriteAsync(http, chunk);

    private static object UsageOf(AdmissionPipeline pipeline, KeyStatus key)
    {
        var s = pipeline.StandingOf(key);
        return new
        {
            @object = "lanes.usage",
            key = new
            {
                id = key.Id,
                name = key.Name,
                window = new { start = s.Budget.Window.Start, end = s.Budget.Window.End },
                budget_usd = new { limit = s.Budget.LimitUsd, spent = s.Budget.SpentUsd, held = s.Budget.HeldUsd, remaining = s.Budget.RemainingUsd },
                resets_at = s.Budget.Window.End,
            },
            lanes = new { reserved = s.Lanes.Reserved, in_use = s.Lanes.InUse, borrowed = s.Lanes.Borrowed, queued = s.Lanes.Queued },
            requests = new
            {
                limit = s.RequestLimit,
                used = s.RequestsUsed,
                remaining = Math.Max(0, s.RequestLimit - s.RequestsUsed),
                resets_at = s.RequestWindow.End,
            },
        };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4401, Level = LogLevel.Warning, Message = "An answer on {Path} failed after it began ({Code}): {Reason}")]
        public static partial void AnswerCut(ILogger logger, string path, string code, string reason);
    }
}
