/*
 * saml.c - signed SAML 2.0 Responses for the SAML2 Bearer grant.
 *
 * Owns the libxml2/xmlsec start-up and shut-down, one signer per tenant
 * (the xmlsec key built once from the tenant's keystore, plus copies of
 * the tenant's SAML settings) and the minting of one signed Response.
 * It does not read configuration or key files (config.c, keystore.c),
 * does not talk to PureCloud (upstream.c) and does not log: every error
 * goes to the caller's errbuf, and xmlsec's own error output is captured
 * instead of printed.  It never reads the clock: callers pass `now`.
 *
 * The document, built node by node (libxml2 escapes every text and
 * attribute value, so an address cannot add markup):
 *
 *   samlp:Response ID Version=2.0 IssueInstant Destination
 *     saml:Issuer
 *     [ds:Signature over the Response, with sign_response]
 *     samlp:Status/samlp:StatusCode Value=...:status:Success
 *     saml:Assertion ID Version=2.0 IssueInstant
 *       saml:Issuer
 *       ds:Signature over the Assertion
 *       saml:Subject
 *         saml:NameID Format=...:nameid-format:emailAddress  (the e-mail)
 *         saml:SubjectConfirmation Method=...:cm:bearer
 *           saml:SubjectConfirmationData NotOnOrAfter Recipient
 *       saml:Conditions NotBefore NotOnOrAfter
 *         saml:AudienceRestriction/saml:Audience
 *       saml:AuthnStatement AuthnInstant SessionIndex
 *         saml:AuthnContext/saml:AuthnContextClassRef ...:PasswordProtectedTransport
 *       saml:AttributeStatement
 *         saml:Attribute Name=email|OrganizationName|ServiceName
 *           NameFormat=...:attrname-format:unspecified
 *           saml:AttributeValue xsi:type=xs:string
 *
 * Choices:
 * - Times are whole seconds, UTC, "YYYY-MM-DDTHH:MM:SSZ" (no fraction):
 *   IssueInstant = AuthnInstant = now, NotBefore = now - 5 s,
 *   NotOnOrAfter = now + assertion_lifetime, where now is truncated to
 *   the second.
 * - IDs (Response, Assertion, SessionIndex) are "_" and 32 hex digits of
 *   RAND_bytes: 128 random bits, a valid xs:ID.
 * - AttributeValues are typed xsi:type="xs:string"; xmlns:xs and
 *   xmlns:xsi are declared on the Assertion, and both signatures' exclusive
 *   canonicalization transform names "xs" as an inclusive prefix (the prefix
 *   is only used inside an attribute value, which exclusive c14n does not
 *   see), so the signed form carries the declaration.
 * - Signatures: enveloped, exclusive c14n, RSA-SHA256, SHA-256 digest,
 *   KeyInfo/X509Data/X509Certificate.  The Assertion is always signed; with
 *   sign_response the Response is signed after it.
 * - Output: UTF-8 with an XML declaration, no indentation; the base64 form
 *   is unwrapped standard base64 of those bytes.
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
#include <libxml/tree.h>
#include <libxml/valid.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/openssl/x509.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/templates.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>

#include "samlbroker.h"

#define NS_SAMLP	"urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML		"urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_XS		"http://www.w3.org/2001/XMLSchema"
#define NS_XSI		"http://www.w3.org/2001/XMLSchema-instance"
#define STATUS_SUCCESS	"urn:oasis:names:tc:SAML:2.0:status:Success"
#define NAMEID_EMAIL	"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
#define CM_BEARER	"urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define AC_PPT		"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
#define ATTRNAME_UNSPEC	"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"

#define ASSERTION_LIFETIME_DEFAULT	300
#define NOT_BEFORE_SKEW			5	/* seconds before now */
#define ID_BYTES			16	/* 128 random bits */
#define ID_LEN				(1 + 2 * ID_BYTES)

struct saml_signer {
	xmlSecKeyPtr	 key;		/* private key and certificate */
	char		*issuer;
	char		*organization_sname;
	char		*audience;
	char		*recipient;
	char		*destination;
	char		*service_name;	/* NULL: no ServiceName attribute */
	int		 lifetime;	/* seconds */
	bool		 sign_response;
};

static int	 init_count;
/* The first xmlsec error of the current operation, for errbuf. */
static char	 xmlsec_error[192];

#define X(s)	((const xmlChar *)(s))

/*
 * xmlsec reports a chain of errors, innermost first; keep the first, which
 * names the cause.  Its texts name functions, nodes and OpenSSL reasons,
 * never key material or document content.
 */
