#!/bin/sh
# Bad input through the command line: each refused with a message that names
# the file (and line), a non-zero exit, and nothing on stdout.
# usage: cli-errors.sh HARK
HARK=$1
. "$(dirname "$0")/lib.sh"

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

# -h and --help are the same everywhere: exit 0, the command's own usage on
# stdout. Each synopsis of a command main.c owns is a heading of doc/cli.md.
DOC=$(dirname "$0")/../../doc/cli.md
for cmd in listen run provision verify-update history ctl tune pin check-config devices version; do
    for h in -h --help; do
        "$HARK" "$cmd" "$h" >"$TMP/out" 2>"$TMP/err" || fail "hark $cmd $h: exit $?: $(cat "$TMP/err")"
        grep -q "^usage: hark $cmd" "$TMP/out" || fail "hark $cmd $h: not its own usage: $(head -1 "$TMP/out")"
    done
    [ "$cmd" = tune ] && continue
    sed -n 's/^\(usage:\|      \) hark \(.*\)$/\2/p' "$TMP/out" >"$TMP/synopses"
    [ -s "$TMP/synopses" ] || fail "hark $cmd --help: no synopsis"
    while read -r syn; do
        grep -qF "## \`hark $syn\`" "$DOC" || fail "doc/cli.md has no heading for 'hark $syn'"
    done <"$TMP/synopses"
done
expect_error 2 "unexpected argument 'extra'" -- "$HARK" version extra

# history's own commands, from main.c's table: each is a row of its table in
# doc/cli.md, and `hark --help` names it.
"$HARK" history --help >"$TMP/out" || fail "hark history --help: exit $?"
"$HARK" --help >"$TMP/all" || fail "hark --help: exit $?"
names=$(sed -n 's/^  history \[--config F\] \([a-z|]*\) \.\.\.$/\1/p' "$TMP/all")
[ -n "$names" ] || fail "hark --help does not name history's commands"
sed -n 's/^  \([a-z].*[^ ]\)  \+[a-z].*$/\1/p' "$TMP/out" >"$TMP/subs"
[ "$(wc -l <"$TMP/subs")" -ge 8 ] || fail "hark history --help lists $(wc -l <"$TMP/subs") commands"
while read -r sub; do
    grep -qF "| \`$sub\` |" "$DOC" || fail "doc/cli.md has no row for 'hark history $sub'"
    case "|$names|" in *"|${sub%% *}|"*) ;; *) fail "hark --help does not name 'history ${sub%% *}'" ;; esac
done <"$TMP/subs"

# A file too big to be an update bundle: one message, not two.
head -c 5000 /dev/zero >"$TMP/big.bundle"
expect_error 1 "big.bundle: refused: more than 3072 bytes" -- "$HARK" verify-update "$TMP/big.bundle"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "verify-update of a big file: $(cat "$TMP/err")"

# The device identity: its fingerprint shown again (never the key); every
# refusal names the way out, half an identity included.
pin=sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
cat >"$TMP/id.conf" <<CONF
[cloud]
url = wss://127.0.0.1:9/v1/assist
pins = $pin, $pin
[storage]
dir = $TMP/device
[control]
socket = $TMP/id-run/control
CONF
fp=$("$HARK" provision --config "$TMP/id.conf" 2>"$TMP/err") || fail "provision: $(cat "$TMP/err")"
"$HARK" provision --config "$TMP/id.conf" --show >"$TMP/out" 2>"$TMP/err" || fail "provision --show: $(cat "$TMP/err")"
[ "$(cat "$TMP/out")" = "$fp" ] || fail "provision --show printed '$(cat "$TMP/out")', not $fp"
expect_error 2 "neither --force" -- "$HARK" provision --config "$TMP/id.conf" --show --force
expect_error 1 "provision --show.*--force" -- "$HARK" provision --config "$TMP/id.conf"
# Two copies of one pin are no backup pin. (The run stops at its input.)
expect_error 1 "missing.wav" -- "$HARK" run --config "$TMP/id.conf" --input "$TMP/missing.wav" --output "$TMP/a.wav"
grep -q "only one server pin" "$TMP/err" || fail "two identical pins passed for a backup: $(cat "$TMP/err")"
rm "$TMP/device/device.crt"
expect_error 1 "provision --force" -- "$HARK" run --config "$TMP/id.conf" --input "$TMP/quiet.wav" --output "$TMP/a.wav"
expect_error 1 "no device.crt.*--force" -- "$HARK" provision --config "$TMP/id.conf"
"$HARK" provision --config "$TMP/id.conf" --show >"$TMP/out" 2>"$TMP/err" || fail "provision --show without the certificate: $(cat "$TMP/err")"
[ "$(cat "$TMP/out")" = "$fp" ] || fail "provision --show from the key alone printed '$(cat "$TMP/out")'"
new=$("$HARK" provision --config "$TMP/id.conf" --force 2>"$TMP/err") || fail "provision --force: $(cat "$TMP/err")"
[ "$new" != "$fp" ] || fail "provision --force kept the fingerprint"
rm -r "$TMP/device"
expect_error 1 "no device identity.*run .hark provision." -- "$HARK" provision --config "$TMP/id.conf" --show
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

