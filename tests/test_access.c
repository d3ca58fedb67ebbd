/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_access.c - access.c (the [access:TENANT] rules and the decision),
 * the option table of config_options.c against the manual and the example
 * file, loading without private keys, and the permission checks of every
 * file that holds secrets (config_secret.c).
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

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "samlbroker.h"

static char	 dir[256];
static char	*cert, *pkey, *pw;

static char *
fixture(const char *name)
{
	const char	*top = getenv("top_srcdir");
	char		 path[PATH_MAX], *buf, *o;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/tests/data/keys/vendor-pkcs8/%s",
	    top != NULL ? top : ".", name);
	if (read_file_limited(path, 65536, &buf, &len) == -1)
		fail_msg("cannot read %s", path);
	o = buf;
	for (char *p = buf; *p != '\0'; p++)
		if (*p != '\n' && *p != '\r')
			*o++ = *p;
	*o = '\0';
	return buf;
}

static void
write_file(const char *rel, const char *text, mode_t mode)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* tenants/NAME.cfg with services ewt and reports; extra appended. */
static void
write_tenant(const char *name, const char *password, const char *extra)
{
	char	 rel[64], *text;
	int	 n;

	n = asprintf(&text, "[general]\norganization_sname = %s\n"
	    "organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n"
	    "base_auth_url = https://login.mypurecloud.ie/oauth/token\n"
	    "base_service_url = https://api.mypurecloud.ie/api/\n"
	    "[saml]\nissuer = https://www.genesys.com/pureengage\n"
	    "certificate = %s\npkey = %s\npassword = %s\n"
	    "[saml_auth]\nclient_id = saml\npassword = SECRET-saml\n"
	    "[ewt]\nclient_id = ewt\npassword = SECRET-ewt\n"
	    "[reports]\nclient_id = rep\nclient_secret = SECRET-rep\n%s",
	    name, cert, pkey, password != NULL ? password : pw,
	    extra != NULL ? extra : "");
	assert_true(n > 0);
	snprintf(rel, sizeof(rel), "tenants/%s.cfg", name);
	write_file(rel, text, 0600);
	free(text);
}

/* Loads DIR/samlbroker.conf = "[broker]\ntenants_dir = tenants\n" + rest. */
static struct broker_config *
load_main(const char *rest, struct diag *d)
{
	char	 path[PATH_MAX], *text;

	assert_true(asprintf(&text, "[broker]\ntenants_dir = tenants\n%s", rest) > 0);
	write_file("samlbroker.conf", text, 0600);
	free(text);
	snprintf(path, sizeof(path), "%s/samlbroker.conf", dir);
	diag_init(d);
	return config_load(path, d);
}

/* Expects the main file to fail with a line containing want. */
static void
main_refused(const char *rest, const char *want)
{
	struct diag		 d;
	struct broker_config	*c = load_main(rest, &d);
	bool			 found = false;

	assert_null(c);
	for (size_t i = 0; i < d.n_lines; i++)
		if (strstr(d.lines[i], want) != NULL)
			found = true;
	if (!found)
		fail_msg("no line holds '%s'; first: %s", want,
		    d.n_lines > 0 ? d.lines[0] : "(none)");
	diag_clear(&d);
}

