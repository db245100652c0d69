using Lanes.Inference.Engine.Torch.Checkpoint;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Lanes.Inference.Engine.Torch.Model;

/// <summary>One decoder layer's weights; q/k/v and gate/up are stored fused so a step runs fewer matmuls.</summary>
internal sealed record LayerWeights(Tensor AttnNorm, Tensor Qkv, Tensor? QkvBias, Tensor O, Tensor MlpNorm, Tensor GateUp, Tensor Down)
{
    /// <summary>On CPU once prepared: <see cref="GateUp"/> seen as [out, in] (see LlamaModel.ProjectWide).</summary>
    public Tensor? GateUpT { get; init; }
}

/// <summary>
/// A Llama-family decoder (Llama 2/3, Qwen2, Mistral) as plain tensors: RMSNorm, rotary embeddings (with Llama 3
/// and linear scaling), grouped-query attention, SwiGLU MLP, optional q/k/v bias, tied or separate output head.
/// <see cref="Forward"/> runs one packed step: the new tokens of every sequence in the batch go through the
/// projections and the MLP together; attention is computed per prefill group and once for all decoding sequences,
/// reading the KV cache.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private LayerWeights[] _layers;
    private readonly Tensor _embed;
    private Tensor _lmHead;

    /// <summary>On CPU once prepared: the head seen as [out, in] (see <see cref="ProjectWide"/>).</summary>
    private Tensor? _lmHeadT;
    private readonly Tensor _norm;

    /// <summary>[positions, 2, headDim]: each position's cosines, then its sines signed for rotating half a head
    /// (see <see cref="RopeFor"/>).</summary>
    private readonly Tensor _rope;

    /// <summary>[1, 2, 1, headDim]: the rotation that leaves a head as it is (cos 1, sin 0), for the value heads.</summary>
    private readonly Tensor _still;

    /// <summary>Projection weights seen as [in, out] (see <see cref="PrepareForInference"/>).</summary>
    private bool _transposed;

    /// <summary>RMSNorm weights multiplied into the projections that read the norm's output.</summary>
    private bool _normsFolded;

    /// <summary>√(hidden · eps), float32 (see <see cref="Norm"/>).</summary>
    private readonly Tensor _normFloor;

    private LlamaModel(ModelConfig config, Device device, ScalarType dtype, Tensor embed, Tensor lmHead, Tensor norm, LayerWeights[] layers, int maxPositions)
    {
        Config = config;
        Device = device;
        DType = dtype;
        _embed = embed;
        _lmHead = lmHead;
        _norm = norm;
        _layers = layers;
        MaxPositions = maxPositions;
        (_rope, _still) = RopeTables(config, maxPositions, dtype, device);
        _normFloor = tensor((float)Math.Sqrt(config.HiddenSize * config.RmsNormEps), ScalarType.Float32, device);
        foreach (var t in Parameters().Append(_rope).Append(_still).Append(_normFloor))
        {
            // The model owns its weights: no caller's dispose scope may free them.
            t.DetachFromDisposeScope();
        }
    }

    public ModelConfig Config { get; }

    public Device Device { get; }

    public ScalarType DType { get; }

    /// <summary>Positions the rotary tables cover: the most tokens one sequence may hold.</summary>
    public int MaxPositions { get; }

    /// <summary>Bytes of weights read per decode step: every projection, norm and the output head (the embedding
    /// table is only gathered from, unless it is the head).</summary>
    public long WeightBytes => Parameters().Where(t => !ReferenceEquals(t, _embed) || ReferenceEquals(_embed, _lmHead)).Sum(t => t.NumberOfElements * t.ElementSize);

    public static LlamaModel Load(string folder, ModelConfig config, Device device, ScalarType dtype, int maxPositions)
    {
        var checkpoint = Checkpoint.Checkpoint.Open(folder);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long hd = config.HeadDim, h = config.Heads, kv = config.KvHeads, hidden = config.HiddenSize, inter = config.IntermediateSize;
        Tensor Read(string name, params long[] shape) => checkpoint.Read(name, shape, dtype, device);

        var embed = Read("model.embed_tokens.weight", config.VocabSize, hidden);
        var tied = config.TieWordEmbeddings || !checkpoint.Has("lm_head.weight");
        if (!config.TieWordEmbeddings && !checkpoint.Has("lm_head.weight"))
        {
            throw new ModelLoadException("The checkpoint has no tensor 'lm_head.weight' and config.json does not tie it to the embeddings (tie_word_embeddings).");
        }

        var lmHead = tied ? embed : Read("lm_head.weight", config.VocabSize, hidden);
        var layers = new LayerWeights[config.Layers];
        for (var i = 0; i < config.Layers; i++)
        {
            var p = $"model.layers.{i}.";
            var q = Read(p + "self_attn.q_proj.weight", h * hd, hidden);
            var k = Read(p + "self_attn.k_proj.weight", kv * hd, hidden);
            var v = Read(p + "self_attn.v_proj.weight", kv * hd, hidden);
            Tensor? bias = null;
            if (config.AttentionBias)
            {
                bias = cat([Read(p + "self_attn.q_proj.bias", h * hd), Read(p + "self_attn.k_proj.bias", kv * hd), Read(p + "self_attn.v_proj.bias", kv * hd)], 0);
            }

            layers[i] = new LayerWeights(
                Read(p + "input_layernorm.weight", hidden),
                cat([q, k, v], 0),
                bias,
                Read(p + "self_attn.o_proj.weight", hidden, h * hd),
                Read(p + "post_attention_layernorm.weight", hidden),
                cat([Read(p + "mlp.gate_proj.weight", inter, hidden), Read(p + "mlp.up_proj.weight", inter, hidden)], 0),
                Read(p + "mlp.down_proj.weight", hidden, inter));
        }

        var model = new LlamaModel(config, device, dtype, embed, lmHead, Read("model.norm.weight", hidden), layers, maxPositions);
        model.PrepareForInference();
        return model;
    }

    /// <summary>Random weights from a seed (tests, benchmarks, the start of the demo's training). With
    /// <paramref name="trainable"/> the weights are leaf tensors that collect gradients.</summary>
    public static LlamaModel Random(ModelConfig config, long seed, Device device, bool trainable = false, int? maxPositions = null, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed);
        long hd = config.HeadDim, h = config.Heads, kv = config.KvHeads, hidden = config.HiddenSize, inter = config.IntermediateSize;
        // Scaled so activations keep unit size through the layers and logits are well separated.
        Tensor Make(Tensor t) => trainable ? new TorchSharp.Modules.Parameter(t.to(device), requires_grad: true) : t.to(dtype, device);
        Tensor Normal(long rows, long cols, double std) => Make(randn([rows, cols], generator: generator) * std);
        Tensor Ones(long n) => Make(ones(n));
        Tensor Bias(long n) => Make(randn([n], generator: generator) * 0.02);
        // Untrained models get large embeddings so greedy choices are far apart; training starts small and tied.
        var embed = Normal(config.VocabSize, hidden, trainable ? 1 / Math.Sqrt(hidden) : 1.0);
        var lmHead = config.TieWordEmbeddings ? embed : Normal(config.VocabSize, hidden, 1 / Math.Sqrt(hidden));
        var layers = new LayerWeights[config.Layers];
        for (var i = 0; i < config.Layers; i++)
        {
            layers[i] = new LayerWeights(
                Ones(hidden),
                Normal((h + 2 * kv) * hd, hidden, 1 / Math.Sqrt(hidden)),
                config.AttentionBias ? Bias((h + 2 * kv) * hd) : null,
                Normal(hidden, h * hd, 0.5 / Math.Sqrt(h * hd * config.Layers)),
                Ones(hidden),
                Normal(2 * inter, hidden, 1 / Math.Sqrt(hidden)),
                Normal(hidden, inter, 0.5 / Math.Sqrt(inter * config.Layers)));
        }

        return new LlamaModel(config, device, trainable ? ScalarType.Float32 : dtype, embed, lmHead, Ones(hidden), layers, maxPositions ?? config.MaxPositions);
    }

    /// <summary>
    /// Readies the weights for decoding, which then can no longer be written back out or trained:
    /// <list type="bullet">
    /// <item>Each RMSNorm's weight, times √hidden, is multiplied into the projection that reads its output (q/k/v,
    /// gate/up, the output head), so a norm is three ops instead of five (see <see cref="Norm"/>). A tied head gets its
    /// own copy.</item>
    /// <item>Projections are seen as [in, out], so a projection and the residual add after it are one <c>addmm</c>.
    /// On CPU they are also stored that way (with padded rows, see <see cref="Padded"/>): <c>x.matmul(w)</c> with the weight laid out [in, out] runs up to twice as
    /// fast at batch 8-32 as with [out, in] (measured on the benchmark model). On CUDA they stay views of the
    /// [out, in] tensors, as <c>linear</c> reads them.</item>
    /// </list>
    /// </summary>
    public void PrepareForInference()
    {
        if (_transposed)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var copy = Device.type == DeviceType.CPU;
        Tensor Owned(Tensor t) => t.DetachFromDisposeScope();
        void Drop(Tensor w)
        {
            if (!ReferenceEquals(w, _embed))
            {
                w.Dispose();
            }
        }

        // The norm's weight, and the √hidden the prepared norm leaves out (see Norm), scale the projection's input
        // columns; computed in float32, rounded once.
        var root = Math.Sqrt(Config.HiddenSize);
        Tensor Fold(Tensor w, Tensor norm) => (w.to(ScalarType.Float32) * (norm.to(ScalarType.Float32) * root).unsqueeze(0)).to(w.dtype);
        Tensor InOut(Tensor w)
        {
            var t = Owned(copy ? Padded(w.t()) : w.t());
            if (copy)
            {
                Drop(w);
            }

            return t;
        }

        Tensor FoldedInOut(Tensor w, Tensor norm)
        {
            var folded = Fold(w, norm);
            Drop(w);
            return Owned(copy ? Padded(folded.t()) : folded.t());
        }

        Tensor? Wide(Tensor inOut) => copy ? inOut.t().DetachFromDisposeScope() : null;
        _layers = _layers.Select(l =>
        {
            var gateUp = FoldedInOut(l.GateUp, l.MlpNorm);
            return l with
            {
                Qkv = FoldedInOut(l.Qkv, l.AttnNorm),
                O = InOut(l.O),
                GateUp = gateUp,
                GateUpT = Wide(gateUp),
                Down = InOut(l.Down),
            };
        }).ToArray();
        _lmHead = FoldedInOut(_lmHead, _norm);
        _lmHeadT = Wide(_lmHead);
        _transposed = _normsFolded = true;
    }

    /// <summary>
    /// A copy of <paramref name="inOut"/> whose rows are 64 bytes longer than its columns, seen without the padding.
    /// Note: rows a multiple of 4 KiB apart (16,384 float32 columns of an output head, 1,024 of a q/k/v projection)
    /// map to the same cache sets, and the CPU's matmul then runs up to 1.7 times slower at batch 8-32 (measured on
    /// the benchmark model's shapes: the head at batch 32 took 16.3 ms with 64 KiB rows, 9.7 ms padded); batch 1,
    /// which streams each row once, is unchanged. The padding costs 64 bytes a row.
    /// </summary>
    private static Tensor Padded(Tensor inOut)
    {
        long rows = inOut.shape[0], columns = inOut.shape[1], pad = Math.Max(1, 64 / inOut.ElementSize);
        var storage = empty([rows, columns + pad], inOut.dtype, inOut.device);
        var view = storage.narrow(1, 0, columns);
        view.copy_(inOut);
        return view;
    }

    /// <summary>x · w (+ bias): one op when the weights are prepared.</summary>
    private Tensor Project(Tensor x, Tensor w, Tensor? bias = null)
    {
        if (!_transposed)
        {
            return F.linear(x, w, bias);
        }

        return bias is null ? x.matmul(w) : bias.addmm(x, w);
    }

    /// <summary>
    /// x · w for the widest projections (gate/up and the output head), whose <paramref name="wT"/> is the prepared
    /// weight seen as [out, in]. On CPU, from <see cref="WideRows"/> rows up, it is computed as (wᵀ · xᵀ)ᵀ: the same
    /// product, which MKL then splits across the rows instead of the columns and runs 1.3-1.6 times as fast with weights
    /// that are not in cache, as in a real step (measured on this 2-vCPU AMD EPYC: the benchmark model's head at 32
    /// rows 10.6 → 6.6 ms, gate/up 1.77 → 1.09 ms; below 16 rows it is slower, up to 3 times at 2 rows). The result
    /// is a transposed view, which the ops after it read as it is; it costs two views (no kernels).
    /// </summary>
    private Tensor ProjectWide(Tensor x, Tensor w, Tensor? wT) =>
        wT is not null && x.shape[0] >= WideRows ? wT.matmul(x.t()).t() : Project(x, w);

    /// <summary>Rows from which <see cref="ProjectWide"/> asks for the transposed product (see there).</summary>
    private const int WideRows = 16;

    /// <summary>residual + x · w; prepared, added into the residual stream in place (one op, no new tensor): a layer's
    /// input is read only by its own norm and its two residual adds, and the stream starts as the step's own gather from
    /// the embedding table.</summary>
    private Tensor AddProjected(Tensor residual, Tensor x, Tensor w) => _transposed ? residual.addmm_(x, w) : residual + F.linear(x, w);

    /// <summary>Every weight tensor once (a tied head is the embedding).</summary>
    public IEnumerable<Tensor> Parameters()
    {
        yield return _embed;
        if (!ReferenceEquals(_lmHead, _embed))
        {
            yield return _lmHead;
        }

        yield return _norm;
        foreach (var l in _layers)
        {
            yield return l.AttnNorm;
            yield return l.Qkv;
            if (l.QkvBias is not null)
            {
                yield return l.QkvBias;
            }

            yield return l.O;
            yield return l.MlpNorm;
            yield return l.GateUp;
            yield return l.Down;
        }
    }

    /// <summary>The weights under their Hugging Face names, unfused (for writing a checkpoint).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedWeights()
    {
        if (_transposed)
        {
            throw new InvalidOperationException("A model prepared for inference cannot be written back.");
        }

        long hd = Config.HeadDim, qRows = Config.Heads * hd, kvRows = Config.KvHeads * hd, inter = Config.IntermediateSize;
        yield return ("model.embed_tokens.weight", _embed);
        for (var i = 0; i < _layers.Length; i++)
        {
            var l = _layers[i];
            var p = $"model.layers.{i}.";
            yield return (p + "input_layernorm.weight", l.AttnNorm);
            yield return (p + "self_attn.q_proj.weight", l.Qkv.narrow(0, 0, qRows));
            yield return (p + "self_attn.k_proj.weight", l.Qkv.narrow(0, qRows, kvRows));
            yield return (p + "self_attn.v_proj.weight", l.Qkv.narrow(0, qRows + kvRows, kvRows));
            if (l.QkvBias is { } b)
            {
                yield return (p + "self_attn.q_proj.bias", b.narrow(0, 0, qRows));
                yield return (p + "self_attn.k_proj.bias", b.narrow(0, qRows, kvRows));
                yield return (p + "self_attn.v_proj.bias", b.narrow(0, qRows + kvRows, kvRows));
            }

            yield return (p + "self_attn.o_proj.weight", l.O);
            yield return (p + "post_attention_layernorm.weight", l.MlpNorm);
            yield return (p + "mlp.gate_proj.weight", l.GateUp.narrow(0, 0, inter));
            yield return (p + "mlp.up_proj.weight", l.GateUp.narrow(0, inter, inter));
            yield return (p + "mlp.down_proj.weight", l.Down);
        }

        yield return ("model.norm.weight", _norm);
        if (!ReferenceEquals(_lmHead, _embed))
        {
            yield return ("lm_head.weight", _lmHead);
        }
    }

    /// <summary>
    /// One step over a packed batch. Returns float32 logits <c>[rows, vocab]</c> for the tokens the plan asks for
    /// (each sequence's last new token, or every token when the plan says so).
    /// </summary>
    public Tensor Forward(StepPlan plan, KvCache? cache)
    {
        if (cache is null && plan.DecodeRows > 0)
        {
            throw new InvalidOperationException("Decoding needs a KV cache.");
        }

        // x: [N, hidden]
        var x = _embed.index_select(0, plan.Tokens);
        var (cos, sin) = RopeFor(plan.Positions);
        var reads = StepReads.Of(plan, cache, Config.Heads / Config.KvHeads, DType);
        for (var i = 0; i < _layers.Length; i++)
        {
            x = Layer(i, x, cos, sin, plan, cache, reads);
        }

        if (plan.LogitRows is { } rows)
        {
            x = x.index_select(0, rows);
        }

        var logits = ProjectWide(Norm(x, _norm), _lmHead, _lmHeadT);
        return logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32);
    }

    /// <summary>
    /// The rotation of every head of every new token, [N, H + 2 KVH, D] cosines and sines: each token's position's
    /// for the query and key heads, the identity for the value heads. So one layer rotates q, k and v as one tensor
    /// and its new keys and values stay side by side, to be written to the cache in one copy.
    /// </summary>
    private (Tensor Cos, Tensor Sin) RopeFor(Tensor positions)
    {
        long n = positions.shape[0], rotated = Config.Heads + Config.KvHeads, kvh = Config.KvHeads, d = Config.HeadDim;
        var table = cat([_rope.index_select(0, positions).unsqueeze(2).expand(n, 2, rotated, d), _still.expand(n, 2, kvh, d)], 2);
        return (table.select(1, 0), table.select(1, 1));
    }

    private Tensor Layer(int index, Tensor x, Tensor cos, Tensor sin, StepPlan plan, KvCache? cache, StepReads reads)
    {
        var w = _layers[index];
        long n = x.shape[0], h = Config.Heads, kvh = Config.KvHeads, d = Config.HeadDim, groups = h / kvh;

        // heads: [N, H + 2 KVH, D], rotated (see RopeFor): rotate_half(x) is x rolled by half a head with the
        // first half's sines negated.
        var qkv = Project(Norm(x, w.AttnNorm), w.Qkv, w.QkvBias).view(n, h + 2 * kvh, d);
        var heads = qkv * cos;
        heads = _transposed ? heads.addcmul_(qkv.roll(d / 2, -1), sin, 1) : heads.addcmul(qkv.roll(d / 2, -1), sin, 1);
        var q = heads.narrow(1, 0, h);
        var kv = heads.narrow(1, h, 2 * kvh);
        if (cache is not null && plan.WriteRows is not null)
        {
            // cache: [2 KVH, blocks × blockSize, D]; every new token's k and v go to its row, through its block table.
            cache.Layers[index].index_copy_(1, plan.WriteRows, kv.transpose(0, 1));
        }

        var outputs = new List<Tensor>(plan.Prefills.Count + plan.Extends.Count + 1);
        foreach (var group in plan.Prefills)
        {
            // A fresh sequence attends causally to its own new tokens: q [R, H, T, D], k/v [R, H, T, D].
            long r = group.Rows, t = group.Length;
            var qg = q.narrow(0, group.Start, r * t).view(r, t, h, d).transpose(1, 2);
            var kvg = kv.narrow(0, group.Start, r * t).view(r, t, 2 * kvh, d).transpose(1, 2);
            var kg = ExpandHeads(kvg.narrow(1, 0, kvh), groups);
            var vg = ExpandHeads(kvg.narrow(1, kvh, kvh), groups);
            outputs.Add(F.scaled_dot_product_attention(qg, kg, vg, is_casual: true).transpose(1, 2).reshape(r * t, h * d));
        }

        for (var e = 0; e < plan.Extends.Count; e++)
        {
            var run = plan.Extends[e];
            // New tokens after a cached past read the sequence's blocks. The query heads sharing a KV head are folded
            // into rows, so the cached k/v are read as they are, never copied per query head:
            // q [1, KVH, G × T, D] against k/v [1, KVH, keys, D], the causal mask repeated for each head of a group.
            long t = run.Length;
            var qe = q.narrow(0, run.Start, t).view(t, kvh, groups, d).permute(1, 2, 0, 3).reshape(1, kvh, groups * t, d);
            var past = Blocks(cache!, index, run, reads.Extends[e]).unsqueeze(0);
            var mask = reads.ExtendMasks[e];
            var attended = F.scaled_dot_product_attention(qe, past.narrow(1, 0, kvh), past.narrow(1, kvh, kvh), mask); // [1, KVH, G × T, D]
            outputs.Add(attended.view(kvh, groups, t, d).permute(2, 0, 1, 3).reshape(t, h * d));
        }

        if (plan.DecodeRows > 0)
        {
            // One new token per sequence; the query heads sharing a KV head are folded into rows, so the cached k/v are
            // read as they are, never copied per query head: q [R, KVH, G, D] (a view of the packed heads) against each
            // sequence's cached k/v [R, KVH, keys, D], masked by its length. One gather reads both, a row per sequence,
            // head and block (see KvCache.HeadBlocks), and the output is already laid out [R, H × D]: no copy before or
            // after the attention (on a GPU each is a kernel per layer).
            long r = plan.DecodeRows, keys = plan.DecodeKeys;
            var qd = (r == n ? q : q.narrow(0, plan.DecodeStart, r)).view(r, kvh, groups, d);
            var past = cache!.HeadBlocks[index].index_select(0, reads.Decode!).view(r, 2 * kvh, keys, d);
            var attended = F.scaled_dot_product_attention(qd, past.narrow(1, 0, kvh), past.narrow(1, kvh, kvh), reads.DecodeBias!); // [R, KVH, G, D]
            outputs.Add(attended.view(r, h * d));
        }

        var attention = outputs.Count == 1 ? outputs[0] : cat(outputs, 0);
        x = AddProjected(x, attention, w.O);
        var gateUp = ProjectWide(Norm(x, w.MlpNorm), w.GateUp, w.GateUpT);
        long inter = Config.IntermediateSize;
        var gate = gateUp.narrow(1, 0, inter);
        // Prepared (never trained), SiLU × up is written over the gate half of the product, which nothing else reads:
        // no [rows, intermediate] tensor is allocated for either.
        var swiglu = _transposed ? gate.silu_().mul_(gateUp.narrow(1, inter, inter)) : F.silu(gate).mul(gateUp.narrow(1, inter, inter));
        return AddProjected(x, swiglu, w.Down);
    }

    /// <summary>An extending sequence's cached keys then values, [2 KVH, blocks × blockSize, D]: a view when its
    /// blocks are consecutive, else gathered in table order, a row per head and block (<paramref name="rows"/>).</summary>
    private static Tensor Blocks(KvCache cache, int layer, ExtendRun run, Tensor? rows)
    {
        long blocks = run.KeyBlocks.shape[0], size = cache.BlockSize;
        var all = cache.Layers[layer];
        return rows is null
            ? all.narrow(1, run.FirstBlock * size, blocks * size)
            : cache.HeadBlocks[layer].index_select(0, rows).view(all.shape[0], blocks * size, all.shape[2]);
    }

    /// <summary>What every layer of a step reads the cache with, computed once a step: the rows of
    /// <see cref="KvCache.HeadBlocks"/> the decoding sequences gather (sequence first) and their mask as an additive
    /// bias in the activations' type (0 or -∞: what attention would otherwise turn the boolean mask into in every
    /// layer), and for each extending sequence its rows (null when its blocks are consecutive and read in place) and
    /// its mask repeated for the query heads of a group.</summary>
    private sealed record StepReads(Tensor? Decode, Tensor? DecodeBias, Tensor?[] Extends, Tensor[] ExtendMasks)
    {
        public static StepReads Of(StepPlan plan, KvCache? cache, long groups, ScalarType dtype) => new(
            plan.DecodeRows > 0 ? cache!.SequenceBlockRows(plan.DecodeBlocks!, plan.DecodeRows) : null,
            // log(1) = 0 and log(0) = -∞, exactly: one op.
            plan.DecodeMask?.to(dtype).log_(),
            [.. plan.Extends.Select(run => run.FirstBlock >= 0 ? null : cache!.HeadBlockRows(run.KeyBlocks))],
            [.. plan.Extends.Select(run => groups == 1 ? run.Mask : run.Mask.repeat(groups, 1))]);
    }

    private static Tensor ExpandHeads(Tensor kv, long groups)
    {
        if (groups == 1)
        {
            return kv;
        }

        // [R, KVH, T, D] -> [R, KVH * G, T, D]: query head i reads KV head i / G, as Hugging Face's repeat_kv.
        long r = kv.shape[0], kvh = kv.shape[1], t = kv.shape[2], d = kv.shape[3];
        return kv.unsqueeze(2).expand(r, kvh, groups, t, d).reshape(r, kvh * groups, t, d);
    }

    /// <summary>RMSNorm, computed in float32 as Hugging Face does; without the weight once it is folded into the
    /// projection that follows.</summary>
    /// <remarks>
    /// Prepared, it is x / hypot(‖x‖, √(hidden · eps)) = x / √(Σx² + hidden · eps), which is Hugging Face's
    /// x · rsqrt(mean(x²) + eps) divided by √hidden, the √hidden being folded into the next projection's weights: three
    /// ops (a norm, a hypot, a divide) where the plain form takes five kernels (square, mean, add, rsqrt, multiply);
    /// eps stays inside the root, so small activations are normalised exactly as the reference does (an
    /// <c>F.normalize</c> would put it outside). Measured at batch 32 on the benchmark model: 0.010 ms against 0.022 ms.
    /// </remarks>
    private Tensor Norm(Tensor x, Tensor weight)
    {
        if (_normsFolded && x.dtype is ScalarType.BFloat16 or ScalarType.Float16)
        {
            // Half precision (GPUs): the norm is still summed in float32 (as every reduction of a half-precision
            // tensor is), but only its result is rounded, not a float32 copy of x made and rounded back: three kernels
            // instead of five, which on a GPU is 4 of a layer's ~27. Each row's scale is then off by at most half a
            // bf16 ulp (0.2 %), a rounding the same size as the one the reference makes on each element.
            return x.div(x.norm(-1, keepdim: true).hypot(_normFloor));
        }

        var f = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        var normed = _normsFolded
            ? f.div(f.norm(-1, keepdim: true).hypot(_normFloor))
            : f * f.square().mean([-1], keepdim: true).add(Config.RmsNormEps).rsqrt();
        if (normed.dtype != x.dtype)
        {
            normed = normed.to(x.dtype);
        }

        // Hugging Face rounds to the activations' type before multiplying by the weight.
        return _normsFolded ? normed : weight * normed;
    }

    private static (Tensor Table, Tensor Still) RopeTables(ModelConfig config, int positions, ScalarType dtype, Device device)
    {
        var half = config.HeadDim / 2;
        var inv = new double[half];
        for (var i = 0; i < half; i++)
        {
            inv[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim);
        }

        if (config.RopeScaling is { Type: "linear" } linear)
        {
            for (var i = 0; i < half; i++)
            {
                inv[i] /= linear.Factor;
            }
        }
        else if (config.RopeScaling is { Type: "llama3" } s)
        {
            double lowWavelen = s.OriginalMaxPositions / s.LowFreqFactor, highWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
            for (var i = 0; i < half; i++)
            {
                var wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen)
                {
                    inv[i] /= s.Factor;
                }
                else if (wavelen >= highWavelen)
                {
                    var smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    inv[i] = (1 - smooth) * inv[i] / s.Factor + smooth * inv[i];
                }
            }
        }

        // Per position: cos, then sin with the first half negated, since rotate_half(x) = (-x2, x1) = roll(x) * (-1, 1).
        var d = config.HeadDim;
        var table = new float[positions * 2 * d];
        for (var p = 0; p < positions; p++)
        {
            for (var i = 0; i < half; i++)
            {
                // Hugging Face computes the angle in float32.
                var angle = (float)p * (float)inv[i];
                float cos = MathF.Cos(angle), sin = MathF.Sin(angle);
                table[p * 2 * d + i] = table[p * 2 * d + half + i] = cos;
                table[p * 2 * d + d + i] = -sin;
                table[p * 2 * d + d + half + i] = sin;
            }
        }

        var still = new float[2 * d];
        Array.Fill(still, 1f, 0, d);
        return (tensor(table, [positions, 2, d]).to(dtype, device), tensor(still, [1, 2, 1, d]).to(dtype, device));
    }

    public void Dispose()
    {
        foreach (var t in Parameters())
        {
            t.Dispose();
        }

        foreach (var view in _layers.Select(l => l.GateUpT).Append(_lmHeadT))
        {
            view?.Dispose();
        }

        _rope.Dispose();
        _still.Dispose();
        _normFloor.Dispose();
    }
}
