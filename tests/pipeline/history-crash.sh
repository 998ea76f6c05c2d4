#!/bin/sh
# Kills an appending history-crash with SIGKILL at a random moment, 200
# times, and checks after each that every record it reported as appended is
# readable, and that a torn tail is reported and removed. Prints how many
# kills left a torn tail: a kill rarely lands inside one write(), so the
# count is often small; test-history tears every byte deterministically.
# usage: history-crash.sh HISTORY-CRASH [CYCLES]
CRASH=$1
CYCLES=${2:-200}
. "$(dirname "$0")/lib.sh"

mkdir -m 700 "$TMP/store"
max=0
torn=0
i=0
while [ "$i" -lt "$CYCLES" ]; do
    i=$((i + 1))
    "$CRASH" "$TMP/store" append >"$TMP/out" 2>"$TMP/err" &
    pid=$!
    # 0 to 39 ms, from /dev/urandom (sh has no $RANDOM).
    ms=$(($(od -An -N1 -tu1 /dev/urandom) % 40))
    sleep "$(printf '0.%03d' "$ms")"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ -s "$TMP/err" ]; then
        fail "cycle $i: the appender failed: $(cat "$TMP/err")"
    fi
    last=$(sed -n 's/^appended //p' "$TMP/out" | tail -n 1)
    if [ -n "$last" ]; then
        max=$last
    fi
    "$CRASH" "$TMP/store" check "$max" >"$TMP/check" 2>"$TMP/err" ||
        fail "cycle $i (up to id $max): $(cat "$TMP/err")"
    # "ok LAST torn BYTES": an append that returned but was not printed is
    # in LAST, so the next check counts from there.
    read -r _ max _ bytes <"$TMP/check"
    [ "$bytes" -eq 0 ] || torn=$((torn + 1))
done
echo "$CYCLES kills, $max records appended, $torn torn tail(s) found and removed"
