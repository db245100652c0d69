using System.Text.Json;
using Lanes.Inference.Engine.Torch.Constraints;
using Lanes.Inference.Engine.Torch.Demo;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

/// <summary>The matcher on a real (small) byte-level BPE vocabulary: the demo model's tokenizer.</summary>
public class DemoTokenizerTests
{
    private static readonly Lazy<(ModelTokenizer Tokenizer, TokenVocabulary Vocabulary, int[] Ends)> Demo = new(() =>
    {
        var tokenizer = ModelTokenizer.FromJson(DemoModel.TrainTokenizer(DemoModel.Conversations().SelectMany(c => new[] { c.Question, c.Answer }), 400));
        var vocabulary = TokenVocabulary.Build([.. Enumerable.Range(0, tokenizer.VocabSize).Select(id => tokenizer.Bytes(id).ToArray())]);
        return (tokenizer, vocabulary, [tokenizer.SpecialId("<|im_end|>"), tokenizer.SpecialId("<|endoftext|>")]);
    });

    private const string Weather = """
        {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"}},
         "required": ["location", "unit"], "additionalProperties": false}
        """;

    [Fact]
    public void The_tokenizers_own_spelling_of_a_valid_tool_call_is_allowed_token_by_token()
    {
        var (tokenizer, vocabulary, ends) = Demo.Value;
        using var parameters = JsonDocument.Parse(Weather);
        var matcher = new GrammarMatcher(Grammar.HermesToolCall("get_weather", parameters.RootElement), vocabulary, ends);

        foreach (var token in tokenizer.Encode("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris, France\", \"unit\": \"celsius\", \"days\": 3}}\n</tool_call>"))
        {
            Assert.Contains(token, RandomGeneration.Allowed(matcher, vocabulary));
            Assert.True(matcher.Accept(token));
        }

        Assert.True(matcher.IsComplete);
        Assert.Equal(ends.Order(), RandomGeneration.Allowed(matcher, vocabulary));
    }

    [Fact]
    public void Random_choices_from_the_mask_give_valid_arguments()
    {
        var (_, vocabulary, ends) = Demo.Value;
        var validator = Validation.Validator(Weather);
        var random = new Random(4);

        for (var run = 0; run < 30; run++)
        {
            var output = RandomGeneration.Run(GrammarMatcherTests.Schema(Weather), vocabulary, ends, random);

            Assert.True(output.Completed);
            using var produced = JsonDocument.Parse(output.Bytes);
            Assert.True(validator.Evaluate(produced.RootElement).IsValid, output.Text);
        }
    }
}
