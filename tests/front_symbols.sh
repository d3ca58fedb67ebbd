#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# front_symbols.sh - the link line shows the process model: the front
# (samlbroker-front) holds no code that loads a private key, decrypts,
# signs or starts a program.  nm lists what it defines and what it
# imports; any of these names fails the test.  The same check on the
# samlbroker binary must find them (so that this test can fail).
set -u

: "${top_builddir:=.}"
front="$top_builddir/samlbroker-front"
full="$top_builddir/samlbroker"
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }
[ -x "$front" ] && [ -x "$full" ] || { echo "SKIP: binaries not built"; exit 77; }

# Private-key loading and use (OpenSSL, xmlsec, ours), starting programs,
# and the Kerberos acceptor and keytabs (the negotiator's alone: the front
# passes it tokens).
# The one private key the front holds, the https: listeners' TLS key, goes
# from its PEM text into the TLS context through libssl alone
# (SSL_CTX_use_PrivateKey_ASN1, server_tls.c): no decoder of the front's.
forbidden='PEM_read_bio_PrivateKey|PEM_read_bio_PrivateKey_ex|PEM_read_PrivateKey|d2i_PrivateKey|d2i_AutoPrivateKey|OSSL_DECODER_from_bio|EVP_PKEY_decrypt|EVP_PKEY_sign|EVP_DigestSign|RSA_private|ENGINE_load_private_key|xmlSecDSigCtxSign|xmlSecCryptoAppKeyLoad|xmlSecOpenSSLAppKeyLoad|keystore_key_load|keystore_pkcs11_load|saml_signer_new|saml_mint_response|signer_main|keygen_|cmd_keygen|cmd_provision|execve|execv|execvp|execl|posix_spawn|system|popen|fork|signer_exec|gss_accept_sec_context|gss_acquire_cred|krb5_gss_register_acceptor_identity|krb5_kt_resolve|negotiator_main'
pattern="^($forbidden)(@.*)?\$"

rc=0
syms() { nm -D --undefined-only "$1" 2>/dev/null | awk '{print $NF}'; nm "$1" 2>/dev/null | awk '{print $NF}'; }
found=$(syms "$front" | grep -E "$pattern" | sort -u)
if [ -n "$found" ]; then
	echo "FAIL: samlbroker-front holds or imports:"
	printf '  %s\n' $found
	rc=1
else
	echo "ok: samlbroker-front has no key loading, signing or program start"
fi
# The check itself works: the full program has these.
wants="PEM_read_bio_PrivateKey_ex saml_mint_response execve"
grep -q '^#define HAVE_GSSAPI 1' "$top_builddir/config.h" 2>/dev/null &&
	wants="$wants gss_accept_sec_context"
for want in $wants; do
	if ! syms "$full" | grep -qE "^$want(@.*)?\$"; then
		echo "FAIL: samlbroker has no $want: the check would see nothing"
		rc=1
	fi
done
exit "$rc"
