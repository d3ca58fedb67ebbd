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
 * other byte kept), through a temporary file renamed over it.  The
 * identity provider is written through provision.c.  It owns no daemon
 * state: the running broker learns of a change by its reload (SIGHUP).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "samlbroker.h"
#include "commands.h"

#define PROG		"samlbroker rollover"
#define TENANT_MAX	(1024 * 1024)	/* a tenant file */
#define DEFAULT_DAYS	3652

/*
 * The tenant file's rewriting.
 */

/* The line number (1-based) where [saml]'s options end: its last option's
 * last line, or the header's line.  0 when there is no [saml]. */
static int
saml_end(const struct ini_section *s)
{
	int	 end = s->line;

	for (size_t i = 0; i < s->n_options; i++)
		if (s->options[i].last_line > end)
			end = s->options[i].last_line;
	return end;
}

/* The rewritten text may hold an inline key: a secret_buf, never realloc. */
static void
put(struct secret_buf *b, const char *p, size_t n)
{
	if (n > 0 && secret_buf_add(b, p, n, 4 * TENANT_MAX) == -1)
		fatalx("a tenant file's rewriting grew over %d bytes", 4 * TENANT_MAX);
}

static void
put_option(struct secret_buf *b, const struct rollover_edit *e, const char *eol)
{
	put(b, e->name, strlen(e->name));
	put(b, " = ", 3);
	put(b, e->value, strlen(e->value));
	put(b, eol, strlen(eol));
}

char *
rollover_rewrite(const char *buf, size_t len, const struct rollover_edit *edits,
    size_t n_edits, size_t *ret_len, char *err, size_t errlen)
{
	struct ini_file		*f;
	struct ini_section	*s;
	struct ini_option	*o;
	const char		*p = buf, *end = buf + len, *nl, *eol;
	struct secret_buf	 b = { NULL, 0, 0 };
	size_t			 n;
	int			*from, *to, line = 0, last;
	bool			 skip;

	if ((f = ini_parse(NULL, buf, len, err, errlen)) == NULL)
		return NULL;
	if ((s = ini_section_find(f, "saml")) == NULL) {
		snprintf(err, errlen, "no [saml] section");
		ini_free(f);
		return NULL;
	}
	from = xcalloc(n_edits + 1, sizeof(*from));
	to = xcalloc(n_edits + 1, sizeof(*to));
	for (size_t i = 0; i < n_edits; i++)
		if ((o = ini_option_find(s, edits[i].name)) != NULL) {
			from[i] = o->line;
			to[i] = o->last_line;
		}
	last = saml_end(s);
	ini_free(f);
	/* New lines end as the file's first line does (a Windows export). */
	nl = memchr(buf, '\n', len);
	eol = nl != NULL && nl > buf && nl[-1] == '\r' ? "\r\n" : "\n";
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		skip = false;
		for (size_t i = 0; i < n_edits; i++) {
			if (line < from[i] || line > to[i])
				continue;
			skip = true;
			if (line == from[i] && edits[i].value != NULL)
				put_option(&b, &edits[i], eol);
		}
		if (!skip)
			put(&b, p, n);
		if (line == last) {
			if (nl == NULL && !skip)
				put(&b, eol, strlen(eol));
			for (size_t i = 0; i < n_edits; i++)
				if (from[i] == 0 && edits[i].value != NULL)
					put_option(&b, &edits[i], eol);
		}
		p += n;
	}
	free(from);
	free(to);
	if (b.data == NULL)
		b.data = xstrdup("");
	*ret_len = b.len;
	return b.data;
}

