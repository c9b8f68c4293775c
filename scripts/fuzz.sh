#!/usr/bin/env bash
# Fuzzes the engine with libFuzzer (cargo-fuzz, nightly toolchain):
#
#   scripts/fuzz.sh SECONDS [TARGET...]     (targets: options decode pipeline
#                                            containers)
#
# Each target runs for SECONDS, one after another, under `nice`, starting
# from the seed corpus that engine/tests/fuzz_replay.rs makes (test images
# and their malformed variants) plus what earlier runs found
# (engine/fuzz/corpus/, not committed). Inputs that crash, take longer than
# ten seconds in the instrumented build (about one second of release code:
# the sanitizer and coverage hooks cost roughly ten times) or allocate more
# than 2 GB are saved under
# engine/fuzz/artifacts/TARGET/; copy each into engine/fuzz/regressions/TARGET/
# once fixed, and CI replays it (`cargo test -p image-engine --test fuzz_replay`).
# CI itself does not run this script: it needs nightly and cargo-fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(options decode pipeline containers)
fi

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

corpus=engine/fuzz/corpus
FUZZ_CORPUS_DIR="$PWD/$corpus" cargo test --release --locked -p image-engine \
    --test fuzz_replay -- --ignored write_seed_corpus >/dev/null

cd engine
for target in "${targets[@]}"; do
    mkdir -p "fuzz/artifacts/$target"
    echo "== $target: ${seconds}s"
    nice -n 19 cargo +nightly fuzz run -O "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len=262144 -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" 2>&1 |
        grep -E '^(stat::|==|SUMMARY|Done|#[0-9]+ *DONE)|ERROR|panicked' || true
done
