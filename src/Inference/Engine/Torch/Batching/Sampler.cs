using Lanes.Inference.Engine.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>How one row of the batch picks its token. Temperature 0 is greedy.</summary>
public readonly record struct RowSampling(double Temperature, double TopP, int TopK, Random Random);

/// <summary>
/// Picks the next token for every row of a step's logits on the device, and reads them back in one copy: greedy rows
/// by argmax; sampled rows by temperature, drawing with a per-request random source so a seeded request gives the
/// same tokens whatever else is in the batch. A row without top-k or top-p draws by inverse CDF over the whole
/// vocabulary, which is exact and needs no sort; only rows that cut the distribution sort, and only as far as the
/// largest k among them. Temporaries are reused in place where nothing else reads them (a scaled row of logits is
/// as wide as the vocabulary).
/// </summary>
public static class Sampler
{
    /// <param name="logits">[rows, vocab] float32.</param>
    public static int[] Sample(Tensor logits, IReadOnlyList<RowSampling> rows)
    {
        var vocab = (int)logits.shape[1];
        var picks = logits.argmax(1);
        var whole = new List<int>();
        var cut = new List<int>();
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Temperature > 0)
            {
                (Cuts(rows[i], vocab) ? cut : whole).Add(i);
            }
        }

        if (whole.Count + cut.Count > 0)
        {
            // One copy to the device for every sampled row: row, 1 / temperature, draw, top-k, top-p.
            const int Fields = 5;
            var host = new float[(whole.Count + cut.Count) * Fields];
            var at = 0;
            foreach (var i in whole.Concat(cut))
            {
                var row = rows[i];
                host[at++] = i;
                host[at++] = (float)(1 / row.Temperature);
                // In (0, 1], so the draw never lands on a token of zero probability.
                host[at++] = (float)(1 - row.Random.NextDouble());
                host[at++] = row.TopK is > 0 and var k && k < vocab ? k : vocab;
                host[at++] = (float)row.TopP;
            }

            var device = logits.device;
            var parameters = DeviceCopies.ToDevice(host, [whole.Count + cut.Count, Fields], device);
            if (whole.Count > 0)
            {
                var p = parameters.narrow(0, 0, whole.Count);
                var index = p.select(1, 0).to(ScalarType.Int64);
                var cdf = logits.index_select(0, index).mul_(p.narrow(1, 1, 1)).softmax(1).cumsum(1);
                // The first token whose cumulative probability reaches the draw (scaled by the total, which rounding
                // leaves a hair off 1).
                var choice = cdf.lt(p.narrow(1, 2, 1) * cdf.narrow(1, vocab - 1, 1)).sum(1).clamp_max_(vocab - 1);
                picks.index_copy_(0, index, choice);
            }

            if (cut.Count > 0)
            {
                var p = parameters.narrow(0, whole.Count, cut.Count);
                var index = p.select(1, 0).to(ScalarType.Int64);
                var k = cut.Max(i => rows[i].TopK is > 0 and var tk && tk < vocab ? tk : vocab);
                // values, ids: [S, k] sorted from the most likely down.
                var (values, ids) = logits.index_select(0, index).mul_(p.narrow(1, 1, 1)).topk(k, 1);
                var probs = values.softmax(1);
                var rank = arange(k, device: device).unsqueeze(0);
                // Keep a token while its rank is under top_k and the mass before it is under top_p (the most likely
                // token always stays).
                var keep = rank.lt(p.narrow(1, 3, 1)).logical_and(probs.cumsum(1).sub_(probs).lt(p.narrow(1, 4, 1)));
                var cdf = keep.to(probs.dtype).mul_(probs).cumsum(1);
                var choice = cdf.lt(p.narrow(1, 2, 1) * cdf.narrow(1, k - 1, 1)).sum(1, keepdim: true).clamp_max_(k - 1);
                picks.index_copy_(0, index, ids.gather(1, choice).squeeze(1));
            }
        }

        var tokens = DeviceCopies.ToHost(picks);
        var result = new int[tokens.Length];
        for (var i = 0; i < tokens.Length; i++)
        {
            result[i] = (int)tokens[i];
        }

        return result;
    }

    /// <summary>Whether the row samples from part of the distribution (top-k or top-p), which needs it sorted.</summary>
    private static bool Cuts(RowSampling row, int vocab) => row.TopP < 1 || row.TopK is > 0 and var k && k < vocab;
}