static int
setup(void **state)
{
	char	 path[PATH_MAX + 16];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_access.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tenants", dir);
	mkdir(path, 0700);
	write_tenant("acme", NULL, NULL);
	write_tenant("globex", NULL, NULL);
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define RULES \
	"[access:acme]\n" \
	"agents = group:4000, user:1500\n" \
	"agent_address = %u@acme.example\n" \
	"gateways = user:2000, tcp\n" \
	"gateway_domains = acme.example, Sub.Acme.Example\n" \
	"service.ewt = user:3000\n" \
	"service.reports = group:3100, user:2000\n" \
	"saml_response = yes\n" \
	"[access:globex]\n" \
	"agents = user:1500\n" \
	"agent_map = globex.map\n" \
	"service.ewt = user:1500\n"

/* The login seam: counts its calls, so that the tests see when a
 * decision asks for the login (an NSS lookup in the daemon). */
static int	 lookups;

static const char *
login_counted(void *arg)
{
	lookups++;
	return arg;
}
#define LOGIN(name)	login_counted, (void *)(name), NULL, NULL
#define NO_LOGIN	NULL, NULL, NULL, NULL
#define CERT(id)	NULL, NULL, (id), NULL
#define KRB5(p)		NULL, NULL, NULL, (p)

static const unsigned	 g_agents[] = { 100, 4000 };
static const unsigned	 g_none[] = { 100 };
static const unsigned	 g_rep[] = { 3100 };

/* The decision, table-driven. */
static void
test_decide(void **state)
{
	static const struct {
		const char		*tenant;
		struct caller		 c;
		enum access_action	 action;
		const char		*subject;
		enum access_result	 want;
		const char		*rule;	/* part of it */
	} cases[] = {
		/* an agent by group: its own address, case-insensitively */
		{ "acme", { true, false, 1001, g_agents, 2, LOGIN("alice") }, ACCESS_USER_TOKEN,
		  "alice@acme.example", ACCESS_ALLOW, "agents" },
		{ "acme", { true, false, 1001, g_agents, 2, LOGIN("alice") }, ACCESS_USER_TOKEN,
		  "Alice@ACME.example", ACCESS_ALLOW, "agents" },
		/* login Alice is not alice: %u does not fold, whatever is asked */
		{ "acme", { true, false, 1002, g_agents, 2, LOGIN("Alice") }, ACCESS_USER_TOKEN,
		  "alice@acme.example", ACCESS_DENY, "capital letters" },
		{ "acme", { true, false, 1002, g_agents, 2, LOGIN("Alice") }, ACCESS_USER_TOKEN,
		  "Alice@acme.example", ACCESS_DENY, "capital letters" },
		{ "acme", { true, false, 1002, g_agents, 2, LOGIN("Alice") }, ACCESS_SAML_RESPONSE,
		  "ALICE@ACME.EXAMPLE", ACCESS_DENY, "capital letters" },
		{ "acme", { true, false, 1001, g_agents, 2, LOGIN("alice") }, ACCESS_USER_TOKEN,
		  "bob@acme.example", ACCESS_DENY, "only their own address" },
		{ "acme", { true, false, 1001, g_agents, 2, LOGIN("alice") }, ACCESS_SAML_RESPONSE,
		  "alice@acme.example", ACCESS_ALLOW, "agents" },
		{ "acme", { true, false, 1001, g_agents, 2, LOGIN("alice") }, ACCESS_SAML_RESPONSE,
		  "bob@acme.example", ACCESS_DENY, "only their own address" },
		{ "acme", { true, false, 1001, g_agents, 2, NO_LOGIN }, ACCESS_USER_TOKEN,
		  "alice@acme.example", ACCESS_DENY, "login name is unknown" },
		{ "acme", { true, false, 1001, g_agents, 2, LOGIN("alice") }, ACCESS_SERVICE_TOKEN,
		  "ewt", ACCESS_DENY, "no rule grants this service" },
		/* an agent by uid */
		{ "acme", { true, false, 1500, g_none, 1, LOGIN("carol") }, ACCESS_USER_TOKEN,
		  "carol@acme.example", ACCESS_ALLOW, "agents" },
		/* a stranger: the tenant does not exist for it */
		{ "acme", { true, false, 1001, g_none, 1, LOGIN("mallory") }, ACCESS_USER_TOKEN,
		  "mallory@acme.example", ACCESS_HIDDEN, NULL },
		{ "acme", { true, false, 1001, g_none, 1, LOGIN("mallory") }, ACCESS_SERVICE_TOKEN,
		  "ewt", ACCESS_HIDDEN, NULL },
		/* a gateway: any address in its domains */
		{ "acme", { true, false, 2000, g_none, 1, LOGIN("gw") }, ACCESS_USER_TOKEN,
		  "anyone@acme.example", ACCESS_ALLOW, "gateways" },
		{ "acme", { true, false, 2000, g_none, 1, LOGIN("gw") }, ACCESS_USER_TOKEN,
		  "x@sub.acme.example", ACCESS_ALLOW, "gateways" },
		{ "acme", { true, false, 2000, g_none, 1, LOGIN("gw") }, ACCESS_USER_TOKEN,
		  "X@SUB.Acme.EXAMPLE", ACCESS_ALLOW, "gateways" },
		{ "acme", { true, false, 2000, g_none, 1, LOGIN("gw") }, ACCESS_USER_TOKEN,
		  "x@evil.example", ACCESS_DENY, "not a gateway domain" },
		{ "acme", { true, false, 2000, g_none, 1, LOGIN("gw") }, ACCESS_USER_TOKEN,
		  "x@xacme.example", ACCESS_DENY, "not a gateway domain" },
		{ "acme", { true, false, 2000, g_none, 1, LOGIN("gw") }, ACCESS_SERVICE_TOKEN,
		  "reports", ACCESS_ALLOW, "service" },
		{ "acme", { true, false, 2000, g_none, 1, LOGIN("gw") }, ACCESS_SERVICE_TOKEN,
		  "ewt", ACCESS_DENY, "no rule grants this service" },
		/* TCP: only what names tcp */
		{ "acme", { false, false, 0, NULL, 0, NO_LOGIN }, ACCESS_USER_TOKEN,
		  "a@acme.example", ACCESS_ALLOW, "gateways" },
		{ "acme", { false, false, 0, NULL, 0, NO_LOGIN }, ACCESS_SERVICE_TOKEN,
		  "ewt", ACCESS_DENY, "no rule grants this service" },
		{ "globex", { false, false, 0, NULL, 0, NO_LOGIN }, ACCESS_USER_TOKEN,
		  "a@globex.example", ACCESS_HIDDEN, NULL },
		/* a TCP caller never matches a uid, even uid 0 */
		{ "globex", { false, false, 1500, NULL, 0, LOGIN("carol") }, ACCESS_SERVICE_TOKEN,
		  "ewt", ACCESS_HIDDEN, NULL },
		/* services */
		{ "acme", { true, false, 3000, g_none, 1, LOGIN("pacing") }, ACCESS_SERVICE_TOKEN,
		  "ewt", ACCESS_ALLOW, "service" },
		{ "acme", { true, false, 3000, g_none, 1, LOGIN("pacing") }, ACCESS_USER_TOKEN,
		  "pacing@acme.example", ACCESS_DENY, "only agents and gateways" },
		{ "acme", { true, false, 9, g_rep, 1, NO_LOGIN }, ACCESS_SERVICE_TOKEN,
		  "reports", ACCESS_ALLOW, "service" },
		{ "acme", { true, false, 9, g_rep, 1, NO_LOGIN }, ACCESS_SERVICE_TOKEN,
		  "nosuch", ACCESS_DENY, "no rule grants this service" },
		/* globex: the map; saml-response is off by default */
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("carol") }, ACCESS_USER_TOKEN,
		  "carol.smith@globex.example", ACCESS_ALLOW, "agents" },
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("carol") }, ACCESS_USER_TOKEN,
		  "carol@globex.example", ACCESS_DENY, "only their own address" },
		/* the map's address is canonical (written Carol.Smith@Globex...) */
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("carol") }, ACCESS_USER_TOKEN,
		  "CAROL.SMITH@globex.example", ACCESS_ALLOW, "agents" },
		/* a login with capitals gets what the map gives it explicitly */
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("Erin") }, ACCESS_USER_TOKEN,
		  "erin@globex.example", ACCESS_ALLOW, "agents" },
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("erin") }, ACCESS_USER_TOKEN,
		  "erin@globex.example", ACCESS_DENY, "agent map has none" },
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("dave") }, ACCESS_USER_TOKEN,
		  "dave@globex.example", ACCESS_DENY, "agent map has none" },
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("carol") }, ACCESS_SAML_RESPONSE,
		  "carol.smith@globex.example", ACCESS_DENY, "saml-response is off" },
		{ "globex", { true, false, 1500, g_none, 1, LOGIN("carol") }, ACCESS_SERVICE_TOKEN,
		  "ewt", ACCESS_ALLOW, "service" },
	};
	struct diag		 d;
	struct broker_config	*c;

	(void)state;
	write_file("globex.map", "# login address\ncarol Carol.Smith@Globex.Example\n"
	    "\n  Erin   erin@globex.example   # a comment\n", 0600);
	c = load_main(RULES, &d);
	if (c == NULL)
		fail_msg("%s", d.n_lines > 0 ? d.lines[0] : "load failed");
	diag_clear(&d);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tenant	*t = config_tenant_find(c, cases[i].tenant);
		const char		*rule = NULL;
		enum access_result	 got;

		lookups = 0;
		got = access_decide(t, &cases[i].c, cases[i].action, cases[i].subject,
		    &rule);
		/* Hidden is decided before the login is asked for (its time
		 * would tell which tenants have agent rules), and the login is
		 * asked for at most once. */
		if (got == ACCESS_HIDDEN && lookups != 0)
			fail_msg("case %zu: a hidden tenant asked for the login", i);
		assert_true(lookups <= 1);
		if (got != cases[i].want)
			fail_msg("case %zu (%s, uid %u, %s): got %d, want %d", i,
			    cases[i].tenant, cases[i].c.uid, cases[i].subject, got,
			    cases[i].want);
		assert_non_null(rule);
		if (cases[i].rule != NULL && strstr(rule, cases[i].rule) == NULL)
			fail_msg("case %zu: rule '%s' lacks '%s'", i, rule, cases[i].rule);
		/* A refusal never names a principal. */
		assert_null(strstr(rule, "user:"));
		assert_null(strstr(rule, "group:"));
		assert_int_equal(access_tenant_visible(t, &cases[i].c),
		    got != ACCESS_HIDDEN);
	}
	/* The admin address sees every tenant; an open tenant is open. */
	{
		struct caller admin = { true, true, 1001, g_none, 1, NO_LOGIN };

		assert_true(access_tenant_visible(config_tenant_find(c, "acme"), &admin));
	}
	/* Only an agent's own address asks for the login: a gateway's grant
	 * and a service do not. */
	{
		const struct tenant	*acme = config_tenant_find(c, "acme");
		struct caller		 gw = { true, false, 2000, g_none, 1, LOGIN("gw") };
		struct caller		 agent = { true, false, 1001, g_agents, 2,
					    LOGIN("alice") };

		lookups = 0;
		assert_int_equal(access_decide(acme, &gw, ACCESS_USER_TOKEN,
		    "x@acme.example", NULL), ACCESS_ALLOW);
		assert_int_equal(access_decide(acme, &agent, ACCESS_SERVICE_TOKEN,
		    "ewt", NULL), ACCESS_DENY);
		assert_int_equal(lookups, 0);
		assert_int_equal(access_decide(acme, &agent, ACCESS_USER_TOKEN,
		    "alice@acme.example", NULL), ACCESS_ALLOW);
		assert_int_equal(lookups, 1);
	}
	config_free(c);

	/* The template's literal part is made canonical at load. */
	c = load_main("[access:acme]\nagents = user:1001\n"
	    "agent_address = %u@ACME.Example\n", &d);
	assert_non_null(c);
	diag_clear(&d);
	{
		struct caller	 alice = { true, false, 1001, g_none, 1, LOGIN("alice") };
		char		**lines;
		size_t		  n;

		assert_int_equal(access_decide(config_tenant_find(c, "acme"), &alice,
		    ACCESS_USER_TOKEN, "alice@acme.example", NULL), ACCESS_ALLOW);
		n = access_describe(config_tenant_find(c, "acme"), &lines);
		assert_true(n > 0);
		assert_string_equal(lines[0], "acme: agents user:1001 -> own address "
		    "%u@acme.example");
		for (size_t i = 0; i < n; i++)
			free(lines[i]);
		free(lines);
	}
	config_free(c);

	c = load_main("[access:acme]\nservice.ewt = user:3000\n", &d);
	assert_non_null(c);
	diag_clear(&d);
	{
		struct caller	 anyone = { false, false, 0, NULL, 0, NO_LOGIN };
		const char	*rule;

		assert_int_equal(access_decide(config_tenant_find(c, "globex"),
		    &anyone, ACCESS_SAML_RESPONSE, "x@y.example", &rule), ACCESS_ALLOW);
	}
	config_free(c);
}

