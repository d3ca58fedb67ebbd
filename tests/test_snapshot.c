/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_snapshot.c - snapshot.c: a load recorded from the system and
 * replayed with no system access (files gone, variables unset, NSS answers
 * from the snapshot), the FULL form signing, the FRONT form holding no key
 * and no key password (literal, file: and env:) yet loading without keys,
 * equal tenant digests, the blanking of wrapped pkey values, the cache
 * keys' material wiped whole when freed, and a decoder
 * that refuses every truncation and malformation.
 *
 * Keys come from tests/data/keys/ (top_srcdir in the environment, else ".").
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samlbroker.h"
#include "config_fixture.h"
#include "config_load.h"

#define PW_ENV		"TEST_SNAPSHOT_KEY_PASSWORD"
#define CLIENT_ENV	"TEST_SNAPSHOT_CLIENT_SECRET"
#define CLIENT_SECRET	"SECRET-from-env-for-the-front"

/* [0] vendor-pkcs8, [1] vendor-traditional */
static char	*cert[2], *pkey[2], *pw[2];

static void
write_tenant(const char *name, const char *saml_keys, const char *client_secret)
{
	char	 rel[64], *text;
	int	 n;

	n = asprintf(&text,
	    "[general]\n"
	    "organization_sname = %s\n"
	    "organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n"
	    "base_auth_url = https://login.mypurecloud.ie/oauth/token\n"
	    "base_service_url = https://api.mypurecloud.ie/api/\n"
	    "[saml]\n"
	    "issuer = https://www.genesys.com/pureengage\n"
	    "%s"
	    "expire_time = 24\n"
	    "[saml_auth]\n"
	    "client_id = saml-client\n"
	    "password = %s\n", name, saml_keys, client_secret);
	assert_true(n > 0);
	snprintf(rel, sizeof(rel), "tenants/%s.cfg", name);
	fixture_write(rel, text, 0600);
	free(text);
}

/*
 * Three tenants, one per way of giving a key password: acme has the key
 * wrapped over many lines and the password written in the tenant file (the
 * vendor's form), globex both in files, initech the password in the
 * environment.  An agent map, user and group names for NSS.
 */
