using System.Diagnostics;
using System.Text.Json;
using Lanes.Inference.Engine.Torch.Constraints;
using Lanes.Inference.Tests.Engine.Torch.Constraints;

// Constrained-decoding benchmark: the cost of one token mask (FillMask) per sequence per decoding step on a
// Qwen2.5-sized vocabulary (151,936 ids), driven through a realistic valid output of each grammar.
// Run with: ./lanes bench constraints [--runs 20] [--trace] (--trace: the mean per step of each output, token by token)
// The baseline, in the same process, is the naive mask: every token's bytes read through the grammar.
var runs = Arg("--runs", 20);
Console.WriteLine($"load average before the run: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, {Environment.ProcessorCount} cores");

var clock = Stopwatch.StartNew();
var source = SyntheticVocabulary.Qwen();
var generated = clock.Elapsed.TotalMilliseconds;
var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
clock.Restart();
var vocabulary = TokenVocabulary.Build(source.Tokens);
var built = clock.Elapsed.TotalMilliseconds;
var heldBytes = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
Console.WriteLine($"vocabulary: {vocabulary.Size:N0} ids ({source.Tokens.Count(t => t.Length > 0):N0} byte tokens, {source.Tokens.Sum(t => t.Length):N0} bytes); " +
                  $"synthesised in {generated:F0} ms, TokenVocabulary.Build in {built:F0} ms (trie and string tables); " +
                  $"{heldBytes / 1024.0 / 1024:F0} MiB held (its own copy of the token bytes included)");

var cases = new (string Name, Func<Grammar> Compile, string Output)[]
{
    ("json_object", Grammar.AnyJsonObject,
        """{"name": "Ada Lovelace", "born": 1815, "languages": ["English", "French"], "address": {"city": "London", "postcode": null}, "active": true, "score": -12.75, "notes": "Wrote the first published algorithm for the Analytical Engine; 中文 too."}"""),
    ("tool call envelope, 5-property schema", () => Grammar.HermesToolCall("get_weather", Json("""
        {"type": "object", "properties": {
          "location": {"type": "string", "description": "City and region"},
          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
          "days": {"type": "integer"},
          "include_hourly": {"type": "boolean"},
          "notes": {"type": ["string", "null"]}},
         "required": ["location", "unit", "days", "include_hourly", "notes"], "additionalProperties": false}
        """)),
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"San Francisco, CA\", \"unit\": \"celsius\", \"days\": 3, \"include_hourly\": false, \"notes\": \"Prefer the morning forecast.\"}}\n</tool_call>"),
    ("nested schema ($defs, arrays of objects, anyOf, bounded strings)", () => Grammar.ForJsonSchema(Json("""
        {"type": "object", "$defs": {
           "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string", "maxLength": 40}, "country": {"enum": ["GB", "FR", "US"]}}, "required": ["street", "city", "country"], "additionalProperties": false},
           "line": {"type": "object", "properties": {"sku": {"type": "string", "minLength": 3, "maxLength": 12}, "quantity": {"type": "integer"}, "price": {"type": "number"}}, "required": ["sku", "quantity", "price"], "additionalProperties": false}},
         "properties": {
           "order_id": {"type": "string"},
           "customer": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": ["string", "null"]}, "address": {"$ref": "#/$defs/address"}}, "required": ["name", "email", "address"], "additionalProperties": false},
           "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}, "minItems": 1, "maxItems": 20},
           "shipping": {"anyOf": [{"type": "object", "properties": {"method": {"const": "pickup"}, "store": {"type": "string"}}, "required": ["method", "store"], "additionalProperties": false},
                                  {"type": "object", "properties": {"method": {"const": "courier"}, "to": {"$ref": "#/$defs/address"}}, "required": ["method", "to"], "additionalProperties": false}]},
           "tags": {"type": "array", "items": {"type": "string"}},
           "gift": {"type": "boolean"}},
         "required": ["order_id", "customer", "lines", "shipping", "tags", "gift"], "additionalProperties": false}
        """)),
        """{"order_id": "A-1029", "customer": {"name": "Grace Hopper", "email": null, "address": {"street": "1 Navy Way", "city": "Arlington", "country": "US"}}, "lines": [{"sku": "COBOL-74", "quantity": 2, "price": 19.5}, {"sku": "NANO-SEC", "quantity": 11, "price": 0.25}], "shipping": {"method": "courier", "to": {"street": "2 Bug Lane", "city": "Cambridge", "country": "GB"}}, "tags": ["books", "gift wrap"], "gift": true}"""),
};

var mask = new ulong[vocabulary.MaskWords];
var naive = new ulong[vocabulary.MaskWords];

// Warm-up on a grammar of its own until tiered JIT compilation has settled, as in a long-running engine. It also
// computes the masks of the built-in JSON rules every grammar shares (once per vocabulary and process).
var warmUpGrammar = Grammar.ForJsonSchema(Json("""{"type": "object", "properties": {"a": {"type": "array", "items": {"type": ["number", "string", "boolean", "null"]}}, "b": {"type": "object"}}}"""));
var warmUpTokens = source.Encode("""{"a": [1.5, "x y", true, null, -3], "b": {"k": [{"z": "w"}], "n": 2e3}}""");
for (var warmUp = Stopwatch.StartNew(); warmUp.Elapsed < TimeSpan.FromSeconds(3);)
{
    Drive(warmUpGrammar, warmUpTokens);
    Drive(Grammar.AnyJsonObject(), warmUpTokens);
}

