/* SPDX-License-Identifier: Apache-2.0 */
/*
 * saml.c - signed SAML 2.0 Responses for the SAML2 Bearer grant.
 *
 * Owns the libxml2/xmlsec start-up and shut-down, one signer per tenant
 * (the tenant's key and certificate, prepared once, and copies of its
 * SAML settings) and the minting of one signed Response.  It does not
 * read configuration or key files (config.c, keystore.c), does not talk
 * to PureCloud (upstream.c) and does not log: every error goes to the
 * caller's errbuf.  It never reads the clock: callers pass `now`.
 *
 * The document (attributes in this order; every value escaped, so an
 * address cannot add markup):
 *
 *   samlp:Response ID Version=2.0 IssueInstant Destination
 *     saml:Issuer
 *     [ds:Signature over the Response, with sign_response]
 *     samlp:Status/samlp:StatusCode Value=...:status:Success
 *     saml:Assertion ID Version=2.0 IssueInstant   (declares xs, xsi)
 *       saml:Issuer
 *       ds:Signature over the Assertion
 *       saml:Subject
 *         saml:NameID Format=name_id_format (default ...:emailAddress)
 *         saml:SubjectConfirmation Method=...:cm:bearer
 *           saml:SubjectConfirmationData NotOnOrAfter Recipient
 *       saml:Conditions NotBefore NotOnOrAfter
 *         saml:AudienceRestriction/saml:Audience
 *       saml:AuthnStatement AuthnInstant SessionIndex
 *         saml:AuthnContext/saml:AuthnContextClassRef authn_context_class
 *             (default ...:ac:classes:unspecified: nothing was authenticated here)
 *       saml:AttributeStatement
 *         saml:Attribute Name=email|OrganizationName|ServiceName
 *             NameFormat=...:attrname-format:unspecified
 *           saml:AttributeValue xsi:type=xs:string
 *
 * The document is written as text, and so are the exclusive canonical
 * forms that the signatures cover (put_assertion, put_response and
 * put_signed_info write each form from one description): no tree is built,
 * canonicalized or serialized, so a mint costs little more than its RSA
 * signature (tests/bench_mint).  The canonical forms differ from the
 * document only where Exclusive XML Canonicalization 1.0 says so: a
 * canonical apex declares the namespaces it and its children use (saml on
 * the Assertion, saml on the Response's Issuer, xsi on each AttributeValue,
 * ds on SignedInfo), attributes are sorted, empty elements get end tags,
 * and escaping follows c14n's rules.  xmlsec (test_saml) and the xmlsec1
 * command (saml_verify.sh) verify the result; the document's bytes are
 * those libxml2's serializer wrote when this module built a tree.
 *
 * Choices:
 * - Times are whole seconds, UTC, "YYYY-MM-DDTHH:MM:SSZ" (no fraction):
 *   IssueInstant = AuthnInstant = now, NotBefore = now - 5 s,
 *   NotOnOrAfter = now + assertion_lifetime, now truncated to the second.
 * - IDs (Response, Assertion, SessionIndex) are "_" and 32 hex digits from
 *   RAND_bytes: 128 random bits each, valid xs:IDs.
 * - AttributeValues are typed xsi:type="xs:string".  The "xs" prefix is
 *   used only inside an attribute value, which exclusive c14n does not
 *   see, so each Reference's exclusive c14n transform names "xs" as an
 *   inclusive prefix and the signed form keeps its declaration.
 * - Signatures (XML-DSig, as xmlsec1 and other SAML stacks verify them):
 *   enveloped, exclusive c14n without comments, RSA-SHA256 (PKCS#1 v1.5),
 *   SHA-256 digest, Reference URI="#ID", KeyInfo/X509Data/X509Certificate.
 *   The Assertion is always signed; with sign_response the Response is
 *   signed after it, so its digest covers the Assertion's Signature.
 * - Base64 values (DigestValue, SignatureValue, X509Certificate) are
 *   unwrapped; the Signature holds no whitespace.
 * - Output: UTF-8 with an XML declaration, not indented; the base64 form
 *   is unwrapped standard base64 of those bytes.
 *
 * A signer keeps per-signature OpenSSL contexts: use it from one thread at
 * a time.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <libxml/parser.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>

#include "samlbroker.h"

#define NS_SAMLP	"urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML		"urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_XS		"http://www.w3.org/2001/XMLSchema"
#define NS_XSI		"http://www.w3.org/2001/XMLSchema-instance"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define NS_EC		"http://www.w3.org/2001/10/xml-exc-c14n#"
#define STATUS_SUCCESS	"urn:oasis:names:tc:SAML:2.0:status:Success"
#define CM_BEARER	"urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define AC_UNSPECIFIED	"urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
#define ATTRNAME_UNSPEC	"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
#define ALG_EXC_C14N	"http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_RSA_SHA256	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define ALG_ENVELOPED	"http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define ALG_SHA256	"http://www.w3.org/2001/04/xmlenc#sha256"

#define ASSERTION_LIFETIME_DEFAULT	300
#define NOT_BEFORE_SKEW			5	/* seconds before now */
#define ID_BYTES			16	/* 128 random bits */
#define ID_LEN				(1 + 2 * ID_BYTES)
#define MAX_SIGNATURE			1024	/* bytes: RSA up to 8192 bits */

