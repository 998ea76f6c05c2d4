#!/bin/sh
# hark-devcloud as a server, spoken to with openssl s_client and hand-made
# websocket frames (independent of hark's own link): its key and pin, TLS
# refusals (no client certificate, TLS 1.1), the registry's 4003 close, the
# protocol (hello first, ping, a malformed message, 1009 for a message too big,
# a request with audio frames answered with speech), and the stats written on
# SIGTERM.
# usage: devcloud-smoke.sh DEVCLOUD
DEVCLOUD=$1
# Started here, not by start_devcloud: this test checks the server's defaults
# (no --listen); cloud-lib.sh stops it ($DEVCLOUD_PID) on exit.
. "$(dirname "$0")/cloud-lib.sh"

# spki_pin CERT: the RFC 7469 pin of a certificate, by the openssl command line.
spki_pin() {
    echo "sha256/$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)"
}

# frame OPCODE PAYLOAD_FILE: a client websocket frame (masked, with a zero
# mask, so the payload goes as it is).
frame() {
    len=$(wc -c <"$2")
    printf "\\$(printf '%03o' "$1")"
    if [ "$len" -lt 126 ]; then
        printf "\\$(printf '%03o' $((128 + len)))"
    else
        printf '\376'"\\$(printf '%03o' $((len / 256)))\\$(printf '%03o' $((len % 256)))"
    fi
    printf '\0\0\0\0'
    cat "$2"
}
text() {
    printf '%s' "$1" >"$TMP/payload"
    frame 129 "$TMP/payload"
}
# binary: an uplink frame from octal escapes.
binary() {
    printf "$1" >"$TMP/payload"
    frame 130 "$TMP/payload"
}
close_frame() {
    printf '\003\350' >"$TMP/payload"
    frame 136 "$TMP/payload"
}
upgrade() {
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n' "$1"
    printf 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
    printf 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
    printf 'Sec-WebSocket-Protocol: hark.v1\r\n\r\n'
}
# hex FILE: the bytes of a file as one line of hex pairs.
hex() {
    od -An -tx1 -v "$1" | tr -d '\n'
}
# client OUT [s_client options]: a TLS client with the device certificate;
# its input is this function's stdin.
client() {
    out=$1
    shift
    timeout 30 openssl s_client -connect "127.0.0.1:$PORT" -quiet -cert "$TMP/dev.crt" \
        -key "$TMP/dev.key" "$@" >"$out" 2>"$out.err" || true
}

# ---- start: a new key and certificate, the pin, the port ----
"$DEVCLOUD" --state "$TMP/state" --port 0 --port-file "$TMP/port" --stats "$TMP/stats.json" \
    >"$TMP/out" 2>"$TMP/err" &
DEVCLOUD_PID=$!
i=0
while [ ! -s "$TMP/port" ]; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || fail "no port file: $(cat "$TMP/err")"
    kill -0 "$DEVCLOUD_PID" 2>/dev/null || fail "hark-devcloud exited: $(cat "$TMP/err")"
    sleep 0.1
done
PORT=$(cat "$TMP/port")
cat "$TMP/out"
[ -f "$TMP/state/server.crt" ] || fail "no certificate in the state directory"
[ "$(stat -c %a "$TMP/state/server.key")" = 600 ] || fail "the key is not 0600"
[ "$(stat -c %a "$TMP/state")" = 700 ] || fail "the state directory is not 0700"
grep -q "^listening 127.0.0.1:$PORT\$" "$TMP/out" || fail "no 'listening 127.0.0.1:$PORT' line"
pin=$(sed -n 's/^pin //p' "$TMP/out")
[ "$pin" = "$(spki_pin "$TMP/state/server.crt")" ] ||
    fail "printed pin $pin is not the certificate's"
openssl x509 -in "$TMP/state/server.crt" -noout -ext subjectAltName >"$TMP/san"
grep -q "IP Address:127.0.0.1" "$TMP/san" && grep -q "DNS:localhost" "$TMP/san" ||
    fail "SAN is not 127.0.0.1 and localhost: $(cat "$TMP/san")"
