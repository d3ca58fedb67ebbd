/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_saml.c - signed SAMLResponses: every field of the document at a
 * fixed time, defaults and overrides, both signatures checked by xmlsec
 * with the fixture certificate (and broken by any change after signing),
 * fresh IDs, escaping of hostile but valid addresses, refusals with their
 * exact texts, and the init/shutdown pairs.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmldsig.h>

#include "samlbroker.h"

#define NS_SAMLP	"urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML		"urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define NS_EC		"http://www.w3.org/2001/10/xml-exc-c14n#"
#define NS_XS		"http://www.w3.org/2001/XMLSchema"
#define NS_XSI		"http://www.w3.org/2001/XMLSchema-instance"

/* 2025-11-24T16:00:00Z */
#define NOW		1764000000.0
#define T_NOW		"2025-11-24T16:00:00Z"
#define T_BEFORE	"2025-11-24T15:59:55Z"
#define T_AFTER		"2025-11-24T16:05:00Z"	/* NOW + 300 s */
#define T_AFTER_600	"2025-11-24T16:10:00Z"	/* NOW + 600 s */

#define BASE_AUTH	"https://login.mypurecloud.com/oauth/token"
#define ISSUER		"https://www.genesys.com/pureengage"
#define ORG		"acme-contact"
#define EMAIL		"agent.smith@example.com"

/* Mints whose IDs must all differ; under valgrind (about 80 ms a mint)
 * fewer, which still runs the mint path repeatedly for leaks. */
#define UNIQUE_MINTS		10000
#define UNIQUE_MINTS_VALGRIND	300

static struct keystore	*keys;
static xmlSecKeyPtr	 cert_key;	/* the fixture certificate's public key */
static xmlSecKeyPtr	 other_key;	/* another certificate's */
static char		*cert_der_b64;	/* expected X509Certificate text */

#define X(s)	((const xmlChar *)(s))

static char *
fixture_path(const char *dir, const char *file)
{
	const char	*top = getenv("top_srcdir");
	char		 path[4096];

	snprintf(path, sizeof(path), "%s/tests/data/keys/%s/%s",
	    top != NULL ? top : ".", dir, file);
	return xstrdup(path);
}

static char *
fixture_read(const char *dir, const char *file)
{
	char	*path = fixture_path(dir, file), *buf;
	size_t	 len;

	if (read_file_limited(path, 1 << 20, &buf, &len) == -1)
		fail_msg("cannot read %s", path);
	free(path);
	return buf;
}

static struct keystore *
load_fixture_keys(void)
{
	char		*cert = fixture_read("vendor-pkcs8", "cert.pem.b64");
	char		*key = fixture_read("vendor-pkcs8", "key.pem.enc.b64");
	char		*password = fixture_read("vendor-pkcs8", "password");
	char		 err[256];
	struct keystore	*ks;

	ks = keystore_load(cert, key, password, err, sizeof(err));
	if (ks == NULL)
		fail_msg("keystore_load: %s", err);
	free(cert);
	free(key);
	secret_free(password);
	return ks;
}