/* What `check` prints: one line per rule. */
static void
test_describe(void **state)
{
	struct diag		 d;
	struct broker_config	*c;
	char			**lines;
	size_t			  n;
	static const char *const want[] = {
		"acme: agents group:4000, user:1500 -> own address %u@acme.example",
		"acme: gateways user:2000, tcp -> any address in acme.example,sub.acme.example",
		"acme: service ewt <- user:3000",
		"acme: service reports <- group:3100, user:2000",
		"acme: saml-response on (same address rules)",
	};

	(void)state;
	write_file("globex.map", "carol carol@globex.example\n", 0600);
	c = load_main(RULES, &d);
	assert_non_null(c);
	diag_clear(&d);
	n = access_describe(config_tenant_find(c, "acme"), &lines);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(lines[i], want[i]);
		free(lines[i]);
	}
	free(lines);
	n = access_describe(config_tenant_find(c, "globex"), &lines);
	assert_int_equal(n, 4);
	assert_non_null(strstr(lines[0], "own address from"));
	assert_non_null(strstr(lines[0], "(1 logins)"));
	assert_string_equal(lines[2], "globex: service reports <- nobody");
	assert_string_equal(lines[3], "globex: saml-response off");
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	config_free(c);
}

/* Mistakes fail closed, each with a message that names the place. */
static void
test_rules_refused(void **state)
{
	(void)state;
	main_refused("[access]\nacme = user:root\n", "[access] acme: [access] is no "
	    "longer read; write [access:acme] with agents = ...");
	main_refused("[access:Demo]\ngateways = user:root\n", "[access:Demo]: no "
	    "tenant is named 'Demo'");
	main_refused("[access:acme.cfg]\ngateways = user:root\n", "no tenant is named");
	main_refused("[access:acme]\ngateway = user:root\n", "[access:acme] gateway: "
	    "unknown option; did you mean gateways?");
	main_refused("[access:acme]\ngateways = user:no-such-user-xyz\n",
	    "[access:acme] gateways: user:no-such-user-xyz: no such user");
	main_refused("[access:acme]\ngateways = group:no-such-group-xyz\n",
	    "no such group");
	main_refused("[access:acme]\ngateways = root\n", "each entry must be");
	main_refused("[access:acme]\ngateways = ,\n", "[access:acme] gateways: names "
	    "nobody");
	main_refused("[access:acme]\nagents = tcp\nagent_address = %u@a.example\n",
	    "tcp is allowed only in gateways and service.*");
	main_refused("[access:acme]\nagents = user:root\n", "needs exactly one of "
	    "agent_address");
	main_refused("[access:acme]\nagents = user:root\nagent_address = %u@a.example\n"
	    "agent_map = x.map\n", "needs exactly one of agent_address");
	main_refused("[access:acme]\nagent_address = %u@a.example\n", "[access:acme] "
	    "agent_address: needs agents = PRINCIPALS");
	main_refused("[access:acme]\nagents = user:root\nagent_address = a@a.example\n",
	    "must hold %u");
	main_refused("[access:acme]\nagents = user:root\nagent_address = %u@%d\n",
	    "only %u and %% may follow a %");
	main_refused("[access:acme]\nagents = user:root\nagent_address = %u\n",
	    "does not make an address");
	main_refused("[access:acme]\nagents = user:root\nagent_map = nope.map\n",
	    "[access:acme] agent_map: cannot read");
	main_refused("[access:acme]\ngateway_domains = acme.example\n",
	    "gateway_domains: needs gateways");
	main_refused("[access:acme]\ngateways = user:root\ngateway_domains = @acme\n",
	    "each entry must be a domain");
	main_refused("[access:acme]\nservice.ewtt = user:root\n", "tenant acme has no "
	    "service 'ewtt'");
	main_refused("[access:acme]\nservice.saml_auth = user:root\n", "has no service");
	main_refused("[access:acme]\ngateways = user:root\nsaml_response = maybe\n",
	    "saml_response: must be yes or no");
	main_refused("[acess:acme]\ngateways = user:root\n", "[acess:acme]: unknown "
	    "section");
	write_file("bad.map", "carol\n", 0600);
	main_refused("[access:acme]\nagents = user:root\nagent_map = bad.map\n",
	    "line 1: write one \"login address\" pair per line");
	write_file("bad.map", "carol not-an-address\n", 0600);
	main_refused("[access:acme]\nagents = user:root\nagent_map = bad.map\n",
	    "line 1:");
	write_file("bad.map", "carol c@x.example\ncarol d@x.example\n", 0600);
	main_refused("[access:acme]\nagents = user:root\nagent_map = bad.map\n",
	    "line 2: login given twice");
	/* One address, one login: Carol and carol cannot share c@x.example. */
	write_file("bad.map", "carol c@x.example\nCarol C@X.Example\n", 0600);
	main_refused("[access:acme]\nagents = user:root\nagent_map = bad.map\n",
	    "line 2: address c@x.example is already login carol's");
}

