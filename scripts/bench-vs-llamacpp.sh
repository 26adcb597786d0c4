#!/usr/bin/env bash
# Compare hearth's engine with upstream llama.cpp on the default bundled model (CPU).
#
#   scripts/bench-vs-llamacpp.sh             build llama.cpp once, run both, print the table
#   scripts/bench-vs-llamacpp.sh --quick     shorter runs (criterion --quick, 2 llama-bench repetitions)
#   scripts/bench-vs-llamacpp.sh --no-hearth reuse target/hearth-bench.json from an earlier `cargo bench --bench engine`
#
# llama.cpp comes from the sources vendored in the llama-cpp-python sdist (pip download, pinned by
# LLAMACPP_PY_VERSION), built once under target/llamacpp with cmake in Release mode: llama-bench
# (pp512/tg128), llama-batched-bench (aggregate decode with 1/4/8 sequences) and llama-server (for
# HTTP-level comparisons by hand). It is built for the same ISA as hearth's engine (x86-64-v3:
# AVX2/FMA/F16C/BMI2, GGML_NATIVE=OFF) and both run with one thread per physical core. llama.cpp
# runs before and after hearth and the table uses the mean of the two (the drift is printed).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf 'bench-vs-llamacpp: %s\n' "$*" >&2; }
die() {
    printf 'bench-vs-llamacpp: error: %s\n' "$*" >&2
    exit 1
}

quick=0
run_hearth=1
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --no-hearth) run_hearth=0 ;;
        -h | --help)
            sed -n '2,15s/^# \{0,1\}//p' "$0"
            exit 0
            ;;
        *) die "unknown argument: $arg" ;;
    esac
done

# shellcheck source=scripts/llamacpp-build.sh
. "$root/scripts/llamacpp-build.sh"

reps=5
((quick)) && reps=2

# Both sides run on the same cores; anything else running skews the comparison.
read -r load _ </proc/loadavg 2>/dev/null || load=0
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 0.5 else 1)' "$load"; then
    load_note="load average $load at start"
else
    load_note="WARNING: load average $load at start; other processes are using the CPU, the numbers are unreliable"
    say "$load_note"
fi
results="$work/results"
mkdir -p "$results"

# --- runs ----------------------------------------------------------------------------------------
# llama.cpp runs before and after hearth's bench, and the table uses the mean of the two: these
# shared machines drift by tens of percent over minutes, and a peer measured only before (or
# only after) would put all of that drift into the ratio. The drift is printed with the table.
llama_runs() { # TAG
    say "llama-bench ($1): pp512 + tg128, $threads threads, $reps repetitions"
    "$bin/llama-bench" -m "$model" -p 512 -n 128 -t "$threads" -r "$reps" -o json >"$results/llama-bench-$1.json" \
        2>"$results/llama-bench-$1.log" || die "llama-bench failed; see $results/llama-bench-$1.log"
    say "llama-batched-bench ($1): aggregate decode of 128 tokens with 1, 4 and 8 sequences"
    "$bin/llama-batched-bench" -m "$model" -c 4096 -b 512 -ub 512 -npp 32 -ntg 128 -npl 1,4,8 -t "$threads" \
        --output-format jsonl >"$results/batched-bench-$1.out" 2>&1 ||
        die "llama-batched-bench failed; see $results/batched-bench-$1.out"
}
llama_runs before

hearth_json="$target_dir/hearth-bench.json"
if ((run_hearth)); then
    say "hearth: cargo bench --bench engine"
    criterion_args=()
    ((quick)) && criterion_args=(--quick)
    rm -f "$hearth_json"
    cargo bench --bench engine -- "${criterion_args[@]}"
fi
[[ -f $hearth_json ]] || die "no $hearth_json (run: cargo bench --bench engine)"
llama_runs after

# --- table ----------------------------------------------------------------------------------------
python3 - "$hearth_json" "$results" "$threads" "$isa_note" "$py_version" "$work/comparison.json" "$load_note" <<'PY'
import json, os, sys

