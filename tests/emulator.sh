#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# emulator.sh - samlbroker-emulator end to end with curl: Client Credentials
# and SAML2 Bearer grants for two tenants, each way a token request is
# refused, the assertion checks (tampering, signature wrapping, time,
# issuer, audience, recipient), HTTPS with the certificate it makes,
# every kind of injected fault, exact counters, reset, a clean stop on
# SIGTERM, and that no secret reaches its log.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
top_srcdir=$(cd "$top_srcdir" && pwd)
sb="$top_builddir/samlbroker"
emu="$top_builddir/samlbroker-emulator"
keys="$top_srcdir/tests/data/keys/vendor-pkcs8"

if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP: curl is not installed"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/emulator-test.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
pass() {
	echo "ok: $*"
}

# --version, like every command of the project.
case $("$emu" --version 2>&1) in
"samlbroker-emulator "[0-9]*) pass "--version" ;;
*) fail "--version: $("$emu" --version 2>&1)" ;;
esac

saml_grant=urn:ietf:params:oauth:grant-type:saml2-bearer
auth_url=https://login.emulator.test/oauth/token
issuer=https://www.genesys.com/pureengage

# write_tenant FILE ORG SAML_ID SAML_SECRET EWT_ID EWT_SECRET [SAML_OPTION...]
# The issuer is $t_issuer when set, the key fixtures those in $t_keys.
write_tenant() {
	file=$1; org=$2; sid=$3; ssec=$4; eid=$5; esec=$6; shift 6
	{
		echo "[general]"
		echo "organization_sname = $org"
		echo "organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c"
		echo "base_auth_url = $auth_url"
		echo "base_service_url = https://api.emulator.test/api/"
		echo
		echo "[saml]"
		echo "issuer = ${t_issuer:-$issuer}"
		echo "certificate = $(tr -d '\n' < "${t_keys:-$keys}/cert.pem.b64")"
		echo "pkey = $(tr -d '\n' < "${t_keys:-$keys}/key.pem.enc.b64")"
		echo "password = file:${file%.cfg}.password"
		for opt in "$@"; do
			echo "$opt"
		done
		echo
		echo "[saml_auth]"
		echo "client_id = $sid"
		echo "password = $ssec"
		echo
		echo "[ewt]"
		echo "client_id = $eid"
		echo "password = $esec"
	} > "$file"
	chmod 600 "$file"
	# file: secrets must be the owner's only, like the tenant file.
	cp "${t_keys:-$keys}/password" "${file%.cfg}.password"
	chmod 600 "${file%.cfg}.password"
}
# conf DIR: a main file whose tenants are in DIR/tenants.
conf() {
	mkdir -p "$1/tenants"
	printf '[broker]\nlisten = unix:%s/broker.sock\ntenants_dir = tenants\n' "$1" \
	    > "$1/samlbroker.conf"
	chmod 600 "$1/samlbroker.conf"
}

# The broker's side, for `samlbroker mint`: two tenants with their own
# keys; the second signs the Response too.
conf "$tmp/emu"
write_tenant "$tmp/emu/tenants/acme.cfg" acme-org acme-saml acme-saml-SECRET \
    acme-ewt acme-ewt-SECRET
t_keys="$top_srcdir/tests/data/keys/vendor-traditional"
write_tenant "$tmp/emu/tenants/globex.cfg" globex-org globex-saml globex-saml-SECRET \
    globex-ewt globex-ewt-SECRET "sign_response = yes"
t_keys=
cfg="$tmp/emu/samlbroker.conf"

# The emulator's own configuration: the same two organizations, each with
# a PureEngage identity provider that trusts its tenant's certificate.
body() {	# the PEM body of a certificate, flat
	sed -e '/^-----/d' "$1" | tr -d '\n'
}
org() {	# NAME SAML_ID SAML_SECRET EWT_ID EWT_SECRET CERT
	printf '{"name":"%s","id":"3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c","clients":[' "$1"
	printf '{"client_id":"%s","secret":"%s","grant":"saml2_bearer"},' "$2" "$3"
	printf '{"client_id":"%s","secret":"%s","grant":"client_credentials"}],' "$4" "$5"
	printf '"identity_providers":{"pureengage":{"name":"PureEngage",'
	printf '"issuerURI":"%s","certificate":"%s","autoProvisionUsers":true}}}' \
	    "$issuer" "$(body "$6")"
}
{
	printf '{"audience":"%s","organizations":[' "$auth_url"
	org acme-org acme-saml acme-saml-SECRET acme-ewt acme-ewt-SECRET "$keys/cert.pem"
	printf ','
	org globex-org globex-saml globex-saml-SECRET globex-ewt globex-ewt-SECRET \
	    "$top_srcdir/tests/data/keys/vendor-traditional/cert.pem"
	printf ']}\n'
} > "$tmp/emulator.json"
emucfg="$tmp/emulator.json"

