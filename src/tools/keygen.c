/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keygen.c - the `samlbroker keygen` command: makes a tenant's SAML
 * signing key and self-signed certificate, in the shapes the vendor's
 * openssl steps produce (PURECLOUD.md), plus a ready-to-paste [saml]
 * section and, on stdout, the certificate body the PureCloud identity
 * provider record wants.
 *
 * It owns nothing the daemon uses at run time; it reads the password from
 * a file or the environment, never from the command line, and checks what
 * it wrote by loading it back through keystore_load().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "samlbroker.h"
#include "commands.h"

#define PASSWORD_ENV		"SAMLBROKER_KEY_PASSWORD"
#define PASSWORD_MIN_LEN	8
#define PASSWORD_FILE_MAX	4096
#define DEFAULT_DAYS		3652	/* as the vendor's steps */
#define MAX_DAYS		36500
#define DEFAULT_BITS		2048
#define MIN_BITS		2048
#define MAX_BITS		8192
#define CN_MAX_LEN		64	/* ub-common-name */

/* The SAML certificate's extensions: an end-entity signing certificate. */
static const struct x509_ext cert_exts[] = {
	{ NID_basic_constraints,	"critical,CA:FALSE" },
	{ NID_key_usage,		"critical,digitalSignature" },
	{ NID_subject_key_identifier,	"hash" },
};

/* What is written, in this order; the index names each file below. */
enum { F_CERT, F_KEY, F_CERT_B64, F_KEY_B64, F_SECTION, F_COUNT };
static const struct {
	const char	*name;
	mode_t		 mode;
} files[F_COUNT] = {
	{ "cert.pem",		0644 },
	{ "key.pem.enc",	0600 },
	{ "cert.pem.b64",	0644 },
	{ "key.pem.enc.b64",	0600 },
	{ "saml-section.cfg",	0600 },
};

struct keygen_opts {
	const char	*out;
	const char	*issuer;
	const char	*subject;
	const char	*password_file;
	long		 days;
	long		 bits;
	int		 force;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: samlbroker keygen --out DIR --issuer URI [--days N] [--bits N]\n"
	    "           [--subject DN] [--password-file FILE] [--force]\n"
	    "\n"
	    "Makes a tenant's SAML signing key and self-signed certificate.  Writes in\n"
	    "DIR (created with mode 0700 if missing):\n"
	    "  cert.pem          the certificate (X.509 v3, SHA-256, random serial)\n"
	    "  key.pem.enc       the RSA key, PKCS#8 encrypted with AES-256-CBC (0600)\n"
	    "  cert.pem.b64      base64 of cert.pem, wrapped like openssl base64\n"
	    "  key.pem.enc.b64   base64 of key.pem.enc (0600)\n"
	    "  saml-section.cfg  a [saml] section to paste into the tenant's file (0600)\n"
	    "and prints on stdout the certificate body (the PEM text without its\n"
	    "BEGIN and END lines), as the PureCloud identity provider's 'certificate'\n"
	    "field wants it.\n"
	    "\n"
	    "The key's password is the one line of --password-file (a final newline\n"
	    "is ignored), or else the value of the environment variable\n"
	    PASSWORD_ENV "; it is never taken from the command line and must\n"
	    "have at least %d characters.  saml-section.cfg names it as\n"
	    "password = file:<absolute path of FILE>, or env:" PASSWORD_ENV ".\n"
	    "Files that exist already are replaced only with --force.\n"
	    "\n"
	    "options:\n"
	    "  -o, --out DIR             where to write the files (required)\n"
	    "  -i, --issuer URI          the SAML issuer, e.g. https://www.genesys.com/pureengage\n"
	    "                            (required; must equal the identity provider's issuerURI)\n"
	    "  -d, --days N              certificate lifetime in days (default %d)\n"
	    "  -b, --bits N              RSA key size, %d to %d (default %d)\n"
	    "      --subject DN          certificate subject, \"CN=name,O=org\" or \"/CN=name/O=org\"\n"
	    "                            (default CN=<host of the issuer>)\n"
	    "      --password-file FILE  read the key's password from FILE (no short\n"
	    "                            form, so that -p SECRET is refused, not read)\n"
	    "  -f, --force               replace files that exist already\n"
	    "  -h, --help                this text\n"
	    "\n"
	    "Exit status: 0 done, 1 error, 2 usage error.\n",
	    PASSWORD_MIN_LEN, DEFAULT_DAYS, MIN_BITS, MAX_BITS, DEFAULT_BITS);
}

