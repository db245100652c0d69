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
    public void The_gateway_reads_keys_and_subscriptions_only_in_the_contracts_narrow_shapes()
    {
        // Billing's aggregates and their events are its own to change; the gateway gets KeyStatus and
        // TenantReservation from the feed. Enums (a key's state, a subscription's status) are values both may name, and
        // options are configuration both read (the key pepper).
        var billingState = TypesUsedBy(Projects.Inference.Location)
            .Where(t => t.StartsWith("Lanes.Billing.Keys.", StringComparison.Ordinal) || t.StartsWith("Lanes.Billing.Subscriptions.", StringComparison.Ordinal))
            .Where(t => Projects.Billing.GetType(t) is not { IsEnum: true } && !t.EndsWith("Options", StringComparison.Ordinal))
            .ToList();
        Assert.Empty(billingState);

        Assert.Contains("Lanes.Billing.GatewayContract.KeyStatus", TypesUsedBy(Projects.Inference.Location));
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
