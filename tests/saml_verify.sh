#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# saml_verify.sh - `samlbroker mint` output checked by another verifier: the
# xmlsec1 command line, with the fixture certificate as the only trusted key.
#
#   acme:   Assertion signed; audience, recipient, destination by default
#   globex: Assertion and Response signed; every override; ServiceName
# Each signature must verify, must fail with another certificate, and must
# fail once the NameID, the Audience, a NotOnOrAfter or an attribute value
# is changed.  The base64 form must decode to a document that verifies too.
# Exit 77 (skip) while `samlbroker check` says "not implemented", or when
# xmlsec1 is not installed.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
bin="$top_builddir/samlbroker"
keys="$top_srcdir/tests/data/keys"
cert="$keys/vendor-pkcs8/cert.pem"
other_cert="$keys/vendor-traditional/cert.pem"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

if ! command -v xmlsec1 >/dev/null 2>&1; then
	echo "SKIP: xmlsec1 is not installed"
	exit 77
fi

# One tenant file: tenant NAME SIGN_RESPONSE [extra [saml] lines...]
tenant() {
	name=$1 sign=$2
	shift 2
	{
		printf '[general]\n'
		printf 'organization_sname = %s-org\n' "$name"
		printf 'organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n'
		printf 'base_auth_url = https://login.mypurecloud.ie/oauth/token\n'
		printf 'base_service_url = https://api.mypurecloud.ie/api/\n'
		printf '[saml]\n'
		printf 'issuer = https://www.genesys.com/pureengage\n'
		printf 'certificate = %s\n' "$(tr -d '\n' <"$keys/vendor-pkcs8/cert.pem.b64")"
		printf 'pkey = %s\n' "$(tr -d '\n' <"$keys/vendor-pkcs8/key.pem.enc.b64")"
		printf 'password = %s\n' "$(cat "$keys/vendor-pkcs8/password")"
		printf 'expire_time = 24\n'
		printf 'sign_response = %s\n' "$sign"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
		printf '[saml_auth]\n'
		printf 'client_id = 7d1e2f3a-0000-4000-8000-00000000a001\n'
		printf 'password = SECRET-saml-auth-client\n'
	} >"$tmp/tenants/$name.cfg"
}

mkdir "$tmp/tenants"
printf '[broker]\ntenants_dir = %s\n' "$tmp/tenants" >"$tmp/samlbroker.conf"
tenant acme no
tenant globex yes 'audience = urn:gc:globex' \
    'recipient = https://login.mypurecloud.ie/saml' \
    'destination = https://login.mypurecloud.ie/oauth/token?d=1' \
    'service_name = globex-desktop' 'assertion_lifetime = 120' \
    'name_id_format = urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified' \
    'authn_context_class = urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'

chmod 600 "$tmp/samlbroker.conf" "$tmp/tenants/"*.cfg
if ! "$bin" check -c "$tmp/samlbroker.conf" >"$tmp/check.out" 2>&1; then
	if grep -q 'not implemented' "$tmp/check.out"; then
		echo "SKIP: samlbroker check cannot load a configuration yet:"
		sed 's/^/    /' "$tmp/check.out"
		exit 77
	fi
	echo "FAIL: samlbroker check refuses the test configuration:"
	sed 's/^/    /' "$tmp/check.out"
	exit 1
fi

# mint TENANT EMAIL OUT [--xml]
mint() {
	if ! ${SAMLBROKER_WRAPPER:-} "$bin" mint -c "$tmp/samlbroker.conf" -t "$1" \
	    -u "$2" ${4:-} >"$3" 2>"$tmp/mint.err"; then
		echo "FAIL: samlbroker mint -t $1 failed:"
		sed 's/^/    /' "$tmp/mint.err"
		exit 1
	fi
}

# verify FILE ID CERT: xmlsec1 checks the Signature inside the element ID.
verify() {
	xmlsec1 --verify --enabled-reference-uris same-doc \
	    --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion \
	    --id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response \
	    --pubkey-cert-pem "$3" --node-id "$2" "$1" >"$tmp/xmlsec.out" 2>&1
}

expect_valid() {	# expect_valid WHAT FILE ID
	if ! verify "$2" "$3" "$cert"; then
		echo "FAIL $1: does not verify:"
		sed 's/^/    /' "$tmp/xmlsec.out"
		fail=1
	fi
	if verify "$2" "$3" "$other_cert"; then
		echo "FAIL $1: verifies with another certificate"
		fail=1
	fi
}

expect_broken() {	# expect_broken WHAT FILE ID SED-EXPRESSION
	sed "$4" "$2" >"$tmp/tampered.xml"
	if cmp -s "$2" "$tmp/tampered.xml"; then
		echo "FAIL $1: the change '$4' matched nothing"
		fail=1
	elif verify "$tmp/tampered.xml" "$3" "$cert"; then
		echo "FAIL $1: still verifies after '$4'"
		fail=1
	fi
}

