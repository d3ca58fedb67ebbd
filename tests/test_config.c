/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c - config.c: the main file, tenant files, secrets, the
 * checks on every option and the exact text of every message.
 *
 * Each test writes its files into a fresh temporary directory; keys come
 * from tests/data/keys/ (top_srcdir in the environment, else ".").
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samlbroker.h"
#include "config_load.h"
#include "config_fixture.h"

static char	*cert_pkcs8, *pkey_pkcs8, *pw_pkcs8;
static char	*cert_trad, *pkey_trad, *pw_trad;

static void
path_in_dir(char *out, size_t len, const char *rel)
{
	int	 n = snprintf(out, len, "%s/%s", fixture_dir, rel);

	assert_true(n > 0 && (size_t)n < len);
}

static char *
str_replace(char *s, const char *old, const char *new)
{
	char	*at = strstr(s, old), *out;
	size_t	 ol = strlen(old), nl = strlen(new), sl = strlen(s);

	if (at == NULL)
		fail_msg("'%s' not in the template", old);
	out = xmalloc(sl - ol + nl + 1);
	memcpy(out, s, (size_t)(at - s));
	memcpy(out + (at - s), new, nl);
	memcpy(out + (at - s) + nl, at + ol, sl - (size_t)(at - s) - ol + 1);
	free(s);
	return out;
}

#define TENANT_TEMPLATE \
	"[general]\n" \
	"organization_sname = acme\n" \
	"organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n" \
	"default_agent_role_name = employee\n" \
	"base_auth_url = https://login.mypurecloud.ie/oauth/token\n" \
	"base_service_url = https://api.mypurecloud.ie/api/\n" \
	"[saml]\n" \
	"issuer = https://www.genesys.com/pureengage\n" \
	"certificate = @CERT@\n" \
	"pkey = @PKEY@\n" \
	"password = @PASSWORD@\n" \
	"[saml_auth]\n" \
	"client_id = saml-client\n" \
	"password = SECRET-saml-auth\n" \
	"[ewt]\n" \
	"client_id = ewt-client\n" \
	"password = SECRET-ewt\n"

/*
 * The template tenant with edits: pairs of (text, replacement), then NULL.
 * "+" as text appends the replacement at the end.
 */
static char *
tenant_text(const char *const *edits)
{
	char	*t = xstrdup(TENANT_TEMPLATE);

	for (; edits != NULL && edits[0] != NULL; edits += 2) {
		if (strcmp(edits[0], "+") == 0) {
			size_t a = strlen(t), b = strlen(edits[1]);
			t = realloc(t, a + b + 1);
			memcpy(t + a, edits[1], b + 1);
		} else
			t = str_replace(t, edits[0], edits[1]);
	}
	if (strstr(t, "@CERT@") != NULL)
		t = str_replace(t, "@CERT@", cert_pkcs8);
	if (strstr(t, "@PKEY@") != NULL)
		t = str_replace(t, "@PKEY@", pkey_pkcs8);
	if (strstr(t, "@PASSWORD@") != NULL)
		t = str_replace(t, "@PASSWORD@", pw_pkcs8);
	return t;
}

static void
write_tenant(const char *rel, const char *const *edits)
{
	char	*t = tenant_text(edits);

	fixture_write(rel, t, 0600);
	free(t);
}

/* Asserts the diag lines, each "FILE: " + want[i], and that no secret shows. */
static void
assert_diag(const struct diag *d, const char *file, const char *const *want)
{
	size_t	 n = 0, fl = strlen(file);

	for (; want != NULL && want[n] != NULL; n++) {
		if (n >= d->n_lines)
			fail_msg("missing line: %s: %s", file, want[n]);
		if (strncmp(d->lines[n], file, fl) != 0 ||
		    strncmp(d->lines[n] + fl, ": ", 2) != 0 ||
		    strcmp(d->lines[n] + fl + 2, want[n]) != 0)
			fail_msg("line %zu:\n  got  %s\n  want %s: %s", n,
			    d->lines[n], file, want[n]);
	}
	if (d->n_lines != n)
		fail_msg("unexpected line: %s", d->lines[n]);
	for (size_t i = 0; i < d->n_lines; i++) {
		assert_null(strstr(d->lines[i], "SECRET-"));
		assert_null(strstr(d->lines[i], "fixture-password"));
	}
}

/* Loads DIR/tenants/acme.cfg; checks the messages; returns the tenant. */
static struct tenant *
load_tenant(const char *const *want)
{
	struct diag	 d;
	struct tenant	*t;
	char		 path[PATH_MAX];

	path_in_dir(path, sizeof(path), "tenants/acme.cfg");
	diag_init(&d);
	t = tenant_load(path, "acme", &d);
	assert_diag(&d, path, want);
	if (d.errors > 0)
		assert_null(t);
	else
		assert_non_null(t);
	diag_clear(&d);
	return t;
}

/* Writes the template with edits and expects exactly one error. */
static void
tenant_error(const char *const *edits, const char *want)
{
	const char *const wants[] = { want, NULL };

	write_tenant("tenants/acme.cfg", edits);
	assert_null(load_tenant(wants));
}

static struct broker_config *
load_config(const char *const *want_main)
{
	struct diag		 d;
	struct broker_config	*c;
	char			 path[PATH_MAX];

	path_in_dir(path, sizeof(path), "samlbroker.conf");
	diag_init(&d);
	c = config_load(path, &d);
	assert_diag(&d, path, want_main);
	if (d.errors > 0)
		assert_null(c);
	else
		assert_non_null(c);
	diag_clear(&d);
	return c;
}

/* Writes a main file (tenants in DIR/tenants) and expects one error. */
static void
main_error(const char *text, const char *want)
{
	const char *const wants[] = { want, NULL };

	fixture_write("samlbroker.conf", text, 0600);
	assert_null(load_config(wants));
}

static int
setup(void **state)
{
	(void)state;
	return fixture_dir_make("test_config", false);
}

static int
teardown(void **state)
{
	(void)state;
	return fixture_dir_remove();
}

static int
group_setup(void **state)
{
	(void)state;
	cert_pkcs8 = fixture_key("vendor-pkcs8", "cert.pem.b64", true);
	pkey_pkcs8 = fixture_key("vendor-pkcs8", "key.pem.enc.b64", true);
	pw_pkcs8 = fixture_key("vendor-pkcs8", "password", false);
	cert_trad = fixture_key("vendor-traditional", "cert.pem.b64", true);
	pkey_trad = fixture_key("vendor-traditional", "key.pem.enc.b64", true);
	pw_trad = fixture_key("vendor-traditional", "password", false);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	free(cert_pkcs8);
	free(pkey_pkcs8);
	secret_free(pw_pkcs8);
	free(cert_trad);
	free(pkey_trad);
	secret_free(pw_trad);
	return 0;
}

/*
 * The main file.
 */

static void
test_main_defaults(void **state)
{
	struct broker_config	*c;
	char			 tdir[PATH_MAX];

	(void)state;
	fixture_write("samlbroker.conf", "[broker]\ntenants_dir = tenants\n", 0600);
	write_tenant("tenants/acme.cfg", NULL);
	c = load_config(NULL);
	path_in_dir(tdir, sizeof(tdir), "tenants");
	assert_string_equal(c->tenants_dir, tdir);
	assert_int_equal(c->n_listens, 1);
	assert_int_equal(c->listens[0].kind, LISTEN_UNIX);
	assert_string_equal(c->listens[0].text, SAMLBROKER_DEFAULT_SOCKET);
	assert_string_equal(c->listens[0].path, "/run/samlbroker/samlbroker.sock");
	assert_int_equal(c->socket_mode, 0660);
	assert_null(c->ca_file);
	assert_null(c->proxy);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->max_cached_tokens, 10000);
	assert_false(c->allow_remote_tcp);
	assert_int_equal(c->connect_timeout, 5);
	assert_int_equal(c->request_timeout, 15);
	assert_int_equal(c->signers, 0);
	assert_int_equal(c->signer_priority, SIGNER_PRIORITY_BATCH);
	assert_int_equal(c->n_tenants, 1);
	config_free(c);
	config_free(NULL);
}

/* signer_priority's values, and the number of signers signers = 0 means. */
static void
test_main_signers(void **state)
{
	static const char *const names[] = { "idle", "batch", "normal" };
	struct broker_config	*c;
	enum signer_priority	 p;
	char			 text[256];

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n"
		    "signer_priority = %s\n", names[i]);
		fixture_write("samlbroker.conf", text, 0600);
		c = load_config(NULL);
		assert_string_equal(signer_priority_name(c->signer_priority), names[i]);
		config_free(c);
		assert_int_equal(signer_priority_parse(names[i], &p), 0);
		assert_string_equal(signer_priority_name(p), names[i]);
	}
	assert_int_equal(signer_priority_parse("IDLE", &p), -1);
	assert_int_equal(signer_priority_parse("", &p), -1);
	/* One per online CPU, at least one. */
	assert_int_equal(signers_default(1), 1);
	assert_int_equal(signers_default(2), 2);
	assert_int_equal(signers_default(64), 64);
	assert_int_equal(signers_default(0), 1);
	assert_int_equal(signers_default(-1), 1);
}