/* Names resolve through NSS; numbers stay numbers. */
static void
test_principal_names(void **state)
{
	struct diag		 d;
	struct broker_config	*c;
	struct caller		 root = { true, false, 0, NULL, 0, LOGIN("root") };
	static const unsigned	 g0[] = { 0 };
	struct caller		 g = { true, false, 77, g0, 1, NO_LOGIN };

	(void)state;
	c = load_main("[access:acme]\nservice.ewt = user:root\n"
	    "service.reports = group:root\n", &d);
	assert_non_null(c);
	diag_clear(&d);
	assert_int_equal(access_decide(config_tenant_find(c, "acme"), &root,
	    ACCESS_SERVICE_TOKEN, "ewt", NULL), ACCESS_ALLOW);
	assert_int_equal(access_decide(config_tenant_find(c, "acme"), &g,
	    ACCESS_SERVICE_TOKEN, "reports", NULL), ACCESS_ALLOW);
	assert_int_equal(access_decide(config_tenant_find(c, "acme"), &g,
	    ACCESS_SERVICE_TOKEN, "ewt", NULL), ACCESS_DENY);
	config_free(c);
}

/* Callers of https: listeners: certificate identities and whole domains,
 * never the tcp principal, %u from the identity, maps by identity. */
static void
test_cert_principals(void **state)
{
	struct diag		 d;
	struct broker_config	*c;
	const struct tenant	*acme, *globex;
	const char		*rule;
	char			**lines;
	size_t			  n;
	/* is_unix, is_admin, uid, gids, n_gids, login, arg, cert_identity */
	struct caller		 alice = { false, false, 0, NULL, 0, CERT("alice@acme.example") };
	struct caller		 bob = { false, false, 0, NULL, 0, CERT("bob@acme.example") };
	struct caller		 eve = { false, false, 0, NULL, 0, CERT("eve@evil.example") };
	struct caller		 sub = { false, false, 0, NULL, 0, CERT("x@sub.acme.example") };
	struct caller		 carol = { false, false, 0, NULL, 0, CERT("carol@globex.example") };
	struct caller		 tcp = { false, false, 0, NULL, 0, NO_LOGIN };
	struct caller		 root = { true, false, 0, NULL, 0, LOGIN("alice") };

	(void)state;
	write_file("globex.map", "Carol@Globex.Example carol.smith@globex.example\n", 0600);
	c = load_main("[access:acme]\nagents = cert-domain:Acme.Example\n"
	    "agent_address = %u@acme.example\n"
	    "gateways = cert:GW@Acme.Example, tcp\n"
	    "service.ewt = cert:alice@acme.example\n"
	    "[access:globex]\nagents = cert:carol@globex.example\n"
	    "agent_map = globex.map\n", &d);
	if (c == NULL)
		fail_msg("%s", d.n_lines > 0 ? d.lines[0] : "load failed");
	diag_clear(&d);
	acme = config_tenant_find(c, "acme");
	globex = config_tenant_find(c, "globex");
	/* a whole domain: each its own address, %u the name before '@' */
	assert_int_equal(access_decide(acme, &alice, ACCESS_USER_TOKEN,
	    "Alice@acme.example", &rule), ACCESS_ALLOW);
	assert_int_equal(access_decide(acme, &alice, ACCESS_USER_TOKEN,
	    "bob@acme.example", &rule), ACCESS_DENY);
	assert_string_equal(rule, "agents may obtain only their own address");
	assert_int_equal(access_decide(acme, &bob, ACCESS_USER_TOKEN,
	    "bob@acme.example", NULL), ACCESS_ALLOW);
	/* another domain, and a subdomain, are strangers */
	assert_int_equal(access_decide(acme, &eve, ACCESS_USER_TOKEN,
	    "eve@acme.example", NULL), ACCESS_HIDDEN);
	assert_int_equal(access_decide(acme, &sub, ACCESS_USER_TOKEN,
	    "x@acme.example", NULL), ACCESS_HIDDEN);
	/* an exact identity, written in capitals, compares in lowercase */
	{
		struct caller gw = { false, false, 0, NULL, 0, CERT("gw@acme.example") };

		assert_int_equal(access_decide(acme, &gw, ACCESS_USER_TOKEN,
		    "anyone@acme.example", &rule), ACCESS_ALLOW);
		assert_string_equal(rule, "gateways");
	}
	assert_int_equal(access_decide(acme, &alice, ACCESS_SERVICE_TOKEN, "ewt",
	    NULL), ACCESS_ALLOW);
	assert_int_equal(access_decide(acme, &bob, ACCESS_SERVICE_TOKEN, "ewt",
	    NULL), ACCESS_DENY);
	/* tcp names unauthenticated TCP callers, not certificate holders */
	assert_int_equal(access_decide(acme, &tcp, ACCESS_USER_TOKEN,
	    "anyone@acme.example", NULL), ACCESS_ALLOW);
	assert_int_equal(access_decide(globex, &alice, ACCESS_USER_TOKEN,
	    "alice@globex.example", NULL), ACCESS_HIDDEN);
	/* nor does a certificate rule name a local caller */
	assert_int_equal(access_decide(globex, &root, ACCESS_USER_TOKEN,
	    "carol.smith@globex.example", NULL), ACCESS_HIDDEN);
	/* a map keyed by identity, case-insensitively */
	assert_int_equal(access_decide(globex, &carol, ACCESS_USER_TOKEN,
	    "carol.smith@globex.example", NULL), ACCESS_ALLOW);
	assert_int_equal(access_decide(globex, &carol, ACCESS_USER_TOKEN,
	    "carol@globex.example", NULL), ACCESS_DENY);
	n = access_describe(acme, &lines);
	assert_true(n >= 3);
	assert_string_equal(lines[0], "acme: agents cert-domain:Acme.Example -> own "
	    "address %u@acme.example");
	assert_string_equal(lines[1], "acme: gateways cert:GW@Acme.Example, tcp -> "
	    "any address");
	assert_string_equal(lines[2], "acme: service ewt <- cert:alice@acme.example");
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	config_free(c);

	main_refused("[access:acme]\ngateways = cert:\n", "cert: needs a certificate "
	    "identity");
	main_refused("[access:acme]\ngateways = cert-domain:@acme.example\n",
	    "cert-domain: needs a domain such as example.com");
	main_refused("[access:acme]\ngateways = cert-domain:acme\n",
	    "cert-domain: needs a domain such as example.com");
	main_refused("[access:acme]\ngateways = certificate:alice\n",
	    "each entry must be user:NAME, user:UID, group:NAME, group:GID, tcp, "
	    "cert:IDENTITY, cert-domain:DOMAIN, krb5:NAME@REALM or realm:REALM");
}

