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
        var json = _writer ??= new Utf8JsonWriter(pipe, new JsonWriterOptions { Encoder = Wire.Json.Encoder, SkipValidation = true });
        json.Reset(pipe);
        if (data is JsonNode node)
        {
            node.WriteTo(json, Wire.Json);
        }
        else
        {
            JsonSerializer.Serialize(json, data, data.GetType(), Wire.Json);
        }

        json.Flush();
        json.Reset(Detached); // so the thread's writer does not keep this response's pipe alive
        pipe.Write("\n\n"u8);
        return pipe.FlushAsync(http.RequestAborted);
    }
}
