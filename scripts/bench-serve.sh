#!/usr/bin/env bash
# Compare `hearth serve` with the engine in-process and with llama.cpp's `llama-server`, measured
# from the client side over HTTP streaming (128 tokens, greedy, seed 42, the same raw prompts).
#
#   scripts/bench-serve.sh            3 rounds per case (BENCH_ROUNDS to change)
#   BENCH_THREADS=1 scripts/bench-serve.sh   override the thread count (both sides)
#
# Cases, one server at a time (never two at once), each on a free loopback port:
#   * hearth serve, 1 client, OLLAMA_NUM_PARALLEL=1: streaming /api/generate (raw prompt);
#   * hearth serve, 8 concurrent clients, OLLAMA_NUM_PARALLEL=8: aggregate tok/s;
#   * llama-server -np 1 and -np 8 (4096 context per slot, like hearth), streaming /completion;
#   * the engine in-process: `hearth run --verbose` eval rate (no server answering), and the
#     tg128 of target/hearth-bench.json when `cargo bench --bench engine` wrote one.
# Same model (models/smollm2-135m.gguf), same threads (one per physical core). llama-server comes
# from scripts/bench-vs-llamacpp.sh (target/llamacpp/build-*/bin); it is built here when that
# build directory is configured but the binary is missing. A benchmark, not a test: it prints the
# numbers and ratios and fails only when something could not run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'bench-serve: %s\n' "$*" >&2; }
die() {
    printf 'bench-serve: error: %s\n' "$*" >&2
    exit 1
}

rounds=${BENCH_ROUNDS:-3}
target=${CARGO_TARGET_DIR:-$root/target}
model="$root/models/smollm2-135m.gguf"
[[ -f $model ]] || scripts/fetch-models.sh smollm2:135m

usable=$(nproc)
physical=$(lscpu -p=core,socket 2>/dev/null | grep -v '^#' | sort -u | wc -l || true)
((physical > 0)) || physical=$usable
threads=${BENCH_THREADS:-$((physical < usable ? physical : usable))}

llama_server=$(find "$target"/llamacpp/build-*/bin -maxdepth 1 -name llama-server -type f 2>/dev/null | head -n 1 || true)
if [[ -z $llama_server ]]; then
    build=$(find "$target"/llamacpp -maxdepth 2 -name CMakeCache.txt -path '*build-*' -printf '%h\n' 2>/dev/null | head -n 1 || true)
    [[ -n $build ]] || die "no llama.cpp build under $target/llamacpp: run scripts/bench-vs-llamacpp.sh once"
    say "building llama-server in $build"
    cmake --build "$build" --config Release -j "$usable" --target llama-server >"$build/llama-server-build.log" 2>&1 ||
        die "llama-server build failed; see $build/llama-server-build.log"
    llama_server="$build/bin/llama-server"
fi

cargo build --release -p hearth
hearth="$target/release/hearth"

read -r load _ </proc/loadavg 2>/dev/null || load=0
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 0.5 else 1)' "$load"; then
    load_note="load average $load at start"
else
    load_note="WARNING: load average $load at start; other processes are using the CPU, the numbers are noisy"
    say "$load_note"
fi

work=$(mktemp -d)
pid=""
stop() {
    if [[ -n $pid ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
    fi
}
trap 'stop; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() { # URL LOG
    for _ in $(seq 1 300); do
        curl -fsS "$1" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$2" >&2
            die "server exited before answering"
        }
        sleep 0.2
    done
    die "no answer from $1"
}

measure() { # KIND PARALLEL CLIENTS
    local kind=$1 parallel=$2 clients=$3 port log
    port=$(free_port)
    log="$work/$kind-$parallel.log"
    if [[ $kind == hearth ]]; then
        OLLAMA_HOST="127.0.0.1:$port" OLLAMA_MODELS="$work/models" OLLAMA_NUM_PARALLEL=$parallel \
            OLLAMA_CONTEXT_LENGTH=4096 HEARTH_THREADS=$threads "$hearth" serve >"$log" 2>&1 &
        pid=$!
        wait_ready "http://127.0.0.1:$port/" "$log"
    else
        "$llama_server" -m "$model" -t "$threads" -np "$parallel" -c $((parallel * 4096)) \
            --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
        pid=$!
        wait_ready "http://127.0.0.1:$port/health" "$log"
    fi
    say "$kind: $clients client(s), parallel $parallel, $rounds rounds"
    python3 scripts/bench-serve.py "$kind" "http://127.0.0.1:$port" "$clients" "$rounds" >"$work/$kind-$clients.json"
    stop
}

