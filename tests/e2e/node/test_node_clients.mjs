// End-to-end checks of `hearth serve` with the real npm clients `ollama` and `openai` (pinned in
// package.json). Run by scripts/e2e.sh from target/e2e-node with OLLAMA_HOST pointing at a fresh
// server. Prints one line per check and 'N passed, N failed'; exits non-zero on any failure.

import assert from "node:assert/strict";
import { Ollama } from "ollama";
import OpenAI from "openai";

const HOST = process.env.OLLAMA_HOST;
const MODEL = "smollm2:135m";
const client = new Ollama({ host: HOST });
const oai = new OpenAI({ baseURL: `${HOST}/v1`, apiKey: "ollama" });
const checks = [];
const check = (name, fn) => checks.push([name, fn]);

/** Requests queued or running on the server, from /metrics. */
async function queueDepth() {
  const text = await (await fetch(`${HOST}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("hearth_queue_depth "));
  return Number(line.split(" ")[1]);
}

/** Wait until the server runs nothing (a cancelled generation must stop promptly). */
async function idleWithin(ms) {
  const deadline = Date.now() + ms;
  while ((await queueDepth()) !== 0) {
    assert.ok(Date.now() < deadline, "the server kept generating after the client aborted");
    await new Promise((r) => setTimeout(r, 100));
  }
}

check("ollama_list", async () => {
  const { models } = await client.list();
  assert.ok(models.some((m) => m.model === MODEL), JSON.stringify(models.map((m) => m.model)));
});

check("ollama_chat_stream", async () => {
  const stream = await client.chat({
    model: MODEL,
    messages: [{ role: "user", content: "Why is the sky blue?" }],
    stream: true,
    options: { num_predict: 16, temperature: 0 },
  });
  let text = "";
  let last;
  for await (const part of stream) {
    text += part.message.content;
    last = part;
  }
  assert.ok(last.done && last.done_reason === "length" && last.eval_count === 16, JSON.stringify(last));
  const once = await client.chat({
    model: MODEL,
    messages: [{ role: "user", content: "Why is the sky blue?" }],
    options: { num_predict: 16, temperature: 0 },
  });
  assert.equal(once.message.content, text, "greedy output is the same streamed or not");
});

check("ollama_generate_json", async () => {
  const r = await client.generate({
    model: MODEL,
    prompt: "Describe a cat as a JSON object with a name and an age.",
    format: "json",
    options: { num_predict: 200, temperature: 0 },
  });
  assert.ok(r.done, JSON.stringify(r));
  assert.equal(typeof JSON.parse(r.response), "object");
});

check("ollama_embed", async () => {
  const r = await client.embed({ model: MODEL, input: ["hello", "world"] });
  assert.equal(r.embeddings.length, 2);
  const norm = r.embeddings[0].reduce((s, x) => s + x * x, 0);
  assert.ok(Math.abs(norm - 1) < 1e-3, String(norm));
});

check("ollama_errors", async () => {
  await assert.rejects(client.generate({ model: "does-not-exist", prompt: "x" }), (e) => {
    assert.equal(e.status_code, 404);
    assert.match(e.error, /not found/);
    return true;
  });
});

check("ollama_abort_stops_generation", async () => {
  const stream = await client.generate({
    model: MODEL,
    prompt: "Write a very long essay about the sea.",
    stream: true,
    options: { num_predict: 4000 },
  });
  let seen = 0;
  await assert.rejects(async () => {
    for await (const part of stream) {
      seen += 1;
      if (seen === 2) stream.abort();
    }
  }, (e) => e.name === "AbortError");
  assert.equal(seen, 2);
  await idleWithin(10_000);
});

check("openai_chat_stream_and_models", async () => {
  const stream = await oai.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Say hi" }],
    max_tokens: 12,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  assert.ok(chunks.at(-1).usage.completion_tokens > 0, JSON.stringify(chunks.at(-1)));
  const models = await oai.models.list();
  assert.ok(models.data.some((m) => m.id === MODEL));
  const e = await oai.embeddings.create({ model: MODEL, input: "hello" });
  assert.ok(e.data[0].embedding.length > 0);
  const j = await oai.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "A JSON object with a greeting" }],
    response_format: { type: "json_object" },
    max_tokens: 80,
    temperature: 0,
  });
  JSON.parse(j.choices[0].message.content);
});

check("openai_abort_stops_generation", async () => {
  const ac = new AbortController();
  const stream = await oai.chat.completions.create(
    { model: MODEL, messages: [{ role: "user", content: "Write a very long essay." }], max_tokens: 4000, stream: true },
    { signal: ac.signal },
  );
  let seen = 0;
  // openai's stream ends quietly on abort; leaving the loop also cancels the request.
  for await (const _ of stream) {
    seen += 1;
    if (seen === 2) {
      ac.abort();
      break;
    }
  }
  assert.equal(seen, 2);
  await idleWithin(10_000);
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
