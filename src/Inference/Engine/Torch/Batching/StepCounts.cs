using Lanes.Inference.Engine.Torch.Model;
using TorchSharp;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// What engine steps cost the device's driver, counted rather than estimated: <see cref="Ops"/> is every tensor the
/// steps' ops made (TorchSharp's own count; views included, in-place writes not), <see cref="ToDevice"/> and
/// <see cref="ToHost"/> the copies between host and device (<see cref="DeviceCopies"/>); each copy to the host is a
/// sync. Read on the engine's thread.
/// </summary>
public readonly record struct StepCounts(long Steps, long Ops, long ToDevice, long ToHost)
{
    public static StepCounts Now() => new(1, DisposeScopeManager.Statistics.CreatedInScopeCount, DeviceCopies.ToDeviceCount, DeviceCopies.ToHostCount);

    public double OpsPerStep => Steps == 0 ? 0 : (double)Ops / Steps;

    public double ToDevicePerStep => Steps == 0 ? 0 : (double)ToDevice / Steps;

    public double ToHostPerStep => Steps == 0 ? 0 : (double)ToHost / Steps;

    /// <summary>One step's cost: the counters after it less those before (steps stays 1).</summary>
    public static StepCounts operator -(StepCounts after, StepCounts before) =>
        new(1, after.Ops - before.Ops, after.ToDevice - before.ToDevice, after.ToHost - before.ToHost);

    public static StepCounts operator +(StepCounts a, StepCounts b) =>
        new(a.Steps + b.Steps, a.Ops + b.Ops, a.ToDevice + b.ToDevice, a.ToHost + b.ToHost);
}