static int
setup(void **state)
{
	char	*keys;
	int	 n;

	(void)state;
	if (fixture_dir_make("test_snapshot", true) == -1)
		return -1;
	fixture_write("samlbroker.conf",
	    "[broker]\n"
	    "listen = unix:/run/samlbroker-test/s.sock\n"
	    "tenants_dir = tenants\n"
	    "ca_file = ca.pem\n"
	    "[access:acme]\n"
	    "gateways = user:root, group:root\n"
	    "[access:globex]\n"
	    "agents = user:root\n"
	    "agent_map = globex.map\n", 0600);
	fixture_write("globex.map", "root root@globex.example\n", 0644);
	fixture_write("ca.pem", "-----BEGIN CERTIFICATE-----\nnot parsed here\n", 0644);
	fixture_write("globex.pkey", pkey[1], 0600);
	fixture_write("globex.password", pw[1], 0600);
	fixture_write("initech.pkey", pkey[0], 0600);
	fixture_write("client.secret", "SECRET-client-in-a-file\n", 0600);

	n = asprintf(&keys, "certificate = %s\npkey = %s\npassword = %s\n",
	    cert[0], pkey[0], pw[0]);
	assert_true(n > 0);
	write_tenant("acme", keys, "SECRET-acme-literal");
	free(keys);
	n = asprintf(&keys, "certificate = %s\npkey = file:../globex.pkey\n"
	    "password = file:../globex.password\n", cert[1]);
	assert_true(n > 0);
	write_tenant("globex", keys, "file:../client.secret");
	free(keys);
	n = asprintf(&keys, "certificate = %s\npkey = file:../initech.pkey\n"
	    "password = env:" PW_ENV "\n", cert[0]);
	assert_true(n > 0);
	write_tenant("initech", keys, "env:" CLIENT_ENV);
	free(keys);
	setenv(PW_ENV, pw[0], 1);
	setenv(CLIENT_ENV, CLIENT_SECRET, 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (fixture_dir_remove() == -1)
		return -1;
	unsetenv(PW_ENV);
	unsetenv(CLIENT_ENV);
	return 0;
}

static void
main_path(char *out, size_t len)
{
	snprintf(out, len, "%s/samlbroker.conf", fixture_dir);
}

static void
diag_print(const struct diag *d)
{
	for (size_t i = 0; i < d->n_lines; i++)
		print_message("%s\n", d->lines[i]);
}

static struct config_snapshot *
record(int flags, struct broker_config **ret_conf)
{
	struct config_snapshot	*snap = NULL;
	struct broker_config	*c;
	struct diag		 d;
	char			 path[PATH_MAX];

	main_path(path, sizeof(path));
	diag_init(&d);
	c = config_load_recorded(path, &d, flags, &snap);
	diag_print(&d);
	diag_clear(&d);
	assert_non_null(c);
	assert_non_null(snap);
	*ret_conf = c;
	return snap;
}

static struct config_snapshot *
round_trip(const struct config_snapshot *snap, enum snapshot_audience aud,
    char **ret_buf, size_t *ret_len)
{
	struct config_snapshot	*back;
	char			 err[256], *buf;
	size_t			 len;

	assert_int_equal(snapshot_encode(snap, aud, &buf, &len), 0);
	assert_int_equal(strlen(buf), len);
	back = snapshot_decode(buf, len, err, sizeof(err));
	if (back == NULL)
		fail_msg("decode: %s", err);
	if (ret_buf != NULL) {
		*ret_buf = buf;
		*ret_len = len;
	} else
		secret_free(buf);
	return back;
}

/* Removes the directory and the variables: a replay may not need them. */
static void
system_gone(void)
{
	assert_int_equal(fixture_dir_remove(), 0);
	unsetenv(PW_ENV);
	unsetenv(CLIENT_ENV);
}

static void
mint_with(const struct tenant *t)
{
	struct saml_signer	*s;
	char			 err[256], *xml;
	size_t			 len;

	if ((s = saml_signer_new(t, err, sizeof(err))) == NULL)
		fail_msg("saml_signer_new %s: %s", t->name, err);
	if (saml_mint_response(s, "someone@acme.example", clock_now(), &xml, &len,
	    err, sizeof(err)) == -1)
		fail_msg("mint %s: %s", t->name, err);
	assert_non_null(strstr(xml, "<ds:SignatureValue>"));
	secret_free(xml);
	saml_signer_free(s);
}

static void
same_tenants(const struct broker_config *a, const struct broker_config *b)
{
	assert_int_equal(a->n_tenants, b->n_tenants);
	for (size_t i = 0; i < a->n_tenants; i++) {
		assert_string_equal(a->tenants[i]->name, b->tenants[i]->name);
		assert_true(a->tenants[i]->digest == b->tenants[i]->digest);
		assert_string_equal(a->tenants[i]->saml_auth.secret,
		    b->tenants[i]->saml_auth.secret);
	}
}

/* The FULL form: a replay with nothing on disk loads the keys and signs. */
static void
test_full_replay_signs(void **state)
{
	struct broker_config	*rec, *rep;
	struct config_snapshot	*snap, *back, *again;
	struct diag		 d;
	char			*b1, *b2;
	size_t			 l1, l2;

	(void)state;
	snap = record(0, &rec);
	back = round_trip(snap, SNAPSHOT_FULL, &b1, &l1);
	/* Encoding what was decoded gives the same bytes. */
	again = round_trip(back, SNAPSHOT_FULL, &b2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	secret_free(b1);
	secret_free(b2);
	snapshot_free(again);

	system_gone();
	diag_init(&d);
	rep = config_load_snapshot(back, &d, 0);
	diag_print(&d);
	assert_non_null(rep);
	assert_int_equal(d.errors, 0);
	diag_clear(&d);
	same_tenants(rec, rep);
	assert_int_equal(rep->n_tenants, 3);
	for (size_t i = 0; i < rep->n_tenants; i++) {
		assert_non_null(keystore_pkey(rep->tenants[i]->keys));
		mint_with(rep->tenants[i]);
	}
	assert_string_equal(config_tenant_find(rep, "initech")->saml_auth.secret,
	    CLIENT_SECRET);
	/* ca_file's bytes come with it, for a front that may open no file. */
	assert_string_equal(rep->ca_pem, "-----BEGIN CERTIFICATE-----\nnot parsed here\n");
	assert_int_equal(rep->ca_pem_len, strlen(rep->ca_pem));
	config_free(rec);
	config_free(rep);
	snapshot_free(snap);
	snapshot_free(back);
}

/* Every line of a wrapped base64 text of at least 16 characters. */
static void
assert_no_line_of(const char *buf, size_t len, const char *text)
{
	const char	*p = text, *nl;
	char		 line[128];
	size_t		 n;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n >= 16 && n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (memmem(buf, len, line, n) != NULL)
				fail_msg("the FRONT form holds key text '%s'", line);
		}
		p += n + (nl != NULL);
	}
}

