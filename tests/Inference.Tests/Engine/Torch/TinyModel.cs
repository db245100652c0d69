using Lanes.Inference.Engine.Torch;
using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Demo;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Tests.Engine.Torch;

/// <summary>
/// A tiny checkpoint with random weights from a fixed seed, written once per test run: the demo's tokenizer and
/// chat template, on the Qwen2 variant (q/k/v bias, separate output head) so those paths are exercised too.
/// </summary>
public static class TinyModel
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        var folder = Path.Combine(Path.GetTempPath(), "lanes-test-models", $"tiny-v{DemoModel.Version}-{Environment.ProcessId}");
        DemoModel.Write(folder, seed: 7, trainSteps: 0, shape: Config);
        return folder;
    });

    public static string Path_ => Folder.Value;

    public static ModelConfig Config(int vocab) => new()
    {
        Architecture = "Qwen2ForCausalLM",
        VocabSize = vocab,
        HiddenSize = 64,
        IntermediateSize = 128,
        Layers = 2,
        Heads = 4,
        KvHeads = 2,
        HeadDim = 16,
        MaxPositions = 512,
        RmsNormEps = 1e-6,
        RopeTheta = 1_000_000,
        AttentionBias = true,
        TieWordEmbeddings = false,
    };

    public static TorchEngine Engine(int slots = 8, int context = 256, Action<TorchEngineOptions>? configure = null)
    {
        var options = new TorchEngineOptions { ModelPath = Path_, ModelId = "lanes-demo", Slots = slots, ContextTokens = context, Device = "cpu", Threads = 1 };
        configure?.Invoke(options);
        return new TorchEngine(Options.Create(options), NullLogger<TorchEngine>.Instance);
    }
}
