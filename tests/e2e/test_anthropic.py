"""End-to-end checks of hearth's Anthropic Messages API with the real `anthropic` Python SDK.

Run by scripts/e2e.sh with OLLAMA_HOST pointing at a fresh server and HEARTH_BIN at the binary.
Covers messages.create, messages.stream, messages.count_tokens (exact: it equals the usage a
generation reports), stop sequences, a tool-use round trip, tool_choice `any` and `tool`, and
errors; starts one extra server of its own with an API key for the x-api-key check. Prints one
line per check and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import anthropic

from harness import HOST, check, main

BIN = os.environ.get("HEARTH_BIN", "target/release/hearth")
MODEL = "smollm2:135m"
OTHER = "gemma3:270m"
client = anthropic.Anthropic(base_url=HOST, api_key="hearth", max_retries=0)
# The current SDK no longer types the sampling fields; hearth still honours them.
GREEDY = {"extra_body": {"temperature": 0, "top_k": 1}}
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME = {
    "name": "get_time",
    "description": "Get the local time of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def post(path, body, headers=None, base=HOST):
    req = urllib.request.Request(base + path, data=body if isinstance(body, bytes) else json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)


@check
def create_message():
    ask = [{"role": "user", "content": "Write a long story about a dragon."}]
    m = client.messages.create(model=MODEL, max_tokens=16, messages=ask, **GREEDY)
    assert m.type == "message" and m.role == "assistant" and m.model == MODEL, m
    assert m.id.startswith("msg_") and m._request_id and m._request_id.startswith("req_"), m
    assert len(m.content) == 1 and m.content[0].type == "text" and m.content[0].text, m
    assert m.stop_reason == "max_tokens" and m.stop_sequence is None, m
    assert m.usage.output_tokens == 16 and m.usage.input_tokens > 0, m.usage
    short = client.messages.create(model=MODEL, max_tokens=200, system="Answer with one word.", messages=[{"role": "user", "content": "Say hi."}], **GREEDY)
    assert short.stop_reason in ("end_turn", "max_tokens"), short
    if short.stop_reason == "end_turn":
        assert short.usage.output_tokens < 200, short.usage


@check
def stream_matches_create():
    kw = {"model": MODEL, "max_tokens": 24, "messages": [{"role": "user", "content": "Why is the sky blue?"}], **GREEDY}
    plain = client.messages.create(**kw)
    with client.messages.stream(**kw) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == plain.content[0].text, (text, plain.content[0].text)
    assert final.content[0].text == text and final.stop_reason == plain.stop_reason, final
    assert final.usage.output_tokens == plain.usage.output_tokens and final.usage.input_tokens == plain.usage.input_tokens, (final.usage, plain.usage)
    # The events as the SDK yields them (it drops pings), in Anthropic's order.
    events = [e.type for e in client.messages.create(stream=True, **kw)]
    assert events[:2] == ["message_start", "content_block_start"], events
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"], events
    assert set(events[2:-3]) == {"content_block_delta"}, events
    # On the wire: `event:` lines naming each data's type, a ping after message_start.
    body = {k: v for k, v in kw.items() if k != "extra_body"} | kw["extra_body"] | {"stream": True}
    req = urllib.request.Request(HOST + "/v1/messages", data=json.dumps(body).encode(), headers={"Content-Type": "application/json", "anthropic-version": "2023-06-01"})
    with urllib.request.urlopen(req, timeout=120) as r:
        assert r.headers["Content-Type"] == "text/event-stream", r.headers
        raw = r.read().decode()
    wire = []
    for block in filter(None, raw.split("\n\n")):
        name, data = block.split("\n")
        assert name.startswith("event: ") and data.startswith("data: "), block
        assert json.loads(data[6:])["type"] == name[7:], block
        wire.append(name[7:])
    assert wire[:3] == ["message_start", "ping", "content_block_start"], wire
    assert [w for w in wire if w != "ping"] == events, (wire, events)


@check
def count_tokens_is_exact():
    for model in (MODEL, OTHER):
        for kw in (
            {"messages": [{"role": "user", "content": "Hello there!"}]},
            {"system": "You are terse.", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": [{"type": "text", "text": "And now?"}]}]},
            {"system": [{"type": "text", "text": "Use tools."}], "tools": [WEATHER], "messages": [{"role": "user", "content": "Weather in Paris?"}]},
        ):
            counted = client.messages.count_tokens(model=model, **kw).input_tokens
            used = client.messages.create(model=model, max_tokens=1, **kw).usage.input_tokens
            assert counted == used and counted > 0, (model, kw, counted, used)
    a = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hi"}]).input_tokens
    b = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hi " * 50}]).input_tokens
    assert b >= a + 49, (a, b)


@check
def stop_sequences():
    kw = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "Describe the weather in three sentences."}], **GREEDY}
    free = client.messages.create(**kw).content[0].text
    assert "e" in free, free
    m = client.messages.create(stop_sequences=["e"], **kw)
    assert m.stop_reason == "stop_sequence" and m.stop_sequence == "e", m
    assert m.content[0].text == free[: free.index("e")], (m.content[0].text, free)
    with client.messages.stream(stop_sequences=["ZZQQ", "e"], **kw) as s:
        final = s.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == "e", final
    m = client.messages.create(stop_sequences=["ZZQQ"], **kw)
    assert m.stop_reason != "stop_sequence" and m.stop_sequence is None, m


@check
def tool_use_round_trip():
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    m = client.messages.create(model=MODEL, max_tokens=128, tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"}, messages=ask, **GREEDY)
    assert m.stop_reason == "tool_use", m
    calls = [b for b in m.content if b.type == "tool_use"]
    assert calls and all(c.name == "get_weather" and isinstance(c.input, dict) and "city" in c.input for c in calls), m
    assert calls[0].id.startswith("toolu_"), calls
    results = [{"type": "tool_result", "tool_use_id": c.id, "content": "Sunny, 22 degrees"} for c in calls]
    follow = client.messages.create(model=MODEL, max_tokens=48, tools=[WEATHER], messages=[*ask, {"role": "assistant", "content": m.content}, {"role": "user", "content": results}], **GREEDY)
    assert follow.stop_reason in ("end_turn", "max_tokens", "tool_use"), follow
    assert follow.content and follow.usage.input_tokens > m.usage.input_tokens, follow
    # An error result, and results as text blocks, are accepted too.
    err = [{"type": "tool_result", "tool_use_id": calls[0].id, "is_error": True, "content": [{"type": "text", "text": "city not found"}]}]
    again = client.messages.create(model=MODEL, max_tokens=16, tools=[WEATHER], messages=[*ask, {"role": "assistant", "content": m.content}, {"role": "user", "content": err}])
    assert again.content, again


@check
def tool_choice_any_and_tool():
    ask = [{"role": "user", "content": "What time is it in Tokyo, and what is the weather there?"}]
    m = client.messages.create(model=MODEL, max_tokens=160, tools=[WEATHER, TIME], tool_choice={"type": "any"}, messages=ask, **GREEDY)
    calls = [b for b in m.content if b.type == "tool_use"]
    assert m.stop_reason == "tool_use" and calls and all(c.name in ("get_weather", "get_time") for c in calls), m
    one = client.messages.create(model=MODEL, max_tokens=160, tools=[WEATHER, TIME], tool_choice={"type": "tool", "name": "get_time", "disable_parallel_tool_use": True}, messages=ask, **GREEDY)
    calls = [b for b in one.content if b.type == "tool_use"]
    assert len(calls) == 1 and calls[0].name == "get_time" and "city" in calls[0].input, one
    with client.messages.stream(model=MODEL, max_tokens=160, tools=[WEATHER, TIME], tool_choice={"type": "tool", "name": "get_weather"}, messages=ask, **GREEDY) as s:
        final = s.get_final_message()
    calls = [b for b in final.content if b.type == "tool_use"]
    assert final.stop_reason == "tool_use" and calls and calls[0].name == "get_weather" and isinstance(calls[0].input, dict) and "city" in calls[0].input, final
    none = client.messages.create(model=MODEL, max_tokens=16, tools=[WEATHER, TIME], tool_choice={"type": "none"}, messages=ask)
    assert all(b.type == "text" for b in none.content) and none.stop_reason != "tool_use", none


@check
def structured_output():
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}}, "required": ["city", "population"], "additionalProperties": False}
    m = client.messages.create(model=MODEL, max_tokens=80, output_config={"format": {"type": "json_schema", "schema": schema}}, messages=[{"role": "user", "content": "Name a city and its population."}], **GREEDY)
    data = json.loads(m.content[0].text)
    assert isinstance(data["city"], str) and isinstance(data["population"], int), data


@check
def thinking_accepted_without_thinking_blocks():
    m = client.messages.create(model=MODEL, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}, metadata={"user_id": "e2e"}, messages=[{"role": "user", "content": "Hi"}])
    assert m.content and all(b.type == "text" for b in m.content), m


@check
def errors_are_anthropic_errors():
    try:
        client.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
        raise AssertionError("expected a 404")
    except anthropic.NotFoundError as e:
        assert e.status_code == 404 and e.body["type"] == "error" and e.body["error"]["type"] == "not_found_error", e.body
    try:
        img = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
        client.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": [img, {"type": "text", "text": "What is this?"}]}])
        raise AssertionError("expected a 400")
    except anthropic.BadRequestError as e:
        assert e.body["error"]["type"] == "invalid_request_error" and "vision" in e.body["error"]["message"], e.body
    s, v, _ = post("/v1/messages", {"model": MODEL, "messages": [{"role": "user", "content": "x"}]})
    assert s == 400 and v["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}, (s, v)
    for raw in (b"{not json", b'{"model": 5, "max_tokens": 1, "messages": []}', b"[]"):
        s, v, _ = post("/v1/messages", raw)
        assert s == 400 and v["type"] == "error" and v["error"]["type"] == "invalid_request_error", (raw, s, v)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@check
def api_key_as_x_api_key():
    port = free_port()
    store = tempfile.mkdtemp(prefix="hearth-anthropic-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEARTH_", "OLLAMA_"))}
    env.update({"OLLAMA_HOST": f"127.0.0.1:{port}", "OLLAMA_MODELS": store, "HEARTH_API_KEY": "s3cret"})
    log = open(os.path.join(store, "serve.log"), "w")
    proc = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(url + "/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, open(log.name).read()
                time.sleep(0.2)
        good = anthropic.Anthropic(base_url=url, api_key="s3cret", max_retries=0)
        assert good.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hi"}]).input_tokens > 0
        bearer = anthropic.Anthropic(base_url=url, auth_token="s3cret", max_retries=0)
        assert bearer.messages.create(model=MODEL, max_tokens=2, messages=[{"role": "user", "content": "Hi"}]).content
        try:
            anthropic.Anthropic(base_url=url, api_key="wrong", max_retries=0).messages.create(model=MODEL, max_tokens=2, messages=[{"role": "user", "content": "Hi"}])
            raise AssertionError("expected a 401")
        except anthropic.AuthenticationError as e:
            assert e.status_code == 401 and e.body["error"]["type"] == "authentication_error", e.body
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(store, ignore_errors=True)


@check
def routes_in_metrics():
    with urllib.request.urlopen(HOST + "/metrics", timeout=30) as r:
        text = r.read().decode()
    assert 'endpoint="/v1/messages",status="200"' in text, text
    assert 'endpoint="/v1/messages/count_tokens",status="200"' in text, text


if __name__ == "__main__":
    main()
