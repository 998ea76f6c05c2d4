#!/bin/sh
# The documents that are provisions of the threat model hold what they
# promise, and the threat model itself points only at tests that exist:
# - doc/threat-model.md: every row of its ETSI and OWASP tables names a test,
#   and every tests/ path it names exists in the source tree;
# - SECURITY.md (ETSI 5.2): a private way to report, response times, and
#   which versions are supported;
# - doc/privacy.md (ETSI 5.8-3): what the microphone hears and what leaves,
#   what is remembered, for how long, how to forget it, and what it does not
#   protect against.
# usage: doc-check.sh SOURCE_ROOT
SRC=$1
. "$(dirname "$0")/../pipeline/lib.sh"

tm=$SRC/doc/threat-model.md
[ -f "$tm" ] || fail "$tm is missing"

# The tables' rows: "| provision | what | test |". A row whose test cell is
# empty or a dash points at nothing.
awk -F'|' '/^\| *([0-9]|I[0-9])/ {
        t = $4; gsub(/^ +| +$/, "", t)
        if (t == "" || t ~ /^—/ || t ~ /^-/) printf "%s:%d: no test for \"%s\"\n", FILENAME, NR, $2
    }' "$tm" >"$TMP/rows"
if [ -s "$TMP/rows" ]; then
    cat "$TMP/rows" >&2
    fail "threat-model rows without a test (above)"
fi
rows=$(grep -cE '^\| *([0-9]|I[0-9])' "$tm")
[ "$rows" -ge 25 ] || fail "$tm: only $rows table rows; the ETSI and OWASP tables are incomplete"

grep -o 'tests/[A-Za-z0-9_./-]*' "$tm" | sed 's/[.,]$//' | sort -u >"$TMP/paths"
[ -s "$TMP/paths" ] || fail "$tm names no test"
missing=0
while read -r p; do
    if [ ! -e "$SRC/$p" ]; then
        echo "$tm: names $p, which does not exist" >&2
        missing=$((missing + 1))
    fi
done <"$TMP/paths"
[ "$missing" -eq 0 ] || fail "$missing test paths in the threat model do not exist"

# need FILE HEADING-REGEX WHAT
need() {
    grep -qiE "$2" "$1" || fail "$1 does not say $3 (no line matching '$2')"
}
sec=$SRC/SECURITY.md
[ -f "$sec" ] || fail "SECURITY.md is missing"
need "$sec" '^## Reporting a vulnerability' "how to report a vulnerability"
need "$sec" 'private' "that reports are made privately"
need "$sec" 'within [0-9]+ (working )?days' "how soon a report is answered"
need "$sec" '^## Supported versions' "which versions are supported"

pv=$SRC/doc/privacy.md
[ -f "$pv" ] || fail "doc/privacy.md is missing"
need "$pv" '^## What the microphone hears' "what the microphone hears and what leaves the device"
need "$pv" '^## The policy' "what may be remembered"
need "$pv" '^## The history' "what is kept"
need "$pv" 'retention|expir' "for how long it is kept"
need "$pv" '^## Forgetting' "how to forget"
need "$pv" '^## What this does not protect against' "what it does not protect against"
echo "ok: $rows threat-model rows, $(wc -l <"$TMP/paths") test paths, all present"