static xmlSecKeyPtr
load_cert_key(const char *dir)
{
	char		*path = fixture_path(dir, "cert.pem");
	xmlSecKeyPtr	 key;

	key = xmlSecCryptoAppKeyLoad(path, xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
	assert_non_null(key);
	free(path);
	return key;
}

/* A tenant as config.c would hand it over; free with tenant_clear. */
static void
tenant_fill(struct tenant *t)
{
	memset(t, 0, sizeof(*t));
	t->name = xstrdup("acme");
	t->organization_sname = xstrdup(ORG);
	t->organization_id = xstrdup("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
	t->base_auth_url = xstrdup(BASE_AUTH);
	t->base_service_url = xstrdup("https://api.mypurecloud.com/api/");
	t->issuer = xstrdup(ISSUER);
	t->expire_time_hours = 24;
	t->assertion_lifetime = 300;
	t->keys = keys;
}

static void
tenant_set(char **field, const char *value)
{
	free(*field);
	*field = value != NULL ? xstrdup(value) : NULL;
}

static void
tenant_clear(struct tenant *t)
{
	free(t->name);
	free(t->organization_sname);
	free(t->organization_id);
	free(t->base_auth_url);
	free(t->base_service_url);
	free(t->issuer);
	free(t->audience);
	free(t->recipient);
	free(t->destination);
	free(t->service_name);
	memset(t, 0, sizeof(*t));
}

static struct saml_signer *
signer_for(const struct tenant *t)
{
	struct saml_signer	*s;
	char			 err[256];

	s = saml_signer_new(t, err, sizeof(err));
	if (s == NULL)
		fail_msg("saml_signer_new: %s", err);
	return s;
}

static char *
mint_xml(struct saml_signer *s, const char *email, double now, size_t *ret_len)
{
	char	 err[256], *xml = NULL;
	size_t	 len = 0;

	if (saml_mint_response(s, email, now, &xml, &len, err, sizeof(err)) == -1)
		fail_msg("saml_mint_response: %s", err);
	assert_non_null(xml);
	assert_int_equal(strlen(xml), len);
	if (ret_len != NULL)
		*ret_len = len;
	return xml;
}

static xmlDocPtr
parse(const char *xml)
{
	xmlDocPtr	 doc;

	doc = xmlReadMemory(xml, (int)strlen(xml), "mint.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	return doc;
}

/* Element children only. */
static xmlNodePtr
first_el(xmlNodePtr n)
{
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static xmlNodePtr
next_el(xmlNodePtr n)
{
	for (n = n->next; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

/* "prefix:name prefix:name ..." of parent's element children, in order. */
static const char *
children_of(xmlNodePtr parent)
{
	static char	 buf[1024];
	size_t		 o = 0;

	buf[0] = '\0';
	for (xmlNodePtr n = first_el(parent); n != NULL; n = next_el(n))
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s%s%s",
		    o > 0 ? " " : "",
		    n->ns != NULL && n->ns->prefix != NULL ? (const char *)n->ns->prefix : "",
		    n->ns != NULL && n->ns->prefix != NULL ? ":" : "",
		    (const char *)n->name);
	return buf;
}

/* "prefix=href ..." of the namespaces an element declares. */
static const char *
declared_on(xmlNodePtr n)
{
	static char	 buf[1024];
	size_t		 o = 0;

	buf[0] = '\0';
	for (xmlNsPtr ns = n->nsDef; ns != NULL; ns = ns->next)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s=%s",
		    o > 0 ? " " : "", ns->prefix != NULL ? (const char *)ns->prefix : "",
		    (const char *)ns->href);
	return buf;
}

/* The only element child of parent with this namespace and name. */
static xmlNodePtr
the(xmlNodePtr parent, const char *href, const char *name)
{
	xmlNodePtr	 found = NULL;

	for (xmlNodePtr n = first_el(parent); n != NULL; n = next_el(n)) {
		if (n->ns == NULL || strcmp((const char *)n->ns->href, href) != 0 ||
		    strcmp((const char *)n->name, name) != 0)
			continue;
		if (found != NULL)
			fail_msg("two %s elements", name);
		found = n;
	}
	if (found == NULL)
		fail_msg("no %s element in %s", name, (const char *)parent->name);
	return found;
}

/* Attributes, in document order: "name=value|name=value". */
static const char *
attrs_of(xmlNodePtr n)
{
	static char	 buf[2048];
	size_t		 o = 0;

	buf[0] = '\0';
	for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
		xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);

		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s%s%s=%s",
		    o > 0 ? "|" : "",
		    a->ns != NULL ? (const char *)a->ns->prefix : "",
		    a->ns != NULL ? ":" : "", (const char *)a->name,
		    v != NULL ? (const char *)v : "");
		xmlFree(v);
	}
	return buf;
}

static char *
attr(xmlNodePtr n, const char *name)
{
	static char	 buf[1024];
	xmlChar		*v = xmlGetNoNsProp(n, X(name));

	if (v == NULL)
		fail_msg("no attribute %s on %s", name, (const char *)n->name);
	snprintf(buf, sizeof(buf), "%s", (const char *)v);
	xmlFree(v);
	return buf;
}

static void
assert_text(xmlNodePtr n, const char *expected)
{
	xmlChar	*text = xmlNodeGetContent(n);

	assert_non_null(text);
	assert_string_equal((const char *)text, expected);
	xmlFree(text);
}

static void
assert_matches(const char *s, const char *pattern)
{
	regex_t	 re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, s, 0, NULL, 0) != 0)
		fail_msg("'%s' does not match %s", s, pattern);
	regfree(&re);
}

static size_t
count_elements(xmlNodePtr n)
{
	size_t	 count = 0;

	for (; n != NULL; n = n->next) {
		if (n->type == XML_ELEMENT_NODE)
			count += 1 + count_elements(n->children);
	}
	return count;
}

/* Registers the ID attributes of Response and Assertion, as a verifier does. */
static void
register_ids(xmlDocPtr doc, xmlNodePtr n)
{
	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns != NULL && (strcmp((const char *)n->name, "Response") == 0 ||
		    strcmp((const char *)n->name, "Assertion") == 0)) {
			xmlAttrPtr a = xmlHasProp(n, X("ID"));
			xmlChar *id = xmlGetNoNsProp(n, X("ID"));

			if (a != NULL && id != NULL)
				xmlAddID(NULL, doc, id, a);
			xmlFree(id);
		}
		register_ids(doc, n->children);
	}
}

/*
 * Verifies the signature of the Response ("Response") or of its Assertion
 * ("Assertion") with key, as a service provider would: the reference must
 * point at that element's ID.  0 when valid.
 */
static int
verify(const char *xml, const char *which, xmlSecKeyPtr key)
{
	xmlDocPtr	 doc = parse(xml);
	xmlNodePtr	 target = xmlDocGetRootElement(doc), sig, ref;
	xmlSecDSigCtxPtr ctx;
	char		 uri[64];
	int		 rc = -1;

	register_ids(doc, doc->children);
	if (strcmp(which, "Assertion") == 0)
		target = the(target, NS_SAML, "Assertion");
	sig = the(target, NS_DS, "Signature");
	ref = the(the(sig, NS_DS, "SignedInfo"), NS_DS, "Reference");
	snprintf(uri, sizeof(uri), "#%s", attr(target, "ID"));
	if (strcmp(attr(ref, "URI"), uri) != 0)
		goto done;
	assert_non_null(ctx = xmlSecDSigCtxCreate(NULL));
	ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
	ctx->signKey = key;
	if (xmlSecDSigCtxVerify(ctx, sig) == 0 &&
	    ctx->status == xmlSecDSigStatusSucceeded)
		rc = 0;
	ctx->signKey = NULL;	/* borrowed */
	xmlSecDSigCtxDestroy(ctx);
done:
	xmlFreeDoc(doc);
	return rc;
}

