/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rollover.c - `samlbroker rollover stage|activate|retire`: a tenant's
 * signing key replaced without a failed exchange, in three idempotent
 * steps.
 *
 *   stage     the next key ([saml] next_certificate, next_pkey,
 *             next_password) is made (or taken from the admin's files) and
 *             written into the tenant file; the identity provider publishes
 *             both certificates (certificate = current, certificates =
 *             [current, next]).  The broker still signs with the current key.
 *   activate  once the platform lists the next certificate, the tenant
 *             file's certificate/pkey/password become the next ones and
 *             previous_certificate (and previous_pkey, for a file: key) the
 *             old; the broker signs with the new key after its reload.
 *   retire    the identity provider keeps the current certificate only; the
 *             tenant file loses previous_*; the old key's file is
 *             overwritten with zeros and removed.
 *
 * The tenant file is rewritten in place of its [saml] options only (every
 * other byte kept) by tenant_file.c.  The
 * identity provider is written through provision.c.  It owns no daemon
 * state: the running broker learns of a change by its reload (SIGHUP).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "samlbroker.h"
#include "commands.h"
#include "config_load.h"

#define PROG		"samlbroker rollover"
#define DEFAULT_DAYS	3652

/*
 * The command.
 */

struct rollover_opts {
	const char	*conf;
	const char	*tenant;
	const char	*cert;		/* stage: the admin's files */
	const char	*key;
	const char	*password_file;
	const char	*out;		/* stage: where the made key goes */
	const char	*pid_file;	/* activate --reload */
	long		 days;
	bool		 dry_run;
	bool		 reload;
};

/* The [saml] option's value as written in the tenant file (a copy), or NULL. */
static char *
option_raw(const char *buf, size_t len, const char *name)
{
	return tenant_file_option(buf, len, "saml", name);
}

/* The tenant file's [saml] edited (tenant_file_edit). */
static int
saml_edit(const char *conf, const struct tenant *t, const struct tenant_edit *edits,
    size_t n, bool dry_run)
{
	return tenant_file_edit(conf, t, PROG, edits, n, dry_run ? TENANT_FILE_DRY_RUN : 0,
	    0);
}

/* A certificate's body (the identity provider's form). */
static char *
cert_body(const struct keystore *ks)
{
	return x509_pem_body(keystore_cert_pem(ks), true);
}

/* Where stage puts a key it makes: --out, else the directory of the
 * current key's file, else the tenant file's. */
static char *
key_dir(const struct rollover_opts *o, const struct tenant *t, const char *pkey_raw)
{
	char	*copy, *dir;

	if (o->out != NULL)
		return xstrdup(o->out);
	copy = xstrdup(t->file);
	dir = xstrdup(dirname(copy));
	free(copy);
	if (pkey_raw != NULL && strncmp(pkey_raw, "file:", 5) == 0 && pkey_raw[5] != '\0') {
		/* Relative to the tenant file's directory, as the loader reads it. */
		char *key = config_path_relative(t->file, pkey_raw + 5);

		free(dir);
		dir = xstrdup(dirname(key));
		free(key);
	}
	return dir;
}

/* Writes a made key's two files, owned like the tenant file. */
static int
key_files_write(const struct tenant *t, const char *cert_path, const char *cert_b64,
    const char *key_path, const char *key_b64)
{
	struct stat	 st;

	if (stat(t->file, &st) == -1) {
		fprintf(stderr, PROG ": %s: %s\n", t->file, strerror(errno));
		return -1;
	}
	if (file_write_new(cert_path, 0600, cert_b64, strlen(cert_b64)) == -1) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", cert_path, strerror(errno));
		return -1;
	}
	if (file_write_new(key_path, 0600, key_b64, strlen(key_b64)) == -1) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", key_path, strerror(errno));
		unlink(cert_path);
		return -1;
	}
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    (chown(cert_path, st.st_uid, st.st_gid) == -1 ||
	    chown(key_path, st.st_uid, st.st_gid) == -1)) {
		fprintf(stderr, PROG ": cannot give %s and %s the tenant file's owner: %s\n",
		    cert_path, key_path, strerror(errno));
		unlink(cert_path);
		unlink(key_path);
		return -1;
	}
	return 0;
}

static char *
file_value(const char *path)
{
	size_t	 n = strlen(path) + 6;
	char	*v = xmalloc(n);

	snprintf(v, n, "file:%s", path);
	return v;
}

static char *
abs_path(const char *p)
{
	char	 buf[PATH_MAX];

	if (realpath(p, buf) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", p, strerror(errno));
		return NULL;
	}
	return xstrdup(buf);
}

