#!/usr/bin/env bash
# Runs every test: engine unit tests and the integration tests, which start
# the freshly built nginx with the module loaded. Extra arguments go to
# `cargo test` (e.g. `scripts/test.sh --test resize -- --nocapture`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

scripts/setup.sh
exec cargo test --workspace --release --locked --features ngx_http_image_module/fault-injection "$@"
