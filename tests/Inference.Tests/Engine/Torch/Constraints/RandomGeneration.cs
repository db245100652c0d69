using System.Text;
using Lanes.Inference.Engine.Torch.Constraints;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

/// <summary>
/// Drives a matcher the way a sampler with random logits would: at each step a token drawn from the mask, with a
/// growing bias towards tokens that close something (a quote, a bracket) and towards ending once complete, so
/// outputs stay short. Checks at every step that the mask is not empty.
/// </summary>
public static class RandomGeneration
{
    public sealed record Output(byte[] Bytes, bool Completed, int Steps)
    {
        public string Text => Encoding.UTF8.GetString(Bytes);
    }

    public static Output Run(Grammar grammar, TokenVocabulary vocabulary, IReadOnlyList<int> ends, Random random, int maxSteps = 400,
        Action<GrammarMatcher, ulong[]>? eachStep = null)
    {
        var matcher = new GrammarMatcher(grammar, vocabulary, ends);
        var mask = new ulong[vocabulary.MaskWords];
        var bytes = new List<byte>();
        var allowed = new List<int>();
        var closers = new List<int>();
        for (var step = 0; step < maxSteps; step++)
        {
            matcher.FillMask(mask);
            eachStep?.Invoke(matcher, mask);
            Allowed(mask, allowed);
            Assert.True(allowed.Count > 0, $"The mask is empty after {Encoding.UTF8.GetString([.. bytes])}");
            if (matcher.IsComplete && random.NextDouble() < 0.8)
            {
                Assert.True(matcher.Accept(ends[random.Next(ends.Count)]));
                return new Output([.. bytes], true, step);
            }

            closers.Clear();
            foreach (var id in allowed)
            {
                var token = vocabulary.Bytes(id);
                if (token.IndexOfAny("\"]}"u8) >= 0 && token.IndexOfAny("[{"u8) < 0)
                {
                    closers.Add(id);
                }
            }

            var pool = closers.Count > 0 && random.NextDouble() < Math.Min(0.95, step / 30.0) ? closers : allowed;
            var chosen = pool[random.Next(pool.Count)];
            if (Array.IndexOf([.. ends], chosen) >= 0)
            {
                Assert.True(matcher.Accept(chosen));
                return new Output([.. bytes], true, step);
            }

            Assert.True(matcher.Accept(chosen), $"Token {chosen} was in the mask but not accepted");
            bytes.AddRange(vocabulary.Bytes(chosen));
        }

        return new Output([.. bytes], false, maxSteps);
    }

    public static void Allowed(ulong[] mask, List<int> into)
    {
        into.Clear();
        for (var word = 0; word < mask.Length; word++)
        {
            for (var bits = mask[word]; bits != 0; bits &= bits - 1)
            {
                into.Add(word * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits));
            }
        }
    }

    public static List<int> Allowed(GrammarMatcher matcher, TokenVocabulary vocabulary)
    {
        var mask = new ulong[vocabulary.MaskWords];
        matcher.FillMask(mask);
        var ids = new List<int>();
        Allowed(mask, ids);
        return ids;
    }
}
