#!/bin/sh
# Signed updates from the command line: hark-sign makes a release key and
# bundles; `hark provision --release-key` fixes the key; `hark verify-update`
# accepts a good bundle (and --apply stores it), and refuses, with the reason
# and exit 1, no release key, a bad signature, another key's signature, a
# replayed or older version, a bundle for another device, every truncation,
# trailing bytes and the wrong file. A stored bundle that was tampered with,
# rolled back or removed stops `hark run` before it connects.
# usage: update-cli.sh HARK HARK_SIGN
HARK=$1
SIGN=$2
. "$(dirname "$0")/lib.sh"

PIN_A=sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
PIN_B=sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=

# expect_refusal PATTERN -- COMMAND...: exit 1.
expect_refusal() {
    expect_error 1 "$@"
}

# verify FILE [OPTION...]: hark verify-update, which must accept FILE.
verify() {
    file=$1
    shift
    "$HARK" verify-update --config "$TMP/hark.conf" "$@" "$file" >"$TMP/out" 2>"$TMP/err" ||
        fail "verify-update $* $file: $(cat "$TMP/err")"
    [ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "verify-update printed more than one line: $(cat "$TMP/out")"
}

version_stored() {
    cat "$TMP/device/update.version" 2>/dev/null || echo none
}

cat >"$TMP/hark.conf" <<CONF
[cloud]
url = wss://127.0.0.1:9/v1/assist
pins = $PIN_A
[storage]
dir = $TMP/device
CONF

# Keys: the secret 0600 and never taken for a public key; never overwritten.
"$SIGN" keygen "$TMP/release.sec" "$TMP/release.pub" >/dev/null 2>"$TMP/err" ||
    fail "keygen: $(cat "$TMP/err")"
"$SIGN" keygen "$TMP/other.sec" "$TMP/other.pub" >/dev/null 2>&1 || fail "keygen (other)"
[ "$(stat -c %a "$TMP/release.sec")" = 600 ] || fail "the secret key is not 0600"
[ "$(stat -c %a "$TMP/release.pub")" = 644 ] || fail "the public key is not 0644"
expect_refusal "File exists" -- "$SIGN" keygen "$TMP/release.sec" "$TMP/x.pub"
chmod 644 "$TMP/other.sec"
expect_refusal "others may read" -- "$SIGN" sign --key "$TMP/other.sec" --version 1 --pin "$PIN_A" --out "$TMP/x"
chmod 600 "$TMP/other.sec"

# sign_as NAME OPTION...: $TMP/NAME, signed by the release key.
sign_as() {
    name=$1
    shift
    "$SIGN" sign --key "$TMP/release.sec" --out "$TMP/$name" "$@" >/dev/null 2>"$TMP/err" ||
        fail "sign $name: $(cat "$TMP/err")"
}
printf '[privacy]\ndrop_intents = banking.*, crypto.*\ndefault_action = drop\n' >"$TMP/rules.ini"
sign_as v1 --version 1 --pin "$PIN_A"
sign_as v2 --version 2 --pin "$PIN_A" --pin "$PIN_B" --policy "$TMP/rules.ini"
"$SIGN" sign --key "$TMP/other.sec" --out "$TMP/v3-other" --version 3 --pin "$PIN_B" >/dev/null 2>&1 ||
    fail "sign with the other key"
printf '[privacy]\ndrop_intents = Banking\n' >"$TMP/bad-rules.ini"
expect_refusal "bad-rules.ini:2: drop_intents may hold only intent names" -- \
    "$SIGN" sign --key "$TMP/release.sec" --out "$TMP/x" --version 9 --pin "$PIN_A" --policy "$TMP/bad-rules.ini"
expect_error 2 "not sha256" -- "$SIGN" sign --key "$TMP/release.sec" --out "$TMP/x" --version 9 --pin sha256/xyz
[ ! -e "$TMP/x" ] || fail "a refused bundle was written"

# No device, then a device without a release key: refused.
expect_refusal "no release key provisioned" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v1"
FP=$("$HARK" provision --config "$TMP/hark.conf" 2>"$TMP/err") || fail "provision: $(cat "$TMP/err")"
expect_refusal "v1: refused: no release key provisioned" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v1"

# The release key: the secret file, a missing file and garbage are refused
# and change nothing; the public key is added, the identity kept.
expect_refusal "not an Ed25519 public key" -- "$HARK" provision --config "$TMP/hark.conf" --release-key "$TMP/release.sec"
expect_refusal "missing.pub" -- "$HARK" provision --config "$TMP/hark.conf" --release-key "$TMP/missing.pub"
[ ! -e "$TMP/device/release.pub" ] || fail "a refused release key was stored"
fp=$("$HARK" provision --config "$TMP/hark.conf" --release-key "$TMP/release.pub" 2>"$TMP/err") ||
    fail "provision --release-key: $(cat "$TMP/err")"
[ "$fp" = "$FP" ] || fail "provisioning the release key changed the identity"
grep -q "identity in .* kept" "$TMP/err" || fail "no word that the identity was kept: $(cat "$TMP/err")"
[ "$(stat -c %a "$TMP/device/release.pub")" = 644 ] || fail "release.pub is not 0644"
cmp -s "$TMP/device/release.pub" "$TMP/release.pub" || fail "release.pub differs from the key given"

# Good: accepted, one line, nothing stored without --apply.
verify "$TMP/v2"
grep -q "v2: would be accepted: version 2 (created .*), 2 pins, rules drop_intents default_action, any device; the applied version is 0" "$TMP/out" ||
    fail "summary: $(cat "$TMP/out")"
[ "$(version_stored)" = none ] || fail "verify-update without --apply stored something"

# Bad signature: the last byte changed; and a bundle signed by another key.
cp "$TMP/v2" "$TMP/v2-badsig"
# The last byte flipped (not set: one signature in 256 ends in any value).
last=$(tail -c 1 "$TMP/v2" | od -A n -t u1 | tr -d ' ')
printf "\\$(printf %o $((last ^ 1)))" |
    dd of="$TMP/v2-badsig" bs=1 seek=$(($(stat -c %s "$TMP/v2") - 1)) conv=notrunc 2>/dev/null
cmp -s "$TMP/v2" "$TMP/v2-badsig" && fail "the bad signature is the good one"
expect_refusal "v2-badsig: refused: bad signature" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v2-badsig"
expect_refusal "v3-other: refused: bad signature" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v3-other"

# Truncated at every length, trailing garbage, too large, the wrong file.
size=$(stat -c %s "$TMP/v2")
n=0
while [ "$n" -lt "$size" ]; do
    head -c "$n" "$TMP/v2" >"$TMP/cut"
    set +e
    "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/cut" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || fail "truncated to $n bytes: exit $rc: $(cat "$TMP/err")"
    [ "$n" -lt 8 ] || [ "$n" -ge $((size - 64)) ] || grep -q "cut: refused: truncated" "$TMP/err" ||
        fail "truncated to $n bytes: $(cat "$TMP/err")"
    [ ! -s "$TMP/out" ] || fail "truncated to $n bytes: wrote to stdout"
    n=$((n + 1))
done
echo "refused all $size truncations"
cp "$TMP/v2" "$TMP/v2-trailing"
printf 'x' >>"$TMP/v2-trailing"
expect_refusal "trailing garbage" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v2-trailing"
head -c 5000 /dev/zero >"$TMP/big"
expect_refusal "big: refused: more than 3072 bytes" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/big"
expect_refusal "not an update bundle" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/release.pub"
expect_error 2 "usage" -- "$HARK" verify-update --config "$TMP/hark.conf"
[ "$(version_stored)" = none ] || fail "a refused bundle changed the stored version"

# --apply: stored (0600), the version written; then the same version and an
# older one are replays.
verify "$TMP/v2" --apply
grep -q "v2: applied: version 2" "$TMP/out" || fail "apply: $(cat "$TMP/out")"
[ "$(version_stored)" = 2 ] || fail "update.version is $(version_stored), expected 2"
[ "$(stat -c %a "$TMP/device/update.bundle")" = 600 ] || fail "update.bundle is not 0600"
expect_refusal "version 2 is not newer than the applied version 2" -- \
    "$HARK" verify-update --config "$TMP/hark.conf" --apply "$TMP/v2"
expect_refusal "version 1 is not newer than the applied version 2" -- \
    "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v1"
[ "$(version_stored)" = 2 ] || fail "a replay changed the stored version"

# Scoped bundles: another device's is refused, this one's accepted.
sign_as v3-elsewhere --version 3 --pin "$PIN_B" --device "$PIN_A"
expect_refusal "for device $PIN_A, not this one" -- "$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v3-elsewhere"
sign_as v3 --version 3 --pin "$PIN_B" --device "$FP"
verify "$TMP/v3"
grep -q "for device $FP" "$TMP/out" || fail "scope not shown: $(cat "$TMP/out")"

# Another release key cannot be slipped in by provisioning again.
expect_refusal "another release key" -- "$HARK" provision --config "$TMP/hark.conf" --release-key "$TMP/other.pub"
cmp -s "$TMP/device/release.pub" "$TMP/release.pub" || fail "the release key was replaced"

# The stored bundle is checked at every start: tampered, rolled back and
# removed each stop hark run before it connects (fail closed), and say why.
run_refused() {
    set +e
    timeout 30 "$HARK" run --config "$TMP/hark.conf" --input "$TMP/none.wav" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || fail "hark run with $1: exit $rc: $(cat "$TMP/err")"
    grep -q -- "$2" "$TMP/err" || fail "hark run with $1: stderr lacks '$2': $(cat "$TMP/err")"
    grep -q "not connecting" "$TMP/err" || fail "hark run with $1 does not say it will not connect"
}
cp "$TMP/device/update.bundle" "$TMP/applied"
cp "$TMP/applied" "$TMP/device/update.bundle"
printf 'X' | dd of="$TMP/device/update.bundle" bs=1 seek=20 conv=notrunc 2>/dev/null
run_refused "a tampered bundle" "update.bundle: bad signature"
cp "$TMP/v1" "$TMP/device/update.bundle"
run_refused "a rolled-back bundle" "version 1 is older than the applied version 2"
rm "$TMP/device/update.bundle"
run_refused "no bundle" "says version 2 was applied, but .*update.bundle is missing"
# A newer good bundle is the way out, even over a damaged one.
cp "$TMP/v1" "$TMP/device/update.bundle"
"$HARK" verify-update --config "$TMP/hark.conf" "$TMP/v3" >"$TMP/out" 2>"$TMP/err" ||
    fail "verify-update over a bad stored bundle: $(cat "$TMP/err")"
grep -q "older than the applied version" "$TMP/err" || fail "no warning about the stored bundle"
verify "$TMP/v3" --apply
[ "$(version_stored)" = 3 ] || fail "update.version is $(version_stored), expected 3"
cmp -s "$TMP/device/update.bundle" "$TMP/v3" || fail "update.bundle is not v3"
echo "ok"