attr_id() {	# attr_id FILE ELEMENT: the ID attribute of the first ELEMENT
	sed -n "s/.*<$2 [^>]* ID=\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1
}

check_tenant() {	# check_tenant TENANT SIGN_RESPONSE ORG
	t=$1
	mint "$t" "o'hara&co@example.com" "$tmp/$t.xml" --xml
	aid=$(attr_id "$tmp/$t.xml" saml:Assertion)
	rid=$(attr_id "$tmp/$t.xml" samlp:Response)
	if [ -z "$aid" ] || [ -z "$rid" ]; then
		echo "FAIL $t: no Assertion or Response ID in the minted XML"
		fail=1
		return
	fi
	targets=$aid
	[ "$2" = yes ] && targets="$aid $rid"
	if [ "$2" = no ] && grep -q '<samlp:Response [^>]*><saml:Issuer>[^<]*</saml:Issuer><ds:Signature' "$tmp/$t.xml"; then
		echo "FAIL $t: Response signed although sign_response = no"
		fail=1
	fi
	for id in $targets; do
		what="$t ${id}"
		expect_valid "$what" "$tmp/$t.xml" "$id"
		expect_broken "$what NameID" "$tmp/$t.xml" "$id" \
		    's|\(<saml:NameID [^>]*>\)o|\1O|'
		expect_broken "$what Audience" "$tmp/$t.xml" "$id" \
		    's|<saml:Audience>\(.\)|<saml:Audience>x\1|'
		expect_broken "$what Conditions/NotOnOrAfter" "$tmp/$t.xml" "$id" \
		    's|\(<saml:Conditions [^>]*NotOnOrAfter="\)2|\13|'
		expect_broken "$what SubjectConfirmationData/NotOnOrAfter" "$tmp/$t.xml" "$id" \
		    's|\(<saml:SubjectConfirmationData NotOnOrAfter="\)2|\13|'
		expect_broken "$what OrganizationName" "$tmp/$t.xml" "$id" \
		    "s|>$3</saml:AttributeValue>|>$3x</saml:AttributeValue>|"
	done

	# The base64 form: one line that decodes to a signed Response.
	mint "$t" "agent@example.com" "$tmp/$t.b64"
	if [ "$(wc -l <"$tmp/$t.b64")" -ne 1 ] || ! base64 -d "$tmp/$t.b64" >"$tmp/$t-b64.xml" 2>/dev/null; then
		echo "FAIL $t: the base64 output is not one line of base64"
		fail=1
		return
	fi
	if ! head -n 1 "$tmp/$t-b64.xml" | grep -qx '<?xml version="1.0" encoding="UTF-8"?>' ||
	    ! grep -q '<saml:NameID [^>]*>agent@example.com</saml:NameID>' "$tmp/$t-b64.xml"; then
		echo "FAIL $t: the base64 output does not decode to a SAMLResponse"
		fail=1
		return
	fi
	expect_valid "$t base64 assertion" "$tmp/$t-b64.xml" "$(attr_id "$tmp/$t-b64.xml" saml:Assertion)"
	if [ "$2" = yes ]; then
		expect_valid "$t base64 response" "$tmp/$t-b64.xml" \
		    "$(attr_id "$tmp/$t-b64.xml" samlp:Response)"
	fi
}

check_tenant acme no acme-org
check_tenant globex yes globex-org

# The overrides reached the document.
for want in 'Destination="https://login.mypurecloud.ie/oauth/token?d=1"' \
    '<saml:Audience>urn:gc:globex</saml:Audience>' \
    'Recipient="https://login.mypurecloud.ie/saml"' \
    '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">' \
    '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>' \
    '<saml:Attribute Name="ServiceName" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"><saml:AttributeValue xsi:type="xs:string">globex-desktop</saml:AttributeValue>'; do
	if ! grep -qF "$want" "$tmp/globex.xml"; then
		echo "FAIL globex: no $want"
		fail=1
	fi
done
for want in '<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">' \
    '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef>'; do
	if ! grep -qF "$want" "$tmp/acme.xml"; then
		echo "FAIL acme: no default $want"
		fail=1
	fi
done
# A value that is not a URI is an error that names the option.
for opt in name_id_format authn_context_class; do
	tenant initech no "$opt = email address"
	chmod 600 "$tmp/tenants/initech.cfg"
	if "$bin" check -c "$tmp/samlbroker.conf" >"$tmp/check.out" 2>&1 ||
	    ! grep -q "initech.cfg: \[saml\] $opt: must be a URI" "$tmp/check.out"; then
		echo "FAIL: $opt = 'email address' is not refused:"
		sed 's/^/    /' "$tmp/check.out"
		fail=1
	fi
	rm -f "$tmp/tenants/initech.cfg"
done
if grep -q 'Name="ServiceName"' "$tmp/acme.xml"; then
	echo "FAIL acme: a ServiceName attribute although none is configured"
	fail=1
fi

[ "$fail" -eq 0 ] && echo "PASS: xmlsec1 verifies minted responses and rejects altered ones"
exit "$fail"
