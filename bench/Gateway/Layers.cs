using System.Text;
using Lanes.Inference;
using Lanes.Inference.Admission;
using Lanes.Inference.Api;
using Microsoft.Extensions.Options;

namespace Lanes.Gateway.Bench;

/// <summary>
/// The gateway's work on a chat completion, one layer more at each step, each answering the same bytes as the bare
/// endpoint, so the cost of each layer is the difference between neighbours (issue 17, G2).
/// </summary>
internal static class Layers
{
    /// <summary>In the order they are added; "full" is the real endpoint.</summary>
    public static readonly string[] Names = ["auth", "parse", "admission", "engine", "headers", "serialize"];

    public static void MapLayers(this WebApplication app, byte[] answer) =>
        app.MapPost("/layer/{layer}/chat/completions", (HttpContext http, string layer, AdmissionPipeline pipeline, IOptions<GatewayOptions> options) =>
            RunAsync(http, Array.IndexOf(Names, layer), pipeline, options.Value, answer));

    private static async Task RunAsync(HttpContext http, int depth, AdmissionPipeline pipeline, GatewayOptions options, byte[] answer)
    {
        // 0 auth: the key looked up by its keyed hash.
        if (pipeline.Authenticate(http.Request.Headers.Authorization, OpenAiApi.ConnectionItems(http)).IsRefused(out var refusal, out var key))
        {
            await Refuse(http, refusal);
            return;
        }

        // 4 headers: budget, window and lanes on the answer.
        if (depth >= 4 && OpenAiApi.Authenticate(http, pipeline, http.Request.Headers.Authorization).IsRefused(out refusal, out _))
        {
            await Refuse(http, refusal);
            return;
        }

        if (depth == 0)
        {
            await http.Request.Body.CopyToAsync(Stream.Null);
        }

        // 1 parse: the body read, checked and parsed into a call.
        else if ((await OpenAiApi.ReadBodyAsync(http, options, RequestParser.ParseChat)).IsRefused(out refusal, out var call))
        {
            await Refuse(http, refusal);
            return;
        }

        // 2 admission: request window, budget hold, lane; settled, metered and counted in metrics at the end.
        else if (depth >= 2)
        {
            if ((await pipeline.AdmitAsync(key, call, http.RequestAborted)).IsRefused(out refusal, out var admission))
            {
                await Refuse(http, refusal);
                return;
            }

            long tokens = 0;
            var text = new StringBuilder();
            if (depth >= 3)
            {
                // 3 engine: the scripted engine's tokens, gathered as the non-streaming answer gathers them.
                await foreach (var chunk in pipeline.Engine.GenerateAsync(admission.Prompt, admission.Sampling, http.RequestAborted))
                {
                    tokens += chunk.Tokens;
                    text.Append(chunk.Text);
                }
            }

            pipeline.Complete(admission, admission.Prompt.PromptTokens, 0, tokens, null, TimeSpan.Zero, "ok");
            if (depth >= 5)
            {
                // 5 serialize: the answer written by the serializer, as the endpoint writes it.
                var usage = new Usage(admission.Prompt.PromptTokens, tokens, admission.Prompt.PromptTokens + tokens);
                object body = new ChatCompletion(Wire.NewId("chatcmpl"), "chat.completion", 0, call.Model,
                    [new ChatChoice(0, new ChatMessageOut("assistant", text.ToString()), null, "stop")], usage, Wire.Fingerprint);
                await JsonAnswers.WriteAsync(http, body, http.RequestAborted);
                return;
            }
        }

        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.Body.WriteAsync(answer);
    }

    private static Task Refuse(HttpContext http, ApiRefusal refusal)
    {
        http.Response.StatusCode = refusal.Status;
        return Task.CompletedTask;
    }
}
