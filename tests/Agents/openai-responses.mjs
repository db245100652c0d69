// The official OpenAI Node SDK's Responses client, unmodified, against a Lanes gateway (scripted engine: it calls
// what a "call NAME {args}" line names and answers a tool result with "tool said: ..."). Env as openai-tool-loop.mjs.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.LANES_BASE_URL, apiKey: process.env.LANES_API_KEY, maxRetries: 0 });
const model = process.env.LANES_MODEL;
// "model": a real (here tiny, random) model; calls are forced with tool_choice and text is not predictable.
const scripted = process.env.LANES_TOOL_MODE !== "model";
const tools = [{ type: "function", name: "get_weather", description: "The weather in a city now.", strict: true,
  parameters: { type: "object", properties: { city: { type: "string", maxLength: 16 } }, required: ["city"], additionalProperties: false } }];
const force = scripted ? {} : { tool_choice: { type: "function", name: "get_weather" } };
const free = scripted ? {} : { tool_choice: "none" };

// 1. Text, with the SDK's output_text helper.
const hello = await client.responses.create({ model, input: "Hello", instructions: "Be brief.", max_output_tokens: 3, store: false });
assert.equal(hello.object, "response");
if (scripted) {
  assert.equal(hello.output_text, "tok0 tok1 tok2");
  assert.equal(hello.status, "incomplete");
  assert.equal(hello.incomplete_details.reason, "max_output_tokens");
  assert.equal(hello.usage.output_tokens, 3);
} else {
  assert.ok(["completed", "incomplete"].includes(hello.status));
}

// 2. A function-tool round trip, not streamed.
const input = [{ role: "user", content: "Weather in Oslo?\ncall get_weather {\"city\":\"Oslo\"}" }];
const first = await client.responses.create({ model, input, tools, max_output_tokens: 300, ...force });
const call = first.output.find((o) => o.type === "function_call");
assert.equal(call.name, "get_weather");
assert.equal(typeof JSON.parse(call.arguments).city, "string");
if (scripted) assert.deepEqual(JSON.parse(call.arguments), { city: "Oslo" });
assert.equal(first.status, "completed");
const answer = await client.responses.create({ model, tools, max_output_tokens: 30, ...free, input: [...input, call, { type: "function_call_output", call_id: call.call_id, output: "sunny" }] });
assert.ok(!answer.output.some((o) => o.type === "function_call"));
if (scripted) assert.equal(answer.output_text, "tool said: sunny");

// 3. Streamed, through the SDK's stream helper: typed events in order, the final response assembled.
const seen = [];
const stream = client.responses.stream({ model, input, tools, max_output_tokens: 300, tool_choice: { type: "function", name: "get_weather" } });
for await (const event of stream) seen.push(event.type);
const final = await stream.finalResponse();
const streamedCall = final.output.find((o) => o.type === "function_call");
assert.equal(typeof JSON.parse(streamedCall.arguments).city, "string");
if (scripted) assert.deepEqual(JSON.parse(streamedCall.arguments), { city: "Oslo" });
assert.deepEqual(seen.slice(0, 3), ["response.created", "response.in_progress", "response.output_item.added"]);
assert.ok(seen.includes("response.function_call_arguments.delta") && seen.includes("response.function_call_arguments.done") && seen.includes("response.output_item.done"));
assert.equal(seen.at(-1), "response.completed");
let text = "";
const textStream = client.responses.stream({ model, tools, max_output_tokens: 30, ...free, input: [...input, streamedCall, { type: "function_call_output", call_id: streamedCall.call_id, output: "rain" }] });
textStream.on("response.output_text.delta", (e) => { text += e.delta; });
const textFinal = await textStream.finalResponse();
assert.equal(textFinal.output_text, text);
if (scripted) assert.equal(text, "tool said: rain");

// 4. What cannot be honoured is refused, saying why.
await assert.rejects(client.responses.create({ model, input: "hi", store: true }), (e) => e instanceof OpenAI.BadRequestError && e.param === "store");
await assert.rejects(client.responses.create({ model, input: "hi", previous_response_id: "resp_1" }), (e) => e instanceof OpenAI.BadRequestError && e.param === "previous_response_id");

// 5. A spent budget is the SDK's rate-limit error with the retry hint.
const tiny = new OpenAI({ baseURL: process.env.LANES_BASE_URL, apiKey: process.env.LANES_TINY_KEY, maxRetries: 0 });
await assert.rejects(tiny.responses.create({ model, input: "hi", max_output_tokens: 4000 }),
  (e) => e instanceof OpenAI.RateLimitError && e.code === "budget_exhausted" && Number(e.headers.get("retry-after")) > 0);

console.log(JSON.stringify({ ok: true, events: [...new Set(seen)] }));
