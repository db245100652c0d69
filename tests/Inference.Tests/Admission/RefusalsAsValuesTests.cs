using System.Net;
using System.Runtime.ExceptionServices;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Admission;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneInTheProcess
{
    /// <summary>Tests that observe the whole process (its exceptions) run with no other test beside them.</summary>
    public const string Name = "alone in the process";
}

/// <summary>A flood of refused requests is the cheapest traffic a gateway serves: each refusal is a value written to
/// the wire, never an exception thrown and caught (stack unwinding costs more than the rest of a refusal).</summary>
[Collection(AloneInTheProcess.Name)]
public class RefusalsAsValuesTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    private const string Hello = """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":64}""";

    [Fact]
    public async Task Refusing_requests_throws_no_exception_in_the_gateway()
    {
        var (_, open) = await gateway.TenantWithKey();
        var (_, limited) = await gateway.TenantWithKey(models: ["lanes-demo"]);
        var (_, broke) = await gateway.TenantWithKey(budget: 0.000001m);
        using var http = gateway.Http();
        HttpRequestMessage[] Refused() =>
        [
            Post("/v1/chat/completions", null, Hello),
            Post("/v1/chat/completions", "lanes_" + new string('x', 43), Hello),
            Post("/v1/chat/completions", limited.Secret, Hello),
            Post("/v1/chat/completions", open.Secret, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"""),
            Post("/v1/chat/completions", broke.Secret, Hello),
            Post("/v1/messages", broke.Secret, """{"model":"scripted","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"""),
            Post("/v1/responses", broke.Secret, """{"model":"scripted","input":"hi","max_output_tokens":64}"""),
        ];

        // Warm up first: the first requests compile and load what later ones reuse.
        var statuses = new List<HttpStatusCode>();
        foreach (var request in Refused())
        {
            using var response = await http.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(
            [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.NotFound,
             HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests],
            statuses);

        var thrown = new List<string>();
        void Count(object? sender, FirstChanceExceptionEventArgs e)
        {
            if (e.Exception.TargetSite?.DeclaringType?.Assembly == typeof(Lanes.Inference.Admission.AdmissionPipeline).Assembly)
            {
                lock (thrown)
                {
                    thrown.Add($"{e.Exception.GetType().Name}: {e.Exception.Message}");
                }
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            for (var round = 0; round < 20; round++)
            {
                foreach (var request in Refused())
                {
                    using var response = await http.SendAsync(request);
                    Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
                }
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        Assert.Empty(thrown);
    }
}