static void
test_main_every_option(void **state)
{
	struct broker_config	*c;
	char			 ca[PATH_MAX];

	(void)state;
	fixture_write("ca.pem", "not checked here, only readable\n", 0600);
	fixture_write("samlbroker.conf",
	    "; comment\n"
	    "[broker]\n"
	    "listen = unix:/run/a.sock\n"
	    "listen = tcp:127.0.0.1:8089\n"
	    "listen = tcp:[::1]:8089\n"
	    "listen = tcp:localhost:1\n"
	    "listen = tcp:127.0.0.1:65535\n"
	    "listen = tcp:[::1]:8090\n"
	    "allow_remote_tcp = Off\n"
	    "socket_mode = 600\n"
	    "tenants_dir = tenants\n"
	    "ca_file = ca.pem\n"
	    "proxy = http://user:SECRET-proxy@proxy.example.com:3128\n"
	    "log_level = debug\n"
	    "max_cached_tokens = 10000000\n"
	    "connect_timeout = 120\n"
	    "request_timeout = 120\n", 0600);
	write_tenant("tenants/acme.cfg", NULL);
	c = load_config(NULL);
	assert_int_equal(c->n_listens, 6);
	assert_int_equal(c->listens[0].kind, LISTEN_UNIX);
	assert_string_equal(c->listens[0].path, "/run/a.sock");
	assert_null(c->listens[0].host);
	assert_int_equal(c->listens[1].kind, LISTEN_TCP);
	assert_string_equal(c->listens[1].text, "tcp:127.0.0.1:8089");
	assert_string_equal(c->listens[1].host, "127.0.0.1");
	assert_string_equal(c->listens[1].port, "8089");
	assert_null(c->listens[1].path);
	assert_string_equal(c->listens[2].host, "::1");
	assert_string_equal(c->listens[2].port, "8089");
	assert_string_equal(c->listens[3].host, "localhost");
	assert_string_equal(c->listens[4].host, "127.0.0.1");
	assert_string_equal(c->listens[4].port, "65535");
	assert_string_equal(c->listens[5].host, "::1");
	assert_false(c->allow_remote_tcp);
	assert_int_equal(c->socket_mode, 0600);
	path_in_dir(ca, sizeof(ca), "ca.pem");
	assert_string_equal(c->ca_file, ca);
	assert_string_equal(c->proxy, "http://user:SECRET-proxy@proxy.example.com:3128");
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->max_cached_tokens, 10000000);
	assert_int_equal(c->connect_timeout, 120);
	assert_int_equal(c->request_timeout, 120);
	config_free(c);

	/* Absolute paths stay as written. */
	main_error("[broker]\ntenants_dir = /nonexistent/t\n",
	    "[broker] tenants_dir: cannot open /nonexistent/t: No such file or directory");
}

static void
test_main_booleans(void **state)
{
	static const char *const yes[] = { "yes", "YES", "true", "True", "on", "1" };
	static const char *const no[] = { "no", "No", "false", "FALSE", "off", "0" };
	struct broker_config	*c;
	char			 text[256];

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	for (size_t i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n"
		    "require_landlock = %s\n", yes[i]);
		fixture_write("samlbroker.conf", text, 0600);
		c = load_config(NULL);
		assert_true(c->require_landlock);
		config_free(c);
		snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n"
		    "allow_remote_tcp = %s\n", no[i]);
		fixture_write("samlbroker.conf", text, 0600);
		c = load_config(NULL);
		assert_false(c->allow_remote_tcp);
		config_free(c);
	}
	/* tcp: stays on loopback: remote callers come over https:. */
	main_error("[broker]\ntenants_dir = tenants\nallow_remote_tcp = yes\n",
	    "[broker] allow_remote_tcp: yes is no longer allowed: a tcp: caller has "
	    "no identity, so tcp: listeners stay on loopback; listen on https: (with "
	    "https_auth) for callers on other machines");
	main_error("[broker]\ntenants_dir = tenants\nallow_remote_tcp = y\n",
	    "[broker] allow_remote_tcp: must be yes or no (or true/false, on/off, 1/0)");
	main_error("[broker]\ntenants_dir = tenants\nallow_remote_tcp =\n",
	    "[broker] allow_remote_tcp: must not be empty");
}

#define NOT_LOOPBACK	": a tcp: caller has no identity, so tcp: serves this host " \
	"only; listen on https: (with https_auth) for callers on other machines"

static void
test_main_listen_errors(void **state)
{
	static const struct {
		const char	*listen;
		const char	*want;
	} cases[] = {
		{ "http://127.0.0.1:80", "unknown address type; use unix:/PATH, tcp:HOST:PORT or https:HOST:PORT" },
		{ "UNIX:/x", "unknown address type; use unix:/PATH, tcp:HOST:PORT or https:HOST:PORT" },
		{ "/run/x.sock", "unknown address type; use unix:/PATH, tcp:HOST:PORT or https:HOST:PORT" },
		{ "unix:run/x.sock", "a unix socket path must be absolute (unix:/PATH)" },
		{ "unix:", "a unix socket path must be absolute (unix:/PATH)" },
		{ "unix:/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",	/* 108 bytes with '/' */
		    "the unix socket path is longer than 107 bytes" },
		{ "tcp:127.0.0.1", "a tcp address needs a port (tcp:HOST:PORT)" },
		{ "tcp::8080", "a tcp address needs a host (tcp:HOST:PORT)" },
		{ "tcp:127.0.0.1:0", "the port must be a number from 1 to 65535" },
		{ "tcp:127.0.0.1:65536", "the port must be a number from 1 to 65535" },
		{ "tcp:127.0.0.1:http", "the port must be a number from 1 to 65535" },
		{ "tcp:127.0.0.1:", "the port must be a number from 1 to 65535" },
		{ "tcp:127.0.0.1:-1", "the port must be a number from 1 to 65535" },
		{ "tcp:::1:8080", "write an IPv6 address in brackets (tcp:[::1]:PORT)" },
		{ "tcp:[::1]8080", "malformed address; use tcp:[IPV6]:PORT or https:[IPV6]:PORT" },
		{ "tcp:[::1", "malformed address; use tcp:[IPV6]:PORT or https:[IPV6]:PORT" },
		{ "tcp:[]:8080", "malformed IPv6 address" },
		{ "tcp:[127.0.0.1]:8080", "malformed IPv6 address" },
		{ "tcp:10.0.0.1:8080", "10.0.0.1 is not a loopback address" NOT_LOOPBACK },
		{ "tcp:broker.example.com:8080", "broker.example.com is not a loopback "
		    "address" NOT_LOOPBACK },
		{ "tcp:[::]:8080", ":: is not a loopback address" NOT_LOOPBACK },
		{ "tcp:[::ffff:127.0.0.1]:8080", "::ffff:127.0.0.1 is not a loopback "
		    "address" NOT_LOOPBACK },
		{ "https:[::1", "malformed address; use tcp:[IPV6]:PORT or https:[IPV6]:PORT" },
		{ "https:10.0.0.1", "an https address needs a port (https:HOST:PORT)" },
		{ "https::8443", "an https address needs a host (https:HOST:PORT; 0.0.0.0 "
		    "or [::] for every address)" },
		{ "https:::8443", "write an IPv6 address in brackets (https:[::]:PORT)" },
		{ "https:0.0.0.0:0", "the port must be a number from 1 to 65535" },
	};
	char	 text[512], want[512];

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n"
		    "listen = unix:/run/ok.sock\nlisten = %s\n", cases[i].listen);
		snprintf(want, sizeof(want), "[broker] listen: line 4: %s", cases[i].want);
		main_error(text, want);
	}
	/* 127.0.0.0/8 is loopback; the same address twice is an error. */
	main_error("[broker]\ntenants_dir = tenants\nlisten = tcp:127.1.2.3:80\n"
	    "listen = tcp:127.1.2.3:80\n",
	    "[broker] listen: line 4: the same address is given twice");
	/* Every bad listen line is reported. */
	{
		const char *const wants[] = {
			"[broker] listen: line 2: a unix socket path must be absolute (unix:/PATH)",
			"[broker] listen: line 3: unknown address type; use unix:/PATH, "
			    "tcp:HOST:PORT or https:HOST:PORT",
			NULL
		};
		fixture_write("samlbroker.conf", "[broker]\nlisten = unix:x\nlisten = x\n"
		    "tenants_dir = tenants\n", 0600);
		assert_null(load_config(wants));
	}
}

