#!/bin/sh
# hark's link (src/link/link.c) against hark-devcloud on loopback, with a device
# certificate made by openssl and registered while the server runs; see
# test-devcloud-link.c for what is checked. Also: the server's counters.
# usage: devcloud-link.sh DEVCLOUD TEST-DEVCLOUD-LINK
DEVCLOUD=$1
PROG=$2
. "$(dirname "$0")/lib.sh"

PID=""
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

spoken_request "$TMP/request.wav"

"$DEVCLOUD" --state "$TMP/state" --port 0 --port-file "$TMP/port" --stats "$TMP/stats.json" \
    >"$TMP/out" 2>"$TMP/err" &
PID=$!
i=0
while [ ! -s "$TMP/port" ]; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || fail "hark-devcloud did not start: $(cat "$TMP/err")"
    kill -0 "$PID" 2>/dev/null || fail "hark-devcloud exited: $(cat "$TMP/err")"
    sleep 0.1
done
pin=$(sed -n 's/^pin //p' "$TMP/out")

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=device \
    -keyout "$TMP/dev.key" -out "$TMP/dev.crt" 2>/dev/null
fp="sha256/$(openssl x509 -in "$TMP/dev.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)"
"$DEVCLOUD" register --state "$TMP/state" "$fp" >/dev/null || fail "register failed"

"$PROG" "wss://127.0.0.1:$(cat "$TMP/port")/v1/assist" "$pin" "$TMP/dev.crt" "$TMP/dev.key" \
    "$TMP/request.wav" || { cat "$TMP/err"; fail "the link test failed"; }

kill -TERM "$PID"
wait "$PID" || fail "hark-devcloud exited non-zero: $(cat "$TMP/err")"
PID=""
cat "$TMP/err"
cat "$TMP/stats.json"
# 20 frames of the cancelled request, the whole request, 1501 of the one
# that was too long (which counts as no utterance).
frames=$(( $(soxi -s "$TMP/request.wav") / 320 + 20 + 1501 ))
want="\"connections\":1,\"refused\":0,\"utterances\":1,\"audio_frames\":$frames,"
grep -q "$want" "$TMP/stats.json" ||
    fail "stats: $(cat "$TMP/stats.json"), expected $frames frames"
echo "ok"