static int
parse_long(const char *s, long min, long max, long *ret)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

/* The key's password: first line of the file, or the environment. */
static int
password_get(const char *path, char **ret, char *err, size_t errlen)
{
	const char	*env;
	char		*buf = NULL, *pw;
	size_t		 len, n;

	if (path != NULL) {
		if (read_file_limited(path, PASSWORD_FILE_MAX, &buf, &len) == -1) {
			snprintf(err, errlen, "cannot read password file %s: %s",
			    path, strerror(errno));
			return -1;
		}
		/* One line, as the configuration's file: secrets must be. */
		n = strcspn(buf, "\n");
		if (n + 1 < len) {
			OPENSSL_cleanse(buf, len);
			free(buf);
			snprintf(err, errlen, "password file %s holds more than one line",
			    path);
			return -1;
		}
		if (n > 0 && buf[n - 1] == '\r')
			n--;
		pw = xstrndup(buf, n);
		OPENSSL_cleanse(buf, len);
		free(buf);
	} else if ((env = getenv(PASSWORD_ENV)) != NULL) {
		pw = xstrdup(env);
	} else {
		snprintf(err, errlen, "no password: give --password-file FILE or set "
		    PASSWORD_ENV);
		return -1;
	}
	if (pw[0] == '\0') {
		snprintf(err, errlen, "the password is empty");
		secret_free(pw);
		return -1;
	}
	if (strlen(pw) < PASSWORD_MIN_LEN) {
		snprintf(err, errlen, "the password is shorter than %d characters",
		    PASSWORD_MIN_LEN);
		secret_free(pw);
		return -1;
	}
	*ret = pw;
	return 0;
}

/* An issuer is a URI: a scheme, ':', and no spaces or control characters. */
static int
issuer_valid(const char *s)
{
	const char	*p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return 0;
	for (; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	}
	return 1;
}

/* "CN=<host of the issuer>", or "CN=samlbroker" when it has none. */
static char *
default_subject(const char *issuer)
{
	const char	*p, *end;
	char		*s;
	size_t		 n;

	if ((p = strstr(issuer, "://")) == NULL)
		return xstrdup("CN=samlbroker");
	p += 3;
	end = p + strcspn(p, "/?#");
	for (const char *at = p; at < end; at++)	/* userinfo@host */
		if (*at == '@')
			p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close == NULL)
			return xstrdup("CN=samlbroker");
		p++;
		end = close;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		if (colon != NULL)
			end = colon;
	}
	n = (size_t)(end - p);
	if (n == 0 || n > CN_MAX_LEN)
		return xstrdup("CN=samlbroker");
	s = xmalloc(n + 4);
	memcpy(s, "CN=", 3);
	memcpy(s + 3, p, n);
	s[n + 3] = '\0';
	/* The subject parser treats these as separators; a host has none. */
	if (strpbrk(s + 3, ",/\\+=") != NULL) {
		free(s);
		return xstrdup("CN=samlbroker");
	}
	return s;
}

