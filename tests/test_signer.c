/*
 * test_signer.c - the signer pool (signer.c) with real signer processes
 * (`samlbroker signer` from the built binary, signer_main.c) on a real
 * libevent loop: mints that xmlsec verifies, the process model (titles,
 * seccomp, descriptors), a signer killed during a burst, full queues,
 * cancelation, reload with changed and unchanged keys and with a bad
 * configuration, no process left after free, and a memory scan
 * (tests/memscan.py, as root) that finds the key in a signer and neither
 * the key nor its password in this process, the front, which never loaded
 * them.
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

#define X(s)		((const xmlChar *)(s))
#define NS_SAML		"urn:oasis:names:tc:SAML:2.0:assertion"
#define NS_DS		"http://www.w3.org/2000/09/xmldsig#"
#define EMAIL		"agent.smith@example.com"
#define MAX_PIDS	64

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif

static struct event_base *base;
static char	 tmpdir[] = "/tmp/test_signer.XXXXXX";
static char	 conf_path[512];
static char	 exe[4096];
static pid_t	 seen[MAX_PIDS];	/* every signer pid a test saw */
static size_t	 n_seen;

/* One pending mint's outcome. */
struct outcome {
	bool		 done;
	int		 calls;
	enum signer_status status;
	char		*b64;
	char		 error[256];
};

static const char *
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
static void
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

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop until *flag holds or seconds pass; whether it holds. */
static bool
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

static bool
is_done(void *arg)
{
	return ((struct outcome *)arg)->done;
}

static void
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

static void
outcome_clear(struct outcome *o)
{
	secret_free(o->b64);
	memset(o, 0, sizeof(*o));
}

static struct signer_pool *
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

static struct signer_pool *
pool_new(size_t signers, size_t queue_max)
{
	return pool_new_timeout(signers, queue_max, 0);
}

/* Remembers every signer pid, for the no-process-left check. */
static size_t
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
static bool
process_exists(pid_t pid)
{
	char	 path[64];

	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	return access(path, F_OK) == 0;
}

/* Frees the pool; then none of the signers it ever had is left. */
static void
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
static int
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
static void
mint_wait(struct signer_pool *p, const char *tenant, const char *email,
    struct outcome *o)
{
	enum signer_status	 refusal;

	memset(o, 0, sizeof(*o));
	if (signer_pool_mint(p, tenant, email, clock_now(), on_result, o, &refusal) == NULL)
		fail_msg("mint refused: %d", (int)refusal);
	if (!run_until(is_done, o, 20))
		fail_msg("no answer within 20 s");
	assert_int_equal(o->calls, 1);
}

/* ---- tests ---- */

static void
test_mint_and_verify(void **state)
{
	struct signer_pool	*p = pool_new(2, 0);
	struct signer_pool_stats st;
	struct outcome		 o;

	mint_wait(p, "acme", EMAIL, &o);
	assert_int_equal(o.status, SIGNER_OK);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	assert_int_not_equal(verify_b64(o.b64, "vendor-traditional", EMAIL), 0);
	outcome_clear(&o);
	mint_wait(p, "globex", "o'hara&co\"<x>@example.com", &o);
	assert_int_equal(o.status, SIGNER_OK);
	assert_int_equal(verify_b64(o.b64, "vendor-traditional",
	    "o'hara&co\"<x>@example.com"), 0);
	outcome_clear(&o);

	mint_wait(p, "initech", EMAIL, &o);
	assert_int_equal(o.status, SIGNER_UNKNOWN_TENANT);
	outcome_clear(&o);
	mint_wait(p, "acme", "agent.example.com", &o);
	assert_int_equal(o.status, SIGNER_FAILED);
	assert_string_equal(o.error, "e-mail address must contain exactly one '@'");
	outcome_clear(&o);

	signer_pool_stats(p, &st);
	assert_int_equal(st.signers, 2);
	assert_int_equal(st.ready, 2);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.latency_count, 4);
	assert_int_equal(st.queue_depth, 0);
	pool_free_check(p);
}