/*
 * The FRONT form holds no key and no key password, whether written in the
 * tenant file, in a file or in the environment, yet the front's load
 * without keys succeeds from it with nothing on disk, with the digests of
 * the recorded load; a load with keys fails on it.
 */
static void
test_front_form_holds_no_key(void **state)
{
	struct broker_config	*rec, *rep;
	struct config_snapshot	*snap, *front;
	struct diag		 d;
	char			*buf;
	size_t			 len;

	(void)state;
	snap = record(CONFIG_NO_PRIVATE_KEYS, &rec);
	front = round_trip(snap, SNAPSHOT_FRONT, &buf, &len);
	for (size_t i = 0; i < 2; i++) {
		assert_null(memmem(buf, len, pw[i], strlen(pw[i])));
		assert_no_line_of(buf, len, pkey[i]);
	}
	assert_null(strstr(buf, "pkey"));
	assert_null(strstr(buf, "password = file:../globex"));
	assert_null(strstr(buf, PW_ENV));
	/* What the front needs is there. */
	assert_non_null(strstr(buf, CLIENT_SECRET));
	assert_non_null(strstr(buf, "SECRET-client-in-a-file"));
	assert_non_null(strstr(buf, "SECRET-acme-literal"));
	assert_non_null(strstr(buf, "root@globex.example"));
	secret_free(buf);

	/* The FULL form of the same recording has them (so the test can fail). */
	assert_int_equal(snapshot_encode(snap, SNAPSHOT_FULL, &buf, &len), 0);
	assert_non_null(memmem(buf, len, pw[1], strlen(pw[1])));
	assert_non_null(memmem(buf, len, pw[0], strlen(pw[0])));
	secret_free(buf);

	system_gone();
	diag_init(&d);
	rep = config_load_snapshot(front, &d, CONFIG_NO_PRIVATE_KEYS);
	diag_print(&d);
	assert_non_null(rep);
	diag_clear(&d);
	same_tenants(rec, rep);
	for (size_t i = 0; i < rep->n_tenants; i++) {
		assert_non_null(rep->tenants[i]->keys);
		assert_null(keystore_pkey(rep->tenants[i]->keys));
	}
	config_free(rep);
	diag_init(&d);
	assert_null(config_load_snapshot(front, &d, 0));
	assert_true(d.errors > 0);
	diag_clear(&d);
	config_free(rec);
	snapshot_free(snap);
	snapshot_free(front);
}

/* A snapshot recorded without keys still lets the signers load them. */
static void
test_record_without_keys_serves_signers(void **state)
{
	struct broker_config	*rec, *rep;
	struct config_snapshot	*snap, *back;
	struct diag		 d;

	(void)state;
	snap = record(CONFIG_NO_PRIVATE_KEYS, &rec);
	for (size_t i = 0; i < rec->n_tenants; i++)
		assert_null(keystore_pkey(rec->tenants[i]->keys));
	back = round_trip(snap, SNAPSHOT_FULL, NULL, NULL);
	system_gone();
	diag_init(&d);
	rep = config_load_snapshot(back, &d, 0);
	diag_print(&d);
	assert_non_null(rep);
	diag_clear(&d);
	mint_with(config_tenant_find(rep, "globex"));
	config_free(rep);
	config_free(rec);
	snapshot_free(snap);
	snapshot_free(back);
}

