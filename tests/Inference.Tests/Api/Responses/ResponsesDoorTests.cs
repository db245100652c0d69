using System.Net;
using System.Text.Json;
using Lanes.Inference.Tests.Agents;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api.Responses;

public class ResponsesDoorTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    [Fact]
    public async Task The_openai_node_sdks_responses_client_creates_streams_and_runs_a_function_round_trip()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 5m);
        var (_, tiny) = await gateway.TenantWithKey(budget: 0.000001m);
        var environment = AgentClientTests.Environment(key.Secret, "scripted", "scripted", gateway.V1);
        environment["LANES_TINY_KEY"] = tiny.Secret;

        var (exit, output) = await NodeClient.RunAsync("node", ["openai-responses.mjs"], environment, TimeSpan.FromMinutes(2));

        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task The_dotnet_sdks_responses_client_gets_a_function_call_and_then_text()
    {
        var (_, key) = await gateway.TenantWithKey();
#pragma warning disable OPENAI001 // The Responses client is marked experimental in the .NET SDK.
        var responses = gateway.OpenAi(key.Secret).GetResponsesClient();
        var weather = OpenAI.Responses.ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""), false, "The weather now.");
        var options = new OpenAI.Responses.CreateResponseOptions("scripted", [OpenAI.Responses.ResponseItem.CreateUserMessageItem("call get_weather {\"city\":\"Oslo\"}")]) { Tools = { weather } };

        OpenAI.Responses.ResponseResult first = await responses.CreateResponseAsync(options);
        var call = Assert.IsType<OpenAI.Responses.FunctionCallResponseItem>(Assert.Single(first.OutputItems));
        options.InputItems.Add(call);
        options.InputItems.Add(OpenAI.Responses.ResponseItem.CreateFunctionCallOutputItem(call.CallId, "sunny"));
        OpenAI.Responses.ResponseResult answer = await responses.CreateResponseAsync(options);
#pragma warning restore OPENAI001

        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("tool said: sunny", answer.GetOutputText());
    }

    [Theory]
    [InlineData("""{"model":"scripted"}""", "input")]
    [InlineData("""{"model":"scripted","input":"hi","tools":[{"type":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"model":"scripted","input":[{"type":"function_call_output","call_id":"c9","output":"x"}]}""", "input[0].call_id")]
    [InlineData("""{"model":"scripted","input":"hi","text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}}}""", "text.format")]
    public async Task Bad_requests_get_openais_error_shape_naming_the_param(string body, string param)
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();

        using var response = await http.SendAsync(Post("/v1/responses", key.Secret, body));
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }
}
