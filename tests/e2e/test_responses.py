"""End-to-end checks of `POST /v1/responses` with the pinned `openai` SDK against `hearth serve`.

Run by scripts/e2e.sh with OLLAMA_HOST pointing at a fresh server (the real bundled model).
Prints one line per check and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""

import json

import openai
import pydantic

from harness import HOST, check, main

MODEL = "smollm2:135m"
oai = openai.OpenAI(base_url=HOST + "/v1", api_key="ollama")

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
TIME = {
    "type": "function",
    "name": "get_time",
    "description": "Get the current time in a time zone",
    "parameters": {
        "type": "object",
        "properties": {"zone": {"type": "string"}},
        "required": ["zone"],
    },
}


@check
def create_non_streaming():
    r = oai.responses.create(model=MODEL, input="Say hello.", max_output_tokens=24, temperature=0)
    assert r.id.startswith("resp_") and r.object == "response", r
    assert r.status in ("completed", "incomplete"), r.status
    assert r.output_text and r.output_text == r.output[0].content[0].text, r
    assert r.output[0].type == "message" and r.output[0].role == "assistant" and r.output[0].id.startswith("msg_")
    u = r.usage
    assert u.input_tokens > 0 and u.output_tokens > 0 and u.total_tokens == u.input_tokens + u.output_tokens, u
    assert u.input_tokens_details.cached_tokens >= 0 and u.output_tokens_details.reasoning_tokens == 0
    assert r.model == MODEL and r.temperature == 0 and r.tool_choice == "auto" and r.tools == []


@check
def max_output_tokens_gives_incomplete():
    r = oai.responses.create(model=MODEL, input="Tell me a long story about dragons.", max_output_tokens=4)
    assert r.status == "incomplete", r.status
    assert r.incomplete_details.reason == "max_output_tokens", r.incomplete_details
    assert r.usage.output_tokens == 4, r.usage


@check
def instructions_are_used_and_echoed():
    base = dict(model=MODEL, input="What is your name?", max_output_tokens=16, temperature=0)
    a = oai.responses.create(instructions="Be brief.", **base)
    long = "You are a pirate called Captain Hook, sailing the seven seas on the Jolly Roger. Always say Arr."
    b = oai.responses.create(instructions=long, **base)
    assert a.instructions == "Be brief." and b.instructions == long, (a.instructions, b.instructions)
    # The instructions are the system message: a longer one is a longer prompt.
    assert b.usage.input_tokens > a.usage.input_tokens + 15, (a.usage, b.usage)
    assert a.output_text != b.output_text, (a.output_text, b.output_text)


@check
def streaming_events_in_order():
    kinds = []
    text = ""
    seqs = []
    with oai.responses.create(model=MODEL, input="Count to five.", max_output_tokens=16, temperature=0, stream=True) as stream:
        for ev in stream:
            kinds.append(ev.type)
            seqs.append(ev.sequence_number)
            if ev.type == "response.output_text.delta":
                text += ev.delta
            if ev.type in ("response.completed", "response.incomplete"):
                final = ev.response
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"], kinds
    assert kinds[-4:-1] == ["response.output_text.done", "response.content_part.done", "response.output_item.done"], kinds
    assert kinds[-1] in ("response.completed", "response.incomplete"), kinds
    assert seqs == list(range(len(seqs))), seqs
    assert text and final.output_text == text, (text, final.output_text)


@check
def stream_helper_and_final_response():
    deltas = []
    with oai.responses.stream(model=MODEL, input="What is 2+2?", max_output_tokens=64, temperature=0) as stream:
        for ev in stream:
            if ev.type == "response.output_text.delta":
                deltas.append(ev.delta)
        final = stream.get_final_response()
    assert final.output_text == "".join(deltas) and final.output_text, (final.output_text, deltas)
    assert final.status == "completed" and final.usage.output_tokens > 0, final


def _call(r):
    calls = [o for o in r.output if o.type == "function_call"]
    assert calls, r.output
    return calls[0]


@check
def function_call_round_trip():
    q = "What is the weather in Paris?"
    r = oai.responses.create(model=MODEL, input=q, tools=[WEATHER], tool_choice="required", temperature=0)
    c = _call(r)
    assert c.name == "get_weather" and c.call_id.startswith("call_") and c.id.startswith("fc_") and c.status == "completed", c
    args = json.loads(c.arguments)
    assert isinstance(args.get("city"), str), args
    follow = oai.responses.create(
        model=MODEL,
        tools=[WEATHER],
        max_output_tokens=32,
        temperature=0,
        input=[
            {"role": "user", "content": q},
            {"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments},
            {"type": "function_call_output", "call_id": c.call_id, "output": json.dumps({"temperature_c": 18, "sky": "sunny"})},
        ],
    )
    assert follow.status in ("completed", "incomplete"), follow
    assert follow.output, follow


@check
def tool_choice_named_and_streamed_call():
    r = oai.responses.create(model=MODEL, input="Hello there!", tools=[WEATHER, TIME], tool_choice={"type": "function", "name": "get_time"}, temperature=0)
    c = _call(r)
    assert c.name == "get_time", c
    assert "zone" in json.loads(c.arguments), c.arguments
    assert r.tool_choice.type == "function" and r.tool_choice.name == "get_time", r.tool_choice
    kinds = []
    with oai.responses.stream(model=MODEL, input="Weather in Rome?", tools=[WEATHER], tool_choice="required", temperature=0) as stream:
        for ev in stream:
            kinds.append(ev.type)
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds, kinds
    c = _call(final)
    assert c.name == "get_weather" and json.loads(c.arguments).get("city"), c


@check
def tool_choice_none_gives_text():
    r = oai.responses.create(model=MODEL, input="Weather in Paris?", tools=[WEATHER], tool_choice="none", max_output_tokens=16, temperature=0)
    assert all(o.type == "message" for o in r.output), r.output


@check
def json_schema_text_format():
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    r = oai.responses.create(
        model=MODEL,
        input="Name a city and its population.",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
        max_output_tokens=80,
        temperature=0,
    )
    data = json.loads(r.output_text)
    assert isinstance(data["city"], str) and isinstance(data["population"], int), data
    assert r.text.format.type == "json_schema" and r.text.format.name == "city", r.text

    class City(pydantic.BaseModel):
        city: str
        population: int

    p = oai.responses.parse(model=MODEL, input="Name a city and its population.", text_format=City, max_output_tokens=80, temperature=0)
    assert isinstance(p.output_parsed, City), p.output_parsed


@check
def previous_response_id_continues():
    first = oai.responses.create(model=MODEL, input="My favourite number is 4817. Remember it.", max_output_tokens=16, temperature=0)
    alone = oai.responses.create(model=MODEL, input="What is my favourite number?", max_output_tokens=16, temperature=0)
    second = oai.responses.create(model=MODEL, previous_response_id=first.id, input="What is my favourite number?", max_output_tokens=16, temperature=0)
    assert second.previous_response_id == first.id
    # The whole first turn is in the prompt again.
    assert second.usage.input_tokens > alone.usage.input_tokens + first.usage.output_tokens, (alone.usage, first.usage, second.usage)
    third = oai.responses.create(model=MODEL, previous_response_id=second.id, input="Thanks.", max_output_tokens=8, temperature=0)
    assert third.usage.input_tokens > second.usage.input_tokens + second.usage.output_tokens, (second.usage, third.usage)


@check
def unknown_previous_response_id_is_a_400():
    try:
        oai.responses.create(model=MODEL, previous_response_id="resp_doesnotexist", input="Hi")
    except openai.BadRequestError as e:
        assert e.status_code == 400
        assert e.body["message"] == "Previous response with id 'resp_doesnotexist' not found.", e.body
        assert e.body["code"] == "previous_response_not_found" and e.body["param"] == "previous_response_id", e.body
    else:
        raise AssertionError("no error")
    unstored = oai.responses.create(model=MODEL, input="Hi", store=False, max_output_tokens=4)
    try:
        oai.responses.create(model=MODEL, previous_response_id=unstored.id, input="Hi")
    except openai.BadRequestError:
        pass
    else:
        raise AssertionError("a store=false response was kept")


@check
def bad_requests_are_openai_errors():
    for kwargs, needle in [
        (dict(input="x", tools=[{"type": "web_search"}]), "only 'function' tools"),
        (dict(input="x", temperature=5), "temperature"),
        (dict(input=[{"role": "robot", "content": "x"}]), "role"),
    ]:
        try:
            oai.responses.create(model=MODEL, **kwargs)
        except openai.BadRequestError as e:
            assert needle in e.body["message"], e.body
        else:
            raise AssertionError(f"no error for {kwargs}")
    try:
        oai.responses.create(model="no-such-model", input="x")
    except openai.NotFoundError as e:
        assert e.status_code == 404
    else:
        raise AssertionError("no 404")


if __name__ == "__main__":
    main()
