# Sourced by the fetch scripts: sets DEBIAN_ARCHIVE to this machine's own
# Debian archive address (from its apt configuration), so that no host name
# lives in the repository. Empty when apt has none configured.
DEBIAN_ARCHIVE=""
for _f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$_f" ] || continue
    DEBIAN_ARCHIVE=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' "$_f")
    [ -n "$DEBIAN_ARCHIVE" ] && break
done
if [ -z "$DEBIAN_ARCHIVE" ] && [ -f /etc/apt/sources.list ]; then
    DEBIAN_ARCHIVE=$(awk '$1 == "deb" && $2 !~ /security/ && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list)
fi