hearth_path, results, threads, isa_note, py_version, out_path, load_note = sys.argv[1:]
hearth = json.load(open(hearth_path))
h = {k: v.get("tok_s") for k, v in hearth["results"].items()}

def llama_run(tag):
    llama = {}
    for row in json.load(open(os.path.join(results, f"llama-bench-{tag}.json"))):
        if row.get("n_prompt") == 512 and row.get("n_gen") == 0:
            llama["pp512"] = row["avg_ts"]
        elif row.get("n_prompt") == 0 and row.get("n_gen") == 128:
            llama["tg128"] = row["avg_ts"]
    for line in open(os.path.join(results, f"batched-bench-{tag}.out")):
        line = line.strip()  # JSON lines among llama.cpp's log output
        if line.startswith('{"'):
            row = json.loads(line)
            if "pl" in row and "speed_tg" in row:
                llama[f"decode_x{row['pl']}"] = row["speed_tg"]
    return llama

before, after = llama_run("before"), llama_run("after")
llama = {k: (before[k] + after[k]) / 2 for k in before if k in after}
drift = {k: after[k] / before[k] - 1 for k in llama if before[k]}

def ratio(a, b):
    return a / b if a and b else None

def num(x):
    return f"{x:10.1f}" if x is not None else f"{'n/a':>10}"

def times(x, width):
    return f"{x:.2f}x".rjust(width) if x is not None else "n/a".rjust(width)

rows = [
    ("pp512 prefill (tok/s)", "pp512", "llama-bench"),
    ("tg128 decode (tok/s)", "tg128", "llama-bench"),
    ("decode, 1 sequence (tok/s)", "decode_x1", "batched-bench"),
    ("decode, 4 sequences (tok/s)", "decode_x4", "batched-bench"),
    ("decode, 8 sequences (tok/s)", "decode_x8", "batched-bench"),
]
print()
print(f"hearth {hearth.get('backend', '?')} vs llama.cpp (llama-cpp-python {py_version} sources), "
      f"model {hearth.get('model')}, {threads} threads; {isa_note}")
print(f"{'metric':32} {'hearth':>10} {'llama.cpp':>10} {'ratio':>8}   llama.cpp tool")
table = {}
for label, key, tool in rows:
    a, b = h.get(key), llama.get(key)
    r = ratio(a, b)
    table[key] = {"hearth": a, "llama_cpp": b, "ratio": r}
    print(f"{label:32} {num(a)} {num(b)} {times(r, 8)}   {tool}")
sh, sl = ratio(h.get("decode_x8"), h.get("decode_x1")), ratio(llama.get("decode_x8"), llama.get("decode_x1"))
table["scaling_x8_over_x1"] = {"hearth": sh, "llama_cpp": sl}
print(f"{'aggregate scaling 8 seq / 1 seq':32} {times(sh, 10)} {times(sl, 10)}")
inter = hearth["results"].get("scaling_x8_over_x1")
if inter:
    table["scaling_x8_over_x1"]["hearth_interleaved"] = inter
    print(f"{'  hearth, alternating 1/8 rounds':32} {times(inter['ratio'], 10)}   (median of {inter['rounds']} rounds, "
          f"{inter['min']:.2f}x to {inter['max']:.2f}x)")
ttft = hearth["results"].get("ttft_prompt64", {}).get("ms")
if ttft is not None:
    print(f"{'hearth time to first token (64-token prompt)':46} {ttft:.1f} ms")
print("ratio > 1 means hearth is faster. hearth: criterion bench (target/hearth-bench.json); "
      "llama.cpp: llama-bench averages and llama-batched-bench S_TG.")
print("llama.cpp: mean of a run before and a run after hearth's; drift after/before: "
      + ", ".join(f"{k} {v:+.0%}" for k, v in drift.items()))
print(load_note)
json.dump({"threads": int(threads), "isa": isa_note, "llama_cpp_python": py_version, "load": load_note,
           "llama_cpp_drift": drift, "results": table},
          open(out_path, "w"), indent=2)
print(f"written: {out_path}")
PY
