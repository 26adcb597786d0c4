# Sourced by the bench scripts (never run alone): fetch llama.cpp's sources from the
# llama-cpp-python sdist (pinned by LLAMACPP_PY_VERSION) and build llama-bench,
# llama-batched-bench and llama-server once under $CARGO_TARGET_DIR/llamacpp, for the same ISA
# as hearth's engine. Needs `root`, `say` and `die` from the caller; sets `model`, `threads`,
# `usable`, `bin`, `isa_note` and `py_version`.
# shellcheck shell=bash

py_version=${LLAMACPP_PY_VERSION:-0.3.36}
target_dir=${CARGO_TARGET_DIR:-$root/target}
work="$target_dir/llamacpp"
src_root="$work/src"
build="$work/build-$py_version"
bin="$build/bin"
mkdir -p "$work"

scripts/fetch-models.sh smollm2:135m
model="$root/models/$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(next(x["file"] for x in m["models"] if x["name"]==m["default"]))' models/manifest.json)"

# One thread per physical core (distinct core,socket pairs), never more than we may run on:
# the same rule as hearth_engine::physical_cores().
usable=$(nproc)
physical=$(lscpu -p=core,socket 2>/dev/null | grep -v '^#' | sort -u | wc -l || true)
((physical > 0)) || physical=$usable
threads=$((physical < usable ? physical : usable))

# --- llama.cpp sources (once) ---------------------------------------------------------------------
src="$src_root/llama_cpp_python-$py_version/vendor/llama.cpp"
if [[ ! -f $src/tools/llama-bench/llama-bench.cpp ]]; then
    mkdir -p "$src_root"
    sdist=$(find "$src_root" -maxdepth 1 -name "llama_cpp_python-$py_version.tar.gz" -print -quit)
    if [[ -z $sdist ]]; then
        say "downloading the llama-cpp-python $py_version sdist (vendors llama.cpp; takes a minute or two)"
        python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$src_root" "llama-cpp-python==$py_version" ||
            die "pip download llama-cpp-python==$py_version failed"
        sdist=$(find "$src_root" -maxdepth 1 -name "llama_cpp_python-$py_version.tar.gz" -print -quit)
        [[ -n $sdist ]] || die "no sdist llama_cpp_python-$py_version.tar.gz in $src_root"
    fi
    tar -xzf "$sdist" -C "$src_root" "llama_cpp_python-$py_version/vendor/llama.cpp"
fi

# --- llama.cpp build (once) -----------------------------------------------------------------------
isa_note="ISA: host default"
cmake_isa=(-DGGML_NATIVE=OFF)
if [[ $(uname -m) == x86_64 ]]; then
    # Exactly what llama-cpp-sys-2 does for hearth's `-C target-cpu=x86-64-v3` (.cargo/config.toml).
    cmake_isa+=(-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_SSE42=ON
        -DCMAKE_C_FLAGS=-march=x86-64-v3 -DCMAKE_CXX_FLAGS=-march=x86-64-v3)
    isa_note="ISA: x86-64-v3 (AVX2/FMA/F16C/BMI2) for both, GGML_NATIVE=OFF"
fi
tools=(llama-bench llama-batched-bench llama-server)
if [[ ! -x $bin/llama-bench || ! -x $bin/llama-batched-bench || ! -x $bin/llama-server ]]; then
    command -v cmake >/dev/null 2>&1 || die "cmake is missing (run scripts/setup.sh)"
    say "building ${tools[*]} from llama.cpp (llama-cpp-python $py_version) in $build; this takes several minutes once"
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
        "${cmake_isa[@]}" -DGGML_OPENMP=ON \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
        -DLLAMA_BUILD_COMMON=ON >"$work/cmake-configure.log" 2>&1 ||
        die "cmake configure failed; see $work/cmake-configure.log"
    cmake --build "$build" --config Release -j "$usable" --target "${tools[@]}" >"$work/cmake-build.log" 2>&1 ||
        die "llama.cpp build failed; see $work/cmake-build.log"
fi

