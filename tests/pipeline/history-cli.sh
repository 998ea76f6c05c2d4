#!/bin/sh
# `hark history` on histories that tests/pipeline/history-tool.c writes and this
# script damages: text from the cloud with terminal controls is escaped;
# verify changes no byte and exits 1 on any tampering, naming it; a missing
# key file is an error, never "no history"; a lock file others may open is
# refused; a torn tail is removed and reported once.
# usage: history-cli.sh HARK HISTORY-TOOL
HARK=$1
TOOL=$2
. "$(dirname "$0")/lib.sh"

DEV=$TMP/device
DAT=$DEV/history.dat
mkdir -m 700 "$DEV"
printf '[storage]\ndir = %s\n' "$DEV" >"$TMP/hark.conf"
chmod 600 "$TMP/hark.conf"

history() {
    "$HARK" history --config "$TMP/hark.conf" "$@"
}

# put AGE_S TEXT: a record, as hark run writes one; prints its id.
put() {
    "$TOOL" "$DEV" append "$1" "$2" || fail "history-tool failed"
}

# raw FILE: no byte a terminal acts on (ESC, BEL, CSI as C1, CR).
raw() {
    LC_ALL=C grep -q "$(printf '[\033\007\r]')\|$(printf '\302\233')" "$1"
}

# same FILE COPY: the history file was not changed.
same() {
    cmp -s "$1" "$2" || fail "$3: the history file was changed"
}

# --- Cloud text with terminal controls (issue 13, item 10) ---
ESC=$(printf '\033')
BEL=$(printf '\007')
CSI=$(printf '\302\233')
put 60 "{\"v\":1,\"policy\":\"allow\",\"rule\":\"r${ESC}[2J\",\"intent\":\"weather${BEL}\",\"slots\":{\"ci${ESC}ty\":\"par${CSI}31mis\"},\"transcript\":\"red ${ESC}[31mtext\",\"response\":\"bell ${BEL} and ${ESC}]0;title${BEL}\\\\\"}" >"$TMP/id"
id=$(cat "$TMP/id")
history list >"$TMP/list" 2>"$TMP/err" || fail "list: $(cat "$TMP/err")"
! raw "$TMP/list" || fail "list printed terminal controls: $(od -c "$TMP/list" | head)"
grep -q 'red \\x1b\[31mtext' "$TMP/list" || fail "list: the transcript is not shown escaped: $(cat "$TMP/list")"
history show "$id" >"$TMP/show" 2>"$TMP/err" || fail "show: $(cat "$TMP/err")"
! raw "$TMP/show" || fail "show printed terminal controls: $(od -c "$TMP/show" | head)"
grep -q '^response: *bell \\x07 and \\x1b\]0;title\\x07\\\\$' "$TMP/show" || fail "show: response: $(cat "$TMP/show")"
grep -q '^slot: *ci\\x1bty = par\\xc2\\x9b31mis$' "$TMP/show" || fail "show: slot: $(cat "$TMP/show")"
grep -q '^intent: *weather\\x07$' "$TMP/show" || fail "show: intent: $(cat "$TMP/show")"
# JSON escapes them itself (cJSON: \u001b); the text survives.
history list --json >"$TMP/json" 2>/dev/null || fail "list --json"
! LC_ALL=C grep -q "$(printf '[\033\007]')" "$TMP/json" || fail "list --json printed raw controls"
grep -q 'red \\u001b\[31mtext' "$TMP/json" || fail "list --json: $(cat "$TMP/json")"
# What hark logs is escaped too: here an argument, as it would be the
# cloud's error text.
history show "1${ESC}[2J" 2>"$TMP/err" >/dev/null && fail "show of a bad id succeeded"
! raw "$TMP/err" || fail "a log line carried terminal controls: $(od -c "$TMP/err" | head)"
grep -q "'1\\\\x1b\[2J' is not a record id" "$TMP/err" || fail "log: $(cat "$TMP/err")"
history wipe --yes 2>/dev/null

# --- verify: read only, exit 1 on any problem (item 15) ---
for i in 1 2 3; do
    put 60 "{\"v\":1,\"policy\":\"allow\",\"intent\":\"n$i\",\"transcript\":\"number $i\"}" >/dev/null
done
history verify >"$TMP/verify" || fail "verify of a good history: $(cat "$TMP/verify")"
cp -p "$DAT" "$TMP/good.dat"
# Record 1 is at 1024 (doc/privacy.md); each is 72 bytes and its payload.
len1=$(od -An -tu4 -j1024 -N4 "$DAT" | tr -d ' ')
rec2=$((1024 + 72 + len1))

