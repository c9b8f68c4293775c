#!/usr/bin/env bash
# Measures the module against libvips, libjpeg-turbo's floor and nginx's
# image_filter, side by side, and writes the tables to bench/results.md:
# each section it measures replaces the section of the same title, the
# others (recorded by hand, or skipped in this run) are kept
# (scripts/bench/results_file.py).
# Not part of the tests or CI: it takes several minutes and wants a quiet
# machine. See bench/README.md for what is measured and how to read it.
#
#   scripts/bench.sh                 # everything
#   QUICK=1 scripts/bench.sh         # fewer iterations and rounds
#   CORPUS=/path/to/images scripts/bench.sh
#
# Environment:
#   CORPUS      directory of images (default: ../shared/corpus beside the
#               repository, else the repository's demo/images)
#   ITERATIONS  iterations per measurement (default 20; QUICK: 8)
#   ROUNDS      rounds; the report gives the median of the round medians
#               (default 3; QUICK: 1)
#   WORKERS     nginx worker_processes for the nginx measurements (default 1)
#   NO_NGINX=1  skip the nginx measurements
#   NO_GD=1     skip building and measuring nginx's image_filter
#   SOAK_SECONDS  length of the sustained-load memory run (default 300)
#   NO_SOAK=1   skip it
#   NO_ANIM=1   skip the animated GIF → WebP comparison with libvips
#
# Needs, besides the build's own packages (scripts/setup.sh): python3;
# for the libvips column libvips-dev and pyvips (`pip install pyvips`), and
# for the SSIMULACRA2 columns of the bytes table `pip install ssimulacra2`; for
# the floor a C compiler and libturbojpeg0-dev; for image_filter libgd-dev;
# for the event-loop test wrk. Whatever is missing is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi

if [ -n "${QUICK:-}" ]; then
    ITERATIONS=${ITERATIONS:-8}
    ROUNDS=${ROUNDS:-1}
fi
ITERATIONS=${ITERATIONS:-20}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-1}

if [ -z "${CORPUS:-}" ]; then
    if [ -d "$ROOT/../shared/corpus" ]; then
        CORPUS="$ROOT/../shared/corpus"
    else
        CORPUS="$ROOT/demo/images"
        echo "bench: ../shared/corpus not found; using $CORPUS" >&2
    fi
fi
CORPUS=$(cd "$CORPUS" && pwd)

WORK="$ROOT/target/bench"
mkdir -p "$WORK"

echo "bench: building (release)" >&2
cargo build --release
cargo build --release -p image-engine --example bench_engine
ENGINE="$ROOT/target/release/examples/bench_engine"
NGINX="$ROOT/target/release/nginx"
MODULE="$ROOT/target/release/libngx_http_image_module.so"

# The libjpeg-turbo floor: a small C program against the system library.
FLOOR=""
if command -v cc >/dev/null 2>&1 && [ -f /usr/include/turbojpeg.h ]; then
    cc -O2 -Wall -o "$WORK/floor" scripts/bench/floor.c -lturbojpeg
    FLOOR="$WORK/floor"
else
    echo "bench: no C compiler or turbojpeg.h (libturbojpeg0-dev): the floor column is skipped" >&2
fi

# nginx with image_filter: the same nginx source as the vendored build,
# configured with the libgd module, built once into target/bench/.
NGINX_GD=""
if [ -z "${NO_NGINX:-}" ] && [ -z "${NO_GD:-}" ]; then
    if [ -f /usr/include/gd.h ]; then
        GD_DIR="$WORK/nginx-image-filter"
        if [ ! -x "$GD_DIR/objs/nginx" ]; then
            SRC=""
            for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/nginx-src-*/nginx; do
                [ -x "$dir/auto/configure" ] && SRC="$dir"
            done
            if [ -z "$SRC" ]; then
                echo "bench: nginx-src not found in the cargo registry: image_filter is skipped" >&2
            else
                echo "bench: building nginx with image_filter from $SRC" >&2
                rm -rf "$GD_DIR"
                cp -r "$SRC" "$GD_DIR"
                (cd "$GD_DIR" &&
                    auto/configure --with-http_image_filter_module --with-threads \
                        --builddir=objs >"$WORK/nginx-image-filter.log" 2>&1 &&
                    make -j"$(nproc)" >>"$WORK/nginx-image-filter.log" 2>&1) || {
                    echo "bench: building image_filter failed; see $WORK/nginx-image-filter.log" >&2
                }
            fi
        fi
        [ -x "$GD_DIR/objs/nginx" ] && NGINX_GD="$GD_DIR/objs/nginx"
    else
        echo "bench: gd.h not found (libgd-dev): image_filter is skipped" >&2
    fi
fi

