using System.Text.Json.Nodes;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Tokenization;

public class BpeTokenizerTests
{
    private static readonly BpeTokenizer Tiny = BpeTokenizer.Load(TinyModel.Path_);

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
    public void A_huge_word_without_spaces_is_encoded_in_pieces_and_still_round_trips()
    {
        // One 200,000-character "word" (emoji included, so pieces must not split a surrogate pair): merging it
        // whole would be quadratic in its length.
        var word = string.Concat(Enumerable.Repeat("lanes🚀", 200_000 / 7));

        var ids = Tiny.Encode(word);

        Assert.Equal(word, Tiny.Decode(ids));
    }

    [Fact]
    public void Merges_make_common_words_single_tokens()
    {
        Assert.True(Tiny.Encode(" the").Count == 1, "' the' is frequent in the corpus and becomes one token");
        Assert.True(Tiny.Encode("What is a lane?").Count < "What is a lane?".Length / 2);
    }

    [Theory]
    [InlineData(@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")] // Llama 3
    [InlineData(@"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")] // Qwen2
    public void Byte_level_tokenizers_with_a_split_pattern_round_trip(string pattern)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(TinyModel.Path_, "tokenizer.json")))!.AsObject();
        json["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        };
        var tokenizer = BpeTokenizer.FromJson(json);
        const string text = "It's 12345 o'clock!\r\n\n  Ünïcödé 🚀 — done.";

        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Theory]
    [InlineData("hello world")]
    [InlineData("héllo 🚀 wörld")]
    public void SentencePiece_style_encoding_round_trips_through_byte_fallback(string text)
    {
        var tokenizer = BpeTokenizer.FromJson(SentencePieceStyle());

        var ids = tokenizer.Encode(text);

        Assert.Equal(" " + text, tokenizer.Decode(ids)); // the prepended "▁" decodes as a space
        Assert.Equal(1, tokenizer.PrefixToken);
        Assert.Contains(tokenizer.SpecialId("▁w"), ids);
    }

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
