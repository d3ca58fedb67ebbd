#!/bin/sh
# Makes the tenant files of tests/vendor_forms.sh: the vendor's encoded
# files (../keys/vendor-pkcs8 and ../keys/vendor-traditional, made with the
# vendor's exact openssl commands, see ../keys/README) placed in a tenant's
# [saml] section in each form a user following the vendor's steps ends up
# with.  The output is committed; run this again only to change the cases.
#
#   wrapped        certificate = <the .b64 file pasted as is>: 64-column
#                  continuation lines, not indented
#   indented       the same, continuation lines indented by four spaces
#   indented-empty "certificate =" then every line of the file indented
#   tab            continuation lines indented by a tab, CRLF line ends
#   file           certificate = file:PATH and pkey = file:PATH to the .b64
#                  files themselves (relative to the tenant file)
set -eu
cd "$(dirname "$0")"

# paste FORM FILE: the option value's lines for one .b64 file.
paste_b64() {
	case $1 in
	wrapped)	sed -e '1s/^/ /' "$2";;
	indented)	sed -e '1s/^/ /' -e '2,$s/^/    /' "$2";;
	indented-empty)	printf '\n'; sed -e 's/^/    /' "$2";;
	tab)		sed -e '1s/^/ /' -e '2,$s/^/\t/' "$2";;
	esac
}

for kind in pkcs8 traditional; do
	for form in wrapped indented indented-empty tab file; do
		d="$kind-$form"
		keys="../../../keys/vendor-$kind"
		mkdir -p "$d/tenants"
		printf '[broker]\nlisten = unix:/run/samlbroker-test/%s.sock\ntenants_dir = tenants\n' \
		    "$d" > "$d/samlbroker.conf"
		{
			printf '[general]\norganization_sname = acme\n'
			printf 'organization_id = 3b1f0c7e-5d2a-4a8e-9c61-0f2b7d4e8a90\n'
			printf 'base_auth_url = https://login.mypurecloud.ie/oauth/token\n'
			printf 'base_service_url = https://api.mypurecloud.ie/api/\n\n'
			printf '[saml]\nissuer = https://www.genesys.com/pureengage\n'
			if [ $form = file ]; then
				printf 'certificate = file:%s/cert.pem.b64\n' "$keys"
				printf 'pkey = file:%s/key.pem.enc.b64\n' "$keys"
			else
				printf 'certificate ='
				paste_b64 $form "../keys/vendor-$kind/cert.pem.b64"
				printf 'pkey ='
				paste_b64 $form "../keys/vendor-$kind/key.pem.enc.b64"
			fi
			printf 'password = file:%s/password\n\n' "$keys"
			printf '[saml_auth]\nclient_id = saml-client\npassword = SECRET-saml\n\n'
			printf '[ewt]\nclient_id = ewt-client\npassword = SECRET-ewt\n'
		} > "$d/tenants/acme.cfg"
		if [ $form = tab ]; then
			sed -i 's/$/\r/' "$d/tenants/acme.cfg"
		fi
	done
done
