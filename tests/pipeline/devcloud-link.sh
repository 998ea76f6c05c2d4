#!/bin/sh
# hark's link (src/link/link.c) against hark-devcloud on loopback, with a device
# certificate made by openssl and registered while the server runs; see
# test-devcloud-link.c for what is checked. Also: the server's counters.
# usage: devcloud-link.sh DEVCLOUD TEST-DEVCLOUD-LINK
DEVCLOUD=$1
PROG=$2
. "$(dirname "$0")/cloud-lib.sh"

spoken_request "$TMP/request.wav"
start_devcloud

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=device \
    -keyout "$TMP/dev.key" -out "$TMP/dev.crt" 2>/dev/null
fp="sha256/$(openssl x509 -in "$TMP/dev.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)"
"$DEVCLOUD" register --state "$TMP/cloud" "$fp" >/dev/null || fail "register failed"

"$PROG" "wss://127.0.0.1:$DEVCLOUD_PORT/v1/assist" "$DEVCLOUD_PIN" "$TMP/dev.crt" "$TMP/dev.key" \
    "$TMP/request.wav" || { cat "$TMP/cloud.err"; fail "the link test failed"; }

kill -TERM "$DEVCLOUD_PID"
wait "$DEVCLOUD_PID" || fail "hark-devcloud exited non-zero: $(cat "$TMP/cloud.err")"
DEVCLOUD_PID=""
cat "$TMP/cloud.err"
cat "$TMP/cloud.stats"
# 20 frames of the cancelled request, the whole request, 1501 of the one
# that was too long (which counts as no utterance).
frames=$(( $(soxi -s "$TMP/request.wav") / 320 + 20 + 1501 ))
want="\"connections\":1,\"refused\":0,\"utterances\":1,\"audio_frames\":$frames,"
grep -q "$want" "$TMP/cloud.stats" ||
    fail "stats: $(cat "$TMP/cloud.stats"), expected $frames frames"
echo "ok"