/* Kerberos callers (Negotiate): one principal, exact; a whole realm, for
 * single-component names only; %u the name without the realm; a map keyed
 * by the whole principal. */
static void
test_krb5_principals(void **state)
{
	struct diag		 d;
	struct broker_config	*c;
	const struct tenant	*acme, *globex;
	const char		*rule;
	char			**lines;
	size_t			  n;
	/* is_unix, is_admin, uid, gids, n_gids, login, arg, cert, krb5 */
	struct caller		 alice = { false, false, 0, NULL, 0, KRB5("alice@ACME.EXAMPLE") };
	struct caller		 bob = { false, false, 0, NULL, 0, KRB5("bob@ACME.EXAMPLE") };
	struct caller		 admin = { false, false, 0, NULL, 0, KRB5("alice/admin@ACME.EXAMPLE") };
	struct caller		 svc = { false, false, 0, NULL, 0, KRB5("HTTP/x@ACME.EXAMPLE") };
	struct caller		 other = { false, false, 0, NULL, 0, KRB5("alice@OTHER.EXAMPLE") };
	struct caller		 upper = { false, false, 0, NULL, 0, KRB5("Alice@ACME.EXAMPLE") };
	struct caller		 carol = { false, false, 0, NULL, 0, KRB5("carol@GLOBEX.EXAMPLE") };
	struct caller		 certal = { false, false, 0, NULL, 0, CERT("alice@acme.example") };

	(void)state;
	write_file("krb.map", "carol@GLOBEX.EXAMPLE carol.smith@globex.example\n", 0600);
	c = load_main("[access:acme]\nagents = realm:ACME.EXAMPLE\n"
	    "agent_address = %u@acme.example\n"
	    "service.ewt = krb5:alice@ACME.EXAMPLE\n"
	    "[access:globex]\nagents = krb5:carol@GLOBEX.EXAMPLE\n"
	    "agent_map = krb.map\n", &d);
	if (c == NULL)
		fail_msg("%s", d.n_lines > 0 ? d.lines[0] : "load failed");
	diag_clear(&d);
	acme = config_tenant_find(c, "acme");
	globex = config_tenant_find(c, "globex");
	/* realm: each its own address, %u the name without the realm */
	assert_int_equal(access_decide(acme, &alice, ACCESS_USER_TOKEN,
	    "alice@acme.example", &rule), ACCESS_ALLOW);
	assert_int_equal(access_decide(acme, &alice, ACCESS_USER_TOKEN,
	    "bob@acme.example", &rule), ACCESS_DENY);
	assert_string_equal(rule, "agents may obtain only their own address");
	assert_int_equal(access_decide(acme, &bob, ACCESS_USER_TOKEN,
	    "bob@acme.example", NULL), ACCESS_ALLOW);
	/* names of two components never match realm:; another realm is a
	 * stranger; a certificate with the same name is not the principal */
	assert_int_equal(access_decide(acme, &admin, ACCESS_USER_TOKEN,
	    "alice/admin@acme.example", NULL), ACCESS_HIDDEN);
	assert_int_equal(access_decide(acme, &svc, ACCESS_USER_TOKEN,
	    "http/x@acme.example", NULL), ACCESS_HIDDEN);
	assert_int_equal(access_decide(acme, &other, ACCESS_USER_TOKEN,
	    "alice@acme.example", NULL), ACCESS_HIDDEN);
	assert_int_equal(access_decide(acme, &certal, ACCESS_USER_TOKEN,
	    "alice@acme.example", NULL), ACCESS_HIDDEN);
	/* a name with capitals is refused its %u address, not folded */
	assert_int_equal(access_decide(acme, &upper, ACCESS_USER_TOKEN,
	    "alice@acme.example", &rule), ACCESS_DENY);
	/* krb5: is exact */
	assert_int_equal(access_decide(acme, &alice, ACCESS_SERVICE_TOKEN, "ewt",
	    NULL), ACCESS_ALLOW);
	assert_int_equal(access_decide(acme, &bob, ACCESS_SERVICE_TOKEN, "ewt",
	    NULL), ACCESS_DENY);
	assert_int_equal(access_decide(acme, &upper, ACCESS_SERVICE_TOKEN, "ewt",
	    NULL), ACCESS_DENY);
	/* a map keyed by the whole principal */
	assert_int_equal(access_decide(globex, &carol, ACCESS_USER_TOKEN,
	    "carol.smith@globex.example", NULL), ACCESS_ALLOW);
	assert_int_equal(access_decide(globex, &carol, ACCESS_USER_TOKEN,
	    "carol@globex.example", NULL), ACCESS_DENY);
	n = access_describe(acme, &lines);
	assert_true(n >= 2);
	assert_string_equal(lines[0], "acme: agents realm:ACME.EXAMPLE -> own "
	    "address %u@acme.example");
	assert_string_equal(lines[1], "acme: service ewt <- krb5:alice@ACME.EXAMPLE");
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	config_free(c);

	main_refused("[access:acme]\nagents = krb5:alice\n", "krb5: needs a whole "
	    "principal (krb5:alice@ACME.EXAMPLE)");
	main_refused("[access:acme]\nagents = realm:alice@ACME.EXAMPLE\n",
	    "realm: needs a realm (realm:ACME.EXAMPLE)");
}

