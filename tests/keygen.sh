#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# keygen.sh - `samlbroker keygen` end to end: the files it writes, their
# modes, that the openssl CLI reads them, that it refuses what it must, that
# the password never shows, and that its [saml] section passes
# `samlbroker check` in a tenant file.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
bin="$top_builddir/samlbroker"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keygen-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
unset SAMLBROKER_KEY_PASSWORD

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
pass() {
	echo "ok: $*"
}

# expect_status WANT WHAT CMD...: runs CMD, output to $tmp/out and $tmp/err.
expect_status() {
	want=$1; what=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass "$what (exit $got)"
	else
		fail "$what: exit $got, wanted $want; stderr: $(cat "$tmp/err")"
	fi
}

# expect_err TEXT WHAT: the last stderr holds TEXT exactly as a line.
expect_err() {
	if grep -qxF -- "$1" "$tmp/err"; then
		pass "$2"
	else
		fail "$2: stderr was: $(cat "$tmp/err"), wanted: $1"
	fi
}

mode_is() {	# FILE MODE
	m=$(stat -c %a "$1")
	if [ "$m" = "$2" ]; then pass "mode of $(basename "$1") is $2"
	else fail "mode of $1 is $m, wanted $2"; fi
}

issuer=https://www.genesys.com/pureengage
password='Kg-test-password-5tq'
pwfile="$tmp/password"
printf '%s\n' "$password" > "$pwfile"

# --help, usage errors, refusals.
expect_status 0 "--help" "$bin" keygen --help
grep -q -- '--password-file FILE' "$tmp/out" || fail "--help does not document --password-file"
grep -q 'SAMLBROKER_KEY_PASSWORD' "$tmp/out" || fail "--help does not name SAMLBROKER_KEY_PASSWORD"
expect_status 2 "--password is not an option" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" --password "$password"
grep -qF -- "$password" "$tmp/err" && fail "--password echoed the password"
expect_err "samlbroker keygen: unknown option '--password': the password is never given on the command line; use --password-file FILE or SAMLBROKER_KEY_PASSWORD" \
    "--password message"
expect_status 2 "--password=SECRET is not an option" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" "--password=$password"
grep -qF -- "$password" "$tmp/err" && fail "--password= echoed the password"
expect_status 2 "-p is not an option" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" -p "$password"
grep -qF -- "$password" "$tmp/err" && fail "-p echoed the password"
expect_status 2 "--pass abbreviation is not an option" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" --pass "$password"
expect_status 2 "no password source" "$bin" keygen --out "$tmp/x" --issuer "$issuer"
expect_err "samlbroker keygen: no password: give --password-file FILE or set SAMLBROKER_KEY_PASSWORD" \
    "no password source message"
expect_status 2 "--out missing" "$bin" keygen --issuer "$issuer" --password-file "$pwfile"
expect_status 2 "--issuer missing" "$bin" keygen --out "$tmp/x" --password-file "$pwfile"
expect_status 2 "--issuer not a URI" "$bin" keygen --out "$tmp/x" --issuer "not a uri" \
    --password-file "$pwfile"
expect_status 2 "--bits 1024 refused" "$bin" keygen --out "$tmp/x" --issuer "$issuer" \
    --password-file "$pwfile" --bits 1024
expect_err "samlbroker keygen: --bits must be 2048 to 8192" "--bits 1024 message"
expect_status 2 "--bits 16384 refused" "$bin" keygen --out "$tmp/x" --issuer "$issuer" \
    --password-file "$pwfile" --bits 16384
expect_status 2 "--days 0 refused" "$bin" keygen --out "$tmp/x" --issuer "$issuer" \
    --password-file "$pwfile" --days 0
expect_status 2 "stray argument" "$bin" keygen --out "$tmp/x" --issuer "$issuer" \
    --password-file "$pwfile" extra