"$sb" check -c "$cfg" > "$tmp/check.out" 2>&1
if grep -q "not implemented" "$tmp/check.out"; then
	echo "SKIP: configuration loading is not implemented yet"
	exit 77
fi
if ! grep -qx "configuration OK" "$tmp/check.out"; then
	fail "samlbroker check of the test configuration: $(cat "$tmp/check.out")"
	exit 1
fi

# Configurations the emulator does not share: assertions minted from them
# must fail exactly one check each.
for variant in audience recipient issuer; do
	conf "$tmp/$variant"
	opt=; t_issuer=
	case $variant in
	audience)	opt="audience = https://wrong.emulator.test/";;
	recipient)	opt="recipient = https://wrong.emulator.test/oauth/token";;
	issuer)		t_issuer=https://wrong.emulator.test/idp;;
	esac
	write_tenant "$tmp/$variant/tenants/acme.cfg" acme-org acme-saml \
	    acme-saml-SECRET acme-ewt acme-ewt-SECRET ${opt:+"$opt"}
done
t_issuer=

# Start on ephemeral ports; the port file says which.
${SAMLBROKER_WRAPPER:-} "$emu" -c "$emucfg" --listen 127.0.0.1:0 \
    --https-listen 127.0.0.1:0 --tls-dir "$tmp/tls" --port-file "$tmp/ports" \
    --expires-in 3600 2> "$tmp/emu.log" &
