"""End-to-end checks of `hearth serve` with the real Python clients (ollama, openai).

Run by scripts/e2e.sh with OLLAMA_HOST pointing at a fresh server. Prints one line per check
and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""

import concurrent.futures
import json

import ollama
import openai

from harness import HOST, check, main

MODEL = "smollm2:135m"
client = ollama.Client(host=HOST)
oai = openai.OpenAI(base_url=HOST + "/v1", api_key="ollama")


@check
def tags_list_bundled_models():
    names = [m.model for m in client.list().models]
    assert MODEL in names, names
    m = next(m for m in client.list().models if m.model == MODEL)
    assert m.details.format == "gguf" and m.details.family and m.details.parameter_size and m.details.quantization_level


@check
def generate_non_stream_and_stream():
    r = client.generate(model=MODEL, prompt="Why is the sky blue?", options={"num_predict": 16, "temperature": 0})
    assert r.done and r.done_reason == "length" and r.eval_count == 16 and r.response, r
    parts = list(client.generate(model=MODEL, prompt="Why is the sky blue?", stream=True, options={"num_predict": 16, "temperature": 0}))
    assert parts[-1].done and "".join(p.response for p in parts) == r.response


@check
def chat_stream_and_json_schema():
    parts = list(client.chat(model=MODEL, messages=[{"role": "user", "content": "Hello!"}], stream=True, options={"num_predict": 12}))
    assert parts[-1].done and parts[-1].message.role == "assistant"
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}}, "required": ["city", "population"]}
    r = client.chat(model=MODEL, messages=[{"role": "user", "content": "Name a city and its population as JSON."}], format=schema, options={"temperature": 0, "num_predict": 80})
    data = json.loads(r.message.content)
    assert isinstance(data["city"], str) and isinstance(data["population"], int), data


@check
def embeddings():
    r = client.embed(model=MODEL, input=["hello", "world"])
    assert len(r.embeddings) == 2
    norm = sum(x * x for x in r.embeddings[0])
    assert abs(norm - 1) < 1e-3, norm
    e = oai.embeddings.create(model=MODEL, input="hello")
    assert len(e.data[0].embedding) == len(r.embeddings[0])


@check
def show_ps_copy_delete_create():
    s = client.show(MODEL)
    assert s.modelinfo is not None and s.details.family == "llama" and s.capabilities
    client.generate(model=MODEL, prompt="")
    assert any(m.model == MODEL for m in client.ps().models)
    client.copy(MODEL, "e2e/copy:v1")
    assert any(m.model == "e2e/copy:v1" for m in client.list().models)
    out = list(client.create(model="e2e-terse", from_="e2e/copy:v1", system="Answer in one word.", parameters={"temperature": 0.1}, stream=True))
    assert out[-1].status == "success", out
    assert "Answer in one word." in client.show("e2e-terse").modelfile
    r = client.generate(model="e2e-terse", prompt="Hi", options={"num_predict": 4})
    assert r.done
    client.delete("e2e-terse")
    client.delete("e2e/copy:v1")
    names = [m.model for m in client.list().models]
    assert "e2e-terse:latest" not in names and "e2e/copy:v1" not in names


@check
def seeds_reproducible():
    args = dict(model=MODEL, prompt="Tell me a story", options={"seed": 7, "temperature": 0.9, "num_predict": 16})
    assert client.generate(**args).response == client.generate(**args).response


@check
def errors_raise_response_error():
    try:
        client.generate(model="does-not-exist", prompt="x")
    except ollama.ResponseError as e:
        assert e.status_code == 404 and "not found" in e.error, e
    else:
        raise AssertionError("no error for an unknown model")
    try:
        oai.chat.completions.create(model="does-not-exist", messages=[{"role": "user", "content": "x"}])
    except openai.NotFoundError:
        pass
    else:
        raise AssertionError("no error for an unknown model on /v1")


@check
def openai_chat_stream_and_usage():
    r = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hi"}], max_tokens=12)
    assert r.choices[0].message.content and r.usage.completion_tokens > 0
    chunks = list(oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Say hi"}], max_tokens=12, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    j = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "A JSON object with a greeting"}], response_format={"type": "json_object"}, max_tokens=60, temperature=0)
    json.loads(j.choices[0].message.content)
    c = oai.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=8)
    assert c.choices[0].text
    assert any(m.id == MODEL for m in oai.models.list().data)


@check
def eight_concurrent_clients():
    def one(i):
        return client.generate(model=MODEL, prompt=f"Count to {i}", options={"num_predict": 16, "seed": i})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert all(r.done and r.eval_count > 0 for r in results)


@check
def keep_alive_unload():
    client.generate(model=MODEL, prompt="", keep_alive=0)
    assert not any(m.model == MODEL for m in client.ps().models)


if __name__ == "__main__":
    main()