printf 'short7!\n' > "$tmp/shortpw"
expect_status 1 "7-character password refused" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" --password-file "$tmp/shortpw"
expect_err "samlbroker keygen: the password is shorter than 8 characters" "short password message"
grep -qF 'short7!' "$tmp/err" && fail "short password echoed"
printf '\n' > "$tmp/emptypw"
expect_status 1 "empty password refused" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" --password-file "$tmp/emptypw"
expect_err "samlbroker keygen: the password is empty" "empty password message"
expect_status 1 "empty environment password refused" \
    env SAMLBROKER_KEY_PASSWORD= "$bin" keygen --out "$tmp/x" --issuer "$issuer"
printf '%s\nsecond line\n' "$password" > "$tmp/twolines"
expect_status 1 "two-line password file refused" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" --password-file "$tmp/twolines"
expect_err "samlbroker keygen: password file $tmp/twolines holds more than one line" \
    "two-line password file message"
expect_status 1 "missing password file" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" --password-file "$tmp/nonexistent"
expect_status 1 "bad --subject attribute" "$bin" keygen --out "$tmp/x" \
    --issuer "$issuer" --password-file "$pwfile" --subject "XX=foo"
expect_err "samlbroker keygen: --subject: unknown attribute 'XX'" "bad --subject message"
[ -e "$tmp/x" ] && fail "a refused run created $tmp/x"

# The main run: a fresh directory, a restrictive umask that must not decide
# the modes, the password from a file.
out="$tmp/keys"
(umask 077; "$bin" keygen --out "$out" --issuer "$issuer" \
    --password-file "$pwfile" >"$tmp/out" 2>"$tmp/err")
rc=$?
if [ $rc -ne 0 ]; then
	fail "keygen exit $rc: $(cat "$tmp/err")"
	echo "$failures failure(s)"
	exit 1
fi
pass "keygen --password-file"
mode_is "$out" 700
mode_is "$out/cert.pem" 644
mode_is "$out/cert.pem.b64" 644
mode_is "$out/key.pem.enc" 600
mode_is "$out/key.pem.enc.b64" 600
mode_is "$out/saml-section.cfg" 600
grep -q "^samlbroker keygen: wrote $out/" "$tmp/err" || fail "no header on stderr"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "stderr has more than the header: $(cat "$tmp/err")"
for f in "$tmp/out" "$tmp/err" "$out/saml-section.cfg" "$out/cert.pem" "$out/key.pem.enc" \
    "$out/cert.pem.b64" "$out/key.pem.enc.b64"; do
	grep -qF -- "$password" "$f" && fail "the password appears in $f"
done

# openssl reads what keygen wrote.
head -n 1 "$out/key.pem.enc" | grep -qx -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' ||
    fail "key.pem.enc is not PKCS#8 encrypted"
openssl asn1parse -in "$out/key.pem.enc" 2>/dev/null | grep -q ':aes-256-cbc' ||
    fail "key.pem.enc is not encrypted with AES-256-CBC"
openssl asn1parse -in "$out/key.pem.enc" 2>/dev/null | grep -q ':PBKDF2' ||
    fail "key.pem.enc does not use PBKDF2"
if openssl rsa -in "$out/key.pem.enc" -passin "file:$pwfile" -check -noout >"$tmp/o" 2>&1; then
	pass "openssl rsa -check with the password"
else
	fail "openssl rsa -check: $(cat "$tmp/o")"
fi
openssl rsa -in "$out/key.pem.enc" -passin pass:wrong-password -noout >/dev/null 2>&1 &&
    fail "key.pem.enc opens with a wrong password"
openssl x509 -in "$out/cert.pem" -noout -subject -dates >"$tmp/o" 2>&1 ||
    fail "openssl x509 cannot read cert.pem"
