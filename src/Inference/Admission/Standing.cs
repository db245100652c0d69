using Lanes.Inference.Budgets;
using Lanes.Inference.LaneScheduling;
using Lanes.Shared.Windows;

namespace Lanes.Inference.Admission;

/// <summary>Where a caller stands: sent as <c>x-ratelimit-*</c> and <c>x-lanes-*</c> headers on every response.</summary>
public sealed record Standing(BudgetView Budget, LaneView Lanes, long RequestLimit, long RequestsUsed, Window RequestWindow);
