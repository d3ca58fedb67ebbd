/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the samlbroker command line: dispatch to subcommands, `serve`'s
 * options, and the two commands that only load configuration (`check`,
 * `mint`).  It is in the library as samlbroker_main so that the installed
 * program (samlbroker.c) and the test-only one with a movable clock
 * (tests/samlbroker_testclock.c) run the same code.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"
#include "commands.h"
#include "config_load.h"

static void
usage_main(FILE *out)
{
	fprintf(out,
	    "usage: samlbroker COMMAND [options]\n"
	    "\n"
	    "commands:\n"
	    "  serve    run the broker (foreground)\n"
	    "  check    validate the configuration, tenants and keys\n"
	    "  mint     print a signed SAMLResponse for one agent\n"
	    "  token    fetch a token from a running broker\n"
	    "  status   show a running broker's status\n"
	    "  keygen   make a tenant's SAML certificate and encrypted key\n"
	    "  provision create the tenant's OAuth clients, grant its agent role's\n"
	    "           permissions, create or update its identity provider in PureCloud\n"
	    "  init     a tenant from nothing: its file, key, clients, roles, provider\n"
	    "  rollover replace a tenant's signing key: stage, activate, retire\n"
	    "\n"
	    "Run 'samlbroker COMMAND --help' for a command's options.\n"
	    "  -h, --help      this text\n"
	    "  -V, --version   print the version\n");
}

/* Who may get what, one line per rule of each tenant. */
static void
check_print_access(const struct broker_config *conf)
{
	for (size_t i = 0; i < conf->n_tenants; i++) {
		char	**lines;
		size_t	  n = access_describe(conf->tenants[i], &lines);

		for (size_t k = 0; k < n; k++) {
			printf("%s\n", lines[k]);
			free(lines[k]);
		}
		free(lines);
	}
}

/* Every [broker] option from the table: value, default, reload. */
static void
check_print_options(const struct broker_config *conf)
{
	const struct config_option	*opts;
	size_t				 n;
	char				 buf[2048];

	opts = config_options(&n);
	for (size_t i = 0; i < n; i++) {
		if (config_option_format(conf, &opts[i], buf, sizeof(buf)) == -1)
			snprintf(buf, sizeof(buf), "(too long)");
		printf("option %s = %s (default %s; %s)\n", opts[i].name, buf,
		    opts[i].def != NULL ? opts[i].def : "none",
		    opts[i].reload ? "a reload changes it" : "takes effect on restart");
	}
}

static int
cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "options",	no_argument,		NULL, 'o' },
		{ "online",	no_argument,		NULL, 'O' },
		{ "tenant",	required_argument,	NULL, 't' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*path = SAMLBROKER_DEFAULT_CONF, *tname = NULL, *user = NULL;
	struct broker_config	*conf;
	int			 ch, show_options = 0, online = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "c:ot:u:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			show_options = 1;
			break;
		case 'O':
			online = 1;
			break;
		case 't':
			tname = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'h':
			printf("usage: samlbroker check [-c FILE] [--options] [--online "
			    "[-t TENANT] [--user EMAIL]]\n"
			    "Loads the configuration, every tenant and its keys; prints one\n"
			    "line per tenant, one per access rule and 'configuration OK', or\n"
			    "every problem found.  --options also prints every [broker] option\n"
			    "with its value, default and whether a reload can change it.\n"
			    "--online then asks PureCloud, per tenant, what its troubleshooting\n"
			    "list names (one ok/warn/FAIL line per check; exit 1 on a FAIL);\n"
			    "--user also exchanges one assertion for EMAIL.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "samlbroker check: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!online && (tname != NULL || user != NULL)) {
		fprintf(stderr, "samlbroker check: -t and --user go with --online\n");
		return 2;
	}
	if ((conf = config_load_verbose(path)) == NULL)
		return 1;
	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant	*t = conf->tenants[i];
		char			 expiry[32];

		format_rfc3339(keystore_not_after(t->keys), expiry, sizeof(expiry));
		printf("tenant %s: organization=%s (%s) issuer=%s certificate=\"%s\" "
		    "expires=%s services=", t->name, t->organization_sname,
		    t->organization_id, t->issuer, keystore_subject(t->keys), expiry);
		for (size_t s = 0; s < t->n_services; s++)
			printf("%s%s", s > 0 ? "," : "", t->services[s].name);
		printf("%s rollover=%s", t->n_services == 0 ? "-" : "",
		    tenant_rollover_state(t));
		if (t->next_cert != NULL) {
			format_rfc3339(keystore_not_after(t->next_cert), expiry, sizeof(expiry));
			printf(" next_expires=%s", expiry);
		}
		printf("\n");
	}
	check_print_access(conf);
	if (show_options)
		check_print_options(conf);
	printf("configuration OK\n");
	if (online)
		rc = check_online(conf, tname, user);
	config_free(conf);
	return rc;
}