pid=$!
i=0
while [ ! -s "$tmp/ports" ] && [ $i -lt 600 ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		fail "emulator exited at start: $(cat "$tmp/emu.log")"
		pid=
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
http_port=$(awk '$1 == "http" { print $2 }' "$tmp/ports")
https_port=$(awk '$1 == "https" { print $2 }' "$tmp/ports")
if [ -z "$http_port" ] || [ -z "$https_port" ]; then
	fail "port file: $(cat "$tmp/ports" 2>/dev/null)"
	exit 1
fi
pass "listening on http $http_port and https $https_port"
base="http://127.0.0.1:$http_port"

for f in emulator-cert.pem emulator-key.pem; do
	[ -s "$tmp/tls/$f" ] || fail "$f was not made"
done
mode=$(stat -c %a "$tmp/tls/emulator-key.pem")
[ "$mode" = 600 ] && pass "key mode 600" || fail "emulator-key.pem mode $mode, wanted 600"
openssl x509 -in "$tmp/tls/emulator-cert.pem" -noout -ext subjectAltName 2>/dev/null |
    grep -q "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" &&
    pass "certificate names localhost, 127.0.0.1 and ::1" ||
    fail "certificate subjectAltName"

# post USER:SECRET FORM-ARGS...: POST /oauth/token; body in $tmp/body,
# status in $code, curl's exit in $rc, headers in $tmp/headers.
post() {
	user=$1; shift
	code=$(curl -sS --max-time 60 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
	    -u "$user" "$@" "$base/oauth/token" 2>"$tmp/curl.err")
	rc=$?
}
cc() {	# USER:SECRET
	post "$1" --data-urlencode grant_type=client_credentials
}
bearer() {	# USER:SECRET ORG ASSERTION
	post "$1" --data-urlencode "grant_type=$saml_grant" \
	    --data-urlencode "orgName=$2" --data-urlencode "assertion=$3"
}
control() {	# METHOD PATH [JSON]
	if [ $# -gt 2 ]; then
		curl -sS --max-time 60 -X "$1" -H 'Content-Type: application/json' \
		    --data "$3" "$base$2"
	else
		curl -sS --max-time 60 -X "$1" "$base$2"
	fi
}
expect() {	# WHAT STATUS BODY
	got=$(cat "$tmp/body")
	if [ "$code" = "$2" ] && [ "$got" = "$3" ]; then
		pass "$1"
	else
		fail "$1: got $code $got, wanted $2 $3"
	fi
}
expect_token() {	# WHAT EXPIRES_IN
	if [ "$code" = 200 ] && grep -Eqx '\{"access_token":"[A-Za-z0-9_-]{43}","token_type":"bearer","expires_in":'"$2"'\}' "$tmp/body"; then
		pass "$1"
	else
		fail "$1: got $code $(cat "$tmp/body")"
	fi
}
oauth_error() {	# ERROR DESCRIPTION
	printf '{"error":"%s","description":"%s","error_description":"%s"}' "$1" "$2" "$2"
}
invalid_client=$(oauth_error invalid_client "authentication failed")
grant_error() {
	oauth_error invalid_grant "$1"
}
expect_counters() {	# WHAT JSON
	got=$(control GET /emulator/counters)
	if [ "$got" = "$2" ]; then
		pass "$1"
	else
		fail "$1: counters $got, wanted $2"
	fi
}
counters() {	# CC_OK CC_REJ SAML_OK SAML_REJ FAULTED TOTAL LAST_SUBJECT_JSON
	printf '{"client_credentials":{"ok":%s,"rejected":%s},"saml2_bearer":{"ok":%s,"rejected":%s},"api":{"ok":0,"rejected":0},"faulted":%s,"total":%s,"rate_limited":0,"last_subject":%s}' "$@"
}

expect_counters "counters start at zero" "$(counters 0 0 0 0 0 0 null)"

# Client Credentials.
cc acme-ewt:acme-ewt-SECRET
expect_token "client credentials" 3600
grep -qi '^Content-Type: application/json' "$tmp/headers" || fail "token Content-Type"
tok1=$(cat "$tmp/body")
cc globex-ewt:globex-ewt-SECRET
expect_token "client credentials of the second tenant" 3600
[ "$(cat "$tmp/body")" != "$tok1" ] || fail "two tokens are equal"
cc acme-ewt:wrong-secret
expect "wrong secret" 401 "$invalid_client"
cc nobody:acme-ewt-SECRET
expect "unknown client" 401 "$invalid_client"
cc acme-ewt:globex-ewt-SECRET
expect "another tenant's secret" 401 "$invalid_client"
code=$(curl -sS -o "$tmp/body" -w '%{http_code}' -d grant_type=client_credentials \
    "$base/oauth/token")
expect "no credentials at all" 401 "$invalid_client"
cc acme-saml:acme-saml-SECRET
expect "saml_auth client cannot use client credentials" 400 \
    "$(oauth_error unauthorized_client "client is not authorized for the client_credentials grant")"
post acme-ewt:acme-ewt-SECRET -H 'Content-Type: application/json' --data '{"grant_type":"client_credentials"}'
expect "JSON body" 400 "$(oauth_error invalid_request "Content-Type must be application/x-www-form-urlencoded")"
post acme-ewt:acme-ewt-SECRET --data grant_type=password
expect "unsupported grant" 400 "$(oauth_error unsupported_grant_type "grant_type is not supported")"
post acme-ewt:acme-ewt-SECRET --data grant_type=client_credentials --data grant_type=client_credentials
expect "repeated parameter" 400 "$(oauth_error invalid_request "a parameter is repeated")"
head -c 300000 /dev/zero | tr '\0' a > "$tmp/big"
post acme-ewt:acme-ewt-SECRET --data-binary "@$tmp/big"
[ "$code" = 413 ] && pass "body over 256 KiB refused" || fail "big body: $code"
expect_counters "counters after client credentials" "$(counters 2 6 0 0 0 10 null)"
[ "$(control GET /emulator/nothing)" = "$(oauth_error not_found "no such control")" ] &&
    pass "unknown control" || fail "unknown control"

# HTTPS with the emulator's own certificate.
code=$(curl -sS --max-time 60 --cacert "$tmp/tls/emulator-cert.pem" -o "$tmp/body" \
    -w '%{http_code}' -u acme-ewt:acme-ewt-SECRET -d grant_type=client_credentials \
    "https://localhost:$https_port/oauth/token" 2>"$tmp/curl.err")
expect_token "client credentials over HTTPS (localhost)" 3600
code=$(curl -sS --max-time 60 --cacert "$tmp/tls/emulator-cert.pem" -o "$tmp/body" \
    -w '%{http_code}' --tlsv1.2 --tls-max 1.2 "https://127.0.0.1:$https_port/emulator/counters" 2>"$tmp/curl.err")
[ "$code" = 200 ] && pass "HTTPS by address, TLS 1.2" || fail "HTTPS by address: $code $(cat "$tmp/curl.err")"
if curl -sS --max-time 60 -o /dev/null "https://127.0.0.1:$https_port/emulator/counters" 2>/dev/null; then
	fail "HTTPS accepted without the emulator's certificate"
else
	pass "HTTPS needs the emulator's certificate"
fi
control POST /emulator/reset > /dev/null

# SAML2 Bearer.
if ! "$sb" mint -c "$cfg" -t acme -u agent@example.com > "$tmp/acme.b64" 2>"$tmp/mint.err"; then
	echo "SKIP (SAML parts): samlbroker mint failed: $(cat "$tmp/mint.err")"
	saml=no
else
	saml=yes
fi
if [ $saml = yes ]; then
	a=$(cat "$tmp/acme.b64")
	bearer acme-saml:acme-saml-SECRET acme-org "$a"
	expect_token "SAML2 Bearer" 3600
	expect_counters "last_subject" "$(counters 0 0 1 0 0 1 '"agent@example.com"')"
	"$sb" mint -c "$cfg" -t globex -u boss@example.com > "$tmp/globex.b64"
	bearer globex-saml:globex-saml-SECRET globex-org "$(cat "$tmp/globex.b64")"
	expect_token "SAML2 Bearer with a signed Response too" 3600
	bearer acme-saml:acme-saml-SECRET globex-org "$a"
	expect "wrong orgName" 400 "$(oauth_error invalid_grant "orgName does not match the client's organization")"
	bearer acme-saml:acme-saml-SECRET "" "$a"
	expect "no orgName" 400 "$(oauth_error invalid_request "orgName is required")"
	bearer acme-ewt:acme-ewt-SECRET acme-org "$a"
	expect "service client cannot use saml2-bearer" 400 \
	    "$(oauth_error unauthorized_client "client is not authorized for the saml2-bearer grant")"
	bearer acme-saml:wrong acme-org "$a"
	expect "SAML2 Bearer with a wrong secret" 401 "$invalid_client"
	bearer globex-saml:globex-saml-SECRET globex-org "$a"
	expect "another tenant's assertion" 400 "$(grant_error "Assertion signature does not verify")"

	base64 -d "$tmp/acme.b64" > "$tmp/acme.xml"
	sed 's/agent@example\.com/root@example.com/' "$tmp/acme.xml" | base64 -w0 > "$tmp/x.b64"
	bearer acme-saml:acme-saml-SECRET acme-org "$(cat "$tmp/x.b64")"
	expect "tampered NameID" 400 "$(grant_error "Assertion signature does not verify")"
	printf 'not base64!' > "$tmp/x.b64"
	bearer acme-saml:acme-saml-SECRET acme-org "$(cat "$tmp/x.b64")"
	expect "not base64" 400 "$(grant_error "assertion is not valid base64")"
	printf '<a>' | base64 -w0 > "$tmp/x.b64"
	bearer acme-saml:acme-saml-SECRET acme-org "$(cat "$tmp/x.b64")"
	expect "not XML" 400 "$(grant_error "assertion is not well-formed XML")"
	{ printf '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]>'; tail -n +2 "$tmp/acme.xml"; } |
	    base64 -w0 > "$tmp/x.b64"
	bearer acme-saml:acme-saml-SECRET acme-org "$(cat "$tmp/x.b64")"
	expect "DTD" 400 "$(grant_error "assertion must not contain a DTD")"
	if command -v python3 >/dev/null 2>&1; then
		# Signature wrapping: the signed Assertion kept, a forged one beside it.
		python3 - "$tmp/acme.xml" > "$tmp/x.xml" <<'EOF'
import re, sys
doc = open(sys.argv[1]).read()
m = re.search(r'<saml:Assertion .*</saml:Assertion>', doc, re.S)
forged = re.sub(r'<ds:Signature.*</ds:Signature>', '', m.group(0), flags=re.S)
forged = forged.replace('agent@example.com', 'root@example.com').replace(' ID="', ' ID="forged')
sys.stdout.write(doc[:m.start()] + forged + doc[m.start():])
EOF
		base64 -w0 "$tmp/x.xml" > "$tmp/x.b64"
		bearer acme-saml:acme-saml-SECRET acme-org "$(cat "$tmp/x.b64")"
		expect "signature wrapping" 400 "$(grant_error "expected exactly one Assertion, found 2")"
		# The Assertion's signature removed.
		python3 - "$tmp/acme.xml" > "$tmp/x.xml" <<'EOF'
import re, sys
doc = open(sys.argv[1]).read()
sys.stdout.write(re.sub(r'<ds:Signature.*</ds:Signature>', '', doc, flags=re.S))
EOF
		base64 -w0 "$tmp/x.xml" > "$tmp/x.b64"
		bearer acme-saml:acme-saml-SECRET acme-org "$(cat "$tmp/x.b64")"
		expect "unsigned assertion" 400 "$(grant_error "Assertion is not signed")"
	else
		echo "SKIP (wrapping): python3 is not installed"
	fi
	for variant in audience recipient issuer; do
		"$sb" mint -c "$tmp/$variant/samlbroker.conf" -t acme -u agent@example.com \
		    > "$tmp/x.b64" 2>"$tmp/mint.err" || fail "mint with another $variant"
		bearer acme-saml:acme-saml-SECRET acme-org "$(cat "$tmp/x.b64")"
		case $variant in
		audience)	want="Audience does not match";;
		recipient)	want="Recipient does not match";;
		issuer)		want="Issuer does not match";;
		esac
		expect "another $variant" 400 "$(grant_error "$want")"
	done

	# The emulator's clock an hour ahead: the assertion has expired.
	[ "$(control POST /emulator/config '{"clock_offset":3600}')" = \
	    '{"expires_in":3600,"clock_offset":3600.0,"token_rate":0.0,"token_burst":0.0,"token_latency_ms":0}' ] ||
	    fail "config answer"
	bearer acme-saml:acme-saml-SECRET acme-org "$a"
	expect "expired assertion" 400 "$(grant_error "assertion has expired (NotOnOrAfter)")"
	control POST /emulator/config '{"clock_offset":-3600}' > /dev/null
	bearer acme-saml:acme-saml-SECRET acme-org "$a"
	expect "assertion not yet valid" 400 "$(grant_error "assertion is not yet valid (NotBefore)")"
	control POST /emulator/config '{"clock_offset":5,"expires_in":300}' > /dev/null
	bearer acme-saml:acme-saml-SECRET acme-org "$a"
	expect_token "within the skew, with a new lifetime" 300
	expect_counters "SAML counters" "$(counters 0 0 3 16 0 19 '"agent@example.com"')"
	[ "$(control POST /emulator/config '{"clock":1}')" = \
	    "$(oauth_error invalid_request "config takes expires_in (integer seconds), clock_offset (seconds), token_rate (requests a second, 0: none), token_burst (requests, 0: a tenth of the rate) and token_latency_ms (0 to 600000)")" ] &&
	    pass "bad config refused" || fail "bad config accepted"
