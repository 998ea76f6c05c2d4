#!/bin/sh
# A dropped request's words do not stay in hark's memory: after two requests
# that the policy drops (hark-devcloud --misbehave intent-first,second-intent:
# a PIN sentence as the transcript, a sensitive banking.balance intent, an
# answer with an account number), the heap and every other writable mapping
# of the running hark are searched (tests/pipeline/memscan.c, through /proc/PID/mem)
# for their words. The control: the cloud's URL, which hark keeps, is found.
# usage: run-memory.sh HARK DEVCLOUD SAMPLES_DIR MEMSCAN
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
MEMSCAN=$4
. "$(dirname "$0")/cloud-lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: reading another process's memory needs root"; exit 77; }

start_cloud_device 0 --misbehave intent-first,second-intent
mkfifo "$TMP/in"
"$HARK" run --config "$TMP/hark.conf" --input - <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
exec 4>"$TMP/in"
wait_out '"event":"connected"' 1 15
for n in 1 2; do
    sox "$SAMPLES/weather.flac" -t raw -r 16000 -c 1 -b 16 -e signed-integer - >&4
    sox -D -n -t raw -r 16000 -c 1 -b 16 -e signed-integer - trim 0 2 >&4
    wait_out '"event":"response_end"' $n 60
done
wait_out '"state":"idle"' 3 30
# The link keeps working (pings) while the scan looks.
sleep 1
grep '"event":"policy"' "$TMP/out" | grep -c '"action":"drop"' | grep -q 2 ||
    fail "the two requests were not dropped: $(cat "$TMP/out")"
url="wss://127.0.0.1:$DEVCLOUD_PORT/v1/assist"
status=0
"$MEMSCAN" "$HARK_PID" "$url" >"$TMP/control" || status=$?
[ "$status" -ne 77 ] || { echo "SKIP: $(cat "$TMP/control")"; exit 77; }
[ "$status" -eq 1 ] || fail "the scan does not find the URL hark keeps (status $status)"
status=0
"$MEMSCAN" "$HARK_PID" "pin for my card" "holds twelve pounds" "banking.balance" \
    "account four nine two seven" >"$TMP/scan" || status=$?
cat "$TMP/scan"
[ "$status" -eq 0 ] || fail "a dropped request's words are in hark's memory: $(head -5 "$TMP/scan")"
exec 4>&-
wait "$HARK_PID" || true
HARK_PID=""
echo "ok"
