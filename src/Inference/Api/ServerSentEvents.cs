using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lanes.Inference.Api;

/// <summary>
/// Writes one server-sent event (an optional <c>event:</c> line and its JSON <c>data:</c>) straight into the response's
/// pipe and sends it with one flush: no intermediate string, stream or buffer per event.
/// </summary>
public static class ServerSentEvents
{
    /// <summary>One writer per thread, pointed at the response being written: serialising is synchronous, so no other
    /// event can use it between <see cref="Utf8JsonWriter.Reset(System.Buffers.IBufferWriter{byte})"/> and its flush.</summary>
    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    /// <summary>Where an idle writer points: never written to.</summary>
    private static readonly ArrayBufferWriter<byte> Detached = new(1);

    public static ValueTask<FlushResult> WriteAsync(HttpContext http, object data) => WriteAsync(http, null, data);

    /// <summary>The event nearly every streamed chat answer is made of: one piece of text. Written field by field,
    /// byte for byte what serialising a <see cref="ChatCompletionChunk"/> with one text delta (no log probabilities)
    /// writes, without building the chunk's four objects or looking its shape up.</summary>
    public static ValueTask<FlushResult> WriteChatTextAsync(HttpContext http, string id, long created, string model, string text)
    {
        var pipe = http.Response.BodyWriter;
        pipe.Write("data: "u8);
        var json = WriterFor(pipe);
        json.WriteStartObject();
        json.WriteString(Names.Id, id);
        json.WriteString(Names.Object, Names.ChatCompletionChunk);
        json.WriteNumber(Names.Created, created);
        json.WriteString(Names.Model, model);
        json.WriteString(Names.SystemFingerprint, Names.Fingerprint);
        json.WriteStartArray(Names.Choices);
        json.WriteStartObject();
        json.WriteNumber(Names.Index, 0);
        json.WriteStartObject(Names.Delta);
        json.WriteString(Names.Content, text);
        json.WriteEndObject();
        json.WriteNull(Names.Logprobs);
        json.WriteNull(Names.FinishReason);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
        return EndAsync(http, pipe, json);
    }

    public static ValueTask<FlushResult> WriteAsync(HttpContext http, string? name, object data)
    {
        var pipe = http.Response.BodyWriter;
        if (name is not null)
        {
            pipe.Write("event: "u8);
            Encoding.UTF8.GetBytes(name, pipe);
            pipe.Write("\n"u8);
        }

        pipe.Write("data: "u8);
        var json = WriterFor(pipe);
        if (data is JsonNode node)
        {
            node.WriteTo(json, Wire.Json);
        }
        else
        {
            JsonSerializer.Serialize(json, data, data.GetType(), Wire.Json);
        }

        return EndAsync(http, pipe, json);
    }

    private static Utf8JsonWriter WriterFor(PipeWriter pipe)
    {
        var json = _writer ??= new Utf8JsonWriter(pipe, new JsonWriterOptions { Encoder = Wire.Json.Encoder, SkipValidation = true });
        json.Reset(pipe);
        return json;
    }

    private static ValueTask<FlushResult> EndAsync(HttpContext http, PipeWriter pipe, Utf8JsonWriter json)
    {
        json.Flush();
        json.Reset(Detached); // so the thread's writer does not keep this response's pipe alive
        pipe.Write("\n\n"u8);
        return pipe.FlushAsync(http.RequestAborted);
    }

    /// <summary>Property names and constant values, encoded once.</summary>
    private static class Names
    {
        public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
        public static readonly JsonEncodedText Object = JsonEncodedText.Encode("object");
        public static readonly JsonEncodedText ChatCompletionChunk = JsonEncodedText.Encode("chat.completion.chunk");
        public static readonly JsonEncodedText Created = JsonEncodedText.Encode("created");
        public static readonly JsonEncodedText Model = JsonEncodedText.Encode("model");
        public static readonly JsonEncodedText SystemFingerprint = JsonEncodedText.Encode("system_fingerprint");
        public static readonly JsonEncodedText Fingerprint = JsonEncodedText.Encode(Wire.Fingerprint);
        public static readonly JsonEncodedText Choices = JsonEncodedText.Encode("choices");
        public static readonly JsonEncodedText Index = JsonEncodedText.Encode("index");
        public static readonly JsonEncodedText Delta = JsonEncodedText.Encode("delta");
        public static readonly JsonEncodedText Content = JsonEncodedText.Encode("content");
        public static readonly JsonEncodedText Logprobs = JsonEncodedText.Encode("logprobs");
        public static readonly JsonEncodedText FinishReason = JsonEncodedText.Encode("finish_reason");
    }
}
