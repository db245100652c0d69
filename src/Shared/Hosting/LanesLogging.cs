using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lanes.Shared.Hosting;

public static class LanesLogging
{
    /// <summary>Readable console logs in Development, one JSON object per line elsewhere (for collectors).</summary>
    public static IHostApplicationBuilder AddLanesLogging(this IHostApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        if (builder.Environment.IsDevelopment())
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        }
        else
        {
            builder.Logging.AddJsonConsole(o => o.UseUtcTimestamp = true);
        }

        return builder;
    }
}
