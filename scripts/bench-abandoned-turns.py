#!/usr/bin/env python3
"""Time to first token of a chat's second turn when its first turn was abandoned.

    scripts/bench-abandoned-turns.py [--url http://127.0.0.1:11434] [--chats 10] [--model smollm2:135m]

Against a running `hearth serve` (or any Ollama-compatible server). Each chat has a fresh system
prompt of about 450 tokens. Its first turn is streamed from /api/chat and the connection is
closed right after the first token, as a chat UI's Stop button or a TTFT probe does. The second
turn extends the conversation. A server that keeps the abandoned turn's prefix answers the second
turn in a fraction of the first turn's time; one that throws it away prefills it again.

Prints one line per chat and the median second/first TTFT ratio. Standard library only.
"""

import argparse
import http.client
import json
import statistics
import time
import urllib.parse


def system_prompt(chat: int) -> str:
    # About 450 tokens of distinct text, different for every chat (no prefix shared across chats).
    rules = [
        f"Rule {i} of assistant {chat}: when asked about item {i}, answer {chat * 31 + i * 7} and nothing else."
        for i in range(24)
    ]
    return " ".join(rules)


def first_token_time(url: str, body: dict) -> float:
    """Stream /api/chat, return seconds to the first non-empty content, then hang up."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=600)
    started = time.perf_counter()
    conn.request("POST", "/api/chat", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise SystemExit(f"HTTP {resp.status}: {resp.read()[:300]!r}")
    while True:
        line = resp.readline()
        if not line:
            raise SystemExit("stream ended before the first token")
        msg = json.loads(line)
        if msg.get("error"):
            raise SystemExit(msg["error"])
        if msg.get("message", {}).get("content"):
            ttft = time.perf_counter() - started
            conn.close()  # abandon the rest of the stream
            return ttft


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:11434")
    ap.add_argument("--model", default="smollm2:135m")
    ap.add_argument("--chats", type=int, default=10)
    args = ap.parse_args()
    ratios = []
    options = {"temperature": 0, "num_predict": 64}
    for chat in range(args.chats):
        messages = [
            {"role": "system", "content": system_prompt(chat)},
            {"role": "user", "content": "Tell me about item 3."},
        ]
        body = {"model": args.model, "messages": messages, "options": options, "stream": True}
        first = first_token_time(args.url, body)
        messages += [
            {"role": "assistant", "content": "Item 3 is"},
            {"role": "user", "content": "And item 5?"},
        ]
        second = first_token_time(args.url, {**body, "messages": messages})
        ratios.append(second / first)
        print(f"chat {chat + 1:2}: first turn {first * 1000:7.0f} ms, second turn {second * 1000:6.0f} ms, ratio {second / first:.3f}")
    print(f"median second/first TTFT ratio over {len(ratios)} chats: {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    main()