/* A copy of s with its only occurrence of from replaced by to. */
static char *
replace_once(const char *s, const char *from, const char *to)
{
	const char	*at = strstr(s, from);
	char		*out;

	if (at == NULL)
		fail_msg("'%s' not found", from);
	if (strstr(at + 1, from) != NULL)
		fail_msg("'%s' found twice", from);
	out = xmalloc(strlen(s) - strlen(from) + strlen(to) + 1);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), to);
	strcat(out, at + strlen(from));
	return out;
}

/* The ds:Signature of target: algorithms, reference, digest, key info. */
static void
check_signature(xmlNodePtr target)
{
	xmlNodePtr	 sig, si, ref, tr, t, incl, ki, x509;
	unsigned char	*raw;
	size_t		 rawlen;
	char		 uri[64];

	sig = the(target, NS_DS, "Signature");
	assert_string_equal(declared_on(sig), "ds=" NS_DS);
	assert_string_equal(children_of(sig), "ds:SignedInfo ds:SignatureValue ds:KeyInfo");
	si = the(sig, NS_DS, "SignedInfo");
	assert_string_equal(children_of(si),
	    "ds:CanonicalizationMethod ds:SignatureMethod ds:Reference");
	assert_string_equal(attrs_of(the(si, NS_DS, "CanonicalizationMethod")),
	    "Algorithm=http://www.w3.org/2001/10/xml-exc-c14n#");
	assert_string_equal(attrs_of(the(si, NS_DS, "SignatureMethod")),
	    "Algorithm=http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
	ref = the(si, NS_DS, "Reference");
	snprintf(uri, sizeof(uri), "URI=#%s", attr(target, "ID"));
	assert_string_equal(attrs_of(ref), uri);
	assert_string_equal(children_of(ref), "ds:Transforms ds:DigestMethod ds:DigestValue");
	tr = the(ref, NS_DS, "Transforms");
	assert_string_equal(children_of(tr), "ds:Transform ds:Transform");
	t = first_el(tr);
	assert_string_equal(attrs_of(t),
	    "Algorithm=http://www.w3.org/2000/09/xmldsig#enveloped-signature");
	t = next_el(t);
	assert_string_equal(attrs_of(t), "Algorithm=http://www.w3.org/2001/10/xml-exc-c14n#");
	incl = the(t, NS_EC, "InclusiveNamespaces");
	assert_string_equal(attrs_of(incl), "PrefixList=xs");
	assert_string_equal(attrs_of(the(ref, NS_DS, "DigestMethod")),
	    "Algorithm=http://www.w3.org/2001/04/xmlenc#sha256");

	/* Unwrapped base64: a SHA-256 digest and a 2048-bit signature. */
	xmlChar *v = xmlNodeGetContent(the(ref, NS_DS, "DigestValue"));
	assert_int_equal(base64_decode_lenient((const char *)v, &raw, &rawlen), 0);
	assert_int_equal(rawlen, 32);
	assert_int_equal(strlen((const char *)v), 44);
	free(raw);
	xmlFree(v);
	v = xmlNodeGetContent(the(sig, NS_DS, "SignatureValue"));
	assert_null(strchr((const char *)v, '\n'));
	assert_int_equal(base64_decode_lenient((const char *)v, &raw, &rawlen), 0);
	assert_int_equal(rawlen, 256);
	free(raw);
	xmlFree(v);

	ki = the(sig, NS_DS, "KeyInfo");
	assert_string_equal(children_of(ki), "ds:X509Data");
	x509 = the(ki, NS_DS, "X509Data");
	assert_string_equal(children_of(x509), "ds:X509Certificate");
	assert_text(the(x509, NS_DS, "X509Certificate"), cert_der_b64);
}

/* One Attribute: name, name format, one typed value. */
static void
check_attribute(xmlNodePtr a, const char *name, const char *value)
{
	xmlNodePtr	 v;
	char		 expect[512];

	snprintf(expect, sizeof(expect),
	    "Name=%s|NameFormat=urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified",
	    name);
	assert_string_equal(attrs_of(a), expect);
	assert_string_equal(children_of(a), "saml:AttributeValue");
	v = the(a, NS_SAML, "AttributeValue");
	assert_string_equal(attrs_of(v), "xsi:type=xs:string");
	assert_string_equal((const char *)v->properties->ns->href, NS_XSI);
	assert_text(v, value);
}

struct expect {
	const char	*email;
	const char	*audience;
	const char	*recipient;
	const char	*destination;
	const char	*service_name;
	const char	*not_on_or_after;
	bool		 sign_response;
};

/* Pins every element, attribute and text of a minted document. */
static void
check_document(const char *xml, const struct expect *e)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 resp, status, code, a, subject, conf, scd, cond, ar, authn;
	xmlNodePtr	 ac, stmt, attr1;
	char		 rid[64], aid[64], expect[1024];

	assert_memory_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
	    strlen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
	doc = parse(xml);
	resp = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)resp->name, "Response");
	assert_string_equal((const char *)resp->ns->href, NS_SAMLP);
	assert_string_equal((const char *)resp->ns->prefix, "samlp");
	assert_string_equal(declared_on(resp), "samlp=" NS_SAMLP " saml=" NS_SAML);
	snprintf(rid, sizeof(rid), "%s", attr(resp, "ID"));
	assert_matches(rid, "^_[0-9a-f]{32}$");
	snprintf(expect, sizeof(expect),
	    "ID=%s|Version=2.0|IssueInstant=" T_NOW "|Destination=%s", rid, e->destination);
	assert_string_equal(attrs_of(resp), expect);
	assert_string_equal(children_of(resp), e->sign_response ?
	    "saml:Issuer ds:Signature samlp:Status saml:Assertion" :
	    "saml:Issuer samlp:Status saml:Assertion");
	assert_string_equal(attrs_of(the(resp, NS_SAML, "Issuer")), "");
	assert_text(the(resp, NS_SAML, "Issuer"), ISSUER);
	if (e->sign_response)
		check_signature(resp);
	status = the(resp, NS_SAMLP, "Status");
	assert_string_equal(children_of(status), "samlp:StatusCode");
	code = the(status, NS_SAMLP, "StatusCode");
	assert_string_equal(attrs_of(code), "Value=urn:oasis:names:tc:SAML:2.0:status:Success");
	assert_null(first_el(code));

	a = the(resp, NS_SAML, "Assertion");
	assert_string_equal(declared_on(a), "xs=" NS_XS " xsi=" NS_XSI);
	snprintf(aid, sizeof(aid), "%s", attr(a, "ID"));
	assert_matches(aid, "^_[0-9a-f]{32}$");
	assert_string_not_equal(aid, rid);
	snprintf(expect, sizeof(expect), "ID=%s|Version=2.0|IssueInstant=" T_NOW, aid);
	assert_string_equal(attrs_of(a), expect);
	assert_string_equal(children_of(a), "saml:Issuer ds:Signature saml:Subject "
	    "saml:Conditions saml:AuthnStatement saml:AttributeStatement");
	assert_text(the(a, NS_SAML, "Issuer"), ISSUER);
	check_signature(a);

	subject = the(a, NS_SAML, "Subject");
	assert_string_equal(children_of(subject), "saml:NameID saml:SubjectConfirmation");
	assert_string_equal(attrs_of(the(subject, NS_SAML, "NameID")),
	    "Format=urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
	assert_text(the(subject, NS_SAML, "NameID"), e->email);
	conf = the(subject, NS_SAML, "SubjectConfirmation");
	assert_string_equal(attrs_of(conf), "Method=urn:oasis:names:tc:SAML:2.0:cm:bearer");
	assert_string_equal(children_of(conf), "saml:SubjectConfirmationData");
	scd = the(conf, NS_SAML, "SubjectConfirmationData");
	snprintf(expect, sizeof(expect), "NotOnOrAfter=%s|Recipient=%s",
	    e->not_on_or_after, e->recipient);
	assert_string_equal(attrs_of(scd), expect);
	assert_null(first_el(scd));

	cond = the(a, NS_SAML, "Conditions");
	snprintf(expect, sizeof(expect), "NotBefore=" T_BEFORE "|NotOnOrAfter=%s",
	    e->not_on_or_after);
	assert_string_equal(attrs_of(cond), expect);
	assert_string_equal(children_of(cond), "saml:AudienceRestriction");
	ar = the(cond, NS_SAML, "AudienceRestriction");
	assert_string_equal(children_of(ar), "saml:Audience");
	assert_text(the(ar, NS_SAML, "Audience"), e->audience);

	authn = the(a, NS_SAML, "AuthnStatement");
	assert_string_equal(attr(authn, "AuthnInstant"), T_NOW);
	assert_matches(attr(authn, "SessionIndex"), "^_[0-9a-f]{32}$");
	assert_string_not_equal(attr(authn, "SessionIndex"), rid);
	assert_string_not_equal(attr(authn, "SessionIndex"), aid);
	snprintf(expect, sizeof(expect), "AuthnInstant=" T_NOW "|SessionIndex=%s",
	    attr(authn, "SessionIndex"));
	assert_string_equal(attrs_of(authn), expect);
	assert_string_equal(children_of(authn), "saml:AuthnContext");
	ac = the(authn, NS_SAML, "AuthnContext");
	assert_string_equal(children_of(ac), "saml:AuthnContextClassRef");
	assert_text(the(ac, NS_SAML, "AuthnContextClassRef"),
	    "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified");

	stmt = the(a, NS_SAML, "AttributeStatement");
	assert_string_equal(children_of(stmt), e->service_name != NULL ?
	    "saml:Attribute saml:Attribute saml:Attribute" :
	    "saml:Attribute saml:Attribute");
	attr1 = first_el(stmt);
	check_attribute(attr1, "email", e->email);
	check_attribute(next_el(attr1), "OrganizationName", ORG);
	if (e->service_name != NULL)
		check_attribute(next_el(next_el(attr1)), "ServiceName", e->service_name);
	xmlFreeDoc(doc);
}

