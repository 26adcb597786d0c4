// End-to-end checks of hearth's Anthropic Messages API with the real npm `@anthropic-ai/sdk`
// (pinned in package.json). Run by scripts/e2e.sh from target/e2e-node with OLLAMA_HOST pointing
// at a fresh server: messages.create, messages.stream, messages.countTokens, a tool-use round
// trip with tool_choice `tool` and `any`, and errors. Prints one line per check and
// 'N passed, N failed'; exits non-zero on any failure.

import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";

const HOST = process.env.OLLAMA_HOST.startsWith("http") ? process.env.OLLAMA_HOST : `http://${process.env.OLLAMA_HOST}`;
const MODEL = "smollm2:135m";
const client = new Anthropic({ baseURL: HOST, apiKey: "hearth", maxRetries: 0 });
const GREEDY = { temperature: 0, top_k: 1 };
const WEATHER = {
  name: "get_weather",
  description: "Get the current weather of a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check("create_and_stream", async () => {
  const params = { model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "Write a long story about a dragon." }], ...GREEDY };
  const m = await client.messages.create(params);
  assert.equal(m.type, "message");
  assert.ok(m.id.startsWith("msg_"), m.id);
  assert.equal(m.content[0].type, "text");
  assert.ok(m.content[0].text.length > 0);
  assert.equal(m.stop_reason, "max_tokens");
  assert.equal(m.usage.output_tokens, 16);
  const stream = client.messages.stream(params);
  let text = "";
  stream.on("text", (t) => (text += t));
  const final = await stream.finalMessage();
  assert.equal(text, m.content[0].text);
  assert.equal(final.content[0].text, text);
  assert.equal(final.stop_reason, "max_tokens");
  assert.equal(final.usage.input_tokens, m.usage.input_tokens);
  const types = [];
  for await (const event of await client.messages.create({ ...params, stream: true })) types.push(event.type);
  // The SDK drops pings.
  assert.deepEqual(types.slice(0, 2), ["message_start", "content_block_start"]);
  assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
});

check("count_tokens_matches_usage", async () => {
  const params = { model: MODEL, system: "You are terse.", messages: [{ role: "user", content: "Hello there!" }] };
  const { input_tokens } = await client.messages.countTokens(params);
  const m = await client.messages.create({ ...params, max_tokens: 1 });
  assert.ok(input_tokens > 0);
  assert.equal(input_tokens, m.usage.input_tokens);
});

check("stop_sequence", async () => {
  const params = { model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "Describe the weather in three sentences." }], ...GREEDY };
  const free = (await client.messages.create(params)).content[0].text;
  const m = await client.messages.create({ ...params, stop_sequences: ["e"] });
  assert.equal(m.stop_reason, "stop_sequence");
  assert.equal(m.stop_sequence, "e");
  assert.equal(m.content[0].text, free.slice(0, free.indexOf("e")));
});

check("tool_use_round_trip", async () => {
  const messages = [{ role: "user", content: "What is the weather in Paris?" }];
  const m = await client.messages.create({ model: MODEL, max_tokens: 128, tools: [WEATHER], tool_choice: { type: "tool", name: "get_weather" }, messages, ...GREEDY });
  assert.equal(m.stop_reason, "tool_use");
  const calls = m.content.filter((b) => b.type === "tool_use");
  assert.ok(calls.length > 0 && calls.every((c) => c.name === "get_weather" && typeof c.input.city === "string"), JSON.stringify(m.content));
  const results = calls.map((c) => ({ type: "tool_result", tool_use_id: c.id, content: "Sunny, 22 degrees" }));
  const follow = await client.messages.create({ model: MODEL, max_tokens: 32, tools: [WEATHER], messages: [...messages, { role: "assistant", content: m.content }, { role: "user", content: results }] });
  assert.ok(follow.content.length > 0);
  // tool_choice any, streamed: the SDK assembles the input from input_json_delta.
  const stream = client.messages.stream({ model: MODEL, max_tokens: 128, tools: [WEATHER], tool_choice: { type: "any", disable_parallel_tool_use: true }, messages, ...GREEDY });
  const final = await stream.finalMessage();
  const streamed = final.content.filter((b) => b.type === "tool_use");
  assert.equal(final.stop_reason, "tool_use");
  assert.equal(streamed.length, 1, JSON.stringify(final.content));
  assert.equal(streamed[0].name, "get_weather");
  assert.equal(typeof streamed[0].input.city, "string");
});

check("errors", async () => {
  await assert.rejects(
    client.messages.create({ model: "no-such-model", max_tokens: 4, messages: [{ role: "user", content: "x" }] }),
    (e) => e instanceof Anthropic.NotFoundError && e.status === 404 && e.error.error.type === "not_found_error",
  );
  await assert.rejects(
    client.messages.create({ model: MODEL, max_tokens: 4, messages: [{ role: "system", content: "x" }] }),
    (e) => e instanceof Anthropic.BadRequestError && e.error.error.type === "invalid_request_error",
  );
  const r = await fetch(`${HOST}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.type, "invalid_request_error");
});

let passed = 0;
let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}`);
    console.log(e);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
