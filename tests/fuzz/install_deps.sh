#!/bin/sh
# Install what the fuzzer needs from Debian, if missing: clang and the
# compiler-rt package of the same major version (libFuzzer, ASan, UBSan).
# Idempotent: does nothing (and needs no root) when both are present.
set -eu
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
fi
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
install() {
    echo "installing Debian packages: $*"
    if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
        echo "error: need root (or sudo) to install: $*" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "$@"
}
installed clang || install clang
major=$(clang -dumpversion | cut -d. -f1)
installed "libclang-rt-$major-dev" || install "libclang-rt-$major-dev"
