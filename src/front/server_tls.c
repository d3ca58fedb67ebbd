/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server_tls.c - TLS for https: listeners: the context made from a
 * generation's certificate chain, key, client CAs and CRL (their bytes,
 * read by the master: config_tls.c), the authentication methods of the
 * listeners (an auth per listener, so that Negotiate can join client
 * certificates), the verification of client certificates with a log line
 * per refusal, and the identity a certificate names.  It owns no socket:
 * server_conn.c drives the SSL objects on its connections' descriptors.
 *
 * Each generation gets a new context (server_generation_take): a
 * connection keeps the SSL, and with it the context, it was accepted with,
 * so a reload swaps the certificate for new connections without dropping
 * any.  Sessions are never resumed (no tickets, no cache): every
 * connection is a full handshake whose client certificate is verified
 * against the CRL in force.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server.h"

struct server_tls {
	SSL_CTX			*ctx;
	unsigned		 methods;	/* HTTPS_AUTH_* */
	enum tls_identity_field	 field;
};

/* The verify callback's refusal log line, once per connection; the
 * connection's struct tls_note is the SSL's app data. */
static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL			*ssl = X509_STORE_CTX_get_ex_data(xs,
				    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_note		*note = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509			*x = X509_STORE_CTX_get_current_cert(xs);
	int			 err = X509_STORE_CTX_get_error(xs);
	char			 subject[256];

	if (ok || note == NULL || note->refused)
		return ok;
	note->refused = true;
	server_tls_subject(x, subject, sizeof(subject));
	log_warnx("event=tls_refused peer=%s reason=\"client certificate: %s\" "
	    "subject=\"%s\" depth=%d", note->peer, X509_verify_cert_error_string(err),
	    subject, X509_STORE_CTX_get_error_depth(xs));
	return 0;
}

void
server_tls_subject(X509 *x, char *out, size_t outlen)
{
	BIO	*bio;
	int	 n;

	snprintf(out, outlen, "?");
	if (x == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (n = BIO_read(bio, out, (int)outlen - 1)) > 0) {
		out[n] = '\0';
		/* Anyone can write a subject: it stays inside its quotes. */
		for (char *p = out; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
			    *p == '"' || *p == '\\')
				*p = '?';
	}
	BIO_free(bio);
}

/* Reads every PEM certificate of buf into a store (or a chain). */
static int
pem_certs(const char *buf, size_t len, X509_STORE *store, STACK_OF(X509_NAME) *names,
    SSL_CTX *chain_of)
{
	BIO	*bio = BIO_new_mem_buf(buf, (int)len);
	X509	*x;
	int	 n = 0;

	if (bio == NULL)
		return -1;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (chain_of != NULL) {
			if ((n == 0 ? SSL_CTX_use_certificate(chain_of, x) :
			    SSL_CTX_add1_chain_cert(chain_of, x)) != 1)
				n = -1000;
		} else {
			if (X509_STORE_add_cert(store, x) != 1)
				n = -1000;
			if (names != NULL) {
				X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(x));

				if (nm == NULL || sk_X509_NAME_push(names, nm) <= 0) {
					X509_NAME_free(nm);
					n = -1000;
				}
			}
		}
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	return n > 0 ? 0 : -1;
}

static int
pem_crls(const char *buf, size_t len, X509_STORE *store)
{
	BIO		*bio = BIO_new_mem_buf(buf, (int)len);
	X509_CRL	*crl;
	int		 n = 0;

	if (bio == NULL)
		return -1;
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_crl(store, crl) != 1)
			n = -1000;
		X509_CRL_free(crl);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	return n > 0 ? 0 : -1;
}

/*
 * The server's key goes from its PEM text into the context through libssl
 * alone (SSL_CTX_use_PrivateKey_ASN1): the front links no key decoder of
 * its own (tests/front_symbols.sh), and nothing here holds the key but
 * the context.  The PEM's DER is wiped after use.
 */