static void
test_main_value_errors(void **state)
{
	static const struct {
		const char	*line;
		const char	*want;
	} cases[] = {
		{ "socket_mode = 0866", "[broker] socket_mode: must be an octal mode from "
		    "0000 to 0777, such as 0660" },
		{ "socket_mode = 01777", "[broker] socket_mode: must be an octal mode from "
		    "0000 to 0777, such as 0660" },
		{ "socket_mode = 00660", "[broker] socket_mode: must be an octal mode from "
		    "0000 to 0777, such as 0660" },
		{ "socket_mode = rw-rw----", "[broker] socket_mode: must be an octal mode "
		    "from 0000 to 0777, such as 0660" },
		{ "log_level = verbose", "[broker] log_level: must be one of error, warn, "
		    "info, debug" },
		{ "log_level = DEBUG", "[broker] log_level: must be one of error, warn, "
		    "info, debug" },
		{ "max_cached_tokens = 0", "[broker] max_cached_tokens: must be a whole "
		    "number from 1 to 10000000" },
		{ "max_cached_tokens = 10000001", "[broker] max_cached_tokens: must be a "
		    "whole number from 1 to 10000000" },
		{ "max_cached_tokens = 99999999999999999999999", "[broker] "
		    "max_cached_tokens: must be a whole number from 1 to 10000000" },
		{ "max_cached_tokens = 1e3", "[broker] max_cached_tokens: must be a whole "
		    "number from 1 to 10000000" },
		{ "connect_timeout = 0", "[broker] connect_timeout: must be a whole number "
		    "of seconds from 1 to 120" },
		{ "connect_timeout = 121", "[broker] connect_timeout: must be a whole number "
		    "of seconds from 1 to 120" },
		{ "request_timeout = 601", "[broker] request_timeout: must be a whole number "
		    "of seconds from 1 to 600" },
		{ "request_timeout = 4", "[broker] request_timeout: must not be less than "
		    "connect_timeout" },
		{ "ca_file = missing.pem", NULL },	/* filled below */
		{ "tenants_dir =", "[broker] tenants_dir: must not be empty" },
		{ "proxy =", "[broker] proxy: must not be empty" },
		{ "signer_priority = idel", "[broker] signer_priority: must be one of "
		    "idle, batch, normal" },
		{ "signer_priority = low", "[broker] signer_priority: must be one of "
		    "idle, batch, normal" },
		{ "signer_priority =", "[broker] signer_priority: must not be empty" },
	};
	char	 text[512], want[PATH_MAX + 128];

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n%s\n",
		    cases[i].line);
		if (strcmp(cases[i].line, "tenants_dir =") == 0)
			snprintf(text, sizeof(text), "[broker]\n%s\n", cases[i].line);
		if (cases[i].want != NULL)
			snprintf(want, sizeof(want), "%s", cases[i].want);
		else
			snprintf(want, sizeof(want), "[broker] ca_file: cannot read "
			    "%s/missing.pem: No such file or directory", fixture_dir);
		if (strcmp(cases[i].line, "tenants_dir =") == 0) {
			/* The default directory is then tried: report both. */
			const char *const wants[] = { want,
			    "[broker] tenants_dir: cannot open /etc/samlbroker/tenants: "
			    "No such file or directory", NULL };
			struct stat st;
			if (stat("/etc/samlbroker/tenants", &st) == 0)
				continue;
			fixture_write("samlbroker.conf", text, 0600);
			assert_null(load_config(wants));
			continue;
		}
		main_error(text, want);
	}
}

static void
test_main_structure(void **state)
{
	struct broker_config	*c;

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	{
		const char *const wants[] = {
			"[samlbroker]: unknown section; the main file holds [broker] "
			    "and [access:TENANT] sections",
			"[broker]: section is missing", NULL };
		fixture_write("samlbroker.conf", "[samlbroker]\ntenants_dir = tenants\n", 0600);
		assert_null(load_config(wants));
	}
	main_error("[broker]\ntenants_dir = tenants\ntenants_dir = x\n",
	    "line 3: duplicate option 'tenants_dir' in [broker] (first on line 2)");
	main_error("tenants_dir = tenants\n",
	    "line 1: option 'tenants_dir' outside any section");
	{
		/* Fail closed: an unknown section or option is an error. */
		const char *const wants[] = {
			"[logging]: unknown section; the main file holds [broker] "
			    "and [access:TENANT] sections",
			"[broker] workers: unknown option",
			"[broker] Listen: unknown option; did you mean listen?",
			"[broker] tenants2_dir: unknown option; did you mean tenants_dir?",
			NULL };
		fixture_write("samlbroker.conf", "[broker]\ntenants_dir = tenants\n"
		    "workers = 4\nListen = tcp:0.0.0.0:1\ntenants2_dir = x\n"
		    "[logging]\nlevel = debug\n", 0600);
		c = load_config(wants);
		assert_null(c);
	}
	{
		char path[PATH_MAX], want[PATH_MAX + 64];
		const char *const wants[] = { want, NULL };
		struct diag d;

		path_in_dir(path, sizeof(path), "none.conf");
		snprintf(want, sizeof(want), "%s: cannot read: No such file or "
		    "directory", path);
		diag_init(&d);
		assert_null(config_load(path, &d));
		assert_int_equal(d.n_lines, 1);
		assert_string_equal(d.lines[0], wants[0]);
		diag_clear(&d);
		diag_init(&d);
		assert_null(config_load(fixture_dir, &d));
		assert_int_equal(d.errors, 1);
		snprintf(want, sizeof(want), "%s: not a regular file", fixture_dir);
		assert_string_equal(d.lines[0], want);
		diag_clear(&d);
	}
}

/* *.cfg files, sorted; dot files and other names ignored; names checked. */
static void
test_tenants_dir(void **state)
{
	struct broker_config	*c;
	char			 want[PATH_MAX + 256], tdir[PATH_MAX];

	(void)state;
	path_in_dir(tdir, sizeof(tdir), "tenants");
	mkdir(tdir, 0700);
	fixture_write("samlbroker.conf", "[broker]\ntenants_dir = tenants\n", 0600);
	snprintf(want, sizeof(want), "[broker] tenants_dir: no tenant files (*.cfg) in %s",
	    tdir);
	main_error("[broker]\ntenants_dir = tenants\n", want);
	fixture_write("tenants/README", "not a tenant\n", 0600);
	fixture_write("tenants/acme.cfg.orig", "not a tenant\n", 0600);
	fixture_write("tenants/.hidden.cfg", "not a tenant\n", 0600);
	fixture_write("tenants/.cfg", "not a tenant\n", 0600);
	main_error("[broker]\ntenants_dir = tenants\n", want);

	write_tenant("tenants/zeta.cfg", NULL);
	write_tenant("tenants/Acme.cfg", NULL);
	write_tenant("tenants/beta-2.cfg", NULL);
	c = load_config(NULL);
	assert_int_equal(c->n_tenants, 3);
	assert_string_equal(c->tenants[0]->name, "Acme");
	assert_string_equal(c->tenants[1]->name, "beta-2");
	assert_string_equal(c->tenants[2]->name, "zeta");
	snprintf(want, sizeof(want), "%s/zeta.cfg", tdir);
	assert_string_equal(c->tenants[2]->file, want);
	assert_ptr_equal(config_tenant_find(c, "beta-2"), c->tenants[1]);
	assert_null(config_tenant_find(c, "acme"));
	assert_null(config_tenant_find(c, "missing"));
	assert_null(config_tenant_find(NULL, "zeta"));
	config_free(c);

	/* A bad name; a directory named *.cfg; the others still load. */
	write_tenant("tenants/-x.cfg", NULL);
	write_tenant("tenants/bad\001name.cfg", NULL);
	path_in_dir(want, sizeof(want), "tenants/sub.cfg");
	mkdir(want, 0700);
	{
		char l1[PATH_MAX + 256], l2[PATH_MAX + 256], l3[PATH_MAX + 256];
		struct diag d;
		char path[PATH_MAX];

		snprintf(l1, sizeof(l1), "%s/-x.cfg: tenant name must be 1 to 64 "
		    "characters of A-Z, a-z, 0-9, '.', '_' and '-', not starting with "
		    "'.' or '-' (it is the file name without .cfg)", tdir);
		snprintf(l2, sizeof(l2), "%s/bad?name.cfg: tenant name must be 1 to 64 "
		    "characters of A-Z, a-z, 0-9, '.', '_' and '-', not starting with "
		    "'.' or '-' (it is the file name without .cfg)", tdir);
		snprintf(l3, sizeof(l3), "%s/sub.cfg: not a regular file", tdir);
		path_in_dir(path, sizeof(path), "samlbroker.conf");
		diag_init(&d);
		assert_null(config_load(path, &d));
		assert_int_equal(d.n_lines, 3);
		assert_int_equal(d.errors, 3);
		assert_string_equal(d.lines[0], l1);
		assert_string_equal(d.lines[1], l2);
		assert_string_equal(d.lines[2], l3);
		diag_clear(&d);
	}
}

