/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator_saml.c - the assertion checks of samlbroker-emulator: what the
 * PureCloud token endpoint is expected to check in a SAML2 Bearer grant.
 *
 * Owns parsing the base64 SAMLResponse safely (no network, no DTD, no
 * entity substitution), guarding against signature wrapping (exactly one
 * Assertion, unique IDs, the verified signature is the Assertion's own
 * child and references that Assertion), verifying the signature with the
 * certificates of the organization's identity provider record only (never
 * a key from the document), and the Issuer, Audience, Recipient, time and
 * NameID checks.  It does not know HTTP, clients or counters (emulator.c),
 * and it does not log: the reason of a failure is returned as text.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>

#include "emulator.h"

#define NS_SAMLP	"urn:oasis:names:tc:SAML:2.0:protocol"
#define NS_SAML		"urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define ALG_RSA_SHA256	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define CM_BEARER	"urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define STATUS_SUCCESS	"urn:oasis:names:tc:SAML:2.0:status:Success"

/* Tolerated clock skew, as the service documents it. */
#define SKEW		10.0

static void
quiet_xml(void *ctx, const char *msg, ...)
{
}

int
emulator_saml_init(void)
{
	xmlInitParser();
	if (xmlSecInit() < 0)
		goto fail_parser;
	/* Failures are reported as one reason per request, not as library
	 * noise on stderr. */
	xmlSecErrorsDefaultCallbackEnableOutput(0);
	xmlSetGenericErrorFunc(NULL, quiet_xml);
	if (xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(NULL) < 0)
		goto fail_xmlsec;
	if (xmlSecCryptoInit() < 0)
		goto fail_app;
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
emulator_saml_shutdown(void)
{
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
	xmlCleanupParser();
}

static int
is_elem(const xmlNode *n, const char *ns, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
	    strcmp((const char *)n->ns->href, ns) == 0 &&
	    strcmp((const char *)n->name, name) == 0;
}

/* The number of element children named ns:name; *ret gets the first. */
static int
children(const xmlNode *parent, const char *ns, const char *name, xmlNode **ret)
{
	int	 n = 0;

	*ret = NULL;
	for (xmlNode *c = parent->children; c != NULL; c = c->next) {
		if (!is_elem(c, ns, name))
			continue;
		if (n++ == 0)
			*ret = c;
	}
	return n;
}

/* Exactly one child ns:name, or NULL. */
static xmlNode *
child_one(const xmlNode *parent, const char *ns, const char *name)
{
	xmlNode	*c;

	return children(parent, ns, name, &c) == 1 ? c : NULL;
}

static int
count_elems(const xmlNode *n, const char *ns, const char *name)
{
	int	 total = 0;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is_elem(n, ns, name))
			total++;
		total += count_elems(n->children, ns, name);
	}
	return total;
}

/*
 * Registers the ID attribute of every element as an XML ID, so that
 * "#id" references resolve; -1 when an ID occurs twice (a wrapped
 * copy of a signed element would).
 */
static int
register_ids(xmlDoc *doc, xmlNode *n)
{
	for (; n != NULL; n = n->next) {
		xmlAttr	*a;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if ((a = xmlHasProp(n, BAD_CAST "ID")) != NULL && a->ns == NULL) {
			xmlChar	*v = xmlNodeListGetString(doc, a->children, 1);
			int	 dup;

			if (v == NULL)
				return -1;
			dup = xmlGetID(doc, v) != NULL || xmlAddID(NULL, doc, v, a) == NULL;
			xmlFree(v);
			if (dup)
				return -1;
		}
		if (register_ids(doc, n->children) == -1)
			return -1;
	}
	return 0;
}

/* The text of an element, whitespace around it removed; NULL if empty. */
static char *
elem_text(const xmlNode *n)
{
	xmlChar	*v = xmlNodeGetContent(n);
	char	*s, *start, *end;

	if (v == NULL)
		return NULL;
	for (start = (char *)v; isspace((unsigned char)*start); start++)
		;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	s = end > start ? xstrndup(start, (size_t)(end - start)) : NULL;
	xmlFree(v);
	return s;
}

