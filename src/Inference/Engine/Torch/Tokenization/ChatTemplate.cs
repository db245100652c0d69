using System.Text.Json;
using System.Text.Json.Nodes;
using Lanes.Inference.Engine.Torch.Checkpoint;

namespace Lanes.Inference.Engine.Torch.Tokenization;

public enum ChatFormat
{
    /// <summary><c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> (Qwen and the demo model).</summary>
    ChatMl,

    /// <summary><c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c> (Llama 3.x).</summary>
    Llama3,

    /// <summary><c>[INST] content[/INST] answer&lt;/s&gt;</c>, with <c>[AVAILABLE_TOOLS]</c>, <c>[TOOL_CALLS]</c> and
    /// <c>[TOOL_RESULTS]</c> (Mistral Instruct v0.3 and later).</summary>
    Mistral,
}

/// <summary>
/// Renders chat turns into token ids in the model's own format, recognised from the Jinja <c>chat_template</c> in
/// <c>tokenizer_config.json</c>. The engine does not run Jinja: it knows the formats below, and a template it does
/// not recognise is an error at load time rather than a guess that would make the model answer badly.
/// </summary>
public sealed class ChatTemplate
{
    private readonly ModelTokenizer _tokenizer;
    private readonly string? _defaultSystem;
    private readonly bool _llamaDatePreamble;
    private readonly int? _bos;
    private readonly int _start;
    private readonly int _end;
    private readonly int _headerEnd;

    private ChatTemplate(ChatFormat format, ModelTokenizer tokenizer, string? defaultSystem, bool llamaDatePreamble)
    {
        Format = format;
        _tokenizer = tokenizer;
        _defaultSystem = defaultSystem;
        _llamaDatePreamble = llamaDatePreamble;
        if (format == ChatFormat.ChatMl)
        {
            _start = tokenizer.SpecialId("<|im_start|>");
            _end = tokenizer.SpecialId("<|im_end|>");
        }
        else if (format == ChatFormat.Mistral)
        {
            _bos = tokenizer.TrySpecialId("<s>", out var bos) ? bos : null;
            _end = tokenizer.SpecialId("</s>");
        }
        else
        {
            _bos = tokenizer.SpecialId("<|begin_of_text|>");
            _start = tokenizer.SpecialId("<|start_header_id|>");
            _headerEnd = tokenizer.SpecialId("<|end_header_id|>");
            _end = tokenizer.SpecialId("<|eot_id|>");
        }
    }

    public ChatFormat Format { get; }

    /// <summary>The token that closes a turn: generation stops on it.</summary>
    public int EndOfTurn => _end;

    public static ChatTemplate Load(string folder, ModelTokenizer tokenizer)
    {
        var path = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(path))
        {
            throw new ModelLoadException($"The model folder '{folder}' has no tokenizer_config.json, so its chat template is unknown.");
        }

