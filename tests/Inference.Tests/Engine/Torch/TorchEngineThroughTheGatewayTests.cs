using System.Text;
using OpenAI.Chat;

namespace Lanes.Inference.Tests.Engine.Torch;

/// <summary>The gateway as Program.cs composes it, with the torch engine serving the tiny model as the demo id.</summary>
public class GatewayOnTorchEngine : GatewayOnKestrel
{
    /// <summary>Tokens per sequence; tool definitions need more room than plain chats.</summary>
    protected virtual int ContextTokens => 256;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Engine:Kind", "torch"),
        new("Engine:Torch:ModelPath", TinyModel.Path_),
        new("Engine:Torch:ModelId", "lanes-demo"),
        new("Engine:Torch:Slots", "4"),
        new("Engine:Torch:ContextTokens", ContextTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Engine:Torch:Device", "cpu"),
        new("Engine:Torch:Threads", "1"),
    ];
}

public class TorchEngineThroughTheGatewayTests(GatewayOnTorchEngine gateway) : IClassFixture<GatewayOnTorchEngine>
{
    [Fact]
    public async Task The_official_client_chats_and_streams_the_same_greedy_reply_with_usage()
    {
        var (_, key) = await gateway.TenantWithKey();
        var chat = gateway.Chat(key.Secret, "lanes-demo");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0 };
        ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("What is a lane?")];

        ChatCompletion completion = await chat.CompleteChatAsync(messages, options);
        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }

            usage ??= update.Usage;
        }

        Assert.Equal("lanes-demo", completion.Model);
        Assert.NotEmpty(completion.Content[0].Text);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 12);
        Assert.Equal(completion.Usage.OutputTokenCount == 12 ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 10);
        Assert.Equal(completion.Content[0].Text, streamed.ToString());
        Assert.Equal(completion.Usage.OutputTokenCount, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task An_agents_next_turn_is_served_from_its_prefix_cache_reported_as_cached_tokens_and_priced_at_the_cached_rate()
    {
        var (tenant, key) = await gateway.TenantWithKey();
        var chat = gateway.Chat(key.Secret, "lanes-demo");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0 };
        var system = string.Join(" ", Enumerable.Repeat("You are a coding agent: read, test, fix, report.", 6));
        List<ChatMessage> messages = [new SystemChatMessage(system), new UserChatMessage("Fix the build.")];

        ChatCompletion first = await chat.CompleteChatAsync(messages, options);
        messages.AddRange([new AssistantChatMessage(first.Content[0].Text), new UserChatMessage("Run the tests.")]);
        ChatCompletion second = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(0, first.Usage.InputTokenDetails?.CachedTokenCount ?? 0);
        var cached = second.Usage.InputTokenDetails.CachedTokenCount;
        Assert.True(cached >= 32 && cached < second.Usage.InputTokenCount, $"{cached} of {second.Usage.InputTokenCount} cached");

        // Spend counts cached prompt tokens at the model's cached-input rate (0.025 against 0.10 per million).
        await gateway.Get<Lanes.Inference.Metering.UsageFlusher>().FlushAsync(CancellationToken.None);
        var metered = await gateway.Get<Lanes.Billing.Keys.KeyService>().FindAsync(tenant.Id, key.Key.Id);
        var input = first.Usage.InputTokenCount + second.Usage.InputTokenCount;
        var output = first.Usage.OutputTokenCount + second.Usage.OutputTokenCount;
        Assert.Equal(((input - cached) * 0.10m + cached * 0.025m + output * 0.40m) / 1_000_000m, metered!.WindowSpentUsd);
    }

    [Fact]
    public async Task The_demo_model_is_listed()
    {
        var (_, key) = await gateway.TenantWithKey();

        var models = (await gateway.OpenAi(key.Secret).GetOpenAIModelClient().GetModelsAsync()).Value;

        Assert.Equal(["lanes-demo"], models.Select(m => m.Id));
    }
}
