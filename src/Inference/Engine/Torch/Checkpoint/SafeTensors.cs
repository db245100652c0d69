using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Checkpoint;

/// <summary>One tensor's place in a safetensors file.</summary>
public sealed record TensorEntry(string Name, string File, ScalarType DType, long[] Shape, long Begin, long End);

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw data. A header that does not add up is rejected before any
/// tensor is read.
/// </summary>
public static class SafeTensors
{
    /// <summary>Larger headers are corrupt (the format caps them at 100 MB).</summary>
    private const long MaxHeader = 100_000_000;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> Types = new(StringComparer.Ordinal)
    {
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
    };

    public static IReadOnlyList<TensorEntry> ReadHeader(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (file.Length < 8 || file.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) != 8)
        {
            throw new ModelLoadException($"{path}: too short to be a safetensors file.");
        }

        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength <= 0 || headerLength > MaxHeader || headerLength > file.Length - 8)
        {
            throw new ModelLoadException($"{path}: corrupt header (declares {headerLength} header bytes in a {file.Length}-byte file).");
        }

        var header = new byte[headerLength];
        file.ReadExactly(header);
        JsonObject json;
        try
        {
            json = JsonNode.Parse(header)?.AsObject() ?? throw new ModelLoadException($"{path}: empty header.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelLoadException($"{path}: corrupt header (not a JSON object: {e.Message}).", e);
        }

        var dataStart = 8 + headerLength;
        var dataLength = file.Length - dataStart;
        var entries = new List<TensorEntry>();
        foreach (var (name, node) in json)
        {
            if (name == "__metadata__")
            {
                continue;
            }

            try
            {
                var dtype = node!["dtype"]!.GetValue<string>();
                if (!Types.TryGetValue(dtype, out var type))
                {
                    throw new ModelLoadException($"{path}: tensor '{name}' has dtype {dtype}; F32, F16 and BF16 are supported.");
                }

                var shape = node["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var bytes = shape.Aggregate(1L, (a, d) => a * d) * type.Size;
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength || offsets[1] - offsets[0] != bytes || shape.Any(d => d < 0))
                {
                    throw new ModelLoadException(
                        $"{path}: corrupt header: tensor '{name}' of shape [{string.Join(", ", shape)}] {dtype} needs {bytes} bytes but its offsets are [{string.Join(", ", offsets)}] in {dataLength} data bytes.");
                }

                entries.Add(new TensorEntry(name, path, type.Type, shape, dataStart + offsets[0], dataStart + offsets[1]));
            }
            catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
            {
                throw new ModelLoadException($"{path}: corrupt header: tensor '{name}' lacks a valid dtype, shape or data_offsets.", e);
            }
        }

        return entries;
    }

    /// <summary>Reads one tensor onto the CPU in its stored dtype.</summary>
    public static Tensor Read(TensorEntry entry)
    {
        var bytes = new byte[entry.End - entry.Begin];
        using (var handle = File.OpenHandle(entry.File))
        {
            var read = 0;
            while (read < bytes.Length)
            {
                var n = RandomAccess.Read(handle, bytes.AsSpan(read), entry.Begin + read);
                if (n == 0)
                {
                    throw new ModelLoadException($"{entry.File}: tensor '{entry.Name}' ends past the end of the file.");
                }

                read += n;
            }
        }

        var tensor = empty(entry.Shape, entry.DType);
        if (bytes.Length > 0)
        {
            tensor.bytes = bytes;
        }

        return tensor;
    }

    /// <summary>Writes tensors (F32, F16 or BF16, any device) to one file, in the given order.</summary>
    public static void Write(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is not null)
        {
            header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        }

        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            var dtype = Types.First(t => t.Value.Type == tensor.dtype).Key;
            using var cpu = tensor.detach().cpu().contiguous();
            var data = cpu.bytes.ToArray();
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + data.Length),
            };
            blobs.Add(data);
            offset += data.Length;
        }

        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
        var padded = (json.Length + 7) / 8 * 8;
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, padded);
        file.Write(length);
        file.Write(json);
        for (var i = json.Length; i < padded; i++)
        {
            file.WriteByte((byte)' ');
        }

        foreach (var blob in blobs)
        {
            file.Write(blob);
        }
    }
}

/// <summary>The tensors of a checkpoint folder: one <c>model.safetensors</c> or shards listed in
/// <c>model.safetensors.index.json</c>.</summary>
public sealed class Checkpoint
{
    private readonly Dictionary<string, TensorEntry> _entries;

    private Checkpoint(Dictionary<string, TensorEntry> entries) => _entries = entries;

    public IReadOnlyCollection<string> Names => _entries.Keys;

    public static Checkpoint Open(string folder)
    {
        var index = Path.Combine(folder, "model.safetensors.index.json");
        var single = Path.Combine(folder, "model.safetensors");
        var entries = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
        if (File.Exists(index))
        {
            var map = JsonNode.Parse(File.ReadAllText(index))?["weight_map"]?.AsObject()
                      ?? throw new ModelLoadException($"{index} has no weight_map.");
            foreach (var shard in map.Select(kv => kv.Value!.GetValue<string>()).Distinct())
            {
                var path = Path.Combine(folder, shard);
                if (!File.Exists(path))
                {
                    throw new ModelLoadException($"{index} lists shard '{shard}', which is missing from '{folder}'.");
                }

                foreach (var entry in SafeTensors.ReadHeader(path))
                {
                    entries[entry.Name] = entry;
                }
            }

            foreach (var (name, shard) in map)
            {
                if (!entries.TryGetValue(name, out var e) || Path.GetFileName(e.File) != shard!.GetValue<string>())
                {
                    throw new ModelLoadException($"{index} places tensor '{name}' in '{shard}', which does not hold it.");
                }
            }
        }
        else if (File.Exists(single))
        {
            foreach (var entry in SafeTensors.ReadHeader(single))
            {
                entries[entry.Name] = entry;
            }
        }
        else
        {
            throw new ModelLoadException($"The model folder '{folder}' has neither model.safetensors nor model.safetensors.index.json.");
        }

        return new Checkpoint(entries);
    }

    public bool Has(string name) => _entries.ContainsKey(name);

    /// <summary>Reads a tensor, checks its shape, and converts it to the given dtype and device.</summary>
    public Tensor Read(string name, long[] expectedShape, ScalarType dtype, Device device)
    {
        if (!_entries.TryGetValue(name, out var entry))
        {
            throw new ModelLoadException($"The checkpoint has no tensor '{name}'.");
        }

        if (!entry.Shape.SequenceEqual(expectedShape))
        {
            throw new ModelLoadException(
                $"Tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but config.json implies [{string.Join(", ", expectedShape)}].");
        }

        var raw = SafeTensors.Read(entry);
        if (raw.dtype == dtype && device.type == DeviceType.CPU)
        {
            return raw;
        }

        using (raw)
        {
            return raw.to(dtype, device);
        }
    }
}
