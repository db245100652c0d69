using System.Buffers;
using System.Text.Json;

namespace Lanes.Inference.Api;

/// <summary>
/// Writes a whole JSON answer the way a client reads it fastest: serialised synchronously into a per-thread buffer,
/// sent with its Content-Length in one write and one flush (no chunked encoding, no async serialiser state).
/// </summary>
public static class JsonAnswers
{
    /// <summary>Reused per thread: everything between <see cref="ArrayBufferWriter{T}.ResetWrittenCount"/> and the copy
    /// into the response pipe is synchronous, so no other answer can use it meanwhile.</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    /// <summary>An answer that grew its buffer past this is not kept for the thread's next one.</summary>
    private const int KeptBufferBytes = 64 * 1024;

    public static Task WriteAsync(HttpContext http, object body, CancellationToken ct = default)
    {
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var json = _writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Wire.Json.Encoder, SkipValidation = true });
        json.Reset(buffer);
        JsonSerializer.Serialize(json, body, body.GetType(), Wire.Json);
        json.Flush();

        http.Response.ContentType = "application/json; charset=utf-8";
        http.Response.ContentLength = buffer.WrittenCount;
        var pipe = http.Response.BodyWriter;
        pipe.Write(buffer.WrittenSpan);
        if (buffer.Capacity > KeptBufferBytes)
        {
            (_buffer, _writer) = (null, null);
        }

        return pipe.FlushAsync(ct).AsTask();
    }
}
