using Lanes.Inference.Engine.Torch.Batching;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Batching;

public class SequenceTextTests
{
    private static readonly ModelTokenizer Tokenizer = ModelTokenizer.Load(TinyModel.Path_);

    [Fact]
    public void A_character_spread_over_several_tokens_is_streamed_whole()
    {
        var text = new SequenceText(Tokenizer, []);
        var ids = Tokenizer.Encode("go 🚀 東京!");
        Assert.True(ids.Count > 8, "the rocket and the kanji are split into byte tokens");

        var deltas = ids.Select(id => text.Add(id).Text).Append(text.Flush()).ToList();

        Assert.Equal("go 🚀 東京!", string.Concat(deltas));
        Assert.DoesNotContain(deltas, d => d.Contains('\uFFFD'));
        Assert.Contains("🚀", deltas);
    }

    [Fact]
    public void A_stop_string_split_across_tokens_is_held_back_and_never_streamed()
    {
        var text = new SequenceText(Tokenizer, ["STOP", "zzz"]);
        var deltas = new List<string>();
        var stopped = false;
        foreach (var id in Tokenizer.Encode("Tell me a story. ST STOP and more"))
        {
            var (delta, stop) = text.Add(id);
            deltas.Add(delta);
            if (stop)
            {
                stopped = true;
                break;
            }
        }

        Assert.True(stopped);
        Assert.Equal("Tell me a story. ST ", string.Concat(deltas));
    }
}