static void
xmlsec_error_cb(const char *file, int line, const char *func,
    const char *object, const char *subject, int reason, const char *msg)
{
	if (xmlsec_error[0] != '\0')
		return;
	snprintf(xmlsec_error, sizeof(xmlsec_error), "%s: %s",
	    func != NULL ? func : "xmlsec", msg != NULL ? msg : "error");
}

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
	xmlSecErrorsSetCallback(xmlsec_error_cb);
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
	if (s->key != NULL)
		xmlSecKeyDestroy(s->key);
	free(s->issuer);
	free(s->organization_sname);
	free(s->audience);
	free(s->recipient);
	free(s->destination);
	free(s->service_name);
	free(s);
}

/* The tenant's value, or base_auth_url when it leaves it unset. */
static const char *
or_base(const struct tenant *t, const char *value)
{
	return value != NULL ? value : t->base_auth_url;
}

struct saml_signer *
saml_signer_new(const struct tenant *t, char *errbuf, size_t errlen)
{
	struct saml_signer	*s = NULL;
	EVP_PKEY		*pkey;
	X509			*cert, *copy;
	xmlSecKeyDataPtr	 data;
	const char		*errstr;

	xmlsec_error[0] = '\0';
	if (init_count == 0) {
		errstr = "xmlsec is not initialised";
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

	s = xcalloc(1, sizeof(*s));
	s->issuer = xstrdup(t->issuer);
	s->organization_sname = xstrdup(t->organization_sname);
	s->audience = xstrdup(or_base(t, t->audience));
	s->recipient = xstrdup(or_base(t, t->recipient));
	s->destination = xstrdup(or_base(t, t->destination));
	if (t->service_name != NULL && t->service_name[0] != '\0')
		s->service_name = xstrdup(t->service_name);
	s->lifetime = t->assertion_lifetime > 0 ? t->assertion_lifetime :
	    ASSERTION_LIFETIME_DEFAULT;
	s->sign_response = t->sign_response;

	/* The key is built once; every mint borrows it. */
	errstr = "cannot build the xmlsec signing key";
	if ((s->key = xmlSecKeyCreate()) == NULL)
		goto fail;
	if (EVP_PKEY_up_ref(pkey) != 1)
		goto fail;
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		goto fail;
	}
	if (xmlSecKeySetValue(s->key, data) < 0) {
		xmlSecKeyDataDestroy(data);
		goto fail;
	}
	/* The certificate, so that KeyInfo/X509Data carries it. */
	if ((data = xmlSecKeyEnsureData(s->key, xmlSecOpenSSLKeyDataX509Id)) == NULL)
		goto fail;
	if ((copy = X509_dup(cert)) == NULL)
		goto fail;
	if (xmlSecOpenSSLKeyDataX509AdoptCert(data, copy) < 0) {
		X509_free(copy);
		goto fail;
	}
	return s;
fail:
	if (xmlsec_error[0] != '\0')
		snprintf(errbuf, errlen, "%s (%s)", errstr, xmlsec_error);
	else
		snprintf(errbuf, errlen, "%s", errstr);
	saml_signer_free(s);
	ERR_clear_error();
	return NULL;
}

/* libxml2 fails only when memory runs out; so does xmalloc. */
static xmlNodePtr
must(xmlNodePtr node)
{
	if (node == NULL)
		fatalx("out of memory building a SAML document");
	return node;
}

static xmlNodePtr
child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	/* xmlNewTextChild stores text as is; the writer escapes it. */
	return must(xmlNewTextChild(parent, ns, X(name), X(text)));
}

static xmlAttrPtr
prop(xmlNodePtr node, const char *name, const char *value)
{
	xmlAttrPtr	 a;

	if ((a = xmlSetProp(node, X(name), X(value))) == NULL)
		fatalx("out of memory building a SAML document");
	return a;
}

/* An ID attribute, registered so that a "#id" reference finds its node. */
static void
prop_id(xmlDocPtr doc, xmlNodePtr node, const char *id)
{
	if (xmlAddID(NULL, doc, X(id), prop(node, "ID", id)) == NULL)
		fatalx("cannot register a SAML ID");
}

static void
attribute(xmlNodePtr stmt, xmlNsPtr saml, xmlNsPtr xsi, const char *name,
    const char *value)
{
	xmlNodePtr	 a, v;

	a = child(stmt, saml, "Attribute", NULL);
	prop(a, "Name", name);
	prop(a, "NameFormat", ATTRNAME_UNSPEC);
	v = child(a, saml, "AttributeValue", value);
	if (xmlNewNsProp(v, xsi, X("type"), X("xs:string")) == NULL)
		fatalx("out of memory building a SAML document");
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
	return 0;
}

