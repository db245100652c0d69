using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Identity;

/// <summary>Absolute links to portal pages for emails, built from the configured <see cref="PortalOptions.PublicUrl"/>.</summary>
public sealed class PublicLinks(IOptions<PortalOptions> options)
{
    public string To(string path, Dictionary<string, string?>? query = null)
    {
        var url = $"{options.Value.PublicUrl.TrimEnd('/')}/{path.TrimStart('/')}";
        return query is null ? url : QueryHelpers.AddQueryString(url, query.Where(q => q.Value is not null));
    }
}