/* Titles, seccomp, no descriptor but stdio and the socketpair. */
static void
test_process_model(void **state)
{
	struct signer_pool	*p = pool_new(2, 0);
	pid_t			 pids[MAX_PIDS];
	size_t			 n = pids_of(p, pids, MAX_PIDS);
	char			 path[128], buf[4096], want[64];

	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		FILE		*f;
		size_t		 len;
		DIR		*d;
		struct dirent	*e;
		bool		 seccomp = false;

		snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pids[i]);
		assert_non_null(f = fopen(path, "r"));
		len = fread(buf, 1, sizeof(buf) - 1, f);
		buf[len] = '\0';
		fclose(f);
		snprintf(want, sizeof(want), "samlbroker: signer %zu", i + 1);
		assert_string_equal(buf, want);

		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pids[i]);
		assert_non_null(f = fopen(path, "r"));
		while (fgets(buf, sizeof(buf), f) != NULL) {
			if (strncmp(buf, "Name:", 5) == 0) {
				snprintf(want, sizeof(want), "Name:\tsb-signer-%zu\n", i + 1);
				assert_string_equal(buf, want);
			}
			if (strcmp(buf, "Seccomp:\t2\n") == 0)
				seccomp = true;
		}
		fclose(f);
#if defined(HAVE_SECCOMP) && !defined(UNDER_ASAN)
		if (getenv("SAMLBROKER_SIGNER_NO_SECCOMP") == NULL)
			assert_true(seccomp);
#else
		(void)seccomp;
#endif
		snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pids[i]);
		assert_non_null(d = opendir(path));
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (atoi(e->d_name) > 3)
				fail_msg("signer %ld has descriptor %s", (long)pids[i], e->d_name);
			if (atoi(e->d_name) == 3) {
				ssize_t k;

				snprintf(path, sizeof(path), "/proc/%ld/fd/3", (long)pids[i]);
				k = readlink(path, buf, sizeof(buf) - 1);
				assert_true(k > 0);
				buf[k] = '\0';
				assert_memory_equal(buf, "socket:", 7);
			}
		}
		closedir(d);
	}
	pool_free_check(p);
}

struct burst {
	struct outcome	*o;
	size_t		 n;
};

static size_t
answered(const struct burst *b)
{
	size_t	 k = 0;

	for (size_t i = 0; i < b->n; i++)
		k += b->o[i].done;
	return k;
}

static bool
all_answered(void *arg)
{
	return answered(arg) == ((struct burst *)arg)->n;
}

static bool
some_answered(void *arg)
{
	return answered(arg) >= ((struct burst *)arg)->n / 5;
}

struct pool_arg {
	struct signer_pool	*p;
	size_t			 ready;
	pid_t			 not_pid;
};

static bool
pool_ready(void *arg)
{
	struct pool_arg			*a = arg;
	struct signer_process_info	 info[MAX_PIDS];
	size_t				 n = signer_pool_processes(a->p, info, MAX_PIDS), k = 0;

	for (size_t i = 0; i < n; i++)
		k += info[i].ready && !info[i].draining && info[i].pid != a->not_pid;
	return k == a->ready;
}

