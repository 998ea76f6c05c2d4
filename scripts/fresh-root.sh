#!/bin/sh
# The README's demo command on a fresh Debian 12, as a new user meets it: a
# minimal bookworm root (mmdebstrap --variant=minbase: essential packages and
# apt, nothing else), this tree copied in without its build directories, and
# `sh scripts/demo.sh` run inside it as root. It fails when the demo's
# package list misses something the build or the demo needs, which a machine
# that already has the test packages never shows. Needs root (chroot, mounts).
#
#   usage: scripts/fresh-root.sh [--fresh] [--tests] WORKDIR
#
# With --tests the test command's list is checked the same way after the
# demo: `sh scripts/deps.sh test`, the plain build's default target (the
# tests and their synthesized corpus) and the default suites, in the same
# root (not the sanitizer build nor the cross build: time).
#
# The root is made in WORKDIR/root and removed afterwards; the output is kept
# in WORKDIR/demo.log and WORKDIR/test.log. The bootstrapped base is cached
# as WORKDIR/base.tar (made again when this machine's apt sources change, or
# with --fresh): a clean clone, as in CI, starts without it. The mirror is the one this
# machine's apt uses (its bookworm entries), so no host name is written here.
set -eu
cd "$(dirname "$0")/.."

fresh=""
tests=""
while [ $# -gt 0 ]; do
    case $1 in
        --fresh) fresh=yes ;;
        --tests) tests=yes ;;
        *) break ;;
    esac
    shift
done
[ $# -eq 1 ] || { echo "usage: $0 [--fresh] [--tests] WORKDIR" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: skipped: needs root (mmdebstrap, chroot and mounts)" >&2; exit 77; }
command -v mmdebstrap >/dev/null || { echo "$0: mmdebstrap is missing (sh scripts/deps.sh test)" >&2; exit 1; }
git rev-parse --git-dir >/dev/null 2>&1 || { echo "$0: the tree is copied from its git checkout: none here" >&2; exit 1; }
mkdir -p "$1"
work=$(cd "$1" && pwd)
root=$work/root
start=$(date +%s)

# mounted_under DIR: whether anything is mounted at or below DIR.
mounted_under() {
    awk -v d="$1" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

# Leaves nothing behind on any way out: the processes still running in the
# root (the demo's cloud, if the demo was stopped), the mounts, the root.
cleanup() {
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    for m in dev/shm dev/pts dev sys proc; do
        if mountpoint -q "$root/$m" 2>/dev/null; then
            umount "$root/$m" || umount -l "$root/$m" || true
        fi
    done
    # Never remove a tree that still has the host's /dev or /sys under it.
    if [ -d "$root" ] && ! mounted_under "$root"; then
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# This machine's apt sources for bookworm, both formats (deb822 stanzas and
# one-line entries); other suites (third-party repositories) are left out.
sources() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '/^[ \t]*deb[ \t]/ {
            n = split($0, w, /[ \t]+/); i = 2
            if (w[i] ~ /^\[/) { while (i <= n && w[i] !~ /\]$/) i++; i++ }
            if (w[i + 1] ~ /^bookworm(-[a-z]+)?$/) print
        }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk 'BEGIN { RS = "" } {
            n = split($0, line, "\n"); keep = 0; deb = 0; off = 0
            for (i = 1; i <= n; i++) {
                if (line[i] ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb = 1
                if (line[i] ~ /^Enabled:[ \t]*no/) off = 1
                if (line[i] ~ /^Suites:/) {
                    m = split(line[i], s, /[ \t]+/)
                    for (j = 2; j <= m; j++) if (s[j] ~ /^bookworm(-[a-z]+)?$/) keep = 1
                }
            }
            if (keep && deb && !off) print $0 "\n"
        }' "$f"
    done
}
sources >"$work/sources.new"
[ -s "$work/sources.new" ] || { echo "$0: this machine's apt has no bookworm sources to copy" >&2; exit 1; }

if mounted_under "$root"; then
    echo "$0: something is still mounted under $root: unmount it first" >&2
    exit 1
fi
rm -rf --one-file-system "$root"

if [ -n "$fresh" ] || [ ! -s "$work/base.tar" ] || ! cmp -s "$work/sources.new" "$work/sources"; then
    echo "== fresh-root: bootstrapping a minimal bookworm root" >&2
    rm -f "$work/base.tar"
    mmdebstrap --quiet --mode=root --variant=minbase --format=tar bookworm \
        "$work/base.tar.part" "$work/sources.new" >"$work/mmdebstrap.log" 2>&1 ||
        { tail -n 30 "$work/mmdebstrap.log" >&2; exit 1; }
    mv "$work/base.tar.part" "$work/base.tar"
    mv "$work/sources.new" "$work/sources"
fi
rm -f "$work/sources.new"
mkdir -p "$root"
tar -C "$root" -xpf "$work/base.tar"
boot=$(date +%s)

# The tree as a clone has it (tracked files, and new ones not yet added),
# with no build directory in it.
git ls-files --cached --others --exclude-standard | while read -r f; do
    [ -e "$f" ] && printf '%s\n' "$f"
done | tar -cf - -T - | { mkdir -p "$root/root/hark" && tar -C "$root/root/hark" -xf -; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
# Packages are installed but not started: no service of the root's may run on
# this machine.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"

echo "== fresh-root: sh scripts/demo.sh in it (output in $work/demo.log)" >&2
status=0
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root /bin/sh -c 'cd /root/hark && sh scripts/demo.sh' </dev/null >"$work/demo.log" 2>&1 ||
    status=$?
end=$(date +%s)
if [ "$status" -ne 0 ]; then
    echo "fresh-root: sh scripts/demo.sh failed (exit $status) in a fresh bookworm root; its last lines:" >&2
    tail -n 40 "$work/demo.log" >&2
    exit 1
fi
# The demo got to its end: the answers and the history it shows.
grep -q '^== what hark remembers' "$work/demo.log" && [ -s "$root/root/hark/build/demo/answer-1.wav" ] ||
    { echo "fresh-root: the demo exited 0 but did not get to its end" >&2; tail -n 40 "$work/demo.log" >&2; exit 1; }
echo "fresh-root: the demo ran in a fresh bookworm root (bootstrap $((boot - start)) s, demo $((end - boot)) s)" >&2
[ -n "$tests" ] || exit 0

# The test command's packages, on top of the demo's: its installer, the
# plain build's default target (the tests and their synthesized corpus) and
# the default test suites. Not its sanitizer build, nor the cross build.
echo "== fresh-root: the test packages, the whole plain build and its tests (output in $work/test.log)" >&2
status=0
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root /bin/sh -c 'cd /root/hark && sh scripts/deps.sh test && ninja -C build &&
        meson test -C build --print-errorlogs --num-processes 2' </dev/null >"$work/test.log" 2>&1 ||
    status=$?
tested=$(date +%s)
if [ "$status" -ne 0 ]; then
    echo "fresh-root: the test packages, build or tests failed (exit $status) in a fresh bookworm root:" >&2
    grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|ERROR)' "$work/test.log" >&2 || tail -n 40 "$work/test.log" >&2
    exit 1
fi
echo "fresh-root: the tests passed in it ($((tested - end)) s)" >&2
