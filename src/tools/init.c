/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.c - `samlbroker init`: a tenant from nothing.  With an admin OAuth
 * client of the organization (Client Credentials; its id and the file of
 * its secret), it reads the organization (GET /api/v2/organizations/me:
 * id and thirdPartyOrgName), makes the key and certificate as keygen does,
 * writes the complete tenant file in the vendor's layout (the
 * hybrid_integration object's sections, inline key and password; mode
 * 0600, never over an existing file), then runs `provision`'s steps: the
 * OAuth clients, the roles, the identity provider.  Run again on an
 * existing tenant it rewrites nothing and says so.
 *
 * It loads only the main file of the configuration (tenants_dir, ca_file,
 * proxy, timeouts): the tenant does not exist yet.  No secret is printed.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "samlbroker.h"
#include "commands.h"
#include "config_load.h"

#define PROG		"samlbroker init"
#define DEFAULT_ISSUER	"https://www.genesys.com/pureengage"
#define DEFAULT_DAYS	3652
#define MAX_SERVICES	16

struct init_opts {
	const char	*conf;
	const char	*tenant;
	const char	*region;
	const char	*base_url;	/* instead of region: https://HOST[:PORT] */
	const char	*client_id;
	const char	*secret_file;
	const char	*issuer;
	const char	*audience;
	const char	*sso_target;
	const char	*roles;		/* oauth_roles of each service */
	const char	*services[MAX_SERVICES];
	size_t		 n_services;
	long		 days;
};

/* The organization as the admin client's token sees it. */
struct org {
	char	*id;
	char	*sname;
};

static int
org_read(const struct broker_config *conf, struct tenant *t, struct org *org)
{
	struct platform	*p;
	json_t		*me = NULL;
	const char	*id, *sname;
	char		 err[768] = "", *token = NULL;
	int		 ex;

	if ((p = platform_new(conf)) == NULL) {
		fprintf(stderr, PROG ": cannot initialise libcurl\n");
		return PROVISION_ERROR;
	}
	if ((ex = provision_admin_token(p, t, PROG, &token, err, sizeof(err))) !=
	    PROVISION_OK || (ex = provision_get(p, t, PROG, token,
	    "v2/organizations/me", false, &me, err, sizeof(err))) != PROVISION_OK)
		goto done;
	id = json_string_value(json_object_get(me, "id"));
	sname = json_string_value(json_object_get(me, "thirdPartyOrgName"));
	if (id == NULL || sname == NULL || name_validate(sname) == -1 ||
	    strlen(id) > 64 || strpbrk(id, " \t\r\n") != NULL) {
		snprintf(err, sizeof(err), "GET /api/v2/organizations/me: no usable id "
		    "and thirdPartyOrgName");
		ex = PROVISION_ERROR;
		goto done;
	}
	org->id = xstrdup(id);
	org->sname = xstrdup(sname);
	printf("organization %s (%s)\n", org->sname, org->id);
done:
	text_printable(err);
	if (ex != PROVISION_OK && err[0] != '\0')
		fprintf(stderr, PROG ": %s\n", err);
	json_decref(me);
	secret_free(token);
	platform_free(p);
	return ex;
}

/* base64 text on one line (the option value). */
static void
unwrap(char *s)
{
	char	*o = s;

	for (; *s != '\0'; s++)
		if (*s != '\n' && *s != '\r')
			*o++ = *s;
	*o = '\0';
}

/* A random key password, and a key and certificate as keygen makes them
 * (the password goes to keygen in memory: no file holds it but the tenant
 * file). */
