#!/usr/bin/env bash
# Runs every test: engine unit tests and the integration tests, which start
# the freshly built nginx with the module loaded. Extra arguments go to
# `cargo test` (e.g. `scripts/test.sh --test resize -- --nocapture`).
#
# The `fault-injection` feature lets the tests make the module panic on
# purpose (see tests/panics.rs); normal builds never include it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --release --locked --features ngx_http_image_module/fault-injection "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/) passed += $(i - 1)
            if ($(i) ~ /^failed;?$/) failed += $(i - 1)
            if ($(i) ~ /^ignored;?$/) ignored += $(i - 1)
        }
    }
    END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
exit "$status"
