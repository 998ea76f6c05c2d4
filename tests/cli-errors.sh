#!/bin/sh
# Bad input through the command line: each refused with a message that names
# the file (and line), a non-zero exit, and nothing on stdout.
# usage: cli-errors.sh HARK
HARK=$1
. "$(dirname "$0")/lib.sh"

# expect_error EXIT PATTERN -- COMMAND...: exits EXIT, stderr matches PATTERN.
expect_error() {
    want=$1; pattern=$2; shift 3
    set +e
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "$*: exit $got, expected $want; stderr: $(cat "$TMP/err")"
    grep -q -- "$pattern" "$TMP/err" || fail "$*: stderr lacks '$pattern': $(cat "$TMP/err")"
    [ ! -s "$TMP/out" ] || fail "$*: wrote to stdout: $(cat "$TMP/out")"
}

printf '[audio]\npreroll = 500ms\n[endpoint]\nsilense = 700ms\n' >"$TMP/typo.conf"
expect_error 1 "typo.conf:4:" -- "$HARK" check-config "$TMP/typo.conf"
expect_error 1 "typo.conf:4:" -- "$HARK" listen --config "$TMP/typo.conf" --input "$TMP/none.wav"

printf '[wakeword]\nphrases = hey zzyzxq\n' >"$TMP/word.conf"
expect_error 1 "zzyzxq" -- "$HARK" check-config "$TMP/word.conf"
silence 1 "$TMP/quiet.wav"
expect_error 1 "zzyzxq" -- "$HARK" listen --config "$TMP/word.conf" --input "$TMP/quiet.wav"

expect_error 1 "missing.conf" -- "$HARK" check-config "$TMP/missing.conf"
expect_error 1 "missing.wav" -- "$HARK" listen --input "$TMP/missing.wav"
head -c 3000 /dev/urandom >"$TMP/noise.wav"
expect_error 1 "noise.wav" -- "$HARK" listen --input "$TMP/noise.wav"
: >"$TMP/empty.flac"
expect_error 1 "empty.flac" -- "$HARK" listen --input "$TMP/empty.flac"
expect_error 2 "unknown command" -- "$HARK" lisen
expect_error 2 "unexpected argument" -- "$HARK" listen extra

# A good config passes and dumps every key.
printf '[wakeword]\nphrases = hey computer/1e-25\n' >"$TMP/good.conf"
"$HARK" check-config --dump "$TMP/good.conf" >"$TMP/dump" 2>"$TMP/err" || fail "good config refused: $(cat "$TMP/err")"
grep -q "^preroll = 500ms" "$TMP/dump" || fail "dump lacks keys"
echo "ok"
