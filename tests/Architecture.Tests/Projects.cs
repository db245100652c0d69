extern alias gateway;
extern alias portal;
using System.Reflection;
using System.Xml.Linq;

namespace Lanes.Architecture.Tests;

/// <summary>The four projects: their compiled assemblies and their project files in the checkout.</summary>
internal static class Projects
{
    public static readonly Assembly Shared = typeof(Lanes.Shared.Money.MinorUnits).Assembly;
    public static readonly Assembly Billing = typeof(Lanes.Billing.BillingHostingExtensions).Assembly;
    public static readonly Assembly Inference = typeof(gateway::Lanes.Inference.GatewayHostingExtensions).Assembly;
    public static readonly Assembly Portal = typeof(portal::Program).Assembly;

    public static readonly IReadOnlyList<Assembly> All = [Shared, Billing, Inference, Portal];

    public static string Root { get; } = FindRoot();

    /// <summary>The names of the projects a project file references, without folders or extension.</summary>
    public static IReadOnlyList<string> ReferencedBy(string projectFile) =>
        [.. XDocument.Load(Path.Combine(Root, projectFile)).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Portal.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Portal.sln not found above the test's folder.");
    }
}
