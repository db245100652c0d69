using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>
/// Every copy a step makes between host memory and the device goes through here, so the engine can count them per
/// step (a copy to the host is a sync: the host waits for every op queued before it). The counts are per thread:
/// the engine's loop is one thread.
/// </summary>
public static class DeviceCopies
{
    [ThreadStatic]
    private static long t_toDevice;

    [ThreadStatic]
    private static long t_toHost;

    /// <summary>Copies made to the device by this thread so far.</summary>
    public static long ToDeviceCount => t_toDevice;

    /// <summary>Copies read back to the host by this thread so far.</summary>
    public static long ToHostCount => t_toHost;

    public static Tensor ToDevice(long[] values, Device device)
    {
        t_toDevice++;
        return tensor(values, device: device);
    }

    public static Tensor ToDevice(float[] values, long[] shape, Device device)
    {
        t_toDevice++;
        return tensor(values, shape, device: device);
    }

    public static Tensor ToDevice(bool[] values, long[] shape, Device device)
    {
        t_toDevice++;
        return tensor(values, shape, device: device);
    }

    /// <summary>Writes <paramref name="values"/> into a device tensor made earlier (a recorded graph's input).</summary>
    public static void CopyInto(Tensor target, long[] values)
    {
        t_toDevice++;
        using var source = tensor(values);
        target.copy_(source);
    }

    public static long[] ToHost(Tensor values)
    {
        t_toHost++;
        // Not disposed here: on CPU it is the tensor itself; the step's dispose scope frees it.
        return values.cpu().data<long>().ToArray();
    }
}
