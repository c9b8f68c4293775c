#!/usr/bin/env bash
# Compares the module's cost per request at two git revisions, side by side
# in one run (worker CPU ms per request, the cases of the nginx table in
# bench/results.md). For changes that must cost nothing at run time, such as
# a restructuring of the glue:
#
#   scripts/bench-compare.sh BEFORE_REV AFTER_REV
#
# Each revision is checked out in target/compare/<rev> (a git worktree) and
# built there in release mode; both nginx servers then run at once and every
# round measures each case on both, alternating which goes first, so other
# load on the machine hits both alike. The table goes to stdout.
#
# Environment: CORPUS (as scripts/bench.sh), ROUNDS (default 7), REQUESTS
# per case and round (default 50). PATCH=file applies a patch to both
# checkouts before building (e.g. a fix both revisions need to run at all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
[ $# -eq 2 ] || { echo "usage: scripts/bench-compare.sh BEFORE_REV AFTER_REV" >&2; exit 2; }

if [ -z "${CORPUS:-}" ]; then
    if [ -d "$ROOT/../shared/corpus" ]; then
        CORPUS="$ROOT/../shared/corpus"
    else
        CORPUS="$ROOT/demo/images"
    fi
fi
CORPUS=$(cd "$CORPUS" && pwd)

BUILDS=()
for rev in "$1" "$2"; do
    sha=$(git rev-parse --short "$rev^{commit}")
    dir="$ROOT/target/compare/$sha"
    if [ ! -d "$dir" ]; then
        git worktree add --detach "$dir" "$sha" >/dev/null
        if [ -n "${PATCH:-}" ]; then
            git -C "$dir" apply "$(cd "$(dirname "$PATCH")" && pwd)/$(basename "$PATCH")"
        fi
    fi
    echo "bench-compare: building $rev ($sha)" >&2
    (cd "$dir" && cargo build --release --locked >&2)
    BUILDS+=(--build "$rev=$dir/target/release/nginx,$dir/target/release/libngx_http_image_module.so")
done

python3 scripts/bench/compare.py "${BUILDS[@]}" --corpus "$CORPUS" \
    --rounds "${ROUNDS:-7}" --requests "${REQUESTS:-50}"
