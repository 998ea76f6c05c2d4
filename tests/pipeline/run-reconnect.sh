#!/bin/sh
# The link heals: hark run on stdin against hark-devcloud; after one answered
# request the cloud freezes (SIGSTOP) and hark must notice the dead link
# within 10 s; the cloud is killed, and a request spoken now is dropped with
# an event; the cloud is restarted on the same port, hark reconnects by
# itself, and the next request is answered.
# usage: run-reconnect.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

raw() {
    sox "$1" -t raw -r 16000 -c 1 -b 16 -e signed-integer - 2>/dev/null
    sox -D -n -t raw -r 16000 -c 1 -b 16 -e signed-integer - trim 0 2 2>/dev/null
}

start_devcloud
port=$DEVCLOUD_PORT
provision_device
mkfifo "$TMP/in"
"$HARK" -v run --config "$TMP/hark.conf" --input - --output "$TMP/a.wav" \
    <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
exec 4>"$TMP/in"
wait_out '"event":"connected"' 1 15
raw "$SAMPLES/weather.flac" >&4
wait_out '"event":"response_end"' 1 30

# A frozen server: no pongs. hark must say the link is dead within 10 s.
kill -STOP "$DEVCLOUD_PID"
frozen=$(date +%s.%N)
wait_out '"event":"disconnected"' 1 12
noticed=$(awk -v a="$frozen" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "dead link noticed after $noticed s"
ge 10 "$noticed" || fail "the dead link was noticed only after $noticed s"
kill -KILL "$DEVCLOUD_PID"
wait "$DEVCLOUD_PID" 2>/dev/null || true
DEVCLOUD_PID=""

# A wake while the link is down: the request is dropped with an event, its
# audio is not kept for later.
raw "$SAMPLES/banking.flac" >&4
wait_out '"code":"link_down"' 1 30

# The cloud comes back on the same port with the same key and registry.
start_devcloud "$port"
wait_out '"event":"connected"' 2 30
raw "$SAMPLES/timer.flac" >&4
wait_out '"event":"response_end"' 2 30
grep '"event":"intent"' "$TMP/out" | tail -1 | grep -q '"name":"timer"' ||
    fail "the request after the reconnect was not understood: $(cat "$TMP/out")"
exec 4>&-
rc=0
wait "$HARK_PID" || rc=$?
# The request spoken while the link was down failed: exit 3.
[ "$rc" -eq 3 ] || fail "hark run exited $rc, not 3: $(cat "$TMP/err")"
stop_devcloud
# Only the timer request reached the restarted cloud: nothing of the dropped one.
[ "$(cloud_stat utterances)" -eq 1 ] || fail "the restarted cloud got $(cloud_stat utterances) requests"
cat "$TMP/out"
echo "ok"
