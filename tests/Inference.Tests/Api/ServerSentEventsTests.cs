using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lanes.Inference.Api;
using Microsoft.AspNetCore.Http;

namespace Lanes.Inference.Tests.Api;

/// <summary>The event writer clients parse every streamed token with.</summary>
public class ServerSentEventsTests
{
    [Theory]
    [InlineData("Hello")]
    [InlineData(" \"quoted\" and \\ back\nslash\t<tag> & ünïcødé 🚀")]
    [InlineData("\u0001\u001f control")]
    [InlineData("")]
    public async Task A_text_piece_is_written_byte_for_byte_as_the_serialised_chunk_would_be(string text)
    {
        var http = Context();

        await ServerSentEvents.WriteChatTextAsync(http, "chatcmpl-1", 1_764_000_000, "lanes-demo", text);

        var chunk = new ChatCompletionChunk("chatcmpl-1", "chat.completion.chunk", 1_764_000_000, "lanes-demo", Wire.Fingerprint,
            [new ChatChunkChoice(0, new ChatDelta(null, text), null, null)], null);
        Assert.Equal($"data: {JsonSerializer.Serialize(chunk, Wire.Json)}\n\n", Written(http));
    }

    [Fact]
    public async Task Named_events_carry_their_name_and_each_event_is_flushed_whole()
    {
        var http = Context();

        await ServerSentEvents.WriteAsync(http, "content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = 0 });
        var first = Written(http);
        await ServerSentEvents.WriteAsync(http, new { done = true });

        Assert.Equal("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0}\n\n", first);
        Assert.Equal(first + "data: {\"done\":true}\n\n", Written(http));
    }

    private static DefaultHttpContext Context() => new() { Response = { Body = new MemoryStream() } };

    private static string Written(HttpContext http) => Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray());
}
