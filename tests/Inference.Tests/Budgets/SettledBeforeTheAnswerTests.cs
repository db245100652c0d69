using System.Net;
using System.Text;
using Lanes.Inference.Auth;
using Lanes.Inference.Budgets;
using Lanes.Inference.LaneScheduling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Budgets;

/// <summary>
/// The gateway with a watch on every answer's last bytes: the moment they are handed to Kestrel (the whole body of
/// an answer with a Content-Length, or a stream's closing event) it calls <see cref="AtLastBytes"/>, so a test can
/// see what a client that has just read the answer would find.
/// </summary>
public sealed class GatewayWatchingLastBytes : GatewayOnKestrel
{
    private static readonly string[] Closings = ["data: [DONE]", "event: response.completed", "event: message_stop"];

    public Action? AtLastBytes { get; set; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(s => s.AddSingleton<IStartupFilter>(new Watch(this)));
    }

    private sealed class Watch(GatewayWatchingLastBytes gateway) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (http, call) =>
            {
                var original = http.Features.Get<IHttpResponseBodyFeature>()!;
                var watched = new StreamResponseBodyFeature(new LastBytes(original.Stream, http, () => gateway.AtLastBytes?.Invoke()), original);
                http.Features.Set<IHttpResponseBodyFeature>(watched);
                try
                {
                    await call(http);
                    await watched.CompleteAsync();
                }
                finally
                {
                    http.Features.Set(original);
                }
            });
            next(app);
        };
    }

    private sealed class LastBytes(Stream inner, HttpContext http, Action atLast) : Stream
    {
        private long _written;
        private bool _seen;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            See(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            See(buffer.Span);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void See(ReadOnlySpan<byte> bytes)
        {
            _written += bytes.Length;
            if (_seen)
            {
                return;
            }

            var text = Encoding.UTF8.GetString(bytes);
            if (http.Response.ContentLength == _written || Closings.Any(c => text.Contains(c, StringComparison.Ordinal)))
            {
                _seen = true;
                atLast();
            }
        }
    }
}

/// <summary>
/// An agent loop sends its next turn the moment it has read the last answer. By then the answer's hold must be
/// settled at what it cost and its lane free, on every door, streamed or not: otherwise the next turn finds its budget
/// still held by the turn it has just read (and is refused when the budget is nearly spent), and usage flushed right
/// after an answer may miss it.
/// </summary>
public class SettledBeforeTheAnswerTests(GatewayWatchingLastBytes gateway) : IClassFixture<GatewayWatchingLastBytes>
{
    public static TheoryData<string, bool> Doors => new()
    {
        { "/v1/chat/completions", false }, { "/v1/chat/completions", true },
        { "/v1/responses", false }, { "/v1/responses", true },
        { "/v1/messages", false }, { "/v1/messages", true },
    };

    [Theory]
    [MemberData(nameof(Doors))]
    public async Task When_an_answers_last_bytes_go_out_its_hold_is_settled_and_its_lane_is_free(string door, bool stream)
    {
        var (tenant, key) = await gateway.TenantWithKey(budget: 1m);
        var status = gateway.Get<KeyDirectory>().Find(key.Secret, DateTimeOffset.UtcNow)!;
        var body = door switch
        {
            "/v1/responses" => $$"""{"model":"scripted","input":"hi","max_output_tokens":4000,"stream":{{Lower(stream)}}}""",
            _ => $$"""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":4000,"stream":{{Lower(stream)}}}""",
        };
        BudgetView? budget = null;
        LaneView? lanes = null;
        gateway.AtLastBytes = () =>
        {
            budget = gateway.Get<BudgetLedger>().View(status, DateTimeOffset.UtcNow);
            lanes = gateway.Get<LaneScheduler>().View(tenant.Id, reserved: 1);
        };
        using var http = gateway.Http();

        using var answer = await http.SendAsync(Post(door, key.Secret, body));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await answer.Content.ReadAsStringAsync();

        Assert.NotNull(budget);
        Assert.Equal(0m, budget.Value.HeldUsd);
        Assert.True(budget.Value.SpentUsd > 0m, "the answer's cost is spent");
        Assert.Equal(0, lanes!.Value.InUse);
    }

    private static string Lower(bool value) => value ? "true" : "false";
}
