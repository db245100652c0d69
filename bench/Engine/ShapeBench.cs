using System.Diagnostics;
using Lanes.Inference.Engine.Torch.Batching;
using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Engine.Bench;

/// <summary>
/// Decode steps of a real model's shape with random weights (<c>--shape qwen2.5-0.5b|llama-3.2-1b</c>): the engine's
/// own step (plan, forward pass over the paged cache, sampling) at each batch size, with tokens/s, tensor ops and
/// copies per step, and the share of the decode roofline the device's measured read bandwidth allows. bf16 on CUDA,
/// float32 on CPU.
/// </summary>
public static class ShapeBench
{
    public static ModelConfig? Shape(string name) => name switch
    {
        // Hugging Face config.json of Qwen/Qwen2.5-0.5B-Instruct.
        "qwen2.5-0.5b" => new ModelConfig
        {
            Architecture = "Qwen2ForCausalLM", VocabSize = 151_936, HiddenSize = 896, IntermediateSize = 4864, Layers = 24, Heads = 14, KvHeads = 2,
            HeadDim = 64, MaxPositions = 32_768, RopeTheta = 1_000_000, AttentionBias = true, TieWordEmbeddings = true,
        },
        // Hugging Face config.json of meta-llama/Llama-3.2-1B-Instruct.
        "llama-3.2-1b" => new ModelConfig
        {
            Architecture = "LlamaForCausalLM", VocabSize = 128_256, HiddenSize = 2048, IntermediateSize = 8192, Layers = 16, Heads = 32, KvHeads = 8,
            HeadDim = 64, MaxPositions = 131_072, RmsNormEps = 1e-5, RopeTheta = 500_000, TieWordEmbeddings = true,
            RopeScaling = new RopeScaling("llama3", 32, 1, 4, 8192),
        },
        _ => null,
    };

    /// <param name="past">Tokens every sequence already holds in the cache when the timed steps start.</param>
    public static void Run(string name, ModelConfig config, Device device, ScalarType dtype, IReadOnlyList<int> batches, int past, int steps, double bandwidth)
    {
        using var model = LlamaModel.Random(config, seed: 1, device, maxPositions: past + steps + 32, dtype: dtype);
        model.PrepareForInference();
        Console.WriteLine($"--shape {name}: {config.Parameters / 1e6:F0}M parameters, {config.Layers} layers, {dtype} on {device.type}; {model.WeightBytes / 1e6:F0} MB of weights read per step; " +
                          $"each sequence holds {past} tokens; read bandwidth {bandwidth / 1e9:F1} GB/s; the host spends {HostMicrosecondsPerOp(device):F1} µs issuing one small op");
        // "ms to issue the forward": the host's time in LlamaModel.Forward. On a GPU that only queues kernels, so when it
        // is close to the step's time the step is bound by the host issuing ops, not by the device's memory.
        // With the CUDA graph shim loaded (liblanes_cuda_graph.so), each batch runs twice: op by op, then replayed from
        // recorded graphs as the engine runs decode steps on GPUs.
        var graphs = device.type == DeviceType.CUDA && CudaGraph.Available;
        Console.WriteLine($"CUDA graphs: {(graphs ? "available" : device.type == DeviceType.CUDA ? "not available (liblanes_cuda_graph.so not found)" : "CUDA only")}");
        Console.WriteLine("| batch | graphs | tokens/s | ms per step | ms to issue the forward | tensor ops per step | copies to device | copies to host (syncs) | roofline tokens/s | % of roofline | replayed logits vs op by op (largest difference) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        const int BlockSize = KvCache.DefaultBlockSize;
        var perSequence = (past + steps + 2 + BlockSize - 1) / BlockSize;
        foreach (var (batch, replay) in batches.SelectMany(b => graphs ? new[] { (b, false), (b, true) } : [(b, false)]))
        {
            using var cache = new KvCache(config, batch * perSequence, dtype, device);
            var random = new Random(7);
            var tables = Enumerable.Range(0, batch).Select(r => (IReadOnlyList<int>)Enumerable.Range(r * perSequence, perSequence).ToArray()).ToArray();
            var next = Enumerable.Range(0, batch).Select(_ => random.Next(config.VocabSize)).ToArray();
            var greedy = Enumerable.Range(0, batch).Select(_ => new RowSampling(0, 1, 0, random)).ToArray();
            using var recorded = replay ? DecodeGraphs.ForDevice(model, cache) : null;
            var length = past;
            StepCounts counts = default;
            var issuing = new Stopwatch();
            var difference = "—";
            void Step(bool counted, bool compare = false)
            {
                var before = StepCounts.Now();
                using (NewDisposeScope())
                using (no_grad())
                {
                    var rows = Enumerable.Range(0, batch).Select(r => new StepRow(tables[r], length, [next[r]])).ToList();
                    issuing.Start();
                    if (recorded is null || !recorded.TryForward(rows, out var logits))
                    {
                        logits = model.Forward(StepPlan.Build(rows, BlockSize, device), cache);
                    }

                    issuing.Stop();
                    if (compare && recorded is not null)
                    {
                        // The replayed step against the same step issued op by op (which writes the same keys and
                        // values again): the largest logit difference, against the spread of the logits.
                        var direct = model.Forward(StepPlan.Build(rows, BlockSize, device), cache);
                        difference = $"{(logits - direct).abs().max().item<float>():G3} (logits' std {direct.std().item<float>():G3})";
                    }

                    next = Sampler.Sample(logits, greedy);
                }

                length++;
                if (counted)
                {
                    counts += StepCounts.Now() - before;
                }
            }

            for (var i = 0; i < 3; i++)
            {
                Step(counted: false, compare: i == 2);
            }

            issuing.Reset();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < steps; i++)
            {
                Step(counted: true);
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var tokensPerSecond = batch * steps / seconds;
            var bytesPerStep = model.WeightBytes + (double)batch * cache.BytesPerToken * (past + steps / 2.0);
            var roofline = bandwidth / bytesPerStep * batch;
            Console.WriteLine($"| {batch} | {(recorded is null ? "no" : $"yes ({recorded.Recordings} recorded)")} | {tokensPerSecond:F1} | {seconds * 1000 / steps:F2} | {issuing.Elapsed.TotalMilliseconds / steps:F2} | {counts.OpsPerStep:F0} | {counts.ToDevicePerStep:F1} | {counts.ToHostPerStep:F1} | {roofline:F0} | {tokensPerSecond / roofline:P1} | {difference} |");
        }

        Console.WriteLine();
    }

    /// <summary>The host's cost of one op that does almost no work (an add of two 16-element tensors, its result
    /// disposed), over 2,000 of them synchronised once: the floor under every op of a step.</summary>
    private static double HostMicrosecondsPerOp(Device device)
    {
        using var scope = NewDisposeScope();
        var a = ones(16, device: device);
        var b = ones(16, device: device);
        double best = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 2_000; i++)
            {
                a.add(b).Dispose();
            }

            if (device.type == DeviceType.CUDA)
            {
                cuda.synchronize();
            }

            best = Math.Min(best, clock.Elapsed.TotalMicroseconds / 2_000);
        }

        return best;
    }
}
