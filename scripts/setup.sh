#!/usr/bin/env bash
# Installs the system packages needed to build the module and its vendored
# nginx (Debian/Ubuntu), and checks that a Rust toolchain is available.
# Safe to run repeatedly: it installs only what is missing.
set -euo pipefail

PACKAGES=(libpcre2-dev libclang-dev libssl-dev zlib1g-dev cmake nasm)
# AVIF input: the AV1 decoder (libdav1d, found with pkg-config and linked
# dynamically; the Debian package then depends on libdav1d).
PACKAGES+=(libdav1d-dev pkg-config)
# HEIC input: the system's libheif (Debian's carries libde265 to decode and
# x265 to encode); heif-enc writes the HEIC the integration tests serve.
PACKAGES+=(libheif-dev libheif-examples)
# The default JPEG encoder (jpegli, built from source by jpegli-sys) is C++:
# g++, and cmake above.
PACKAGES+=(g++)
# The HTTP/2 tests use curl as their client and openssl to make a certificate.
PACKAGES+=(curl openssl)

missing=()
if command -v dpkg >/dev/null 2>&1; then
    for pkg in "${PACKAGES[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if ! command -v cc >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
        missing+=(build-essential)
    fi
else
    echo "setup: not a Debian-like system; make sure these (or their equivalents) are installed:" >&2
    echo "  ${PACKAGES[*]} plus a C and C++ compiler and make" >&2
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "${HOME:-}/.cargo/bin/cargo" ]; then
        echo "setup: cargo is installed in ~/.cargo/bin but not on PATH; run:" >&2
        echo "  source \"\$HOME/.cargo/env\"" >&2
    else
        echo "setup: cargo (Rust) is not installed. Install it with rustup:" >&2
        echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y" >&2
        echo "  source \"\$HOME/.cargo/env\"" >&2
        echo "then run this script again." >&2
    fi
    exit 1
fi

# The HTTP/3 tests' client (tests/h3_client.py) is aioquic, from PyPI.
# Without it those tests are skipped with a message, so a failure here is
# only a warning.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import aioquic' >/dev/null 2>&1; then
    echo "setup: installing aioquic (HTTP/3 test client) with pip"
    python3 -m pip install --quiet --disable-pip-version-check aioquic ||
        echo "setup: could not install aioquic; the HTTP/3 tests will be skipped" >&2
fi