/* The next key's files: their paths, and the certificate loaded. */
struct next_key {
	char		*cert_path;
	char		*key_path;
	struct keystore	*ks;	/* certificate only, or with the key */
	bool		 made;	/* by this run: removed if the stage fails */
};

static void
next_key_clear(struct next_key *nk)
{
	free(nk->cert_path);
	free(nk->key_path);
	keystore_free(nk->ks);
}

/* --cert and --key: the admin's files, checked against each other. */
static int
next_key_take(const struct rollover_opts *o, const struct tenant *t, const char *pw_path,
    struct next_key *nk)
{
	char	 err[512], *c = NULL, *k = NULL, *pw = NULL;
	size_t	 cl, kl, pl;
	int	 rc = -1;

	if ((nk->cert_path = abs_path(o->cert)) == NULL ||
	    (nk->key_path = abs_path(o->key)) == NULL)
		return -1;
	if (read_file_limited(nk->cert_path, 65536, &c, &cl) == -1 ||
	    read_file_limited(nk->key_path, 65536, &k, &kl) == -1 ||
	    read_file_limited(pw_path, 4096, &pw, &pl) == -1) {
		fprintf(stderr, PROG ": cannot read --cert, --key or --password-file: %s\n",
		    strerror(errno));
		goto done;
	}
	pw[strcspn(pw, "\r\n")] = '\0';
	/* keystore_load wipes the password. */
	if ((nk->ks = keystore_load(c, k, pw, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": the next key: %s\n", err);
		goto done;
	}
	printf("tenant %s: next key from %s (SHA-256 %s)\n", t->name, nk->key_path,
	    keystore_fingerprint(nk->ks));
	rc = 0;
done:
	free(c);
	secret_free(k);
	secret_free(pw);
	return rc;
}

/* A new key as keygen makes it, as TENANT-STAMP.{cert,key}.b64 in the key
 * directory; with dry_run only the paths. */
static int
next_key_make(const struct rollover_opts *o, const struct tenant *t, const char *pw_path,
    struct next_key *nk)
{
	char	 err[512], stamp[32], name[300], *buf = NULL, *pkey_raw = NULL, *dir;
	char	*cert_b64 = NULL, *key_b64 = NULL;
	size_t	 len = 0;
	time_t	 now = time(NULL);
	int	 rc = -1;