/*
 * Tenant files.
 */

static void
test_tenant_valid(void **state)
{
	static const char *const edits[] = {
		"+", "[pacing]\nclient_id = pacing-client\nclient_secret = SECRET-pacing\n"
		    "[other]\n; another component's section\npassword = x\nurl = y\n"
		    "[also.other]\nclient = x\n",
		NULL
	};
	struct tenant			*t;
	const struct service_client	*sc;
	char				 path[PATH_MAX];

	(void)state;
	write_tenant("tenants/acme.cfg", edits);
	t = load_tenant(NULL);
	path_in_dir(path, sizeof(path), "tenants/acme.cfg");
	assert_string_equal(t->name, "acme");
	assert_string_equal(t->file, path);
	assert_string_equal(t->organization_sname, "acme");
	assert_string_equal(t->organization_id, "3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c");
	assert_string_equal(t->base_auth_url, "https://login.mypurecloud.ie/oauth/token");
	assert_string_equal(t->base_service_url, "https://api.mypurecloud.ie/api/");
	assert_string_equal(t->issuer, "https://www.genesys.com/pureengage");
	assert_int_equal(t->expire_time_hours, 24);
	assert_string_equal(t->audience, t->base_auth_url);
	assert_string_equal(t->recipient, t->base_auth_url);
	assert_string_equal(t->destination, t->base_auth_url);
	assert_null(t->service_name);
	assert_int_equal(t->assertion_lifetime, 300);
	assert_false(t->sign_response);
	assert_string_equal(t->saml_auth.name, "saml_auth");
	assert_string_equal(t->saml_auth.client_id, "saml-client");
	assert_string_equal(t->saml_auth.secret, "SECRET-saml-auth");
	assert_int_equal(t->n_services, 2);
	sc = tenant_service_find(t, "ewt");
	assert_ptr_equal(sc, &t->services[0]);
	assert_string_equal(sc->client_id, "ewt-client");
	assert_string_equal(sc->secret, "SECRET-ewt");
	sc = tenant_service_find(t, "pacing");
	assert_ptr_equal(sc, &t->services[1]);
	assert_string_equal(sc->client_id, "pacing-client");
	assert_string_equal(sc->secret, "SECRET-pacing");
	assert_null(tenant_service_find(t, "saml_auth"));
	assert_null(tenant_service_find(t, "other"));
	assert_null(tenant_service_find(t, "general"));
	assert_null(tenant_service_find(NULL, "ewt"));
	assert_non_null(t->keys);
	assert_non_null(keystore_pkey(t->keys));
	tenant_free(t);
	tenant_free(NULL);
}

static void
test_tenant_saml_options(void **state)
{
	static const char *const edits[] = {
		"password = @PASSWORD@\n",
		"password = @PASSWORD@\nexpire_time = 48\naudience = urn:aud\n"
		"recipient = https://login.example.com/r\ndestination = https://d\n"
		"assertion_lifetime = 3600\nservice_name = desktop\nsign_response = yes\n",
		"[saml_auth]\nclient_id = saml-client\npassword = SECRET-saml-auth\n",
		"[saml_auth]\nclient_id = saml-client\nclient_secret = SECRET-saml-auth\n",
		NULL
	};
	struct tenant	*t;

	(void)state;
	write_tenant("tenants/acme.cfg", edits);
	t = load_tenant(NULL);
	assert_int_equal(t->expire_time_hours, 48);
	assert_string_equal(t->audience, "urn:aud");
	assert_string_equal(t->recipient, "https://login.example.com/r");
	assert_string_equal(t->destination, "https://d");
	assert_int_equal(t->assertion_lifetime, 3600);
	assert_string_equal(t->service_name, "desktop");
	assert_true(t->sign_response);
	assert_string_equal(t->saml_auth.secret, "SECRET-saml-auth");
	tenant_free(t);
}

/* The traditional key, its base64 wrapped with spaces. */
static void
test_tenant_traditional_wrapped(void **state)
{
	char		*cert = fixture_key("vendor-traditional", "cert.pem.b64", false);
	char		*pkey = fixture_key("vendor-traditional", "key.pem.enc.b64", false);
	const char	*edits[] = { "@CERT@", cert, "@PKEY@", pkey,
			    "@PASSWORD@", pw_trad, NULL };
	struct tenant	*t;

	(void)state;
	for (char *p = cert; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	for (char *p = pkey; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	write_tenant("tenants/acme.cfg", edits);
	t = load_tenant(NULL);
	assert_non_null(t->keys);
	tenant_free(t);
	free(cert);
	free(pkey);
}

static void
test_tenant_general_errors(void **state)
{
	static const char *const opts[] = { "organization_sname", "organization_id",
	    "base_auth_url", "base_service_url" };
	char		 line[256], want[256];
	char		*t;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		/* Missing, then empty. */
		char *p, *e;
		t = xstrdup(TENANT_TEMPLATE);
		p = strstr(t, opts[i]);
		e = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(e - p + 1), p);
		free(t);
		{
			const char *edits[] = { line, "", NULL };
			snprintf(want, sizeof(want), "[general] %s: required option is missing",
			    opts[i]);
			tenant_error(edits, want);
		}
		{
			char empty[128];
			const char *edits[] = { line, empty, NULL };
			snprintf(empty, sizeof(empty), "%s =   \n", opts[i]);
			snprintf(want, sizeof(want), "[general] %s: must not be empty", opts[i]);
			tenant_error(edits, want);
		}
	}
	{
		const char *const edits[] = { "[general]", "[General]", NULL };
		tenant_error(edits, "[general]: section is missing; did you mean [General] (line 1)?");
	}
}

static void
test_tenant_uuid(void **state)
{
	static const char *const good[] = {
		"00000000-0000-0000-0000-000000000000",
		"ABCDEF01-2345-6789-abcd-ef0123456789",
	};
	static const char *const bad[] = {
		"acme", "3f2c9a7e5b1d4e8f9a6c2d7e8f9a0b1c",
		"{3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c}",
		"3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1",
		"3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1cc",
		"3f2c9a7e-5b1d-4e8f-9a6c_2d7e8f9a0b1c",
		"3f2c9a7g-5b1d-4e8f-9a6c-2d7e8f9a0b1c",
		"3f2c9a7e-5b1d4-e8f-9a6c-2d7e8f9a0b1c",
	};
	char		 line[128];
	struct tenant	*t;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const char *edits[] = { "3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c", good[i], NULL };
		write_tenant("tenants/acme.cfg", edits);
		t = load_tenant(NULL);
		assert_string_equal(t->organization_id, good[i]);
		tenant_free(t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *edits[] = { "3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c", line, NULL };
		snprintf(line, sizeof(line), "%s", bad[i]);
		tenant_error(edits, "[general] organization_id: must be a UUID "
		    "(8-4-4-4-12 hexadecimal digits)");
	}
}

#define HTTP_ONLY "http:// is allowed only for a literal loopback address " \
		"(127.0.0.0/8 or [::1]); use https://"