static int
group_setup(void **state)
{
	char		*cert_pem;
	X509		*cert;
	unsigned char	*der = NULL;
	int		 len;

	if (saml_global_init() == -1)
		return -1;
	keys = load_fixture_keys();
	cert_key = load_cert_key("vendor-pkcs8");
	other_key = load_cert_key("vendor-traditional");
	/* The expected certificate text, from the fixture file itself. */
	cert_pem = fixture_path("vendor-pkcs8", "cert.pem");
	FILE *f = fopen(cert_pem, "r");
	assert_non_null(f);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	free(cert_pem);
	assert_non_null(cert);
	len = i2d_X509(cert, &der);
	assert_true(len > 0);
	cert_der_b64 = base64_encode(der, (size_t)len, 0);
	OPENSSL_free(der);
	X509_free(cert);
	return 0;
}

static int
group_teardown(void **state)
{
	xmlSecKeyDestroy(cert_key);
	xmlSecKeyDestroy(other_key);
	free(cert_der_b64);
	keystore_free(keys);
	saml_global_shutdown();
	return 0;
}

/* A tenant that leaves audience, recipient and destination to default. */
static void
test_defaults(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			*xml;
	struct expect		 e = { EMAIL, BASE_AUTH, BASE_AUTH, BASE_AUTH,
	    NULL, T_AFTER, false };

	tenant_fill(&t);
	s = signer_for(&t);
	xml = mint_xml(s, EMAIL, NOW, NULL);
	check_document(xml, &e);
	assert_int_equal(verify(xml, "Assertion", cert_key), 0);
	assert_int_not_equal(verify(xml, "Assertion", other_key), 0);
	/* No whitespace added: one line after the declaration. */
	assert_ptr_equal(strchr(strchr(xml, '\n') + 1, '\n'), xml + strlen(xml) - 1);
	secret_free(xml);
	saml_signer_free(s);
	tenant_clear(&t);
}

