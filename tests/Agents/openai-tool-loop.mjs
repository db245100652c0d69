// The official OpenAI Node SDK, unmodified, driving a tool loop through a Lanes gateway.
// Env: LANES_BASE_URL (…/v1), LANES_API_KEY, LANES_MODEL, LANES_TOOL_MODE = "scripted" (the scripted engine calls
// what a "call NAME {args}" line says) or "model" (a real model: calls are forced with tool_choice).
// Exits non-zero with the failed assertion on stderr; prints a JSON summary on success.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.LANES_BASE_URL, apiKey: process.env.LANES_API_KEY, maxRetries: 0 });
const model = process.env.LANES_MODEL;
const scripted = process.env.LANES_TOOL_MODE === "scripted";

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city now.",
      parameters: { type: "object", properties: { city: { type: "string", maxLength: 20 } }, required: ["city"], additionalProperties: false },
      strict: true,
    },
  },
  {
    type: "function",
    function: {
      name: "get_time",
      description: "The local time in a city.",
      parameters: { type: "object", properties: { city: { type: "string", maxLength: 20 } }, required: ["city"], additionalProperties: false },
    },
  },
];

const ask = (text) => [{ role: "user", content: scripted ? text : text.split("\n")[0] }];
const results = {};

// 1. Not streamed: call -> tool result -> answer.
{
  const messages = ask("What is the weather in Oslo?\ncall get_weather {\"city\":\"Oslo\"}");
  const first = await client.chat.completions.create({
    model, messages, tools, max_tokens: 300,
    tool_choice: scripted ? "auto" : { type: "function", function: { name: "get_weather" } },
  });
  const choice = first.choices[0];
  assert.equal(choice.finish_reason, "tool_calls");
  assert.equal(choice.message.tool_calls.length, 1);
  const call = choice.message.tool_calls[0];
  assert.equal(call.type, "function");
  assert.equal(call.function.name, "get_weather");
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, "string");
  messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: "sunny, 18 C" });
  const answer = await client.chat.completions.create({ model, messages, tools, max_tokens: 30, tool_choice: scripted ? "auto" : "none" });
  assert.equal(answer.choices[0].message.tool_calls ?? undefined, undefined);
  assert.equal(typeof answer.choices[0].message.content, "string");
  assert.ok(["stop", "length"].includes(answer.choices[0].finish_reason));
  // A real (here tiny, random) model may end its turn at once; the scripted one answers from the result.
  if (scripted) assert.equal(answer.choices[0].message.content, "tool said: sunny, 18 C");
  // With tool_choice "none" the tools leave the prompt, so only the scripted loop (tools both times) grows.
  assert.ok(scripted ? answer.usage.prompt_tokens > first.usage.prompt_tokens : answer.usage.prompt_tokens > 0);
  results.loop = { arguments: call.function.arguments, answer: answer.choices[0].message.content };
}

// 2. Streamed with parallel calls (required on a real model: one call per turn is what constrained decoding forces).
{
  const messages = ask("Weather and time?\ncall get_weather {\"city\":\"Oslo\"}\ncall get_time {\"city\":\"Bergen\"}");
  const stream = await client.chat.completions.create({
    model, messages, tools, stream: true, stream_options: { include_usage: true }, max_tokens: 300,
    tool_choice: scripted ? "auto" : "required", parallel_tool_calls: true,
  });
  const calls = [];
  let finish = null, usage = null, afterUsage = 0;
  for await (const chunk of stream) {
    if (usage) afterUsage++;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    for (const d of choice.delta.tool_calls ?? []) {
      if (d.id) calls[d.index] = { id: d.id, name: d.function.name, arguments: "" };
      calls[d.index].arguments += d.function?.arguments ?? "";
    }
    finish = choice.finish_reason ?? finish;
  }
  assert.equal(finish, "tool_calls");
  assert.ok(usage, "usage arrives last");
  assert.equal(afterUsage, 0);
  assert.equal(calls.length, scripted ? 2 : 1);
  for (const c of calls) JSON.parse(c.arguments);
  messages.push({ role: "assistant", content: null, tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) });
  for (const c of calls) messages.push({ role: "tool", tool_call_id: c.id, content: c.name === "get_time" ? "09:00" : "sunny" });
  let text = "";
  for await (const chunk of await client.chat.completions.create({ model, messages, tools, stream: true, max_tokens: 30, tool_choice: scripted ? "auto" : "none" })) {
    text += chunk.choices[0]?.delta?.content ?? "";
  }
  if (scripted) assert.equal(text, "tool said: sunny; 09:00");
  results.streamed = { calls: calls.map((c) => c.name), text };
}

// 3. Structured output (json_schema) on engines that honour it.
if (!scripted) {
  const schema = { type: "object", properties: { city: { type: "string", maxLength: 20 }, warm: { type: "boolean" } }, required: ["city", "warm"], additionalProperties: false };
  const r = await client.chat.completions.create({
    model, messages: [{ role: "user", content: "Is Oslo warm? Answer in JSON." }], max_tokens: 300,
    response_format: { type: "json_schema", json_schema: { name: "verdict", schema, strict: true } },
  });
  const parsed = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof parsed.city, "string");
  assert.equal(typeof parsed.warm, "boolean");
  results.structured = parsed;
}

// 4. A refusal surfaces as the SDK's typed error with OpenAI's fields.
try {
  await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], tools, tool_choice: { type: "function", function: { name: "nope" } } });
  assert.fail("a tool_choice naming no tool must be refused");
} catch (e) {
  assert.ok(e instanceof OpenAI.BadRequestError, String(e));
  assert.equal(e.param, "tool_choice");
}

console.log(JSON.stringify(results));