static void
test_tenant_urls(void **state)
{
	static const char *const good[] = {
		"https://login.mypurecloud.ie/oauth/token",
		"HTTPS://login.example.com",
		"https://login.example.com:8443/oauth/token?x=1#f",
		"https://[2001:db8::1]/x",
		"https://[2001:db8::1]:443/x",
		"http://127.0.0.1:8080/oauth/token",
		"http://127.0.0.2/",
		"http://[::1]:8080/oauth/token",
	};
	static const struct {
		const char	*url;
		const char	*want;
	} bad[] = {
		{ "login.mypurecloud.ie/oauth/token", "must be an https:// URL" },
		{ "ftp://login.example.com/", "must be an https:// URL" },
		{ "https:/login.example.com/", "must be an https:// URL" },
		{ "https://", "must name a host" },
		{ "https:///oauth/token", "must name a host" },
		{ "https://:443/x", "must name a host" },
		{ "https://[]/x", "must name a host" },
		{ "https://login.example.com:/x", "has an invalid port" },
		{ "https://login.example.com:0/x", "has an invalid port" },
		{ "https://login.example.com:65536/x", "has an invalid port" },
		{ "https://login.example.com:443x/x", "has an invalid port" },
		{ "https://[::1/x", "has a malformed IPv6 address" },
		{ "https://[::1]x/", "has a malformed IPv6 address" },
		{ "https://user:SECRET-pw@login.example.com/", "must not contain a user "
		    "name or password" },
		{ "https://login.example.com/a b", "must not contain spaces" },
		{ "http://login.example.com/oauth/token", HTTP_ONLY },
		/* Literal addresses only: upstream.c refuses names (one rule). */
		{ "http://localhost/oauth/token", HTTP_ONLY },
		{ "http://LOCALHOST:1/", HTTP_ONLY },
		{ "http://128.0.0.1/", HTTP_ONLY },
		{ "http://[::2]/", HTTP_ONLY },
		{ "http://localhost.example.com/", HTTP_ONLY },
	};
	char		 want[256];
	struct tenant	*t;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *edits[] = { "https://login.mypurecloud.ie/oauth/token", good[i],
		    NULL };
		/* A URL of no known region that is not loopback: a warning. */
		const char *const region[] = { "warning: [general] base_auth_url: matches "
		    "no known PureCloud region (see region in samlbroker.conf(5))", NULL };

		write_tenant("tenants/acme.cfg", edits);
		t = load_tenant(i > 0 && i < 5 ? region : NULL);
		assert_string_equal(t->base_auth_url, good[i]);
		tenant_free(t);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *edits[] = { "https://api.mypurecloud.ie/api/", bad[i].url, NULL };
		snprintf(want, sizeof(want), "[general] base_service_url: %s", bad[i].want);
		tenant_error(edits, want);
	}
}

/* region fills the URLs that are absent; a wrong one is an error; an
 * explicit URL of another region or of none is a warning. */
static void
test_tenant_region(void **state)
{
	static const char *const only_region[] = {
		"base_auth_url = https://login.mypurecloud.ie/oauth/token\n", "",
		"base_service_url = https://api.mypurecloud.ie/api/\n", "region = euw2.pure.cloud\n",
		NULL
	};
	static const char *const other[] = {
		"base_auth_url = https://login.mypurecloud.ie/oauth/token\n", "",
		"base_service_url = https://api.mypurecloud.ie/api/\n", "region = mypurecloud.de\n"
		"base_service_url = https://api.mypurecloud.ie/api/\n", NULL
	};
	static const char *const unknown[] = {
		"base_service_url = https://api.mypurecloud.ie/api/\n", "region = mypurecloud.eu\n",
		NULL
	};
	const char *const other_want[] = {
		"warning: [general] base_service_url: is not the URL of region mypurecloud.de",
		NULL
	};
	struct tenant	*t;

	(void)state;
	write_tenant("tenants/acme.cfg", only_region);
	t = load_tenant(NULL);
	assert_string_equal(t->base_auth_url, "https://login.euw2.pure.cloud/oauth/token");
	assert_string_equal(t->base_service_url, "https://api.euw2.pure.cloud/api/");
	tenant_free(t);
	write_tenant("tenants/acme.cfg", other);
	t = load_tenant(other_want);
	assert_string_equal(t->base_auth_url, "https://login.mypurecloud.de/oauth/token");
	assert_string_equal(t->base_service_url, "https://api.mypurecloud.ie/api/");
	tenant_free(t);
	tenant_error(unknown, "[general] region: unknown region 'mypurecloud.eu' (a "
	    "PureCloud domain such as mypurecloud.ie; see samlbroker.conf(5))");
	/* Every domain of the table makes URLs of that region. */
	for (size_t i = 0; i < region_count(); i++) {
		char	*u = region_url(region_domain(i), REGION_SERVICE_URL);

		assert_string_equal(region_of_url(u, REGION_SERVICE_URL), region_domain(i));
		free(u);
	}
	assert_int_equal(region_count(), 18);
}

static void
test_tenant_saml_errors(void **state)
{
	static const struct {
		const char	*line;
		const char	*want;
	} cases[] = {
		{ "expire_time = 0", "[saml] expire_time: must be a whole number of hours from 1 to 48" },
		{ "expire_time = -1", "[saml] expire_time: must be a whole number of hours from 1 to 48" },
		{ "expire_time = abc", "[saml] expire_time: must be a whole number of hours from 1 to 48" },
		{ "expire_time = 49", "[saml] expire_time: must be a whole number of hours from 1 to 48" },
		{ "expire_time = 24h", "[saml] expire_time: must be a whole number of hours from 1 to 48" },
		{ "expire_time = +24", "[saml] expire_time: must be a whole number of hours from 1 to 48" },
		{ "expire_time = 2.5", "[saml] expire_time: must be a whole number of hours from 1 to 48" },
		{ "expire_time =", "[saml] expire_time: must not be empty" },
		{ "assertion_lifetime = 9", "[saml] assertion_lifetime: must be a whole "
		    "number of seconds from 10 to 3600" },
		{ "assertion_lifetime = 3601", "[saml] assertion_lifetime: must be a whole "
		    "number of seconds from 10 to 3600" },
		{ "sign_response = signed", "[saml] sign_response: must be yes or no "
		    "(or true/false, on/off, 1/0)" },
		{ "audience =", "[saml] audience: must not be empty" },
		{ "service_name =", "[saml] service_name: must not be empty" },
	};
	char	 add[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *edits[] = { "password = @PASSWORD@\n", add, NULL };
		snprintf(add, sizeof(add), "password = @PASSWORD@\n%s\n", cases[i].line);
		tenant_error(edits, cases[i].want);
	}
	{
		const char *const edits[] = { "issuer = https://www.genesys.com/pureengage\n",
		    "", NULL };
		tenant_error(edits, "[saml] issuer: required option is missing");
	}
	{
		const char *const edits[] = { "[saml]\n", "[saml_]\n", NULL };
		tenant_error(edits, "[saml]: section is missing; did you mean [saml_] (line 7)?");
	}
	{
		/* Missing key material: no key load is tried, each is reported. */
		const char *const edits[] = { "certificate = @CERT@\n", "",
		    "pkey = @PKEY@\n", "pkey =\n", "password = @PASSWORD@\n", "", NULL };
		const char *const wants[] = {
			"[saml] certificate: required option is missing",
			"[saml] pkey: must not be empty",
			"[saml] password: required option is missing", NULL };
		write_tenant("tenants/acme.cfg", edits);
		assert_null(load_tenant(wants));
	}
}