fi

# Faults.
control POST /emulator/reset > /dev/null
expect_counters "reset" "$(counters 0 0 0 0 0 0 null)"
[ "$(control GET /emulator/config)" = '{"expires_in":3600,"clock_offset":0.0,"token_rate":0.0,"token_burst":0.0,"token_latency_ms":0}' ] &&
    pass "reset restores config" || fail "reset config: $(control GET /emulator/config)"

# The token endpoint's rate limit: one request a second per organization,
# then 429 with Retry-After; another organization has its own.
control POST /emulator/config '{"token_rate":0.5,"token_burst":1,"token_latency_ms":20}' > /dev/null
cc acme-ewt:acme-ewt-SECRET
expect_token "within the rate" 3600
cc acme-ewt:acme-ewt-SECRET
expect "beyond the rate" 429 "$(oauth_error too_many_requests "rate limit exceeded")"
grep -q '^Retry-After: 2' "$tmp/headers" && pass "rate limit: Retry-After" ||
    fail "rate limit: no Retry-After 2: $(cat "$tmp/headers")"
cc globex-ewt:globex-ewt-SECRET
expect_token "another organization's own rate" 3600
got=$(control GET /emulator/counters)
case $got in *'"rate_limited":1,'*) pass "rate_limited counted" ;;
*) fail "rate_limited: $got" ;; esac
control POST /emulator/reset > /dev/null