static int
key_make(const struct init_opts *o, char **ret_pw, char **ret_cert, char **ret_key)
{
	unsigned char	 raw[24];
	char		 err[512], *pw;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		fprintf(stderr, PROG ": no random bytes\n");
		return -1;
	}
	pw = xmalloc(2 * sizeof(raw) + 2);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(pw + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (keygen_pair_make(o->issuer, o->days, pw, ret_cert, ret_key, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		secret_free(pw);
		return -1;
	}
	unwrap(*ret_cert);
	unwrap(*ret_key);
	*ret_pw = pw;
	return 0;
}

static void
put(struct secret_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct secret_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	if (secret_buf_add(b, s, (size_t)n, TENANT_FILE_MAX) == -1)
		fatalx("a tenant file over %d bytes", TENANT_FILE_MAX);
	secret_free(s);
}

/* The tenant file's text: the vendor's sections, clients to create. */
static void
text_make(const struct init_opts *o, const struct org *org, const char *secret_path,
    const char *pw, const char *cert, const char *key, struct secret_buf *b)
{
	put(b, "; hybrid_integration options of tenant %s, written by samlbroker init\n"
	    "[general]\norganization_sname = %s\norganization_id = %s\n"
	    "default_agent_role_name = employee\ndefault_admin_role_name = admin\n",
	    o->tenant, org->sname, org->id);
	if (o->region != NULL)
		put(b, "region = %s\n", o->region);
	else
		put(b, "base_auth_url = %s/oauth/token\nbase_service_url = %s/api/\n",
		    o->base_url, o->base_url);
	put(b, "\n[saml]\nissuer = %s\ncertificate = %s\npkey = %s\npassword = %s\n"
	    "expire_time = 24\n", o->issuer, cert, key, pw);
	if (o->audience != NULL)
		put(b, "audience = %s\nrecipient = %s\ndestination = %s\n", o->audience,
		    o->audience, o->audience);
	/* No client_id: provision creates the clients and writes them here. */
	put(b, "\n[saml_auth]\n");
	for (size_t i = 0; i < o->n_services; i++)
		put(b, "\n[%s]\noauth_roles = %s\n", o->services[i],
		    o->roles != NULL ? o->roles : "");
	put(b, "\n[provisioning]\nclient_id = %s\npassword = file:%s\n", o->client_id,
	    secret_path);
}

/* A new tenant's file; 0 or an exit status. */
static int
tenant_write(const struct init_opts *o, const struct broker_config *conf,
    const char *path)
{
	struct tenant		 t;
	struct org		 org = { NULL, NULL };
	struct secret_buf	 b = { NULL, 0, 0 };
	char			 secret_path[PATH_MAX], *secret = NULL, *pw = NULL;
	char			*cert = NULL, *key = NULL;
	const char		*why;
	size_t			 len;
	int			 ex = PROVISION_ERROR;

	memset(&t, 0, sizeof(t));
	if (realpath(o->secret_file, secret_path) == NULL ||
	    read_file_limited(secret_path, 4096, &secret, &len) == -1) {
		fprintf(stderr, PROG ": %s: %s\n", o->secret_file, strerror(errno));
		return PROVISION_ERROR;
	}
	secret[strcspn(secret, "\r\n")] = '\0';
	t.name = (char *)o->tenant;
	if (o->region != NULL) {
		t.base_auth_url = region_url(o->region, REGION_AUTH_URL);
		t.base_service_url = region_url(o->region, REGION_SERVICE_URL);
	} else {
		t.base_auth_url = path_join(o->base_url, "oauth/token");
		t.base_service_url = path_join(o->base_url, "api/");
	}
	if ((why = url_check_token_endpoint(t.base_auth_url)) != NULL) {
		fprintf(stderr, PROG ": --base-url: %s\n", why);
		goto done;
	}
	t.provisioning.client_id = (char *)o->client_id;
	t.provisioning.secret = secret;
	t.provisioning.secret_option = "password";
	if ((ex = org_read(conf, &t, &org)) != PROVISION_OK)
		goto done;
	ex = PROVISION_ERROR;
	if (key_make(o, &pw, &cert, &key) == -1)
		goto done;
	text_make(o, &org, secret_path, pw, cert, key, &b);
	if (file_write_new(path, 0600, b.data, b.len) == -1) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
		goto done;
	}
	/* The broker's user reads it ([broker] user, when root runs init). */
	if (conf->user_known && geteuid() == 0 &&
	    chown(path, conf->user_uid, conf->user_gid) == -1) {
		fprintf(stderr, PROG ": cannot give %s to %s: %s\n", path, conf->user,
		    strerror(errno));
		unlink(path);
		goto done;
	}
	printf("wrote %s (mode 0600): [general], [saml] with a new key (a %ld-day "
	    "certificate), [saml_auth]%s and [provisioning]\n", path, o->days,
	    o->n_services > 0 ? ", the services" : "");
	ex = PROVISION_OK;
done:
	secret_buf_clear(&b);
	free(t.base_auth_url);
	free(t.base_service_url);
	free(org.id);
	free(org.sname);
	free(cert);
	secret_free(key);
	secret_free(pw);
	secret_free(secret);
	return ex;
}

