"""Client-side streaming throughput of one HTTP server, for scripts/bench-serve.sh (stdlib only).

    bench-serve.py KIND URL CLIENTS ROUNDS

KIND is `hearth` (POST /api/generate, NDJSON, raw prompt) or `llama` (llama-server's POST
/completion, SSE). Every request asks for 128 tokens, greedy, fixed seed, on the same raw prompts.
Prints one JSON object: per-request decode rates (first to last streamed token), end-to-end rates,
and the aggregate (all tokens / wall time) when CLIENTS > 1.
"""

import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse

N_PREDICT = 128
SEED = 42
SUBJECTS = ["a dragon", "the sea", "a robot", "a city", "a forest", "the moon", "a cat", "a river"]


def prompt(i):
    return f"Once upon a time, there was {SUBJECTS[i % len(SUBJECTS)]}. Here is its long story:\n"


def body(kind, i):
    if kind == "hearth":
        return "/api/generate", {"model": "smollm2:135m", "prompt": prompt(i), "raw": True, "stream": True,
                                 "options": {"num_predict": N_PREDICT, "temperature": 0, "seed": SEED}}
    return "/completion", {"prompt": prompt(i), "n_predict": N_PREDICT, "temperature": 0, "seed": SEED,
                           "stream": True, "cache_prompt": True}


def one(kind, url, i):
    """One streamed request: (tokens, start, first token time, last token time)."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    path, payload = body(kind, i)
    start = time.perf_counter()
    conn.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"{kind} {path}: HTTP {resp.status}: {resp.read()[:200]!r}")
    first = last = None
    tokens = streamed = 0
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.strip()
        if kind == "llama":
            if not line.startswith(b"data: "):
                continue
            line = line[6:]
        if not line:
            continue
        msg = json.loads(line)
        if "error" in msg:
            raise RuntimeError(f"{kind}: {msg['error']}")
        text = msg.get("response" if kind == "hearth" else "content", "")
        now = time.perf_counter()
        if text:
            streamed += 1
            first = first or now
            last = now
        done = msg.get("done") if kind == "hearth" else msg.get("stop")
        if done:
            tokens = msg.get("eval_count") if kind == "hearth" else msg.get("tokens_predicted")
            break
    conn.close()
    return {"tokens": tokens or streamed, "start": start, "first": first, "last": last,
            "end": time.perf_counter()}


def main():
    kind, url, clients, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    one(kind, url, 0)  # warm-up: load the model, fill caches
    decode, e2e, aggregate, short = [], [], [], 0
    for _ in range(rounds):
        results = [None] * clients

        def run(i):
            results[i] = one(kind, url, i)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        if any(r is None for r in results):
            raise SystemExit(f"{kind}: a client failed")
        for r in results:
            short += r["tokens"] != N_PREDICT
            if r["first"] and r["last"] > r["first"]:
                decode.append((r["tokens"] - 1) / (r["last"] - r["first"]))
            e2e.append(r["tokens"] / (r["end"] - r["start"]))
        aggregate.append(sum(r["tokens"] for r in results) / wall)
    print(json.dumps({
        "kind": kind, "clients": clients, "rounds": rounds,
        "decode_tok_s": statistics.median(decode), "e2e_tok_s": statistics.median(e2e),
        "aggregate_tok_s": statistics.median(aggregate), "short_answers": short,
    }))


if __name__ == "__main__":
    main()
