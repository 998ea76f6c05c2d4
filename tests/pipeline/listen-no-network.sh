#!/bin/sh
# `hark listen` never opens a network socket: traced with strace (no socket
# of any internet or netlink family is created, nothing is connected), and
# run in a network namespace with no interfaces at all.
# usage: listen-no-network.sh HARK
HARK=$1
. "$(dirname "$0")/lib.sh"

say slt "hello. hey computer, what is the weather like today?" "$TMP/req.wav"
silence 2 "$TMP/s.wav"
sox "$TMP/req.wav" "$TMP/s.wav" "$TMP/in.wav"

# LeakSanitizer cannot work under ptrace; the untraced run below still checks.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -e trace=socket,socketpair,connect,bind,sendto,sendmsg -o "$TMP/trace" \
    "$HARK" -v listen --input "$TMP/in.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen under strace: $(cat "$TMP/err")"
grep -q '"event":"wake"' "$TMP/out" || fail "no wake under strace: the trace would prove nothing"
if grep -E 'AF_INET|AF_INET6|AF_NETLINK|AF_PACKET|connect\(|sendto\(|bind\(' "$TMP/trace"; then
    fail "network system calls above"
fi

if unshare -n true 2>/dev/null; then
    unshare -n "$HARK" listen --input "$TMP/in.wav" >"$TMP/out2" 2>"$TMP/err" || fail "listen in an empty network namespace: $(cat "$TMP/err")"
    cmp -s "$TMP/out" "$TMP/out2" || fail "events differ without a network"
else
    echo "unshare -n is not permitted here; the strace check stands alone" >&2
fi
echo "ok"
