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
 * The document, built node by node (libxml2 escapes every text and
 * attribute value, so an address cannot add markup):
 *
 *   samlp:Response ID Version=2.0 IssueInstant Destination
 *     saml:Issuer
 *     [ds:Signature over the Response, with sign_response]
 *     samlp:Status/samlp:StatusCode Value=...:status:Success
 *     saml:Assertion ID Version=2.0 IssueInstant   (declares xs, xsi)
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
 *             NameFormat=...:attrname-format:unspecified
 *           saml:AttributeValue xsi:type=xs:string
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
 *   The signature is computed here, with libxml2's canonicalizer and
 *   OpenSSL, not by xmlSecDSigCtxSign: xmlsec re-derives the key's type
 *   from OpenSSL 3 twice per signature (about 12 us each) and builds an
 *   XPointer context and transform chain per reference, so a mint cost
 *   about 1.4 bare RSA-2048 signatures instead of about 1.15 now
 *   (tests/bench_mint).  xmlsec and the xmlsec1 command verify the result
 *   in the tests.
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

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlIO.h>

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
#define NAMEID_EMAIL	"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
#define CM_BEARER	"urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define AC_PPT		"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
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

struct saml_signer {
	EVP_PKEY	*pkey;		/* a reference to the keystore's key */
	EVP_MD		*sha256;
	EVP_MD_CTX	*digest_ctx;	/* reused by every signature */
	EVP_MD_CTX	*sign_ctx;
	char		*cert_b64;	/* base64 of the certificate's DER */
	char		*issuer;
	char		*organization_sname;
	char		*audience;
	char		*recipient;
	char		*destination;
	char		*service_name;	/* NULL: no ServiceName attribute */
	int		 lifetime;	/* seconds */
	bool		 sign_response;
};

/* The pieces of one ds:Signature that signing fills in. */
struct signature {
	xmlNodePtr	 target;	/* the signed element */
	xmlNodePtr	 sig;		/* ds:Signature, left out of target's digest */
	xmlNodePtr	 signed_info;
	xmlNodePtr	 reference;	/* gets ds:DigestValue */
	xmlNodePtr	 value;		/* ds:SignatureValue */
	xmlNsPtr	 ds;
};

/* The part of a document a canonicalization sees: root's subtree but skip's. */
struct subtree {
	xmlNodePtr	 root;
	xmlNodePtr	 skip;
};

static int	 init_count;
static xmlChar	 prefix_xs[] = "xs";
static xmlChar	*inclusive_xs[] = { prefix_xs, NULL };

