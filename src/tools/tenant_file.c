/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenant_file.c - the commands' edits of a tenant file (rollover's keys,
 * provision's OAuth clients and secrets) and of the secret files it names:
 * options set, replaced or removed in any section with every other byte
 * kept, the file replaced atomically (a temporary file beside it with its
 * owner, synced, renamed over it), checked to load, put back when it does
 * not; a file overwritten and removed; the running broker told to reload.
 *
 * It owns no PureCloud call and no daemon state.  Values it writes may be
 * secrets: they never reach a message, and its buffers are wiped.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "samlbroker.h"
#include "commands.h"

/*
 * The rewriting.
 */

/* The line number (1-based) where a section's options end: its last
 * option's last line, or the header's line. */
static int
section_end(const struct ini_section *s)
{
	int	 end = s->line;

	for (size_t i = 0; i < s->n_options; i++)
		if (s->options[i].last_line > end)
			end = s->options[i].last_line;
	return end;
}

/* The rewritten text may hold a key or a secret: a secret_buf, never realloc. */
static void
put(struct secret_buf *b, const char *p, size_t n)
{
	if (n > 0 && secret_buf_add(b, p, n, 4 * TENANT_FILE_MAX) == -1)
		fatalx("a tenant file's rewriting grew over %d bytes", 4 * TENANT_FILE_MAX);
}