control POST /emulator/faults '{"status":503,"retry_after":"2","count":1}' > /dev/null
cc acme-ewt:acme-ewt-SECRET
expect "fault: 503" 503 '{"error":"server_error"}'
grep -q '^Retry-After: 2' "$tmp/headers" && pass "fault: Retry-After" || fail "no Retry-After"
cc acme-ewt:acme-ewt-SECRET
expect_token "fault used up after count 1" 3600

control POST /emulator/faults '{"status":429,"body":"{\"message\":\"slow down\"}","retry_after":7,"count":2}' > /dev/null
cc acme-ewt:acme-ewt-SECRET
expect "fault: 429 with a body" 429 '{"message":"slow down"}'
grep -q '^Retry-After: 7' "$tmp/headers" && pass "fault: numeric Retry-After" || fail "no Retry-After 7"
cc acme-ewt:wrong
expect "fault before authentication" 429 '{"message":"slow down"}'
cc acme-ewt:acme-ewt-SECRET
expect_token "fault used up after count 2" 3600

control POST /emulator/faults '{"malformed":true,"count":1}' > /dev/null
cc acme-ewt:acme-ewt-SECRET
if [ "$code" = 200 ] && ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/body" 2>/dev/null; then
	pass "fault: malformed 200"
else
	fail "fault: malformed: $code $(cat "$tmp/body")"
