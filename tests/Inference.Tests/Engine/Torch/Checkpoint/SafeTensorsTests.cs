using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Lanes.Inference.Engine.Torch.Checkpoint;
using TorchSharp;
using static TorchSharp.torch;
using Weights = Lanes.Inference.Engine.Torch.Checkpoint.Checkpoint;

namespace Lanes.Inference.Tests.Engine.Torch.Checkpoint;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lanes-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Reads_back_what_was_written_in_each_dtype_and_converts_it_to_float32(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var values = tensor(new[] { 1.5f, -2.25f, 0.125f, 1024f, -0.5f, 3f }, [2, 3]);
        var path = Path.Combine(_dir, "model.safetensors");
        SafeTensors.Write(path, [("w", values.to(dtype))]);

        var entry = Assert.Single(SafeTensors.ReadHeader(path));
        var read = Weights.Open(_dir).Read("w", [2, 3], ScalarType.Float32, CPU);

        Assert.Equal(dtype, entry.DType);
        Assert.Equal(values.data<float>().ToArray(), read.data<float>().ToArray()); // all exactly representable in 16 bits
    }

    [Fact]
    public void Reads_a_checkpoint_sharded_with_an_index()
    {
        using var scope = NewDisposeScope();
        SafeTensors.Write(Path.Combine(_dir, "model-00001-of-00002.safetensors"), [("a", ones(2, 2))]);
        SafeTensors.Write(Path.Combine(_dir, "model-00002-of-00002.safetensors"), [("b", full(3, 7f).to(ScalarType.BFloat16))]);
        System.IO.File.WriteAllText(Path.Combine(_dir, "model.safetensors.index.json"), new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = 22 },
            ["weight_map"] = new JsonObject { ["a"] = "model-00001-of-00002.safetensors", ["b"] = "model-00002-of-00002.safetensors" },
        }.ToJsonString());

        var checkpoint = Weights.Open(_dir);

        Assert.Equal(["a", "b"], checkpoint.Names.Order());
        Assert.Equal([7f, 7f, 7f], checkpoint.Read("b", [3], ScalarType.Float32, CPU).data<float>().ToArray());
        Assert.Equal(4f, checkpoint.Read("a", [2, 2], ScalarType.Float32, CPU).sum().item<float>());
    }

    public static TheoryData<string, byte[]> CorruptFiles => new()
    {
        { "too short", [1, 2, 3] },
        { "header longer than the file", Raw(1_000, "{}") },
        { "header not JSON", File("{\"w\": {\"dtype\": \"F32\", ") },
        { "offsets past the data", File("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,64]}}""", 8) },
        { "size not matching the shape", File("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8) },
        { "unsupported dtype", File("""{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", 8) },
        { "missing offsets", File("""{"w":{"dtype":"F32","shape":[2]}}""", 8) },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Rejects_a_corrupt_header_with_a_clear_error(string why, byte[] bytes)
    {
        var path = Path.Combine(_dir, "model.safetensors");
        System.IO.File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<ModelLoadException>(() => SafeTensors.ReadHeader(path));

        Assert.Contains(path, error.Message);
        Assert.False(string.IsNullOrEmpty(why));
    }

    [Fact]
    public void A_tensor_whose_shape_differs_from_the_config_is_rejected_by_name()
    {
        using var scope = NewDisposeScope();
        SafeTensors.Write(Path.Combine(_dir, "model.safetensors"), [("model.norm.weight", ones(8))]);

        var error = Assert.Throws<ModelLoadException>(() => Weights.Open(_dir).Read("model.norm.weight", [16], ScalarType.Float32, CPU));

        Assert.Contains("'model.norm.weight'", error.Message);
        Assert.Contains("[8]", error.Message);
    }

    [Fact]
    public void A_folder_without_weights_or_with_an_unsupported_architecture_is_a_clear_error()
    {
        var missing = Assert.Throws<ModelLoadException>(() => Weights.Open(_dir));
        System.IO.File.WriteAllText(Path.Combine(_dir, "config.json"), """{"architectures":["GPT2LMHeadModel"],"hidden_size":8}""");
        var architecture = Assert.Throws<ModelLoadException>(() => ModelConfig.Load(_dir));

        Assert.Contains("model.safetensors", missing.Message);
        Assert.Contains("'GPT2LMHeadModel' is not supported", architecture.Message);
    }

    private static byte[] File(string header, int dataBytes = 0) => Raw(Encoding.UTF8.GetByteCount(header), header, dataBytes);

    private static byte[] Raw(long declared, string header, int dataBytes = 0)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, declared);
        json.CopyTo(bytes, 8);
        return bytes;
    }
}