openssl x509 -in "$TMP/state/server.crt" -noout -text | grep -q "prime256v1" ||
    fail "the key is not EC P-256"
if command -v ss >/dev/null; then
    ss -ltn | grep -q "127.0.0.1:$PORT " || fail "not listening on 127.0.0.1:$PORT"
    [ "$(ss -ltn | grep -c ":$PORT ")" -eq 1 ] || fail "listening on more than 127.0.0.1"
fi

# ---- TLS refusals ----
# No client certificate: the handshake is refused (TLS 1.3 and 1.2).
upgrade /v1/assist | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -quiet \
    >"$TMP/nocert" 2>"$TMP/nocert.err" || true
grep -q "certificate required" "$TMP/nocert.err" ||
    fail "TLS 1.3 without a client certificate: $(cat "$TMP/nocert.err")"
[ ! -s "$TMP/nocert" ] || fail "a client without a certificate got an answer"
upgrade /v1/assist | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -quiet -tls1_2 \
    >"$TMP/nocert" 2>"$TMP/nocert.err" || true
grep -q "handshake failure\|certificate required" "$TMP/nocert.err" ||
    fail "TLS 1.2 without a client certificate: $(cat "$TMP/nocert.err")"
[ ! -s "$TMP/nocert" ] || fail "a TLS 1.2 client without a certificate got an answer"

# A device certificate, self-signed, as hark provision makes them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=device \
    -keyout "$TMP/dev.key" -out "$TMP/dev.crt" 2>/dev/null
fp=$(spki_pin "$TMP/dev.crt")

# TLS 1.1, even with a certificate: refused.
upgrade /v1/assist | client "$TMP/tls11" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
grep -qi "protocol version\|unsupported protocol\|no protocols available" "$TMP/tls11.err" ||
    fail "TLS 1.1 was not refused: $(cat "$TMP/tls11.err")"
[ ! -s "$TMP/tls11" ] || fail "a TLS 1.1 client got an answer"

# ---- an unregistered device: closed with 4003 and its fingerprint ----
{ upgrade /v1/assist; sleep 1; close_frame; sleep 0.5; } | client "$TMP/unreg"
grep -aq "101 Switching Protocols" "$TMP/unreg" ||
    fail "no websocket upgrade: $(cat "$TMP/unreg.err")"
grep -aq "device not registered: $fp" "$TMP/unreg" || fail "no 4003 close naming $fp"
# The close frame: 0x88, length, then 4003 (0x0fa3) big-endian.
hex "$TMP/unreg" | grep -q "88 [0-9a-f][0-9a-f] 0f a3" || fail "the close code is not 4003"
grep -q "refused device $fp from 127.0.0.1:[0-9]* (not in registry $TMP/state/registry)" \
    "$TMP/err" ||
    fail "the refusal was not logged: $(cat "$TMP/err")"

# ---- register it while the server runs (no restart), with a bad line ----
"$DEVCLOUD" register --state "$TMP/state" "sha256/bogus" 2>"$TMP/reg.err" &&
    fail "register accepted a bad fingerprint"
grep -q "not a fingerprint" "$TMP/reg.err" || fail "register: $(cat "$TMP/reg.err")"
"$DEVCLOUD" register --state "$TMP/state" "$fp" >"$TMP/reg.out" || fail "register failed"
echo "garbage line" >>"$TMP/state/registry"

# ---- the protocol ----
# hello, ping, a malformed message (answered with an error, the link kept),
# a request with two audio frames (TOC-only Opus packets) answered in full.
start='{"type":"start","id":1,"phrase":"hey computer","score":0.9,"preroll_ms":500,'
start=$start'"codec":"opus","rate":16000,"channels":1,"frame_ms":20}'
{
    upgrade /v1/assist
    sleep 0.5
    text '{"type":"hello","protocol":1,"client":"smoke/1"}'
    text '{"type":"ping","seq":7}'
    text 'this is not JSON'
    text '{"type":"ping","seq":8}'
    text "$start"
    binary '\001\000\000\000\001\000\000\000\000\370'
    binary '\001\000\000\000\001\000\000\000\001\370'
    text '{"type":"end","id":1,"reason":"silence","frames":2}'
    sleep 3
    close_frame
    sleep 0.5
} | client "$TMP/session"
types=$(grep -ao '"type":"[a-z_]*"' "$TMP/session" | sed 's/"type":"\(.*\)"/\1/' | tr '\n' ' ')
echo "server messages: $types"
[ "$types" = "ready pong error pong transcript intent response response_end " ] ||
    fail "unexpected message sequence: $types"