/*
 * An enveloped-signature template for the element whose ID is id, placed
 * right after that element's Issuer.
 */
static xmlNodePtr
signature_template(xmlDocPtr doc, xmlNodePtr issuer, const char *id)
{
	xmlNodePtr	 sig, ref, c14n, keyinfo, x509;
	char		 uri[ID_LEN + 2];

	snprintf(uri, sizeof(uri), "#%s", id);
	if ((sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
	    xmlSecTransformRsaSha256Id, NULL, X("ds"))) == NULL)
		return NULL;
	if (xmlAddNextSibling(issuer, sig) == NULL) {
		xmlFreeNode(sig);
		return NULL;
	}
	if ((ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id,
	    NULL, X(uri), NULL)) == NULL)
		return NULL;
	if (xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL)
		return NULL;
	if ((c14n = xmlSecTmplReferenceAddTransform(ref,
	    xmlSecTransformExclC14NId)) == NULL)
		return NULL;
	if (xmlSecTmplTransformAddC14NInclNamespaces(c14n, X("xs")) < 0)
		return NULL;
	if ((keyinfo = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL)) == NULL)
		return NULL;
	if ((x509 = xmlSecTmplKeyInfoAddX509Data(keyinfo)) == NULL)
		return NULL;
	if (xmlSecTmplX509DataAddCertificate(x509) == NULL)
		return NULL;
	return sig;
}

/* Fills in a signature template with the signer's key (borrowed). */
static int
sign(struct saml_signer *s, xmlNodePtr sig)
{
	xmlSecDSigCtx	 ctx;
	int		 rc;

	if (xmlSecDSigCtxInitialize(&ctx, NULL) < 0)
		return -1;
	ctx.signKey = s->key;
	rc = xmlSecDSigCtxSign(&ctx, sig);
	ctx.signKey = NULL;	/* not the context's to destroy */
	xmlSecDSigCtxFinalize(&ctx);
	return rc < 0 ? -1 : 0;
}

/*
 * Builds and signs the Response; *ret_xml is xmalloc'ed and NUL-terminated.
 * The e-mail has been validated.
 */
