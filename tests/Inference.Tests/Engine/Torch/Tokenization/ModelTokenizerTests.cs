using System.Text.Json.Nodes;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Tokenization;

public class ModelTokenizerTests
{
    private static readonly ModelTokenizer Tiny = ModelTokenizer.Load(TinyModel.Path_);

    [Theory]
    [InlineData("Hello, world! What is a lane?")]
    [InlineData("naïve café, Ærøskøbing, 東京タワー, Привет, مرحبا")]
    [InlineData("rockets 🚀🚀 and a family 👩‍👩‍👧 and flags 🇳🇴")]
    [InlineData("  leading spaces,\ttabs\n\nand new lines   ")]
    [InlineData("<|im_end|> is plain text here")]
    public void Byte_level_encoding_round_trips_any_text(string text)
    {
        var ids = Tiny.Encode(text);

        Assert.Equal(text, Tiny.Decode(ids));
        Assert.All(ids, id => Assert.False(Tiny.IsSpecial(id)));
    }

    [Fact]
    public void A_huge_word_without_spaces_round_trips()
    {
        // One 200,000-character "word" (emoji included): merged whole, in n log n.
        var word = string.Concat(Enumerable.Repeat("lanes🚀", 200_000 / 7));

        var ids = Tiny.Encode(word);

        Assert.Equal(word, Tiny.Decode(ids));
    }

    [Theory]
    [InlineData(null)] // the demo's GPT-2 pattern
    [InlineData(Llama3Pattern)]
    [InlineData(Qwen2Pattern)]
    public void Ids_are_the_reference_merges_on_ordinary_text(string? pattern)
    {
        var json = WithSplit(pattern);
        var tokenizer = ModelTokenizer.FromJson(json);
        var reference = new ReferenceBpe(json, pattern ?? ModelTokenizer.Gpt2Pattern);

        foreach (var line in Corpus())
        {
            Assert.Equal(reference.Encode(line), tokenizer.Encode(line));
        }
    }

    [Fact]
    public void SentencePiece_style_ids_are_the_reference_merges_on_ordinary_text()
    {
        var json = SentencePieceStyle();
        var tokenizer = ModelTokenizer.FromJson(json);
        var reference = new ReferenceBpe(json, splitPattern: null);

        foreach (var text in new[] { "hello world", "hello, hello wor ld", "héllo 🚀 wörld", "  two  spaces  ", "world hello" })
        {
            Assert.Equal(reference.Encode(text), tokenizer.Encode(text));
        }
    }

    [Theory]
    [InlineData("lanes")]
    [InlineData("the")]
    public void A_long_word_is_merged_whole_as_the_reference_merges_it(string part)
    {
        // A 1,000-character word without spaces (a hash, base64, minified code): the hand-written tokenizer cut it
        // every 256 characters, which changes the tokens at each cut.
        // Two leading characters put the cut inside a merged piece.
        var word = "xx" + string.Concat(Enumerable.Repeat(part, 1000 / part.Length));
        var json = WithSplit(null);
        var reference = new ReferenceBpe(json, ModelTokenizer.Gpt2Pattern);
        Assert.NotEqual(reference.Encode(word), reference.Encode(word[..256]).Concat(reference.Encode(word[256..])).ToList());

        Assert.Equal(reference.Encode(word), ModelTokenizer.FromJson(json).Encode(word));
    }

    [Fact]
    public void Merges_make_common_words_single_tokens()
    {
        Assert.True(Tiny.Encode(" the").Count == 1, "' the' is frequent in the corpus and becomes one token");
        Assert.True(Tiny.Encode("What is a lane?").Count < "What is a lane?".Length / 2);
    }

    [Theory]
    [InlineData(Llama3Pattern)]
    [InlineData(Qwen2Pattern)]
    public void Byte_level_tokenizers_with_a_split_pattern_round_trip(string pattern)
    {
        var tokenizer = ModelTokenizer.FromJson(WithSplit(pattern));
        const string text = "It's 12345 o'clock!\r\n\n  Ünïcödé 🚀 — done.";

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("héllo 🚀 wörld")]
    public void SentencePiece_style_encoding_round_trips_through_byte_fallback(string text)
    {
        var tokenizer = ModelTokenizer.FromJson(SentencePieceStyle());

        var ids = tokenizer.Encode(text);

        Assert.Equal(" " + text, tokenizer.Decode(ids)); // the prepended "▁" decodes as a space
        Assert.Equal(1, tokenizer.PrefixToken);
        Assert.Contains(tokenizer.SpecialId("▁w"), ids);
    }

    private const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The demo's tokenizer.json, with a model's own split pattern when one is given.</summary>
    private static JsonObject WithSplit(string? pattern)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(TinyModel.Path_, "tokenizer.json")))!.AsObject();
        if (pattern is not null)
        {
            json["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            };
        }

        return json;
    }

    /// <summary>Ordinary text: the demo corpus's questions and answers, and a few lines of code and other scripts.</summary>
    private static IEnumerable<string> Corpus() =>
        Lanes.Inference.Engine.Torch.Demo.DemoModel.Conversations().SelectMany(c => new[] { c.Question, c.Answer }).Concat(
        [
            "public static int Add(int a, int b) => a + b; // 42 is the answer, isn't it?",
            "def main():\n    print(f\"{x!r:>10}\")\n\n\tif __name__ == '__main__': main()",
            "naïve café, Ærøskøbing, 東京タワー, Привет, مرحبا 🚀 2026-12-03 12:34:56",
            "  leading spaces,\ttabs\n\nand new lines   ",
        ]);

    /// <summary>A Llama 2 shaped tokenizer.json: "▁" for spaces, byte-fallback tokens, a BOS template.</summary>
    private static JsonObject SentencePieceStyle()
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (var b = 0; b < 256; b++)
        {
            vocab[$"<0x{b:X2}>"] = 3 + b;
        }

        var next = 259;
        foreach (var piece in new[] { "▁", "h", "e", "l", "o", "w", "r", "d", "ll", "▁h", "▁he", "▁hell", "▁hello", "▁w", "or" })
        {
            vocab[piece] = next++;
        }

        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 0, ["content"] = "<unk>", ["special"] = true },
                new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true },
                new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true }),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } }, new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
            },
            ["decoder"] = new JsonObject { ["type"] = "Sequence", ["decoders"] = new JsonArray(new JsonObject { ["type"] = "ByteFallback" }) },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["byte_fallback"] = true, ["vocab"] = vocab,
                ["merges"] = new JsonArray("l l", "▁ h", "▁h e", "▁he ll", "▁hell o", "▁ w", "o r"),
            },
        };
    }
}
