/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signer_fixture.c - helpers of the signer tests (see signer_fixture.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmldsig.h>

#include "samlbroker.h"
#include "signer_fixture.h"

#define X(s)		((const xmlChar *)(s))
#define NS_SAML		"urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"

struct event_base *base;
char		 tmpdir[64];
char		 conf_path[512];
char		 exe[4096];
static pid_t	 seen[MAX_PIDS];	/* every signer pid a test saw */
static size_t	 n_seen;

const char *
top(const char *var)
{
	const char	*v = getenv(var);

	return v != NULL ? v : ".";
}

static char *
slurp(const char *path)
{
	char	*buf;
	size_t	 len;

	if (read_file_limited(path, 1 << 20, &buf, &len) == -1)
		fail_msg("cannot read %s", path);
	return buf;
}

static char *
key_file(const char *dir, const char *name)
{
	char	 path[1024], *s;

	snprintf(path, sizeof(path), "%s/tests/data/keys/%s/%s", top("top_srcdir"),
	    dir, name);
	s = slurp(path);
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

static char *
key_file_all(const char *dir, const char *name)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/tests/data/keys/%s/%s", top("top_srcdir"),
	    dir, name);
	return slurp(path);
}

/* The base64 file without newlines. */
static char *
slurp_b64(const char *dir, const char *name)
{
	char	*s = key_file_all(dir, name), *o = s;

	for (char *i = s; *i != '\0'; i++)
		if (*i != '\n' && *i != '\r')
			*o++ = *i;
	*o = '\0';
	return s;
}

/* tenants/NAME.cfg with the key of fixture directory keydir. */
void
write_tenant(const char *name, const char *keydir, const char *password_override)
{
	char	 path[1024];
	char	*cert = slurp_b64(keydir, "cert.pem.b64");
	char	*key = slurp_b64(keydir, "key.pem.enc.b64");
	char	*pw = key_file(keydir, "password");
	FILE	*f;

	snprintf(path, sizeof(path), "%s/tenants/%s.cfg", tmpdir, name);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "[general]\norganization_sname = %s-org\n"
	    "organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n"
	    "base_auth_url = https://login.mypurecloud.ie/oauth/token\n"
	    "base_service_url = https://api.mypurecloud.ie/api/\n"
	    "[saml]\nissuer = https://www.genesys.com/pureengage\n"
	    "certificate = %s\npkey = %s\npassword = %s\n"
	    "[saml_auth]\nclient_id = 7d1e2f3a-0000-4000-8000-00000000a001\n"
	    "password = SECRET-saml-auth-client\n", name, cert, key,
	    password_override != NULL ? password_override : pw);
	fclose(f);
	chmod(path, 0600);
	free(cert);
	free(key);
	secret_free(pw);
}

static void
setup_config(void)
{
	char	 path[1024];
	FILE	*f;

	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/tenants", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(conf_path, sizeof(conf_path), "%s/samlbroker.conf", tmpdir);
	assert_non_null(f = fopen(conf_path, "w"));
	fprintf(f, "[broker]\ntenants_dir = tenants\n");
	fclose(f);
	chmod(conf_path, 0600);
	write_tenant("acme", "vendor-pkcs8", NULL);
	write_tenant("globex", "vendor-traditional", NULL);
}