static void
trim(char **s, char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/*
 * Unescapes the next NAME=VALUE of a subject in place, up to an unescaped
 * separator, and moves *p past it; -1 when it holds no '='.
 */
static int
rdn_next(char **p, char sep, char **ret_field, char **ret_value)
{
	char	*field = *p, *field_end = NULL, *value = NULL, *value_end;
	char	*q, *w;

	w = q = *p;
	while (*q != '\0' && *q != sep) {
		if (*q == '\\' && q[1] != '\0')
			q++;
		else if (*q == '=' && value == NULL) {
			field_end = w;
			*w++ = *q++;
			value = w;
			continue;
		}
		*w++ = *q++;
	}
	value_end = w;
	*p = *q == '\0' ? q : q + 1;
	if (value == NULL)
		return -1;
	trim(&field, &field_end);
	trim(&value, &value_end);
	*field_end = '\0';
	*value_end = '\0';
	*ret_field = field;
	*ret_value = value;
	return 0;
}

/*
 * Parses "CN=a,O=b" or "/CN=a/O=b" (as openssl -subj); a backslash
 * escapes the next character.  Attributes keep the order given.
 */
static X509_NAME *
subject_parse(const char *dn, char *err, size_t errlen)
{
	X509_NAME	*name;
	char		*copy, *p, *field, *value, sep = ',';
	int		 entries = 0;

	name = X509_NAME_new();
	copy = xstrdup(dn);
	p = copy;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '/') {
		sep = '/';
		p++;
	}
	if (name == NULL)
		goto fail;
	while (*p != '\0') {
		if (rdn_next(&p, sep, &field, &value) == -1) {
			snprintf(err, errlen, "--subject: expected NAME=VALUE in \"%s\"", dn);
			goto fail;
		}
		if (*field == '\0' || *value == '\0') {
			snprintf(err, errlen, "--subject: empty name or value in \"%s\"", dn);
			goto fail;
		}
		if (OBJ_txt2nid(field) == NID_undef) {
			snprintf(err, errlen, "--subject: unknown attribute '%s'", field);
			goto fail;
		}
		if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
		    (const unsigned char *)value, -1, -1, 0) != 1) {
			snprintf(err, errlen, "--subject: bad value for %s "
			    "(too long or not allowed)", field);
			goto fail;
		}
		entries++;
	}
	if (entries == 0) {
		snprintf(err, errlen, "--subject: empty");
		goto fail;
	}
	free(copy);
	return name;
fail:
	if (name == NULL)
		snprintf(err, errlen, "out of memory");
	X509_NAME_free(name);
	free(copy);
	return NULL;
}

static char *
section_text(const char *issuer, const char *cert_pem, const char *key_pem,
    const char *password_path, const char *subject, const char *fingerprint,
    double not_after)
{
	char	*cert_b64, *key_b64, *text, until[32], now[32];
	size_t	 len;
	int	 n;

	cert_b64 = base64_encode((const unsigned char *)cert_pem, strlen(cert_pem), 0);
	key_b64 = base64_encode((const unsigned char *)key_pem, strlen(key_pem), 0);
	if (format_rfc3339(not_after, until, sizeof(until)) == -1)
		strcpy(until, "?");
	if (format_rfc3339(clock_now(), now, sizeof(now)) == -1)
		strcpy(now, "?");
	len = strlen(issuer) + strlen(cert_b64) + strlen(key_b64) +
	    (password_path != NULL ? strlen(password_path) : 0) +
	    strlen(subject) + strlen(fingerprint) + 1024;
	text = xmalloc(len);
	n = snprintf(text, len,
	    "# Made by samlbroker keygen on %s.  Paste this [saml] section into the\n"
	    "# tenant's file (or the hybrid_integration object), replacing any other.\n"
	    "# Certificate: %s, valid until %s,\n"
	    "# SHA-256 fingerprint %s\n"
	    "[saml]\n"
	    "issuer = %s\n"
	    "certificate = %s\n"
	    "pkey = %s\n"
	    "%s%s%s"
	    "expire_time = 24\n",
	    now, subject, until, fingerprint, issuer, cert_b64, key_b64,
	    password_path != NULL ? "password = file:" :
	    "# The key's password comes from the broker's environment; or write\n"
	    "# password = file:/path/of/a/file/holding/it\n"
	    "password = env:" PASSWORD_ENV,
	    password_path != NULL ? password_path : "", "\n");
	free(cert_b64);
	free(key_b64);
	if (n < 0 || (size_t)n >= len) {
		free(text);
		return NULL;
	}
	return text;
}