/* free() as linked into this test (-Wl,--wrap=free): the watched block's
 * bytes are looked at just before it goes. */
void	*__real_free(void *);
void	 __wrap_free(void *);
static const char	*watch;
static size_t		 watch_len;
static int		 watch_freed, watch_clean;

void
__wrap_free(void *p)
{
	if (p != NULL && p == watch) {
		watch_freed = 1;
		watch_clean = 1;
		for (size_t i = 0; i < watch_len; i++)
			if (watch[i] != '\0')
				watch_clean = 0;
		watch = NULL;
	}
	__real_free(p);
}

/* The cache keys' material (the key file's bytes and the password, after
 * a binary length that starts with NUL) is wiped whole when freed. */
static void
test_cache_material_wiped(void **state)
{
	struct broker_config	*rec;
	struct config_snapshot	*snap;
	const struct tenant	*t;

	(void)state;
	snap = record(CONFIG_NO_PRIVATE_KEYS, &rec);
	assert_non_null(t = config_tenant_find(rec, "globex"));
	assert_non_null(t->cache_material);
	assert_true(t->cache_material_len > 8);
	watch = t->cache_material;
	watch_len = t->cache_material_len;
	watch_freed = watch_clean = 0;
	config_free(rec);
	assert_int_equal(watch_freed, 1);
	assert_int_equal(watch_clean, 1);
	snapshot_free(snap);
}

/* Names resolve from the snapshot's answers, not from NSS. */
static void
test_nss_from_snapshot(void **state)
{
	struct broker_config	*rec, *rep;
	struct config_snapshot	*snap, *back;
	struct caller		 who = { .is_unix = true, .uid = 4321 };
	struct diag		 d;
	char			 err[256], *buf, *edited;
	const char		*at;
	size_t			 len;

	(void)state;
	snap = record(CONFIG_NO_PRIVATE_KEYS, &rec);
	assert_int_equal(snapshot_encode(snap, SNAPSHOT_FRONT, &buf, &len), 0);
	at = strstr(buf, "user 4:root 0\n");
	assert_non_null(at);
	assert_true(asprintf(&edited, "%.*suser 4:root 4321\n%s", (int)(at - buf), buf,
	    at + strlen("user 4:root 0\n")) > 0);
	back = snapshot_decode(edited, strlen(edited), err, sizeof(err));
	assert_non_null(back);
	diag_init(&d);
	rep = config_load_snapshot(back, &d, CONFIG_NO_PRIVATE_KEYS);
	diag_print(&d);
	assert_non_null(rep);
	diag_clear(&d);
	assert_true(access_tenant_visible(config_tenant_find(rep, "acme"), &who));
	assert_false(access_tenant_visible(config_tenant_find(rec, "acme"), &who));
	/* A name the snapshot does not answer fails: NSS is not asked. */
	free(edited);
	assert_true(asprintf(&edited, "%.*s%s", (int)(at - buf), buf,
	    at + strlen("user 4:root 0\n")) > 0);
	snapshot_free(back);
	back = snapshot_decode(edited, strlen(edited), err, sizeof(err));
	assert_non_null(back);
	config_free(rep);
	diag_init(&d);
	rep = config_load_snapshot(back, &d, CONFIG_NO_PRIVATE_KEYS);
	assert_null(rep);
	assert_true(d.n_lines >= 1);
	assert_non_null(strstr(d.lines[0], "root: not in the snapshot"));
	diag_clear(&d);
	free(edited);
	secret_free(buf);
	config_free(rep);
	config_free(rec);
	snapshot_free(snap);
	snapshot_free(back);
}

/* A read that is not in the snapshot fails and says so. */
static void
test_not_in_snapshot(void **state)
{
	struct config_snapshot	*snap;
	struct diag		 d;
	char			 err[256], text[256];
	static const char	 main_file[] = "[broker]\ntenants_dir = /x/t\n";

	(void)state;
	snprintf(text, sizeof(text), "samlbroker-snapshot 1\nmain 9:/x/m.conf\n"
	    "file 0 1 9:/x/m.conf %zu:%s\nend\n", strlen(main_file), main_file);
	snap = snapshot_decode(text, strlen(text), err, sizeof(err));
	if (snap == NULL)
		fail_msg("%s", err);
	diag_init(&d);
	assert_null(config_load_snapshot(snap, &d, CONFIG_NO_PRIVATE_KEYS));
	diag_print(&d);
	assert_true(d.n_lines >= 1);
	assert_non_null(strstr(d.lines[d.n_lines - 1], "cannot open /x/t: not in the snapshot"));
	diag_clear(&d);
	snapshot_free(snap);
}

