using System.Text.Json;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch.Batching;
using Lanes.Inference.Engine.Torch.Constraints;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Batching;

/// <summary>With <c>tool_choice: "auto"</c> a call the model opens itself is constrained from its marker to its end.</summary>
public class CallBodyTriggerTests
{
    private static readonly ToolDefinition Weather = new("get_weather", null,
        JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""").RootElement, false);

    [Fact]
    public void The_stream_awaits_a_call_body_exactly_when_the_marker_ends_a_token()
    {
        var stream = new ToolCallStream(ChatFormat.ChatMl, ["get_weather"]);

        stream.Add("Let me check.");
        var beforeMarker = stream.AwaitingCallBody;
        stream.Add("<tool_call>");
        var afterMarker = stream.AwaitingCallBody;
        stream.Add("\n{\"name\"");

        Assert.Equal((false, true, false), (beforeMarker, afterMarker, stream.AwaitingCallBody));
    }

    [Fact]
    public void The_call_body_grammar_takes_a_valid_call_and_refuses_an_unknown_tool()
    {
        var tokenizer = ModelTokenizer.Load(TinyModel.Path_);
        var vocabulary = TokenVocabulary.Build(Enumerable.Range(0, tokenizer.VocabSize).Select(id => tokenizer.IsSpecial(id) ? [] : tokenizer.Bytes(id).ToArray()).ToList());
        var request = new ChatRequest([new ChatTurn("user", "Weather?")], [Weather], ToolChoice.Auto, true, OutputFormat.Text);
        var body = new GrammarCache(vocabulary).CallBodyFor(request, ChatFormat.ChatMl)!;

        var valid = new GrammarMatcher(body, vocabulary, [0]);
        var accepted = tokenizer.Encode("\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>").All(valid.Accept);
        var unknown = new GrammarMatcher(body, vocabulary, [0]);
        var acceptedUnknown = tokenizer.Encode("\n{\"name\": \"rm_rf\", \"arguments\": {}}\n</tool_call>").All(unknown.Accept);

        Assert.True(accepted && valid.IsComplete);
        Assert.False(acceptedUnknown);
    }

    [Fact]
    public void No_body_grammar_when_a_call_is_not_optional_or_no_tools_are_offered()
    {
        var cache = new GrammarCache(TokenVocabulary.Build([[(byte)'a']]));
        var auto = new ChatRequest([new ChatTurn("user", "x")], [Weather], ToolChoice.Auto, true, OutputFormat.Text);

        Assert.Null(cache.CallBodyFor(auto with { Tools = [] }, ChatFormat.ChatMl));
        Assert.Null(cache.CallBodyFor(auto with { ToolChoice = ToolChoice.None }, ChatFormat.ChatMl));
        Assert.Null(cache.CallBodyFor(auto, ChatFormat.Llama3));
    }
}
