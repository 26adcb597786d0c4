#!/usr/bin/env bash
# Install what building and running hearth needs, and only what is missing.
#
#   scripts/setup.sh          build dependencies (Debian/Ubuntu packages via apt-get) + a Rust toolchain check
#   scripts/setup.sh --dev    the same, plus rustfmt, clippy, Node.js and chromium + chromedriver (for scripts/test)
#
# Used by scripts/serve and scripts/test; safe to run any number of times. On systems without
# apt-get it only checks for the tools and says what to install.
set -euo pipefail

dev=0
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1 ;;
        -h | --help)
            sed -n '2,8s/^# \{0,1\}//p' "$0"
            exit 0
            ;;
        *)
            echo "setup.sh: unknown argument: $arg" >&2
            exit 2
            ;;
    esac
done

say() { printf 'setup: %s\n' "$*" >&2; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

# Debian package -> a command that proves it is there (for systems without dpkg).
packages=(cmake clang libclang-dev build-essential pkg-config python3-pip python3-venv unzip)
# The test suite's end-to-end client tests also drive the npm `ollama` and `openai` packages.
if ((dev)) && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi
# The web UI's browser tests (tests/e2e/test_ui.py) drive Debian's chromium through chromedriver.
if ((dev)); then
    packages+=(chromium chromium-driver)
fi

missing_packages() {
    local pkg
    for pkg in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$pkg"
        fi
    done
}

if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} > 0)); then
        sudo=()
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null 2>&1 ||
                die "missing packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}"
            sudo=(sudo)
        fi
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update -q
        "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
else
    # Not Debian/Ubuntu: check the tools themselves and say what is missing.
    absent=()
    for tool in cmake clang c++ make pkg-config python3 unzip; do
        command -v "$tool" >/dev/null 2>&1 || absent+=("$tool")
    done
    python3 -m pip --version >/dev/null 2>&1 || absent+=("pip (python3 -m pip)")
    ((${#absent[@]} == 0)) ||
        die "no apt-get here; install these with your package manager (plus libclang for bindgen): ${absent[*]}"
fi

# Rust: rustup installs into ~/.cargo/bin, which a fresh login shell may not have on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck source=/dev/null
    . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
    die "no Rust toolchain found. Install one with rustup (https://rustup.rs):
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y && . \"\$HOME/.cargo/env\"
then run this command again."
fi

# The workspace's rust-version (Cargo.toml) is the minimum.
min_rust=1.85
have_rust=$(rustc --version | awk '{print $2}')
if [[ $(printf '%s\n%s\n' "$min_rust" "${have_rust%%-*}" | sort -V | head -n1) != "$min_rust" ]]; then
    die "Rust $have_rust is older than the required $min_rust; update it with: rustup update stable"
fi

if ((dev)); then
    for component in rustfmt clippy; do
        sub=${component/rustfmt/fmt}
        if ! cargo "$sub" --version >/dev/null 2>&1; then
            command -v rustup >/dev/null 2>&1 ||
                die "cargo $sub is missing and there is no rustup to add it; install the $component component of your toolchain"
            say "adding the $component component"
            rustup component add "$component"
        fi
    done
fi
