using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lanes.Inference.Engine.Torch.Checkpoint;
using Lanes.Inference.Engine.Torch.Model;
using Lanes.Inference.Engine.Torch.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lanes.Inference.Engine.Torch.Demo;

/// <summary>
/// Writes a small Llama-architecture checkpoint in Hugging Face format (config.json, model.safetensors,
/// tokenizer.json, tokenizer_config.json with a ChatML template), deterministically from a seed: a byte-level BPE
/// learnt from the bundled public-domain corpus, then either random weights (tests) or a short CPU training run on
/// the corpus's conversations (the demo, so it answers in words).
/// </summary>
public static class DemoModel
{
    public const string Id = "lanes-demo";

    /// <summary>Bumped whenever the output would change, so a cached folder from an older generator is rebuilt.</summary>
    public const string Version = "1";

    public const string ChatMlTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static readonly string[] Specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

    /// <summary>The demo's shape: about 0.9M parameters, grouped-query attention (4 query heads over 2 KV heads).</summary>
    public static ModelConfig DemoConfig(int vocab) => new()
    {
        Architecture = "LlamaForCausalLM",
        VocabSize = vocab,
        HiddenSize = 128,
        IntermediateSize = 384,
        Layers = 4,
        Heads = 4,
        KvHeads = 2,
        HeadDim = 32,
        MaxPositions = 2048,
        RmsNormEps = 1e-5,
        RopeTheta = 10_000,
        TieWordEmbeddings = true,
    };