grep -aq '"type":"pong","seq":7' "$TMP/session" || fail "no pong for 7"
grep -aq '"code":"bad_message"' "$TMP/session" || fail "no bad_message error"
grep -aq '"name":"unknown"' "$TMP/session" || fail "silence was not the unknown intent"
# Downlink frames: binary opcode 0x82, kind 2, request 1, seq from 0.
frames=$(grep -ao '"type":"response_end","id":1,"frames":[0-9]*' "$TMP/session" | sed 's/.*://')
[ "${frames:-0}" -gt 25 ] || fail "too few downlink frames: $frames"
hex "$TMP/session" | grep -q "82 [0-9a-f][0-9a-f] 02 00 00 00 01 00 00 00 00" ||
    fail "no downlink frame 0 for request 1"

# Messages before hello: closed with 4001.
{
    upgrade /v1/assist
    sleep 0.3
    text '{"type":"ping","seq":1}'
    sleep 1
    close_frame
    sleep 0.5
} | client "$TMP/nohello"
hex "$TMP/nohello" | grep -q "88 [0-9a-f][0-9a-f] 0f a1" || fail "no 4001 close"

# A text message over 16384 bytes: closed with 1009.
head -c 17000 /dev/zero | tr '\0' 'a' >"$TMP/big"
{
    upgrade /v1/assist
    sleep 0.3
    text '{"type":"hello","protocol":1,"client":"smoke/1"}'
    frame 129 "$TMP/big"
    sleep 1
    close_frame
    sleep 0.5
} | client "$TMP/toobig"
hex "$TMP/toobig" | grep -q "88 [0-9a-f][0-9a-f] 03 f1" || fail "no 1009 close for a big message"

# Another path: no websocket.
{ upgrade /elsewhere; sleep 1; } | client "$TMP/path"
! grep -aq "101 Switching" "$TMP/path" || fail "upgraded a path other than /v1/assist"

# What was said and answered is never logged at the default level.
grep -q "registry:2: not a fingerprint" "$TMP/err" || fail "the registry's bad line was not logged"
! grep -qi "did not understand\|transcript \"" "$TMP/err" ||
    fail "a response or transcript was logged"

# ---- stop: stats ----
kill -TERM "$DEVCLOUD_PID"
wait "$DEVCLOUD_PID" || fail "hark-devcloud exited non-zero on SIGTERM: $(cat "$TMP/err")"
DEVCLOUD_PID=""
cat "$TMP/err" >&2
cat "$TMP/stats.json"
want='{"connections":3,"refused":1,"utterances":1,"audio_frames":2,"audio_bytes":2}'
[ "$(cat "$TMP/stats.json")" = "$want" ] ||
    fail "stats: $(cat "$TMP/stats.json")"

# A second start keeps the key and the pin.
"$DEVCLOUD" --state "$TMP/state" --port 0 --port-file "$TMP/port2" >"$TMP/out2" 2>"$TMP/err2" &
DEVCLOUD_PID=$!
i=0
while [ ! -s "$TMP/port2" ]; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || fail "second start: $(cat "$TMP/err2")"
    sleep 0.1
done
[ "$(sed -n 's/^pin //p' "$TMP/out2")" = "$pin" ] || fail "the pin changed across restarts"
kill -TERM "$DEVCLOUD_PID"
wait "$DEVCLOUD_PID" || fail "second run exited non-zero"
DEVCLOUD_PID=""
echo "ok"
