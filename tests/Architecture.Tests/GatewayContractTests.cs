using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Lanes.Architecture.Tests;

/// <summary>The gateway talks to billing through the narrow contract in <c>Lanes.Billing.GatewayContract</c>: it never
/// touches payments, jobs or the identity store, and never reads Marten's tables behind billing's back.</summary>
public class GatewayContractTests
{
    private static readonly string[] ControlPlaneNamespaces =
    [
        "Stripe", "Hangfire", "Microsoft.EntityFrameworkCore", "Microsoft.AspNetCore.Identity", "OpenIddict",
        "Lanes.Billing.Payments", "Lanes.Billing.Jobs", "Lanes.Billing.Notices", "Lanes.Billing.Support",
    ];

    [Fact]
    public void The_gateway_uses_no_type_of_payments_jobs_or_the_identity_store()
    {
        var used = TypesUsedBy(Projects.Inference.Location);
        var offending = used.Where(t => ControlPlaneNamespaces.Any(n => t == n || t.StartsWith(n + ".", StringComparison.Ordinal))).ToList();
        Assert.Empty(offending);

        // The scan sees what it should: the contract is among what the gateway uses.
        Assert.Contains("Lanes.Billing.GatewayContract.IKeyStatusFeed", used);
    }

    [Fact]
    public void The_gateway_has_no_SQL_on_Martens_tables()
    {
        var sources = Directory.EnumerateFiles(Path.Combine(Projects.Root, "src", "Inference"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var offending = sources.Where(f => File.ReadAllText(f).Contains("mt_", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Projects.Root, f)).ToList();
        Assert.Empty(offending);
    }

    /// <summary>Every type the assembly refers to in another assembly, by full name (its metadata's type references).</summary>
    private static HashSet<string> TypesUsedBy(string assemblyPath)
    {
        using var file = File.OpenRead(assemblyPath);
        using var pe = new PEReader(file);
        var metadata = pe.GetMetadataReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var handle in metadata.TypeReferences)
        {
            var type = metadata.GetTypeReference(handle);
            var ns = metadata.GetString(type.Namespace);
            if (ns.Length == 0 && type.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                // A nested type: named by its enclosing type's namespace.
                ns = metadata.GetString(metadata.GetTypeReference((TypeReferenceHandle)type.ResolutionScope).Namespace);
            }

            names.Add(ns.Length == 0 ? metadata.GetString(type.Name) : $"{ns}.{metadata.GetString(type.Name)}");
        }

        return names;
    }
}