# Progressive cases derived losslessly from the corpus's baseline photos:
# the 20 MP photo with libjpeg's default script, the 13 MP one with
# mozjpeg's. jpegtran (libjpeg-turbo-progs) rewrites only the scans.
DERIVED="$WORK/derived"
mkdir -p "$DERIVED"
if command -v jpegtran >/dev/null 2>&1; then
    [ -f "$CORPUS/photo-20mp.jpg" ] &&
        jpegtran -copy none -progressive "$CORPUS/photo-20mp.jpg" >"$DERIVED/photo-20mp-progressive.jpg"
    [ -f "$CORPUS/photo-13mp.jpg" ] &&
        jpegtran -copy none -scans scripts/bench/mozjpeg-scans.txt "$CORPUS/photo-13mp.jpg" \
            >"$DERIVED/photo-13mp-mozjpeg.jpg"
else
    echo "bench: jpegtran not found (libjpeg-turbo-progs): the derived progressive cases are skipped" >&2
fi

ARGS=(--engine "$ENGINE" --vips-script scripts/bench/vips_bench.py --derived "$DERIVED"
    --corpus "$CORPUS" --out bench/results.md
    --iterations "$ITERATIONS" --rounds "$ROUNDS" --workers "$WORKERS"
    --nproc "$(nproc)")
[ -n "$FLOOR" ] && ARGS+=(--floor "$FLOOR")
if [ -z "${NO_NGINX:-}" ]; then
    if [ -x "$NGINX" ] && [ -f "$MODULE" ]; then
        ARGS+=(--nginx "$NGINX" --module "$MODULE")
    else
        echo "bench: $NGINX or $MODULE missing: the module's nginx measurements are skipped" >&2
    fi
    [ -n "$NGINX_GD" ] && ARGS+=(--nginx-gd "$NGINX_GD")
    command -v wrk >/dev/null 2>&1 || echo "bench: wrk not found: the event-loop test is skipped" >&2
fi

python3 scripts/bench/bench.py "${ARGS[@]}"
RESULTS="python3 scripts/bench/results_file.py bench/results.md"

# Bytes and SSIM (JPEG, WebP, AVIF) against libvips, and what colour
# management costs on a 13 MP photo, appended to the results.
if python3 -c "import pyvips" >/dev/null 2>&1; then
    python3 scripts/bench/bytes_ssim.py --engine "$ENGINE" --corpus "$CORPUS" > "$WORK/bytes.md"
    { echo "## Bytes and SSIM (JPEG, WebP, AVIF)"; echo; cat "$WORK/bytes.md"; } | $RESULTS
    python3 scripts/bench/colour_cost.py --engine "$ENGINE" --corpus "$CORPUS" > "$WORK/colour.md"
    { echo "## Colour management cost"; echo; cat "$WORK/colour.md"; } | $RESULTS
else
    echo "bench: pyvips not found: the bytes-and-SSIM table is skipped" >&2
fi

# Animation: a 20-frame 500×500 GIF (a photo panned across) to a 200 px
# animated WebP, against libvips loading every frame (n=-1). CPU time per
# animation, median, one thread each, appended to the results.
if [ -z "${NO_ANIM:-}" ] && python3 -c "import pyvips" 2>/dev/null &&
    [ -f "$CORPUS/photo-2mp.jpg" ]; then
    ANIM="$WORK/anim-20x500.gif"
    python3 scripts/bench/anim_input.py "$CORPUS/photo-2mp.jpg" "$ANIM"
    ENGINE_LINE=$("$ENGINE" "$ANIM" "width=200,format=webp,quality=85" --iterations "$ITERATIONS")
    VIPS_LINE=$(VIPS_CONCURRENCY=1 python3 scripts/bench/vips_bench.py "$ANIM" 200 \
        --format webp --quality 85 --all-pages --iterations "$ITERATIONS")
    field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
    ENGINE_MS=$(field cpu_ms_median "$ENGINE_LINE")
    VIPS_MS=$(field cpu_ms_median "$VIPS_LINE")
    {
        echo "## Animation: 20-frame 500×500 GIF → 200 px animated WebP"
        echo
        echo "| | CPU ms per animation (median of $ITERATIONS) | output bytes |"
        echo "|---|---|---|"
        echo "| engine | $ENGINE_MS | $(field bytes "$ENGINE_LINE") |"
        echo "| libvips $(field vips "$VIPS_LINE") (n=-1) | $VIPS_MS | $(field bytes "$VIPS_LINE") |"
        echo
        echo "Engine speed relative to libvips: $(python3 -c "print(f'{$VIPS_MS / $ENGINE_MS:.2f}×')")"
    } | $RESULTS
else
    echo "bench: pyvips or photo-2mp.jpg missing: the animation comparison is skipped" >&2
fi

# Steady memory under minutes of saturation, appended to the results.
if [ -z "${NO_NGINX:-}" ] && [ -z "${NO_SOAK:-}" ] && command -v wrk >/dev/null 2>&1 &&
    [ -x "$NGINX" ] && [ -f "$MODULE" ]; then
    python3 scripts/bench/soak.py --nginx "$NGINX" --module "$MODULE" --corpus "$CORPUS" \
        --seconds "${SOAK_SECONDS:-300}" --out "$WORK/soak.md"
    $RESULTS <"$WORK/soak.md"
fi
echo "bench: written to bench/results.md" >&2