static int
mint(struct saml_signer *s, const char *email, double now, char **ret_xml,
    size_t *ret_len, double *ret_nooa, char *errbuf, size_t errlen)
{
	xmlDocPtr	 doc = NULL;
	xmlNodePtr	 resp, issuer, status, assertion, aissuer, subject, conf;
	xmlNodePtr	 scd, cond, ar, authn, ac, stmt, rsig = NULL, asig;
	xmlNsPtr	 samlp, saml, xsi;
	xmlChar		*mem = NULL;
	int		 memlen = 0;
	char		 ids[3][ID_LEN + 1];
	char		 t_now[32], t_before[32], t_after[32];
	const char	*errstr;
	double		 t0;

	xmlsec_error[0] = '\0';
	/* Whole seconds; the range keeps every time a four-digit year. */
	if (!(now >= 0.0 && now < 253402300800.0 - s->lifetime)) {
		errstr = "time is out of range";
		goto fail;
	}
	t0 = (double)(int64_t)now;
	if (format_rfc3339(t0, t_now, sizeof(t_now)) == -1 ||
	    format_rfc3339(t0 < NOT_BEFORE_SKEW ? 0 : t0 - NOT_BEFORE_SKEW,
	    t_before, sizeof(t_before)) == -1 ||
	    format_rfc3339(t0 + s->lifetime, t_after, sizeof(t_after)) == -1) {
		errstr = "cannot format a time";
		goto fail;
	}
	if (fresh_ids(ids) == -1) {
		errstr = "cannot draw random IDs";
		goto fail;
	}

	if ((doc = xmlNewDoc(X("1.0"))) == NULL)
		fatalx("out of memory building a SAML document");
	resp = must(xmlNewDocNode(doc, NULL, X("Response"), NULL));
	xmlDocSetRootElement(doc, resp);
	if ((samlp = xmlNewNs(resp, X(NS_SAMLP), X("samlp"))) == NULL ||
	    (saml = xmlNewNs(resp, X(NS_SAML), X("saml"))) == NULL)
		fatalx("out of memory building a SAML document");
	xmlSetNs(resp, samlp);
	prop_id(doc, resp, ids[0]);
	prop(resp, "Version", "2.0");
	prop(resp, "IssueInstant", t_now);
	prop(resp, "Destination", s->destination);
	issuer = child(resp, saml, "Issuer", s->issuer);
	status = child(resp, samlp, "Status", NULL);
	prop(child(status, samlp, "StatusCode", NULL), "Value", STATUS_SUCCESS);

	assertion = child(resp, saml, "Assertion", NULL);
	if (xmlNewNs(assertion, X(NS_XS), X("xs")) == NULL ||
	    (xsi = xmlNewNs(assertion, X(NS_XSI), X("xsi"))) == NULL)
		fatalx("out of memory building a SAML document");
	prop_id(doc, assertion, ids[1]);
	prop(assertion, "Version", "2.0");
	prop(assertion, "IssueInstant", t_now);
	aissuer = child(assertion, saml, "Issuer", s->issuer);

	subject = child(assertion, saml, "Subject", NULL);
	prop(child(subject, saml, "NameID", email), "Format", NAMEID_EMAIL);
	conf = child(subject, saml, "SubjectConfirmation", NULL);
	prop(conf, "Method", CM_BEARER);
	scd = child(conf, saml, "SubjectConfirmationData", NULL);
	prop(scd, "NotOnOrAfter", t_after);
	prop(scd, "Recipient", s->recipient);

	cond = child(assertion, saml, "Conditions", NULL);
	prop(cond, "NotBefore", t_before);
	prop(cond, "NotOnOrAfter", t_after);
	ar = child(cond, saml, "AudienceRestriction", NULL);
	child(ar, saml, "Audience", s->audience);

	authn = child(assertion, saml, "AuthnStatement", NULL);
	prop(authn, "AuthnInstant", t_now);
	prop(authn, "SessionIndex", ids[2]);
	ac = child(authn, saml, "AuthnContext", NULL);
	child(ac, saml, "AuthnContextClassRef", AC_PPT);

	stmt = child(assertion, saml, "AttributeStatement", NULL);
	attribute(stmt, saml, xsi, "email", email);
	attribute(stmt, saml, xsi, "OrganizationName", s->organization_sname);
	if (s->service_name != NULL)
		attribute(stmt, saml, xsi, "ServiceName", s->service_name);

	/* Both templates first: the Response's digest covers the Assertion's
	 * finished Signature, so the Assertion is signed first. */
	errstr = "cannot build the signature template";
	if ((asig = signature_template(doc, aissuer, ids[1])) == NULL)
		goto fail;
	if (s->sign_response &&
	    (rsig = signature_template(doc, issuer, ids[0])) == NULL)
		goto fail;
	errstr = "cannot sign the assertion";
	if (sign(s, asig) == -1)
		goto fail;
	errstr = "cannot sign the response";
	if (rsig != NULL && sign(s, rsig) == -1)
		goto fail;

	xmlDocDumpMemoryEnc(doc, &mem, &memlen, "UTF-8");
	if (mem == NULL || memlen <= 0) {
		errstr = "cannot serialize the response";
		goto fail;
	}
	*ret_xml = xmalloc((size_t)memlen + 1);
	memcpy(*ret_xml, mem, (size_t)memlen);
	(*ret_xml)[memlen] = '\0';
	*ret_len = (size_t)memlen;
	*ret_nooa = t0 + s->lifetime;
	OPENSSL_cleanse(mem, (size_t)memlen);
	xmlFree(mem);
	xmlFreeDoc(doc);
	return 0;
fail:
	if (xmlsec_error[0] != '\0')
		snprintf(errbuf, errlen, "%s (%s)", errstr, xmlsec_error);
	else
		snprintf(errbuf, errlen, "%s", errstr);
	if (mem != NULL) {
		OPENSSL_cleanse(mem, (size_t)memlen);
		xmlFree(mem);
	}
	xmlFreeDoc(doc);
	ERR_clear_error();
	return -1;
}

int
saml_mint_response(struct saml_signer *s, const char *email, double now,
    char **ret_xml, size_t *ret_xml_len, char *errbuf, size_t errlen)
{
	const char	*why;
	double		 nooa;

	if (email_validate(email, &why) == -1) {
		snprintf(errbuf, errlen, "%s", why);
		return -1;
	}
	return mint(s, email, now, ret_xml, ret_xml_len, &nooa, errbuf, errlen);
}

int
saml_mint_response_b64(struct saml_signer *s, const char *email, double now,
    char **ret_b64, double *ret_not_on_or_after, char *errbuf, size_t errlen)
{
	const char	*why;
	char		*xml;
	size_t		 len;
	double		 nooa;

	if (email_validate(email, &why) == -1) {
		snprintf(errbuf, errlen, "%s", why);
		return -1;
	}
	if (mint(s, email, now, &xml, &len, &nooa, errbuf, errlen) == -1)
		return -1;
	*ret_b64 = base64_encode((const unsigned char *)xml, len, 0);
	*ret_not_on_or_after = nooa;
	secret_free(xml);
	return 0;
}