static int
pem_key(SSL_CTX *ctx, const char *buf, size_t len)
{
	static const int types[] = { EVP_PKEY_EC, EVP_PKEY_RSA, EVP_PKEY_ED25519,
	    EVP_PKEY_ED448, EVP_PKEY_RSA_PSS };
	BIO		*bio = BIO_new_mem_buf(buf, (int)len);
	char		*name = NULL, *header = NULL;
	unsigned char	*der = NULL;
	long		 dlen = 0;
	int		 rc = -1;

	if (bio == NULL)
		return -1;
	if (PEM_read_bio(bio, &name, &header, &der, &dlen) == 1 &&
	    strstr(name, "PRIVATE KEY") != NULL && strstr(name, "ENCRYPTED") == NULL &&
	    (header == NULL || header[0] == '\0'))
		for (size_t i = 0; rc == -1 && i < sizeof(types) / sizeof(types[0]); i++)
			if (SSL_CTX_use_PrivateKey_ASN1(types[i], ctx, der, dlen) == 1 &&
			    SSL_CTX_check_private_key(ctx) == 1)
				rc = 0;
	if (der != NULL)
		OPENSSL_cleanse(der, (size_t)dlen);
	OPENSSL_free(der);
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* Client certificates: required and verified in the handshake. */
static int
auth_certificate(SSL_CTX *ctx, const struct broker_config *conf, const char **why)
{
	X509_STORE		*store = X509_STORE_new();
	STACK_OF(X509_NAME)	*names = sk_X509_NAME_new_null();

	if (store == NULL || names == NULL)
		goto fail;
	if (conf->tls_ca_pem == NULL || pem_certs(conf->tls_ca_pem,
	    conf->tls_ca_pem_len, store, names, NULL) == -1) {
		*why = "tls_client_ca holds no usable certificate";
		goto fail;
	}
	if (conf->tls_crl_pem != NULL) {
		if (pem_crls(conf->tls_crl_pem, conf->tls_crl_pem_len, store) == -1) {
			*why = "tls_client_crl holds no usable CRL";
			goto fail;
		}
		/* The client's own certificate is checked against the CRL. */
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	SSL_CTX_set_cert_store(ctx, store);
	SSL_CTX_set_client_CA_list(ctx, names);	/* takes names */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    verify_cb);
	SSL_CTX_set_verify_depth(ctx, 8);
	return 0;
fail:
	if (*why == NULL)
		*why = "out of memory";
	X509_STORE_free(store);
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	return -1;
}

struct server_tls *
server_tls_new(const struct broker_config *conf, char *errbuf, size_t errlen)
{
	struct server_tls	*t = xcalloc(1, sizeof(*t));
	const char		*why = NULL;
	static const unsigned char sid[] = "samlbroker";

	if ((t->ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		why = "SSL_CTX_new failed";
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(t->ctx, 0);
	SSL_CTX_set_session_id_context(t->ctx, sid, sizeof(sid) - 1);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (conf->tls_cert_pem == NULL || pem_certs(conf->tls_cert_pem,
	    conf->tls_cert_pem_len, NULL, NULL, t->ctx) == -1) {
		why = "tls_certificate holds no usable certificate";
		goto fail;
	}
	if (conf->tls_key_pem == NULL || pem_key(t->ctx, conf->tls_key_pem,
	    conf->tls_key_pem_len) == -1) {
		why = "tls_key holds no usable key for tls_certificate";
		goto fail;
	}
	t->methods = conf->https_auth_methods;
	t->field = conf->tls_identity;
	if ((t->methods & HTTPS_AUTH_CERTIFICATE) &&
	    auth_certificate(t->ctx, conf, &why) == -1)
		goto fail;
	if (t->methods == 0) {
		why = "no authentication method";	/* config_tls.c refuses it */
		goto fail;
	}
	return t;
fail:
	snprintf(errbuf, errlen, "https: %s", why);
	ERR_clear_error();
	server_tls_free(t);
	return NULL;
}

void
server_tls_free(struct server_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

SSL *
server_tls_ssl_new(struct server_tls *t, int fd, struct tls_note *note)
{
	SSL	*ssl = SSL_new(t->ctx);

	if (ssl == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	SSL_set_app_data(ssl, note);
	note->methods = t->methods;
	note->field = t->field;
	return ssl;
}

/* One character of an identity: printable ASCII without space, quotes,
 * backslash or comma (it is logged, and written in rules). */
static bool
identity_char_ok(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != ',' &&
	    ch != '\'';
}

/* An ASN1 string's UTF-8 bytes as a C string, or NULL (embedded NUL). */
static int
asn1_text(const ASN1_STRING *s, char *out, size_t outlen, const char **why)
{
	unsigned char	*u = NULL;
	int		 n = ASN1_STRING_to_UTF8(&u, s);

	if (n < 0) {
		*why = "its identity field cannot be read as text";
		return -1;
	}
	if ((size_t)n >= outlen || n > EMAIL_MAX_LEN) {
		OPENSSL_free(u);
		*why = "its identity is longer than 254 bytes";
		return -1;
	}
	if (memchr(u, '\0', (size_t)n) != NULL) {
		OPENSSL_free(u);
		*why = "its identity holds a NUL byte";
		return -1;
	}
	memcpy(out, u, (size_t)n);
	out[n] = '\0';
	OPENSSL_free(u);
	return 0;
}

/* The one subjectAltName entry of a kind (e-mail or UPN). */
static int
identity_san(X509 *x, bool upn, char *out, size_t outlen, const char **why)
{
	GENERAL_NAMES	*gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const ASN1_STRING *found = NULL;
	int		 n = 0, rc = -1;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (!upn && g->type == GEN_EMAIL) {
			found = g->d.rfc822Name;
			n++;
		} else if (upn && g->type == GEN_OTHERNAME &&
		    OBJ_obj2nid(g->d.otherName->type_id) == NID_ms_upn) {
			const ASN1_TYPE *v = g->d.otherName->value;

			if (v == NULL || v->type != V_ASN1_UTF8STRING) {
				*why = "its subjectAltName UPN is not a UTF8String";
				goto done;
			}
			found = v->value.utf8string;
			n++;
		}
	}
	if (n == 0) {
		*why = upn ? "it has no subjectAltName UPN (otherName "
		    "1.3.6.1.4.1.311.20.2.3)" : "it has no subjectAltName e-mail";
		goto done;
	}
	if (n > 1) {
		*why = upn ? "it has more than one subjectAltName UPN" :
		    "it has more than one subjectAltName e-mail";
		goto done;
	}
	rc = asn1_text(found, out, outlen, why);
done:
	GENERAL_NAMES_free(gens);
	return rc;
}

static int
identity_cn(X509 *x, char *out, size_t outlen, const char **why)
{
	X509_NAME	*nm = X509_get_subject_name(x);
	int		 i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);

	if (i < 0) {
		*why = "its subject has no CN";
		return -1;
	}
	if (X509_NAME_get_index_by_NID(nm, NID_commonName, i) >= 0) {
		*why = "its subject has more than one CN";
		return -1;
	}
	return asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)), out,
	    outlen, why);
}