/* SIGKILL during a burst: every request is answered and the signer returns. */
static void
test_kill_during_burst(void **state)
{
	struct signer_pool	*p = pool_new(2, 64);
	struct signer_pool_stats st;
	struct outcome		 o[100];
	struct burst		 b = { o, 100 };
	struct pool_arg		 pa;
	enum signer_status	 refusal;
	pid_t			 pids[MAX_PIDS];
	size_t			 ok = 0, busy = 0;

	memset(o, 0, sizeof(o));
	pids_of(p, pids, MAX_PIDS);
	for (size_t i = 0; i < b.n; i++)
		assert_non_null(signer_pool_mint(p, i % 2 ? "acme" : "globex", EMAIL,
		    clock_now(), on_result, &o[i], &refusal));
	assert_true(run_until(some_answered, &b, 30));
	assert_int_equal(kill(pids[0], SIGKILL), 0);
	assert_true(run_until(all_answered, &b, 30));
	for (size_t i = 0; i < b.n; i++) {
		assert_int_equal(o[i].calls, 1);
		if (o[i].status == SIGNER_OK) {
			ok++;
			if (i % 10 == 0)
				assert_int_equal(verify_b64(o[i].b64, i % 2 ? "vendor-pkcs8" :
				    "vendor-traditional", EMAIL), 0);
		} else {
			assert_int_equal(o[i].status, SIGNER_BUSY);
			busy++;
		}
		outcome_clear(&o[i]);
	}
	/* The other signer took over what the dead one had. */
	assert_int_equal(ok, 100);
	assert_int_equal(busy, 0);
	pa.p = p;
	pa.ready = 2;
	pa.not_pid = pids[0];
	assert_true(run_until(pool_ready, &pa, 20));
	signer_pool_stats(p, &st);
	assert_int_equal(st.restarts, 1);
	assert_int_equal(st.ready, 2);
	assert_true(st.retried > 0);
	assert_false(process_exists(pids[0]));
	/* Both answer again. */
	for (int i = 0; i < 4; i++) {
		mint_wait(p, "acme", EMAIL, &o[0]);
		assert_int_equal(o[0].status, SIGNER_OK);
		outcome_clear(&o[0]);
	}
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);
}

static bool
pid_gone(void *arg)
{
	return !process_exists(*(pid_t *)arg);
}

/*
 * A hung signer (stopped) is killed after request_timeout and its requests
 * go to the other one; a long queue whose answers keep coming is not a
 * hang, although the last request waits longer than the timeout.
 */
static void
test_request_timeout(void **state)
{
	struct signer_pool	*p = pool_new_timeout(2, 64, 0.5);
	struct signer_pool_stats st;
	struct outcome		*o = xcalloc(600, sizeof(*o));
	struct burst		 b = { o, 20 };
	enum signer_status	 refusal;
	pid_t			 pids[MAX_PIDS];

	pids_of(p, pids, MAX_PIDS);
	assert_int_equal(kill(pids[0], SIGSTOP), 0);
	for (size_t i = 0; i < b.n; i++)
		assert_non_null(signer_pool_mint(p, "acme", EMAIL, clock_now(), on_result,
		    &o[i], &refusal));
	assert_true(run_until(all_answered, &b, 20));
	for (size_t i = 0; i < b.n; i++) {
		assert_int_equal(o[i].status, SIGNER_OK);
		outcome_clear(&o[i]);
	}
	signer_pool_stats(p, &st);
	assert_true(st.retried > 0);
	/* The stopped signer was killed and reaped. */
	assert_true(run_until(pid_gone, &pids[0], 10));
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);

	/* 600 mints on one signer take longer than 0.1 s, each far less. */
	p = pool_new_timeout(1, 600, 0.1);
	b.n = 600;
	for (size_t i = 0; i < b.n; i++)
		assert_non_null(signer_pool_mint(p, "acme", EMAIL, clock_now(), on_result,
		    &o[i], &refusal));
	assert_true(run_until(all_answered, &b, 60));
	signer_pool_stats(p, &st);
	assert_int_equal(st.ok, 600);
	assert_int_equal(st.restarts, 0);
	assert_true(st.latency_sum / (double)st.latency_count > 0.1 / 4);
	for (size_t i = 0; i < b.n; i++)
		outcome_clear(&o[i]);
	free(o);
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);
}