static int
prop_equals(const xmlNode *n, const char *name, const char *want)
{
	xmlChar	*v = xmlGetNoNsProp(n, BAD_CAST name);
	int	 eq = v != NULL && want != NULL && strcmp((char *)v, want) == 0;

	xmlFree(v);
	return eq;
}

/* xs:dateTime: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int
parse_datetime(const char *s, double *ret)
{
	struct tm	 tm;
	const char	*p;
	double		 frac = 0, scale = 0.1;
	int		 off = 0, n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	p = s + n;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return -1;
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int	 hh, mm;

		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 || n != 5)
			return -1;
		off = (hh * 60 + mm) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ret = (double)timegm(&tm) - off + frac;
	return 0;
}

/* -1: absent or malformed. */
static int
prop_time(const xmlNode *n, const char *name, double *ret)
{
	xmlChar	*v = xmlGetNoNsProp(n, BAD_CAST name);
	int	 rc;

	if (v == NULL)
		return -1;
	rc = parse_datetime((char *)v, ret);
	xmlFree(v);
	return rc;
}

/* Whether the signature verifies with the key of one certificate (base64
 * DER); -1 when the certificate cannot be used. */
static int
verify_with(xmlNode *sig, const char *cert_b64)
{
	xmlSecDSigCtx	*ctx = NULL;
	xmlSecKey	*key;
	unsigned char	*der = NULL;
	size_t		 derlen = 0;
	int		 ok = 0;

	if (base64_decode_lenient(cert_b64, &der, &derlen) == -1)
		return -1;
	key = xmlSecCryptoAppKeyLoadMemory(der, (xmlSecSize)derlen,
	    xmlSecKeyDataFormatCertDer, NULL, NULL, NULL);
	free(der);
	if (key == NULL)
		return -1;
	/* No keys manager: the key is the record's, never one from KeyInfo. */
	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL) {
		xmlSecKeyDestroy(key);
		return 0;
	}
	ctx->signKey = key;
	ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
	if (xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
	    xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformInclC14NId) < 0 ||
	    xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id) < 0)
		goto done;
	if (xmlSecDSigCtxVerify(ctx, sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded &&
	    ctx->signMethod != NULL && ctx->signMethod->id == xmlSecTransformRsaSha256Id &&
	    xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1)
		ok = 1;
done:
	xmlSecDSigCtxDestroy(ctx);	/* destroys signKey */
	return ok;
}

/*
 * Verifies the one ds:Signature child of node, which must reference node
 * by its ID with RSA-SHA256, with the key of one of the trusted
 * certificates.  Returns the failure reason or NULL.
 */
static const char *
verify_signature(xmlNode *node, const char *what, const struct emu_trust *tr,
    char *reason, size_t len)
{
	xmlNode		*sig, *si, *ref, *sm;
	xmlChar		*id = NULL, *uri = NULL;
	const char	*why = NULL;
	int		 n, usable = 1;

	if ((n = children(node, NS_DS, "Signature", &sig)) != 1) {
		snprintf(reason, len, n == 0 ? "%s is not signed" :
		    "%s has more than one Signature", what);
		return reason;
	}
	if ((si = child_one(sig, NS_DS, "SignedInfo")) == NULL ||
	    children(si, NS_DS, "Reference", &ref) != 1) {
		snprintf(reason, len, "%s signature must have exactly one Reference", what);
		return reason;
	}
	id = xmlGetNoNsProp(node, BAD_CAST "ID");
	uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
	if (id == NULL || uri == NULL || uri[0] != '#' ||
	    strcmp((char *)uri + 1, (char *)id) != 0) {
		snprintf(reason, len, "%s signature does not reference the %s", what, what);
		why = reason;
		goto done;
	}
	if ((sm = child_one(si, NS_DS, "SignatureMethod")) == NULL ||
	    !prop_equals(sm, "Algorithm", ALG_RSA_SHA256)) {
		snprintf(reason, len, "%s signature algorithm is not RSA-SHA256", what);
		why = reason;
		goto done;
	}
	for (size_t i = 0; i < tr->n_certs; i++) {
		int	 v = verify_with(sig, tr->certs[i]);

		if (v == 1)
			goto done;
		if (v == -1)
			usable = 0;
	}
	snprintf(reason, len, usable ? "%s signature does not verify" :
	    "%s signature does not verify (a certificate of the identity provider "
	    "cannot be used)", what);
	why = reason;
done:
	xmlFree(id);
	xmlFree(uri);
	return why;
}