static void
put_str(struct secret_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
put_option(struct secret_buf *b, const struct tenant_edit *e, const char *eol)
{
	put_str(b, e->name);
	put(b, " = ", 3);
	put_str(b, e->value);
	put_str(b, eol);
}

/* Where each edit goes: the option's lines (from..to, 0 when absent) and
 * the line after which a new one is added (at, 0 when the section is
 * absent: a new section at the end). */
struct place {
	int	 from, to, at;
};

static int
places_find(const char *buf, size_t len, const struct tenant_edit *edits, size_t n,
    struct place *pl, char *err, size_t errlen)
{
	struct ini_file		*f;
	struct ini_section	*s;
	struct ini_option	*o;

	if ((f = ini_parse(NULL, buf, len, err, errlen)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		pl[i] = (struct place){ 0, 0, 0 };
		if ((s = ini_section_find(f, edits[i].section)) == NULL)
			continue;
		pl[i].at = section_end(s);
		if ((o = ini_option_find(s, edits[i].name)) != NULL) {
			pl[i].from = o->line;
			pl[i].to = o->last_line;
		}
	}
	ini_free(f);
	return 0;
}

/* Sections that do not exist yet, at the end, each once. */
static void
sections_add(struct secret_buf *b, const struct tenant_edit *edits, size_t n,
    const struct place *pl, const char *eol)
{
	for (size_t i = 0; i < n; i++) {
		bool	 first = true;

		if (pl[i].at != 0 || edits[i].value == NULL)
			continue;
		for (size_t k = 0; k < i && first; k++)
			first = pl[k].at != 0 || edits[k].value == NULL ||
			    strcmp(edits[k].section, edits[i].section) != 0;
		if (!first)
			continue;
		if (b->len > 0 && b->data[b->len - 1] != '\n')
			put_str(b, eol);
		put_str(b, b->len > 0 ? eol : "");
		put_str(b, "[");
		put_str(b, edits[i].section);
		put_str(b, "]");
		put_str(b, eol);
		for (size_t k = i; k < n; k++)
			if (pl[k].at == 0 && edits[k].value != NULL &&
			    strcmp(edits[k].section, edits[i].section) == 0)
				put_option(b, &edits[k], eol);
	}
}

char *
tenant_file_rewrite(const char *buf, size_t len, const struct tenant_edit *edits,
    size_t n_edits, size_t *ret_len, char *err, size_t errlen)
{
	struct place		*pl;
	const char		*p = buf, *end = buf + len, *nl, *eol;
	struct secret_buf	 b = { NULL, 0, 0 };
	size_t			 n;
	int			 line = 0;
	bool			 skip, added;

	pl = xcalloc(n_edits + 1, sizeof(*pl));
	if (places_find(buf, len, edits, n_edits, pl, err, errlen) == -1) {
		free(pl);
		return NULL;
	}
	/* New lines end as the file's first line does (a Windows export). */
	nl = memchr(buf, '\n', len);
	eol = nl != NULL && nl > buf && nl[-1] == '\r' ? "\r\n" : "\n";
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		skip = false;
		for (size_t i = 0; i < n_edits; i++) {
			if (line < pl[i].from || line > pl[i].to)
				continue;
			skip = true;
			if (line == pl[i].from && edits[i].value != NULL)
				put_option(&b, &edits[i], eol);
		}
		if (!skip)
			put(&b, p, n);
		added = false;
		for (size_t i = 0; i < n_edits; i++) {
			if (pl[i].from != 0 || pl[i].at != line || edits[i].value == NULL)
				continue;
			if (!added && nl == NULL && !skip)
				put_str(&b, eol);
			added = true;
			put_option(&b, &edits[i], eol);
		}
		p += n;
	}
	sections_add(&b, edits, n_edits, pl, eol);
	free(pl);
	if (b.data == NULL)
		b.data = xstrdup("");
	*ret_len = b.len;
	return b.data;
}

char *
tenant_file_option(const char *buf, size_t len, const char *section, const char *name)
{
	struct ini_file		*f;
	struct ini_section	*s;
	struct ini_option	*o;
	char			 err[256], *v = NULL;

	if ((f = ini_parse(NULL, buf, len, err, sizeof(err))) == NULL)
		return NULL;
	if ((s = ini_section_find(f, section)) != NULL &&
	    (o = ini_option_find(s, name)) != NULL)
		v = xstrdup(o->value);
	ini_free(f);
	return v;
}

/*
 * Files.
 */

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

static int
write_all(int fd, const char *buf, size_t len)
{
	size_t	 done = 0;
	ssize_t	 w;

	while (done < len) {
		if ((w = write(fd, buf + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

int
tenant_file_replace(const char *path, const char *buf, size_t len, int flags,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		*copy = NULL, *tmp = NULL;
	mode_t		 mode;
	int		 fd = -1, rc = -1;

	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	mode = (flags & TENANT_FILE_SECRET) ? 0600 : st.st_mode & 07777;
	copy = xstrdup(path);
	tmp = path_join(dirname(copy), ".samlbroker.XXXXXX");
	if ((fd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "cannot create a temporary file beside %s: %s", path,
		    strerror(errno));
		goto done;
	}
	if (fchmod(fd, mode) == -1 ||
	    ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) == -1)) {
		snprintf(err, errlen, "cannot give the new %s the owner and mode of the "
		    "old: %s", path, strerror(errno));
		goto done;
	}
	if (write_all(fd, buf, len) == -1) {
		snprintf(err, errlen, "cannot write beside %s: %s", path, strerror(errno));
		goto done;
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
tenant_file_wipe(const char *path, char *err, size_t errlen)
{
	static const char	 zeros[4096];
	struct stat		 st;
	off_t			 left;
	ssize_t			 w;
	int			 fd;

	if ((fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;	/* gone already: nothing to wipe */
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
 * The edit as a command makes it.
 */

/* The configuration loads (flags of config_load_ext); problems printed. */
static bool
config_loads(const char *conf, int flags)
{
	struct broker_config	*c = config_load_verbose_ext(conf, flags | CONFIG_WARN_OPEN);

	config_free(c);
	return c != NULL;
}

int
tenant_file_edit(const char *conf, const struct tenant *t, const char *prog,
    const struct tenant_edit *edits, size_t n, int flags, int load_flags)
{
	char	 err[PATH_MAX + 256], *buf = NULL, *out = NULL;
	size_t	 len, olen;
	int	 rc = -1;

	if (read_file_limited(t->file, TENANT_FILE_MAX, &buf, &len) == -1) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, t->file, strerror(errno));
		return -1;
	}
	if ((out = tenant_file_rewrite(buf, len, edits, n, &olen, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, t->file, err);
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		printf("  %s [%s] %s: %s\n", t->file, edits[i].section, edits[i].name,
		    edits[i].value == NULL ? "removed" : "set");
	if (flags & TENANT_FILE_DRY_RUN) {
		rc = 0;
		goto done;
	}
	if (tenant_file_replace(t->file, out, olen, flags, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto done;
	}
	if (!config_loads(conf, load_flags)) {
		if (tenant_file_replace(t->file, buf, len, 0, err, sizeof(err)) == -1)
			fprintf(stderr, "%s: the configuration does not load with the "
			    "changed %s (above), and putting it back failed: %s\n", prog,
			    t->file, err);
		else
			fprintf(stderr, "%s: the configuration does not load with the "
			    "changed %s (above); it is back as it was\n", prog, t->file);
		goto done;
	}
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

int
tenant_file_reload(const char *prog, const char *pid_file)
{
	char	*buf = NULL, *end;
	size_t	 len;
	long	 pid;
	int	 rc;

	if (pid_file != NULL) {
		if (read_file_limited(pid_file, 64, &buf, &len) == -1) {
			fprintf(stderr, "%s: cannot read %s: %s\n", prog, pid_file,
			    strerror(errno));
			return -1;
		}
		errno = 0;
		pid = strtol(buf, &end, 10);
		if (errno != 0 || end == buf || (*end != '\0' && *end != '\n') || pid <= 1) {
			fprintf(stderr, "%s: %s does not hold a process id\n", prog, pid_file);
			free(buf);
			return -1;
		}
		free(buf);
		if (kill((pid_t)pid, SIGHUP) == -1) {
			fprintf(stderr, "%s: cannot send SIGHUP to %ld: %s\n", prog, pid,
			    strerror(errno));
			return -1;
		}
		printf("sent SIGHUP to the broker (pid %ld): it uses the changed tenant "
		    "file once the reload is done (its log says event=reload_done)\n", pid);
		return 0;
	}
	fflush(stdout);
	rc = system("systemctl reload samlbroker");
	if (rc != 0) {
		fprintf(stderr, "%s: systemctl reload samlbroker failed; reload the "
		    "broker by hand (SIGHUP)\n", prog);
		return -1;
	}
	printf("reloaded the broker (systemctl reload samlbroker)\n");
	return 0;
}