/* Every option of the table is in the manual and in the example file. */
static void
test_option_table_documented(void **state)
{
	const char			*top = getenv("top_srcdir");
	const struct config_option	*o;
	char				 path[PATH_MAX], *man, *conf;
	size_t				 n, len;

	(void)state;
	snprintf(path, sizeof(path), "%s/man/samlbroker.conf.5", top ? top : ".");
	assert_int_equal(read_file_limited(path, 1 << 20, &man, &len), 0);
	snprintf(path, sizeof(path), "%s/conf/samlbroker.conf", top ? top : ".");
	assert_int_equal(read_file_limited(path, 1 << 20, &conf, &len), 0);
	o = config_options(&n);
	assert_true(n >= 18);
	for (size_t i = 0; i < n; i++) {
		char	 item[128], line[128], line2[128];

		/* The manual: ".BR name ...", ".B name" or '", " name'. */
		snprintf(item, sizeof(item), ".BR %s ", o[i].name);
		snprintf(line, sizeof(line), "\", \" %s ", o[i].name);
		snprintf(line2, sizeof(line2), ".B %s\n", o[i].name);
		if (strstr(man, item) == NULL && strstr(man, line) == NULL &&
		    strstr(man, line2) == NULL)
			fail_msg("option %s is not in samlbroker.conf(5)", o[i].name);
		/* The example: "name =" or "#name =" / "; name =". */
		snprintf(item, sizeof(item), "%s =", o[i].name);
		if (strstr(conf, item) == NULL)
			fail_msg("option %s is not in conf/samlbroker.conf", o[i].name);
		assert_non_null(o[i].help);
		assert_ptr_equal(config_option_find(o[i].name), &o[i]);
	}
	free(man);
	free(conf);
}

