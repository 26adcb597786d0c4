"""End-to-end checks that embedding work can be abandoned and never holds the engine.

Run by scripts/e2e.sh with HEARTH_BIN at the binary. Starts its own `hearth serve` (on a free
loopback port, with an empty store) so that it can read the server's CPU time from /proc, and
stops it at the end. A 2,000-input /api/embed is timed first; the bounds below are fractions of
that time, so every check fails when the behaviour it guards is gone:
- a generation started during a 2,000-input embed streams, and finishes, before the embed does;
- a client that sends 2,000 inputs and disconnects frees the engine within a second: the
  server's CPU use drops to idle, and a small embed and a small generation are served in a
  fraction of the big embed's time.
Prints one line per check and a closing 'N passed, N failed' line; exits non-zero on failure.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from harness import check, run

BIN = os.environ.get("HEARTH_BIN", "target/release/hearth")
MODEL = "smollm2:135m"
# A smaller count (HEARTH_E2E_EMBED_INPUTS) only for trying the checks on a slow machine.
BIG = int(os.environ.get("HEARTH_E2E_EMBED_INPUTS", "2000"))
SERVER = {}


def inputs(n, tag="input"):
    return [f"This is {tag} number {i} of a large embedding request." for i in range(n)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server():
    port = free_port()
    store = tempfile.mkdtemp(prefix="hearth-embed-")
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{port}", "OLLAMA_MODELS": store}
    log = open(os.path.join(store, "serve.log"), "w")
    proc = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    SERVER.update(proc=proc, port=port, store=store)
    for _ in range(150):
        try:
            request("GET", "/")
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"hearth serve exited: {open(log.name).read()}")
            time.sleep(0.2)
    raise RuntimeError("hearth serve did not answer")


def stop_server():
    proc = SERVER.get("proc")
    if proc:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def request(method, path, body=None, timeout=600):
    conn = http.client.HTTPConnection("127.0.0.1", SERVER["port"], timeout=timeout)
    try:
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def post(path, body, timeout=600):
    status, data = request("POST", path, body, timeout)
    assert status == 200, (status, data[:300])
    return json.loads(data)


def embed(texts):
    r = post("/api/embed", {"model": MODEL, "input": texts})
    assert len(r["embeddings"]) == len(texts), len(r["embeddings"])
    return r


def generate(n):
    r = post("/api/generate", {"model": MODEL, "prompt": "1, 2, 3, 4, 5,", "stream": False,
                               "options": {"temperature": 0, "num_predict": n}})
    assert r["done"] and r["eval_count"] > 0, r
    return r


def cpu_seconds():
    """User + system CPU time of the server process so far."""
    with open(f"/proc/{SERVER['proc'].pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_raw(path, body):
    """Send a request on a socket of our own and return the socket, without reading."""
    data = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", SERVER["port"]))
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return s


def hang_up(s):
    """Close a request's connection; returns whether it had been answered by then."""
    s.setblocking(False)
    try:
        answered = bool(s.recv(1))
    except BlockingIOError:
        answered = False
    s.close()
    return answered


def abandon(path, body, after):
    """Send a request and close the connection `after` seconds later, unanswered."""
    s = send_raw(path, body)
    time.sleep(after)
    assert not hang_up(s), "the request finished before it could be abandoned"


@check
def a_big_embed_is_timed():
    generate(1)  # load the model first
    started = time.monotonic()
    r = embed(inputs(BIG))
    SERVER["big"] = time.monotonic() - started
    norm = sum(x * x for x in r["embeddings"][-1])
    assert abs(norm - 1) < 1e-3, norm
    print(f"     {BIG} inputs embedded in {SERVER['big']:.1f} s")


@check
def generation_streams_during_a_big_embed():
    big = SERVER["big"]
    embedding = send_raw("/api/embed", {"model": MODEL, "input": inputs(BIG, "entry")})
    time.sleep(min(1.0, big / 10))
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", SERVER["port"], timeout=600)
    conn.request("POST", "/api/generate", body=json.dumps(
        {"model": MODEL, "prompt": "1, 2, 3, 4, 5,", "options": {"temperature": 0, "num_predict": 20}}))
    resp = conn.getresponse()
    first = last = None
    for line in resp:
        chunk = json.loads(line)
        assert "error" not in chunk, chunk
        first = first or time.monotonic()
        if chunk.get("done"):
            last = time.monotonic()
    conn.close()
    embedded = hang_up(embedding)
    ttft, total = first - started, last - started
    print(f"     during the embed: first token {ttft:.2f} s, 20 tokens {total:.2f} s")
    assert not embedded, f"the embed finished before a 20-token generation ({total:.1f} s)"
    assert ttft < big / 4, f"first token after {ttft:.1f} s; the embed takes {big:.1f} s"


def abandoned_embed_frees_the_engine(path, body):
    big = SERVER["big"]
    abandon(path, body, after=min(2.0, big / 5))
    time.sleep(1.0)
    before, t0 = cpu_seconds(), time.monotonic()
    time.sleep(1.0)
    busy = (cpu_seconds() - before) / (time.monotonic() - t0)
    started = time.monotonic()
    embed(["hello", "world", "again"])
    small = time.monotonic() - started
    started = time.monotonic()
    generate(8)
    gen = time.monotonic() - started
    print(f"     after abandoning: server CPU {busy:.2f} cores, small embed {small:.2f} s, "
          f"8 tokens {gen:.2f} s (the big embed takes {big:.1f} s)")
    assert busy < 0.15, f"the server still computes ({busy:.2f} cores) after the client went away"
    assert small < big / 4 and gen < big / 4, (small, gen, big)


@check
def an_abandoned_api_embed_frees_the_engine():
    abandoned_embed_frees_the_engine("/api/embed", {"model": MODEL, "input": inputs(BIG, "item")})


@check
def an_abandoned_openai_embedding_frees_the_engine():
    abandoned_embed_frees_the_engine("/v1/embeddings", {"model": MODEL, "input": inputs(BIG, "row")})


def main():
    try:
        start_server()
        return run()
    finally:
        stop_server()


if __name__ == "__main__":
    sys.exit(main())
