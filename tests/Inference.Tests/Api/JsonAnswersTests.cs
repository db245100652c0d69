using System.Text;
using System.Text.Json;
using Lanes.Inference.Api;
using Microsoft.AspNetCore.Http;

namespace Lanes.Inference.Tests.Api;

/// <summary>Whole JSON answers: what the serializer writes, with a Content-Length that matches it.</summary>
public class JsonAnswersTests
{
    [Fact]
    public async Task An_answer_is_the_serialised_body_with_its_exact_length_and_a_large_one_does_not_spoil_the_next()
    {
        var small = new ChatCompletion("chatcmpl-1", "chat.completion", 1_764_000_000, "lanes-demo",
            [new ChatChoice(0, new ChatMessageOut("assistant", "ünïcødé \"quoted\" 🚀"), null, "stop")], new Usage(3, 4, 7), Wire.Fingerprint);
        var large = small with { Choices = [new ChatChoice(0, new ChatMessageOut("assistant", new string('x', 200_000)), null, "length")] };

        var (first, firstLength) = await AnswerAsync(small);
        var (big, bigLength) = await AnswerAsync(large);
        var (again, againLength) = await AnswerAsync(small);

        var expected = JsonSerializer.Serialize(small, Wire.Json);
        Assert.Equal((expected, (long)Encoding.UTF8.GetByteCount(expected)), (first, firstLength));
        Assert.Equal((JsonSerializer.Serialize(large, Wire.Json), (long)Encoding.UTF8.GetByteCount(big)), (big, bigLength));
        Assert.Equal((expected, firstLength), (again, againLength));
    }

    private static async Task<(string Body, long? Length)> AnswerAsync(object body)
    {
        var http = new DefaultHttpContext { Response = { Body = new MemoryStream() } };
        await JsonAnswers.WriteAsync(http, body);
        Assert.Equal("application/json; charset=utf-8", http.Response.ContentType);
        return (Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray()), http.Response.ContentLength);
    }
}