static int
dir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat	 st;

	if (stat(dir, &st) == -1) {
		if (errno != ENOENT || mkdir(dir, 0700) == -1) {
			snprintf(err, errlen, "cannot create directory %s: %s",
			    dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	return 0;
}

static void
dir_sync(const char *dir)
{
	int	 fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	fsync(fd);
	close(fd);
}

/* The files of one run: their paths, their texts, and the certificate
 * body printed for the identity provider. */
struct keygen_set {
	char	*paths[F_COUNT];
	char	*text[F_COUNT];
	char	*body;
};

static void
set_free(struct keygen_set *set)
{
	for (int i = 0; i < F_COUNT; i++) {
		free(set->paths[i]);
		free(set->text[i]);
	}
	free(set->body);
}

/* The paths under --out; none may exist yet unless --force. */
static int
set_paths(struct keygen_set *set, const struct keygen_opts *o, char *err,
    size_t errlen)
{
	struct stat	 st;

	for (int i = 0; i < F_COUNT; i++) {
		set->paths[i] = path_join(o->out, files[i].name);
		if (!o->force && lstat(set->paths[i], &st) == 0) {
			snprintf(err, errlen, "%s/%s exists; use --force to "
			    "replace it", o->out, files[i].name);
			return -1;
		}
	}
	return 0;
}

/* A new key and its certificate, as PEM and base64 texts. */
static int
set_make_key(struct keygen_set *set, const struct keygen_opts *o,
    const X509_NAME *subject, const char *password, char *err, size_t errlen)
{
	EVP_PKEY	*pkey = NULL;
	X509		*cert = NULL;
	int		 rc = -1;

	keystore_global_init();
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o->bits)) == NULL) {
		snprintf(err, errlen, "cannot generate a %ld-bit RSA key", o->bits);
		goto done;
	}
	if ((cert = x509_selfsigned_new(pkey, subject, o->days, 0, cert_exts,
	    sizeof(cert_exts) / sizeof(cert_exts[0]))) == NULL) {
		snprintf(err, errlen, "cannot make the certificate");
		goto done;
	}
	if ((set->text[F_CERT] = x509_cert_pem(cert)) == NULL ||
	    (set->text[F_KEY] = x509_key_pem(pkey, password)) == NULL ||
	    (set->body = x509_pem_body(set->text[F_CERT], false)) == NULL) {
		snprintf(err, errlen, "cannot encode the key or certificate");
		goto done;
	}
	set->text[F_CERT_B64] = base64_encode((unsigned char *)set->text[F_CERT],
	    strlen(set->text[F_CERT]), 1);
	set->text[F_KEY_B64] = base64_encode((unsigned char *)set->text[F_KEY],
	    strlen(set->text[F_KEY]), 1);
	rc = 0;
done:
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc;
}

/* What the broker will load must load: checks it the broker's way, then
 * formats saml-section.cfg from what it loaded. */
static int
set_make_section(struct keygen_set *set, const struct keygen_opts *o,
    const char *password, const char *pw_abs, char *err, size_t errlen)
{
	struct keystore	*ks;
	char		*pw_copy = xstrdup(password);
	int		 rc = -1;

	if ((ks = keystore_load(set->text[F_CERT_B64], set->text[F_KEY_B64], pw_copy,
	    err, errlen)) == NULL)
		goto done;
	if ((set->text[F_SECTION] = section_text(o->issuer, set->text[F_CERT],
	    set->text[F_KEY], pw_abs, keystore_subject(ks),
	    keystore_fingerprint(ks), keystore_not_after(ks))) == NULL) {
		snprintf(err, errlen, "cannot format saml-section.cfg");
		goto done;
	}
	rc = 0;
done:
	keystore_free(ks);
	secret_free(pw_copy);
	return rc;
}

/* Writes the whole set, or on failure removes what it wrote. */
static int
set_write(struct keygen_set *set, const struct keygen_opts *o, char *err,
    size_t errlen)
{
	int	 written;

	if (dir_prepare(o->out, err, errlen) == -1)
		return -1;
	for (written = 0; written < F_COUNT; written++) {
		if (o->force && unlink(set->paths[written]) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "cannot replace %s: %s",
			    set->paths[written], strerror(errno));
			goto fail;
		}
		if (file_write_new(set->paths[written], files[written].mode,
		    set->text[written], strlen(set->text[written])) == -1) {
			snprintf(err, errlen, "cannot write %s: %s",
			    set->paths[written], strerror(errno));
			goto fail;
		}
	}
	dir_sync(o->out);
	return 0;