/* A growing text buffer. */
struct text {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

/*
 * The three forms the writer produces: the document as sent, the
 * exclusive canonical form of a signed element (the Assertion, or the
 * Response), and the canonical SignedInfo that the RSA signature covers.
 */
enum form { FORM_DOC, FORM_C14N, FORM_SIGNED_INFO };

struct saml_signer {
	EVP_PKEY	*pkey;		/* a reference to the keystore's key */
	EVP_MD		*sha256;
	EVP_MD_CTX	*sign_ctx;	/* reused by every signature */
	struct text	 c14n;		/* a canonical form, wiped after use */
	char		*cert_b64;	/* base64 of the certificate's DER */
	char		*issuer;
	char		*organization_sname;
	char		*audience;
	char		*recipient;
	char		*destination;
	char		*service_name;	/* NULL: no ServiceName attribute */
	char		*name_id_format;
	char		*authn_context_class;
	int		 lifetime;	/* seconds */
	bool		 sign_response;
};

/* What one mint writes in every form. */
struct mint {
	const char	*email;
	char		 ids[3][ID_LEN + 1];	/* Response, Assertion, SessionIndex */
	char		 t_now[32];
	char		 t_before[32];
	char		 t_after[32];
};

/* One signature's variable parts. */
struct sigparts {
	const char	*id;		/* of the signed element */
	char		 digest[45];	/* base64 of the SHA-256 digest */
	char		*value;		/* base64 of the RSA signature */
};

static int	 init_count;

static void	 text_free(struct text *);

int
saml_global_init(void)
{
	if (init_count > 0) {
		init_count++;
		return 0;
	}
	xmlInitParser();
	if (xmlSecInit() < 0)
		goto fail_parser;
	/* Library code does not print: xmlsec's errors stay quiet. */
	xmlSecErrorsDefaultCallbackEnableOutput(0);
	if (xmlSecCheckVersion() != 1)
		goto fail_xmlsec;
	if (xmlSecCryptoAppInit(NULL) < 0)
		goto fail_xmlsec;
	if (xmlSecCryptoInit() < 0)
		goto fail_app;
	init_count = 1;
	return 0;
fail_app:
	xmlSecCryptoAppShutdown();
fail_xmlsec:
	xmlSecShutdown();
fail_parser:
	xmlCleanupParser();
	ERR_clear_error();
	return -1;
}

void
saml_global_shutdown(void)
{
	if (init_count == 0 || --init_count > 0)
		return;
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
	xmlCleanupParser();
}

void
saml_signer_free(struct saml_signer *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->sign_ctx);
	EVP_MD_free(s->sha256);
	EVP_PKEY_free(s->pkey);
	free(s->cert_b64);
	free(s->issuer);
	free(s->organization_sname);
	free(s->audience);
	free(s->recipient);
	free(s->destination);
	free(s->service_name);
	free(s->name_id_format);
	free(s->authn_context_class);
	text_free(&s->c14n);
	free(s);
}