fi

control POST /emulator/faults '{"drop":true,"count":1}' > /dev/null
cc acme-ewt:acme-ewt-SECRET
[ "$rc" = 52 ] && pass "fault: drop (curl 52)" || fail "fault: drop: curl exit $rc code $code"

control POST /emulator/faults '{"delay_ms":1500,"count":1}' > /dev/null
t0=$(date +%s%N)
cc acme-ewt:acme-ewt-SECRET
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
if [ "$ms" -ge 1500 ]; then
	expect_token "fault: delayed token after ${ms} ms" 3600
else
	fail "fault: delay: answered after $ms ms"
fi

control POST /emulator/faults '{"status":502,"delay_ms":300,"grant":"saml2_bearer"}' > /dev/null
cc acme-ewt:acme-ewt-SECRET
expect_token "fault for another grant does not apply" 3600
if [ $saml = yes ]; then
	bearer acme-saml:acme-saml-SECRET acme-org "$a"
	expect "fault for saml2_bearer" 502 '{"error":"server_error"}'
	bearer acme-saml:acme-saml-SECRET acme-org "$a"
	expect "fault without count stays" 502 '{"error":"server_error"}'
fi
[ "$(control DELETE /emulator/faults)" = '{"active":false}' ] && pass "faults cleared" ||
    fail "DELETE faults"
[ "$(control POST /emulator/faults '{"drop":true,"malformed":true}')" = \
    "$(oauth_error invalid_request "malformed and drop exclude each other")" ] &&
    pass "contradictory fault refused" || fail "contradictory fault accepted"
[ "$(control POST /emulator/faults '{"stauts":500}')" = \
    "$(oauth_error invalid_request "unknown field 'stauts' in fault")" ] &&
    pass "misspelt fault refused" || fail "misspelt fault accepted"
cc acme-ewt:acme-ewt-SECRET
expect_token "no fault after clearing" 3600
if [ $saml = yes ]; then
	expect_counters "counters with faults" "$(counters 5 0 0 0 8 12 null)"
else
	expect_counters "counters with faults" "$(counters 5 0 0 0 6 10 null)"
fi

# The platform API wants a bearer token from the emulator's own token
# endpoint; a Client Credentials client without the admin flag may read
# the organization but not its identity providers.
code=$(curl -sS --max-time 60 -o "$tmp/body" -w '%{http_code}' "$base/api/v2/organizations/me")
[ "$code" = 401 ] && grep -q '"code":"bad.credentials"' "$tmp/body" &&
    pass "API without a token: 401" || fail "API without a token: $code"
cc acme-ewt:acme-ewt-SECRET
api_token=$(sed 's/.*"access_token":"\([^"]*\)".*/\1/' "$tmp/body")
api() {	# PATH: GET with the token; status in $code, body in $tmp/body
	code=$(curl -sS --max-time 60 -o "$tmp/body" -w '%{http_code}' \
	    -H "Authorization: Bearer $api_token" "$base$1")
}
api /api/v2/organizations/me
[ "$code" = 200 ] && grep -q '"thirdPartyOrgName":"acme-org"' "$tmp/body" &&
    pass "organizations/me" || fail "organizations/me: $code"