/* Full queues answer busy at once; a lone signer's death answers busy. */
static void
test_busy(void **state)
{
	struct signer_pool	*p = pool_new(1, 2);
	struct signer_pool_stats st;
	struct outcome		 o[3];
	struct burst		 b = { o, 2 };
	enum signer_status	 refusal = SIGNER_OK;
	struct pool_arg		 pa;
	pid_t			 pids[MAX_PIDS];

	memset(o, 0, sizeof(o));
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, clock_now(), on_result, &o[0], &refusal));
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, clock_now(), on_result, &o[1], &refusal));
	assert_null(signer_pool_mint(p, "acme", EMAIL, clock_now(), on_result, &o[2], &refusal));
	assert_int_equal(refusal, SIGNER_BUSY);
	signer_pool_stats(p, &st);
	assert_int_equal(st.queue_depth, 2);
	assert_int_equal(st.busy, 1);
	assert_true(run_until(all_answered, &b, 20));
	assert_int_equal(o[0].status, SIGNER_OK);
	assert_int_equal(o[1].status, SIGNER_OK);
	assert_false(o[2].done);
	outcome_clear(&o[0]);
	outcome_clear(&o[1]);

	/* Too long for the wire: refused, never queued. */
	char long_tenant[NAME_MAX_LEN + 2];
	memset(long_tenant, 'a', sizeof(long_tenant) - 1);
	long_tenant[sizeof(long_tenant) - 1] = '\0';
	assert_null(signer_pool_mint(p, long_tenant, EMAIL, clock_now(), on_result, &o[0], &refusal));
	assert_int_equal(refusal, SIGNER_FAILED);

	/* The only signer dies with requests queued: busy, and it comes back. */
	pids_of(p, pids, MAX_PIDS);
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, clock_now(), on_result, &o[0], &refusal));
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, clock_now(), on_result, &o[1], &refusal));
	kill(pids[0], SIGKILL);
	assert_true(run_until(all_answered, &b, 20));
	for (int i = 0; i < 2; i++) {
		assert_true(o[i].status == SIGNER_OK || o[i].status == SIGNER_BUSY);
		outcome_clear(&o[i]);
	}
	/* While it is down, every mint is busy at once. */
	pa.p = p;
	pa.ready = 1;
	pa.not_pid = pids[0];
	assert_true(run_until(pool_ready, &pa, 20));
	mint_wait(p, "acme", EMAIL, &o[0]);
	assert_int_equal(o[0].status, SIGNER_OK);
	outcome_clear(&o[0]);
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);
}

/* A canceled request's callback never runs; the others' do. */
static void
test_cancel(void **state)
{
	struct signer_pool	*p = pool_new(1, 64);
	struct signer_pool_stats st;
	struct signer_request	*h[20];
	struct outcome		 o[20];
	enum signer_status	 refusal;
	double			 until;

	memset(o, 0, sizeof(o));
	for (int i = 0; i < 20; i++)
		assert_non_null(h[i] = signer_pool_mint(p, "acme", EMAIL, clock_now(),
		    on_result, &o[i], &refusal));
	/* Some sent already, some waiting: cancel every other one. */
	for (int i = 0; i < 20; i += 2)
		signer_pool_cancel(p, h[i]);
	until = mono() + 20;
	do {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		signer_pool_stats(p, &st);
	} while (st.queue_depth > 0 && mono() < until);
	assert_int_equal(st.queue_depth, 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(o[i].calls, i % 2 ? 1 : 0);
		outcome_clear(&o[i]);
	}
	assert_int_equal(st.canceled, 10);
	assert_int_equal(st.ok, 10);
	/* Cancel from inside another callback is allowed too (nothing to
	 * check beyond no crash and no call). */
	pool_free_check(p);
}

