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
        var tokenizer = BpeTokenizer.Load(TinyModel.Path_);
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
        var tokenizer = BpeTokenizer.Load(TinyModel.Path_);
        var template = ChatTemplate.FromTemplate("{%- if not system %}<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>", tokenizer);

        var text = tokenizer.Decode(template.Render([new ChatTurn("user", "Hi")]));

        Assert.Equal("system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\nuser\nHi\nassistant\n", text);
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

        var tokenizer = BpeTokenizer.FromJson(json);
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
        var tokenizer = BpeTokenizer.Load(TinyModel.Path_);

        var error = Assert.Throws<ModelLoadException>(() => ChatTemplate.FromTemplate("{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}", tokenizer));

        Assert.Contains("not one this engine knows", error.Message);
    }
}
