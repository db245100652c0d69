using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;
using Lanes.Billing.Keys;
using Lanes.Inference.Metering;
using Lanes.Testing;

namespace Lanes.Inference.Tests.Api;

/// <summary>
/// Property: whatever the bytes of a request body, every door answers below 500 in its own error shape, a refusal of
/// a JSON object names the field it refuses, the gateway keeps serving, and only served requests are metered.
/// Each door gets 1,000 one-mutation variants of a body it serves (see <see cref="MalformedJson"/>).
/// </summary>
public partial class MalformedRequestTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    private const int Iterations = 1_000;

    private const string Tools = """
        "tools":[{"type":"function","function":{"name":"lookup","description":"Finds things","strict":false,
          "parameters":{"type":"object","properties":{"q":{"type":"string","maxLength":40},"n":{"type":"integer","minimum":1}},"required":["q"]}}}]
        """;

    private const string Chat = $$$"""
        {"model":"scripted","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","name":"ada","content":[{"type":"text","text":"Find x."}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":\"x\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"found x"},
          {"role":"user","content":"Thanks."}],
         {{{Tools}}},"tool_choice":"auto","parallel_tool_calls":true,
         "max_tokens":8,"temperature":0.5,"top_p":0.9,"seed":7,"stop":["\n\n"],"stream":false,"stream_options":null,"presence_penalty":0,
         "logit_bias":{},"logprobs":false,"top_logprobs":0,"n":1,"store":false,"user":"u-1","metadata":{"run":"fuzz"},"response_format":{"type":"text"}}
        """;

    private const string Completion = """
        {"model":"scripted","prompt":"Say hi.","max_tokens":8,"temperature":0.5,"top_p":1,"seed":3,"stop":"\n","stream":false,
         "echo":false,"n":1,"best_of":1,"suffix":null,"logprobs":0,"user":"u-1"}
        """;

    private const string Response = """
        {"model":"scripted","instructions":"Be brief.","input":[
          {"type":"message","role":"user","content":[{"type":"input_text","text":"Find x."}]},
          {"type":"function_call","call_id":"c1","name":"lookup","arguments":"{\"q\":\"x\"}"},
          {"type":"function_call_output","call_id":"c1","output":"found x"},
          {"role":"user","content":"Thanks."}],
         "tools":[{"type":"function","name":"lookup","description":"Finds things","strict":false,
           "parameters":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}],
         "tool_choice":"auto","parallel_tool_calls":true,"max_output_tokens":8,"temperature":0.5,"top_p":0.9,"stream":false,"store":false,
         "text":{"format":{"type":"text"}},"metadata":{"run":"fuzz"},"user":"u-1"}
        """;

    private const string Conversation = """
        "model":"scripted","system":[{"type":"text","text":"Be brief."}],"messages":[
          {"role":"user","content":[{"type":"text","text":"Find x."}]},
          {"role":"assistant","content":[{"type":"text","text":"Looking."},{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"x"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"found x"}],"is_error":false}]},
          {"role":"user","content":"Thanks."}],
         "tools":[{"name":"lookup","description":"Finds things","input_schema":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}],
         "tool_choice":{"type":"auto","disable_parallel_tool_use":false}
        """;

    private const string Message = $$$"""
        { {{{Conversation}}},"max_tokens":8,"temperature":0.5,"top_p":0.9,"top_k":5,"stop_sequences":["\n\nHuman:"],"stream":false,"metadata":{"user_id":"u-1"}}
        """;

    private const string TokenCount = $$"""{ {{Conversation}} }""";

    private enum Shape
    {
        OpenAi,
        Anthropic,
    }

    [Fact]
    public Task Malformed_chat_completions_requests_never_answer_5xx_and_record_nothing() =>
        FuzzAsync("/v1/chat/completions", Shape.OpenAi, meters: true, Chat, """{"model":"scripted","messages":[{"role":"user","content":"hi"}]}""");

    [Fact]
    public Task Malformed_completions_requests_never_answer_5xx_and_record_nothing() =>
        FuzzAsync("/v1/completions", Shape.OpenAi, meters: true, Completion, """{"model":"scripted","prompt":"hi"}""");

    [Fact]
    public Task Malformed_responses_requests_never_answer_5xx_and_record_nothing() =>
        FuzzAsync("/v1/responses", Shape.OpenAi, meters: true, Response, """{"model":"scripted","input":"hi"}""");

    [Fact]
    public Task Malformed_messages_requests_never_answer_5xx_and_record_nothing() =>
        FuzzAsync("/v1/messages", Shape.Anthropic, meters: true, Message, """{"model":"scripted","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""");

    [Fact]
    public Task Malformed_token_counts_never_answer_5xx_and_record_nothing() =>
        FuzzAsync("/v1/messages/count_tokens", Shape.Anthropic, meters: false, TokenCount, """{"model":"scripted","messages":[{"role":"user","content":"hi"}]}""");

    private static readonly string[] Methods = ["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

    private static readonly string[] Paths =
    [
        "/v1/models", "/v1/models/scripted", "/v1/models/{x}", "/v1/models/{x}/{x}", "/v1/models/", "/v1/usage", "/v1/{x}", "/v1/{x}/{x}", "/v1/",
        "/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/messages", "/v1/messages/count_tokens", "/v1/messages/{x}",
    ];

    /// <summary>Path segments and query values as sent on the wire: encoded invalid UTF-8, NUL, slashes, long. (No
    /// "..": clients resolve it, leaving /v1, which is not the gateway's API.)</summary>
    private static readonly string[] Hostile =
    [
        "scripted", "gpt-4o", "%ED%A0%80", "%FF", "%C0%80", "%00", "%2F", ".", "a%20b", "%F0%9F%99%82", "%25", "x.json", "-1",
        "9223372036854775808", "1e400", "null", "%7B%7D", new string('m', 2_000),
    ];

    private static readonly string[] QueryNames = ["limit", "after", "before", "order", "model", "api-version", "beta", "x"];

    private static readonly Gen<string> Requests = Gen.Select(
        Gen.Int[0, Methods.Length - 1], Gen.Int[0, Paths.Length - 1], Gen.Int[0, Hostile.Length - 1].Array[2],
        Gen.Select(Gen.Int[0, QueryNames.Length - 1], Gen.Int[0, Hostile.Length - 1]).Array[0, 3],
        (method, path, segments, query) =>
        {
            var at = 0;
            var target = System.Text.RegularExpressions.Regex.Replace(Paths[path], @"\{x\}", _ => Hostile[segments[at++]]);
            return $"{Methods[method]} {target}{(query.Length == 0 ? "" : "?" + string.Join('&', query.Select(q => $"{QueryNames[q.Item1]}={Hostile[q.Item2]}")))}";
        });

    [Fact]
    public async Task Malformed_paths_methods_and_query_strings_never_answer_5xx_and_record_nothing()
    {
        var (tenant, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();

        var sent = 0;
        await Gen.Select(Requests, Gen.Bool).SampleAsync(async (line, anthropic) =>
        {
            var (method, target) = (line[..line.IndexOf(' ')], line[(line.IndexOf(' ') + 1)..]);
            using var request = new HttpRequestMessage(new HttpMethod(method), target);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Secret);
            if (anthropic)
            {
                request.Headers.Add("anthropic-version", "2023-06-01");
            }

            using var response = await http.SendAsync(request);
            Interlocked.Increment(ref sent);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
            if (!response.IsSuccessStatusCode && method != "HEAD" && !IsKestrelRefusal(response, text))
            {
                // A door answers in its own shape, a shared path (models, an unknown URL) in the shape of the caller's SDK.
                using var body = JsonDocument.Parse(text);
                AssertRefusalShape(body.RootElement.TryGetProperty("type", out _) ? Shape.Anthropic : Shape.OpenAi, response.StatusCode, text, new MalformedBody("none", []));
            }
        }, iter: Iterations);
        Assert.Equal(Iterations, sent);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, "/v1/chat/completions", key.Secret, new MalformedBody("valid", Encoding.UTF8.GetBytes(Chat)))).Status);
        // The answer reaches the client just before its request is metered: wait until it has been.
        Assert.True(await gateway.Get<Lanes.Inference.Metering.RequestDrain>().WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
        await gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);
        var recorded = await gateway.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id);
        Assert.Equal((1L, 0L), (recorded!.WindowRequests, recorded.WindowThrottled));
    }

    /// <summary>Kestrel refuses a request target it cannot decode (a NUL, bad percent-encoding) or too long before the
    /// app runs, with an empty body and the connection closed: nothing the gateway can shape.</summary>
    private static bool IsKestrelRefusal(HttpResponseMessage response, string text) =>
        text.Length == 0 && response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestUriTooLong && response.Headers.ConnectionClose == true;

    /// <summary>What the fuzzing first found answering 500: bad UTF-8 in a tool schema no parser reads (it failed when
    /// the prompt was measured), a lone surrogate in a Responses tool schema (it failed writing the response), and an
    /// Anthropic message with no content blocks (the engine found no last message). <c>{BAD}</c> stands for the bytes
    /// C0 80, which are not UTF-8.</summary>
    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","required":["{BAD}"]}}}]}""", "tools[0].function.parameters.required[0]")]
    [InlineData("/v1/responses", """{"model":"scripted","input":"hi","tools":[{"type":"function","name":"f","parameters":{"type":"object","required":["\ud800"]}}]}""", "tools[0].parameters.required[0]")]
    [InlineData("/v1/responses", """{"model":"scripted","input":"hi","tool_choice":{"type":1}}""", "tool_choice")]
    [InlineData("/v1/messages", """{"model":"scripted","max_tokens":8,"messages":[{"role":"user","content":[]}]}""", "messages.0.content")]
    [InlineData("/v1/messages", """{"model":"scripted","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":{"type":"object","description":"{BAD}"}}]}""", "tools.0.input_schema.description")]
    public async Task Bodies_that_once_answered_500_are_400s_naming_the_field(string path, string body, string field)
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();
        var bytes = Encoding.UTF8.GetBytes(body);
        var at = bytes.AsSpan().IndexOf("{BAD}"u8);
        var sent = at < 0 ? bytes : [.. bytes[..at], 0xC0, 0x80, .. bytes[(at + 5)..]];

        var (status, text) = await SendAsync(http, path, key.Secret, new MalformedBody("regression", sent));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        using var error = JsonDocument.Parse(text);
        if (path == "/v1/messages")
        {
            Assert.StartsWith(field + ": ", error.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
        else
        {
            Assert.Equal(field, error.RootElement.GetProperty("error").GetProperty("param").GetString());
        }
    }

    /// <summary>Sends <see cref="Iterations"/> mutations of the <paramref name="valid"/> bodies (a rich one reaches
    /// every field; a minimal one lets a single mutation empty what the rich one has plenty of) to
    /// <paramref name="path"/>, then checks the gateway still serves and that usage holds exactly the served requests
    /// (none if the door only counts tokens).</summary>
    private async Task FuzzAsync(string path, Shape shape, bool meters, params string[] valid)
    {
        var (tenant, key) = await gateway.TenantWithKey(budget: 1_000m);
        using var http = gateway.Http();
        var validBodies = valid.Select(v => new MalformedBody("a valid body", Encoding.UTF8.GetBytes(v))).ToList();
        foreach (var body in validBodies)
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, path, key.Secret, body)).Status);
        }

        var served = validBodies.Count;
        var sent = 0;
        await Gen.OneOf([.. valid.Select(MalformedJson.Of)]).SampleAsync(async body =>
        {
            var (status, text) = await SendAsync(http, path, key.Secret, body);
            Interlocked.Increment(ref sent);
            Assert.True((int)status < 500, $"{(int)status}: {text}");
            if (status == HttpStatusCode.OK)
            {
                Interlocked.Increment(ref served);
                return;
            }

            Assert.InRange((int)status, 400, 499);
            AssertRefusalShape(shape, status, text, body);
        }, iter: Iterations);
        Assert.Equal(Iterations, sent);

        // Healthy afterwards: the process answers its health check and serves the valid request again.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, path, key.Secret, validBodies[0])).Status);
        served++;

        await gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);
        var recorded = await gateway.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id);
        Assert.Equal((meters ? served : 0, 0L), (recorded!.WindowRequests, recorded.WindowThrottled));
    }

    private static async Task<(HttpStatusCode Status, string Text)> SendAsync(HttpClient http, string path, string secret, MalformedBody body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body.ToContent() };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>OpenAI's <c>{"error":{"message","type","param","code"}}</c> or Anthropic's
    /// <c>{"type":"error","error":{"type","message"}}</c>; a 400 for a JSON object names its field (OpenAI in
    /// <c>param</c>, Anthropic as the message's "field: " prefix).</summary>
    private static void AssertRefusalShape(Shape shape, HttpStatusCode status, string text, MalformedBody body)
    {
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        var mustName = status == HttpStatusCode.BadRequest && body.IsJsonObject;
        if (shape == Shape.OpenAi)
        {
            var error = Assert.Single(root.EnumerateObject());
            Assert.Equal("error", error.Name);
            Assert.Equal(["message", "type", "param", "code"], error.Value.EnumerateObject().Select(p => p.Name));
            Assert.Equal(JsonValueKind.String, error.Value.GetProperty("message").ValueKind);
            Assert.Equal(JsonValueKind.String, error.Value.GetProperty("type").ValueKind);
            Assert.Equal(JsonValueKind.String, error.Value.GetProperty("code").ValueKind);
            Assert.True(!mustName || error.Value.GetProperty("param").ValueKind == JsonValueKind.String, $"no param named: {text}");
            return;
        }

        Assert.Equal(["type", "error"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", root.GetProperty("type").GetString());
        Assert.Equal(["type", "message"], root.GetProperty("error").EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.String, root.GetProperty("error").GetProperty("type").ValueKind);
        Assert.True(!mustName || FieldFirst().IsMatch(root.GetProperty("error").GetProperty("message").GetString()!), $"no field named: {text}");
    }

    /// <summary>"field: why"; the field may be any property name the fuzzer made, even empty or blank.</summary>
    [GeneratedRegex(@"^[^:]*: ")]
    private static partial Regex FieldFirst();
}
