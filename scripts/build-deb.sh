#!/usr/bin/env bash
# Builds the Debian package libnginx-mod-http-image for the nginx of the
# Debian release this runs on (Debian 12: nginx 1.22.1), from nginx-dev:
#
#   /usr/lib/nginx/modules/ngx_http_image_module.so
#   /usr/share/nginx/modules-available/mod-http-image.conf   (the load_module line)
#   /etc/nginx/modules-enabled/50-mod-http-image.conf        (link made by postinst)
#
# The package depends on the exact nginx ABI it was built for (Debian's
# virtual package nginx-abi-*, from nginx-dev), so apt refuses to pair it
# with another nginx. Output: target/debian/libnginx-mod-http-image_*.deb.
# scripts/test-deb.sh installs it and serves a resized image.
#
# Needs root (or sudo) to install nginx-dev when missing. Takes a few
# minutes cold. Not part of CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ -d "${HOME:-}/.cargo/bin" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
scripts/setup.sh

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
need=()
for pkg in nginx-dev dpkg-dev binutils; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    "${APT[@]}" update
    "${APT[@]}" install -y "${need[@]}"
fi

OUT="$ROOT/target/debian"
NGX_SRC="$OUT/nginx-src"
mkdir -p "$OUT"

# nginx-dev's copy of Debian's nginx source, configured with Debian's flags.
ABI=$(sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
[ -n "$ABI" ] || { echo "build-deb: no nginx ABI in nginx-dev" >&2; exit 1; }
NGINX_VERSION=$(dpkg-query -W -f '${Version}' nginx-dev)
if [ ! -f "$NGX_SRC/.configured-$NGINX_VERSION" ]; then
    rm -rf "$NGX_SRC"
    cp -r /usr/share/nginx/src "$NGX_SRC"
    (
        cd "$NGX_SRC"
        # shellcheck disable=SC1091
        source ./conf_flags
        ./configure "${NGX_CONF_FLAGS[@]}" --with-cc-opt=-fPIC --builddir=objs > configure.log 2>&1 ||
            { tail -20 configure.log >&2; exit 1; }
    )
    touch "$NGX_SRC/.configured-$NGINX_VERSION"
fi
echo "build-deb: nginx $NGINX_VERSION ($ABI), configured in $NGX_SRC"

# Its own target dir: the vendored build in target/release stays as it is.
NGINX_SOURCE_DIR="$NGX_SRC" NGINX_BUILD_DIR="$NGX_SRC/objs" \
    cargo build --release --locked --no-default-features --target-dir "$OUT/cargo"
SO="$OUT/cargo/release/libngx_http_image_module.so"

# Package tree.
VERSION=$(cargo metadata --locked --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "ngx_http_image_module"))')
DEB_VERSION="$VERSION-1+nginx${NGINX_VERSION%%-*}"
ARCH=$(dpkg --print-architecture)
PKG=libnginx-mod-http-image
STAGE="$OUT/stage"
rm -rf "$STAGE"
install -d "$STAGE/DEBIAN" "$STAGE/usr/lib/nginx/modules" \
    "$STAGE/usr/share/nginx/modules-available" "$STAGE/usr/share/doc/$PKG"
install -m 644 "$SO" "$STAGE/usr/lib/nginx/modules/ngx_http_image_module.so"
strip --strip-unneeded "$STAGE/usr/lib/nginx/modules/ngx_http_image_module.so"
install -m 644 packaging/debian/mod-http-image.conf "$STAGE/usr/share/nginx/modules-available/"
install -m 644 packaging/debian/copyright "$STAGE/usr/share/doc/$PKG/copyright"
gzip -9n < README.md > "$STAGE/usr/share/doc/$PKG/README.md.gz"
install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$STAGE/DEBIAN/"

# Shared libraries the .so needs, as Debian package dependencies.
mkdir -p "$OUT/shlibs/debian"
: > "$OUT/shlibs/debian/control"
SHLIBS=$(cd "$OUT/shlibs" && dpkg-shlibdeps -O "$STAGE/usr/lib/nginx/modules/ngx_http_image_module.so" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$SHLIBS" ] || SHLIBS="libc6"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$DEB_VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@NGINX_ABI@/$ABI/g" \
    -e "s/@SHLIBS@/$SHLIBS/" -e "s/@SIZE@/$SIZE/" \
    packaging/debian/control.in > "$STAGE/DEBIAN/control"

DEB="$OUT/${PKG}_${DEB_VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$STAGE" "$DEB" >/dev/null
echo "build-deb: built $DEB"
dpkg-deb --field "$DEB" Package Version Architecture Depends
dpkg-deb --contents "$DEB" | awk '{ print "  " $1, $3, $6, $7, $8 }'