/* Every override, ServiceName, a longer life and a signed Response. */
static void
test_overrides(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			*xml;
	struct expect		 e = { EMAIL, "urn:gc:acme-audience",
	    "https://login.mypurecloud.com/saml?x=1&y=2",
	    "https://login.mypurecloud.com/oauth/token?dest",
	    "desktop & more", T_AFTER_600, true };

	tenant_fill(&t);
	tenant_set(&t.audience, e.audience);
	tenant_set(&t.recipient, e.recipient);
	tenant_set(&t.destination, e.destination);
	tenant_set(&t.service_name, e.service_name);
	t.assertion_lifetime = 600;
	t.sign_response = true;
	s = signer_for(&t);
	/* The signer keeps copies: the tenant may go away. */
	tenant_clear(&t);
	xml = mint_xml(s, EMAIL, NOW, NULL);
	check_document(xml, &e);
	assert_non_null(strstr(xml, "Recipient=\"https://login.mypurecloud.com/saml?x=1&amp;y=2\""));
	assert_int_equal(verify(xml, "Assertion", cert_key), 0);
	assert_int_equal(verify(xml, "Response", cert_key), 0);
	assert_int_not_equal(verify(xml, "Response", other_key), 0);
	secret_free(xml);
	saml_signer_free(s);
}

/* The config module fills defaults, but NULL and "" service names mean none. */
static void
test_empty_service_name_and_default_lifetime(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			*xml;
	struct expect		 e = { EMAIL, BASE_AUTH, BASE_AUTH, BASE_AUTH,
	    NULL, T_AFTER, false };

	tenant_fill(&t);
	tenant_set(&t.service_name, "");
	t.assertion_lifetime = 0;	/* unset: 300 s */
	s = signer_for(&t);
	xml = mint_xml(s, EMAIL, NOW, NULL);
	check_document(xml, &e);
	secret_free(xml);
	saml_signer_free(s);
	tenant_clear(&t);
}

/* Fractions of a second are dropped, never rounded up. */
static void
test_whole_seconds(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			*xml;
	struct expect		 e = { EMAIL, BASE_AUTH, BASE_AUTH, BASE_AUTH,
	    NULL, T_AFTER, false };

	tenant_fill(&t);
	s = signer_for(&t);
	xml = mint_xml(s, EMAIL, NOW + 0.999, NULL);
	check_document(xml, &e);
	secret_free(xml);
	saml_signer_free(s);
	tenant_clear(&t);
}

