#!/bin/bash
# test-admitctl.sh: drives the real admitctl binary through keys, issuing,
# QR rendering and verification, including rotation, retirement, tampering
# and every usage error. Needs ADMIT_BUILDDIR (set by meson test) and jq.
set -u
ctl="$ADMIT_BUILDDIR/server/admitctl"
tmp=$(mktemp -d /tmp/admit-ctl-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME EXPECTED_STATUS CMD...
    local name=$1 want=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $got, expected $want"; sed 's/^/  out: /' "$tmp/out"; sed 's/^/  err: /' "$tmp/err"
        fails=$((fails + 1)); return 1
    fi
    echo "ok   $name"
}
expect() { # expect NAME JQ-FILTER (run on $tmp/out, must print true)
    if [ "$(jq -r "$2" "$tmp/out" 2>/dev/null)" != true ]; then
        echo "FAIL $1: $2 on $(cat "$tmp/out")"; fails=$((fails + 1)); return 1
    fi
    echo "ok   $1"
}

# usage and help
check "no arguments" 2 "$ctl"
check "unknown command" 2 "$ctl" frobnicate
check "--help" 0 "$ctl" --help
for c in keygen retire issue qr verify; do
    check "$c --help" 0 "$ctl" $c --help
    grep -q "usage: admitctl $c" "$tmp/out" || { echo "FAIL $c --help text"; fails=$((fails + 1)); }
    check "$c bad option" 2 "$ctl" $c --no-such-option
done

# keys
check "keygen" 0 "$ctl" keygen --dir "$tmp/keys"
kid1=$(cat "$tmp/out")
[[ "$kid1" =~ ^[0-9a-f]{8}$ ]] || { echo "FAIL kid format '$kid1'"; fails=$((fails + 1)); }
[ "$(stat -c %a "$tmp/keys/$kid1.key")" = 600 ] || { echo "FAIL key file mode"; fails=$((fails + 1)); }
jq -e --arg k "$kid1" '.keys[0].kid == $k' "$tmp/keys/keys.json" >/dev/null ||
    { echo "FAIL keys.json lists the key"; fails=$((fails + 1)); }
grep -qi "$(head -c 64 "$tmp/keys/$kid1.key")" "$tmp/keys/keys.json" &&
    { echo "FAIL keys.json leaks the secret seed"; fails=$((fails + 1)); }
check "keygen without --dir" 2 "$ctl" keygen

# issue + verify
check "issue" 0 "$ctl" issue --key "$tmp/keys" --event 42 --ticket 1001 --type 3 \
    --valid-from 2026-01-01T00:00:00Z --valid-until 4000000000 --seat "BLOCK A ROW 1" --special
tok=$(cat "$tmp/out")
[[ "$tok" == AD1:* ]] || { echo "FAIL token prefix '$tok'"; fails=$((fails + 1)); }
check "verify valid" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok"
expect "verify fields" '.ok and .reason == "ok" and .event == 42 and .ticket == 1001 and .type == 3 and .special and (.reentry | not) and .seat == "BLOCK A ROW 1" and .valid_from == 1767225600 and .valid_until == 4000000000 and .window == "open"'
expect "verify kid" ".kid == \"$kid1\""
check "verify --at before window" 0 "$ctl" verify --pub "$tmp/keys/keys.json" --at 1000 "$tok"
expect "window not yet valid" '.window == "not_yet_valid"'
echo "$tok" > "$tmp/tok.txt"
check "verify from stdin" 0 bash -c "'$ctl' verify --pub '$tmp/keys/keys.json' - < '$tmp/tok.txt'"

# tampering: change one character of the Base45 text
pos=20; c=${tok:$pos:1}; [ "$c" = A ] && r=B || r=A
bad="${tok:0:$pos}$r${tok:$((pos + 1))}"
check "verify tampered" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "$bad"
expect "tampered refused" '(.ok | not) and (.reason | IN("bad_signature", "bad_base45", "bad_field", "unknown_key", "bad_length"))'
check "verify not a ticket" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "hello"
expect "wrong prefix" '.reason == "bad_prefix"'
check "verify truncated" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "${tok:0:60}"
check "verify oversize" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "AD1:$(printf 'A%.0s' $(seq 1 400))"
expect "oversize reason" '.reason == "oversize"'