static void
remove_config(void)
{
	char	 cmd[1100];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* ---- the loop ---- */

double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop until *flag holds or seconds pass; whether it holds. */
bool
run_until(bool (*cond)(void *), void *arg, double seconds)
{
	double	 deadline = mono() + seconds;

	while (!cond(arg)) {
		if (mono() > deadline)
			return false;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (!cond(arg)) {
			struct timespec ts = { 0, 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return true;
}

bool
is_done(void *arg)
{
	return ((struct outcome *)arg)->done;
}

void
on_result(const struct signer_result *res, void *arg)
{
	struct outcome	*o = arg;

	o->calls++;
	o->done = true;
	o->status = res->status;
	if (res->status == SIGNER_OK)
		o->b64 = xstrdup(res->saml_response_b64);
	else
		snprintf(o->error, sizeof(o->error), "%s", res->error != NULL ? res->error : "");
}

void
outcome_clear(struct outcome *o)
{
	secret_free(o->b64);
	memset(o, 0, sizeof(*o));
}

struct signer_pool *
pool_new_timeout(size_t signers, size_t queue_max, double request_timeout)
{
	struct signer_pool_options	 o;
	struct signer_pool		*p;
	char				 err[1024];

	memset(&o, 0, sizeof(o));
	o.exe = exe;
	o.config_path = conf_path;
	o.signers = signers;
	o.queue_max = queue_max;
	o.request_timeout = request_timeout;
	if ((p = signer_pool_new(base, &o, err, sizeof(err))) == NULL)
		fail_msg("signer_pool_new: %s", err);
	return p;
}

struct signer_pool *
pool_new(size_t signers, size_t queue_max)
{
	return pool_new_timeout(signers, queue_max, 0);
}

/* Remembers every signer pid, for the no-process-left check. */
size_t
pids_of(struct signer_pool *p, pid_t *out, size_t max)
{
	struct signer_process_info	 info[MAX_PIDS];
	size_t				 n = signer_pool_processes(p, info, MAX_PIDS), k = 0;

	for (size_t i = 0; i < n; i++) {
		bool known = false;

		if (info[i].pid <= 0)
			continue;
		if (k < max)
			out[k++] = info[i].pid;
		for (size_t j = 0; j < n_seen; j++)
			known |= seen[j] == info[i].pid;
		if (!known && n_seen < MAX_PIDS)
			seen[n_seen++] = info[i].pid;
	}
	return k;
}

/* Alive or a zombie nobody reaped: either way left behind. */
bool
process_exists(pid_t pid)
{
	char	 path[64];

	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	return access(path, F_OK) == 0;
}

/* Frees the pool; then none of the signers it ever had is left. */
void
pool_free_check(struct signer_pool *p)
{
	pid_t	 pids[MAX_PIDS];

	pids_of(p, pids, MAX_PIDS);
	signer_pool_free(p);
	for (size_t i = 0; i < n_seen; i++)
		if (process_exists(seen[i])) {
			n_seen = 0;
			fail_msg("signer pid %ld is still there", (long)seen[i]);
		}
	n_seen = 0;
}

/* ---- verification ---- */

static xmlSecKeyPtr
cert_key(const char *dir)
{
	char		 path[1024];
	xmlSecKeyPtr	 key;

	snprintf(path, sizeof(path), "%s/tests/data/keys/%s/cert.pem", top("top_srcdir"), dir);
	key = xmlSecCryptoAppKeyLoad(path, xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
	assert_non_null(key);
	return key;
}

static xmlNodePtr
find(xmlNodePtr n, const char *href, const char *name)
{
	for (; n != NULL; n = n->next) {
		xmlNodePtr	 r;

		if (n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		    strcmp((const char *)n->ns->href, href) == 0 &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
		if ((r = find(n->children, href, name)) != NULL)
			return r;
	}
	return NULL;
}

/* 0 when the Assertion of the base64 SAMLResponse verifies with the
 * certificate of fixture dir and its NameID is email. */
int
verify_b64(const char *b64, const char *dir, const char *email)
{
	unsigned char	*xml;
	size_t		 len;
	xmlDocPtr	 doc;
	xmlNodePtr	 a, sig, nameid;
	xmlAttrPtr	 id;
	xmlChar		*idv, *text;
	xmlSecDSigCtxPtr ctx;
	xmlSecKeyPtr	 key = cert_key(dir);
	int		 rc = -1;

	assert_int_equal(base64_decode_lenient(b64, &xml, &len), 0);
	doc = xmlReadMemory((char *)xml, (int)len, "m.xml", NULL, XML_PARSE_NONET);
	secret_free((char *)xml);
	assert_non_null(doc);
	a = find(doc->children, NS_SAML, "Assertion");
	assert_non_null(a);
	id = xmlHasProp(a, X("ID"));
	idv = xmlGetNoNsProp(a, X("ID"));
	xmlAddID(NULL, doc, idv, id);
	xmlFree(idv);
	nameid = find(a->children, NS_SAML, "NameID");
	text = xmlNodeGetContent(nameid);
	sig = find(a->children, NS_DS, "Signature");
	assert_non_null(ctx = xmlSecDSigCtxCreate(NULL));
	ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
	ctx->signKey = key;
	if (xmlSecDSigCtxVerify(ctx, sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded &&
	    text != NULL && strcmp((const char *)text, email) == 0)
		rc = 0;
	ctx->signKey = NULL;
	xmlSecDSigCtxDestroy(ctx);
	xmlSecKeyDestroy(key);
	xmlFree(text);
	xmlFreeDoc(doc);
	return rc;
}

/* Mints one and waits for it. */
void
mint_wait(struct signer_pool *p, const char *tenant, const char *email,
    struct outcome *o)
{
	enum signer_status	 refusal;

	memset(o, 0, sizeof(*o));
	if (signer_pool_mint(p, tenant, email, on_result, o, &refusal) == NULL)
		fail_msg("mint refused: %d", (int)refusal);
	if (!run_until(is_done, o, 20))
		fail_msg("no answer within 20 s");
	assert_int_equal(o->calls, 1);
}


bool
under_valgrind(void)
{
	const char	*preload = getenv("LD_PRELOAD");

	return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

int
fixture_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_signer.XXXXXX");
	snprintf(exe, sizeof(exe), "%s/samlbroker", top("top_builddir"));
	if (access(exe, X_OK) != 0)
		return -1;
	setup_config();
	if (saml_global_init() == -1)
		return -1;
	base = event_base_new();
	return base != NULL ? 0 : -1;
}

int
fixture_teardown(void **state)
{
	event_base_free(base);
	saml_global_shutdown();
	remove_config();
	return 0;
}