/* Reload: changed keys take effect, unchanged stay; a bad one changes nothing. */
static void
test_reload(void **state)
{
	struct signer_pool	*p = pool_new(2, 0);
	struct signer_pool_stats st;
	struct outcome		 o, pending;
	enum signer_status	 refusal;
	pid_t			 old[MAX_PIDS], now_pids[MAX_PIDS];
	char			 err[1024];
	size_t			 n_old = pids_of(p, old, MAX_PIDS);
	double			 until;

	mint_wait(p, "globex", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-traditional", EMAIL), 0);
	outcome_clear(&o);

	/* globex gets acme's key; acme is unchanged.  A mint sent before the
	 * reload is answered by the old generation. */
	write_tenant("globex", "vendor-pkcs8", NULL);
	memset(&pending, 0, sizeof(pending));
	assert_non_null(signer_pool_mint(p, "globex", EMAIL, clock_now(), on_result,
	    &pending, &refusal));
	assert_int_equal(signer_pool_reload(p, NULL, err, sizeof(err)), 0);
	assert_true(run_until(is_done, &pending, 20));
	assert_int_equal(pending.status, SIGNER_OK);
	outcome_clear(&pending);
	mint_wait(p, "globex", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	assert_int_not_equal(verify_b64(o.b64, "vendor-traditional", EMAIL), 0);
	outcome_clear(&o);
	mint_wait(p, "acme", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	outcome_clear(&o);

	/* The old generation drains and is gone, cleanly. */
	until = mono() + 20;
	do {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		signer_pool_stats(p, &st);
	} while ((st.draining > 0 || process_exists(old[0]) ||
	    process_exists(old[1])) && mono() < until);
	assert_int_equal(st.draining, 0);
	assert_int_equal(st.generation, 2);
	for (size_t i = 0; i < n_old; i++)
		assert_false(process_exists(old[i]));
	assert_int_equal(pids_of(p, now_pids, MAX_PIDS), 2);

	/* A wrong password: the reload fails and says why; the running
	 * generation keeps serving. */
	write_tenant("globex", "vendor-pkcs8", "not-the-password");
	assert_int_equal(signer_pool_reload(p, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "globex.cfg: [saml] password: wrong password for pkey"));
	assert_null(strstr(err, "not-the-password"));
	mint_wait(p, "globex", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	outcome_clear(&o);
	signer_pool_stats(p, &st);
	assert_int_equal(st.generation, 2);
	assert_int_equal(st.unclean_exits, 0);
	write_tenant("globex", "vendor-traditional", NULL);

	/* A configuration that does not exist fails the same way. */
	assert_int_equal(signer_pool_reload(p, "/nonexistent/samlbroker.conf", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/samlbroker.conf"));
	pool_free_check(p);
}

/*
 * A front killed with SIGKILL (no chance to stop anything) takes its
 * signers with it: they get SIGTERM from the kernel (PR_SET_PDEATHSIG) and
 * EOF on their socket.  This process is the subreaper that waits for them.
 */
static void
test_front_killed(void **state)
{
	int	 fds[2], status;
	pid_t	 front, signer_pid = 0;
	double	 until;

	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	assert_int_equal(pipe(fds), 0);
	if ((front = fork()) == 0) {
		struct signer_pool		*p;
		struct signer_process_info	 info[4];

		close(fds[0]);
		event_reinit(base);
		p = pool_new(1, 0);
		assert_int_equal(signer_pool_processes(p, info, 4), 1);
		if (write(fds[1], &info[0].pid, sizeof(info[0].pid)) != sizeof(info[0].pid))
			_exit(1);
		for (;;)
			pause();
	}
	assert_true(front > 0);
	close(fds[1]);
	assert_int_equal(read(fds[0], &signer_pid, sizeof(signer_pid)), sizeof(signer_pid));
	close(fds[0]);
	assert_true(signer_pid > 0);
	assert_int_equal(kill(front, SIGKILL), 0);
	assert_int_equal(waitpid(front, &status, 0), front);
	/* The orphaned signer is ours to reap now. */
	until = mono() + 10;
	while (waitpid(signer_pid, &status, WNOHANG) == 0 && mono() < until) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_false(process_exists(signer_pid));
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

/* [broker] signers: 1 to 256; anything else names the option. */
static void
test_signers_option(void **state)
{
	static const struct {
		const char	*value;
		int		 ok;
	} cases[] = { { "1", 1 }, { "256", 1 }, { "0", 0 }, { "257", 0 }, { "two", 0 },
	    { "-1", 0 } };
	char	 path[600], cmd[8192];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/signers.conf", tmpdir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(f = fopen(path, "w"));
		fprintf(f, "[broker]\ntenants_dir = tenants\nsigners = %s\n", cases[i].value);
		fclose(f);
		chmod(path, 0600);
		snprintf(cmd, sizeof(cmd), "'%s' check -c '%s' 2>&1 | grep -q "
		    "'signers.conf: \\[broker\\] signers: must be a whole number from 1 to 256'",
		    exe, path);
		if ((system(cmd) == 0) == cases[i].ok)
			fail_msg("signers = %s: wrong verdict", cases[i].value);
	}
	unlink(path);
}

static bool
under_valgrind(void)
{
	const char	*preload = getenv("LD_PRELOAD");

	return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

/* The key is in a signer and neither it nor its password is here. */
static void
test_memory_scan(void **state)
{
	struct signer_pool	*p;
	struct outcome		 o;
	pid_t			 pids[MAX_PIDS];
	char			 cmd[8192], keydir[1024];
	const char		*script;

	if (geteuid() != 0 || system("command -v python3 >/dev/null && "
	    "command -v openssl >/dev/null") != 0) {
		print_message("SKIP memory scan: needs root, python3 and openssl\n");
		return;
	}
	p = pool_new(2, 0);
	/* After a reload and 1,000 mints (fewer under valgrind). */
	assert_int_equal(signer_pool_reload(p, NULL, cmd, sizeof(cmd)), 0);
	for (int i = 0; i < (under_valgrind() ? 100 : 1000); i++) {
		mint_wait(p, i % 2 ? "acme" : "globex", EMAIL, &o);
		assert_int_equal(o.status, SIGNER_OK);
		outcome_clear(&o);
	}
	pids_of(p, pids, MAX_PIDS);
	snprintf(keydir, sizeof(keydir), "%s/tests/data/keys/vendor-pkcs8", top("top_srcdir"));
	script = "tests/memscan.py";
	snprintf(cmd, sizeof(cmd), "python3 '%s/%s' --key-dir '%s' --self-test",
	    top("top_srcdir"), script, keydir);
	assert_int_equal(system(cmd), 0);
	/* Positive control: every signer holds acme's primes (and not the
	 * key password, which it wiped after decrypting the key). */
	snprintf(cmd, sizeof(cmd), "python3 '%s/%s' --key-dir '%s' --expect-found "
	    "--pid %ld --pid %ld", top("top_srcdir"), script, keydir, (long)pids[0],
	    (long)pids[1]);
	assert_int_equal(system(cmd), 0);
	/* This process, the front, never loaded a key (under valgrind or ASan
	 * its memory is the tool's, and too large to scan). */
	if (!under_valgrind()) {
#ifndef UNDER_ASAN
		snprintf(cmd, sizeof(cmd), "python3 '%s/%s' --key-dir '%s' --pid %ld",
		    top("top_srcdir"), script, keydir, (long)getpid());
		assert_int_equal(system(cmd), 0);
#endif
	}
	pool_free_check(p);
}

static int
group_setup(void **state)
{
	snprintf(exe, sizeof(exe), "%s/samlbroker", top("top_builddir"));
	if (access(exe, X_OK) != 0)
		return -1;
	setup_config();
	if (saml_global_init() == -1)
		return -1;
	base = event_base_new();
	return base != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	event_base_free(base);
	saml_global_shutdown();
	remove_config();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint_and_verify),
		cmocka_unit_test(test_process_model),
		cmocka_unit_test(test_kill_during_burst),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_memory_scan),
		cmocka_unit_test(test_signers_option),
		cmocka_unit_test(test_front_killed),
	};

	log_init(LOG_LEVEL_ERROR, "test_signer");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("signer", tests, group_setup, group_teardown);
}