# check_verify WHAT PATTERN: verify exits 1, says PATTERN, changes nothing.
check_verify() {
    cp -p "$DAT" "$TMP/before.dat"
    history verify >"$TMP/verify" 2>"$TMP/err" && fail "$1: verify exited 0: $(cat "$TMP/verify")"
    grep -q "$2" "$TMP/verify" || fail "$1: verify does not say '$2': $(cat "$TMP/verify" "$TMP/err")"
    same "$DAT" "$TMP/before.dat" "$1: verify"
}

# first_id changed in the header slot (slot 1: a new history uses it).
printf '\002' | dd of="$DAT" bs=1 seek=$((512 + 24)) conv=notrunc 2>/dev/null
check_verify "first_id changed" "header: fails authentication"
cp -p "$TMP/good.dat" "$DAT"

# The first record removed and the header's MAC broken.
{ head -c 1024 "$TMP/good.dat"; tail -c +$((rec2 + 1)) "$TMP/good.dat"; } >"$DAT"
printf 'X' | dd of="$DAT" bs=1 seek=$((512 + 50)) conv=notrunc 2>/dev/null
check_verify "record 1 removed, header MAC broken" "header: fails authentication"
cp -p "$TMP/good.dat" "$DAT"

# One byte of the last record flipped: modified, not "a crash" — kept.
size=$(stat -c %s "$DAT")
printf 'X' | dd of="$DAT" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
check_verify "the last record modified" "1 modified"
grep -q "fail authentication" "$TMP/verify" || fail "verify does not name the modified record: $(cat "$TMP/verify")"
cp -p "$DAT" "$TMP/before.dat"
history list >/dev/null 2>&1 || fail "list with a modified last record"
same "$DAT" "$TMP/before.dat" "list with a modified last record"
cp -p "$TMP/good.dat" "$DAT"

# A torn tail: verify reports it and leaves it; the next list removes it
# and says so once.
head -c $((size - 5)) "$TMP/good.dat" >"$DAT"
check_verify "a torn tail" "incomplete last record"
history list >/dev/null 2>"$TMP/err" || fail "list with a torn tail: $(cat "$TMP/err")"
[ "$(grep -c "incomplete" "$TMP/err")" -eq 1 ] || fail "the torn tail is not reported once: $(cat "$TMP/err")"
[ "$(stat -c %s "$DAT")" -lt $((size - 5)) ] || fail "list did not remove the torn tail"
history verify >/dev/null || fail "verify after the torn tail was removed"
cp -p "$TMP/good.dat" "$DAT"

# --- history.dat without history.key: an error, and nothing lost (item 15) ---
mv "$DEV/history.key" "$TMP/history.key"
cp -p "$DEV/history.keys" "$TMP/good.keys"
for cmd in "list" "list --json" "export --json" "verify" "show 1" "delete 1" "delete --last" "purge"; do
    # shellcheck disable=SC2086
    history $cmd >"$TMP/out" 2>"$TMP/err" && fail "$cmd without history.key exited 0: $(cat "$TMP/out")"
    grep -q "history.key: missing" "$TMP/err" || fail "$cmd without history.key: $(cat "$TMP/err")"
    ! grep -qi "no history" "$TMP/out" "$TMP/err" || fail "$cmd without history.key: 'no history'"
    same "$DAT" "$TMP/good.dat" "$cmd without history.key"
    same "$DEV/history.keys" "$TMP/good.keys" "$cmd without history.key (keys file)"
    [ ! -e "$DEV/history.key" ] || fail "$cmd made a new history.key"
done
mv "$TMP/history.key" "$DEV/history.key"
history verify >/dev/null || fail "verify with the key file back"

# --- A lock file others may open is refused, and left as it is (item 24) ---
chmod 666 "$DEV/history.lock"
history list >/dev/null 2>"$TMP/err" && fail "list used a 0666 history.lock"
grep -q "history.lock: readable by others (mode 0666)" "$TMP/err" || fail "lock refusal: $(cat "$TMP/err")"
[ "$(stat -c %a "$DEV/history.lock")" = 666 ] || fail "the lock file's mode was changed behind the user's back"
chmod 600 "$DEV/history.lock"
history list >/dev/null || fail "list after chmod 600 of the lock"

# No history at all: that is no error.
history wipe --yes 2>/dev/null
history list >/dev/null || fail "list with no history"
history verify >"$TMP/verify" || fail "verify with no history"
grep -q "no history" "$TMP/verify" || fail "verify with no history: $(cat "$TMP/verify")"
echo "ok"