static void
test_tenant_key_errors(void **state)
{
	static const struct {
		const char	*keydir;
		const char	*want;
	} cases[] = {
		{ "bad-wrong-password", "[saml] password: wrong password for pkey" },
		{ "bad-cert-base64", "[saml] certificate: not valid base64" },
		{ "bad-key-base64", "[saml] pkey: not valid base64" },
		{ "bad-mismatch", "[saml] pkey: key does not match the certificate" },
		{ "bad-ec-key", "[saml] pkey: key is not RSA (EC)" },
		{ "bad-rsa-1024", "[saml] pkey: RSA key has 1024 bits; at least 2048 are required" },
		{ "bad-expired", "[saml] certificate: expired on 2021-01-01T00:00:00Z" },
		{ "bad-not-yet-valid", "[saml] certificate: not valid before 2090-01-01T00:00:00Z" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *cert = fixture_key(cases[i].keydir, "cert.pem.b64", true);
		char *pkey = fixture_key(cases[i].keydir, "key.pem.enc.b64", true);
		char *pw = fixture_key(cases[i].keydir, "password", false);
		const char *edits[] = { "@CERT@", cert, "@PKEY@", pkey, "@PASSWORD@", pw,
		    NULL };

		tenant_error(edits, cases[i].want);
		free(cert);
		free(pkey);
		secret_free(pw);
	}
}

static double	 fake_now;

static double
fake_clock(void)
{
	return fake_now;
}

/* Certificate dates against an injected clock (vendor-pkcs8's). */
static void
test_tenant_cert_dates(void **state)
{
	struct tenant	*t;
	double		 na, nb;
	char		 date[32], want[128];

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	t = load_tenant(NULL);
	na = keystore_not_after(t->keys);
	nb = keystore_not_before(t->keys);
	tenant_free(t);
	assert_true(nb < na);
	format_rfc3339(na, date, sizeof(date));
	clock_set(fake_clock);

	fake_now = na - 30 * 86400.0;	/* 30 days: no warning */
	tenant_free(load_tenant(NULL));
	{
		const char *const wants[] = { want, NULL };

		fake_now = na - 30 * 86400.0 + 1;
		snprintf(want, sizeof(want), "warning: [saml] certificate: expires on "
		    "%s (in 30 days)", date);
		tenant_free(load_tenant(wants));
		fake_now = na - 10 * 86400.0 + 0.5;
		snprintf(want, sizeof(want), "warning: [saml] certificate: expires on "
		    "%s (in 10 days)", date);
		tenant_free(load_tenant(wants));
		fake_now = na - 3600;
		snprintf(want, sizeof(want), "warning: [saml] certificate: expires on "
		    "%s (in 1 day)", date);
		tenant_free(load_tenant(wants));
		fake_now = na;	/* the last valid second */
		snprintf(want, sizeof(want), "warning: [saml] certificate: expires on "
		    "%s (in 0 days)", date);
		tenant_free(load_tenant(wants));
		fake_now = na + 1;
		snprintf(want, sizeof(want), "[saml] certificate: expired on %s", date);
		assert_null(load_tenant(wants));
		fake_now = nb - 1;
		format_rfc3339(nb, date, sizeof(date));
		snprintf(want, sizeof(want), "[saml] certificate: not valid before %s", date);
		assert_null(load_tenant(wants));
	}
	fake_now = nb;
	tenant_free(load_tenant(NULL));
	clock_set(NULL);
}

static void
test_tenant_clients(void **state)
{
	(void)state;
	{
		const char *const edits[] = { "password = SECRET-ewt\n", "", NULL };
		tenant_error(edits, "[ewt]: has client_id but no password or client_secret");
	}
	{
		const char *const edits[] = { "+", "client_secret = SECRET-2\n", NULL };
		tenant_error(edits, "[ewt]: both password and client_secret are set; keep one");
	}
	{
		const char *const edits[] = { "client_id = ewt-client\n", "client_id =\n", NULL };
		tenant_error(edits, "[ewt] client_id: must not be empty");
	}
	{
		const char *const edits[] = { "password = SECRET-ewt\n", "password = \n", NULL };
		tenant_error(edits, "[ewt] password: must not be empty");
	}
	{
		const char *const edits[] = { "client_id = saml-client\n", "", NULL };
		tenant_error(edits, "[saml_auth] client_id: required option is missing "
		    "(samlbroker provision -t acme creates the client)");
	}
	{
		const char *const edits[] = { "password = SECRET-saml-auth\n", "", NULL };
		tenant_error(edits, "[saml_auth]: has client_id but no password or client_secret");
	}
	{
		const char *const edits[] = { "[saml_auth]", "[saml-auth]", NULL };
		tenant_error(edits, "[saml_auth]: section is missing; did you mean [saml-auth] (line 12)?");
	}
	{
		const char *const edits[] = { "[ewt]", "[stat server]", NULL };
		tenant_error(edits, "[stat server]: a service section name must be 1 to 64 "
		    "characters of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' or '-'");
	}
	{
		/* A section with a secret but no client_id is someone else's. */
		const char *const edits[] = { "client_id = ewt-client\n", "", NULL };
		struct tenant *t;
		write_tenant("tenants/acme.cfg", edits);
		t = load_tenant(NULL);
		assert_int_equal(t->n_services, 0);
		assert_null(tenant_service_find(t, "ewt"));
		tenant_free(t);
	}
}

static void
test_tenant_unknown_options(void **state)
{
	static const char *const edits[] = {
		"[general]\n", "[general]\nregoin = eu\n",
		"[saml]\n", "[saml]\nexpire_hours = 24\nisuser = x\n",
		"[saml_auth]\n", "[saml_auth]\nscope = x\n",
		"[ewt]\n", "[ewt]\nurl = https://ewt\n",
		"+", "[unknown_section]\nanything = goes\n",
		NULL
	};
	/* [general], [saml] and [saml_auth] fail closed; a service or a
	 * foreign section may carry other components' options. */
	const char *const wants[] = {
		"[general] regoin: unknown option; did you mean region?",
		"[saml] expire_hours: unknown option",
		"[saml] isuser: unknown option; did you mean issuer?",
		"[saml_auth] scope: unknown option",
		"warning: [ewt] url: unknown option, ignored",
		NULL
	};
	/* The provisioning tool's options and section are known. */
	static const char *const prov[] = {
		"[general]\n", "[general]\nregion = mypurecloud.ie\n",
		"[saml]\n", "[saml]\nname_id_format = urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\n",
		"+", "[provisioning]\nclient_id = prov\nclient_secret = SECRET-p\n",
		NULL
	};
	struct tenant	*t;

	(void)state;
	write_tenant("tenants/acme.cfg", edits);
	assert_null(load_tenant(wants));
	write_tenant("tenants/acme.cfg", prov);
	t = load_tenant(NULL);
	assert_non_null(t);
	assert_null(tenant_service_find(t, "provisioning"));
	tenant_free(t);
}

/* One file with many problems: each is reported, in file order. */
static void
test_tenant_all_problems(void **state)
{
	static const char *const edits[] = {
		"organization_sname = acme\n", "",
		"3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c", "x",
		"https://api.mypurecloud.ie/api/", "http://api.mypurecloud.ie/api/",
		"password = @PASSWORD@\n", "password = env:TEST_CONFIG_UNSET\n"
		    "expire_time = 0\nbogus = 1\n",
		"client_id = saml-client\n", "",
		"password = SECRET-ewt\n", "password = file:nope\n",
		NULL
	};
	const char *const wants[] = {
		"[general] organization_sname: required option is missing",
		"[general] organization_id: must be a UUID (8-4-4-4-12 hexadecimal digits)",
		"[general] base_service_url: " HTTP_ONLY,
		"[saml] password: env:TEST_CONFIG_UNSET: the environment variable is not set",
		"[saml] expire_time: must be a whole number of hours from 1 to 48",
		"[saml_auth] client_id: required option is missing (samlbroker "
		    "provision -t acme creates the client)",
		NULL, NULL, NULL
	};
	char	 w6[PATH_MAX + 128];
	const char *all[9];

	(void)state;
	unsetenv("TEST_CONFIG_UNSET");
	memcpy(all, wants, sizeof(all));
	snprintf(w6, sizeof(w6), "[ewt] password: file:%s/tenants/nope: No such "
	    "file or directory", fixture_dir);
	all[6] = w6;
	all[7] = "[saml] bogus: unknown option";
	all[8] = NULL;
	write_tenant("tenants/acme.cfg", edits);
	assert_null(load_tenant(all));
}

static void
test_tenant_file_errors(void **state)
{
	struct diag	 d;
	char		 path[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	path_in_dir(path, sizeof(path), "tenants/acme.cfg");
	diag_init(&d);
	assert_null(tenant_load(path, "acme", &d));
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	assert_int_equal(d.n_lines, 1);
	assert_string_equal(d.lines[0], want);
	diag_clear(&d);

	fixture_write("tenants/acme.cfg", "[general]\nSECRET-pasted\n", 0600);
	diag_init(&d);
	assert_null(tenant_load(path, "acme", &d));
	snprintf(want, sizeof(want), "%s: line 2: expected '[section]' or 'option = value'",
	    path);
	assert_string_equal(d.lines[0], want);
	diag_clear(&d);
}

/*
 * Secrets.
 */

static void
test_secret_resolve(void **state)
{
	char		*s = NULL, path[PATH_MAX], ref[PATH_MAX + 8], big[5000];
	const char	*why = NULL;

	(void)state;
	assert_int_equal(secret_resolve("SECRET-literal", &s, &why), 0);
	assert_string_equal(s, "SECRET-literal");
	secret_free(s);
	assert_int_equal(secret_resolve("", &s, &why), -1);
	assert_string_equal(why, "the secret is empty");

	path_in_dir(path, sizeof(path), "s");
	snprintf(ref, sizeof(ref), "file:%s", path);
	fixture_write("s", "SECRET-file\n", 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), 0);
	assert_string_equal(s, "SECRET-file");
	secret_free(s);
	fixture_write("s", "SECRET-file\r\n", 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), 0);
	assert_string_equal(s, "SECRET-file");
	secret_free(s);
	fixture_write("s", "SECRET-no-newline", 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), 0);
	assert_string_equal(s, "SECRET-no-newline");
	secret_free(s);
	fixture_write("s", " SECRET with spaces \n", 0600);	/* kept as written */
	assert_int_equal(secret_resolve(ref, &s, &why), 0);
	assert_string_equal(s, " SECRET with spaces ");
	secret_free(s);
	fixture_write("s", "SECRET\n\n", 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), -1);
	assert_string_equal(why, "the secret file holds more than one line");
	fixture_write("s", "SECRET\nline2\n", 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), -1);
	assert_string_equal(why, "the secret file holds more than one line");
	fixture_write("s", "\n", 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), -1);
	assert_string_equal(why, "the secret file is empty");
	fixture_write("s", "", 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), -1);
	assert_string_equal(why, "the secret file is empty");
	memset(big, 'x', 4096);
	big[4096] = '\0';
	fixture_write("s", big, 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), 0);
	assert_int_equal(strlen(s), 4096);
	secret_free(s);
	big[4096] = 'x';
	big[4097] = '\0';
	fixture_write("s", big, 0600);
	assert_int_equal(secret_resolve(ref, &s, &why), -1);
	assert_string_equal(why, "the secret file is larger than 4096 bytes");
	{
		FILE *fp = fopen(path, "wb");
		fwrite("SEC\0RET", 1, 7, fp);
		fclose(fp);
		assert_int_equal(secret_resolve(ref, &s, &why), -1);
		assert_string_equal(why, "the secret file holds a NUL byte");
	}
	unlink(path);
	assert_int_equal(secret_resolve(ref, &s, &why), -1);
	assert_string_equal(why, "No such file or directory");
	snprintf(ref, sizeof(ref), "file:%s", fixture_dir);
	assert_int_equal(secret_resolve(ref, &s, &why), -1);
	assert_string_equal(why, "the secret file is not a regular file");
	assert_int_equal(secret_resolve("file:", &s, &why), -1);
	assert_string_equal(why, "file: needs a path");

	setenv("TEST_CONFIG_SECRET", "SECRET-env", 1);
	assert_int_equal(secret_resolve("env:TEST_CONFIG_SECRET", &s, &why), 0);
	assert_string_equal(s, "SECRET-env");
	secret_free(s);
	setenv("TEST_CONFIG_SECRET", "", 1);
	assert_int_equal(secret_resolve("env:TEST_CONFIG_SECRET", &s, &why), -1);
	assert_string_equal(why, "the environment variable is empty");
	unsetenv("TEST_CONFIG_SECRET");
	assert_int_equal(secret_resolve("env:TEST_CONFIG_SECRET", &s, &why), -1);
	assert_string_equal(why, "the environment variable is not set");
	assert_int_equal(secret_resolve("env:", &s, &why), -1);
	assert_string_equal(why, "env: needs a variable name");
	big[4097] = 'x';
	big[4098] = '\0';
	setenv("TEST_CONFIG_SECRET", big, 1);
	assert_int_equal(secret_resolve("env:TEST_CONFIG_SECRET", &s, &why), -1);
	assert_string_equal(why, "the environment variable is longer than 4096 bytes");
	unsetenv("TEST_CONFIG_SECRET");
}

