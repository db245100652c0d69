using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// Reads a sequence's generated text and separates tool calls from the answer, streaming each call as soon as it is
/// recognisable: the call's id and name once the name is complete, then its arguments in pieces as they are
/// generated (ChatML's <c>&lt;tool_call&gt;</c> blocks). A Llama 3 call is a whole JSON reply, and Mistral's calls a JSON
/// array after <c>[TOOL_CALLS]</c>: both are known only at the end.
/// Text that only looks like a call (an unknown tool, broken JSON) is passed on as text, never dropped.
/// </summary>
public sealed partial class ToolCallStream(ChatFormat format, IReadOnlyCollection<string> tools)
{
    private const string Open = "<tool_call>";
    private const string Close = "</tool_call>";

    private readonly StringBuilder _pending = new();
    private readonly bool _enabled = tools.Count > 0;
    private State _state = State.Outside;
    private int _argumentsStart = -1;
    private int _emittedArguments;
    private bool _llamaDecided;

    private enum State
    {
        Outside,
        InsideBlock,
        LlamaJson,
        MistralCalls,
    }

    /// <summary>
    /// The model has just written a call marker and nothing after it: what follows is the call's body (ChatML:
    /// <c>\n{"name": …}\n&lt;/tool_call&gt;</c>; Mistral: <c> [{…}]</c>). A marker that ends mid-token (other text already
    /// follows it) does not count, since a grammar can only start at a token boundary.
    /// </summary>
    public bool AwaitingCallBody => _pending.Length == 0 && (_state == State.MistralCalls || (_state == State.InsideBlock && _argumentsStart < 0));

    /// <summary>Tool calls begun so far.</summary>
    public int Calls { get; private set; }

    /// <summary>Adds generated text; returns the pieces to send now (text, or a piece of a tool call).</summary>
    public List<(string? Text, ToolCallDelta? Call)> Add(string text)
    {
        var output = new List<(string?, ToolCallDelta?)>();
        if (!_enabled)
        {
            if (text.Length > 0)
            {
                output.Add((text, null));
            }

            return output;
        }

        _pending.Append(text);
        Read(output, final: false);

        return output;
    }

    /// <summary>The generation ended: whatever is held is sent, as a call when it parses as one, else as text.</summary>
    public List<(string? Text, ToolCallDelta? Call)> Finish()
    {
        var output = new List<(string?, ToolCallDelta?)>();
        if (_enabled)
        {
            Read(output, final: true);
        }

        return output;
    }

    private void Read(List<(string?, ToolCallDelta?)> output, bool final)
    {
        switch (format)
        {
            case ChatFormat.Llama3:
                Llama(output, final);
                break;
            case ChatFormat.Mistral:
                Mistral(output, final);
                break;
            default:
                Hermes(output, final);
                break;
        }
    }

    /// <summary>Mistral: text until <c>[TOOL_CALLS]</c>, then a JSON array of calls, read whole at the end.</summary>
    private void Mistral(List<(string?, ToolCallDelta?)> output, bool final)
    {
        var pending = _pending.ToString();
        if (_state == State.Outside)
        {
            var at = pending.IndexOf(ToolFormat.MistralCalls, StringComparison.Ordinal);
            if (at < 0)
            {
                var keep = final ? 0 : PartialSuffix(pending, ToolFormat.MistralCalls);
                EmitText(output, pending[..^keep]);
                _pending.Remove(0, pending.Length - keep);
                return;
            }

            EmitText(output, pending[..at].TrimEnd());
            _pending.Remove(0, at + ToolFormat.MistralCalls.Length);
            _state = State.MistralCalls;
        }

        if (!final)
        {
            return;
        }

        var calls = _pending.ToString();
        _pending.Clear();
        try
        {
            using var doc = JsonDocument.Parse(calls.Trim());
            var items = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList() : [doc.RootElement];
            var parsed = items.Select(i => WholeCall(i.GetRawText())).ToList();
            if (parsed.Count > 0 && parsed.All(p => p is not null))
            {
                foreach (var call in parsed)
                {
                    output.Add((null, new ToolCallDelta(Calls, NewId(), call!.Value.Name, call.Value.Arguments)));
                    Calls++;
                }

                return;
            }
        }
        catch (JsonException)
        {
        }

        EmitText(output, ToolFormat.MistralCalls + calls);
    }