static void
test_b64(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			 err[256], *b64 = NULL;
	unsigned char		*xml;
	size_t			 len;
	double			 nooa = 0;
	struct expect		 e = { EMAIL, BASE_AUTH, BASE_AUTH, BASE_AUTH,
	    NULL, T_AFTER, true };

	tenant_fill(&t);
	t.sign_response = true;
	s = signer_for(&t);
	assert_int_equal(saml_mint_response_b64(s, EMAIL, NOW + 0.5, &b64, &nooa,
	    err, sizeof(err)), 0);
	assert_true(nooa == NOW + 300);
	/* Standard alphabet, one line. */
	assert_int_equal(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/="), strlen(b64));
	assert_int_equal(base64_decode_lenient(b64, &xml, &len), 0);
	assert_int_equal(strlen((char *)xml), len);
	check_document((char *)xml, &e);
	assert_int_equal(verify((char *)xml, "Assertion", cert_key), 0);
	assert_int_equal(verify((char *)xml, "Response", cert_key), 0);
	secret_free((char *)xml);
	secret_free(b64);
	saml_signer_free(s);
	tenant_clear(&t);
}

/* Any change after signing breaks the signature that covers it. */
static void
test_tampering(void **state)
{
	static const struct {
		const char *from, *to;
	} changes[] = {
		{ ">" EMAIL "</saml:NameID>", ">agent.smyth@example.com</saml:NameID>" },
		{ "<saml:Audience>" BASE_AUTH "<", "<saml:Audience>https://login.example.org/<" },
		{ "NotBefore=\"" T_BEFORE "\" NotOnOrAfter=\"" T_AFTER "\"",
		  "NotBefore=\"" T_BEFORE "\" NotOnOrAfter=\"2025-11-24T20:05:00Z\"" },
		{ "NotOnOrAfter=\"" T_AFTER "\" Recipient",
		  "NotOnOrAfter=\"2025-11-24T20:05:00Z\" Recipient" },
		{ ">" ORG "</saml:AttributeValue>", ">other-org</saml:AttributeValue>" },
		{ ">" EMAIL "</saml:AttributeValue>", ">boss@example.com</saml:AttributeValue>" },
		{ "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:"
		  "unspecified<", "<saml:AuthnContextClassRef>urn:x<" },
		{ "xsi:type=\"xs:string\">" ORG, "xsi:type=\"xs:anyType\">" ORG },
	};
	struct tenant		 t;
	struct saml_signer	*s;
	char			*xml, *bad;

	tenant_fill(&t);
	t.sign_response = true;
	s = signer_for(&t);
	xml = mint_xml(s, EMAIL, NOW, NULL);
	assert_int_equal(verify(xml, "Assertion", cert_key), 0);
	assert_int_equal(verify(xml, "Response", cert_key), 0);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		bad = replace_once(xml, changes[i].from, changes[i].to);
		if (verify(bad, "Assertion", cert_key) == 0)
			fail_msg("assertion still verifies after change %zu", i);
		if (verify(bad, "Response", cert_key) == 0)
			fail_msg("response still verifies after change %zu", i);
		free(bad);
	}
	/* Outside the Assertion only the Response's signature notices. */
	bad = replace_once(xml, "Destination=\"" BASE_AUTH "\"",
	    "Destination=\"https://evil.example.com/\"");
	assert_int_equal(verify(bad, "Assertion", cert_key), 0);
	assert_int_not_equal(verify(bad, "Response", cert_key), 0);
	free(bad);
	secret_free(xml);
	saml_signer_free(s);
	tenant_clear(&t);
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 33);
}

/* The 33-character ID after marker's first occurrence at or after from. */
static const char *
id_after(const char *from, const char *marker)
{
	const char	*p = strstr(from, marker);

	if (p == NULL)
		fail_msg("no %s", marker);
	return p + strlen(marker);
}