static void
dir_sync(const char *path)
{
	char	*copy = xstrdup(path);
	int	 fd;

	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int
rollover_file_replace(const char *path, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*copy = NULL, *tmp = NULL;
	size_t		 done = 0;
	ssize_t		 w;
	int		 fd = -1, rc = -1;

	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	copy = xstrdup(path);
	tmp = path_join(dirname(copy), ".rollover.XXXXXX");
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "cannot create a temporary file beside %s: %s", path,
		    strerror(errno));
		goto done;
	}
	if (fchmod(fd, st.st_mode & 07777) == -1 ||
	    ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) == -1)) {
		snprintf(err, errlen, "cannot give the new %s the owner and mode of the "
		    "old: %s", path, strerror(errno));
		goto done;
	}
	while (done < len) {
		if ((w = write(fd, buf + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot write beside %s: %s", path,
			    strerror(errno));
			goto done;
		}
		done += (size_t)w;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "cannot write beside %s: %s", path, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot replace %s: %s", path, strerror(errno));
		goto done;
	}
	dir_sync(path);
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	if (rc == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(copy);
	return rc;
}

int
rollover_file_wipe(const char *path, char *err, size_t errlen)
{
	static const char	 zeros[4096];
	struct stat		 st;
	off_t			 left;
	ssize_t			 w;
	int			 fd;

	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	for (left = st.st_size; left > 0; left -= w) {
		w = write(fd, zeros, left < (off_t)sizeof(zeros) ? (size_t)left :
		    sizeof(zeros));
		if (w == -1 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0) {
			snprintf(err, errlen, "cannot overwrite %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		snprintf(err, errlen, "cannot sync %s: %s", path, strerror(errno));
		return -1;
	}
	if (unlink(path) == -1) {
		snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	dir_sync(path);
	return 0;
}

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
	struct ini_file		*f;
	struct ini_section	*s;
	struct ini_option	*o;
	char			 err[256], *v = NULL;

	if ((f = ini_parse(NULL, buf, len, err, sizeof(err))) == NULL)
		return NULL;
	if ((s = ini_section_find(f, "saml")) != NULL &&
	    (o = ini_option_find(s, name)) != NULL)
		v = xstrdup(o->value);
	ini_free(f);
	return v;
}

/*
 * The tenant file's text edited and written back; prints what changes.
 * The configuration must still load with it (conf, the main file):
 * otherwise the file is put back as it was, and the broker's next reload
 * is not the one to find out.
 */
static int
tenant_file_edit(const char *conf, const struct tenant *t,
    const struct rollover_edit *edits, size_t n, bool dry_run)
{
	struct broker_config	*c;
	char			 err[PATH_MAX + 256], *buf = NULL, *out = NULL;
	size_t			 len, olen;
	int			 rc = -1;

	if (read_file_limited(t->file, TENANT_MAX, &buf, &len) == -1) {
		fprintf(stderr, PROG ": cannot read %s: %s\n", t->file, strerror(errno));
		return -1;
	}
	if ((out = rollover_rewrite(buf, len, edits, n, &olen, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", t->file, err);
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		printf("  %s [saml] %s: %s\n", t->file, edits[i].name,
		    edits[i].value == NULL ? "removed" : "set");
	if (dry_run) {
		rc = 0;
		goto done;
	}
	if (rollover_file_replace(t->file, out, olen, err, sizeof(err)) == -1) {
		fprintf(stderr, PROG ": %s\n", err);
		goto done;
	}
	if ((c = config_load_verbose(conf)) == NULL) {
		if (rollover_file_replace(t->file, buf, len, err, sizeof(err)) == -1)
			fprintf(stderr, PROG ": the configuration does not load with the "
			    "changed %s (above), and putting it back failed: %s\n", t->file,
			    err);
		else
			fprintf(stderr, PROG ": the configuration does not load with the "
			    "changed %s (above); it is back as it was\n", t->file);
		goto done;
	}
	config_free(c);
	rc = 0;
done:
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	if (out != NULL)
		OPENSSL_cleanse(out, olen);
	free(buf);
	free(out);
	return rc;
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
		char *key = pkey_raw[5] == '/' ? xstrdup(pkey_raw + 5) :
		    path_join(dir, pkey_raw + 5);

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

	if (read_file_limited(t->file, TENANT_MAX, &buf, &len) == 0)
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
	struct rollover_edit	 edits[3];
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
	edits[0] = (struct rollover_edit){ "next_certificate", vc = file_value(nk.cert_path) };
	edits[1] = (struct rollover_edit){ "next_pkey", vk = file_value(nk.key_path) };
	edits[2] = (struct rollover_edit){ "next_password", vp = file_value(pw_path) };
	if (tenant_file_edit(o->conf, t, edits, 3, o->dry_run) == -1) {
		/* A key made for nothing does not stay on disk. */
		if (nk.made && (rollover_file_wipe(nk.key_path, err, sizeof(err)) == -1 ||
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

/* --reload: SIGHUP to --pid-file's process, else systemctl reload. */
static int
reload_broker(const struct rollover_opts *o)
{
	char	*buf = NULL;
	size_t	 len;
	long	 pid;
	char	*end;
	int	 rc;

	if (o->pid_file != NULL) {
		if (read_file_limited(o->pid_file, 64, &buf, &len) == -1) {
			fprintf(stderr, PROG ": cannot read %s: %s\n", o->pid_file,
			    strerror(errno));
			return -1;
		}
		errno = 0;
		pid = strtol(buf, &end, 10);
		if (errno != 0 || end == buf || (*end != '\0' && *end != '\n') || pid <= 1) {
			fprintf(stderr, PROG ": %s does not hold a process id\n", o->pid_file);
			free(buf);
			return -1;
		}
		free(buf);
		if (kill((pid_t)pid, SIGHUP) == -1) {
			fprintf(stderr, PROG ": cannot send SIGHUP to %ld: %s\n", pid,
			    strerror(errno));
			return -1;
		}
		printf("sent SIGHUP to the broker (pid %ld): it signs with the new key "
		    "once the reload is done (its log says event=reload)\n", pid);
		return 0;
	}
	fflush(stdout);
	rc = system("systemctl reload samlbroker");
	if (rc != 0) {
		fprintf(stderr, PROG ": systemctl reload samlbroker failed; reload the "
		    "broker by hand (SIGHUP)\n");
		return -1;
	}
	printf("reloaded the broker (systemctl reload samlbroker)\n");
	return 0;
}

/* The tenant file with the next key as the current one and the old
 * certificate (and key file) as the previous. */
static int
activate_edit(const struct rollover_opts *o, const struct tenant *t)
{
	static const char *const names[] = { "next_certificate", "next_pkey",
	    "next_password", "certificate", "pkey" };
	struct rollover_edit	 edits[8];
	char			*buf = NULL, *v[5] = { NULL };
	size_t			 len, n = 0;
	int			 rc = -1;

	if (read_file_limited(t->file, TENANT_MAX, &buf, &len) == -1) {
		fprintf(stderr, PROG ": cannot read %s: %s\n", t->file, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < 5; i++)
		if ((v[i] = option_raw(buf, len, names[i])) == NULL) {
			fprintf(stderr, PROG ": %s changed since it was loaded\n", t->file);
			goto done;
		}
	edits[n++] = (struct rollover_edit){ "certificate", v[0] };
	edits[n++] = (struct rollover_edit){ "pkey", v[1] };
	edits[n++] = (struct rollover_edit){ "password", v[2] };
	edits[n++] = (struct rollover_edit){ "previous_certificate", v[3] };
	if (strncmp(v[4], "file:", 5) == 0)
		edits[n++] = (struct rollover_edit){ "previous_pkey", v[4] };
	edits[n++] = (struct rollover_edit){ "next_certificate", NULL };
	edits[n++] = (struct rollover_edit){ "next_pkey", NULL };
	edits[n++] = (struct rollover_edit){ "next_password", NULL };
	rc = tenant_file_edit(o->conf, t, edits, n, o->dry_run);
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
		return reload_broker(o) == 0 ? 0 : 1;
	printf("reload the broker now so that it signs with the new key "
	    "(systemctl reload samlbroker, or SIGHUP); cached tokens are kept\n");
	return 0;
}

static int
retire(const struct rollover_opts *o, const struct broker_config *conf,
    const struct tenant *t)
{
	struct rollover_edit	 edits[2] = { { "previous_certificate", NULL },
				    { "previous_pkey", NULL } };
	char			*body = NULL, err[PATH_MAX + 256];
	bool			 changed;
	int			 ex = 1;

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
	if (tenant_file_edit(o->conf, t, edits, 2, o->dry_run) == -1)
		goto done;
	if (t->previous_pkey != NULL) {
		if (o->dry_run)
			printf("  would overwrite with zeros and remove %s\n",
			    t->previous_pkey);
		else if (rollover_file_wipe(t->previous_pkey, err, sizeof(err)) == -1 &&
		    errno != ENOENT) {
			fprintf(stderr, PROG ": the old key: %s\n", err);
			goto done;
		} else
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