/* Mints one response and prints it: base64, or with --xml the signed XML. */
static int
mint_print(struct saml_signer *signer, const char *email, int xml)
{
	char	 err[256], *out = NULL;
	size_t	 outlen;
	double	 nooa;
	int	 rc;

	if (xml)
		rc = saml_mint_response(signer, email, clock_now(), &out, &outlen,
		    err, sizeof(err));
	else
		rc = saml_mint_response_b64(signer, email, clock_now(), &out, &nooa,
		    err, sizeof(err));
	if (rc == -1) {
		fprintf(stderr, "samlbroker mint: %s\n", err);
		return -1;
	}
	if (!xml)
		printf("%s\n", out);
	else {
		fwrite(out, 1, outlen, stdout);
		if (outlen > 0 && out[outlen - 1] != '\n')
			putchar('\n');
	}
	secret_free(out);
	return 0;
}

static int
cmd_mint(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "tenant",	required_argument,	NULL, 't' },
		{ "user",	required_argument,	NULL, 'u' },
		{ "xml",	no_argument,		NULL, 'x' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*path = SAMLBROKER_DEFAULT_CONF, *tname = NULL, *email = NULL;
	const char		*why;
	struct broker_config	*conf = NULL;
	struct saml_signer	*signer = NULL;
	struct tenant		*t;
	char			 err[256];
	int			 ch, xml = 0, rc = 1;

	while ((ch = getopt_long(argc, argv, "c:t:u:xh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			tname = optarg;
			break;
		case 'u':
			email = optarg;
			break;
		case 'x':
			xml = 1;
			break;
		case 'h':
			printf("usage: samlbroker mint [-c FILE] -t TENANT -u EMAIL [--xml]\n"
			    "Prints the base64 SAMLResponse (the 'assertion' form field of the\n"
			    "SAML2 Bearer grant) for one agent, or with --xml the signed XML.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (tname == NULL || email == NULL || optind != argc) {
		fprintf(stderr, "usage: samlbroker mint [-c FILE] -t TENANT -u EMAIL [--xml]\n");
		return 2;
	}
	if (email_validate(email, &why) == -1) {
		fprintf(stderr, "samlbroker mint: %s\n", why);
		return 1;
	}
	if ((conf = config_load_verbose(path)) == NULL)
		return 1;
	if ((t = config_tenant_find(conf, tname)) == NULL) {
		fprintf(stderr, "samlbroker mint: unknown tenant '%s'\n", tname);
		goto done;
	}
	if (saml_global_init() == -1) {
		fprintf(stderr, "samlbroker mint: cannot initialise xmlsec\n");
		goto done;
	}
	if ((signer = saml_signer_new(t, err, sizeof(err))) == NULL) {
		fprintf(stderr, "samlbroker mint: %s\n", err);
		goto shutdown;
	}
	if (mint_print(signer, email, xml) == -1)
		goto shutdown;
	rc = 0;
shutdown:
	saml_signer_free(signer);
	saml_global_shutdown();
done:
	config_free(conf);
	return rc;
}

static int
cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = SAMLBROKER_DEFAULT_CONF;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			printf("usage: samlbroker serve [-c FILE]\n"
			    "Runs the broker in the foreground; logs go to stderr.\n"
			    "SIGHUP reloads the configuration, SIGTERM stops.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "samlbroker serve: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return master_run(path, argc, argv);
}

static const struct command {
	const char	*name;
	int		(*fn)(int, char **);
} commands[] = {
	{ "check",	cmd_check },
	{ "mint",	cmd_mint },
	{ "keygen",	cmd_keygen },
	{ "serve",	cmd_serve },
	{ "token",	cmd_token },
	{ "status",	cmd_status },
	{ "signer",	signer_main },	/* hidden: started by serve's signer pool */
	{ "negotiator",	negotiator_main },	/* hidden: started by serve's master */
	{ "provision",	cmd_provision },
	{ "init",	cmd_init },
	{ "rollover",	cmd_rollover },
};

int
samlbroker_main(int argc, char **argv)
{
	const char	*known[sizeof(commands) / sizeof(commands[0]) + 1], *near;

	log_init(LOG_LEVEL_INFO, "samlbroker");
	if (argc < 2) {
		usage_main(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_main(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("samlbroker %s\n", PACKAGE_VERSION);
		return 0;
	}
	/* Keys are loaded by every command but keygen's reader: harden first. */
	process_harden();
	keystore_global_init();
	negotiator_global_init();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* getopt_long sees "samlbroker-CMD [options]". */
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		known[i] = commands[i].name;
	known[sizeof(commands) / sizeof(commands[0])] = NULL;
	if ((near = config_near_miss(argv[1], known)) != NULL &&
	    strcmp(near, "signer") != 0 && strcmp(near, "negotiator") != 0) {
		fprintf(stderr, "samlbroker: unknown command '%s'; did you mean %s?\n",
		    argv[1], near);
		return 2;
	}
	fprintf(stderr, "samlbroker: unknown command '%s'\n", argv[1]);
	usage_main(stderr);
	return 2;
}