/* Conditions: NotBefore (if given) and NotOnOrAfter (required), Audience. */
static const char *
check_conditions(xmlNode *assertion, const struct emu_trust *t, double now)
{
	xmlNode	*cond, *ar;
	double	 nb, nooa;
	int	 audience_ok = 0;

	if ((cond = child_one(assertion, NS_SAML, "Conditions")) == NULL)
		return "Assertion must have exactly one Conditions";
	if (xmlHasProp(cond, BAD_CAST "NotBefore") != NULL) {
		if (prop_time(cond, "NotBefore", &nb) == -1)
			return "Conditions NotBefore is not a valid time";
		if (nb > now + SKEW)
			return "assertion is not yet valid (NotBefore)";
	}
	if (prop_time(cond, "NotOnOrAfter", &nooa) == -1)
		return "Conditions NotOnOrAfter is missing or not a valid time";
	if (nooa <= now - SKEW)
		return "assertion has expired (NotOnOrAfter)";
	for (ar = cond->children; ar != NULL; ar = ar->next) {
		if (!is_elem(ar, NS_SAML, "AudienceRestriction"))
			continue;
		for (xmlNode *a = ar->children; a != NULL; a = a->next) {
			char	*v;

			if (!is_elem(a, NS_SAML, "Audience"))
				continue;
			v = elem_text(a);
			if (v != NULL && t->audience != NULL && strcmp(v, t->audience) == 0)
				audience_ok = 1;
			free(v);
		}
	}
	if (!audience_ok)
		return "Audience does not match";
	return NULL;
}

/* Subject: a NameID, and a bearer confirmation for the expected Recipient. */
static const char *
check_subject(xmlNode *assertion, const struct emu_trust *t, double now, char **ret_subject)
{
	xmlNode	*subj, *nameid;
	char	*name;
	int	 recipient_ok = 0;

	if ((subj = child_one(assertion, NS_SAML, "Subject")) == NULL)
		return "Assertion must have exactly one Subject";
	if ((nameid = child_one(subj, NS_SAML, "NameID")) == NULL ||
	    (name = elem_text(nameid)) == NULL)
		return "NameID is missing";
	if (t->name_id_format != NULL && !prop_equals(nameid, "Format", t->name_id_format)) {
		free(name);
		return "NameID Format does not match the identity provider's "
		    "nameIdentifierFormat";
	}
	for (xmlNode *sc = subj->children; sc != NULL; sc = sc->next) {
		xmlNode	*scd;
		double	 nooa;

		if (!is_elem(sc, NS_SAML, "SubjectConfirmation") ||
		    !prop_equals(sc, "Method", CM_BEARER))
			continue;
		if ((scd = child_one(sc, NS_SAML, "SubjectConfirmationData")) == NULL)
			continue;
		if (!prop_equals(scd, "Recipient", t->recipient))
			continue;
		if (xmlHasProp(scd, BAD_CAST "NotOnOrAfter") != NULL &&
		    (prop_time(scd, "NotOnOrAfter", &nooa) == -1 || nooa <= now - SKEW)) {
			free(name);
			return "SubjectConfirmationData has expired (NotOnOrAfter)";
		}
		recipient_ok = 1;
	}
	if (!recipient_ok) {
		free(name);
		return "Recipient does not match";
	}
	*ret_subject = name;
	return NULL;
}

/* The Response around the Assertion: its one Assertion child, Success
 * status, Destination, and its signature if it has one. */
