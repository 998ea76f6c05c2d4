#!/bin/sh
# scripts/demo.sh --mic when the microphone is not there: it must fail with
# the reason, not exit 0. The demo runs in a copy of the tree's layout under
# $TMP, with this build's hark and hark-devcloud, meson and ninja stubbed
# (the build is the test's own). Its laptop.conf names a microphone no
# machine has, so the test does not depend on this machine's devices (an
# empty ALSA configuration would do it too, but makes PortAudio 19.6 abort).
# usage: demo-mic.sh HARK DEVCLOUD SOURCE_ROOT
HARK=$1
DEVCLOUD=$2
SRC=$3
. "$(dirname "$0")/lib.sh"

repo="$TMP/repo"
mkdir -p "$repo/scripts" "$repo/samples" "$repo/build/src" "$repo/build/samples/devcloud" "$TMP/bin" \
    "$TMP/home"
cp "$SRC/scripts/demo.sh" "$SRC/scripts/deps.sh" "$repo/scripts/"
sed 's/^input = mic$/input = mic:no-such-microphone/' "$SRC/samples/laptop.conf" >"$repo/samples/laptop.conf"
grep -q "^input = mic:no-such-microphone$" "$repo/samples/laptop.conf" || fail "laptop.conf has no input = mic"
ln -s "$(readlink -f "$HARK")" "$repo/build/src/hark"
ln -s "$(readlink -f "$DEVCLOUD")" "$repo/build/samples/devcloud/hark-devcloud"
printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/meson"
cp "$TMP/bin/meson" "$TMP/bin/ninja"
chmod +x "$TMP/bin/meson" "$TMP/bin/ninja"

rc=0
PATH="$TMP/bin:$PATH" HOME="$TMP/home" timeout 60 sh "$repo/scripts/demo.sh" --mic \
    >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
cat "$TMP/out" "$TMP/err"
[ "$rc" -ne 124 ] || fail "demo.sh --mic did not end within 60 s"
[ "$rc" -ne 0 ] || fail "demo.sh --mic exited 0 without a microphone"
grep -q 'no input device matches "no-such-microphone"' "$TMP/err" || fail "hark's reason is not shown"
grep -q "demo --mic: hark run failed (exit $rc)" "$TMP/err" || fail "the demo does not say it failed"
echo "demo-mic: ok (exit $rc)"
