#!/usr/bin/env bash
# End-to-end tests: a real `target/release/hearth serve` with the bundled model, driven by the
# real clients, pinned: Python `ollama`, `openai`, `langchain-ollama` and `capguard[llm]` (in
# target/e2e-venv, tests/e2e/requirements.txt), npm `ollama` and `openai` (in target/e2e-node,
# tests/e2e/node/package-lock.json). Needs python3 and node/npm; installs into target/ only.
#
#   scripts/e2e.sh
#
# Starts the server on a free loopback port with an empty temporary OLLAMA_MODELS, runs
# every tests/e2e/test_*.py and node/test_*.mjs against
# it, and stops it (by its PID) whatever happens.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}

cargo build --release -p hearth
venv="$target/e2e-venv"
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q -r tests/e2e/requirements.txt
for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || { echo "scripts/e2e.sh needs $tool (Node.js 20 or later)" >&2; exit 1; }
done
node_dir="$target/e2e-node"
mkdir -p "$node_dir"
if ! cmp -s tests/e2e/node/package-lock.json "$node_dir/package-lock.json" || [[ ! -d $node_dir/node_modules ]]; then
    cp tests/e2e/node/package.json tests/e2e/node/package-lock.json "$node_dir/"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
# ESM resolves imports next to the script: the tests run from the install directory.
cp tests/e2e/node/test_*.mjs "$node_dir/"

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
store=$(mktemp -d)
log="$store/serve.log"
OLLAMA_HOST="127.0.0.1:$port" OLLAMA_MODELS="$store/models" OLLAMA_NUM_PARALLEL=4 \
    "$target/release/hearth" serve >"$log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$store"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        cat "$log" >&2
        echo "hearth serve exited before answering" >&2
        exit 1
    fi
    sleep 0.2
done

status=0
export OLLAMA_HOST="http://127.0.0.1:$port"
export HEARTH_BIN="$target/release/hearth"
# Every tests/e2e/test_*.py and tests/e2e/node/test_*.mjs runs against this server. A suite that
# needs a server of its own (an API key, a second registry) starts it from HEARTH_BIN.
for suite in tests/e2e/test_*.py; do
    echo "--- $suite"
    "$venv/bin/python" "$suite" || status=1
done
for suite in tests/e2e/node/test_*.mjs; do
    echo "--- $suite"
    (cd "$node_dir" && node "$(basename "$suite")") || status=1
done

# Graceful shutdown: SIGTERM must end the server with status 0.
kill -TERM "$pid"
if wait "$pid"; then
    echo "server stopped cleanly on SIGTERM"
else
    echo "server exited with status $? on SIGTERM" >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    tail -n 50 "$log" >&2
fi
exit "$status"