        JsonNode? template;
        try
        {
            template = JsonNode.Parse(File.ReadAllText(path))?["chat_template"];
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path} is not valid JSON: {e.Message}", e);
        }

        // Newer configs list named templates; "default" is the chat one.
        var text = template switch
        {
            JsonArray named => named.FirstOrDefault(t => t?["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>(),
            JsonValue v => v.GetValue<string>(),
            _ => null,
        };
        if (text is null && File.Exists(Path.Combine(folder, "chat_template.jinja")))
        {
            text = File.ReadAllText(Path.Combine(folder, "chat_template.jinja"));
        }

        return FromTemplate(text ?? throw new ModelLoadException($"{path} has no chat_template."), tokenizer);
    }

    public static ChatTemplate FromTemplate(string template, ModelTokenizer tokenizer)
    {
        if (template.Contains("<|im_start|>", StringComparison.Ordinal))
        {
            // Qwen's templates insert a default system turn when the conversation has none.
            const string qwen25 = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
            var system = template.Contains(qwen25, StringComparison.Ordinal) ? qwen25
                : template.Contains("'You are a helpful assistant.'", StringComparison.Ordinal) || template.Contains("You are a helpful assistant.<|im_end|>", StringComparison.Ordinal) ? "You are a helpful assistant."
                : null;
            return new ChatTemplate(ChatFormat.ChatMl, tokenizer, system, false);
        }

        if (template.Contains("<|start_header_id|>", StringComparison.Ordinal))
        {
            return new ChatTemplate(ChatFormat.Llama3, tokenizer, null, template.Contains("Cutting Knowledge Date", StringComparison.Ordinal));
        }

        if (template.Contains("[INST]", StringComparison.Ordinal))
        {
            return new ChatTemplate(ChatFormat.Mistral, tokenizer, null, false);
        }

        throw new ModelLoadException(
            $"The chat template is not one this engine knows (ChatML, Llama 3 or Mistral); it starts: {template[..Math.Min(80, template.Length)]}");
    }

    /// <summary>The prompt for the assistant's next turn, with tools, tool calls and tool results written the way
    /// the model was trained to read them (<see cref="ToolFormat"/>).</summary>
    public List<int> Render(ChatRequest request)
    {
        if (Format == ChatFormat.Mistral)
        {
            return RenderMistral(request);
        }

        var (turns, preamble) = ToolFormat.Apply(Format, request, _defaultSystem);
        return Render(turns, preamble);
    }

    /// <summary>The prompt for the assistant's next turn.</summary>
    public List<int> Render(IReadOnlyList<ChatTurn> turns, string? systemPreamble = null)
    {
        if (Format == ChatFormat.Mistral)
        {
            return RenderMistral(ChatRequest.Of(turns));
        }

        var ids = new List<int>();
        if (Format == ChatFormat.ChatMl)
        {
            if (_defaultSystem is not null && (turns.Count == 0 || turns[0].Role != "system"))
            {
                ChatMlTurn(ids, "system", _defaultSystem);
            }

            foreach (var turn in turns)
            {
                ChatMlTurn(ids, turn.Role, turn.Content);
            }

            ids.Add(_start);
            _tokenizer.Encode("assistant\n", ids);
            return ids;
        }

        ids.Add(_bos!.Value);
        var rest = turns;
        if (_llamaDatePreamble)
        {
            // Llama 3.1+/3.2 templates always open with a system turn carrying the knowledge cut-off.
            var system = turns.Count > 0 && turns[0].Role == "system" ? turns[0].Content.Trim() : "";
            Llama3Turn(ids, "system", systemPreamble + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" + system);
            rest = turns.Count > 0 && turns[0].Role == "system" ? turns.Skip(1).ToList() : turns;
        }

        foreach (var turn in rest)
        {
            Llama3Turn(ids, turn.Role, turn.Content.Trim());
        }

        ids.Add(_start);
        _tokenizer.Encode("assistant", ids);
        ids.Add(_headerEnd);
        _tokenizer.Encode("\n\n", ids);
        return ids;
    }

    private void ChatMlTurn(List<int> ids, string role, string content)
    {
        ids.Add(_start);
        _tokenizer.Encode($"{role}\n{content}", ids);
        ids.Add(_end);
        _tokenizer.Encode("\n", ids);
    }

    private void Llama3Turn(List<int> ids, string role, string content)
    {
        ids.Add(_start);
        _tokenizer.Encode(role, ids);
        ids.Add(_headerEnd);
        _tokenizer.Encode("\n\n" + content, ids);
        ids.Add(_end);
    }

    /// <summary>
    /// Mistral's v3 layout, as its template writes it: the system text joins the last user turn; the tool signatures
    /// stand in <c>[AVAILABLE_TOOLS]</c> just before it; a call is <c>[TOOL_CALLS] [{"name", "arguments", "id"}]</c>
    /// ending the turn; a result is <c>[TOOL_RESULTS] {"content", "call_id"}[/TOOL_RESULTS]</c>. Control words are
    /// written as the tokenizer's own tokens where it has them.
    /// </summary>
    private List<int> RenderMistral(ChatRequest request)
    {
        var ids = new List<int>();
        if (_bos is { } bos)
        {
            ids.Add(bos);
        }

        var system = string.Join("\n\n", request.Messages.Where(m => m.Role == "system").Select(m => m.Content));
        var rest = request.Messages.Where(m => m.Role != "system").ToList();
        var tools = request.ToolChoice.Mode == ToolChoiceMode.None ? [] : request.Tools;
        var lastUser = rest.FindLastIndex(m => m.Role == "user");
        for (var i = 0; i < rest.Count; i++)
        {
            var m = rest[i];
            switch (m.Role)
            {
                case "user":
                    if (i == lastUser && tools.Count > 0)
                    {
                        Control(ids, "[AVAILABLE_TOOLS]");
                        _tokenizer.Encode(" [" + string.Join(", ", tools.Select(ToolFormat.Signature)) + "]", ids);
                        Control(ids, "[/AVAILABLE_TOOLS]");
                    }

                    Control(ids, "[INST]");
                    _tokenizer.Encode(" " + (i == lastUser && system.Length > 0 ? system + "\n\n" : "") + m.Content, ids);
                    Control(ids, "[/INST]");
                    break;
                case "assistant" when m.ToolCalls is { Count: > 0 } calls:
                    Control(ids, "[TOOL_CALLS]");
                    _tokenizer.Encode(" [" + string.Join(", ", calls.Select(c =>
                        $"{{\"name\": {System.Text.Json.JsonSerializer.Serialize(c.Name)}, \"arguments\": {ToolFormat.PythonJson(c.Arguments)}, \"id\": {System.Text.Json.JsonSerializer.Serialize(c.Id)}}}")) + "]", ids);
                    ids.Add(_end);
                    break;
                case "assistant":
                    _tokenizer.Encode(" " + m.Content, ids);
                    ids.Add(_end);
                    break;
                case "tool":
                    Control(ids, "[TOOL_RESULTS]");
                    _tokenizer.Encode($" {{\"content\": {ToolFormat.PythonJson(m.Content)}, \"call_id\": {System.Text.Json.JsonSerializer.Serialize(m.ToolCallId)}}}", ids);
                    Control(ids, "[/TOOL_RESULTS]");
                    break;
            }
        }

        return ids;
    }

    private void Control(List<int> ids, string word)
    {
        if (_tokenizer.TrySpecialId(word, out var id))
        {
            ids.Add(id);
        }
        else
        {
            _tokenizer.Encode(word, ids);
        }
    }
}