    private void Hermes(List<(string?, ToolCallDelta?)> output, bool final)
    {
        while (true)
        {
            var pending = _pending.ToString();
            if (_state == State.Outside)
            {
                var open = pending.IndexOf(Open, StringComparison.Ordinal);
                if (open >= 0)
                {
                    EmitText(output, pending[..open].TrimEnd('\n'));
                    _pending.Remove(0, open + Open.Length);
                    _state = State.InsideBlock;
                    _argumentsStart = -1;
                    _emittedArguments = 0;
                    continue;
                }

                // Hold back what could begin a call, and the line breaks a model writes before one.
                var keep = final ? 0 : PartialSuffix(pending, Open);
                while (!final && keep < pending.Length && pending[pending.Length - keep - 1] == '\n')
                {
                    keep++;
                }

                EmitText(output, pending[..^keep]);
                _pending.Remove(0, pending.Length - keep);
                return;
            }

            var close = pending.IndexOf(Close, StringComparison.Ordinal);
            if (_argumentsStart < 0 && StartOfCall().Match(pending) is { Success: true } start && tools.Contains(Unescape(start.Groups[1].Value)))
            {
                output.Add((null, new ToolCallDelta(Calls, NewId(), Unescape(start.Groups[1].Value), "")));
                Calls++;
                _argumentsStart = start.Length;
            }

            if (close < 0 && !final)
            {
                if (_argumentsStart >= 0)
                {
                    // Hold back from the last '}' on: it may close the call's object rather than the arguments.
                    var hold = pending.LastIndexOf('}');
                    var until = hold >= _argumentsStart ? hold : pending.Length - PartialSuffix(pending, Close);
                    EmitArguments(output, pending, until);
                }

                return;
            }

            var body = close >= 0 ? pending[..close] : pending;
            if (_argumentsStart >= 0)
            {
                var rest = body.TrimEnd();
                var end = rest.EndsWith('}') && close >= 0 ? rest.Length - 1 : rest.Length;
                EmitArguments(output, body, Math.Max(end, _argumentsStart + _emittedArguments));
            }
            else if (WholeCall(body) is { } call)
            {
                output.Add((null, new ToolCallDelta(Calls, NewId(), call.Name, call.Arguments)));
                Calls++;
            }
            else
            {
                EmitText(output, Open + body + (close >= 0 ? Close : ""));
            }

            _pending.Remove(0, close >= 0 ? close + Close.Length : pending.Length);
            _state = State.Outside;
            if (close < 0)
            {
                return;
            }
        }
    }

    private void Llama(List<(string?, ToolCallDelta?)> output, bool final)
    {
        var pending = _pending.ToString();
        if (!_llamaDecided)
        {
            var trimmed = pending.TrimStart();
            if (trimmed.Length == 0 && !final)
            {
                return;
            }

            _llamaDecided = true;
            _state = trimmed.StartsWith('{') ? State.LlamaJson : State.Outside;
        }

        if (_state == State.Outside)
        {
            EmitText(output, pending);
            _pending.Clear();
            return;
        }

        if (!final)
        {
            return;
        }

        if (WholeCall(pending) is { } call)
        {
            output.Add((null, new ToolCallDelta(Calls, NewId(), call.Name, call.Arguments)));
            Calls++;
        }
        else
        {
            EmitText(output, pending);
        }

        _pending.Clear();
    }

    private void EmitArguments(List<(string?, ToolCallDelta?)> output, string pending, int until)
    {
        var from = _argumentsStart + _emittedArguments;

        // Whitespace before the held-back brace may be padding before the call's own closing brace: it waits too.
        while (until > from && char.IsWhiteSpace(pending[until - 1]))
        {
            until--;
        }

        if (until > from)
        {
            output.Add((null, new ToolCallDelta(Calls - 1, null, null, pending[from..until])));
            _emittedArguments += until - from;
        }
    }

    private static void EmitText(List<(string?, ToolCallDelta?)> output, string text)
    {
        if (text.Length > 0)
        {
            output.Add((text, null));
        }
    }

    /// <summary>A complete call written as one JSON object: name and arguments (or Llama's parameters).</summary>
    private (string Name, string Arguments)? WholeCall(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text.Trim());
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                && tools.Contains(name.GetString()!)
                && (root.TryGetProperty("arguments", out var arguments) || root.TryGetProperty("parameters", out arguments)))
            {
                return (name.GetString()!, arguments.ValueKind == JsonValueKind.String ? arguments.GetString()! : arguments.GetRawText());
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    /// <summary>How many characters at the end of <paramref name="text"/> could begin <paramref name="marker"/>.</summary>
    private static int PartialSuffix(string text, string marker)
    {
        for (var n = Math.Min(marker.Length - 1, text.Length); n > 0; n--)
        {
            if (text.AsSpan(text.Length - n).SequenceEqual(marker.AsSpan(0, n)))
            {
                return n;
            }
        }

        return 0;
    }

    private static string Unescape(string jsonStringBody)
    {
        try
        {
            return JsonSerializer.Deserialize<string>($"\"{jsonStringBody}\"") ?? jsonStringBody;
        }
        catch (JsonException)
        {
            return jsonStringBody;
        }
    }

    private static string NewId() => $"call_{Guid.NewGuid():N}"[..29];

    [GeneratedRegex("""^\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*""")]
    private static partial Regex StartOfCall();
}
