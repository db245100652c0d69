using System.ClientModel;
using System.Net;
using System.Text.Json;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api;

/// <summary><c>GET /v1/models/{id}</c> as OpenAI's and Anthropic's SDKs retrieve a model, and unknown URLs in their shapes.</summary>
public class ModelsTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    [Fact]
    public async Task The_official_client_retrieves_a_model_and_gets_404_for_one_it_cannot_use()
    {
        var (_, key) = await gateway.TenantWithKey();
        var models = gateway.OpenAi(key.Secret).GetOpenAIModelClient();

        var model = (await models.GetModelAsync("scripted")).Value;
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("gpt-4o"));

        Assert.Equal("scripted", model.Id);
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task An_unknown_url_is_a_404_in_the_callers_error_shape()
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();

        using var openAi = await http.SendAsync(Post("/v1/embeddings", key.Secret, "{}"));
        using var anthropic = new HttpRequestMessage(HttpMethod.Get, "/v1/messages/batches");
        anthropic.Headers.Add("x-api-key", key.Secret);
        using var anthropicAnswer = await http.SendAsync(anthropic);

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (openAi.StatusCode, anthropicAnswer.StatusCode));
        Assert.Equal("unknown_url", JsonDocument.Parse(await openAi.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("not_found_error", JsonDocument.Parse(await anthropicAnswer.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());
    }
}
