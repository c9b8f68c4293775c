#!/usr/bin/env bash
# Installs the package built by scripts/build-deb.sh into Debian's own nginx
# with `apt-get install ./libnginx-mod-http-image_*.deb`, then checks:
#   - the files and the modules-enabled link are where Debian puts them,
#   - Debian's stock /etc/nginx/nginx.conf loads the module (nginx -t),
#   - /usr/sbin/nginx serves a resized image and the module's errors
#     (scripts/smoke-test.sh on a loopback port, with the package's
#     modules-enabled link as the only load_module line),
#   - removing the package parks the link and nginx -t still passes.
#
# Meant for a Debian 12 machine or container you may install packages on
# (root or sudo). It does not start the nginx service: a policy-rc.d keeps
# apt from starting it while this runs. Not part of CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DEB=${1:-$(ls -t target/debian/libnginx-mod-http-image_*.deb 2>/dev/null | head -1)}
[ -n "$DEB" ] && [ -f "$DEB" ] || { echo "test-deb: no package; run scripts/build-deb.sh first" >&2; exit 1; }
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)

fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }

# Keep apt from starting (or reloading) nginx services while we test.
POLICY=/usr/sbin/policy-rc.d
made_policy=false
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    made_policy=true
fi
cleanup() {
    if [ "$made_policy" = true ]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT

dpkg -s nginx >/dev/null 2>&1 || "${APT[@]}" install -y nginx
echo "test-deb: Debian's nginx: $(dpkg-query -W -f '${Version}' nginx), provides $(dpkg-query -W -f '${Provides}' nginx)"

"${APT[@]}" install -y --reinstall "$DEB" | tail -3
echo "test-deb: installed $(dpkg-query -W -f '${Package} ${Version}' libnginx-mod-http-image)"
echo "test-deb: depends on: $(dpkg-query -W -f '${Depends}' libnginx-mod-http-image)"

SO=/usr/lib/nginx/modules/ngx_http_image_module.so
AVAILABLE=/usr/share/nginx/modules-available/mod-http-image.conf
LINK=/etc/nginx/modules-enabled/50-mod-http-image.conf
[ -f "$SO" ] || fail "$SO missing"
grep -qx 'load_module modules/ngx_http_image_module.so;' "$AVAILABLE" || fail "$AVAILABLE has no load_module line"
[ "$(readlink "$LINK")" = "$AVAILABLE" ] || fail "$LINK does not point at $AVAILABLE"
echo "test-deb: $LINK -> $(readlink "$LINK")"

# Debian's own configuration, untouched, with the module enabled.
"${SUDO[@]}" /usr/sbin/nginx -t 2>&1 | sed 's/^/test-deb: nginx -t: /'
"${SUDO[@]}" /usr/sbin/nginx -T 2>/dev/null | grep -q 'load_module modules/ngx_http_image_module.so;' ||
    fail "nginx -T does not show the module's load_module line"

# Serve images with Debian's binary and the package's load line.
scripts/smoke-test.sh /usr/sbin/nginx "include /etc/nginx/modules-enabled/50-mod-http-image.conf;"

# Removal parks the link (Debian's convention) and leaves a working nginx.
"${APT[@]}" remove -y libnginx-mod-http-image | tail -1
[ ! -e "$LINK" ] || fail "$LINK still there after removal"
[ -L "$LINK.removed" ] || fail "removal did not park the link as $LINK.removed"
"${SUDO[@]}" /usr/sbin/nginx -t 2>&1 | sed 's/^/test-deb: after removal: nginx -t: /'
# Reinstalling brings the link back.
"${APT[@]}" install -y "$DEB" | tail -1
[ -L "$LINK" ] || fail "reinstalling did not restore $LINK"
echo "test-deb: OK"