/* Secrets in a tenant: file: relative to the tenant file, env:, literal. */
static void
test_tenant_secrets(void **state)
{
	struct tenant	*t;
	char		 want[PATH_MAX + 128];

	(void)state;
	{
		const char *const edits[] = {
			"password = @PASSWORD@", "password = file:secrets/key-password",
			"password = SECRET-saml-auth", "password = env:TEST_CONFIG_SAML_AUTH",
			"password = SECRET-ewt", "client_secret = file:../ewt-secret",
			NULL
		};
		write_tenant("tenants/acme.cfg", edits);
	}
	fixture_write("tenants/secrets/key-password", pw_pkcs8, 0600);
	fixture_write("ewt-secret", "SECRET-ewt-file\n", 0600);
	setenv("TEST_CONFIG_SAML_AUTH", "SECRET-saml-auth-env", 1);
	t = load_tenant(NULL);
	assert_string_equal(t->saml_auth.secret, "SECRET-saml-auth-env");
	assert_string_equal(t->services[0].secret, "SECRET-ewt-file");
	assert_non_null(t->keys);
	tenant_free(t);

	{
		const char *const wants[] = { want, NULL };

		unsetenv("TEST_CONFIG_SAML_AUTH");
		fixture_write("tenants/secrets/key-password", "fixture-password-wrong\n", 0600);
		{
			const char *const w2[] = {
				"[saml] password: wrong password for pkey",
				"[saml_auth] password: env:TEST_CONFIG_SAML_AUTH: the "
				    "environment variable is not set",
				NULL };
			assert_null(load_tenant(w2));
		}
		/* An absolute file: path is taken as written. */
		{
			const char *const edits[] = { "password = @PASSWORD@",
			    "password = file:/nonexistent/pw", NULL };
			write_tenant("tenants/acme.cfg", edits);
			snprintf(want, sizeof(want), "[saml] password: file:/nonexistent/pw: "
			    "No such file or directory");
			assert_null(load_tenant(wants));
		}
	}
}

/* The digest tells a changed tenant: file bytes and resolved secrets. */
static void
test_tenant_digest(void **state)
{
	struct tenant	*t;
	uint64_t	 d1, d2, d3, d4;
	const char *const edits[] = {
		"password = SECRET-ewt", "password = env:TEST_CONFIG_EWT", NULL };
	const char *const edits2[] = {
		"password = SECRET-ewt", "password = env:TEST_CONFIG_EWT", "+", "; c\n", NULL };

	(void)state;
	write_tenant("tenants/acme.cfg", edits);
	setenv("TEST_CONFIG_EWT", "SECRET-one", 1);
	t = load_tenant(NULL);
	d1 = t->digest;
	tenant_free(t);
	t = load_tenant(NULL);
	assert_true(t->digest == d1);
	tenant_free(t);
	setenv("TEST_CONFIG_EWT", "SECRET-two", 1);
	t = load_tenant(NULL);
	d2 = t->digest;
	tenant_free(t);
	assert_true(d2 != d1);
	write_tenant("tenants/acme.cfg", edits2);
	t = load_tenant(NULL);
	d3 = t->digest;
	tenant_free(t);
	assert_true(d3 != d2 && d3 != d1);
	write_tenant("tenants/acme.cfg", edits);
	t = load_tenant(NULL);
	d4 = t->digest;
	tenant_free(t);
	assert_true(d4 == d2);
	unsetenv("TEST_CONFIG_EWT");
}

/*
 * Clients `provision` is to create: [saml_auth] without client_id, and a
 * section with oauth_roles or oauth_divisions but no client_id.  The
 * broker refuses them; provision's load (CONFIG_PENDING_CLIENTS) skips
 * them.  A service's oauth_* options are known options.
 */
static void
test_tenant_pending_clients(void **state)
{
	const char *const edits[] = {
		"client_id = saml-client\npassword = SECRET-saml-auth\n", "",
		"client_id = ewt-client\n", "oauth_roles = Pacing\n",
		"+", "[reports]\noauth_divisions = Home\n[other]\nsomething = 1\n",
		NULL };
	const char *const wants[] = {
		"[saml_auth] client_id: required option is missing (samlbroker provision "
		    "-t acme creates the client)",
		"[ewt] client_id: required option is missing (samlbroker provision -t "
		    "acme creates the client)",
		"[reports] client_id: required option is missing (samlbroker provision "
		    "-t acme creates the client)",
		NULL };
	const char *const roles[] = { "client_id = ewt-client\n",
		"client_id = ewt-client\noauth_roles = Pacing, Other\n", NULL };
	struct diag	 d;
	struct tenant	*t;
	char		 path[PATH_MAX];

	(void)state;
	write_tenant("tenants/acme.cfg", edits);
	assert_null(load_tenant(wants));
	path_in_dir(path, sizeof(path), "tenants/acme.cfg");
	diag_init(&d);
	t = tenant_load_ext(path, "acme", &d, CONFIG_PENDING_CLIENTS);
	assert_int_equal(d.n_lines, 0);
	assert_non_null(t);
	assert_null(t->saml_auth.client_id);
	assert_int_equal(t->n_services, 0);
	tenant_free(t);
	diag_clear(&d);
	/* A created client's section keeps its oauth_* options. */
	write_tenant("tenants/acme.cfg", roles);
	t = load_tenant(NULL);
	assert_int_equal(t->n_services, 1);
	tenant_free(t);
}

/*
 * [saml] next_* and previous_certificate (a rollover): the staged key is
 * checked like the current one (all three options or none, the key
 * against its certificate, dates), only its certificate kept; the front's
 * form of the file has next_pkey and next_password blanked; the cache
 * digest ignores the key and certificate options (and empty lines), so a
 * rollover keeps cached tokens, while any other change still tells.
 */
