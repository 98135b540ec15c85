#!/bin/sh
# Fetch MicroPython 1.25.0 source from Debian's archive (trixie source package).
# The archive's address is read from this machine's own apt configuration, so
# no host name lives in the repository. Usage: fetch_micropython.sh DEST_DIR
set -eu
DEST=$1
VERSION=1.25.0
DEBVER=1.25.0+ds-1
[ -f "$DEST/py/mkrules.mk" ] && exit 0

mkdir -p "$(dirname "$DEST")"
WORK=$(cd "$(dirname "$DEST")" && pwd)/apt-trixie
mkdir -p "$WORK/sources.list.d" "$WORK/lists/partial" "$WORK/archives/partial" "$WORK/src"

. "$(dirname "$0")/debian_archive.sh"
URI=$DEBIAN_ARCHIVE
if [ -z "$URI" ]; then
    echo "fetch_micropython: no Debian archive found in /etc/apt; set MICROPY_DIR to a MicroPython $VERSION checkout" >&2
    exit 1
fi

cat > "$WORK/sources.list" <<LIST
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $URI trixie main
LIST
APT_OPTS="-o Dir::Etc::sourcelist=$WORK/sources.list -o Dir::Etc::sourceparts=$WORK/sources.list.d -o Dir::State::Lists=$WORK/lists -o Dir::Cache::Archives=$WORK/archives -o APT::Sandbox::User=root"
echo "fetching MicroPython $VERSION source package (Debian trixie)..."
apt-get $APT_OPTS update -qq
(cd "$WORK/src" && apt-get $APT_OPTS source --download-only -qq "micropython=$DEBVER")
ORIG=$(ls "$WORK"/src/micropython_*.orig.tar.* | head -n 1)
TMP="$DEST.tmp"
rm -rf "$TMP"
mkdir -p "$TMP"
tar -xf "$ORIG" -C "$TMP" --strip-components=1
mv "$TMP" "$DEST"
echo "MicroPython $VERSION source in $DEST"
