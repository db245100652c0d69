using TorchSharp;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>How one row of the batch picks its token. Temperature 0 is greedy.</summary>
public readonly record struct RowSampling(double Temperature, double TopP, int TopK, Random Random);

/// <summary>
/// Picks the next token for every row of a step's logits at once: greedy rows by argmax; sampled rows by
/// temperature, top-k and top-p over the sorted distribution, drawing with a per-request random source so a seeded
/// request gives the same tokens whatever else is in the batch.
/// </summary>
public static class Sampler
{
    /// <param name="logits">[rows, vocab] float32.</param>
    public static int[] Sample(Tensor logits, IReadOnlyList<RowSampling> rows)
    {
        var count = rows.Count;
        var result = new int[count];
        var greedy = logits.argmax(1).cpu().data<long>().ToArray();
        var sampled = Enumerable.Range(0, count).Where(i => rows[i].Temperature > 0).ToList();
        for (var i = 0; i < count; i++)
        {
            result[i] = (int)greedy[i];
        }

        if (sampled.Count == 0)
        {
            return result;
        }

        var vocab = (int)logits.shape[1];
        var k = Math.Min(vocab, sampled.Max(i => rows[i].TopK is > 0 and var tk ? tk : vocab));
        var device = logits.device;
        var picked = logits.index_select(0, tensor(sampled.Select(i => (long)i).ToArray(), device: device));
        var temperatures = tensor(sampled.Select(i => (float)rows[i].Temperature).ToArray(), [sampled.Count, 1], device: device);
        // values, ids: [S, k] sorted from the most likely down.
        var (values, ids) = (picked / temperatures).topk(k, 1);
        var probs = values.softmax(1);
        var rank = arange(k, device: device).unsqueeze(0);
        var topK = tensor(sampled.Select(i => (long)(rows[i].TopK is > 0 and var tk ? tk : vocab)).ToArray(), [sampled.Count, 1], device: device);
        var topP = tensor(sampled.Select(i => (float)rows[i].TopP).ToArray(), [sampled.Count, 1], device: device);
        // Keep a token while the mass before it is under top_p (the most likely token always stays).
        var keep = rank.lt(topK).logical_and((probs.cumsum(1) - probs).lt(topP));
        probs = probs * keep.to(probs.dtype);
        var cdf = probs.cumsum(1);
        var draws = tensor(sampled.Select(i => (float)rows[i].Random.NextDouble()).ToArray(), [sampled.Count, 1], device: device) * cdf.narrow(1, k - 1, 1);
        var choice = cdf.lt(draws).sum(1, keepdim: true).clamp_max(k - 1);
        var tokens = ids.gather(1, choice).squeeze(1).cpu().data<long>().ToArray();
        for (var s = 0; s < sampled.Count; s++)
        {
            result[sampled[s]] = (int)tokens[s];
        }

        return result;
    }
}