	if (read_file_limited(t->file, TENANT_FILE_MAX, &buf, &len) == 0)
		pkey_raw = option_raw(buf, len, "pkey");
	dir = key_dir(o, t, pkey_raw);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
	snprintf(name, sizeof(name), "%s-%s.cert.b64", t->name, stamp);
	nk->cert_path = path_join(dir, name);
	snprintf(name, sizeof(name), "%s-%s.key.b64", t->name, stamp);
	nk->key_path = path_join(dir, name);
	if (o->dry_run) {
		printf("tenant %s: would make a %ld-day key and certificate as %s and %s\n",
		    t->name, o->days, nk->cert_path, nk->key_path);
		rc = 0;
		goto done;
	}
	if (keygen_pair_new(t->issuer, o->days, pw_path, &cert_b64, &key_b64, err,
	    sizeof(err)) == -1 ||
	    (nk->ks = keystore_load(cert_b64, NULL, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		goto done;
	}
	if (key_files_write(t, nk->cert_path, cert_b64, nk->key_path, key_b64) == -1)
		goto done;
	nk->made = true;
	printf("tenant %s: made the next key %s and certificate %s (SHA-256 %s)\n",
	    t->name, nk->key_path, nk->cert_path, keystore_fingerprint(nk->ks));
	rc = 0;
done:
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	secret_free(pkey_raw);
	free(dir);
	free(cert_b64);
	secret_free(key_b64);
	return rc;
}

/* Publishes [current, next] and says what comes next. */
static int
stage_publish(const struct rollover_opts *o, const struct broker_config *conf,
    const struct tenant *t, const struct keystore *next)
{
	char	*bodies[2] = { cert_body(t->keys), cert_body(next) };
	bool	 changed;
	int	 ex;

	ex = provision_certificates(conf, t, PROG, PROVISION_PUBLISH,
	    (const char *const *)bodies, 2, o->dry_run, &changed);
	if (ex == 0 && o->dry_run)
		printf("dry run: nothing written\n");
	else if (ex == 0)
		printf("staged: the broker still signs with the current key; when "
		    "check --online lists the next certificate, run rollover activate "
		    "-t %s\n", t->name);
	free(bodies[0]);
	free(bodies[1]);
	return ex;
}

static int
stage(const struct rollover_opts *o, const struct broker_config *conf,
    const struct tenant *t)
{
	struct next_key		 nk = { NULL, NULL, NULL, false };
	struct tenant_edit	 edits[3];
	char			*pw_path = NULL, *vc = NULL, *vk = NULL, *vp = NULL, err[512];
	int			 ex = 1;

	if (t->previous_cert != NULL) {
		fprintf(stderr, PROG ": tenant %s still publishes its previous "
		    "certificate: run rollover retire -t %s first\n", t->name, t->name);
		return 1;
	}
	if (t->next_cert != NULL) {
		printf("tenant %s: a next key is staged already (SHA-256 %s); nothing "
		    "to change in %s\n", t->name, keystore_fingerprint(t->next_cert), t->file);
		return stage_publish(o, conf, t, t->next_cert);
	}
	if ((o->cert != NULL) != (o->key != NULL)) {
		fprintf(stderr, PROG ": --cert and --key go together (with --password-file)\n");
		return 2;
	}
	if (o->password_file == NULL) {
		fprintf(stderr, PROG ": stage needs --password-file FILE: the next key's "
		    "password%s\n", o->cert != NULL ? "" : " (the key is encrypted with it)");
		return 2;
	}
	if ((pw_path = abs_path(o->password_file)) == NULL ||
	    (o->cert != NULL ? next_key_take(o, t, pw_path, &nk) :
	    next_key_make(o, t, pw_path, &nk)) == -1)
		goto done;
	edits[0] = (struct tenant_edit){ "saml", "next_certificate", vc = file_value(nk.cert_path) };
	edits[1] = (struct tenant_edit){ "saml", "next_pkey", vk = file_value(nk.key_path) };
	edits[2] = (struct tenant_edit){ "saml", "next_password", vp = file_value(pw_path) };
	if (saml_edit(o->conf, t, edits, 3, o->dry_run) == -1) {
		/* A key made for nothing does not stay on disk. */
		if (nk.made && (tenant_file_wipe(nk.key_path, err, sizeof(err)) == -1 ||
		    unlink(nk.cert_path) == -1))
			fprintf(stderr, PROG ": cannot remove %s or %s\n", nk.key_path,
			    nk.cert_path);
		goto done;
	}
	if (nk.ks == NULL) {	/* a dry run that made no key */
		printf("dry run: nothing written; the identity provider would publish "
		    "the current and the next certificate\n");
		ex = 0;
		goto done;
	}
	ex = stage_publish(o, conf, t, nk.ks);
done:
	next_key_clear(&nk);
	free(pw_path);
	free(vc);
	free(vk);
	free(vp);
	return ex;
}

/* The tenant file with the next key as the current one and the old
 * certificate (and key file) as the previous. */
static int
activate_edit(const struct rollover_opts *o, const struct tenant *t)
{
	static const char *const names[] = { "next_certificate", "next_pkey",
	    "next_password", "certificate", "pkey" };
	struct tenant_edit	 edits[8];
	char			*buf = NULL, *v[5] = { NULL };
	size_t			 len, n = 0;
	int			 rc = -1;

	if (read_file_limited(t->file, TENANT_FILE_MAX, &buf, &len) == -1) {
		fprintf(stderr, PROG ": cannot read %s: %s\n", t->file, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < 5; i++)
		if ((v[i] = option_raw(buf, len, names[i])) == NULL) {
			fprintf(stderr, PROG ": %s changed since it was loaded\n", t->file);
			goto done;
		}
	edits[n++] = (struct tenant_edit){ "saml", "certificate", v[0] };
	edits[n++] = (struct tenant_edit){ "saml", "pkey", v[1] };
	edits[n++] = (struct tenant_edit){ "saml", "password", v[2] };
	edits[n++] = (struct tenant_edit){ "saml", "previous_certificate", v[3] };
	if (strncmp(v[4], "file:", 5) == 0)
		edits[n++] = (struct tenant_edit){ "saml", "previous_pkey", v[4] };
	edits[n++] = (struct tenant_edit){ "saml", "next_certificate", NULL };
	edits[n++] = (struct tenant_edit){ "saml", "next_pkey", NULL };
	edits[n++] = (struct tenant_edit){ "saml", "next_password", NULL };
	rc = saml_edit(o->conf, t, edits, n, o->dry_run);
done:
	OPENSSL_cleanse(buf, len);
	free(buf);
	for (size_t i = 0; i < 5; i++)
		secret_free(v[i]);	/* a pkey or password may be inline */
	return rc;
}

static int
activate(const struct rollover_opts *o, const struct broker_config *conf,
    const struct tenant *t)
{
	char	*body;
	bool	 listed;
	int	 ex;

	if (t->next_cert == NULL) {
		if (t->previous_cert != NULL) {
			printf("tenant %s: activated already (signs with SHA-256 %s); "
			    "nothing to do\n", t->name, keystore_fingerprint(t->keys));
			return 0;
		}
		fprintf(stderr, PROG ": tenant %s has no next key: run rollover stage "
		    "-t %s first\n", t->name, t->name);
		return 1;
	}
	if (t->previous_cert != NULL) {
		fprintf(stderr, PROG ": tenant %s still publishes its previous "
		    "certificate: run rollover retire -t %s first\n", t->name, t->name);
		return 1;
	}
	body = cert_body(t->next_cert);
	ex = provision_certificates(conf, t, PROG, PROVISION_LISTS,
	    (const char *const *)&body, 1, false, &listed);
	free(body);
	if (ex != PROVISION_OK)
		return ex;
	if (!listed) {
		fprintf(stderr, PROG ": the identity provider does not list the next "
		    "certificate (SHA-256 %s): activating now would fail every exchange; "
		    "run rollover stage -t %s\n", keystore_fingerprint(t->next_cert), t->name);
		return 1;
	}
	printf("tenant %s: the identity provider lists the next certificate (SHA-256 "
	    "%s)\n", t->name, keystore_fingerprint(t->next_cert));
	if (activate_edit(o, t) == -1)
		return 1;
	if (o->dry_run) {
		printf("dry run: nothing written\n");
		return 0;
	}
	printf("activated: %s names the new key; the old certificate stays published "
	    "until rollover retire\n", t->file);
	if (o->reload)
		return tenant_file_reload(PROG, o->pid_file) == 0 ? 0 : 1;
	printf("reload the broker now so that it signs with the new key "
	    "(systemctl reload samlbroker, or SIGHUP); cached tokens are kept\n");
	return 0;
}

static int
retire(const struct rollover_opts *o, const struct broker_config *conf,
    const struct tenant *t)
{
	struct tenant_edit	 edits[2] = { { "saml", "previous_certificate", NULL },
				    { "saml", "previous_pkey", NULL } };
	char			*body = NULL, err[PATH_MAX + 256];
	bool			 changed;
	int			 ex = 1, wiped;

	if (t->next_cert != NULL) {
		fprintf(stderr, PROG ": tenant %s has a next key staged: activate it "
		    "first (retiring now would unpublish it)\n", t->name);
		return 1;
	}
	if (t->previous_cert == NULL) {
		printf("tenant %s: no previous certificate; nothing to retire\n", t->name);
		return 0;
	}
	body = cert_body(t->keys);
	if ((ex = provision_certificates(conf, t, PROG, PROVISION_PUBLISH,
	    (const char *const *)&body, 1, o->dry_run, &changed)) != PROVISION_OK)
		goto done;
	ex = 1;
	if (saml_edit(o->conf, t, edits, 2, o->dry_run) == -1)
		goto done;
	if (t->previous_pkey != NULL) {
		if (o->dry_run)
			printf(access(t->previous_pkey, F_OK) == -1 && errno == ENOENT ?
			    "  %s is gone already (nothing to wipe)\n" :
			    "  would overwrite with zeros and remove %s\n",
			    t->previous_pkey);
		else if ((wiped = tenant_file_wipe(t->previous_pkey, err,
		    sizeof(err))) == -1) {
			fprintf(stderr, PROG ": the old key: %s\n", err);
			goto done;
		} else if (wiped == 1)
			printf("  %s is gone already (nothing to wipe)\n",
			    t->previous_pkey);
		else
			printf("  overwrote with zeros and removed %s\n", t->previous_pkey);
	} else
		printf("  the old key was not a file: of its own (nothing to wipe)\n");
	printf(o->dry_run ? "dry run: nothing written\n" : "retired: the identity "
	    "provider publishes the current certificate only\n");
	ex = 0;
done:
	free(body);
	return ex;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: samlbroker rollover stage -t TENANT [-c FILE] [--dry-run]\n"
	    "           --password-file FILE [--cert FILE --key FILE | --out DIR] [--days N]\n"
	    "       samlbroker rollover activate -t TENANT [-c FILE] [--dry-run]\n"
	    "           [--reload [--pid-file FILE]]\n"
	    "       samlbroker rollover retire -t TENANT [-c FILE] [--dry-run]\n"
	    "Replaces a tenant's signing key without a failed exchange:\n"
	    "  stage     the next key into [saml] next_*, both certificates published\n"
	    "  activate  the next key signs (after the broker's reload)\n"
	    "  retire    the old certificate unpublished, the old key file wiped\n"
	    "  -c, --config FILE      the broker's configuration\n"
	    "  -t, --tenant TENANT    the tenant\n"
	    "  -n, --dry-run          print what would change, change nothing\n"
	    "      --password-file F  stage: the next key's password (one line)\n"
	    "      --cert F, --key F  stage: the admin's cert.pem.b64 and key.pem.enc.b64\n"
	    "      --out DIR          stage: where to make the key (default: beside the\n"
	    "                         current key's file, or the tenant file)\n"
	    "      --days N           stage: the made certificate's life (default %d)\n"
	    "      --reload           activate: reload the broker (systemctl reload\n"
	    "                         samlbroker, or SIGHUP to --pid-file's process)\n"
	    "Exit status: 0 done or nothing to do, 1 error, 2 usage, 3 credentials or\n"
	    "permissions refused, 4 PureCloud unreachable or unavailable.\n",
	    DEFAULT_DAYS);
}

enum { OPT_CERT = 256, OPT_KEY, OPT_PW, OPT_OUT, OPT_DAYS, OPT_RELOAD, OPT_PID };
static const struct option longopts[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "tenant",		required_argument,	NULL, 't' },
	{ "dry-run",		no_argument,		NULL, 'n' },
	{ "cert",		required_argument,	NULL, OPT_CERT },
	{ "key",		required_argument,	NULL, OPT_KEY },
	{ "password-file",	required_argument,	NULL, OPT_PW },
	{ "out",		required_argument,	NULL, OPT_OUT },
	{ "days",		required_argument,	NULL, OPT_DAYS },
	{ "reload",		no_argument,		NULL, OPT_RELOAD },
	{ "pid-file",		required_argument,	NULL, OPT_PID },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The options after the step's name into o; -1, or an exit status. */
static int
opts_parse(int argc, char **argv, const char *step, struct rollover_opts *o)
{
	char			*end;
	int			 ch;

	while ((ch = getopt_long(argc, argv, "c:t:nh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
			break;
		case 't':
			o->tenant = optarg;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_PW:
			o->password_file = optarg;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case OPT_DAYS:
			errno = 0;
			o->days = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || o->days < 1 || o->days > 36500) {
				fprintf(stderr, PROG ": --days must be 1 to 36500\n");
				return 2;
			}
			break;
		case OPT_RELOAD:
			o->reload = true;
			break;
		case OPT_PID:
			o->pid_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || o->tenant == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(step, "stage") != 0 && (o->cert != NULL || o->key != NULL ||
	    o->password_file != NULL || o->out != NULL)) {
		fprintf(stderr, PROG ": --cert, --key, --password-file and --out go with "
		    "stage\n");
		return 2;
	}
	if ((o->reload || o->pid_file != NULL) && strcmp(step, "activate") != 0) {
		fprintf(stderr, PROG ": --reload and --pid-file go with activate\n");
		return 2;
	}
	if (o->pid_file != NULL && !o->reload) {
		fprintf(stderr, PROG ": --pid-file goes with --reload\n");
		return 2;
	}
	return -1;
}

int
cmd_rollover(int argc, char **argv)
{
	struct rollover_opts	 o = { .conf = SAMLBROKER_DEFAULT_CONF, .days = DEFAULT_DAYS };
	struct broker_config	*conf;
	const struct tenant	*t;
	const char		*step;
	int			 ex;

	if (argc < 2 || argv[1][0] == '-') {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	step = argv[1];
	if (strcmp(step, "stage") != 0 && strcmp(step, "activate") != 0 &&
	    strcmp(step, "retire") != 0) {
		fprintf(stderr, PROG ": unknown step '%s' (stage, activate or retire)\n",
		    step);
		return 2;
	}
	if ((ex = opts_parse(argc - 1, argv + 1, step, &o)) != -1)
		return ex;
	if ((conf = config_load_verbose(o.conf)) == NULL)
		return 1;
	if ((t = config_tenant_find(conf, o.tenant)) == NULL) {
		fprintf(stderr, PROG ": unknown tenant '%s'\n", o.tenant);
		config_free(conf);
		return 1;
	}
	if (strcmp(step, "stage") == 0)
		ex = stage(&o, conf, t);
	else if (strcmp(step, "activate") == 0)
		ex = activate(&o, conf, t);
	else
		ex = retire(&o, conf, t);
	config_free(conf);
	return ex;
}