    public static IReadOnlyList<(string Question, string Answer)> Conversations()
    {
        using var stream = typeof(DemoModel).Assembly.GetManifestResourceStream("Lanes.Inference.Engine.Torch.Demo.corpus.txt")!;
        var lines = new StreamReader(stream).ReadToEnd().Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var result = new List<(string, string)>();
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].StartsWith("Q: ", StringComparison.Ordinal))
            {
                var answer = new List<string>();
                while (i + 1 < lines.Count && !lines[i + 1].StartsWith("Q: ", StringComparison.Ordinal))
                {
                    answer.Add(lines[++i]);
                }

                result.Add((lines[i - answer.Count][3..], string.Join("\n", answer)));
            }
        }

        return result;
    }

    /// <summary>Writes the checkpoint. <paramref name="trainSteps"/> 0 leaves the weights random;
    /// <paramref name="shape"/> overrides the demo's sizes (the vocabulary always comes from the tokenizer).</summary>
    public static ModelConfig Write(string folder, long seed, int trainSteps, Func<int, ModelConfig>? shape = null, Action<string>? log = null)
    {
        Directory.CreateDirectory(folder);
        var tokenizerJson = TrainTokenizer(Conversations().SelectMany(c => new[] { c.Question, c.Answer }).Append("user\nassistant\nsystem\n"), 400);
        var specialIds = Specials.Select(s => tokenizerJson["added_tokens"]!.AsArray().First(t => t!["content"]!.GetValue<string>() == s)!["id"]!.GetValue<int>()).ToArray();
        var vocab = specialIds.Max() + 1;
        var config = (shape ?? DemoConfig)(vocab) with { EosTokenIds = [specialIds[2]], BosTokenId = null };
        var tokenizer = ModelTokenizer.FromJson(tokenizerJson);

        using var model = LlamaModel.Random(config, seed, CPU, trainable: trainSteps > 0);
        if (trainSteps > 0)
        {
            Train(model, tokenizer, seed, trainSteps, log);
        }

        SafeTensors.Write(Path.Combine(folder, "model.safetensors"), model.NamedWeights(), new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson().ToJsonString(new() { WriteIndented = true }));
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizerJson.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["chat_template"] = ChatMlTemplate,
            ["bos_token"] = null,
            ["eos_token"] = "<|im_end|>",
            ["pad_token"] = "<|endoftext|>",
            ["model_max_length"] = config.MaxPositions,
        }.ToJsonString(new() { WriteIndented = true }));
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), new JsonObject { ["eos_token_id"] = specialIds[2] }.ToJsonString());
        File.WriteAllText(Path.Combine(folder, "lanes-demo.json"), new JsonObject { ["version"] = Version, ["seed"] = seed, ["trainSteps"] = trainSteps }.ToJsonString());
        return config;
    }

    /// <summary>Learns byte-level BPE merges (GPT-2 pre-tokenization), ties broken by the pair's text so the
    /// result is the same on every machine.</summary>
    public static JsonObject TrainTokenizer(IEnumerable<string> texts, int merges)
    {
        var split = new Regex(ModelTokenizer.Gpt2Pattern, RegexOptions.CultureInvariant);
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            foreach (Match m in split.Matches(text))
            {
                var chars = string.Concat(System.Text.Encoding.UTF8.GetBytes(m.Value).Select(ModelTokenizer.ByteChar));
                words[chars] = words.GetValueOrDefault(chars) + 1;
            }
        }

        var symbols = words.Select(w => (Parts: w.Key.Select(c => c.ToString()).ToList(), Count: w.Value)).ToList();
        var vocab = new JsonObject();
        for (var b = 0; b < 256; b++)
        {
            vocab[ModelTokenizer.ByteChar((byte)b).ToString()] = b;
        }

        var mergeList = new JsonArray();
        var next = 256;
        for (var m = 0; m < merges; m++)
        {
            var counts = new Dictionary<(string, string), int>();
            foreach (var (parts, count) in symbols)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    counts[(parts[i], parts[i + 1])] = counts.GetValueOrDefault((parts[i], parts[i + 1])) + count;
                }
            }

            if (counts.Count == 0)
            {
                break;
            }

            var best = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key.Item1, StringComparer.Ordinal).ThenBy(c => c.Key.Item2, StringComparer.Ordinal).First();
            if (best.Value < 2)
            {
                break;
            }

            var (left, right) = best.Key;
            foreach (var (parts, _) in symbols)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    if (parts[i] == left && parts[i + 1] == right)
                    {
                        parts[i] = left + right;
                        parts.RemoveAt(i + 1);
                    }
                }
            }

            mergeList.Add(new JsonArray(left, right));
            vocab[left + right] = next++;
        }

        var added = new JsonArray();
        foreach (var special in Specials)
        {
            added.Add(new JsonObject
            {
                ["id"] = next++, ["content"] = special, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        }

        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(),
            ["post_processor"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = mergeList,
            },
        };
    }

    /// <summary>Next-token training on the corpus's conversations in the chat format the engine renders.</summary>
    private static void Train(LlamaModel model, ModelTokenizer tokenizer, long seed, int steps, Action<string>? log)
    {
        const int Batch = 16, Window = 96;
        var template = ChatTemplate.FromTemplate(ChatMlTemplate, tokenizer);
        var conversations = Conversations();
        var random = new Random((int)seed);
        var stream = new List<int>();
        // A few shuffled passes, so windows cross conversation boundaries in different orders.
        for (var pass = 0; pass < 8; pass++)
        {
            foreach (var (question, answer) in conversations.OrderBy(_ => random.Next()))
            {
                stream.AddRange(template.Render([new ChatTurn("user", question)]));
                tokenizer.Encode(answer, stream);
                stream.Add(template.EndOfTurn);
                tokenizer.Encode("\n", stream);
            }
        }

        var parameters = model.Parameters().Cast<Parameter>().ToList();
        using var optimizer = optim.AdamW(parameters, lr: 3e-3, weight_decay: 0.01);
        var clock = Stopwatch.StartNew();
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var input = new long[Batch, Window];
            var target = new long[Batch * Window];
            for (var b = 0; b < Batch; b++)
            {
                var start = random.Next(stream.Count - Window - 1);
                for (var t = 0; t < Window; t++)
                {
                    input[b, t] = stream[start + t];
                    target[b * Window + t] = stream[start + t + 1];
                }
            }

            // Warm up, then decay to a tenth.
            var lr = 3e-3 * Math.Min(1.0, (step + 1) / 20.0) * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * step / steps)));
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = lr;
            }

            optimizer.zero_grad();
            var logits = model.Forward(StepPlan.Full(input, CPU), null);
            var loss = nn.functional.cross_entropy(logits, tensor(target));
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            if (step % 50 == 0 || step == steps - 1)
            {
                log?.Invoke($"step {step + 1}/{steps} loss {loss.item<float>():F3} ({clock.Elapsed.TotalSeconds:F0} s)");
            }
        }
    }

    /// <summary><c>demo-model --out DIR [--steps N] [--seed N] [--threads N]</c>: the inference host's command
    /// that <c>./lanes up</c> runs when the demo model is missing.</summary>
    public static int Run(string[] args)
    {
        string? output = null;
        int steps = 300, threads = 2;
        long seed = 20261127;
        for (var i = 0; i < args.Length - 1; i += 2)
        {
            switch (args[i])
            {
                case "--out": output = args[i + 1]; break;
                case "--steps": steps = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--seed": seed = long.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"Unknown option {args[i]}"); return 2;
            }
        }

        if (output is null)
        {
            Console.Error.WriteLine("usage: demo-model --out DIR [--steps 300] [--seed N] [--threads 2]");
            return 2;
        }

        set_num_threads(threads);
        manual_seed(seed);
        var clock = Stopwatch.StartNew();
        var temp = output.TrimEnd('/') + ".tmp";
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }

        var config = Write(temp, seed, steps, log: Console.WriteLine);
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }

        Directory.Move(temp, output);
        Console.WriteLine($"Wrote {Id} ({config.Parameters:N0} parameters, vocabulary {config.VocabSize}) to {output} in {clock.Elapsed.TotalSeconds:F0} s");
        return 0;
    }
}
