"""End-to-end checks of `hearth serve` with the Python integrations: LangChain's ChatOllama and
CapGuard's LLMClassifier (pointed at hearth's OpenAI layer).

Run by scripts/e2e.sh with OLLAMA_HOST pointing at a fresh server. Prints one line per check
and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""

import json

from capguard import ToolRegistry
from capguard.classifiers import LLMClassifier
from capguard.models import CapabilityToken, ToolDefinition, ToolParameter
from langchain_ollama import ChatOllama

from harness import HOST, check, main

MODEL = "smollm2:135m"


@check
def langchain_invoke_and_stream():
    llm = ChatOllama(model=MODEL, base_url=HOST, temperature=0, num_predict=16)
    r = llm.invoke("Why is the sky blue?")
    assert isinstance(r.content, str) and r.content, r
    assert r.response_metadata.get("done_reason") == "length", r.response_metadata
    assert r.usage_metadata and r.usage_metadata["output_tokens"] == 16, r.usage_metadata
    parts = list(llm.stream("Why is the sky blue?"))
    streamed = "".join(p.content for p in parts)
    assert streamed == r.content, (streamed, r.content)


@check
def langchain_json_format():
    llm = ChatOllama(model=MODEL, base_url=HOST, temperature=0, num_predict=200, format="json")
    prompt = "Describe a cat as a JSON object with a name and an age."
    r = llm.invoke(prompt)
    assert isinstance(json.loads(r.content), dict), r.content
    streamed = "".join(p.content for p in llm.stream(prompt))
    assert streamed == r.content, (streamed, r.content)


def registry():
    reg = ToolRegistry()
    noop = lambda **_: None  # noqa: E731 - the classifier never calls tools
    reg.register(
        ToolDefinition(name="read_website", description="Fetch and read a web page by URL", risk_level=2,
                       parameters=[ToolParameter(name="url", type="str", description="Page address")]),
        noop,
    )
    reg.register(
        ToolDefinition(name="send_email", description="Send an email to a recipient", risk_level=4,
                       parameters=[ToolParameter(name="to", type="str", description="Recipient address")]),
        noop,
    )
    return reg


@check
def capguard_llm_classifier_gets_a_token():
    classifier = LLMClassifier(registry(), model=MODEL, base_url=HOST + "/v1", api_key="ollama")
    token = classifier.classify("Summarize the article at https://example.com/news")
    assert isinstance(token, CapabilityToken), token
    # CapGuard's fallback on any failure (HTTP error, unparsable or invalid answer) names the
    # error in classification_method and denies everything with confidence 0.
    assert "-error" not in token.classification_method, token.classification_method
    assert token.classification_method == f"llm-{MODEL}", token
    assert set(token.granted_tools) >= {"read_website", "send_email"}, token.granted_tools
    assert all(isinstance(v, bool) for v in token.granted_tools.values()), token.granted_tools
    assert 0.0 <= token.confidence <= 1.0


@check
def capguard_fallback_is_detectable():
    # An unknown model is a 404 from hearth: the classifier must fall back (and we can tell).
    classifier = LLMClassifier(registry(), model="no-such-model", base_url=HOST + "/v1", api_key="ollama")
    token = classifier.classify("Summarize https://example.com")
    assert "-error" in token.classification_method and token.confidence == 0.0, token
    assert not any(token.granted_tools.values())


if __name__ == "__main__":
    main()