/* The tenant's value, or base_auth_url when it leaves it unset. */
static const char *
or_base(const struct tenant *t, const char *value)
{
	return value != NULL ? value : t->base_auth_url;
}

/* Formats an error, with OpenSSL's reason when it has one. */
static void
set_error(char *errbuf, size_t errlen, const char *what)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (reason != NULL)
		snprintf(errbuf, errlen, "%s: %s", what, reason);
	else
		snprintf(errbuf, errlen, "%s", what);
	ERR_clear_error();
}

struct saml_signer *
saml_signer_new(const struct tenant *t, char *errbuf, size_t errlen)
{
	struct saml_signer	*s = NULL;
	EVP_PKEY		*pkey;
	X509			*cert;
	unsigned char		*der = NULL;
	const char		*errstr;
	int			 derlen;

	ERR_clear_error();
	if (init_count == 0) {
		errstr = "saml_global_init was not called";
		goto fail;
	}
	if (t->issuer == NULL || t->issuer[0] == '\0') {
		errstr = "tenant has no SAML issuer";
		goto fail;
	}
	if (t->organization_sname == NULL || t->organization_sname[0] == '\0') {
		errstr = "tenant has no organization_sname";
		goto fail;
	}
	if (or_base(t, t->audience) == NULL || or_base(t, t->recipient) == NULL ||
	    or_base(t, t->destination) == NULL) {
		errstr = "tenant has no base_auth_url for the default audience, "
		    "recipient and destination";
		goto fail;
	}
	if (t->assertion_lifetime < 0) {
		errstr = "assertion lifetime is negative";
		goto fail;
	}
	if (t->keys == NULL || (pkey = keystore_pkey(t->keys)) == NULL ||
	    (cert = keystore_cert(t->keys)) == NULL) {
		errstr = "tenant has no signing key and certificate";
		goto fail;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		errstr = "signing key is not an RSA key (RSA-SHA256 is required)";
		goto fail;
	}
	if (EVP_PKEY_get_size(pkey) > MAX_SIGNATURE) {
		errstr = "signing key is longer than 8192 bits";
		goto fail;
	}

	s = xcalloc(1, sizeof(*s));
	s->issuer = xstrdup(t->issuer);
	s->organization_sname = xstrdup(t->organization_sname);
	s->audience = xstrdup(or_base(t, t->audience));
	s->recipient = xstrdup(or_base(t, t->recipient));
	s->destination = xstrdup(or_base(t, t->destination));
	if (t->service_name != NULL && t->service_name[0] != '\0')
		s->service_name = xstrdup(t->service_name);
	s->name_id_format = xstrdup(t->name_id_format != NULL &&
	    t->name_id_format[0] != '\0' ? t->name_id_format : SAML_NAMEID_EMAIL);
	s->authn_context_class = xstrdup(t->authn_context_class != NULL &&
	    t->authn_context_class[0] != '\0' ? t->authn_context_class : AC_UNSPECIFIED);
	s->lifetime = t->assertion_lifetime > 0 ? t->assertion_lifetime :
	    ASSERTION_LIFETIME_DEFAULT;
	s->sign_response = t->sign_response;

	/* Everything a signature needs but the document, prepared once. */
	errstr = "cannot prepare the signing key";
	if (EVP_PKEY_up_ref(pkey) != 1)
		goto fail;
	s->pkey = pkey;
	if ((s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (s->sign_ctx = EVP_MD_CTX_new()) == NULL)
		goto fail;
	errstr = "cannot encode the certificate";
	if ((derlen = i2d_X509(cert, &der)) <= 0)
		goto fail;
	s->cert_b64 = base64_encode(der, (size_t)derlen, 0);
	OPENSSL_free(der);
	return s;
fail:
	set_error(errbuf, errlen, errstr);
	saml_signer_free(s);
	return NULL;
}

/* A growing text buffer; a secret once it holds a minted document. */
static void
text_reserve(struct text *t, size_t more)
{
	size_t	 cap;
	char	*p;

	if (t->len + more + 1 <= t->cap)
		return;
	cap = t->cap > 0 ? t->cap : 4096;
	while (cap < t->len + more + 1)
		cap *= 2;
	/* Copy rather than realloc, so no old copy of a secret is left behind. */
	p = xmalloc(cap);
	if (t->len > 0)
		memcpy(p, t->p, t->len);
	if (t->p != NULL) {
		OPENSSL_cleanse(t->p, t->cap);
		free(t->p);
	}
	t->p = p;
	t->cap = cap;
}

static void
text_add(struct text *t, const char *s, size_t n)
{
	text_reserve(t, n);
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void
put(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* Wipes what the buffer held and empties it; keeps the memory. */
static void
text_wipe(struct text *t)
{
	if (t->p != NULL)
		OPENSSL_cleanse(t->p, t->cap);
	t->len = 0;
}

static void
text_free(struct text *t)
{
	text_wipe(t);
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/*
 * Escapes a value.  The serializer's rules (libxml2's, which this module
 * used to call) and the canonical ones (Canonical XML 1.0, section 2.3)
 * differ: c14n leaves '>' in attributes alone and writes character
 * references in hex.
 */
static void
put_escaped(struct text *t, const char *s, enum form form, bool in_attr)
{
	const char	*run = s, *rep;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			if (in_attr && form != FORM_DOC)
				continue;
			rep = "&gt;";
			break;
		case '"':
			if (!in_attr)
				continue;
			rep = "&quot;";
			break;
		case '\r':
			rep = form == FORM_DOC ? "&#13;" : "&#xD;";
			break;
		case '\n':
			if (!in_attr)
				continue;
			rep = form == FORM_DOC ? "&#10;" : "&#xA;";
			break;
		case '\t':
			if (!in_attr)
				continue;
			rep = form == FORM_DOC ? "&#9;" : "&#x9;";
			break;
		default:
			continue;
		}
		text_add(t, run, (size_t)(s - run));
		put(t, rep);
		run = s + 1;
	}
	text_add(t, run, (size_t)(s - run));
}

/* Three pieces of markup in a row, such as "<", a tag and ">". */
static void
put3(struct text *t, const char *a, const char *b, const char *c)
{
	put(t, a);
	put(t, b);
	put(t, c);
}

/* ` name="value"` */
static void
put_attr(struct text *t, enum form form, const char *name, const char *value)
{
	put3(t, " ", name, "=\"");
	put_escaped(t, value, form, true);
	put(t, "\"");
}

/* An element with text only: <tag>text</tag>. */
static void
put_text_el(struct text *t, enum form form, const char *tag, const char *value)
{
	put3(t, "<", tag, ">");
	put_escaped(t, value, form, false);
	put3(t, "</", tag, ">");
}

/* Closes a start tag that has no content: "/>" or "></tag>" (c14n). */
static void
put_empty_end(struct text *t, enum form form, const char *tag)
{
	if (form == FORM_DOC) {
		put(t, "/>");
		return;
	}
	put3(t, "></", tag, ">");
}

/* An element with one attribute and no content. */
static void
put_empty_el(struct text *t, enum form form, const char *tag, const char *name,
    const char *value)
{
	put(t, "<");
	put(t, tag);
	put_attr(t, form, name, value);
	put_empty_end(t, form, tag);
}

/* Three fresh IDs from one draw of 3 * 128 random bits. */
static int
fresh_ids(char ids[3][ID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 rnd[3 * ID_BYTES];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (int i = 0; i < 3; i++) {
		char *p = ids[i];

		*p++ = '_';
		for (int k = 0; k < ID_BYTES; k++) {
			*p++ = hex[rnd[i * ID_BYTES + k] >> 4];
			*p++ = hex[rnd[i * ID_BYTES + k] & 0x0f];
		}
		*p = '\0';
	}
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

/*
 * ds:SignedInfo for the reference to id.  As the signature's input
 * (FORM_SIGNED_INFO) it is its own apex and declares ds.
 */
static void
put_signed_info(struct text *t, enum form form, const char *id, const char *digest)
{
	put(t, form == FORM_SIGNED_INFO ? "<ds:SignedInfo xmlns:ds=\"" NS_DS "\">" :
	    "<ds:SignedInfo>");
	put_empty_el(t, form, "ds:CanonicalizationMethod", "Algorithm", ALG_EXC_C14N);
	put_empty_el(t, form, "ds:SignatureMethod", "Algorithm", ALG_RSA_SHA256);
	put(t, "<ds:Reference URI=\"#");
	put(t, id);
	put(t, "\"><ds:Transforms>");
	put_empty_el(t, form, "ds:Transform", "Algorithm", ALG_ENVELOPED);
	put(t, "<ds:Transform Algorithm=\"" ALG_EXC_C14N "\">"
	    "<ec:InclusiveNamespaces xmlns:ec=\"" NS_EC "\" PrefixList=\"xs\"");
	put_empty_end(t, form, "ec:InclusiveNamespaces");
	put(t, "</ds:Transform></ds:Transforms>");
	put_empty_el(t, form, "ds:DigestMethod", "Algorithm", ALG_SHA256);
	put(t, "<ds:DigestValue>");
	put(t, digest);
	put(t, "</ds:DigestValue></ds:Reference></ds:SignedInfo>");
}

/* A whole ds:Signature, in the document or inside a canonical form. */
static void
put_signature(struct text *t, const struct saml_signer *s, enum form form,
    const struct sigparts *sp)
{
	put(t, "<ds:Signature xmlns:ds=\"" NS_DS "\">");
	put_signed_info(t, form, sp->id, sp->digest);
	put(t, "<ds:SignatureValue>");
	put(t, sp->value);
	put(t, "</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>");
	put(t, s->cert_b64);
	put(t, "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>");
}

static void
put_attribute(struct text *t, enum form form, const char *name, const char *value)
{
	put(t, "<saml:Attribute");
	put_attr(t, form, "Name", name);
	put(t, " NameFormat=\"" ATTRNAME_UNSPEC "\">");
	/* Exclusive c14n declares xsi where it is used, not on the Assertion. */
	put(t, form == FORM_DOC ? "<saml:AttributeValue" :
	    "<saml:AttributeValue xmlns:xsi=\"" NS_XSI "\"");
	put(t, " xsi:type=\"xs:string\">");
	put_escaped(t, value, form, false);
	put(t, "</saml:AttributeValue></saml:Attribute>");
}

/*
 * The saml:Assertion, with its signature (asig) or without it (NULL, the
 * form that is digested).  In a canonical form the Assertion is, or is
 * inside, an apex that has not declared saml, so it declares saml and xs
 * (the inclusive prefix) itself, and attributes are in c14n's order.
 */
static void
put_assertion(struct text *t, const struct saml_signer *s, enum form form,
    const struct mint *m, const struct sigparts *asig)
{
	/* IDs and times need no escaping: put_attr writes them as they are. */
	if (form == FORM_DOC) {
		put(t, "<saml:Assertion xmlns:xs=\"" NS_XS "\" xmlns:xsi=\"" NS_XSI "\"");
		put_attr(t, form, "ID", m->ids[1]);
		put(t, " Version=\"2.0\"");
		put_attr(t, form, "IssueInstant", m->t_now);
		put(t, ">");
	} else {	/* canonical: attributes in order, saml declared */
		put(t, "<saml:Assertion xmlns:saml=\"" NS_SAML "\" xmlns:xs=\"" NS_XS "\"");
		put_attr(t, form, "ID", m->ids[1]);
		put_attr(t, form, "IssueInstant", m->t_now);
		put(t, " Version=\"2.0\">");
	}
	put_text_el(t, form, "saml:Issuer", s->issuer);
	if (asig != NULL)
		put_signature(t, s, form, asig);

	put(t, "<saml:Subject><saml:NameID");
	put_attr(t, form, "Format", s->name_id_format);
	put(t, ">");
	put_escaped(t, m->email, form, false);
	put(t, "</saml:NameID><saml:SubjectConfirmation Method=\"" CM_BEARER "\">"
	    "<saml:SubjectConfirmationData NotOnOrAfter=\"");
	put(t, m->t_after);
	put(t, "\"");
	put_attr(t, form, "Recipient", s->recipient);
	put_empty_end(t, form, "saml:SubjectConfirmationData");
	put(t, "</saml:SubjectConfirmation></saml:Subject>");

	put(t, "<saml:Conditions NotBefore=\"");
	put(t, m->t_before);
	put(t, "\" NotOnOrAfter=\"");
	put(t, m->t_after);
	put(t, "\"><saml:AudienceRestriction>");
	put_text_el(t, form, "saml:Audience", s->audience);
	put(t, "</saml:AudienceRestriction></saml:Conditions>");

	put(t, "<saml:AuthnStatement AuthnInstant=\"");
	put(t, m->t_now);
	put(t, "\" SessionIndex=\"");
	put(t, m->ids[2]);
	put(t, "\"><saml:AuthnContext>");
	put_text_el(t, form, "saml:AuthnContextClassRef", s->authn_context_class);
	put(t, "</saml:AuthnContext></saml:AuthnStatement>");

	put(t, "<saml:AttributeStatement>");
	put_attribute(t, form, "email", m->email);
	put_attribute(t, form, "OrganizationName", s->organization_sname);
	if (s->service_name != NULL)
		put_attribute(t, form, "ServiceName", s->service_name);
	put(t, "</saml:AttributeStatement></saml:Assertion>");
}

/*
 * The samlp:Response: the document (FORM_DOC, with both signatures) or
 * its canonical form without its own signature (FORM_C14N), in which
 * Issuer declares saml because the Response does not use it.
 */
static void
put_response(struct text *t, const struct saml_signer *s, enum form form,
    const struct mint *m, const struct sigparts *rsig, const struct sigparts *asig)
{
	if (form == FORM_DOC) {
		put(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<samlp:Response xmlns:samlp=\"" NS_SAMLP "\" xmlns:saml=\""
		    NS_SAML "\"");
		put_attr(t, form, "ID", m->ids[0]);
		put(t, " Version=\"2.0\"");
		put_attr(t, form, "IssueInstant", m->t_now);
		put_attr(t, form, "Destination", s->destination);
		put(t, "><saml:Issuer>");
	} else {	/* canonical: attributes in order */
		put(t, "<samlp:Response xmlns:samlp=\"" NS_SAMLP "\"");
		put_attr(t, form, "Destination", s->destination);
		put_attr(t, form, "ID", m->ids[0]);
		put_attr(t, form, "IssueInstant", m->t_now);
		put(t, " Version=\"2.0\"><saml:Issuer xmlns:saml=\"" NS_SAML "\">");
	}
	put_escaped(t, s->issuer, form, false);
	put(t, "</saml:Issuer>");
	if (rsig != NULL)
		put_signature(t, s, form, rsig);
	put(t, "<samlp:Status>");
	put_empty_el(t, form, "samlp:StatusCode", "Value", STATUS_SUCCESS);
	put(t, "</samlp:Status>");
	put_assertion(t, s, form, m, asig);
	put(t, form == FORM_DOC ? "</samlp:Response>\n" : "</samlp:Response>");
}

/*
 * Enveloped signature of the element whose canonical form without its
 * Signature is in s->c14n: the SHA-256 digest of that form, then
 * RSA-SHA256 over the canonical SignedInfo that holds the digest.
 */
static int
sign(struct saml_signer *s, struct sigparts *sp)
{
	unsigned char	 md[EVP_MAX_MD_SIZE], value[MAX_SIGNATURE];
	unsigned int	 mdlen;
	size_t		 valuelen = sizeof(value);
	int		 rc = -1;

	if (EVP_Digest(s->c14n.p, s->c14n.len, md, &mdlen, s->sha256, NULL) != 1 ||
	    mdlen != 32)
		goto done;
	EVP_EncodeBlock((unsigned char *)sp->digest, md, (int)mdlen);
	text_wipe(&s->c14n);
	put_signed_info(&s->c14n, FORM_SIGNED_INFO, sp->id, sp->digest);
	if (EVP_DigestSignInit(s->sign_ctx, NULL, s->sha256, NULL, s->pkey) != 1 ||
	    EVP_DigestSign(s->sign_ctx, value, &valuelen,
	    (const unsigned char *)s->c14n.p, s->c14n.len) != 1)
		goto done;
	sp->value = base64_encode(value, valuelen, 0);
	rc = 0;
done:
	text_wipe(&s->c14n);
	EVP_MD_CTX_reset(s->sign_ctx);
	return rc;
}

/*
 * Writes and signs the Response; *ret_xml is xmalloc'ed and NUL-terminated.
 * The e-mail has been validated.
 */
static int
mint(struct saml_signer *s, const char *email, double now, char **ret_xml,
    size_t *ret_len, double *ret_nooa, char *errbuf, size_t errlen)
{
	struct mint	 m;
	struct sigparts	 asig, rsig;
	struct text	 doc = { NULL, 0, 0 };
	const char	*errstr;
	double		 t0;

	ERR_clear_error();
	memset(&asig, 0, sizeof(asig));
	memset(&rsig, 0, sizeof(rsig));
	/* Whole seconds; the range keeps every time a four-digit year. */
	if (!(now >= NOT_BEFORE_SKEW && now < 253402300800.0 - s->lifetime)) {
		errstr = "time is out of range";
		goto fail;
	}
	t0 = (double)(int64_t)now;
	m.email = email;
	if (format_rfc3339(t0, m.t_now, sizeof(m.t_now)) == -1 ||
	    format_rfc3339(t0 - NOT_BEFORE_SKEW, m.t_before, sizeof(m.t_before)) == -1 ||
	    format_rfc3339(t0 + s->lifetime, m.t_after, sizeof(m.t_after)) == -1) {
		errstr = "cannot format a time";
		goto fail;
	}
	if (fresh_ids(m.ids) == -1) {
		errstr = "cannot draw random IDs";
		goto fail;
	}

	/* The Assertion first; the Response's digest then covers the
	 * Assertion's finished Signature. */
	errstr = "cannot sign the assertion";
	asig.id = m.ids[1];
	put_assertion(&s->c14n, s, FORM_C14N, &m, NULL);
	if (sign(s, &asig) == -1)
		goto fail;
	if (s->sign_response) {
		errstr = "cannot sign the response";
		rsig.id = m.ids[0];
		put_response(&s->c14n, s, FORM_C14N, &m, NULL, &asig);
		if (sign(s, &rsig) == -1)
			goto fail;
	}
	put_response(&doc, s, FORM_DOC, &m, s->sign_response ? &rsig : NULL, &asig);
	*ret_xml = doc.p;
	*ret_len = doc.len;
	*ret_nooa = t0 + s->lifetime;
	free(asig.value);
	free(rsig.value);
	return 0;
fail:
	set_error(errbuf, errlen, errstr);
	text_wipe(&s->c14n);
	free(asig.value);
	free(rsig.value);
	return -1;
}

/* A valid address in its canonical form (one identity per agent), in
 * canon; -1 with errbuf. */
static int
email_take(const char *email, char canon[EMAIL_MAX_LEN + 1], char *errbuf,
    size_t errlen)
{
	const char	*why;

	if (email_validate(email, &why) == -1) {
		snprintf(errbuf, errlen, "%s", why);
		return -1;
	}
	snprintf(canon, EMAIL_MAX_LEN + 1, "%s", email);
	email_canonicalize(canon);
	return 0;
}

int
saml_mint_response(struct saml_signer *s, const char *email, double now,
    char **ret_xml, size_t *ret_xml_len, char *errbuf, size_t errlen)
{
	char	 canon[EMAIL_MAX_LEN + 1];
	double	 nooa;

	if (email_take(email, canon, errbuf, errlen) == -1)
		return -1;
	return mint(s, canon, now, ret_xml, ret_xml_len, &nooa, errbuf, errlen);
}

int
saml_mint_response_b64(struct saml_signer *s, const char *email, double now,
    char **ret_b64, double *ret_not_on_or_after, char *errbuf, size_t errlen)
{
	char	 canon[EMAIL_MAX_LEN + 1], *xml;
	size_t	 len;
	double	 nooa;

	if (email_take(email, canon, errbuf, errlen) == -1)
		return -1;
	if (mint(s, canon, now, &xml, &len, &nooa, errbuf, errlen) == -1)
		return -1;
	*ret_b64 = base64_encode((const unsigned char *)xml, len, 0);
	*ret_not_on_or_after = nooa;
	secret_free(xml);
	return 0;
}
