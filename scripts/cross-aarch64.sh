#!/bin/sh
# Cross-builds hark for a Raspberry Pi (Debian 12 arm64) in BUILDDIR and runs
# its unit tests under qemu-aarch64-static. The arm64 libraries are unpacked
# into BUILDDIR/sysroot from Debian's .debs (an arm64 libwebsockets-dev cannot
# be installed beside the amd64 one), through a private apt state, so the
# system's dpkg is not touched. Downloads are cached in BUILDDIR/apt; the
# sysroot is made again only when the package list changes (remove
# BUILDDIR/sysroot to take Debian's updates): a second run does not go to
# the network.
#   usage: scripts/cross-aarch64.sh BUILDDIR [MESON_TEST_ARGS...]
set -eu
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { echo "usage: $0 BUILDDIR [MESON_TEST_ARGS...]" >&2; exit 2; }
mkdir -p "$1"
build=$(cd "$1" && pwd)
shift

sh scripts/deps.sh cross

# Every library package of the native build, and libc6-dev: the sysroot is a
# whole arm64 userland, so the binary links and runs against the same glibc as
# on the Pi. apt resolves the runtime libraries and their dependencies.
pkgs=$(for p in $(sh scripts/deps.sh build --list); do
    case $p in
        *-dev) echo "$p" ;;
    esac
done | sort | tr '\n' ' ')

sysroot=$build/sysroot
apt=$build/apt
# Nothing of the system's apt state is read or written but its sources and
# configuration: the lists, the "installed" set (none) and the cache are ours.
aptopts="-o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o Dir::State::Lists=$apt/lists -o Dir::State::status=$apt/status
    -o Dir::Cache=$apt/cache -o Dir::Cache::archives=$apt/archives
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root"

if [ "$(cat "$sysroot/.packages" 2>/dev/null)" != "$pkgs" ]; then
    echo "== making the arm64 sysroot in $sysroot" >&2
    mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/cache"
    : >"$apt/status"
    # shellcheck disable=SC2086
    apt-get $aptopts -qq update >&2
    # shellcheck disable=SC2086
    apt-get $aptopts -qq -y --no-install-recommends --download-only install $pkgs >&2
    # Unpack what apt chose this time, not every version the cache holds:
    # "Inst NAME (VERSION ... [ARCH])" names each file (an epoch's ':' is
    # %3a in it).
    # shellcheck disable=SC2086
    debs=$(apt-get $aptopts -s -qq --no-install-recommends install $pkgs |
        sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([a-z0-9]*\)\]).*/\1_\2_\3.deb/p' |
        sed 's/:/%3a/g')
    [ -n "$debs" ] || { echo "$0: apt chose no packages" >&2; exit 1; }
    rm -rf "$sysroot"
    mkdir -p "$sysroot"
    for deb in $debs; do
        dpkg -x "$apt/archives/$deb" "$sysroot"
    done
    # Links such as libm.so -> /lib/aarch64-linux-gnu/libm.so.6 would reach
    # the host's /lib: point them inside the sysroot.
    find "$sysroot" -type l -lname '/*' | while read -r link; do
        target=$(readlink "$link")
        ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
    done
    # What update-alternatives would link when installing libblas3 and
    # liblapack3 (PocketSphinx's sphinxbase needs them).
    for lib in blas lapack; do
        ln -sfn "$lib/lib$lib.so.3" "$sysroot/usr/lib/aarch64-linux-gnu/lib$lib.so.3"
    done
    echo "$pkgs" >"$sysroot/.packages"
fi

# The sysroot's place, for the cross file (meson constants must come from a
# file given before the one that uses them).
printf "[constants]\nsysroot = '%s'\n" "$sysroot" >"$build/sysroot.ini"
cross="--cross-file $build/sysroot.ini --cross-file scripts/aarch64-linux-gnu.ini"
reconfigure=
[ -f "$build/build.ninja" ] && reconfigure=--reconfigure
# shellcheck disable=SC2086
if ! meson setup $reconfigure "$build" $cross >"$build/setup.log" 2>&1; then
    cat "$build/setup.log" >&2
    exit 1
fi
ninja -C "$build" >&2
# qemu runs the code several times slower than the machine does. No rebuild:
# the pipeline tests' speech corpus is not needed here.
meson test -C "$build" --no-rebuild --suite unit --print-errorlogs --num-processes 2 \
    --timeout-multiplier 4 "$@" >&2
