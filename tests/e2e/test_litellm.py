"""End-to-end checks of `hearth serve` through the pinned `litellm`: its `ollama_chat/` provider
(`/api/chat`), its `ollama/` provider (`/api/generate`, `/api/embed`), and `openai/` with
`api_base` at `$OLLAMA_HOST/v1` (`/v1/chat/completions`, `/v1/responses`).

Run by scripts/e2e.sh with OLLAMA_HOST pointing at a fresh server. Prints one line per check
and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""

import json
import os

# litellm would fetch its model price list from the network at import; use the bundled copy.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("LITELLM_TELEMETRY", "False")

import litellm  # noqa: E402

from harness import HOST, check, main  # noqa: E402

MODEL = "smollm2:135m"
V1 = HOST + "/v1"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
MSGS = [{"role": "user", "content": "Say hello in one short sentence."}]
TIMEOUT = 120


@check
def ollama_chat_completion_and_stream():
    r = litellm.completion(model=f"ollama_chat/{MODEL}", messages=MSGS, api_base=HOST, max_tokens=16, temperature=0, timeout=TIMEOUT)
    text = r.choices[0].message.content
    assert text and r.choices[0].finish_reason in ("stop", "length"), r
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, r.usage
    parts = list(litellm.completion(model=f"ollama_chat/{MODEL}", messages=MSGS, api_base=HOST, max_tokens=16, temperature=0, stream=True, timeout=TIMEOUT))
    streamed = "".join(p.choices[0].delta.content or "" for p in parts)
    assert streamed == text, (streamed, text)


@check
def ollama_chat_tool_call_and_result():
    # litellm drops `tool_choice` for Ollama; hearth's native /api/chat takes it as an extension
    # (grammar-enforced), so it goes in the body as it is.
    q = [{"role": "user", "content": "What is the weather in Paris?"}]
    r = litellm.completion(
        model=f"ollama_chat/{MODEL}",
        api_base=HOST,
        messages=q,
        tools=[WEATHER],
        extra_body={"tool_choice": "required"},
        max_tokens=64,
        temperature=0,
        timeout=TIMEOUT,
    )
    calls = r.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather", r.choices[0].message
    assert isinstance(json.loads(calls[0].function.arguments), dict), calls[0].function.arguments
    c = calls[0]
    follow = q + [
        {"role": "assistant", "content": "", "tool_calls": [{"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}]},
        {"role": "tool", "tool_call_id": c.id, "content": "18C and sunny"},
    ]
    r = litellm.completion(model=f"ollama_chat/{MODEL}", api_base=HOST, messages=follow, tools=[WEATHER], max_tokens=32, temperature=0, timeout=TIMEOUT)
    assert r.choices[0].message.content or r.choices[0].message.tool_calls, r


@check
def ollama_chat_json_format():
    r = litellm.completion(
        model=f"ollama_chat/{MODEL}",
        api_base=HOST,
        messages=[{"role": "user", "content": "Give a JSON object with a key 'city' naming a city."}],
        response_format={"type": "json_object"},
        max_tokens=48,
        temperature=0,
        timeout=TIMEOUT,
    )
    assert isinstance(json.loads(r.choices[0].message.content), dict), r.choices[0].message.content


@check
def ollama_generate_completion_and_embedding():
    r = litellm.completion(model=f"ollama/{MODEL}", messages=MSGS, api_base=HOST, max_tokens=12, temperature=0, timeout=TIMEOUT)
    assert r.choices[0].message.content, r
    parts = list(litellm.completion(model=f"ollama/{MODEL}", messages=MSGS, api_base=HOST, max_tokens=12, temperature=0, stream=True, timeout=TIMEOUT))
    assert "".join(p.choices[0].delta.content or "" for p in parts), parts
    e = litellm.embedding(model=f"ollama/{MODEL}", input=["hello", "world"], api_base=HOST, timeout=TIMEOUT)
    assert len(e.data) == 2 and len(e.data[0]["embedding"]) > 0, e


@check
def openai_provider_chat_completions():
    kw = dict(model=f"openai/{MODEL}", api_base=V1, api_key="ollama", messages=MSGS, max_tokens=16, temperature=0, timeout=TIMEOUT)
    r = litellm.completion(**kw)
    text = r.choices[0].message.content
    assert text and r.usage.completion_tokens > 0, r
    parts = list(litellm.completion(stream=True, **kw))
    assert "".join(p.choices[0].delta.content or "" for p in parts) == text
    t = litellm.completion(
        model=f"openai/{MODEL}",
        api_base=V1,
        api_key="ollama",
        messages=[{"role": "user", "content": "Weather in Rome?"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=64,
        temperature=0,
        timeout=TIMEOUT,
    )
    calls = t.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather", t.choices[0].message


@check
def openai_provider_responses():
    r = litellm.responses(model=f"openai/{MODEL}", api_base=V1, api_key="ollama", input="Say hi.", max_output_tokens=16, temperature=0, timeout=TIMEOUT)
    assert r.id.startswith("resp_") and r.status in ("completed", "incomplete"), r
    texts = [c.text for o in r.output if o.type == "message" for c in o.content]
    assert texts and texts[0], r.output
    kinds = [ev.type for ev in litellm.responses(model=f"openai/{MODEL}", api_base=V1, api_key="ollama", input="Say hi.", max_output_tokens=8, stream=True, timeout=TIMEOUT)]
    assert "response.output_text.delta" in kinds and kinds[-1] in ("response.completed", "response.incomplete"), kinds


if __name__ == "__main__":
    main()