static const char *
check_response(xmlNode *root, const struct emu_trust *t, xmlNode **ret_assertion,
    char *reason, size_t len)
{
	xmlNode	*status, *code, *node;

	if ((*ret_assertion = child_one(root, NS_SAML, "Assertion")) == NULL)
		return "Assertion is not a child of the Response";
	if ((status = child_one(root, NS_SAMLP, "Status")) != NULL &&
	    ((code = child_one(status, NS_SAMLP, "StatusCode")) == NULL ||
	    !prop_equals(code, "Value", STATUS_SUCCESS)))
		return "Response status is not Success";
	if (xmlHasProp(root, BAD_CAST "Destination") != NULL &&
	    !prop_equals(root, "Destination", t->destination))
		return "Response Destination does not match";
	/* A signed Response is optional; if signed, it must verify. */
	if (children(root, NS_DS, "Signature", &node) != 0)
		return verify_signature(root, "Response", t, reason, len);
	return NULL;
}

/*
 * Reads the XML (no network, no DTD, no entities) and checks its shape: a
 * Response or an Assertion holding exactly one Assertion, unique IDs.
 */
static const char *
doc_read(const unsigned char *raw, size_t rawlen, xmlDoc **ret_doc,
    xmlNode **ret_root, char *reason, size_t len)
{
	xmlDoc		*doc;
	xmlNode		*root;
	int		 n;

	if (rawlen > INT32_MAX)
		return "assertion is too large";
	/* No network, no DTD loading, no entity substitution, no noise. */
	doc = xmlReadMemory((const char *)raw, (int)rawlen, "assertion.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL)
		return "assertion is not well-formed XML";
	*ret_doc = doc;		/* the caller frees it, whatever is found */
	if (doc->intSubset != NULL || doc->extSubset != NULL)
		return "assertion must not contain a DTD";
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !(is_elem(root, NS_SAMLP, "Response") ||
	    is_elem(root, NS_SAML, "Assertion")))
		return "root element is not a SAML Response or Assertion";
	if (count_elems(root, NS_SAML, "EncryptedAssertion") != 0)
		return "EncryptedAssertion is not supported";
	if ((n = count_elems(root, NS_SAML, "Assertion")) != 1) {
		snprintf(reason, len, "expected exactly one Assertion, found %d", n);
		return reason;
	}
	if (register_ids(doc, root) == -1)
		return "duplicate or empty ID attribute";
	*ret_root = root;
	return NULL;
}

int
emulator_saml_verify(const char *assertion_b64, const struct emu_trust *t, double now,
    char **ret_subject, char *errbuf, size_t errlen)
{
	unsigned char	*raw = NULL;
	size_t		 rawlen = 0;
	xmlDoc		*doc = NULL;
	xmlNode		*root = NULL, *assertion, *node;
	char		*issuer = NULL, *subject = NULL, reason[128];
	const char	*why = NULL;

	if (base64_decode_lenient(assertion_b64, &raw, &rawlen) == -1) {
		why = "assertion is not valid base64";
		goto done;
	}
	if ((why = doc_read(raw, rawlen, &doc, &root, reason, sizeof(reason))) != NULL)
		goto done;
	assertion = root;
	if (is_elem(root, NS_SAMLP, "Response") &&
	    (why = check_response(root, t, &assertion, reason, sizeof(reason))) != NULL)
		goto done;
	if (xmlHasProp(assertion, BAD_CAST "ID") == NULL) {
		why = "Assertion has no ID";
		goto done;
	}
	if ((why = verify_signature(assertion, "Assertion", t,
	    reason, sizeof(reason))) != NULL)
		goto done;
	if ((node = child_one(assertion, NS_SAML, "Issuer")) == NULL ||
	    (issuer = elem_text(node)) == NULL || t->issuer == NULL ||
	    strcmp(issuer, t->issuer) != 0) {
		why = "Issuer does not match";
		goto done;
	}
	if ((why = check_conditions(assertion, t, now)) != NULL)
		goto done;
	if ((why = check_subject(assertion, t, now, &subject)) != NULL)
		goto done;
	*ret_subject = subject;
	subject = NULL;
done:
	if (why != NULL)
		snprintf(errbuf, errlen, "%s", why);
	free(issuer);
	free(subject);
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (raw != NULL) {
		OPENSSL_cleanse(raw, rawlen);
		free(raw);
	}
	ERR_clear_error();
	return why == NULL ? 0 : -1;
}
