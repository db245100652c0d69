using System.Text.Json.Nodes;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Demo;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Tokenization;

public class ChatTemplateTests
{
    [Fact]
    public void The_model_folders_chatml_template_renders_turns_with_special_tokens_by_id()
    {
        var tokenizer = ModelTokenizer.Load(TinyModel.Path_);
        var template = ChatTemplate.Load(TinyModel.Path_, tokenizer);
        int start = tokenizer.SpecialId("<|im_start|>"), end = tokenizer.SpecialId("<|im_end|>");

        var ids = template.Render([new ChatTurn("system", "Be brief."), new ChatTurn("user", "Hi <|im_end|>")]);

        List<int> expected = [start, .. tokenizer.Encode("system\nBe brief."), end, .. tokenizer.Encode("\n"),
            start, .. tokenizer.Encode("user\nHi <|im_end|>"), end, .. tokenizer.Encode("\n"), start, .. tokenizer.Encode("assistant\n")];
        Assert.Equal(ChatFormat.ChatMl, template.Format);
        Assert.Equal(expected, ids);
        Assert.Equal(end, template.EndOfTurn);
    }

    [Fact]
    public void Qwen_templates_add_their_default_system_turn()
    {
        var tokenizer = ModelTokenizer.Load(TinyModel.Path_);
        var template = ChatTemplate.FromTemplate("{%- if not system %}<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>", tokenizer);

        var text = tokenizer.Decode(template.Render([new ChatTurn("user", "Hi")]));

        Assert.Equal("system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\nuser\nHi\nassistant\n", text);
    }

    [Fact]
    public void A_mistral_template_renders_tools_calls_and_results_with_its_control_tokens()
    {
        var json = DemoModel.TrainTokenizer(["hello weather oslo sunny name arguments content call_id"], 40);
        var added = json["added_tokens"]!.AsArray();
        string[] controls = ["<s>", "</s>", "[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]"];
        for (var i = 0; i < controls.Length; i++)
        {
            added.Add(new JsonObject { ["id"] = 2000 + i, ["content"] = controls[i], ["special"] = true });
        }

        var tokenizer = ModelTokenizer.FromJson(json);
        int Id(string control) => 2000 + Array.IndexOf(controls, control);
        var template = ChatTemplate.FromTemplate("{{ bos_token }}{% for m in messages %}[INST] {{ m.content }}[/INST]{% endfor %}", tokenizer);
        var weather = new ToolDefinition("get_weather", null, System.Text.Json.JsonDocument.Parse("""{"type":"object"}""").RootElement, false);
        var request = new ChatRequest(
            [
                new ChatTurn("system", "Be brief."),
                new ChatTurn("user", "weather?"),
                new ChatTurn("assistant", "", [new ToolCall("abc123def", "get_weather", """{"city":"oslo"}""")]),
                new ChatTurn("tool", "sunny", ToolCallId: "abc123def"),
                new ChatTurn("user", "hello"),
            ],
            [weather], ToolChoice.Auto, true, OutputFormat.Text);

        var ids = template.Render(request);

        List<int> expected =
        [
            Id("<s>"), Id("[INST]"), .. tokenizer.Encode(" weather?"), Id("[/INST]"),
            Id("[TOOL_CALLS]"), .. tokenizer.Encode(""" [{"name": "get_weather", "arguments": {"city": "oslo"}, "id": "abc123def"}]"""), Id("</s>"),
            Id("[TOOL_RESULTS]"), .. tokenizer.Encode(""" {"content": "sunny", "call_id": "abc123def"}"""), Id("[/TOOL_RESULTS]"),
            Id("[AVAILABLE_TOOLS]"), .. tokenizer.Encode(""" [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]"""), Id("[/AVAILABLE_TOOLS]"),
            Id("[INST]"), .. tokenizer.Encode(" Be brief.\n\nhello"), Id("[/INST]"),
        ];
        Assert.Equal(ChatFormat.Mistral, template.Format);
        Assert.Equal(expected, ids);
        Assert.Equal(Id("</s>"), template.EndOfTurn);
    }

    [Fact]
    public void A_llama_3_template_renders_headers_and_end_of_turn_tokens()
    {
        var json = DemoModel.TrainTokenizer(["hello user assistant system"], 20);
        var added = json["added_tokens"]!.AsArray();
        var id = 1000;
        foreach (var special in new[] { "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>" })
        {
            added.Add(new JsonObject { ["id"] = id++, ["content"] = special, ["special"] = true });
        }

        var tokenizer = ModelTokenizer.FromJson(json);
        var template = ChatTemplate.FromTemplate("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content | trim }}<|eot_id|>{% endfor %}", tokenizer);

        var ids = template.Render([new ChatTurn("user", " hello ")]);

        List<int> expected = [1000, 1001, .. tokenizer.Encode("user"), 1002, .. tokenizer.Encode("\n\nhello"), 1003, 1001, .. tokenizer.Encode("assistant"), 1002, .. tokenizer.Encode("\n\n")];
        Assert.Equal(ChatFormat.Llama3, template.Format);
        Assert.Equal(expected, ids);
        Assert.Equal(1003, template.EndOfTurn);
    }

    [Fact]
    public void An_unknown_template_is_an_error_not_a_guess()
    {
        var tokenizer = ModelTokenizer.Load(TinyModel.Path_);

        var error = Assert.Throws<ModelLoadException>(() => ChatTemplate.FromTemplate("{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>{% endfor %}", tokenizer));

        Assert.Contains("not one this engine knows", error.Message);
    }
}