#define X(s)	((const xmlChar *)(s))

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
	EVP_MD_CTX_free(s->digest_ctx);
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
	s->lifetime = t->assertion_lifetime > 0 ? t->assertion_lifetime :
	    ASSERTION_LIFETIME_DEFAULT;
	s->sign_response = t->sign_response;

	/* Everything a signature needs but the document, prepared once. */
	errstr = "cannot prepare the signing key";
	if (EVP_PKEY_up_ref(pkey) != 1)
		goto fail;
	s->pkey = pkey;
	if ((s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (s->digest_ctx = EVP_MD_CTX_new()) == NULL ||
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

/* libxml2 fails only when memory runs out; so does xmalloc. */
static xmlNodePtr
must(xmlNodePtr node)
{
	if (node == NULL)
		fatalx("out of memory building a SAML document");
	return node;
}

static xmlNsPtr
must_ns(xmlNodePtr node, const char *href, const char *prefix)
{
	xmlNsPtr	 ns;

	if ((ns = xmlNewNs(node, X(href), X(prefix))) == NULL)
		fatalx("out of memory building a SAML document");
	return ns;
}

static xmlNodePtr
child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	/* xmlNewTextChild stores text as is; the writer escapes it. */
	return must(xmlNewTextChild(parent, ns, X(name), X(text)));
}

static void
prop(xmlNodePtr node, const char *name, const char *value)
{
	/* xmlSetProp, too, stores the value as is. */
	if (xmlSetProp(node, X(name), X(value)) == NULL)
		fatalx("out of memory building a SAML document");
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
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

/*
 * The ds:Signature for target (whose ID is id), right after issuer, with
 * everything but DigestValue and the SignatureValue text.
 */
static void
signature_new(struct saml_signer *s, xmlNodePtr target, xmlNodePtr issuer,
    const char *id, struct signature *out)
{
	xmlNodePtr	 sig, si, transforms, c14n, incl, keyinfo, x509;
	xmlNsPtr	 ds;
	char		 uri[ID_LEN + 2];

	sig = must(xmlNewDocNode(target->doc, NULL, X("Signature"), NULL));
	ds = must_ns(sig, NS_DS, "ds");
	xmlSetNs(sig, ds);
	if (xmlAddNextSibling(issuer, sig) == NULL)
		fatalx("cannot place the Signature");
	si = child(sig, ds, "SignedInfo", NULL);
	prop(child(si, ds, "CanonicalizationMethod", NULL), "Algorithm", ALG_EXC_C14N);
	prop(child(si, ds, "SignatureMethod", NULL), "Algorithm", ALG_RSA_SHA256);
	out->reference = child(si, ds, "Reference", NULL);
	snprintf(uri, sizeof(uri), "#%s", id);
	prop(out->reference, "URI", uri);
	transforms = child(out->reference, ds, "Transforms", NULL);
	prop(child(transforms, ds, "Transform", NULL), "Algorithm", ALG_ENVELOPED);
	c14n = child(transforms, ds, "Transform", NULL);
	prop(c14n, "Algorithm", ALG_EXC_C14N);
	incl = child(c14n, NULL, "InclusiveNamespaces", NULL);
	xmlSetNs(incl, must_ns(incl, NS_EC, "ec"));
	prop(incl, "PrefixList", "xs");
	prop(child(out->reference, ds, "DigestMethod", NULL), "Algorithm", ALG_SHA256);
	out->value = child(sig, ds, "SignatureValue", NULL);
	keyinfo = child(sig, ds, "KeyInfo", NULL);
	x509 = child(keyinfo, ds, "X509Data", NULL);
	child(x509, ds, "X509Certificate", s->cert_b64);
	out->target = target;
	out->sig = sig;
	out->signed_info = si;
	out->ds = ds;
}

/*
 * c14n visibility: a node is in the node-set when it lies in root's
 * subtree and not in skip's.  Namespace nodes carry no parent pointer;
 * libxml2 passes their element as parent.
 */
static int
subtree_visible(void *arg, xmlNodePtr node, xmlNodePtr parent)
{
	const struct subtree	*v = arg;
	xmlNodePtr		 n;

	n = node == NULL || node->type == XML_NAMESPACE_DECL ? parent : node;
	for (; n != NULL; n = n->parent) {
		if (n == v->skip)
			return 0;
		if (n == v->root)
			return 1;
	}
	return 0;
}

static int
feed_digest(void *arg, const char *buf, int len)
{
	return EVP_DigestUpdate(arg, buf, (size_t)len) == 1 ? len : -1;
}

static int
feed_signature(void *arg, const char *buf, int len)
{
	return EVP_DigestSignUpdate(arg, buf, (size_t)len) == 1 ? len : -1;
}

/* Streams the exclusive canonical form of root's subtree (minus skip's). */
static int
canonicalize(xmlNodePtr root, xmlNodePtr skip, xmlChar **inclusive,
    xmlOutputWriteCallback feed, void *arg)
{
	struct subtree		 view = { root, skip };
	xmlOutputBufferPtr	 out;
	int			 rc;

	if ((out = xmlOutputBufferCreateIO(feed, NULL, arg, NULL)) == NULL)
		return -1;
	rc = xmlC14NExecute(root->doc, subtree_visible, &view,
	    XML_C14N_EXCLUSIVE_1_0, inclusive, 0, out);
	if (xmlOutputBufferClose(out) < 0)
		rc = -1;
	return rc < 0 ? -1 : 0;
}

/*
 * Enveloped signature: the digest of the target without its Signature,
 * then RSA-SHA256 over the canonical SignedInfo that holds that digest.
 */
static int
sign(struct saml_signer *s, const struct signature *sig)
{
	unsigned char	 md[EVP_MAX_MD_SIZE], value[MAX_SIGNATURE];
	unsigned int	 mdlen;
	size_t		 valuelen = sizeof(value);
	char		*b64;
	int		 rc = -1;

	if (EVP_DigestInit_ex(s->digest_ctx, s->sha256, NULL) != 1)
		goto done;
	if (canonicalize(sig->target, sig->sig, inclusive_xs, feed_digest,
	    s->digest_ctx) == -1)
		goto done;
	if (EVP_DigestFinal_ex(s->digest_ctx, md, &mdlen) != 1)
		goto done;
	b64 = base64_encode(md, mdlen, 0);
	child(sig->reference, sig->ds, "DigestValue", b64);
	free(b64);

	if (EVP_DigestSignInit(s->sign_ctx, NULL, s->sha256, NULL, s->pkey) != 1)
		goto done;
	if (canonicalize(sig->signed_info, NULL, NULL, feed_signature,
	    s->sign_ctx) == -1)
		goto done;
	if (EVP_DigestSignFinal(s->sign_ctx, value, &valuelen) != 1)
		goto done;
	b64 = base64_encode(value, valuelen, 0);
	xmlNodeAddContent(sig->value, X(b64));
	free(b64);
	rc = 0;
done:
	EVP_MD_CTX_reset(s->digest_ctx);
	EVP_MD_CTX_reset(s->sign_ctx);
	return rc;
}

/*
 * Builds and signs the Response; *ret_xml is xmalloc'ed and NUL-terminated.
 * The e-mail has been validated.
 */
static int
mint(struct saml_signer *s, const char *email, double now, char **ret_xml,
    size_t *ret_len, double *ret_nooa, char *errbuf, size_t errlen)
{
	struct signature asig, rsig;
	xmlDocPtr	 doc = NULL;
	xmlNodePtr	 resp, issuer, status, assertion, aissuer, subject, conf;
	xmlNodePtr	 scd, cond, ar, authn, ac, stmt;
	xmlNsPtr	 samlp, saml, xsi;
	xmlChar		*mem = NULL;
	int		 memlen = 0;
	char		 ids[3][ID_LEN + 1];
	char		 t_now[32], t_before[32], t_after[32];
	const char	*errstr;
	double		 t0;

	ERR_clear_error();
	/* Whole seconds; the range keeps every time a four-digit year. */
	if (!(now >= NOT_BEFORE_SKEW && now < 253402300800.0 - s->lifetime)) {
		errstr = "time is out of range";
		goto fail;
	}
	t0 = (double)(int64_t)now;
	if (format_rfc3339(t0, t_now, sizeof(t_now)) == -1 ||
	    format_rfc3339(t0 - NOT_BEFORE_SKEW, t_before, sizeof(t_before)) == -1 ||
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
	samlp = must_ns(resp, NS_SAMLP, "samlp");
	saml = must_ns(resp, NS_SAML, "saml");
	xmlSetNs(resp, samlp);
	prop(resp, "ID", ids[0]);
	prop(resp, "Version", "2.0");
	prop(resp, "IssueInstant", t_now);
	prop(resp, "Destination", s->destination);
	issuer = child(resp, saml, "Issuer", s->issuer);
	status = child(resp, samlp, "Status", NULL);
	prop(child(status, samlp, "StatusCode", NULL), "Value", STATUS_SUCCESS);

	assertion = child(resp, saml, "Assertion", NULL);
	must_ns(assertion, NS_XS, "xs");
	xsi = must_ns(assertion, NS_XSI, "xsi");
	prop(assertion, "ID", ids[1]);
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

	/* Both Signatures in place first; the Response's digest then covers
	 * the Assertion's finished Signature. */
	signature_new(s, assertion, aissuer, ids[1], &asig);
	if (s->sign_response)
		signature_new(s, resp, issuer, ids[0], &rsig);
	errstr = "cannot sign the assertion";
	if (sign(s, &asig) == -1)
		goto fail;
	errstr = "cannot sign the response";
	if (s->sign_response && sign(s, &rsig) == -1)
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
	set_error(errbuf, errlen, errstr);
	if (mem != NULL) {
		OPENSSL_cleanse(mem, (size_t)memlen);
		xmlFree(mem);
	}
	xmlFreeDoc(doc);
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