api /api/v2/identityproviders/pureengage
[ "$code" = 403 ] && grep -q 'sso:provider:add' "$tmp/body" &&
    pass "identity providers need an admin client" || fail "non-admin: $code"
api_token=not-a-token
api /api/v2/organizations/me
[ "$code" = 401 ] && pass "API with an unknown token: 401" || fail "unknown token: $code"

# A request waiting in a delay when the emulator stops is freed, not leaked.
faulted() { control GET /emulator/counters | sed -n 's/.*"faulted": *\([0-9]*\).*/\1/p'; }
before=$(faulted)
control POST /emulator/faults '{"delay_ms":60000}' > /dev/null
curl -s --max-time 60 -o /dev/null -u acme-ewt:acme-ewt-SECRET \
    -d grant_type=client_credentials "$base/oauth/token" &
cpid=$!
i=0	# until the emulator holds it (a deadline, not a sleep: 60 s)
while [ "$(faulted)" = "$before" ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
wait "$cpid" 2>/dev/null
[ "$st" = 0 ] && pass "stops on SIGTERM with exit 0" || fail "exit status $st after SIGTERM"

# Nothing secret in the log, and one line per request.
for secret in "$(cat "$top_srcdir/tests/data/keys/vendor-traditional/password")" acme-ewt-SECRET acme-saml-SECRET globex-ewt-SECRET globex-saml-SECRET \
    "$(cat "$keys/password")" PHNhbWxw access_token; do
	if grep -qF -- "$secret" "$tmp/emu.log"; then
		fail "the log holds a secret or token: $secret"
	fi
done
grep -q 'request method=POST path=/oauth/token status=401 grant=client_credentials client_id=acme-ewt fault=no reason="authentication failed"' \
    "$tmp/emu.log" && pass "log line" || fail "log line missing: $(tail -3 "$tmp/emu.log")"
grep -q 'request method=POST path=/oauth/token status=dropped grant=client_credentials client_id=acme-ewt fault=yes reason="injected fault"' \
    "$tmp/emu.log" && pass "log line of a drop" || fail "log line of a drop missing"

# Its own configuration fails closed: each mistake exits 1 with the reason.
bad_config() {	# WHAT JSON EXPECTED-TEXT
	printf '%s\n' "$2" > "$tmp/bad.json"
	if "$emu" -c "$tmp/bad.json" --listen 127.0.0.1:0 2> "$tmp/bad.err"; then
		fail "bad config ($1) accepted"
	elif grep -qF "$3" "$tmp/bad.err"; then
		pass "bad config refused: $1"
	else
		fail "bad config ($1): $(cat "$tmp/bad.err")"
	fi
}
org_ok='"name":"o","id":"i","clients":[{"client_id":"c","secret":"s","grant":"client_credentials"}]'
bad_config "not JSON" '{"organizations": [' "line 2"
bad_config "unknown key" '{"audience":"a","organisations":[]}' 'the file: unknown key "organisations"'
bad_config "no audience" "{\"organizations\":[{$org_ok}]}" "audience is required"
bad_config "bad grant" '{"audience":"a","organizations":[{"name":"o","id":"i","clients":[{"client_id":"c","secret":"s","grant":"password"}]}]}' 'needs client_id, secret and grant'
bad_config "bad provider" "{\"audience\":\"a\",\"organizations\":[{$org_ok,\"identity_providers\":{\"pureengage\":{\"name\":\"P\",\"issuerURI\":\"x:y\",\"certificate\":\"QUJD\"}}}]}" "identity provider pureengage: certificate is not an X.509 certificate"
bad_config "unknown provider type" "{\"audience\":\"a\",\"organizations\":[{$org_ok,\"identity_providers\":{\"okay\":{}}}]}" 'unknown identity provider type "okay"'

# A second start reuses the certificate.
sum=$(cksum < "$tmp/tls/emulator-cert.pem")
"$emu" -c "$emucfg" --https-listen 127.0.0.1:0 --tls-dir "$tmp/tls" \
    --port-file "$tmp/ports2" 2>>"$tmp/emu.log" &
pid=$!
i=0
while [ ! -s "$tmp/ports2" ] && [ $i -lt 600 ] && kill -0 "$pid" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(cksum < "$tmp/tls/emulator-cert.pem")" = "$sum" ] && pass "certificate reused" ||
    fail "certificate was replaced"

if [ $failures -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all passed"
exit 0
