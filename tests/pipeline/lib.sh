# Shared helpers for the shell tests: sourced, not run.
# Each test gets its own temporary directory, removed on exit. cloud-lib.sh
# and pulse-lib.sh source it too: it runs once.
[ -z "${HARK_TEST_LIB:-}" ] || return 0
HARK_TEST_LIB=1
set -eu
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hark-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_error EXIT PATTERN -- COMMAND...: COMMAND exits EXIT, says PATTERN
# on stderr and nothing on stdout.
expect_error() {
    want=$1
    pattern=$2
    shift 3
    set +e
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "$*: exit $got, expected $want; stderr: $(cat "$TMP/err")"
    grep -q -- "$pattern" "$TMP/err" || fail "$*: stderr lacks '$pattern': $(cat "$TMP/err")"
    [ ! -s "$TMP/out" ] || fail "$*: wrote to stdout: $(cat "$TMP/out")"
}

# say VOICE TEXT OUT.wav: synthesized speech, 16 kHz mono.
say() {
    flite -voice "$1" -t "$2" -o "$TMP/say.wav"
    sox "$TMP/say.wav" -r 16000 -c 1 -b 16 "$3"
}

# silence SECONDS OUT.wav: digital silence (-D: no random dither, so every
# run hears the same audio).
silence() {
    sox -D -n -r 16000 -c 1 -b 16 "$2" trim 0 "$1"
}

# spoken_request OUT.wav: "hey computer" and "what is the weather like in
# paris" (flite, slt) as the uplink carries them: 0.5 s of quiet (the
# pre-roll), the phrase, 0.3 s, the question, 0.7 s of quiet.
spoken_request() {
    say slt "hey computer" "$TMP/phrase.wav"
    say slt "what is the weather like in paris" "$TMP/question.wav"
    silence 0.5 "$TMP/lead.wav"
    silence 0.3 "$TMP/gap.wav"
    silence 0.7 "$TMP/tail.wav"
    sox -D "$TMP/lead.wav" "$TMP/phrase.wav" "$TMP/gap.wav" "$TMP/question.wav" "$TMP/tail.wav" "$1"
}

# field NAME: the value of a JSON field in the lines on stdin (numbers and
# simple strings, as hark's events print them).
field() {
    sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# approx A B TOLERANCE: |A - B| <= TOLERANCE
approx() {
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

# ge A B: A >= B
ge() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'
}