static int
init_run(const struct init_opts *o)
{
	struct broker_config	*conf;
	struct stat		 st;
	char			*path, name[300];
	int			 ex, changes = 0;
	bool			 existed;

	if ((conf = config_load_verbose_ext(o->conf, CONFIG_MAIN_ONLY)) == NULL)
		return PROVISION_ERROR;
	snprintf(name, sizeof(name), "%s.cfg", o->tenant);
	path = path_join(conf->tenants_dir, name);
	existed = lstat(path, &st) == 0;
	if (existed)
		printf("tenant %s: %s exists; it is not rewritten\n", o->tenant, path);
	ex = existed ? PROVISION_OK : tenant_write(o, conf, path);
	config_free(conf);
	free(path);
	if (ex != PROVISION_OK)
		return ex;
	if ((ex = provision_tenant(o->conf, o->tenant, o->sso_target, &changes)) !=
	    PROVISION_OK) {
		fprintf(stderr, PROG ": the tenant file is written; fix the above and run "
		    "samlbroker init (or provision) -t %s again\n", o->tenant);
		return ex;
	}
	if (existed && changes == 0)
		printf("no change: tenant %s is set up already\n", o->tenant);
	else
		printf("tenant %s is set up: start (or reload) the broker\n", o->tenant);
	return PROVISION_OK;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: samlbroker init [-c FILE] -t TENANT (--region DOMAIN | --base-url URL)\n"
	    "           --client-id ID --client-secret-file FILE [--issuer URI]\n"
	    "           [--service NAME]... [--oauth-roles ROLES] [--audience URI]\n"
	    "           [--sso-target URI] [--days N]\n"
	    "A tenant from nothing: reads the organization with the admin client,\n"
	    "makes the key and certificate, writes tenants_dir/TENANT.cfg (0600),\n"
	    "then creates the OAuth clients, grants the agent role's permissions and\n"
	    "creates the identity provider (as provision).  On an existing tenant it\n"
	    "rewrites nothing.\n"
	    "  -c, --config FILE          the broker's configuration\n"
	    "  -t, --tenant TENANT        the tenant (its file's name)\n"
	    "      --region DOMAIN        the PureCloud region (mypurecloud.ie, ...)\n"
	    "      --base-url URL         instead: the platform's https://HOST[:PORT]\n"
	    "                             (the emulator)\n"
	    "      --client-id ID         the admin Client Credentials client\n"
	    "      --client-secret-file F its secret (the tenant file names this file)\n"
	    "      --issuer URI           [saml] issuer (default " DEFAULT_ISSUER ")\n"
	    "      --service NAME         a service section whose client to create\n"
	    "      --oauth-roles ROLES    the services' clients' roles (oauth_roles)\n"
	    "      --audience URI         [saml] audience, recipient and destination\n"
	    "      --sso-target URI       ssoTargetURI (default https://apps.DOMAIN)\n"
	    "      --days N               the certificate's life (default %d)\n"
	    "Exit status as provision's.\n", DEFAULT_DAYS);
}