grep -qx 'subject=CN = www.genesys.com' "$tmp/o" || fail "default subject: $(cat "$tmp/o")"
bits=$(openssl x509 -in "$out/cert.pem" -noout -text | sed -n 's/.*Public-Key: (\([0-9]*\) bit)/\1/p')
[ "$bits" = 2048 ] || fail "key has $bits bits, wanted 2048"
nb=$(date -u -d "$(openssl x509 -in "$out/cert.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -u -d "$(openssl x509 -in "$out/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
[ $((na - nb)) -eq $((3652 * 86400)) ] || fail "lifetime is $((na - nb)) s, wanted 3652 days"
now=$(date +%s)
[ $((now - nb)) -ge 0 ] && [ $((now - nb)) -lt 300 ] || fail "notBefore is not now"
text=$(openssl x509 -in "$out/cert.pem" -noout -text)
for want in 'Version: 3 (0x2)' 'Signature Algorithm: sha256WithRSAEncryption' \
    'X509v3 Basic Constraints: critical' 'CA:FALSE' 'X509v3 Key Usage: critical' \
    'Digital Signature' 'X509v3 Subject Key Identifier'; do
	printf '%s\n' "$text" | grep -qF -- "$want" || fail "certificate lacks '$want'"
done
serial=$(openssl x509 -in "$out/cert.pem" -noout -serial | cut -d= -f2)
[ ${#serial} -ge 24 ] && [ ${#serial} -le 32 ] || fail "serial $serial is not 128 random bits"
openssl verify -CAfile "$out/cert.pem" -partial_chain "$out/cert.pem" >/dev/null 2>&1 ||
    fail "the self-signed certificate does not verify"
m1=$(openssl x509 -in "$out/cert.pem" -noout -modulus)
m2=$(openssl rsa -in "$out/key.pem.enc" -passin "file:$pwfile" -noout -modulus 2>/dev/null)
[ -n "$m1" ] && [ "$m1" = "$m2" ] && pass "certificate and key moduli match" ||
    fail "certificate and key moduli differ"

# The base64 files decode to the PEM files and are what openssl base64 makes.
openssl base64 -d -in "$out/cert.pem.b64" | cmp -s - "$out/cert.pem" ||
    fail "cert.pem.b64 does not decode to cert.pem"
openssl base64 -d -in "$out/key.pem.enc.b64" | cmp -s - "$out/key.pem.enc" ||
    fail "key.pem.enc.b64 does not decode to key.pem.enc"
openssl base64 -in "$out/cert.pem" | cmp -s - "$out/cert.pem.b64" ||
    fail "cert.pem.b64 is not wrapped like openssl base64"
openssl base64 -in "$out/key.pem.enc" | cmp -s - "$out/key.pem.enc.b64" ||
    fail "key.pem.enc.b64 is not wrapped like openssl base64"

# stdout is the certificate body for the identity provider record.
grep -v -- '^-----' "$out/cert.pem" | cmp -s - "$tmp/out" ||
    fail "stdout is not cert.pem without its BEGIN and END lines"

# The [saml] section.
sect="$out/saml-section.cfg"
grep -qx '\[saml\]' "$sect" || fail "no [saml] header in the section"
grep -qx "issuer = $issuer" "$sect" || fail "issuer line"
grep -qx "certificate = $(openssl base64 -A -in "$out/cert.pem")" "$sect" ||
    fail "certificate line is not the unwrapped base64 of cert.pem"
grep -qx "pkey = $(openssl base64 -A -in "$out/key.pem.enc")" "$sect" ||
    fail "pkey line is not the unwrapped base64 of key.pem.enc"
grep -qx "password = file:$pwfile" "$sect" || fail "password line: $(grep password "$sect")"
grep -qx 'expire_time = 24' "$sect" || fail "expire_time line"

# No overwriting without --force; the files stay as they were.
sum1=$(cat "$out"/* | cksum)
expect_status 1 "second run without --force refused" "$bin" keygen --out "$out" \
    --issuer "$issuer" --password-file "$pwfile"
expect_err "samlbroker keygen: $out/cert.pem exists; use --force to replace it" \
    "refusal names the file"
rm "$out/cert.pem.b64"
expect_status 1 "refused when only some files exist" "$bin" keygen --out "$out" \
    --issuer "$issuer" --password-file "$pwfile"
[ -e "$out/cert.pem.b64" ] && fail "a refused run wrote cert.pem.b64"
openssl base64 -in "$out/cert.pem" -out "$out/cert.pem.b64"
chmod 644 "$out/cert.pem.b64"
[ "$(cat "$out"/* | cksum)" = "$sum1" ] || fail "a refused run changed the files"

# --force replaces them, with the environment password, a subject and bits.
expect_status 0 "--force with SAMLBROKER_KEY_PASSWORD" \
    env SAMLBROKER_KEY_PASSWORD="$password" "$bin" keygen --out "$out" --issuer "$issuer" --force --subject "/CN=Tenant A/O=Example, Inc\\." \
    --days 30 --bits 3072
[ "$(cat "$out"/* | cksum)" != "$sum1" ] || fail "--force did not replace the files"
mode_is "$out/key.pem.enc" 600
grep -qF -- "$password" "$tmp/out" "$tmp/err" "$out/saml-section.cfg" && fail "password shown"
openssl rsa -in "$out/key.pem.enc" -passin "pass:$password" -check -noout >/dev/null 2>&1 ||
    fail "key made with the environment password does not open with it"
openssl x509 -in "$out/cert.pem" -noout -subject | grep -qx 'subject=CN = Tenant A, O = "Example, Inc."' ||
    fail "--subject: $(openssl x509 -in "$out/cert.pem" -noout -subject)"
openssl x509 -in "$out/cert.pem" -noout -text | grep -q 'Public-Key: (3072 bit)' ||
    fail "--bits 3072 not honoured"
grep -qx 'password = env:SAMLBROKER_KEY_PASSWORD' "$out/saml-section.cfg" ||
    fail "no env: password line when the password came from the environment"

# The section, pasted into a tenant file, passes `samlbroker check`.
if "$bin" check --help >/dev/null 2>&1 && "$bin" check -c /nonexistent 2>&1 |
    grep -q 'not implemented'; then
	echo "SKIP: samlbroker check is not implemented yet; section not checked"
else
	mkdir -p "$tmp/conf/tenants"
	"$bin" keygen --out "$tmp/t" --issuer "$issuer" --password-file "$pwfile" \
	    >/dev/null 2>&1 || fail "keygen for the check test"
	cat > "$tmp/conf/samlbroker.conf" <<EOF
[broker]
listen = unix:$tmp/conf/broker.sock
tenants_dir = $tmp/conf/tenants
EOF
	chmod 600 "$tmp/conf/samlbroker.conf"
	{
		cat <<EOF
[general]
organization_sname=example
organization_id=8f8a0a4e-3c3b-4c39-9a56-2f7f1c1e5b6a
base_auth_url=https://login.mypurecloud.com/oauth/token
base_service_url=https://api.mypurecloud.com/api/
EOF
		cat "$tmp/t/saml-section.cfg"
		cat <<EOF
[saml_auth]
client_id=x
password=y
EOF
	} > "$tmp/conf/tenants/example.cfg"
	chmod 600 "$tmp/conf/tenants/example.cfg"
	chmod 600 "$pwfile"	# a file: secret must be the owner's only
	if "$bin" check -c "$tmp/conf/samlbroker.conf" >"$tmp/out" 2>"$tmp/err"; then
		pass "samlbroker check accepts the pasted section"
	else
		fail "samlbroker check: $(cat "$tmp/out" "$tmp/err")"
	fi
	grep -qx 'configuration OK' "$tmp/out" || fail "check did not say configuration OK"
	grep -q '^tenant example: ' "$tmp/out" || fail "check did not list tenant example"
	grep -qF -- "$password" "$tmp/out" "$tmp/err" && fail "check showed the password"
fi

if [ $failures -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all keygen checks passed"
exit 0