static void
test_tenant_rollover(void **state)
{
	struct tenant	*t0, *t1, *t2, *t3;
	char		*staged, *active, *text, *blank, add[16384];
	size_t		 blen;
	const char	*e_staged[] = { "password = @PASSWORD@\n", add, NULL };
	const char	*e_secret[] = { "password = SECRET-ewt", "password = SECRET-ewt2", NULL };
	const char	*e_ewt[] = { "client_id = ewt-client", "client_id = ewt-client2", NULL };

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	t0 = load_tenant(NULL);
	assert_null(t0->next_cert);
	assert_string_equal(tenant_rollover_state(t0), "none");

	snprintf(add, sizeof(add), "password = @PASSWORD@\n\nnext_certificate = %s\n"
	    "next_pkey = %s\nnext_password = %s\n", cert_trad, pkey_trad, pw_trad);
	write_tenant("tenants/acme.cfg", e_staged);
	t1 = load_tenant(NULL);
	assert_non_null(t1->next_cert);
	assert_string_equal(tenant_rollover_state(t1), "staged");
	assert_true(t1->digest != t0->digest);
	assert_true(t1->cache_digest == t0->cache_digest);
	staged = tenant_text(e_staged);
	blank = snapshot_tenant_blank(staged, strlen(staged), &blen);
	assert_null(strstr(blank, pkey_trad));
	assert_null(strstr(blank, pw_trad));
	assert_non_null(strstr(blank, cert_trad));
	free(blank);

	/* Activated: the next key signs, the old certificate is published. */
	text = xstrdup(TENANT_TEMPLATE);
	snprintf(add, sizeof(add), "certificate = %s\n", cert_trad);
	text = str_replace(text, "certificate = @CERT@\n", add);
	snprintf(add, sizeof(add), "pkey = %s\n", pkey_trad);
	text = str_replace(text, "pkey = @PKEY@\n", add);
	snprintf(add, sizeof(add), "password = %s\nprevious_certificate = %s\n"
	    "previous_pkey = file:keys/old.key.b64\n", pw_trad, cert_pkcs8);
	text = str_replace(text, "password = @PASSWORD@\n", add);
	fixture_write("tenants/acme.cfg", text, 0600);
	active = text;
	t2 = load_tenant(NULL);
	assert_null(t2->next_cert);
	assert_non_null(t2->previous_cert);
	assert_non_null(strstr(t2->previous_pkey, "/tenants/keys/old.key.b64"));
	assert_string_equal(tenant_rollover_state(t2), "activated");
	assert_true(t2->cache_digest == t0->cache_digest);

	/* A client's new secret alone keeps the cache (provision
	 * --rotate-secrets); another change, a client_id, still tells. */
	write_tenant("tenants/acme.cfg", e_secret);
	t3 = load_tenant(NULL);
	assert_true(t3->digest != t0->digest);
	assert_true(t3->cache_digest == t0->cache_digest);
	tenant_free(t3);
	write_tenant("tenants/acme.cfg", e_ewt);
	t3 = load_tenant(NULL);
	assert_true(t3->cache_digest != t0->cache_digest);

	/* The staged key is checked as the current one is. */
	snprintf(add, sizeof(add), "password = @PASSWORD@\nnext_certificate = %s\n",
	    cert_trad);
	tenant_error(e_staged, "[saml] next_pkey: required with the other next_ options "
	    "(next_certificate, next_pkey and next_password go together)");
	snprintf(add, sizeof(add), "password = @PASSWORD@\nnext_certificate = %s\n"
	    "next_pkey = %s\nnext_password = %s\n", cert_trad, pkey_trad, "wrong-pass");
	write_tenant("tenants/acme.cfg", e_staged);
	{
		struct diag	 d;
		char		 path[PATH_MAX];

		path_in_dir(path, sizeof(path), "tenants/acme.cfg");
		diag_init(&d);
		assert_null(tenant_load(path, "acme", &d));
		assert_int_equal(d.errors, 1);
		assert_non_null(strstr(d.lines[0], ": [saml] next_"));
		assert_null(strstr(d.lines[0], "wrong-pass"));
		diag_clear(&d);
	}
	snprintf(add, sizeof(add), "password = @PASSWORD@\nprevious_pkey = old.key\n");
	tenant_error(e_staged, "[saml] previous_pkey: must be file:PATH (the old key's "
	    "file, which rollover retire wipes)");
	free(staged);
	free(active);
	tenant_free(t0);
	tenant_free(t1);
	tenant_free(t2);
	tenant_free(t3);
}

/* state_directory: absolute, a directory of the broker's user that no one
 * else may write; persistent_cache on by default. */
static void
test_state_directory(void **state)
{
	char			 path[PATH_MAX], text[PATH_MAX + 128], want[PATH_MAX + 128];
	struct broker_config	*c;

	(void)state;
	write_tenant("tenants/acme.cfg", NULL);
	path_in_dir(path, sizeof(path), "state");
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n"
	    "state_directory = %s\n", path);
	fixture_write("samlbroker.conf", text, 0600);
	c = load_config(NULL);
	assert_string_equal(c->state_directory, path);
	assert_true(c->persistent_cache);
	config_free(c);
	snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n"
	    "state_directory = %s\npersistent_cache = no\n", path);
	fixture_write("samlbroker.conf", text, 0600);
	c = load_config(NULL);
	assert_false(c->persistent_cache);
	config_free(c);
	/* Unset: no state, whatever persistent_cache says. */
	fixture_write("samlbroker.conf", "[broker]\ntenants_dir = tenants\n", 0600);
	c = load_config(NULL);
	assert_null(c->state_directory);
	config_free(c);

	assert_int_equal(chmod(path, 0770), 0);
	snprintf(text, sizeof(text), "[broker]\ntenants_dir = tenants\n"
	    "state_directory = %s\n", path);
	snprintf(want, sizeof(want), "[broker] state_directory: %s must not be group "
	    "or world writable (mode 0770)", path);
	main_error(text, want);
	assert_int_equal(chmod(path, 0702), 0);
	snprintf(want, sizeof(want), "[broker] state_directory: %s must not be group "
	    "or world writable (mode 0702)", path);
	main_error(text, want);
	assert_int_equal(rmdir(path), 0);
	if (geteuid() != 0) {
		snprintf(want, sizeof(want), "[broker] state_directory: / must be owned "
		    "by the broker's user (uid %u), not uid 0", (unsigned)geteuid());
		main_error("[broker]\ntenants_dir = tenants\nstate_directory = /\n", want);
	}
	main_error("[broker]\ntenants_dir = tenants\nstate_directory = state\n",
	    "[broker] state_directory: must be an absolute path");
}

/* The documented examples in conf/ load without a message. */
static void
test_documented_examples(void **state)
{
	const char	*top = getenv("top_srcdir");
	char		 path[PATH_MAX], *buf, *line;
	size_t		 len;
	struct broker_config *c;

	(void)state;
	snprintf(path, sizeof(path), "%s/conf/samlbroker.conf", top ? top : ".");
	assert_int_equal(read_file_limited(path, 65536, &buf, &len), 0);
	buf = str_replace(buf, "tenants_dir = /etc/samlbroker/tenants\n",
	    "tenants_dir = tenants\n");
	/* The package's user and state directory need not exist where the
	 * tests run. */
	buf = str_replace(buf, "user = samlbroker\n", "");
	buf = str_replace(buf, "\nstate_directory = /var/lib/samlbroker\n", "\n");
	fixture_write("samlbroker.conf", buf, 0600);
	free(buf);

	snprintf(path, sizeof(path), "%s/conf/tenants/example.cfg.example",
	    top ? top : ".");
	assert_int_equal(read_file_limited(path, 65536, &buf, &len), 0);
	line = xmalloc(strlen(cert_pkcs8) + 32);
	sprintf(line, "certificate = %s\n", cert_pkcs8);
	buf = str_replace(buf, "certificate = LS0tLS1CRUdJTi..."
	    "replace-with-the-base64-of-cert.pem...\n", line);
	free(line);
	line = xmalloc(strlen(pkey_pkcs8) + 32);
	sprintf(line, "pkey = %s\n", pkey_pkcs8);
	buf = str_replace(buf, "pkey = LS0tLS1CRUdJTi..."
	    "replace-with-the-base64-of-key.pem.enc...\n", line);
	free(line);
	fixture_write("tenants/example.cfg", buf, 0600);
	free(buf);
	fixture_write("tenants/secrets/example-key-password", pw_pkcs8, 0600);
	fixture_write("tenants/secrets/example-ewt-secret", "SECRET-ewt\n", 0600);
	setenv("EXAMPLE_SAML_AUTH_SECRET", "SECRET-saml-auth", 1);
	c = load_config(NULL);
	assert_int_equal(c->n_tenants, 1);
	assert_string_equal(c->tenants[0]->name, "example");
	assert_int_equal(c->tenants[0]->n_services, 1);
	assert_string_equal(c->tenants[0]->services[0].name, "ewt");
	assert_string_equal(c->listens[0].text, SAMLBROKER_DEFAULT_SOCKET);
	config_free(c);
	unsetenv("EXAMPLE_SAML_AUTH_SECRET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_main_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_main_every_option, setup, teardown),
		cmocka_unit_test_setup_teardown(test_main_signers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_main_booleans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_main_listen_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_main_value_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_main_structure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenants_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_saml_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_traditional_wrapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_rollover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_pending_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_general_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_uuid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_saml_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_key_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_cert_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_unknown_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_all_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tenant_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_documented_examples, setup, teardown),
	};
	/* Keys are loaded here (the front's binary cannot). */
	keystore_global_init();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
