#!/usr/bin/env bash
# Agent-shaped traffic: hearth serve against llama-server, side by side, in alternating rounds.
#
#   scripts/bench-agents.sh                 3 rounds of (a) burst, (b)/(b4) conversations, (c) throughput
#   BENCH_ROUNDS=5 scripts/bench-agents.sh  more rounds
#   BENCH_CASES=a,b scripts/bench-agents.sh only some cases
#   BENCH_SOAK=600 scripts/bench-agents.sh  repeat (a) and (b) for 600 s more, then print peak RSS
#   BENCH_HEARTH_FA=auto                    hearth's OLLAMA_FLASH_ATTENTION (default 0: off)
#   BENCH_LLAMA_FA=off                      llama-server's --flash-attn (default auto: its default)
#
# llama-server is built from the same llama.cpp sources as scripts/bench-vs-llamacpp.sh (once,
# under target/llamacpp; scripts/llamacpp-build.sh). Both servers get the same model
# (models/smollm2-135m.gguf), the same threads (one per physical core) and 4 slots of 4096 tokens;
# llama-server keeps its default RAM prompt cache (--cache-ram 8192 MiB), hearth its default
# HEARTH_CACHE_RAM. The cases are described in scripts/bench-agents.py. The table reports medians
# over the rounds with their ranges, and the median of the per-round ratios.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'bench-agents: %s\n' "$*" >&2; }
die() {
    printf 'bench-agents: error: %s\n' "$*" >&2
    exit 1
}
case "${1:-}" in
    -h | --help)
        sed -n '2,16s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
esac

# shellcheck source=scripts/llamacpp-build.sh
. "$root/scripts/llamacpp-build.sh"
llama_server="$bin/llama-server"
[[ -x $llama_server ]] || die "llama-server was not built"

cargo build --release --bin hearth
hearth="$target_dir/release/hearth"

rounds=${BENCH_ROUNDS:-3}
cases=${BENCH_CASES:-a,b,b4,c}
soak=${BENCH_SOAK:-0}
slots=4
ctx=4096
port_h=11500
port_l=11501
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

read -r load _ </proc/loadavg 2>/dev/null || load=0
say "load average $load at start; $threads threads, $slots slots of $ctx tokens each; flash attention: hearth ${BENCH_HEARTH_FA:-0}, llama-server ${BENCH_LLAMA_FA:-auto}"

OLLAMA_FLASH_ATTENTION=${BENCH_HEARTH_FA:-0} OLLAMA_NUM_PARALLEL=$slots OLLAMA_CONTEXT_LENGTH=$ctx HEARTH_THREADS=$threads OLLAMA_KEEP_ALIVE=-1 \
    "$hearth" serve --host "127.0.0.1:$port_h" --models-dir "$work/store" >"$work/hearth.log" 2>&1 &
pids+=($!)
hearth_pid=$!
"$llama_server" -m "$model" --host 127.0.0.1 --port "$port_l" -t "$threads" -tb "$threads" \
    -np "$slots" -c $((ctx * slots)) -fa "${BENCH_LLAMA_FA:-auto}" --alias smollm2 --no-webui >"$work/llama-server.log" 2>&1 &
pids+=($!)

for port in $port_h $port_l; do
    for _ in $(seq 1 600); do
        curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
        sleep 0.1
    done
    curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null || die "server on port $port did not start (logs in $work)"
done

python3 scripts/bench-agents.py --a "http://127.0.0.1:$port_h" --b "http://127.0.0.1:$port_l" \
    --rounds "$rounds" --cases "$cases" --json "$target_dir/bench-agents.json"

if ((soak > 0)); then
    say "soak: repeating (a) and (b) on hearth for ${soak}s"
    end=$((SECONDS + soak))
    while ((SECONDS < end)); do
        python3 scripts/bench-agents.py --a "http://127.0.0.1:$port_h" --b "http://127.0.0.1:$port_h" \
            --names hearth,hearth-again --model-b smollm2:135m --rounds 1 --cases a,b >/dev/null
    done
fi

# `hearth serve` supervises the server in a child process: the peak is the largest of the two.
peak=0
for p in "$hearth_pid" $(pgrep -P "$hearth_pid" || true); do
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    ((hwm > peak)) && peak=$hwm
done
weights=$(stat -c %s "$model")
kv_per_model=$(curl -fsS "http://127.0.0.1:$port_h/api/ps" | python3 -c 'import json,sys; m=json.load(sys.stdin)["models"][0]; print(m["prompt_cache"]["budget"], m["prompt_cache"]["bytes"], m["context_length"])')
read -r cache_budget cache_bytes ctx_slot <<<"$kv_per_model"
# SmolLM2-135M: 30 layers x 3 KV heads x 64 x (K + V) x f16 = 23,040 bytes a cell.
kv=$((23040 * ctx_slot * slots))
printf '\nhearth peak RSS %d MiB; budget: weights %d MiB + KV %d MiB + prompt cache %d MiB (holding %d MiB now) + fixed overhead\n' \
    $((peak / 1024)) $((weights >> 20)) $((kv >> 20)) $((cache_budget >> 20)) $((cache_bytes >> 20))