/* Defaults come from the table; the reload decision reads it. */
static void
test_option_table_reload(void **state)
{
	struct diag		 d;
	struct broker_config	*a, *b;
	const char		*names[8];
	char			 buf[256];

	(void)state;
	a = load_main("", &d);
	assert_non_null(a);
	diag_clear(&d);
	assert_int_equal(a->max_cached_tokens, 10000);
	assert_int_equal(a->max_cached_tokens_per_tenant, 0);
	assert_int_equal(a->max_exchanges_per_tenant, 32);
	assert_int_equal(a->socket_mode, 0660);
	assert_int_equal(a->connect_timeout, 5);
	b = load_main("log_level = debug\nmax_connections = 7\n"
	    "max_exchanges_per_tenant = 4\nmax_cached_tokens_per_tenant = 100\n", &d);
	assert_non_null(b);
	diag_clear(&d);
	assert_int_equal(b->max_exchanges_per_tenant, 4);
	assert_int_equal(b->max_cached_tokens_per_tenant, 100);
	/* All of these a reload changes (the broker reads the per-tenant
	 * bounds at each request). */
	assert_int_equal(config_reload_changes(a, b, names, 8), 0);
	config_free(b);
	b = load_main("listen = unix:/tmp/x.sock\nproxy = http://u:SECRET-p@127.0.0.1:3/\n"
	    "connect_timeout = 3\n", &d);
	assert_non_null(b);
	diag_clear(&d);
	assert_int_equal(config_reload_changes(a, b, names, 8), 3);
	assert_string_equal(names[0], "listen");
	assert_string_equal(names[1], "proxy");
	assert_string_equal(names[2], "connect_timeout");
	assert_int_equal(config_reload_changes(a, b, names, 1), 3);
	assert_int_equal(config_option_format(b, config_option_find("proxy"), buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "(set, not shown)");
	assert_int_equal(config_option_format(b, config_option_find("listen"), buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "unix:/tmp/x.sock");
	config_free(b);
	main_refused("max_exchanges_per_tenant = 0\n", "[broker] "
	    "max_exchanges_per_tenant: must be a whole number from 1 to 65536");
	main_refused("max_cached_tokens_per_tenant = 10000001\n",
	    "must be a whole number from 0 to 10000000");
	config_free(a);
}

/* The front process loads certificates only: the key password is never
 * resolved (an unset env: variable is no error) and no key is held. */
static void
test_no_private_keys(void **state)
{
	char			 path[PATH_MAX];
	struct diag		 d;
	struct broker_config	*c;

	(void)state;
	unsetenv("TEST_ACCESS_UNSET");
	write_tenant("acme", "env:TEST_ACCESS_UNSET", NULL);
	snprintf(path, sizeof(path), "%s/samlbroker.conf", dir);
	assert_null(load_main("", &d));
	diag_clear(&d);
	diag_init(&d);
	c = config_load_ext(path, &d, CONFIG_NO_PRIVATE_KEYS);
	if (c == NULL)
		fail_msg("%s", d.lines[0]);
	assert_int_equal(d.n_lines, 0);
	for (size_t i = 0; i < c->n_tenants; i++) {
		assert_non_null(c->tenants[i]->keys);
		assert_null(keystore_pkey(c->tenants[i]->keys));
		assert_non_null(keystore_fingerprint(c->tenants[i]->keys));
	}
	config_free(c);
	diag_clear(&d);
	/* A pkcs11: key is not opened either (its module is never loaded),
	 * although a load with keys fails on it. */
	{
		char *text;

		assert_true(asprintf(&text, "[general]\norganization_sname = acme\n"
		    "organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n"
		    "base_auth_url = https://login.mypurecloud.ie/oauth/token\n"
		    "base_service_url = https://api.mypurecloud.ie/api/\n"
		    "[saml]\nissuer = i\ncertificate = %s\npkey = pkcs11:token=none;"
		    "object=none?module-path=/nonexistent/pkcs11-module.so\n"
		    "password = env:TEST_ACCESS_UNSET\n"
		    "[saml_auth]\nclient_id = s\npassword = SECRET-s\n", cert) > 0);
		write_file("tenants/acme.cfg", text, 0600);
		free(text);
	}
	diag_init(&d);
	if ((c = config_load_ext(path, &d, CONFIG_NO_PRIVATE_KEYS)) == NULL)
		fail_msg("%s", d.lines[0]);
	assert_null(keystore_pkey(config_tenant_find(c, "acme")->keys));
	config_free(c);
	diag_clear(&d);
	diag_init(&d);
	assert_null(config_load_ext(path, &d, 0));
	diag_clear(&d);
	/* Certificates are still checked. */
	write_tenant("acme", NULL, NULL);
	{
		char *text, *bad = xstrdup(cert);

		bad[40] = bad[40] == 'A' ? 'B' : 'A';
		bad[41] = '!';
		assert_true(asprintf(&text, "[general]\norganization_sname = x\n"
		    "organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n"
		    "region = mypurecloud.ie\n"
		    "[saml]\nissuer = i\ncertificate = %s\npkey = x\npassword = y\n"
		    "[saml_auth]\nclient_id = s\npassword = SECRET-s\n", bad) > 0);
		write_file("tenants/globex.cfg", text, 0600);
		free(text);
		free(bad);
	}
	diag_init(&d);
	assert_null(config_load_ext(path, &d, CONFIG_NO_PRIVATE_KEYS));
	assert_non_null(strstr(d.lines[0], "[saml] certificate:"));
	diag_clear(&d);
	write_tenant("globex", NULL, NULL);
}

/* Every file that holds secrets: owner-only mode (item 5). */
static void
test_secret_file_modes(void **state)
{
	char	 secret[PATH_MAX + 16], path[PATH_MAX + 16];
	struct diag		 d;
	struct broker_config	*c;

	(void)state;
	write_file("ewt.secret", "SECRET-ewt-from-file\n", 0644);
	snprintf(secret, sizeof(secret), "file:%s/ewt.secret", dir);
	write_tenant("acme", NULL, "[pacing]\nclient_id = p\npassword = ");
	{
		/* append the file: reference to the tenant file */
		FILE *fp;

		snprintf(path, sizeof(path), "%s/tenants/acme.cfg", dir);
		fp = fopen(path, "a");
		assert_non_null(fp);
		fprintf(fp, "%s\n", secret);
		fclose(fp);
	}
	main_refused("", "[pacing] password: file:");
	main_refused("", "ewt.secret: mode 0644 lets other users read the secrets in it");
	write_file("ewt.secret", "SECRET-ewt-from-file\n", 0600);
	c = load_main("", &d);
	assert_non_null(c);
	diag_clear(&d);
	config_free(c);
	/* Group-readable only for root's group or the broker's own group
	 * (a package's 0640 root:samlbroker); any other group is refused. */
	snprintf(path, sizeof(path), "%s/ewt.secret", dir);
	write_file("ewt.secret", "SECRET-ewt-from-file\n", 0640);
	assert_int_equal(chown(path, geteuid(), getegid()), 0);
	c = load_main("", &d);
	assert_non_null(c);
	diag_clear(&d);
	config_free(c);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 0, 12345), 0);
		main_refused("", "ewt.secret: mode 0640 lets other users read the "
		    "secrets in it");
		assert_int_equal(chown(path, 0, 0), 0);
	}
	write_file("ewt.secret", "SECRET-ewt-from-file\n", 0600);
	/* Owner: root or the broker's own user. */
	snprintf(path, sizeof(path), "%s/ewt.secret", dir);
	if (geteuid() == 0 && chown(path, 12345, 12345) == 0)
		main_refused("", "it belongs to uid 12345, neither root nor the "
		    "broker's user");
	write_file("ewt.secret", "SECRET-ewt-from-file\n", 0644);
	if (geteuid() == 0)
		assert_int_equal(chown(path, 0, 0), 0);
	/* The escape hatch covers file: secrets too. */
	c = load_main("allow_insecure_permissions = yes\n", &d);
	assert_non_null(c);
	diag_clear(&d);
	config_free(c);
	write_tenant("acme", NULL, NULL);

	/* The main file itself. */
	{
		const char	*text = "[broker]\ntenants_dir = tenants\n";

		write_file("samlbroker.conf", text, 0644);
		snprintf(path, sizeof(path), "%s/samlbroker.conf", dir);
		diag_init(&d);
		assert_null(config_load(path, &d));
		assert_non_null(strstr(d.lines[0], "samlbroker.conf: mode 0644 lets "
		    "other users read"));
		diag_clear(&d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_decide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_principal_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_principals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_krb5_principals, setup, teardown),
		cmocka_unit_test(test_option_table_documented),
		cmocka_unit_test_setup_teardown(test_option_table_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_private_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_file_modes, setup, teardown),
	};

	cert = fixture("cert.pem.b64");
	pkey = fixture("key.pem.enc.b64");
	pw = fixture("password");
	umask(077);
	/* Keys are loaded here (the front's binary cannot). */
	keystore_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