# Each hearth case right next to its llama-server case: the machine's speed drifts over minutes.
measure hearth 1 1
measure llama 1 1
measure hearth 8 8
measure llama 8 8

say "engine in-process: hearth run --verbose (no server answering), $rounds runs"
for i in $(seq 1 "$rounds"); do
    OLLAMA_HOST=127.0.0.1:1 "$hearth" run "$model" "Once upon a time, there was a dragon. Tell its long story." \
        --num-predict 128 --temperature 0 --seed 42 --threads "$threads" --verbose 2>&1 >/dev/null |
        sed -n 's/^eval rate: *\([0-9.]*\) tokens\/s/\1/p' >>"$work/inprocess.txt"
done

python3 - "$work" "$target/hearth-bench.json" "$threads" "$load_note" "$rounds" <<'PY'
import json, os, statistics, sys

work, bench_json, threads, load_note, rounds = sys.argv[1:]
r = {name: json.load(open(os.path.join(work, f"{name}.json"))) for name in ("hearth-1", "hearth-8", "llama-1", "llama-8")}
runs = [float(x) for x in open(os.path.join(work, "inprocess.txt")).read().split()]
inproc = statistics.median(runs) if runs else None
tg128 = None
if os.path.exists(bench_json):
    tg128 = json.load(open(bench_json)).get("results", {}).get("tg128", {}).get("tok_s")

def row(label, value):
    print(f"  {label:58} {value:8.1f} tok/s" if value else f"  {label:58} {'n/a':>8}")

def ratio(label, a, b, goal):
    if not (a and b):
        print(f"  {label:58} {'n/a':>8}")
        return
    x = a / b
    print(f"  {label:58} {x:7.2f}x  (goal >= {goal}x: {'met' if x >= goal else 'NOT met'})")

print()
print(f"hearth serve vs in-process vs llama-server: smollm2-135m, {threads} threads, 128 tokens greedy, "
      f"median of {rounds} rounds")
row("hearth serve, 1 client, decode (first→last token)", r["hearth-1"]["decode_tok_s"])
row("hearth serve, 1 client, end to end (incl. prompt)", r["hearth-1"]["e2e_tok_s"])
row("hearth serve, 8 clients, aggregate", r["hearth-8"]["aggregate_tok_s"])
row("llama-server -np 1, 1 client, decode", r["llama-1"]["decode_tok_s"])
row("llama-server -np 1, 1 client, end to end", r["llama-1"]["e2e_tok_s"])
row("llama-server -np 8, 8 clients, aggregate", r["llama-8"]["aggregate_tok_s"])
row("engine in-process, hearth run --verbose eval rate", inproc)
row("engine in-process, cargo bench tg128 (target/hearth-bench.json)", tg128)
print("ratios (client side; > 1 means hearth serve is faster):")
ratio("serve 1 client / in-process (hearth run)", r["hearth-1"]["decode_tok_s"], inproc, 0.95)
ratio("serve 1 client / in-process (cargo bench tg128)", r["hearth-1"]["decode_tok_s"], tg128, 0.95)
ratio("serve 1 client / llama-server, decode", r["hearth-1"]["decode_tok_s"], r["llama-1"]["decode_tok_s"], 1.1)
ratio("serve 1 client / llama-server, end to end", r["hearth-1"]["e2e_tok_s"], r["llama-1"]["e2e_tok_s"], 1.1)
ratio("serve 8 clients / llama-server -np 8, aggregate", r["hearth-8"]["aggregate_tok_s"], r["llama-8"]["aggregate_tok_s"], 1.2)
short = sum(v["short_answers"] for v in r.values())
if short:
    print(f"  note: {short} answer(s) stopped before 128 tokens (end of text); rates use the tokens received")
print(load_note)
PY
