#!/bin/sh
# Fetch what MicroPython's rp2 port needs besides MicroPython itself, from
# Debian's archive (trixie), and build picotool. Idempotent; cached in DEST.
#
#   fetch_rp2_deps.sh DEST MICROPY_DIR
#
# DEST gets:
#   root/usr/src/pico-sdk   pico-sdk 2.1.1        (binary package pico-sdk-source)
#   root/usr/src/tinyusb    TinyUSB 0.18.0        (binary package tinyusb-source)
#   src/mbedtls-3.6.*       Mbed TLS 3.6          (source package mbedtls)
#   picotool/               picotool 2.1.1, built (source package picotool)
# and MICROPY_DIR/lib/{pico-sdk,tinyusb,mbedtls} become symlinks to them when
# those submodule folders are empty (as in Debian's MicroPython source).
#
# The archive's address is read from this machine's own apt configuration, so
# no host name lives in the repository.
set -eu
DEST=$1
MPY=$2
PICO_SDK_DEB=2.1.1-1
TINYUSB_DEB=0.18.0+dfsg-1
PICOTOOL_DEB=2.1.1+dfsg-1
MBEDTLS_SERIES=3.6

mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
MPY=$(cd "$MPY" && pwd)
SDK=$DEST/root/usr/src/pico-sdk
TUSB=$DEST/root/usr/src/tinyusb

have_all() {
    [ -f "$SDK/pico_sdk_init.cmake" ] && [ -d "$TUSB/src" ] &&
        [ -x "$DEST/picotool/bin/picotool" ] &&
        ls -d "$DEST"/src/mbedtls-$MBEDTLS_SERIES.* >/dev/null 2>&1
}

# Debian ships the submodules' folders empty; a real checkout has them filled
# and is left alone.
link_into_micropython() {
    mbedtls=$(ls -d "$DEST"/src/mbedtls-$MBEDTLS_SERIES.* | tail -n 1)
    for pair in "pico-sdk:$SDK" "tinyusb:$TUSB" "mbedtls:$mbedtls"; do
        name=${pair%%:*}
        target=${pair#*:}
        lib=$MPY/lib/$name
        if [ -L "$lib" ]; then
            ln -sfn "$target" "$lib"
        elif [ -d "$lib" ] && [ -z "$(ls -A "$lib")" ]; then
            rmdir "$lib"
            ln -s "$target" "$lib"
        elif [ ! -e "$lib" ]; then
            ln -s "$target" "$lib"
        fi
    done
}

if have_all; then
    link_into_micropython
    exit 0
fi

. "$(dirname "$0")/debian_archive.sh"
URI=$DEBIAN_ARCHIVE
if [ -z "$URI" ]; then
    echo "fetch_rp2_deps: no Debian archive found in /etc/apt; fill $MPY/lib/{pico-sdk,tinyusb,mbedtls} yourself (git submodules) and put picotool 2.1.1 in $DEST/picotool" >&2
    exit 1
fi

APT=$DEST/apt
mkdir -p "$APT/sources.list.d" "$APT/lists/partial" "$APT/archives/partial" "$DEST/dl" "$DEST/src" "$DEST/root"
KEY="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
cat > "$APT/sources.list" <<LIST
deb $KEY $URI trixie main
deb-src $KEY $URI trixie main
LIST
APT_OPTS="-o Dir::Etc::sourcelist=$APT/sources.list -o Dir::Etc::sourceparts=$APT/sources.list.d -o Dir::State::Lists=$APT/lists -o Dir::Cache::Archives=$APT/archives -o Dir::State::status=/dev/null -o APT::Sandbox::User=root"
echo "fetching pico-sdk, TinyUSB, Mbed TLS and picotool (Debian trixie)..."
# shellcheck disable=SC2086
apt-get $APT_OPTS update -qq
cd "$DEST/dl"
# shellcheck disable=SC2086
apt-get $APT_OPTS download -qq "pico-sdk-source=$PICO_SDK_DEB" "tinyusb-source=$TINYUSB_DEB"
# The archive sometimes answers 404 for a .dsc or .debian.tar while the
# upstream tarball (all we use) arrives: judge by the tarball, not the status.
# shellcheck disable=SC2086
apt-get $APT_OPTS source --download-only -qq "picotool=$PICOTOOL_DEB" mbedtls ||
    echo "(404 errors for .dsc or .debian.tar files above are harmless: only the upstream tarballs are used)"
for f in pico-sdk-source_*.deb tinyusb-source_*.deb picotool_*.orig.tar.* mbedtls_$MBEDTLS_SERIES.*.orig.tar.*; do
    if [ ! -f "$f" ]; then
        echo "fetch_rp2_deps: $f did not download (Debian trixie, see above); try again later or fill $MPY/lib/ from git" >&2
        exit 1
    fi
done

dpkg -x pico-sdk-source_*.deb "$DEST/root"
dpkg -x tinyusb-source_*.deb "$DEST/root"
# The rp2 port's Makefile takes this file as the sign of an initialised
# pico-sdk; Debian's package does not ship it.
[ -f "$SDK/README.md" ] || echo "pico-sdk $PICO_SDK_DEB from Debian's pico-sdk-source package." > "$SDK/README.md"
tar -xf "$(ls picotool_*.orig.tar.* | head -n 1)" -C "$DEST/src"
tar -xf "$(ls mbedtls_$MBEDTLS_SERIES.*.orig.tar.* | tail -n 1)" -C "$DEST/src"

# picotool is only a build tool here (ELF to UF2, binary info), so it is built
# without USB support: no libusb, and no RP2350 helper binaries that would
# need an Arm C++ library.
echo "building picotool..."
rm -rf "$DEST/picotool-build"
cmake -S "$(ls -d "$DEST"/src/picotool-* | head -n 1)" -B "$DEST/picotool-build" \
    -DPICO_SDK_PATH="$SDK" -DPICOTOOL_NO_LIBUSB=1 -DUSE_PRECOMPILED=false \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$DEST/picotool" >"$DEST/picotool-build.log" 2>&1 &&
    make -C "$DEST/picotool-build" -j"$(nproc)" install >>"$DEST/picotool-build.log" 2>&1 ||
    { echo "fetch_rp2_deps: building picotool failed, see $DEST/picotool-build.log" >&2; exit 1; }

have_all
link_into_micropython
echo "rp2 dependencies in $DEST"