static bool
under_valgrind(void)
{
	const char	*preload = getenv("LD_PRELOAD");

	return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

static void
test_unique_ids(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			*xml, (*ids)[33];
	size_t			 n = 0;
	int			 mints;

	mints = under_valgrind() ? UNIQUE_MINTS_VALGRIND : UNIQUE_MINTS;
	tenant_fill(&t);
	s = signer_for(&t);
	ids = xcalloc(3 * (size_t)mints, sizeof(*ids));
	for (int i = 0; i < mints; i++) {
		xml = mint_xml(s, EMAIL, NOW, NULL);
		memcpy(ids[n++], id_after(xml, " ID=\""), 33);
		memcpy(ids[n++], id_after(strstr(xml, "<saml:Assertion "), " ID=\""), 33);
		memcpy(ids[n++], id_after(xml, "SessionIndex=\""), 33);
		secret_free(xml);
	}
	/* Response IDs, Assertion IDs and session indexes: all different. */
	assert_int_equal(n, 3 * (size_t)mints);
	qsort(ids, n, sizeof(*ids), cmp_id);
	for (size_t i = 1; i < n; i++) {
		if (memcmp(ids[i - 1], ids[i], 33) == 0)
			fail_msg("ID %.33s minted twice", ids[i]);
	}
	free(ids);
	saml_signer_free(s);
	tenant_clear(&t);
}

/* Valid addresses with XML's special characters stay text; capitals are
 * minted lowercase (one identity per agent). */
static void
test_hostile_addresses(void **state)
{
	static const char *addresses[] = {
		"o'hara&co\"<x>@example.com",
		"</saml:NameID><saml:NameID>boss@example.com",
		"a]]>b&amp;&#x41;@example.com",
		"<!--x-->@example.com",
		"jos\xc3\xa9.m\xc3\xbc" "ller@b\xc3\xbc" "cher.example",
		"Agent.SMITH@Example.COM",
	};
	struct tenant		 t;
	struct saml_signer	*s;
	xmlDocPtr		 doc;
	xmlNodePtr		 a, stmt;
	char			*xml;
	size_t			 plain;
	struct expect		 e = { NULL, BASE_AUTH, BASE_AUTH, BASE_AUTH,
	    NULL, T_AFTER, false };

	tenant_fill(&t);
	s = signer_for(&t);
	xml = mint_xml(s, EMAIL, NOW, NULL);
	doc = parse(xml);
	plain = count_elements(doc->children);
	xmlFreeDoc(doc);
	secret_free(xml);

	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		char	 canon[EMAIL_MAX_LEN + 1];

		/* What is minted is the canonical form (lowercase). */
		snprintf(canon, sizeof(canon), "%s", addresses[i]);
		email_canonicalize(canon);
		xml = mint_xml(s, addresses[i], NOW, NULL);
		e.email = canon;
		check_document(xml, &e);
		doc = parse(xml);
		assert_int_equal(count_elements(doc->children), plain);
		a = the(xmlDocGetRootElement(doc), NS_SAML, "Assertion");
		assert_text(the(the(a, NS_SAML, "Subject"), NS_SAML, "NameID"), canon);
		stmt = the(a, NS_SAML, "AttributeStatement");
		assert_text(the(first_el(stmt), NS_SAML, "AttributeValue"), canon);
		xmlFreeDoc(doc);
		assert_int_equal(verify(xml, "Assertion", cert_key), 0);
		secret_free(xml);
	}
	/* Escaped as such, and UTF-8 written as UTF-8. */
	xml = mint_xml(s, addresses[0], NOW, NULL);
	assert_non_null(strstr(xml, ">o'hara&amp;co\"&lt;x&gt;@example.com</saml:NameID>"));
	assert_null(strstr(xml, "<x>"));
	secret_free(xml);
	xml = mint_xml(s, addresses[4], NOW, NULL);
	assert_non_null(strstr(xml, ">jos\xc3\xa9.m\xc3\xbc" "ller@b\xc3\xbc" "cher.example<"));
	secret_free(xml);
	saml_signer_free(s);
	tenant_clear(&t);
}

/*
 * Settings with characters the serializer and the canonicalizer escape
 * differently ('>' and '"' in attributes, '&' in text) still verify, and
 * name_id_format and authn_context_class reach the document.
 */
