#!/usr/bin/env python3
"""Soak test of `hearth serve` (a script, not CI): many clients for a long time, mixing streamed
chat, embeddings and clients that disconnect mid-request.

    scripts/soak.py                          # 600 s, 16 clients, the bundled smollm2:135m
    scripts/soak.py --duration 120 --clients 8

It builds nothing: it runs target/release/hearth (build it with `cargo build --release`) on a
free loopback port with an empty temporary OLLAMA_MODELS, under the supervisor as users run it.
Each client loops over a weighted mix:

  * chat      streamed /api/chat, 24 tokens; its time to first token is recorded
  * openai    streamed /v1/chat/completions, 24 tokens (TTFT recorded too)
  * embed     /api/embed with 1-16 inputs
  * abandon   streamed /api/chat, disconnect after the first token
  * big-embed /api/embed with 400 inputs, disconnect after 0.5 s

An unexpected error is any failure other than the disconnects the client makes itself: a
non-200 status, a broken stream, an error event, a timeout. The server's resident memory (the
supervisor and its child together) is sampled every 2 s. Passing means: 0 unexpected errors,
RSS at the end within 5 % of RSS after the first minute, and the TTFT p99 of the last fifth of
the run within 1.5x that of the first fifth (after the first minute's warm-up). Prints a JSON
report and exits 1 when a criterion fails.
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "smollm2:135m"
MIX = [("chat", 40), ("openai", 15), ("embed", 25), ("abandon", 12), ("big-embed", 8)]
TOPICS = ["the sea", "a robot", "bread", "rain", "chess", "a bridge", "owls", "copper", "tea", "maps"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_kib(pid):
    """RSS of a process and its children (the supervisor and the serving child)."""
    total = 0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = []
        self.ttft = []  # (time since start, seconds)

    def ok(self, kind):
        with self.lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1

    def error(self, kind, what):
        with self.lock:
            self.errors.append(f"{kind}: {what}")

    def first_token(self, t, seconds):
        with self.lock:
            self.ttft.append((t, seconds))


def post(port, path, payload, timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
    return conn, conn.getresponse()


def chat_payload(rng, stream=True):
    topic = rng.choice(TOPICS)
    return {"model": MODEL, "stream": stream, "options": {"num_predict": 24, "temperature": 0.7},
            "messages": [{"role": "system", "content": "You are a concise assistant."},
                         {"role": "user", "content": f"Tell me one fact about {topic}."}]}


def run_chat(port, rng, stats, t0, abandon):
    start = time.perf_counter()
    conn, resp = post(port, "/api/chat", chat_payload(rng))
    try:
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {resp.read()[:200]!r}")
        first = True
        done = False
        for line in resp:
            if not line.strip():
                continue
            msg = json.loads(line)
            if "error" in msg:
                raise RuntimeError(f"error event: {msg['error']}")
            if first and msg.get("message", {}).get("content"):
                first = False
                stats.first_token(time.perf_counter() - t0, time.perf_counter() - start)
                if abandon:
                    return
            if msg.get("done"):
                done = True
        if not done:
            raise RuntimeError("stream ended without done")
    finally:
        conn.close()


def run_openai(port, rng, stats, t0):
    start = time.perf_counter()
    payload = chat_payload(rng)
    payload = {"model": MODEL, "stream": True, "max_tokens": 24, "messages": payload["messages"]}
    conn, resp = post(port, "/v1/chat/completions", payload)
    try:
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {resp.read()[:200]!r}")
        first = True
        finished = False
        for line in resp:
            line = line.strip()
            if not line.startswith(b"data: "):
                continue
            data = line[6:]
            if data == b"[DONE]":
                finished = True
                break
            msg = json.loads(data)
            if "error" in msg:
                raise RuntimeError(f"error event: {msg['error']}")
            delta = msg["choices"][0]["delta"].get("content") if msg.get("choices") else None
            if first and delta:
                first = False
                stats.first_token(time.perf_counter() - t0, time.perf_counter() - start)
        if not finished:
            raise RuntimeError("stream ended without [DONE]")
    finally:
        conn.close()


def run_embed(port, rng, n, abandon_after=None):
    inputs = [f"{rng.choice(TOPICS)} number {rng.randrange(10**6)}" for _ in range(n)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=abandon_after or 300)
    conn.request("POST", "/api/embed", json.dumps({"model": MODEL, "input": inputs}),
                 {"Content-Type": "application/json"})
    try:
        resp = conn.getresponse()
    except (socket.timeout, TimeoutError):
        if abandon_after is not None:
            return  # the disconnect this client meant to make
        raise
    finally:
        if abandon_after is not None:
            conn.close()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
    got = json.loads(body)
    if len(got.get("embeddings", [])) != n:
        raise RuntimeError(f"{len(got.get('embeddings', []))} embeddings for {n} inputs")


def client(i, port, deadline, stats, t0):
    rng = random.Random(i)
    kinds = [k for k, w in MIX for _ in range(w)]
    while time.perf_counter() < deadline:
        kind = rng.choice(kinds)
        try:
            if kind == "chat":
                run_chat(port, rng, stats, t0, abandon=False)
            elif kind == "abandon":
                run_chat(port, rng, stats, t0, abandon=True)
            elif kind == "openai":
                run_openai(port, rng, stats, t0)
            elif kind == "embed":
                run_embed(port, rng, rng.randint(1, 16))
            else:
                run_embed(port, rng, 400, abandon_after=0.5)
            stats.ok(kind)
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            stats.error(kind, f"{type(e).__name__}: {e}")


def p99(xs):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    ap.add_argument("--hearth", default=str(ROOT / "target/release/hearth"), help="the binary")
    ap.add_argument("--parallel", default="4", help="OLLAMA_NUM_PARALLEL for the server (default 4)")
    args = ap.parse_args()
    if not Path(args.hearth).is_file():
        sys.exit(f"soak: {args.hearth} is missing; build it with: cargo build --release --bin hearth")

    port = free_port()
    store = tempfile.mkdtemp(prefix="hearth-soak-")
    log = open(Path(store) / "serve.log", "w")
    env = dict(os.environ, OLLAMA_HOST=f"127.0.0.1:{port}", OLLAMA_MODELS=f"{store}/models",
               OLLAMA_NUM_PARALLEL=args.parallel)
    server = subprocess.Popen([args.hearth, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/")
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit(f"soak: hearth serve exited ({server.returncode}); see {store}/serve.log")
                time.sleep(0.5)
        # Load the model before the clock starts.
        conn, resp = post(port, "/api/chat", chat_payload(random.Random(0), stream=False), timeout=300)
        resp.read()
        conn.close()

        stats = Stats()
        t0 = time.perf_counter()
        deadline = t0 + args.duration
        rss = []
        threads = [threading.Thread(target=client, args=(i, port, deadline, stats, t0), daemon=True)
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        while time.perf_counter() < deadline:
            rss.append((time.perf_counter() - t0, tree_rss_kib(server.pid)))
            if server.poll() is not None:
                stats.error("server", f"hearth serve exited with {server.returncode}")
                break
            time.sleep(2)
        for t in threads:
            t.join(timeout=330)
        restarts = sum(1 for line in open(Path(store) / "serve.log", errors="replace")
                       if "restarting" in line.lower())
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    warm = min(60.0, args.duration / 5)
    fifth = (args.duration - warm) / 5
    start_ttft = [s for t, s in stats.ttft if warm <= t < warm + fifth]
    end_ttft = [s for t, s in stats.ttft if t >= args.duration - fifth]
    rss_warm = max((r for t, r in rss if t <= warm), default=0)
    rss_end = max((r for t, r in rss if t >= args.duration - fifth), default=0)
    rss_peak = max((r for _, r in rss), default=0)
    growth = (rss_end - rss_warm) / rss_warm if rss_warm else None
    ratio = (p99(end_ttft) / p99(start_ttft)) if start_ttft and end_ttft else None
    report = {
        "duration_s": args.duration, "clients": args.clients, "num_parallel": args.parallel,
        "requests": stats.counts, "unexpected_errors": len(stats.errors),
        "error_samples": stats.errors[:10], "supervisor_restarts": restarts,
        "rss_mib": {"after_warmup": round(rss_warm / 1024, 1), "end": round(rss_end / 1024, 1),
                    "peak": round(rss_peak / 1024, 1)},
        "rss_growth": None if growth is None else round(growth, 4),
        "ttft_p99_s": {"start": p99(start_ttft), "end": p99(end_ttft)},
        "ttft_p50_s": {"start": statistics.median(start_ttft) if start_ttft else None,
                       "end": statistics.median(end_ttft) if end_ttft else None},
        "ttft_p99_ratio": None if ratio is None else round(ratio, 3),
        "server_log": f"{store}/serve.log",
    }
    failures = []
    if stats.errors:
        failures.append(f"{len(stats.errors)} unexpected errors")
    if growth is None or growth >= 0.05:
        failures.append(f"RSS growth {growth}")
    if ratio is None or ratio > 1.5:
        failures.append(f"TTFT p99 ratio {ratio}")
    report["passed"] = not failures
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    sys.exit(0 if not failures else 1)


if __name__ == "__main__":
    main()
