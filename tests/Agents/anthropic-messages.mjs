// The official Anthropic TypeScript SDK, unmodified, against a Lanes gateway's Messages door.
// Env: LANES_ROOT_URL (the gateway without /v1), LANES_API_KEY, LANES_MODEL, LANES_TINY_KEY (a key whose budget is
// too small for any request). The gateway's model is the scripted engine, which calls what a "call NAME {args}" line
// names and answers a tool result with "tool said: ...". Exits non-zero on a failed assertion.
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";

const client = new Anthropic({ baseURL: process.env.LANES_ROOT_URL, apiKey: process.env.LANES_API_KEY, maxRetries: 0 });
const model = process.env.LANES_MODEL;
// "model": a real (here tiny, random) model; calls are forced with tool_choice and text is not predictable.
const scripted = process.env.LANES_TOOL_MODE !== "model";
const tools = [{
  name: "get_weather",
  description: "The weather in a city now.",
  input_schema: { type: "object", properties: { city: { type: "string", maxLength: 16 } }, required: ["city"] },
}];
const force = scripted ? {} : { tool_choice: { type: "tool", name: "get_weather" } };

// 1. A plain message.
const hello = await client.messages.create({ model, max_tokens: 5, system: "Be brief.", messages: [{ role: "user", content: "Hello" }] });
assert.equal(hello.type, "message");
assert.equal(hello.role, "assistant");
if (scripted) {
  assert.equal(hello.content[0].type, "text");
  assert.equal(hello.content[0].text, "tok0 tok1 tok2 tok3 tok4");
  assert.equal(hello.stop_reason, "max_tokens");
  assert.equal(hello.usage.output_tokens, 5);
} else {
  assert.ok(["end_turn", "max_tokens"].includes(hello.stop_reason));
}
assert.ok(hello.usage.input_tokens > 0);

// 2. tool_use -> tool_result round trip, not streamed.
const messages = [{ role: "user", content: "Weather in Oslo?\ncall get_weather {\"city\":\"Oslo\"}" }];
const first = await client.messages.create({ model, max_tokens: 300, tools, messages, ...force });
assert.equal(first.stop_reason, "tool_use");
const use = first.content.find((b) => b.type === "tool_use");
assert.equal(use.name, "get_weather");
assert.equal(typeof use.input.city, "string");
if (scripted) assert.deepEqual(use.input, { city: "Oslo" });
assert.ok(use.id.startsWith("toolu_"));
messages.push({ role: "assistant", content: first.content });
messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }] });
const answer = await client.messages.create({ model, max_tokens: 30, tools, messages, ...(scripted ? {} : { tool_choice: { type: "none" } }) });
assert.ok(!answer.content.some((b) => b.type === "tool_use"));
if (scripted) {
  assert.equal(answer.stop_reason, "end_turn");
  assert.equal(answer.content[0].text, "tool said: sunny");
}

// 3. The same round trip streamed, through the SDK's stream helper and its events.
const events = [];
const stream = client.messages.stream({ model, max_tokens: 300, tools, messages: messages.slice(0, 1), tool_choice: { type: "tool", name: "get_weather" } });
stream.on("streamEvent", (e) => events.push(e.type));
const streamed = await stream.finalMessage();
assert.equal(streamed.stop_reason, "tool_use");
const streamedUse = streamed.content.find((b) => b.type === "tool_use");
assert.equal(typeof streamedUse.input.city, "string");
if (scripted) assert.deepEqual(streamedUse.input, { city: "Oslo" });
assert.equal(events[0], "message_start");
assert.ok(events.includes("content_block_start") && events.includes("content_block_delta") && events.includes("content_block_stop"));
assert.deepEqual(events.slice(-2), ["message_delta", "message_stop"]);
let text = "";
const textStream = client.messages.stream({ model, max_tokens: 30, tools, ...(scripted ? {} : { tool_choice: { type: "none" } }), messages: [...messages.slice(0, 1), { role: "assistant", content: streamed.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: streamedUse.id, content: [{ type: "text", text: "rain" }] }] }] });
textStream.on("text", (t) => { text += t; });
const textFinal = await textStream.finalMessage();
assert.ok(!textFinal.content.some((b) => b.type === "tool_use"));
if (scripted) assert.equal(text, "tool said: rain");

// 4. Token counting.
const counted = await client.messages.countTokens({ model, messages: [{ role: "user", content: "Hello" }], tools });
assert.ok(counted.input_tokens > 0);

// 5. The models this key may use, listed the way Anthropic lists them.
const models = await client.models.list();
assert.ok(models.data.some((m) => m.id === model && m.type === "model"));

// 6. Refusals arrive as the SDK's typed errors: a bad request, and a spent budget with its retry hint.
await assert.rejects(client.messages.create({ model, max_tokens: 10, messages: [{ role: "robot", content: "x" }] }), (e) => e instanceof Anthropic.BadRequestError && e.error.type === "error" && e.error.error.type === "invalid_request_error");
const tiny = new Anthropic({ baseURL: process.env.LANES_ROOT_URL, apiKey: process.env.LANES_TINY_KEY, maxRetries: 0 });
await assert.rejects(tiny.messages.create({ model, max_tokens: 4000, messages: [{ role: "user", content: "hi" }] }),
  (e) => e instanceof Anthropic.RateLimitError && e.error.error.type === "rate_limit_error" && Number(typeof e.headers?.get === "function" ? e.headers.get("retry-after") : e.headers?.["retry-after"]) > 0);
const badKey = new Anthropic({ baseURL: process.env.LANES_ROOT_URL, apiKey: "lanes_" + "z".repeat(43), maxRetries: 0 });
await assert.rejects(badKey.messages.create({ model, max_tokens: 4, messages: [{ role: "user", content: "hi" }] }), (e) => e instanceof Anthropic.AuthenticationError);

console.log(JSON.stringify({ ok: true, events: [...new Set(events)] }));