fail:
	/* Leave no half-made set behind. */
	for (int i = 0; i < written; i++)
		unlink(set->paths[i]);
	return -1;
}

static int
keygen_run(const struct keygen_opts *o)
{
	char		 err[PATH_MAX + 256], pw_abs[PATH_MAX];
	char		*password = NULL, *subject_dn = NULL;
	struct keygen_set set = { { NULL }, { NULL }, NULL };
	X509_NAME	*subject = NULL;
	int		 rc = 1;

	err[0] = '\0';
	if (password_get(o->password_file, &password, err, sizeof(err)) == -1)
		goto done;
	if (o->password_file != NULL && realpath(o->password_file, pw_abs) == NULL) {
		snprintf(err, sizeof(err), "cannot resolve %s: %s", o->password_file,
		    strerror(errno));
		goto done;
	}
	subject_dn = o->subject != NULL ? xstrdup(o->subject) : default_subject(o->issuer);
	if ((subject = subject_parse(subject_dn, err, sizeof(err))) == NULL)
		goto done;
	if (set_paths(&set, o, err, sizeof(err)) == -1 ||
	    set_make_key(&set, o, subject, password, err, sizeof(err)) == -1 ||
	    set_make_section(&set, o, password,
	    o->password_file != NULL ? pw_abs : NULL, err, sizeof(err)) == -1 ||
	    set_write(&set, o, err, sizeof(err)) == -1)
		goto done;
	/* The set is complete: it stays whatever happens now. */
	fprintf(stderr, "samlbroker keygen: wrote %s/{cert.pem,key.pem.enc,"
	    "cert.pem.b64,key.pem.enc.b64,saml-section.cfg}; certificate body "
	    "for the identity provider follows\n", o->out);
	fflush(stderr);
	printf("%s", set.body);
	if (fflush(stdout) == EOF) {
		snprintf(err, sizeof(err), "cannot write to stdout: %s", strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (rc != 0)
		fprintf(stderr, "samlbroker keygen: %s\n", err);
	set_free(&set);
	secret_free(password);
	free(subject_dn);
	X509_NAME_free(subject);
	ERR_clear_error();
	return rc;
}

static int	 opts_check(const struct keygen_opts *);

/*
 * getopt_long takes any unambiguous prefix of an option, so
 * "--password SECRET" would be read as --password-file and the secret
 * shown as a file name.  This option is taken by its full name only.
 */
static int
password_prefix_check(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		size_t n = strcspn(argv[i], "=");

		if (n > 3 && strncmp(argv[i], "--password-file", n) == 0 &&
		    n != strlen("--password-file")) {
			fprintf(stderr, "samlbroker keygen: unknown option '%.*s': the "
			    "password is never given on the command line; use "
			    "--password-file FILE or " PASSWORD_ENV "\n", (int)n, argv[i]);
			return -1;
		}
	}
	return 0;
}

int
cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out",		required_argument,	NULL, 'o' },
		{ "issuer",		required_argument,	NULL, 'i' },
		{ "days",		required_argument,	NULL, 'd' },
		{ "bits",		required_argument,	NULL, 'b' },
		{ "subject",		required_argument,	NULL, 'S' },
		{ "password-file",	required_argument,	NULL, 'p' },
		{ "force",		no_argument,		NULL, 'f' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct keygen_opts	 o = { .days = DEFAULT_DAYS, .bits = DEFAULT_BITS };
	int			 ch;

	if (password_prefix_check(argc, argv) == -1)
		return 2;
	while ((ch = getopt_long(argc, argv, "o:i:d:b:s:fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			o.out = optarg;
			break;
		case 'i':
			o.issuer = optarg;
			break;
		case 'd':
			if (parse_long(optarg, 1, MAX_DAYS, &o.days) == -1) {
				fprintf(stderr, "samlbroker keygen: --days must be "
				    "1 to %d\n", MAX_DAYS);
				return 2;
			}
			break;
		case 'b':
			if (parse_long(optarg, MIN_BITS, MAX_BITS, &o.bits) == -1) {
				fprintf(stderr, "samlbroker keygen: --bits must be "
				    "%d to %d\n", MIN_BITS, MAX_BITS);
				return 2;
			}
			break;
		case 'S':
			o.subject = optarg;
			break;
		case 's':
			/* -s is --socket in token and status: no short form here. */
			fprintf(stderr, "samlbroker keygen: -s is not an option of keygen "
			    "(it is --socket in token and status); the certificate's "
			    "subject is --subject DN\n");
			return 2;
		case 'p':
			o.password_file = optarg;
			break;
		case 'f':
			o.force = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "samlbroker keygen: unexpected argument '%s'\n",
		    argv[optind]);
		return 2;
	}
	return opts_check(&o) == -1 ? 2 : keygen_run(&o);
}

/* Says what is missing or wrong in the options after parsing. */
static int
opts_check(const struct keygen_opts *o)
{
	if (o->out == NULL || o->issuer == NULL) {
		fprintf(stderr, "samlbroker keygen: --out and --issuer are required "
		    "(see samlbroker keygen --help)\n");
		return -1;
	}
	if (o->out[0] == '\0') {
		fprintf(stderr, "samlbroker keygen: --out is empty\n");
		return -1;
	}
	if (!issuer_valid(o->issuer)) {
		fprintf(stderr, "samlbroker keygen: --issuer must be a URI without "
		    "spaces, such as https://www.genesys.com/pureengage\n");
		return -1;
	}
	if (o->password_file == NULL && getenv(PASSWORD_ENV) == NULL) {
		fprintf(stderr, "samlbroker keygen: no password: give --password-file "
		    "FILE or set " PASSWORD_ENV "\n");
		return -1;
	}
	return 0;
}

/*
 * For `init`: a new key and certificate for issuer, the way this command
 * makes them (default subject and size, days of life), the key encrypted
 * with password (a secret, not kept).  The base64 texts the tenant file's
 * certificate and pkey hold, wrapped like openssl base64; *ret_key_b64 is
 * a secret.
 */
int
keygen_pair_make(const char *issuer, long days, const char *password,
    char **ret_cert_b64, char **ret_key_b64, char *err, size_t errlen)
{
	struct keygen_opts	 o = { .issuer = issuer, .days = days,
				    .bits = DEFAULT_BITS };
	struct keygen_set	 set = { { NULL }, { NULL }, NULL };
	X509_NAME		*subject = NULL;
	char			*dn = NULL, *pw_copy;
	struct keystore		*ks = NULL;
	int			 rc = -1;

	if (!issuer_valid(issuer)) {
		snprintf(err, errlen, "[saml] issuer is not an absolute URI");
		return -1;
	}
	dn = default_subject(issuer);
	if ((subject = subject_parse(dn, err, errlen)) == NULL ||
	    set_make_key(&set, &o, subject, password, err, errlen) == -1)
		goto done;
	pw_copy = xstrdup(password);
	if ((ks = keystore_load(set.text[F_CERT_B64], set.text[F_KEY_B64], pw_copy,
	    err, errlen)) == NULL) {
		secret_free(pw_copy);
		goto done;
	}
	secret_free(pw_copy);
	*ret_cert_b64 = set.text[F_CERT_B64];
	*ret_key_b64 = set.text[F_KEY_B64];
	set.text[F_CERT_B64] = set.text[F_KEY_B64] = NULL;
	rc = 0;
done:
	keystore_free(ks);
	for (int i = 0; i < F_COUNT; i++)
		if (set.text[i] != NULL)
			OPENSSL_cleanse(set.text[i], strlen(set.text[i]));
	set_free(&set);
	free(dn);
	X509_NAME_free(subject);
	ERR_clear_error();
	return rc;
}

/*
 * For `rollover stage`: keygen_pair_make with the password of
 * password_file (NULL: the environment variable).
 */
int
keygen_pair_new(const char *issuer, long days, const char *password_file,
    char **ret_cert_b64, char **ret_key_b64, char *err, size_t errlen)
{
	char	*password = NULL;
	int	 rc;

	if (password_get(password_file, &password, err, errlen) == -1)
		return -1;
	rc = keygen_pair_make(issuer, days, password, ret_cert_b64, ret_key_b64,
	    err, errlen);
	secret_free(password);
	return rc;
}