/* A wrapped pkey is blanked line by line; the rest stays byte for byte. */
static void
test_blank_wrapped(void **state)
{
	static const char in[] =
	    "[general]\r\nx = 1\n[saml]\nissuer = i\n"
	    "pkey = QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n"
	    "  QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC\n"
	    "\tQ0NDQ0ND\n"
	    "password = hunter2\n"
	    "certificate = abc\n"
	    "[other]\npkey = stays\npassword = stays too";
	static const char want[] =
	    "[general]\r\nx = 1\n[saml]\nissuer = i\n\n\n\n\n"
	    "certificate = abc\n"
	    "[other]\npkey = stays\npassword = stays too";
	char	*out, *again;
	size_t	 len, len2;

	(void)state;
	out = snapshot_tenant_blank(in, strlen(in), &len);
	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	again = snapshot_tenant_blank(out, len, &len2);
	assert_string_equal(again, out);	/* idempotent: digests agree */
	free(out);
	free(again);
	assert_null(snapshot_tenant_blank("[saml\n", 6, &len));
}

/* Cut anywhere, the encoded form is refused, never read past its end. */
static void
test_truncation(void **state)
{
	struct broker_config	*rec;
	struct config_snapshot	*snap, *back;
	char			 err[256], *buf, *copy;
	size_t			 len;

	(void)state;
	snap = record(CONFIG_NO_PRIVATE_KEYS, &rec);
	assert_int_equal(snapshot_encode(snap, SNAPSHOT_FULL, &buf, &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		/* A copy of exactly cut bytes: ASan sees a read past it. */
		copy = xmalloc(cut + 1);
		memcpy(copy, buf, cut);
		back = snapshot_decode(copy, cut, err, sizeof(err));
		if (back != NULL)
			fail_msg("a snapshot cut at %zu of %zu bytes was accepted", cut, len);
		assert_non_null(strstr(err, "snapshot: offset "));
		free(copy);
	}
	secret_free(buf);
	config_free(rec);
	snapshot_free(snap);
}

/* Every malformation is an error with a reason. */
static void
test_malformed(void **state)
{
	static const struct {
		const char	*text;
		const char	*why;
	} cases[] = {
		{ "", "not a samlbroker snapshot" },
		{ "samlbroker-snapshot 2\nmain 1:m\nend\n", "not a samlbroker snapshot" },
		{ "samlbroker-snapshot 1\nend\n", "expected main" },
		{ "samlbroker-snapshot 1\nmain 0:\nend\n", "empty name" },
		{ "samlbroker-snapshot 1\nmain 01:m\nend\n", "malformed number" },
		{ "samlbroker-snapshot 1\nmain 99999999999:m\nend\n", "malformed number" },
		{ "samlbroker-snapshot 1\nmain 5000:m\nend\n", "number out of range" },
		{ "samlbroker-snapshot 1\nmain 2:m\nend\n", "expected the end of the line" },
		{ "samlbroker-snapshot 1\nmain 1:m\n", "truncated: no end" },
		{ "samlbroker-snapshot 1\nmain 1:m\nend\nx", "bytes after the end" },
		{ "samlbroker-snapshot 1\nmain 1:m\nend", "expected the end of the line" },
		{ "samlbroker-snapshot 1\nmain 1:m\nfoo 1:a\nend\n", "unknown entry" },
		{ "samlbroker-snapshot 1\nmain 1:m\nfile 7 1 1:a 0:\nend\n", "number out of range" },
		{ "samlbroker-snapshot 1\nmain 1:m\nfile 0 0 1:a 0:\nend\n", "no use" },
		{ "samlbroker-snapshot 1\nmain 1:m\nfile 0 4 1:a 0:\nend\n", "number out of range" },
		{ "samlbroker-snapshot 1\nmain 1:m\nfile 0 1 1:a 50:ab\nend\n", "truncated" },
		{ "samlbroker-snapshot 1\nmain 1:m\nfile 0 1 1:a 0:\nfile 1 1 1:a 0:\nend\n",
		  "an entry given twice" },
		{ "samlbroker-snapshot 1\nmain 1:m\ndir 1:d 3:a//\nend\n",
		  "malformed directory listing" },
		{ "samlbroker-snapshot 1\nmain 1:m\ndir 1:d 4:a/..\nend\n",
		  "malformed directory listing" },
		{ "samlbroker-snapshot 1\nmain 1:m\ndir 1:d 2:a/\nend\n",
		  "malformed directory listing" },
		{ "samlbroker-snapshot 1\nmain 1:m\nenv 1 1:E x\nend\n", "expected a number" },
		{ "samlbroker-snapshot 1\nmain 1:m\nuser 1:u 4294967295\nend\n",
		  "number out of range" },
		{ "samlbroker-snapshot 1\nmain 1:m\nuser 1:u  0\nend\n", "expected a number" },
		{ "samlbroker-snapshot 1\nmain 1:m\ngroup 1:g -x\nend\n",
		  "expected the end of the line" },
	};
	struct config_snapshot	*s;
	char			 err[256];
	static const char	 nul[] = "samlbroker-snapshot 1\nmain 1:m\nenv 1 1:E 1:\0\nend\n";
	static const char	 good[] = "samlbroker-snapshot 1\nmain 1:m\n"
	    "file 2 3 1:a 0:\ndir 1:d 0:\ndir 1:e 5:a/b.c\nenv 1 1:E -\nenv 2 1:F 1:v\n"
	    "user 1:u -\nuser 1:v 0\ngroup 1:u 4294967294\nend\n";
	char			*buf;
	size_t			 len;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		s = snapshot_decode(cases[i].text, strlen(cases[i].text), err, sizeof(err));
		if (s != NULL)
			fail_msg("case %zu was accepted", i);
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("case %zu: '%s', not '%s'", i, err, cases[i].why);
	}
	assert_null(snapshot_decode(nul, sizeof(nul) - 1, err, sizeof(err)));
	assert_non_null(strstr(err, "a NUL byte"));
	s = snapshot_decode(good, strlen(good), err, sizeof(err));
	if (s == NULL)
		fail_msg("%s", err);
	assert_string_equal(snapshot_main_path(s), "m");
	assert_int_equal(snapshot_encode(s, SNAPSHOT_FULL, &buf, &len), 0);
	assert_string_equal(buf, good);
	secret_free(buf);
	snapshot_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_replay_signs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_form_holds_no_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_without_keys_serves_signers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_material_wiped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nss_from_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
		cmocka_unit_test(test_not_in_snapshot),
		cmocka_unit_test(test_blank_wrapped),
		cmocka_unit_test(test_malformed),
	};
	int	 rc;

	log_init(LOG_LEVEL_ERROR, "test_snapshot");
	if (keystore_global_init() == -1 || saml_global_init() == -1)
		return 1;
	cert[0] = fixture_key("vendor-pkcs8", "cert.pem.b64", false);
	pkey[0] = fixture_key("vendor-pkcs8", "key.pem.enc.b64", false);
	pw[0] = fixture_key("vendor-pkcs8", "password", false);
	cert[1] = fixture_key("vendor-traditional", "cert.pem.b64", false);
	pkey[1] = fixture_key("vendor-traditional", "key.pem.enc.b64", false);
	pw[1] = fixture_key("vendor-traditional", "password", false);
	/* The certificates as one line each in the tenant files. */
	for (size_t i = 0; i < 2; i++) {
		char *o = cert[i];

		for (char *p = cert[i]; *p != '\0'; p++)
			if (*p != '\n' && *p != '\r')
				*o++ = *p;
		*o = '\0';
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	for (size_t i = 0; i < 2; i++) {
		free(cert[i]);
		free(pkey[i]);
		free(pw[i]);
	}
	saml_global_shutdown();
	return rc;
}
