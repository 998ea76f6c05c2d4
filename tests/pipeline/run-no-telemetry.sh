#!/bin/sh
# hark sends nothing but the requests: a whole `hark run` (connect, a weather
# request streamed and answered, the history written, the link closed) is
# traced with strace, and the only internet peer it ever talks to is the
# configured cloud. No other connect, no datagram socket (no DNS, no
# metrics, no time service), no sendto or sendmsg to another address; events
# go to stdout and the log to stderr, nowhere else.
# usage: run-no-telemetry.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

command -v strace >/dev/null || fail "strace is missing (scripts/deps.sh installs it)"
start_cloud_device
# LeakSanitizer cannot work under ptrace; the other pipeline tests check leaks.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -e trace=socket,connect,sendto,sendmsg,sendmmsg -o "$TMP/trace" \
    "$HARK" -v run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" --output "$TMP/answer.wav" \
    >"$TMP/out" 2>"$TMP/err" || fail "run under strace: $(cat "$TMP/err")"
stop_devcloud
# The trace must have seen the request, or it proves nothing.
grep -q '"event":"response_end"' "$TMP/out" || fail "no answer under strace: $(cat "$TMP/err")"
[ "$(cloud_stat utterances)" -eq 1 ] || fail "the cloud saw no request"

cloud="sin_port=htons($DEVCLOUD_PORT), sin_addr=inet_addr(\"127.0.0.1\")"
grep -q "connect(.*$cloud" "$TMP/trace" || fail "no connect to the cloud in the trace: it proves nothing"
# Every connect to an internet address goes to the cloud.
if grep -E 'connect\(.*AF_INET6?' "$TMP/trace" | grep -vF "$cloud"; then
    fail "connected somewhere other than the cloud (above)"
fi
# No datagram socket of an internet family: no DNS, no metrics, no NTP.
if grep -E 'socket\(AF_INET6?, SOCK_DGRAM' "$TMP/trace"; then
    fail "a datagram socket was opened (above)"
fi
# Nothing sent with an explicit internet address (sendto on the connected
# TLS socket carries none).
if grep -E 'send(to|msg|mmsg)\(.*sin6?_addr' "$TMP/trace" | grep -vF "$cloud"; then
    fail "sent to an address other than the cloud (above)"
fi
n=$(grep -c 'connect(' "$TMP/trace" || true)
echo "trace: $n connect calls, all inet ones to 127.0.0.1:$DEVCLOUD_PORT"
echo "ok"
