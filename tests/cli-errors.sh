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

# A config others may write could name any server and run any command: it is
# refused before anything in it is used, the hook included.
printf '[hooks]\non_idle = /bin/touch %s\n' "$TMP/hook-ran" >"$TMP/open.conf"
chmod 0666 "$TMP/open.conf"
expect_error 1 "open.conf: writable by others (mode 666)" -- "$HARK" check-config "$TMP/open.conf"
expect_error 1 "open.conf: writable by others" -- "$HARK" run --config "$TMP/open.conf" --input "$TMP/quiet.wav"
[ ! -e "$TMP/hook-ran" ] || fail "the hook of a world-writable config ran"
chmod 0620 "$TMP/open.conf"
expect_error 1 "open.conf: writable by others (mode 620)" -- "$HARK" check-config "$TMP/open.conf"

# A FIFO as the config is refused at once, not read until a writer comes.
mkfifo "$TMP/fifo.conf"
expect_error 1 "fifo.conf: not a regular file (a FIFO)" -- timeout 10 "$HARK" check-config "$TMP/fifo.conf"

# A good config passes and dumps every key.
printf '[wakeword]\nphrases = hey computer/1e-25\n' >"$TMP/good.conf"
"$HARK" check-config --dump "$TMP/good.conf" >"$TMP/dump" 2>"$TMP/err" || fail "good config refused: $(cat "$TMP/err")"
grep -q "^preroll = 500ms" "$TMP/dump" || fail "dump lacks keys"
echo "ok"
