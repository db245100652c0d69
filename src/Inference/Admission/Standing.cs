using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Usage;
using Lanes.Inference.Auth;
using Lanes.Inference.Budgets;
using Lanes.Inference.Engine;
using Lanes.Inference.LaneScheduling;
using Lanes.Inference.Metering;
using Lanes.Inference.Metrics;
using Lanes.Shared.Plans;
using Lanes.Shared.Pricing;
using Lanes.Shared.Windows;

using Lanes.Inference.Api;

namespace Lanes.Inference.Admission;

/// <summary>Where a caller stands: sent as <c>x-ratelimit-*</c> and <c>x-lanes-*</c> headers on every response.</summary>
public sealed record Standing(BudgetView Budget, LaneView Lanes, long RequestLimit, long RequestsUsed, Window RequestWindow);
