using Lanes.Inference.Admission;
using System.ClientModel;
using System.Net;
using System.Text.Json;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Inference.Api;
using Lanes.Inference.Auth;
using OpenAI.Chat;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Admission;

public class RefusalTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    private const string Hello = """{"model":"scripted","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task A_prompt_too_long_for_any_tokenizer_is_refused_before_it_is_tokenized()
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();
        var huge = new string('a', 8192 * AdmissionPipeline.MaxCharactersPerToken + 1);

        using var response = await http.SendAsync(Post("/v1/completions", key.Secret, $$"""{"model":"scripted","prompt":"{{huge}}","max_tokens":1}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("context_length_exceeded", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_bad_key_gets_401_in_openai_shape()
    {
        var (status, error, _) = await Send(Post("/v1/chat/completions", "lanes_" + new string('x', 43), Hello));
        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_api_key", "authentication_error"), (status, error.Code, error.Type));

        (status, error, _) = await Send(Post("/v1/chat/completions", null, Hello));
        Assert.Equal((HttpStatusCode.Unauthorized, "missing_api_key"), (status, error.Code));
    }

    [Fact]
    public async Task The_official_client_sees_the_status_of_a_refusal()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => gateway.Chat("lanes_" + new string('y', 43)).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task A_model_outside_the_allow_list_gets_403_and_an_unknown_model_404()
    {
        var (_, limited) = await gateway.TenantWithKey(models: ["lanes-demo"]);
        var (status, error, _) = await Send(Post("/v1/chat/completions", limited.Secret, Hello));
        Assert.Equal((HttpStatusCode.Forbidden, "model_not_allowed", "model"), (status, error.Code, error.Param));

        var (_, open) = await gateway.TenantWithKey();
        (status, error, _) = await Send(Post("/v1/chat/completions", open.Secret, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal((HttpStatusCode.NotFound, "model_not_found", "model"), (status, error.Code, error.Param));
    }

    [Theory]
    [InlineData("{not json", "invalid_json", null)]
    [InlineData("""{"model":"scripted"}""", "invalid_request", "messages")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"n":2}""", "unsupported_parameter", "n")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"audio":{"voice":"alloy"}}""", "unsupported_parameter", "audio")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"temperature":3}""", "invalid_request", "temperature")]
    [InlineData("""{"model":"scripted","messages":[{"role":"tool","content":"hi"}]}""", "invalid_request", "messages[0].tool_call_id")]
    [InlineData("""{"model":"scripted","messages":[{"role":"robot","content":"hi"}]}""", "invalid_request", "messages[0].role")]
    [InlineData("""{"model":"\ud800","messages":[{"role":"user","content":"hi"}]}""", "invalid_json", "model")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "invalid_request", "max_tokens")]
    public async Task Invalid_bodies_get_400_naming_the_parameter(string body, string code, string? param)
    {
        var (_, key) = await gateway.TenantWithKey();

        var (status, error, _) = await Send(Post("/v1/chat/completions", key.Secret, body));

        Assert.Equal((HttpStatusCode.BadRequest, code, param), (status, error.Code, error.Param));
        if (param is not null)
        {
            Assert.Contains(param.Split('[')[0], error.Message);
        }
    }

    [Fact]
    public async Task An_oversize_body_gets_413()
    {
        var (_, key) = await gateway.TenantWithKey();
        var huge = $$"""{"model":"scripted","messages":[{"role":"user","content":"{{new string('a', 1_100_000)}}"}]}""";

        var (status, error, _) = await Send(Post("/v1/chat/completions", key.Secret, huge));

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "request_too_large"), (status, error.Code));
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_gets_400()
    {
        var (_, key) = await gateway.TenantWithKey();
        var longPrompt = $$"""{"model":"scripted","messages":[{"role":"user","content":"{{new string('a', 40_000)}}"}]}""";

        var (status, error, _) = await Send(Post("/v1/chat/completions", key.Secret, longPrompt));

        Assert.Equal((HttpStatusCode.BadRequest, "context_length_exceeded"), (status, error.Code));
    }

    [Fact]
    public async Task Keys_of_an_ended_subscription_get_403_subscription_inactive()
    {
        var (tenant, key) = await gateway.TenantWithKey();
        await gateway.Get<SubscriptionService>().EndAsync(tenant.Id, "cancelled", "owner");
        await gateway.Get<KeyDirectoryRefresher>().RefreshAsync(CancellationToken.None);

        var (status, error, _) = await Send(Post("/v1/chat/completions", key.Secret, Hello));

        Assert.Equal((HttpStatusCode.Forbidden, "subscription_inactive"), (status, error.Code));
    }

    [Fact]
    public async Task A_revoked_key_stops_working_within_two_seconds()
    {
        var (tenant, key) = await gateway.TenantWithKey();
        Assert.Equal(HttpStatusCode.OK, (await Send(Post("/v1/chat/completions", key.Secret, Hello))).Status);

        await gateway.Get<KeyService>().RevokeAsync(tenant.Id, key.Key.Id, RevocationReason.User, "owner");
        var revokedAt = DateTime.UtcNow;
        (HttpStatusCode Status, Error Error, HttpResponseMessage _) answer;
        do
        {
            answer = await Send(Post("/v1/chat/completions", key.Secret, Hello));
        }
        while (answer.Status == HttpStatusCode.OK && DateTime.UtcNow - revokedAt < TimeSpan.FromSeconds(5));

        Assert.True(DateTime.UtcNow - revokedAt < TimeSpan.FromSeconds(2), $"took {DateTime.UtcNow - revokedAt}");
        Assert.Equal((HttpStatusCode.Unauthorized, "key_revoked"), (answer.Status, answer.Error.Code));
    }

    [Fact]
    public async Task On_one_kept_alive_connection_each_request_is_its_own_keys_and_a_revoked_key_is_refused_at_once()
    {
        var (tenant, key) = await gateway.TenantWithKey();
        var (_, other) = await gateway.TenantWithKey();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = gateway.BaseAddress };
        async Task<string?> KeyIdOf(string secret)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/usage");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
            using var response = await http.SendAsync(request);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return response.IsSuccessStatusCode ? body.RootElement.GetProperty("key").GetProperty("id").GetString() : body.RootElement.GetProperty("error").GetProperty("code").GetString();
        }

        Assert.Equal(key.Key.Id.ToString(), await KeyIdOf(key.Secret));
        Assert.Equal(key.Key.Id.ToString(), await KeyIdOf(key.Secret));
        Assert.Equal(other.Key.Id.ToString(), await KeyIdOf(other.Secret));
        Assert.Equal("invalid_api_key", await KeyIdOf("lanes_" + new string('w', 43)));
        Assert.Equal(key.Key.Id.ToString(), await KeyIdOf(key.Secret));

        // The connection kept the secret's hash, not the key's standing: the next request on it sees the revocation.
        await gateway.Get<KeyService>().RevokeAsync(tenant.Id, key.Key.Id, RevocationReason.User, "owner");
        await gateway.Get<KeyDirectoryRefresher>().RefreshAsync(CancellationToken.None);

        Assert.Equal("key_revoked", await KeyIdOf(key.Secret));
        Assert.Equal(other.Key.Id.ToString(), await KeyIdOf(other.Secret));
    }

    [Fact]
    public async Task A_refusal_body_has_exactly_openais_error_fields()
    {
        using var http = gateway.Http();
        using var response = await http.SendAsync(Post("/v1/chat/completions", "lanes_" + new string('z', 43), Hello));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var root = Assert.Single(body.RootElement.EnumerateObject());
        Assert.Equal("error", root.Name);
        Assert.Equal(["message", "type", "param", "code"], root.Value.EnumerateObject().Select(p => p.Name));
    }

    internal sealed record Error(string Message, string Type, string? Param, string Code);

    private async Task<(HttpStatusCode Status, Error Error, HttpResponseMessage Response)> Send(HttpRequestMessage request)
    {
        using var http = gateway.Http();
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return (response.StatusCode, new Error("", "", null, ""), response);
        }

        using var body = JsonDocument.Parse(text);
        var e = body.RootElement.GetProperty("error");
        return (response.StatusCode, new Error(e.GetProperty("message").GetString()!, e.GetProperty("type").GetString()!,
            e.GetProperty("param").GetString(), e.GetProperty("code").GetString()!), response);
    }
}
