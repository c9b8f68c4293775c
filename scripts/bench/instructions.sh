#!/usr/bin/env bash
# Compares the instructions the engine executes per transform at two git
# revisions, for every case of the benchmark table (bench/results.md) and
# the progressive photos at the other shrink-on-load scales:
#
#   scripts/bench/instructions.sh BEFORE_REV AFTER_REV
#
# Unlike CPU time, an instruction count does not move with the load on the
# machine, so a few per cent can be told apart on a busy one. Counted with
# valgrind's callgrind; one run per case and revision (about 50× slower
# than native: a few minutes in all). Exits 1 when a table case grew by
# more than LIMIT per cent (default 5).
#
# Each revision's engine benchmark (engine/examples/bench_engine.rs) is
# built in COMPARE_DIR/<sha> (default target/compare, a git worktree; an
# existing one is reused). A revision equal to this checkout's HEAD, with
# no uncommitted changes, uses this checkout's own build instead.
#
# Environment: CORPUS (as scripts/bench.sh), COMPARE_DIR, LIMIT.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
[ $# -eq 2 ] || { echo "usage: scripts/bench/instructions.sh BEFORE_REV AFTER_REV" >&2; exit 2; }
command -v valgrind >/dev/null 2>&1 || { echo "instructions: valgrind not found" >&2; exit 2; }

if [ -z "${CORPUS:-}" ]; then
    if [ -d "$ROOT/../shared/corpus" ]; then
        CORPUS="$ROOT/../shared/corpus"
    else
        CORPUS="$ROOT/demo/images"
    fi
fi
CORPUS=$(cd "$CORPUS" && pwd)
COMPARE_DIR=${COMPARE_DIR:-$ROOT/target/compare}

# The progressive cases scripts/bench.sh derives with jpegtran.
DERIVED="$ROOT/target/bench/derived"
mkdir -p "$DERIVED"
if command -v jpegtran >/dev/null 2>&1; then
    [ -f "$CORPUS/photo-20mp.jpg" ] &&
        jpegtran -copy none -progressive "$CORPUS/photo-20mp.jpg" >"$DERIVED/photo-20mp-progressive.jpg"
    [ -f "$CORPUS/photo-13mp.jpg" ] &&
        jpegtran -copy none -scans scripts/bench/mozjpeg-scans.txt "$CORPUS/photo-13mp.jpg" \
            >"$DERIVED/photo-13mp-mozjpeg.jpg"
else
    echo "instructions: jpegtran not found: the derived progressive cases are skipped" >&2
fi

HEAD_SHA=$(git rev-parse HEAD)
BUILDS=()
for rev in "$1" "$2"; do
    full=$(git rev-parse "$rev^{commit}")
    sha=$(git rev-parse --short "$full")
    if [ "$full" = "$HEAD_SHA" ] && git diff --quiet HEAD; then
        dir="$ROOT"
    else
        dir="$COMPARE_DIR/$sha"
        [ -d "$dir" ] || git worktree add --detach "$dir" "$sha" >/dev/null
    fi
    echo "instructions: building $rev ($sha) in $dir" >&2
    (cd "$dir" && cargo build --release --locked -p image-engine --example bench_engine >&2)
    BUILDS+=(--build "$rev ($sha)=$dir/target/release/examples/bench_engine")
done

python3 scripts/bench/instructions.py "${BUILDS[@]}" --corpus "$CORPUS" --derived "$DERIVED" \
    --limit "${LIMIT:-5}"