# another issuer's key
"$ctl" keygen --dir "$tmp/other" >/dev/null
check "verify other keyring" 1 "$ctl" verify --pub "$tmp/other/keys.json" "$tok"
expect "unknown key" '.reason == "unknown_key"'

# QR: PNG and back through ZBar, SVG, terminal
check "qr png" 0 "$ctl" qr "$tok" --png "$tmp/t.png"
check "verify --image" 0 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/t.png"
expect "image fields" '.ok and .ticket == 1001'
check "qr png module 3 quiet 2" 0 "$ctl" qr "$tok" --png "$tmp/t3.png" --module 3 --quiet 2
check "verify small image" 0 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/t3.png"
check "qr svg" 0 "$ctl" qr "$tok" --svg "$tmp/t.svg"
grep -q '<svg' "$tmp/t.svg" && grep -q '</svg>' "$tmp/t.svg" || { echo "FAIL svg content"; fails=$((fails + 1)); }
check "qr term" 0 "$ctl" qr "$tok" --term
[ "$(wc -l < "$tmp/out")" -ge 15 ] || { echo "FAIL term art lines"; fails=$((fails + 1)); }
check "qr two outputs" 2 "$ctl" qr "$tok" --term --png "$tmp/x.png"
check "qr no output" 2 "$ctl" qr "$tok"
check "qr bad module" 2 "$ctl" qr "$tok" --png "$tmp/x.png" --module 0
printf 'not a png' > "$tmp/junk.png"
check "verify junk image" 2 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/junk.png"
check "verify missing image" 2 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/nope.png"
"$ctl" qr "hello" --png "$tmp/hello.png" >/dev/null
check "verify QR that is not a ticket" 1 "$ctl" verify --pub "$tmp/keys/keys.json" --image "$tmp/hello.png"
expect "hello prefix" '.reason == "bad_prefix"'

# usage errors
check "issue missing event" 2 "$ctl" issue --key "$tmp/keys" --ticket 1 --type 1
check "issue bad ticket" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket -5 --type 1
check "issue zero type" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 0
check "issue bad time" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 1 --valid-from tomorrow
check "issue window reversed" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 1 --valid-from 200 --valid-until 100
check "issue long seat" 2 "$ctl" issue --key "$tmp/keys" --event 1 --ticket 5 --type 1 --seat "$(printf 'x%.0s' $(seq 1 33))"
check "issue no keys" 1 "$ctl" issue --key "$tmp/none" --event 1 --ticket 5 --type 1
check "verify token and image" 2 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok" --image "$tmp/t.png"
check "verify no pub" 2 "$ctl" verify "$tok"
check "verify missing pub file" 2 "$ctl" verify --pub "$tmp/nope.json" "$tok"
echo '{"format":"admit-keyring","version":1,"keys":[{"kid":"zz"}]}' > "$tmp/badkeys.json"
check "verify malformed keyring" 2 "$ctl" verify --pub "$tmp/badkeys.json" "$tok"

# rotation and retirement
check "keygen rotate" 0 "$ctl" keygen --dir "$tmp/keys"
kid2=$(cat "$tmp/out")
[ "$kid2" != "$kid1" ] || { echo "FAIL rotation gave the same kid"; fails=$((fails + 1)); }
check "issue with new key" 0 "$ctl" issue --key "$tmp/keys" --event 42 --ticket 1002 --type 3 --reentry
tok2=$(cat "$tmp/out")
check "verify new key" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok2"
expect "new kid used" ".kid == \"$kid2\" and .reentry"
check "old token still valid" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok"
check "issue with --kid old" 0 "$ctl" issue --key "$tmp/keys" --kid "$kid1" --event 42 --ticket 1003 --type 3
tok3=$(cat "$tmp/out")
check "retire old" 0 "$ctl" retire --dir "$tmp/keys" "$kid1"
check "old token refused" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok"
expect "retired reason" '.reason == "retired_key"'
check "old --kid token refused" 1 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok3"
check "new token valid after retire" 0 "$ctl" verify --pub "$tmp/keys/keys.json" "$tok2"
check "issue with retired kid" 1 "$ctl" issue --key "$tmp/keys" --kid "$kid1" --event 42 --ticket 1004 --type 3
check "retire unknown" 1 "$ctl" retire --dir "$tmp/keys" 01234567
check "retire bad kid" 2 "$ctl" retire --dir "$tmp/keys" xyz

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