/* The options into o; -1, or an exit status. */
static int
opts_parse(int argc, char **argv, struct init_opts *o)
{
	enum { OPT_REGION = 256, OPT_BASE, OPT_ID, OPT_SECRET, OPT_ISSUER, OPT_SERVICE,
		OPT_ROLES, OPT_AUD, OPT_SSO, OPT_DAYS };
	static const struct option longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "tenant",		required_argument,	NULL, 't' },
		{ "region",		required_argument,	NULL, OPT_REGION },
		{ "base-url",		required_argument,	NULL, OPT_BASE },
		{ "client-id",		required_argument,	NULL, OPT_ID },
		{ "client-secret-file",	required_argument,	NULL, OPT_SECRET },
		{ "issuer",		required_argument,	NULL, OPT_ISSUER },
		{ "service",		required_argument,	NULL, OPT_SERVICE },
		{ "oauth-roles",	required_argument,	NULL, OPT_ROLES },
		{ "audience",		required_argument,	NULL, OPT_AUD },
		{ "sso-target",		required_argument,	NULL, OPT_SSO },
		{ "days",		required_argument,	NULL, OPT_DAYS },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char	*end;
	int	 ch;

	while ((ch = getopt_long(argc, argv, "c:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf = optarg; break;
		case 't': o->tenant = optarg; break;
		case OPT_REGION: o->region = optarg; break;
		case OPT_BASE: o->base_url = optarg; break;
		case OPT_ID: o->client_id = optarg; break;
		case OPT_SECRET: o->secret_file = optarg; break;
		case OPT_ISSUER: o->issuer = optarg; break;
		case OPT_ROLES: o->roles = optarg; break;
		case OPT_AUD: o->audience = optarg; break;
		case OPT_SSO: o->sso_target = optarg; break;
		case OPT_SERVICE:
			if (o->n_services == MAX_SERVICES || name_validate(optarg) == -1 ||
			    config_section_reserved(optarg)) {
				fprintf(stderr, PROG ": --service %s: not a service section "
				    "name (or more than %d)\n", optarg, MAX_SERVICES);
				return PROVISION_USAGE;
			}
			o->services[o->n_services++] = optarg;
			break;
		case OPT_DAYS:
			errno = 0;
			o->days = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->days < 1 || o->days > 36500) {
				fprintf(stderr, PROG ": --days must be 1 to 36500\n");
				return PROVISION_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return PROVISION_USAGE;
		}
	}
	if (optind != argc || o->tenant == NULL || o->client_id == NULL ||
	    o->secret_file == NULL || (o->region == NULL) == (o->base_url == NULL)) {
		usage(stderr);
		return PROVISION_USAGE;
	}
	return -1;
}

int
cmd_init(int argc, char **argv)
{
	struct init_opts	 o = { .conf = SAMLBROKER_DEFAULT_CONF, .issuer = DEFAULT_ISSUER,
				    .days = DEFAULT_DAYS };
	const char		*r;
	int			 ex;

	if ((ex = opts_parse(argc, argv, &o)) != -1)
		return ex;
	if (name_validate(o.tenant) == -1) {
		fprintf(stderr, PROG ": -t %s: not a tenant name (letters, digits, '.', "
		    "'_' and '-', no leading dot)\n", o.tenant);
		return PROVISION_USAGE;
	}
	if (o.region != NULL) {
		if ((r = region_find(o.region)) == NULL) {
			fprintf(stderr, PROG ": --region %s is not a PureCloud region's domain "
			    "(mypurecloud.com, mypurecloud.ie, ...)\n", o.region);
			return PROVISION_USAGE;
		}
		o.region = r;
	} else if (strpbrk(o.base_url, " \t\r\n") != NULL ||
	    o.base_url[strlen(o.base_url) - 1] == '/') {
		fprintf(stderr, PROG ": --base-url is https://HOST[:PORT], without a "
		    "trailing /\n");
		return PROVISION_USAGE;
	}
	if (strpbrk(o.client_id, " \t\r\n") != NULL || (o.audience != NULL &&
	    strpbrk(o.audience, " \t\r\n") != NULL) || (o.roles != NULL &&
	    strpbrk(o.roles, "\r\n") != NULL) || strpbrk(o.issuer, " \t\r\n") != NULL) {
		fprintf(stderr, PROG ": an option's value holds a space or a line break\n");
		return PROVISION_USAGE;
	}
	return init_run(&o);
}
