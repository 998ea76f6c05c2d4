#!/bin/sh
# Nothing vendored, nothing hand-installed (OWASP IoT I5): every shared
# library the hark binary loads belongs to an installed Debian package, so
# Debian's security updates reach all of it; and the source tree carries no
# copy of another project (no meson subprojects or wraps).
# usage: deps-owned.sh HARK SOURCE_ROOT
HARK=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

command -v dpkg >/dev/null || fail "dpkg is missing: this check needs a Debian system"
# ldd of a cross-built binary fails; this test runs on the build machine's.
ldd "$HARK" >"$TMP/ldd" 2>"$TMP/ldd.err" || fail "ldd $HARK: $(cat "$TMP/ldd.err")"
grep -q 'not found' "$TMP/ldd" && fail "unresolved libraries: $(grep 'not found' "$TMP/ldd")"
awk '$2 == "=>" && $3 ~ /^\// { print $3 }' "$TMP/ldd" >"$TMP/libs"
n=$(wc -l <"$TMP/libs")
[ "$n" -ge 8 ] || fail "only $n shared libraries: hark is not linked against its dependencies as expected"
bad=0
: >"$TMP/pkgs"
while read -r lib; do
    real=$(readlink -f "$lib")
    # dpkg knows a file by the path its package installed; /lib is /usr/lib
    # on a merged-/usr system, so try both spellings.
    alt=$(echo "$real" | sed 's|^/usr/lib/|/lib/|')
    if pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || dpkg -S "$alt" 2>/dev/null); then
        echo "$pkg" | head -1 | cut -d: -f1 >>"$TMP/pkgs"
    else
        echo "$lib ($real) belongs to no Debian package" >&2
        bad=$((bad + 1))
    fi
done <"$TMP/libs"
[ "$bad" -eq 0 ] || fail "$bad libraries are not from Debian packages"
for p in libopus0 libwebsockets17 libsodium23 libpocketsphinx3 libportaudio2; do
    grep -q "^$p" "$TMP/pkgs" || fail "hark does not load $p's library"
done

if [ -d "$SRC/subprojects" ] || find "$SRC" -maxdepth 2 -name '*.wrap' | grep -q .; then
    fail "the source tree vendors another project (subprojects/ or a .wrap file)"
fi
echo "ok: $n libraries from $(sort -u "$TMP/pkgs" | wc -l) Debian packages: $(sort -u "$TMP/pkgs" | tr '\n' ' ')"