static void
test_hostile_settings(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			*xml;

	tenant_fill(&t);
	tenant_set(&t.issuer, "https://idp.example/?a=1&b=>2");
	tenant_set(&t.recipient, "https://x.example/?q=\">\"&r='1'");
	tenant_set(&t.destination, "https://x.example/?d=<>&");
	tenant_set(&t.audience, "urn:a&b>c<d");
	tenant_set(&t.service_name, "svc \"quoted\" & <angled>");
	tenant_set(&t.name_id_format, "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified");
	tenant_set(&t.authn_context_class,
	    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
	t.sign_response = true;
	s = signer_for(&t);
	xml = mint_xml(s, "o'hara&co\"<x>@example.com", NOW, NULL);
	assert_int_equal(verify(xml, "Assertion", cert_key), 0);
	assert_int_equal(verify(xml, "Response", cert_key), 0);
	assert_non_null(strstr(xml, "Recipient=\"https://x.example/?q=&quot;&gt;&quot;&amp;r='1'\""));
	assert_non_null(strstr(xml, "<saml:Audience>urn:a&amp;b&gt;c&lt;d</saml:Audience>"));
	assert_non_null(strstr(xml, "<saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:"
	    "nameid-format:unspecified\">"));
	assert_non_null(strstr(xml, "<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:"
	    "ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef>"));
	secret_free(xml);
	saml_signer_free(s);
	free(t.name_id_format);
	free(t.authn_context_class);
	tenant_clear(&t);
}

/* Refused with email_validate's words; nothing is returned. */
static void
test_invalid_addresses(void **state)
{
	static const struct {
		const char *email, *why;
	} cases[] = {
		{ "", "e-mail address is empty" },
		{ "agent.example.com", "e-mail address must contain exactly one '@'" },
		{ "a@b@example.com", "e-mail address must contain exactly one '@'" },
		{ "@example.com", "e-mail address needs a local part and a domain" },
		{ "agent@", "e-mail address needs a local part and a domain" },
		{ "agent smith@example.com",
		  "e-mail address contains a space or control character" },
		{ "agent\n@example.com",
		  "e-mail address contains a space or control character" },
		{ "agent\xff@example.com", "e-mail address is not valid UTF-8" },
	};
	struct tenant		 t;
	struct saml_signer	*s;
	char			 err[256], *out, longaddr[300];
	const char		*why;
	size_t			 len;
	double			 nooa;

	tenant_fill(&t);
	s = signer_for(&t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = (char *)&nooa;
		len = 77;
		assert_int_equal(saml_mint_response(s, cases[i].email, NOW, &out, &len,
		    err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].why);
		assert_ptr_equal(out, (char *)&nooa);
		assert_int_equal(len, 77);
		assert_int_equal(email_validate(cases[i].email, &why), -1);
		assert_string_equal(err, why);
		nooa = 5;
		assert_int_equal(saml_mint_response_b64(s, cases[i].email, NOW, &out,
		    &nooa, err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].why);
		assert_true(nooa == 5);
	}
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	longaddr[10] = '@';
	assert_int_equal(saml_mint_response(s, longaddr, NOW, &out, &len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "e-mail address is longer than 254 bytes");
	/* 254 bytes pass. */
	longaddr[254] = '\0';
	out = mint_xml(s, longaddr, NOW, NULL);
	secret_free(out);
	saml_signer_free(s);
	tenant_clear(&t);
}

static void
test_time_out_of_range(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			 err[256], *out = NULL;
	size_t			 len;

	tenant_fill(&t);
	s = signer_for(&t);
	assert_int_equal(saml_mint_response(s, EMAIL, -1.0, &out, &len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "time is out of range");
	assert_int_equal(saml_mint_response(s, EMAIL, 1e12, &out, &len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "time is out of range");
	assert_null(out);
	saml_signer_free(s);
	tenant_clear(&t);
}

static void
test_signer_refusals(void **state)
{
	struct tenant	 t;
	char		 err[256];

	tenant_fill(&t);
	tenant_set(&t.issuer, NULL);
	assert_null(saml_signer_new(&t, err, sizeof(err)));
	assert_string_equal(err, "tenant has no SAML issuer");
	tenant_set(&t.issuer, "");
	assert_null(saml_signer_new(&t, err, sizeof(err)));
	assert_string_equal(err, "tenant has no SAML issuer");
	tenant_clear(&t);

	tenant_fill(&t);
	tenant_set(&t.organization_sname, NULL);
	assert_null(saml_signer_new(&t, err, sizeof(err)));
	assert_string_equal(err, "tenant has no organization_sname");
	tenant_clear(&t);

	tenant_fill(&t);
	tenant_set(&t.base_auth_url, NULL);
	tenant_set(&t.audience, "urn:a");
	tenant_set(&t.recipient, "urn:r");
	assert_null(saml_signer_new(&t, err, sizeof(err)));
	assert_string_equal(err, "tenant has no base_auth_url for the default "
	    "audience, recipient and destination");
	/* Everything overridden: base_auth_url is not needed. */
	tenant_set(&t.destination, "urn:d");
	saml_signer_free(signer_for(&t));
	tenant_clear(&t);

	tenant_fill(&t);
	t.assertion_lifetime = -1;
	assert_null(saml_signer_new(&t, err, sizeof(err)));
	assert_string_equal(err, "assertion lifetime is negative");
	tenant_clear(&t);

	tenant_fill(&t);
	t.keys = NULL;
	assert_null(saml_signer_new(&t, err, sizeof(err)));
	assert_string_equal(err, "tenant has no signing key and certificate");
	tenant_clear(&t);
	saml_signer_free(NULL);
}

/* Before any saml_global_init, and init/shutdown in pairs. */
static void
test_init_pairs(void **state)
{
	struct tenant		 t;
	struct saml_signer	*s;
	char			 err[256], *xml;

	keys = load_fixture_keys();
	tenant_fill(&t);
	assert_null(saml_signer_new(&t, err, sizeof(err)));
	assert_string_equal(err, "saml_global_init was not called");
	saml_global_shutdown();		/* unbalanced: ignored */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(saml_global_init(), 0);
		assert_int_equal(saml_global_init(), 0);
		saml_global_shutdown();
		/* Still initialised: one init is outstanding. */
		s = signer_for(&t);
		xml = mint_xml(s, EMAIL, NOW, NULL);
		cert_key = load_cert_key("vendor-pkcs8");
		assert_int_equal(verify(xml, "Assertion", cert_key), 0);
		xmlSecKeyDestroy(cert_key);
		cert_key = NULL;
		secret_free(xml);
		saml_signer_free(s);
		saml_global_shutdown();
		assert_null(saml_signer_new(&t, err, sizeof(err)));
		assert_string_equal(err, "saml_global_init was not called");
	}
	tenant_clear(&t);
	keystore_free(keys);
	keys = NULL;
}

int
main(void)
{
	const struct CMUnitTest lifecycle[] = {
		cmocka_unit_test(test_init_pairs),
	};
	const struct CMUnitTest minting[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_empty_service_name_and_default_lifetime),
		cmocka_unit_test(test_whole_seconds),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_hostile_addresses),
		cmocka_unit_test(test_hostile_settings),
		cmocka_unit_test(test_invalid_addresses),
		cmocka_unit_test(test_time_out_of_range),
		cmocka_unit_test(test_signer_refusals),
		cmocka_unit_test(test_unique_ids),
	};
	int	 failed;

	log_init(LOG_LEVEL_ERROR, "test_saml");
	/* Keys are loaded here (the front's binary cannot). */
	keystore_global_init();
	failed = cmocka_run_group_tests_name("lifecycle", lifecycle, NULL, NULL);
	failed += cmocka_run_group_tests_name("minting", minting, group_setup,
	    group_teardown);
	return failed != 0;
}