# What hark run would refuse, check-config finds, at the line that set it.
pin=sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
check_line() { # CONF_BODY PATTERN: check-config of $TMP/c.conf fails with PATTERN
    printf '%b' "$1" >"$TMP/c.conf"
    expect_error 1 "$2" -- "$HARK" check-config "$TMP/c.conf"
}
check_line '[cloud]\nurl = wss://127.0.0.1:99999/v1/assist\n' "c.conf:2: .*bad port (1-65535)"
check_line '[cloud]\n\nurl = wss://127.0.0.1:0\n' "c.conf:3: .*bad port (1-65535)"
check_line '[audio]\ninput = mic@abc\n' "c.conf:2: .*not a microphone spec"
check_line '[audio]\ninput = mic@500\n' "c.conf:2: .*capture rate 500 Hz"
check_line "[wakeword]\nmodel_dir = $TMP/nomodel\nmodel =\n" "c.conf:2: \\[wakeword\\] model_dir '$TMP/nomodel': No such file"
check_line "[wakeword]\nphrases = hey zzyzxq\n" "c.conf:2: \\[wakeword\\] phrases cannot be spotted: wake word 'zzyzxq'"
check_line "[cloud]\nca_file = $TMP/none.pem\n" "c.conf:2: \\[cloud\\] ca_file '$TMP/none.pem': No such file"
head -c 600 /dev/urandom | base64 >"$TMP/garbage.pem"
check_line "[cloud]\nca_file = $TMP/garbage.pem\n" "c.conf:2: .*ca_file .* holds no PEM certificate"
check_line "[privacy]\npassphrase_file = $TMP/nopass\n" "c.conf:2: \\[privacy\\] passphrase_file '$TMP/nopass': No such file"
long=$TMP/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/control
check_line "[control]\nsocket = $long\n" "c.conf:2: \\[control\\] socket .* is too long for a socket"
# A real CA file passes.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ca \
    -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
printf '[cloud]\nca_file = %s\n' "$TMP/ca.pem" >"$TMP/c.conf"
"$HARK" check-config "$TMP/c.conf" 2>"$TMP/err" || fail "a PEM ca_file refused: $(cat "$TMP/err")"

# hark run checks all of it before it creates any file: with a device
# identity in place, a bad passphrase_file or ca_file leaves the storage
# directory as it was and writes no --output.
run_conf() { # CLOUD_LINE LAST_LINES: a config for hark run, with one line in [cloud] and more at the end
    printf '[cloud]\nurl = wss://127.0.0.1:9/v1/assist\npins = %s\n%s\n' "$pin" "$1"
    printf '[storage]\ndir = %s/device\n[control]\nsocket = %s/run/control\n%b\n' "$TMP" "$TMP" "$2"
}
run_conf "" "" >"$TMP/run.conf"
"$HARK" provision --config "$TMP/run.conf" >/dev/null 2>"$TMP/err" || fail "provision: $(cat "$TMP/err")"
ls -A "$TMP/device" >"$TMP/before"
refuses_early() { # PATTERN: hark run with $TMP/bad.conf refuses with it and creates nothing
    expect_error 1 "$1" -- timeout 20 "$HARK" run --config "$TMP/bad.conf" --input "$TMP/quiet.wav" --output "$TMP/answer.wav"
    ls -A "$TMP/device" | cmp -s - "$TMP/before" || fail "hark run created $(ls -A "$TMP/device" | tr '\n' ' ')before refusing: $1"
    [ ! -e "$TMP/answer.wav" ] || fail "hark run wrote --output before refusing: $1"
    [ ! -e "$TMP/run" ] || fail "hark run made the control socket's directory before refusing: $1"
}
run_conf "" "[privacy]\npassphrase_file = $TMP/nopass" >"$TMP/bad.conf"
refuses_early "bad.conf:10: \\[privacy\\] passphrase_file"
run_conf "ca_file = $TMP/garbage.pem" "" >"$TMP/bad.conf"
refuses_early "bad.conf:4: \\[cloud\\] ca_file .* holds no PEM certificate"
run_conf "" "[wakeword]\nmodel_dir = $TMP/nomodel\nmodel =" >"$TMP/bad.conf"
refuses_early "bad.conf:10: \\[wakeword\\] model_dir"

# A good config passes and dumps every key.
printf '[wakeword]\nphrases = hey computer/1e-25\n' >"$TMP/good.conf"
"$HARK" check-config --dump "$TMP/good.conf" >"$TMP/dump" 2>"$TMP/err" || fail "good config refused: $(cat "$TMP/err")"
grep -q "^preroll = 500ms" "$TMP/dump" || fail "dump lacks keys"
echo "ok"
