using System.Text;
using System.Text.Json;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch;

namespace Lanes.Inference.Tests.Engine.Torch;

/// <summary>
/// Tools and structured outputs on the torch engine with a tiny random-weight model: whatever it would say, the
/// constrained output is valid by construction.
/// </summary>
public class TorchToolCallingTests
{
    private static readonly JsonElement WeatherSchema = JsonDocument.Parse(
        """{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer"},"unit":{"enum":["C","F"]}},"required":["city","days","unit"],"additionalProperties":false}""").RootElement;

    private static readonly ToolDefinition Weather = new("get_weather", "The weather forecast.", WeatherSchema, true);

    private static readonly ToolDefinition Time = new("get_time", null, JsonDocument.Parse("""{"type":"object","properties":{"zone":{"type":"string","maxLength":8}},"required":["zone"]}""").RootElement, false);

    [Fact]
    public async Task A_required_tool_call_from_a_tiny_model_is_a_call_of_an_offered_tool_with_schema_valid_arguments()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 1536);
        var request = Request(new ToolChoice(ToolChoiceMode.Required));

        var (text, calls, finish) = await Generate(engine, request, new Sampling(200, Temperature: 0.8, Seed: 3));

        Assert.Equal(FinishReason.ToolCalls, finish);
        var call = Assert.Single(calls);
        Assert.Contains(call.Name, new[] { "get_weather", "get_time" });
        Assert.StartsWith("call_", call.Id);
        var schema = call.Name == "get_weather" ? WeatherSchema : Time.Parameters;
        Assert.True(Valid(schema, call.Arguments), call.Arguments);
        Assert.Equal("", text);
    }

    [Fact]
    public async Task A_named_tool_choice_calls_that_tool()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 1536);

        var (_, calls, _) = await Generate(engine, Request(new ToolChoice(ToolChoiceMode.Named, "get_time")), new Sampling(120, Temperature: 0));

        Assert.Equal("get_time", Assert.Single(calls).Name);
    }

    [Fact]
    public async Task A_json_schema_response_format_gives_text_that_validates()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 1536);
        var request = ChatRequest.Of([new ChatTurn("user", "Forecast for Oslo as JSON.")]) with
        {
            Format = new OutputFormat(OutputFormatKind.JsonSchema, WeatherSchema, "forecast", true),
        };

        var (text, calls, finish) = await Generate(engine, request, new Sampling(200, Temperature: 1.0, Seed: 11));

        Assert.Empty(calls);
        Assert.Equal(FinishReason.Stop, finish);
        Assert.True(Valid(WeatherSchema, text), text);
    }

    [Fact]
    public async Task A_json_object_response_format_gives_a_json_object()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 1536);
        var request = ChatRequest.Of([new ChatTurn("user", "Anything, as JSON.")]) with { Format = new OutputFormat(OutputFormatKind.JsonObject) };

        var (text, _, finish) = await Generate(engine, request, new Sampling(600, Temperature: 0.7, Seed: 5));

        // Any object is allowed, so a random model may still be writing one when max_tokens runs out; a finished one
        // is a JSON object, and an unfinished one is a valid start of one.
        Assert.StartsWith("{", text);
        if (finish == FinishReason.Stop)
        {
            Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
        }
    }

    [Fact]
    public async Task Twenty_four_requests_sharing_steps_get_the_answers_each_gets_alone_greedy_sampled_or_json_constrained()
    {
        // From 16 rows a CPU step computes its widest products transposed and hands the JSON masks and the sampler
        // logits in that layout; a request alone takes the plain product. No answer may tell the difference. Prompts
        // are prefilled whole as they arrive, so the requests decode side by side rather than staggered by pacing.
        using var engine = TinyModel.Engine(slots: 24, context: 1536, o => o.PrefillStretch = 100);
        var requests = Enumerable.Range(0, 24).Select(i => (
            Request: ChatRequest.Of([new ChatTurn("user", $"Request {i}: anything, as JSON.")]) with
            {
                Format = i % 3 == 0 ? new OutputFormat(OutputFormatKind.JsonObject) : OutputFormat.Text,
            },
            Sampling: new Sampling(48, Temperature: i % 2 == 0 ? 0 : 0.8, Seed: i))).ToList();
        var alone = new List<string>();
        foreach (var (request, sampling) in requests)
        {
            alone.Add((await Generate(engine, request, sampling)).Text);
        }

        Assert.Equal(1, engine.WidestStep);
        var together = await Task.WhenAll(requests.Select(r => Generate(engine, r.Request, r.Sampling)));

        Assert.Equal(alone, together.Select(t => t.Text));
        Assert.All(Enumerable.Range(0, 24).Where(i => i % 3 == 0), i => Assert.StartsWith("{", together[i].Text));
        Assert.True(engine.WidestStep >= 16, $"the widest step carried {engine.WidestStep} sequences");
    }

    [Fact]
    public async Task Tool_parameters_with_refs_to_their_own_defs_are_enforced()
    {
        // The shape Pydantic writes: "$ref"s point into the parameters' own "$defs".
        var parameters = JsonDocument.Parse("""
            {"type":"object","$defs":{"Place":{"type":"object","properties":{"city":{"type":"string","maxLength":10},"country":{"enum":["NO","SE"]}},"required":["city","country"],"additionalProperties":false}},
             "properties":{"where":{"$ref":"#/$defs/Place"}},"required":["where"],"additionalProperties":false}
            """).RootElement;
        using var engine = TinyModel.Engine(slots: 2, context: 1536);
        var request = new ChatRequest([new ChatTurn("user", "Where?")], [new ToolDefinition("locate", null, parameters, true)],
            new ToolChoice(ToolChoiceMode.Required), true, OutputFormat.Text);

        var (_, calls, finish) = await Generate(engine, request, new Sampling(200, Temperature: 0.9, Seed: 2));

        Assert.Equal(FinishReason.ToolCalls, finish);
        Assert.True(Valid(parameters, Assert.Single(calls).Arguments), calls[0].Arguments);
    }

    [Fact]
    public void An_unenforceable_tool_schema_is_refused_naming_the_tool_and_keyword()
    {
        using var engine = TinyModel.Engine(slots: 1, context: 1536);
        var parameters = JsonDocument.Parse("""{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]+$"}}}""").RootElement;
        var request = new ChatRequest([new ChatTurn("user", "x")], [Weather, new ToolDefinition("check", null, parameters, false)],
            new ToolChoice(ToolChoiceMode.Required), true, OutputFormat.Text);

        var refused = Assert.Throws<EngineRequestInvalid>(() => engine.PrepareChat("lanes-demo", request));

        Assert.StartsWith("tools[1].function.parameters", refused.Param);
    }

    [Fact]
    public void A_schema_the_engine_cannot_enforce_is_refused_naming_where()
    {
        using var engine = TinyModel.Engine(slots: 1, context: 256);
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]+$"}}}""").RootElement;
        var request = ChatRequest.Of([new ChatTurn("user", "x")]) with { Format = new OutputFormat(OutputFormatKind.JsonSchema, schema, "s", true) };

        var refused = Assert.Throws<EngineRequestInvalid>(() => engine.PrepareChat("lanes-demo", request));

        Assert.StartsWith("response_format.json_schema.schema", refused.Param);
    }

    [Fact]
    public void Tool_definitions_count_in_the_prompt()
    {
        using var engine = TinyModel.Engine(slots: 1, context: 1536);
        var plain = engine.PrepareChat("lanes-demo", [new ChatTurn("user", "Weather?")]).PromptTokens;

        var withTools = engine.PrepareChat("lanes-demo", Request(ToolChoice.Auto)).PromptTokens;

        Assert.True(withTools > plain + 50, $"{withTools} vs {plain}");
    }

    private static bool Valid(JsonElement schema, string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Json.Schema.JsonSchema.FromText(schema.GetRawText()).Evaluate(doc.RootElement).IsValid;
    }

    private static ChatRequest Request(ToolChoice choice) =>
        new([new ChatTurn("user", "Weather?")], [Weather, Time], choice, true, OutputFormat.Text);

    private static async Task<(string Text, List<ToolCall> Calls, FinishReason? Finish)> Generate(TorchEngine engine, ChatRequest request, Sampling sampling)
    {
        var text = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)>();
        FinishReason? finish = null;
        await foreach (var chunk in engine.GenerateAsync(engine.PrepareChat("lanes-demo", request), sampling, CancellationToken.None))
        {
            text.Append(chunk.Text);
            if (chunk.ToolCall is { } piece)
            {
                if (piece.Id is not null)
                {
                    calls[piece.Index] = (piece.Id, piece.Name!, new StringBuilder());
                }

                calls[piece.Index].Arguments.Append(piece.Arguments);
            }

            finish = chunk.Finish ?? finish;
        }

        return (text.ToString(), calls.Values.Select(c => new ToolCall(c.Id, c.Name, c.Arguments.ToString())).ToList(), finish);
    }
}
