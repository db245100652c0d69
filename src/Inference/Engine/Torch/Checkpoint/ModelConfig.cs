using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lanes.Inference.Engine.Torch.Checkpoint;

/// <summary>How Llama 3 stretches rotary frequencies for long contexts (<c>rope_scaling.rope_type = "llama3"</c>)
/// or a plain linear scaling (<c>"linear"</c>).</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositions = 8192);

/// <summary>
/// The parts of a Hugging Face <c>config.json</c> the Llama family shares (Llama 2/3, Qwen2/2.5, Mistral): a
/// decoder-only transformer with RMSNorm, rotary embeddings, grouped-query attention and a SwiGLU MLP.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Architectures this engine runs, and whether q/k/v projections carry a bias by default.</summary>
    private static readonly Dictionary<string, bool> Supported = new(StringComparer.Ordinal)
    {
        ["LlamaForCausalLM"] = false,
        ["MistralForCausalLM"] = false,
        ["Qwen2ForCausalLM"] = true,
    };

    public required string Architecture { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int MaxPositions { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10_000;
    public RopeScaling? RopeScaling { get; init; }
    public bool AttentionBias { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public static ModelConfig Load(string folder)
    {
        var path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
        {
            throw new ModelLoadException($"The model folder '{folder}' has no config.json.");
        }

        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new ModelLoadException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{path} is not valid JSON: {e.Message}", e);
        }

        return Parse(json, path);
    }

    public static ModelConfig Parse(JsonObject json, string source = "config.json")
    {
        var architecture = json["architectures"]?.AsArray().FirstOrDefault()?.GetValue<string>()
                           ?? throw new ModelLoadException($"{source} names no architecture ('architectures').");
        if (!Supported.TryGetValue(architecture, out var defaultBias))
        {
            throw new ModelLoadException(
                $"{source}: architecture '{architecture}' is not supported; this engine runs {string.Join(", ", Supported.Keys)}.");
        }

        int Int(string name) => json[name]?.GetValue<int>() ?? throw new ModelLoadException($"{source} lacks '{name}'.");
        var hidden = Int("hidden_size");
        var heads = Int("num_attention_heads");
        var kvHeads = json["num_key_value_heads"]?.GetValue<int>() ?? heads;
        var headDim = json["head_dim"]?.GetValue<int>() ?? hidden / heads;
        if (heads % kvHeads != 0)
        {
            throw new ModelLoadException($"{source}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}.");
        }

        RopeScaling? scaling = null;
        if (json["rope_scaling"] is JsonObject rs)
        {
            var type = (rs["rope_type"] ?? rs["type"])?.GetValue<string>() ?? "default";
            scaling = type switch
            {
                "default" => null,
                "linear" => new RopeScaling(type, rs["factor"]!.GetValue<double>()),
                "llama3" => new RopeScaling(type, rs["factor"]!.GetValue<double>(), rs["low_freq_factor"]?.GetValue<double>() ?? 1,
                    rs["high_freq_factor"]?.GetValue<double>() ?? 4, rs["original_max_position_embeddings"]?.GetValue<int>() ?? 8192),
                _ => throw new ModelLoadException($"{source}: rope_scaling type '{type}' is not supported (default, linear and llama3 are)."),
            };
        }

        return new ModelConfig
        {
            Architecture = architecture,
            VocabSize = Int("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Int("intermediate_size"),
            Layers = Int("num_hidden_layers"),
            Heads = heads,
            KvHeads = kvHeads,
            HeadDim = headDim,
            MaxPositions = json["max_position_embeddings"]?.GetValue<int>() ?? 2048,
            RmsNormEps = json["rms_norm_eps"]?.GetValue<double>() ?? 1e-6,
            RopeTheta = json["rope_theta"]?.GetValue<double>() ?? 10_000,
            RopeScaling = scaling,
            AttentionBias = json["attention_bias"]?.GetValue<bool>() ?? defaultBias,
            TieWordEmbeddings = json["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            BosTokenId = json["bos_token_id"] is JsonValue b ? b.GetValue<int>() : null,
            EosTokenIds = TokenIds(json["eos_token_id"]),
        };
    }

    /// <summary>An id or a list of ids (Llama 3.1+ lists several end-of-sequence tokens).</summary>
    public static IReadOnlyList<int> TokenIds(JsonNode? node) => node switch
    {
        JsonArray a => a.Select(x => x!.GetValue<int>()).ToList(),
        JsonValue v => [v.GetValue<int>()],
        _ => [],
    };

    public JsonObject ToJson() => new()
    {
        ["architectures"] = new JsonArray(Architecture),
        ["model_type"] = Architecture switch { "Qwen2ForCausalLM" => "qwen2", "MistralForCausalLM" => "mistral", _ => "llama" },
        ["vocab_size"] = VocabSize,
        ["hidden_size"] = HiddenSize,
        ["intermediate_size"] = IntermediateSize,
        ["num_hidden_layers"] = Layers,
        ["num_attention_heads"] = Heads,
        ["num_key_value_heads"] = KvHeads,
        ["head_dim"] = HeadDim,
        ["max_position_embeddings"] = MaxPositions,
        ["rms_norm_eps"] = RmsNormEps,
        ["rope_theta"] = RopeTheta,
        ["attention_bias"] = AttentionBias,
        ["tie_word_embeddings"] = TieWordEmbeddings,
        ["hidden_act"] = "silu",
        ["torch_dtype"] = "float32",
        ["bos_token_id"] = BosTokenId,
        ["eos_token_id"] = EosTokenIds.Count == 1 ? EosTokenIds[0] : new JsonArray(EosTokenIds.Select(i => (JsonNode)i).ToArray()),
    };

    /// <summary>Parameters, counting a tied output head once.</summary>
    public long Parameters
    {
        get
        {
            long attn = (long)HiddenSize * HeadDim * (Heads * 2 + KvHeads * 2) + (AttentionBias ? HeadDim * (Heads + 2L * KvHeads) : 0);
            long mlp = 3L * HiddenSize * IntermediateSize;
            long perLayer = attn + mlp + 2L * HiddenSize;
            return (long)VocabSize * HiddenSize * (TieWordEmbeddings ? 1 : 2) + Layers * perLayer + HiddenSize;
        }
    }
}