int
server_tls_identity(X509 *x, enum tls_identity_field field, char *out,
    size_t outlen, const char **why)
{
	char		 id[EMAIL_MAX_LEN + 2];
	const char	*ewhy;
	int		 rc;

	*why = NULL;
	switch (field) {
	case TLS_ID_SAN_EMAIL:
		rc = identity_san(x, false, id, sizeof(id), why);
		break;
	case TLS_ID_SAN_UPN:
		rc = identity_san(x, true, id, sizeof(id), why);
		break;
	case TLS_ID_SUBJECT_CN:
		rc = identity_cn(x, id, sizeof(id), why);
		break;
	default:
		*why = "no identity field is configured";
		return -1;
	}
	if (rc == -1)
		return -1;
	if (id[0] == '\0') {
		*why = "its identity is empty";
		return -1;
	}
	for (const char *p = id; *p != '\0'; p++)
		if (!identity_char_ok((unsigned char)*p)) {
			*why = "its identity holds a character the broker does not "
			    "accept (printable ASCII without space, quotes, "
			    "backslash or comma)";
			return -1;
		}
	if (field != TLS_ID_SUBJECT_CN) {
		const char *at = strchr(id, '@');

		if (email_validate(id, &ewhy) == -1 || at == NULL || at == id ||
		    strchr(at + 1, '@') != NULL || at[1] == '\0') {
			*why = "its identity is not NAME@DOMAIN";
			return -1;
		}
	}
	if (strlen(id) >= outlen) {
		*why = "its identity is too long";
		return -1;
	}
	email_canonicalize(id);
	memcpy(out, id, strlen(id) + 1);
	return 0;
}

int
server_tls_authenticate(SSL *ssl, struct tls_note *note, char *out, size_t outlen)
{
	X509		*x;
	const char	*why = NULL;
	char		 subject[256];
	int		 rc;

	if (!(note->methods & HTTPS_AUTH_CERTIFICATE))
		return -1;
	if ((x = SSL_get1_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK) {
		X509_free(x);
		return -1;	/* the handshake refuses these */
	}
	rc = server_tls_identity(x, note->field, out, outlen, &why);
	if (rc == -1) {
		server_tls_subject(x, subject, sizeof(subject));
		log_warnx("event=tls_refused peer=%s reason=\"client certificate "
		    "(%s): %s\" subject=\"%s\"", note->peer,
		    tls_identity_name(note->field), why, subject);
	}
	X509_free(x);
	return rc;
}
