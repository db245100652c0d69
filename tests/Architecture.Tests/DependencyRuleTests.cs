using System.Reflection;

namespace Lanes.Architecture.Tests;

/// <summary>Which project may depend on which: Shared on none; Billing on Shared; the portal and the gateway on
/// Billing (the gateway only through its narrow contract), never on each other.</summary>
public class DependencyRuleTests
{
    [Theory]
    [InlineData("src/Shared/Lanes.Shared.csproj", new string[0])]
    [InlineData("src/Billing/Lanes.Billing.csproj", new[] { "Lanes.Shared" })]
    [InlineData("src/Inference/Lanes.Inference.csproj", new[] { "Lanes.Billing" })]
    [InlineData("src/Portal/Lanes.Portal.csproj", new[] { "Lanes.Billing" })]
    public void A_project_references_only_the_projects_its_layer_allows(string projectFile, string[] allowed) =>
        Assert.Empty(Projects.ReferencedBy(projectFile).Except(allowed));

    [Fact]
    public void Shared_compiles_against_no_other_Lanes_assembly() =>
        Assert.Empty(LanesReferences(Projects.Shared));

    [Fact]
    public void Billing_compiles_against_neither_the_portal_nor_the_gateway() =>
        Assert.Equal(["Lanes.Shared"], LanesReferences(Projects.Billing));

    [Fact]
    public void The_portal_compiles_against_no_part_of_the_gateway() =>
        Assert.DoesNotContain("Lanes.Inference", LanesReferences(Projects.Portal));

    [Fact]
    public void The_gateway_compiles_against_no_part_of_the_portal() =>
        Assert.DoesNotContain("Lanes.Portal", LanesReferences(Projects.Inference));

    private static IReadOnlyList<string> LanesReferences(Assembly assembly) =>
        [.. assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Lanes.", StringComparison.Ordinal)).Order()];
}