var prepared = new List<(string Name, Grammar Grammar, List<int> Tokens, double CompileMs, List<double> Cold, double PrepareMs)>();
foreach (var (name, compile, output) in cases)
{
    var tokens = source.Encode(output);
    var grammar = compile();
    // Compiling is about a millisecond: take the median of a few, this machine being shared.
    var compiled = Enumerable.Range(0, 5).Select(_ =>
    {
        clock.Restart();
        compile();
        return clock.Elapsed.TotalMilliseconds;
    }).Order().ElementAt(2);

    // Cold: the first sequence of a newly compiled grammar computes each node's mask on first use.
    var cold = Drive(grammar, tokens);

    // The alternative: compile again and compute every node's mask up front.
    var again = compile();
    clock.Restart();
    again.Prepare(vocabulary);
    prepared.Add((name, grammar, tokens, compiled, cold, clock.Elapsed.TotalMilliseconds));
}

for (var warmUp = Stopwatch.StartNew(); warmUp.Elapsed < TimeSpan.FromSeconds(1);)
{
    prepared.ForEach(p => Drive(p.Grammar, p.Tokens));
}

var rows = new List<string>();
var coldRows = new List<string>();
foreach (var (name, grammar, tokens, compiled, cold, prepareMs) in prepared)
{
    var warm = new List<double>();
    for (var run = 0; run < runs; run++)
    {
        warm.AddRange(Drive(grammar, tokens));
    }

    // Baseline: the same steps with the naive mask (every token through the grammar), checked equal.
    var matcher = new GrammarMatcher(grammar, vocabulary, source.EndTokens);
    var naiveSteps = new List<double>();
    foreach (var token in tokens.Append(source.EndTokens[0]))
    {
        matcher.FillMask(mask);
        var start = Stopwatch.GetTimestamp();
        System.Array.Clear(naive);
        for (var id = 0; id < vocabulary.Size; id++)
        {
            if (matcher.CanAccept(id))
            {
                naive[id >> 6] |= 1UL << (id & 63);
            }
        }

        naiveSteps.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        if (!mask.AsSpan().SequenceEqual(naive))
        {
            throw new InvalidOperationException($"{name}: the mask differs from the naive scan before token {token}");
        }

        matcher.Accept(token);
    }

    var naiveMean = naiveSteps.Average();
    if (args.Contains("--trace"))
    {
        var per = new double[tokens.Count + 1];
        for (var i = 0; i < warm.Count; i++) per[i % per.Length] += warm[i] / runs;
        var text = tokens.Select(t => System.Text.Encoding.UTF8.GetString(vocabulary.Bytes(t))).Append("<end>").ToList();
        for (var i = 0; i < per.Length; i++) Console.WriteLine($"  {per[i],8:F1} µs before {JsonSerializer.Serialize(text[i])} after {JsonSerializer.Serialize(string.Concat(text.Take(i).TakeLast(4)))}");
    }
    rows.Add($"| {name} ({tokens.Count} tokens + end) | {warm.Average():F1} µs | {Percentile(warm, 0.5):F1} µs | {Percentile(warm, 0.99):F1} µs | {naiveMean:N0} µs | **{naiveMean / warm.Average():N0}×** |");
    coldRows.Add($"| {name} | {compiled:F1} ms | {cold.Average():F0} µs | {cold.Max():N0} µs | {prepareMs:F1} ms |");
}

Console.WriteLine();
Console.WriteLine($"Steady state, {runs} sequences per grammar, FillMask per sequence per step (before each token of the output and the end token):");
Console.WriteLine();
Console.WriteLine("| grammar (one realistic output) | FillMask mean | p50 | p99 | naive scan per step (same steps, masks checked equal) | speed-up (mean) |");
Console.WriteLine("|---|---|---|---|---|---|");
rows.ForEach(Console.WriteLine);
Console.WriteLine();
Console.WriteLine("A newly compiled schema: masks are computed on first use (first sequence), or all at once by Grammar.Prepare:");
Console.WriteLine();
Console.WriteLine("| grammar | compile | first sequence: FillMask mean | first sequence: slowest step | Prepare (all masks) |");
Console.WriteLine("|---|---|---|---|---|");
coldRows.ForEach(Console.WriteLine);
return;

List<double> Drive(Grammar grammar, List<int> tokens)
{
    var matcher = new GrammarMatcher(grammar, vocabulary, source.EndTokens);
    var steps = new List<double>(tokens.Count + 1);
    foreach (var token in tokens.Append(source.EndTokens[0]))
    {
        var start = Stopwatch.GetTimestamp();
        matcher.FillMask(mask);
        steps.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        if ((mask[token >> 6] >> (token & 63) & 1) == 0 || !matcher.Accept(token))
        {
            throw new InvalidOperationException($"token {token} of the sample output is not allowed");
        }
    }

    return steps;
}

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}

static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

int Arg(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
