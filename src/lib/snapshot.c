/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.c - one generation's configuration as read: every file's bytes,
 * the tenants directory's listing, env: values and NSS answers, recorded
 * by the process that reads files and replayed by processes that may not.
 *
 * It owns the configuration source (config_load.h) through which every
 * loader reads, in three modes: live (the system), record (the system,
 * each answer kept once: a file read twice in one load is read once) and
 * replay (the snapshot only).  It owns the snapshot's wire form too:
 *
 *   samlbroker-snapshot 1\n
 *   main L:PATH\n
 *   file KIND USE L:PATH L:BYTES\n       KIND: enum source_kind, USE: SOURCE_USE_*
 *   dir L:PATH L:NAMES\n                 NAMES joined with '/'
 *   env USE L:NAME L:VALUE\n   or   env USE L:NAME -\n      (unset)
 *   user L:NAME ID\n           or   user L:NAME -\n         (no such user)
 *   group L:NAME GID\n         or   group L:NAME -\n
 *   end\n
 *
 * L is a decimal length; the text holds no NUL byte, so secret_free wipes
 * all of it.  The decoder trusts nothing: any deviation is an error.  The
 * permission rules are config_secret.c's, applied to what fstat said on
 * the descriptor each file was read from; a replay checks nothing (the
 * recording process did, as its own user).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config_load.h"

#define SNAP_MAGIC		"samlbroker-snapshot 1\n"
#define SNAP_DATA_MAX		(4 * 1024 * 1024)	/* the largest file: an agent map */
#define SNAP_NAME_MAX		4096
#define SNAP_ENTRIES_MAX	100000
#define SNAP_ENCODED_MAX	((size_t)1 << 30)
#define SNAP_ID_MAX		4294967294UL

enum snap_type { SNAP_FILE, SNAP_DIR, SNAP_ENV, SNAP_USER, SNAP_GROUP, SNAP_TYPE_COUNT };
static const char *const type_names[SNAP_TYPE_COUNT] = {
	"file", "dir", "env", "user", "group"
};

struct snap_entry {
	enum snap_type		 type;
	enum source_kind	 kind;	/* SNAP_FILE */
	unsigned		 use;	/* SNAP_FILE, SNAP_ENV: SOURCE_USE_* */
	char			*name;	/* path, variable, user or group name */
	char			*data;	/* bytes, names, value; NULL: unset, no such name */
	size_t			 len;
	unsigned		 id;	/* SNAP_USER, SNAP_GROUP when found */
	struct source_stat	 st;	/* SNAP_FILE, when recorded here */
};

struct config_snapshot {
	char			*main_path;
	struct snap_entry	*e;
	size_t			 n;
};

static void
wipe_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

static char *
mem_dup(const char *p, size_t len)
{
	char	*q = xmalloc(len + 1);

	if (len > 0)
		memcpy(q, p, len);
	q[len] = '\0';
	return q;
}

void
snapshot_free(struct config_snapshot *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		wipe_free(s->e[i].name, strlen(s->e[i].name));
		wipe_free(s->e[i].data, s->e[i].len);
	}
	if (s->e != NULL) {
		OPENSSL_cleanse(s->e, s->n * sizeof(*s->e));
		free(s->e);
	}
	if (s->main_path != NULL)
		wipe_free(s->main_path, strlen(s->main_path));
	free(s);
}

const char *
snapshot_main_path(const struct config_snapshot *s)
{
	return s->main_path;
}

static struct snap_entry *
entry_find(const struct config_snapshot *s, enum snap_type type, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].type == type && strcmp(s->e[i].name, name) == 0)
			return &s->e[i];
	return NULL;
}

/* A new entry, zeroed but for type and name (copied). */
static struct snap_entry *
entry_add(struct config_snapshot *s, enum snap_type type, const char *name, size_t nlen)
{
	struct snap_entry	*e;

	e = reallocarray(s->e, s->n + 1, sizeof(*s->e));
	if (e == NULL)
		fatal("reallocarray");
	s->e = e;
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->name = mem_dup(name, nlen);
	return e;
}

/*
 * The source.
 */

static const struct config_snapshot *
source_snap(const struct config_source *src)
{
	return src->mode == SOURCE_RECORD ? src->rec : src->replay;
}

const char *
source_strerror(int err)
{
	switch (err) {
	case ENODATA:
		return "not in the snapshot";
	case EINVAL:
		return "not a regular file";
	case ELOOP:
		return "a symbolic link, not followed (name the file itself)";
	default:
		return strerror(err);
	}
}

int
source_read(struct config_source *src, const char *path, enum source_kind kind,
    unsigned use, bool follow, size_t max, char **ret_buf, size_t *ret_len,
    struct source_stat *ret_st)
{
	struct snap_entry	*e;
	struct stat		 st;
	char			*buf;
	size_t			 len;

	if (src->mode != SOURCE_LIVE &&
	    (e = entry_find(source_snap(src), SNAP_FILE, path)) != NULL) {
		if (e->len > max) {
			errno = EFBIG;
			return -1;
		}
		e->use |= src->mode == SOURCE_RECORD ? use : 0;
		*ret_buf = mem_dup(e->data, e->len);
		*ret_len = e->len;
		*ret_st = e->st;
		/* A replaying process, maybe another user, checks nothing. */
		ret_st->live = src->mode == SOURCE_RECORD && e->st.live;
		return 0;
	}
	if (src->mode == SOURCE_REPLAY) {
		errno = ENODATA;
		return -1;
	}
	if (read_file_checked(path, max, follow, &buf, &len, &st) == -1)
		return -1;
	ret_st->live = true;
	ret_st->mode = st.st_mode;
	ret_st->uid = st.st_uid;
	ret_st->gid = st.st_gid;
	if (src->mode == SOURCE_RECORD) {
		e = entry_add(src->rec, SNAP_FILE, path, strlen(path));
		e->kind = kind;
		e->use = use;
		e->data = mem_dup(buf, len);
		e->len = len;
		e->st = *ret_st;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static void
names_add(char ***names, size_t *n, const char *name, size_t len)
{
	char	**p = reallocarray(*names, *n + 1, sizeof(**names));

	if (p == NULL)
		fatal("reallocarray");
	*names = p;
	p[(*n)++] = mem_dup(name, len);
}

/* Names joined with '/' (never in a file name). */
static void
names_split(const char *data, size_t len, char ***ret_names, size_t *ret_n)
{
	const char	*p = data, *end = data + len, *slash;

	*ret_names = NULL;
	*ret_n = 0;
	while (p < end) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		names_add(ret_names, ret_n, p, (size_t)(slash - p));
		p = slash + 1;
	}
}

int
source_list_dir(struct config_source *src, const char *path, char ***ret_names,
    size_t *ret_n)
{
	struct snap_entry	*e;
	struct dirent		*de;
	DIR			*dir;
	char			**names = NULL;
	size_t			 n = 0, len = 0, at = 0;

	if (src->mode != SOURCE_LIVE &&
	    (e = entry_find(source_snap(src), SNAP_DIR, path)) != NULL) {
		names_split(e->data, e->len, ret_names, ret_n);
		return 0;
	}
	if (src->mode == SOURCE_REPLAY) {
		errno = ENODATA;
		return -1;
	}
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names_add(&names, &n, de->d_name, strlen(de->d_name));
	closedir(dir);
	if (src->mode == SOURCE_RECORD) {
		e = entry_add(src->rec, SNAP_DIR, path, strlen(path));
		for (size_t i = 0; i < n; i++)
			len += strlen(names[i]) + 1;
		e->data = xmalloc(len + 1);
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(names[i]);

			memcpy(e->data + at, names[i], l);
			at += l;
			if (i + 1 < n)
				e->data[at++] = '/';
		}
		e->data[at] = '\0';
		e->len = at;
	}
	*ret_names = names;
	*ret_n = n;
	return 0;
}

int
source_getenv(struct config_source *src, const char *name, unsigned use,
    const char **ret_value)
{
	struct snap_entry	*e;
	const char		*v;

	if (src->mode != SOURCE_LIVE &&
	    (e = entry_find(source_snap(src), SNAP_ENV, name)) != NULL) {
		e->use |= src->mode == SOURCE_RECORD ? use : 0;
		if (e->data == NULL)
			return 1;
		*ret_value = e->data;
		return 0;
	}
	if (src->mode == SOURCE_REPLAY)
		return -1;
	v = getenv(name);
	if (src->mode == SOURCE_RECORD) {
		e = entry_add(src->rec, SNAP_ENV, name, strlen(name));
		e->use = use;
		if (v != NULL) {
			e->len = strlen(v);
			e->data = mem_dup(v, e->len);
			v = e->data;
		}
	}
	if (v == NULL)
		return 1;
	*ret_value = v;
	return 0;
}

int
source_lookup_id(struct config_source *src, bool group, const char *name,
    unsigned *ret_id)
{
	enum snap_type		 type = group ? SNAP_GROUP : SNAP_USER;
	struct snap_entry	*e;
	struct passwd		*pw;
	struct group		*gr;
	bool			 found;
	unsigned		 id = 0;

	if (src->mode != SOURCE_LIVE &&
	    (e = entry_find(source_snap(src), type, name)) != NULL) {
		if (e->data == NULL)
			return 1;
		*ret_id = e->id;
		return 0;
	}
	if (src->mode == SOURCE_REPLAY)
		return -1;
	if (group) {
		if ((found = (gr = getgrnam(name)) != NULL))
			id = (unsigned)gr->gr_gid;
	} else if ((found = (pw = getpwnam(name)) != NULL))
		id = (unsigned)pw->pw_uid;
	if (src->mode == SOURCE_RECORD) {
		e = entry_add(src->rec, type, name, strlen(name));
		e->id = id;
		e->data = found ? xstrdup("") : NULL;
	}
	if (!found)
		return 1;
	*ret_id = id;
	return 0;
}

/*
 * Loading.
 */

struct broker_config *
config_load_recorded(const char *path, struct diag *d, int flags,
    struct config_snapshot **ret_snap)
{
	struct config_source	 src = { .mode = SOURCE_RECORD };
	struct broker_config	*c;

	src.rec = xcalloc(1, sizeof(*src.rec));
	src.rec->main_path = xstrdup(path);
	if ((c = config_load_from(&src, path, d, flags)) == NULL) {
		snapshot_free(src.rec);
		return NULL;
	}
	*ret_snap = src.rec;
	return c;
}

struct broker_config *
config_load_snapshot(const struct config_snapshot *snap, struct diag *d, int flags)
{
	struct config_source	 src = { .mode = SOURCE_REPLAY, .replay = snap };

	return config_load_from(&src, snap->main_path, d, flags);
}

/*
 * The front's form of a tenant file.
 */

/* The [saml] options a private key or its password may be in. */
const char *const snapshot_key_options[] = {
	"pkey", "password", "next_pkey", "next_password", "previous_pkey", NULL
};

char *
snapshot_tenant_blank(const char *buf, size_t len, size_t *ret_len)
{
	return snapshot_tenant_blank_options(buf, len, snapshot_key_options, NULL, false,
	    ret_len);
}

char *
snapshot_tenant_blank_options(const char *buf, size_t len, const char *const *hidden,
    const char *const *hidden_others, bool drop, size_t *ret_len)
{
	struct ini_file		*f;
	struct ini_section	*s;
	struct ini_option	*o;
	const char		*p = buf, *end = buf + len, *nl;
	char			 err[256], *out;
	size_t			 at = 0, n, lines = 1;
	bool			*hide, blank;
	int			 line = 0;

	if ((f = ini_parse(NULL, buf, len, err, sizeof(err))) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	hide = xcalloc(lines + 1, sizeof(*hide));
	/* The lines of the hidden options: [saml]'s, and those of every other
	 * section named in hidden_others. */
	for (size_t k = 0; k < f->n_sections; k++) {
		const char *const *names;

		s = &f->sections[k];
		names = strcmp(s->name, "saml") == 0 ? hidden : hidden_others;
		for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
			if ((o = ini_option_find(s, names[i])) == NULL)
				continue;
			for (int ln = o->line; ln <= o->last_line && (size_t)ln <= lines; ln++)
				hide[ln] = true;
		}
	}
	ini_free(f);
	out = xmalloc(len + 1);
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		blank = (size_t)line <= lines && hide[line];
		/* Dropping, empty lines go too: the front's snapshot has the key
		 * options' lines made empty, and their number changes. */
		if (drop && !blank) {
			size_t k = 0;

			while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
				k++;
			blank = k == n - (nl != NULL);
		}
		if (blank) {
			if (nl != NULL && !drop)
				out[at++] = '\n';
		} else {
			memcpy(out + at, p, n);
			at += n;
		}
		p += n;
	}
	free(hide);
	out[at] = '\0';
	*ret_len = at;
	return out;
}

/*
 * Encoding.
 */

static int
put(struct secret_buf *b, const void *p, size_t len)
{
	if (memchr(p, '\0', len) != NULL)
		return -1;
	return secret_buf_add(b, p, len, SNAP_ENCODED_MAX);
}

static int
put_text(struct secret_buf *b, const char *s)
{
	return put(b, s, strlen(s));
}

/* " L:BYTES" (lead is the separator before it, if any). */
static int
put_blob(struct secret_buf *b, const char *lead, const char *p, size_t len)
{
	char	 num[32];

	snprintf(num, sizeof(num), "%s%zu:", lead, len);
	return put_text(b, num) == -1 || put(b, p, len) == -1 ? -1 : 0;
}

static int
put_entry(struct secret_buf *b, const struct snap_entry *e, enum snapshot_audience aud)
{
	char	 num[48], *blanked = NULL;
	size_t	 blen = 0;
	int	 rc = -1;

	if (put_text(b, type_names[e->type]) == -1)
		return -1;
	switch (e->type) {
	case SNAP_FILE:
		if (aud == SNAPSHOT_FRONT && e->kind == SOURCE_TENANT &&
		    (blanked = snapshot_tenant_blank(e->data, e->len, &blen)) == NULL)
			return -1;
		snprintf(num, sizeof(num), " %d %u", (int)e->kind, e->use);
		if (put_text(b, num) == 0 && put_blob(b, " ", e->name, strlen(e->name)) == 0 &&
		    put_blob(b, " ", blanked != NULL ? blanked : e->data,
		    blanked != NULL ? blen : e->len) == 0)
			rc = 0;
		wipe_free(blanked, blen);
		break;
	case SNAP_DIR:
		rc = put_blob(b, " ", e->name, strlen(e->name)) == -1 ||
		    put_blob(b, " ", e->data, e->len) == -1 ? -1 : 0;
		break;
	case SNAP_ENV:
		snprintf(num, sizeof(num), " %u", e->use);
		rc = put_text(b, num) == -1 || put_blob(b, " ", e->name, strlen(e->name)) == -1 ||
		    (e->data == NULL ? put_text(b, " -") : put_blob(b, " ", e->data, e->len)) == -1 ?
		    -1 : 0;
		break;
	default:
		snprintf(num, sizeof(num), " %u", e->id);
		rc = put_blob(b, " ", e->name, strlen(e->name)) == -1 ||
		    put_text(b, e->data == NULL ? " -" : num) == -1 ? -1 : 0;
		break;
	}
	return rc == -1 ? -1 : put_text(b, "\n");
}

/* Does the front get this entry? */
static bool
front_gets(const struct snap_entry *e)
{
	if (e->type == SNAP_FILE || e->type == SNAP_ENV)
		return (e->use & SOURCE_USE_FRONT) != 0;
	return true;
}

int
snapshot_encode(const struct config_snapshot *s, enum snapshot_audience aud,
    char **ret_buf, size_t *ret_len)
{
	struct secret_buf	 b = { NULL, 0, 0 };

	if (s->main_path == NULL || put_text(&b, SNAP_MAGIC "main") == -1 ||
	    put_blob(&b, " ", s->main_path, strlen(s->main_path)) == -1 ||
	    put_text(&b, "\n") == -1)
		goto fail;
	for (size_t i = 0; i < s->n; i++)
		if ((aud == SNAPSHOT_FULL || front_gets(&s->e[i])) &&
		    put_entry(&b, &s->e[i], aud) == -1)
			goto fail;
	if (put_text(&b, "end\n") == -1)
		goto fail;
	*ret_buf = b.data;
	*ret_len = b.len;
	return 0;
fail:
	secret_buf_clear(&b);
	return -1;
}

/*
 * Decoding.
 */

struct reader {
	const char	*start, *p, *end;
	char		*errbuf;
	size_t		 errlen;
};

static int
bad(struct reader *r, const char *what)
{
	snprintf(r->errbuf, r->errlen, "snapshot: offset %zu: %s",
	    (size_t)(r->p - r->start), what);
	return -1;
}

static int
expect(struct reader *r, char c)
{
	if (r->p >= r->end || *r->p != c)
		return bad(r, c == '\n' ? "expected the end of the line" :
		    c == ' ' ? "expected a space" : "expected ':'");
	r->p++;
	return 0;
}

/* A decimal number of at most max, without leading zeros. */
static int
number(struct reader *r, unsigned long max, unsigned long *ret)
{
	unsigned long	 v = 0;
	const char	*q = r->p;

	while (q < r->end && *q >= '0' && *q <= '9') {
		if (q - r->p >= 10 || (q > r->p && r->p[0] == '0'))
			return bad(r, "malformed number");
		v = v * 10 + (unsigned long)(*q - '0');
		q++;
	}
	if (q == r->p)
		return bad(r, "expected a number");
	if (v > max)
		return bad(r, "number out of range");
	r->p = q;
	*ret = v;
	return 0;
}

/* " L:BYTES" of 1 (or 0 when may_be_empty) to max bytes. */
static int
blob(struct reader *r, size_t max, bool may_be_empty, const char **ret, size_t *ret_len)
{
	unsigned long	 len;

	if (expect(r, ' ') == -1 || number(r, max, &len) == -1 || expect(r, ':') == -1)
		return -1;
	if (len == 0 && !may_be_empty)
		return bad(r, "empty name");
	if ((size_t)(r->end - r->p) < len)
		return bad(r, "truncated");
	*ret = r->p;
	*ret_len = len;
	r->p += len;
	return 0;
}

/* " -" (1) or a number (0). */
static int
dash_or_number(struct reader *r, unsigned long max, unsigned long *ret)
{
	if (expect(r, ' ') == -1)
		return -1;
	if (r->p < r->end && *r->p == '-') {
		r->p++;
		return 1;
	}
	return number(r, max, ret);
}

/* A directory listing: names joined with '/', none empty, "." or "..". */
static bool
names_valid(const char *p, size_t len)
{
	const char	*end = p + len, *slash;

	while (p < end) {
		if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
			slash = end;
		if (slash == p || (slash - p == 1 && p[0] == '.') ||
		    (slash - p == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (slash + 1 == end)
			return false;
		p = slash + 1;
	}
	return true;
}

static int
entry_read(struct reader *r, struct config_snapshot *s, enum snap_type type)
{
	struct snap_entry	*e;
	const char		*name, *data = NULL;
	char			*copy;
	size_t			 nlen, dlen = 0;
	unsigned long		 kind = 0, use = 0, id = 0;
	int			 rc;

	if (type == SNAP_FILE && (expect(r, ' ') == -1 ||
	    number(r, SOURCE_KIND_COUNT - 1, &kind) == -1))
		return -1;
	if ((type == SNAP_FILE || type == SNAP_ENV) && (expect(r, ' ') == -1 ||
	    number(r, SOURCE_USE_FRONT | SOURCE_USE_KEY, &use) == -1))
		return -1;
	if ((type == SNAP_FILE || type == SNAP_ENV) && use == 0)
		return bad(r, "no use");
	if (blob(r, SNAP_NAME_MAX, false, &name, &nlen) == -1)
		return -1;
	rc = 0;
	if (type == SNAP_FILE || type == SNAP_DIR)
		rc = blob(r, SNAP_DATA_MAX, true, &data, &dlen);
	else if (type == SNAP_ENV) {
		if (r->p + 1 < r->end && r->p[0] == ' ' && r->p[1] == '-')
			r->p += 2, rc = 1;
		else
			rc = blob(r, SNAP_DATA_MAX, true, &data, &dlen);
	} else
		rc = dash_or_number(r, SNAP_ID_MAX, &id);
	if (rc == -1 || expect(r, '\n') == -1)
		return -1;
	if (type == SNAP_DIR && !names_valid(data, dlen))
		return bad(r, "malformed directory listing");
	if (s->n >= SNAP_ENTRIES_MAX)
		return bad(r, "too many entries");
	copy = mem_dup(name, nlen);
	e = entry_find(s, type, copy);
	free(copy);
	if (e != NULL)
		return bad(r, "an entry given twice");
	e = entry_add(s, type, name, nlen);
	e->kind = (enum source_kind)kind;
	e->use = (unsigned)use;
	e->id = (unsigned)id;
	if (type == SNAP_FILE || type == SNAP_DIR || (type == SNAP_ENV && rc == 0)) {
		e->data = mem_dup(data, dlen);
		e->len = dlen;
	} else if ((type == SNAP_USER || type == SNAP_GROUP) && rc == 0)
		e->data = xstrdup("");
	return 0;
}

struct config_snapshot *
snapshot_decode(const char *buf, size_t len, char *errbuf, size_t errlen)
{
	struct reader		 r = { buf, buf, buf + len, errbuf, errlen };
	struct config_snapshot	*s = xcalloc(1, sizeof(*s));
	const char		*name;
	size_t			 nlen, kw;
	bool			 ended = false;

	if (memchr(buf, '\0', len) != NULL) {
		bad(&r, "a NUL byte");
		goto fail;
	}
	if (len < strlen(SNAP_MAGIC) || memcmp(buf, SNAP_MAGIC, strlen(SNAP_MAGIC)) != 0) {
		bad(&r, "not a samlbroker snapshot of version 1");
		goto fail;
	}
	r.p += strlen(SNAP_MAGIC);
	if ((size_t)(r.end - r.p) < 4 || memcmp(r.p, "main", 4) != 0) {
		bad(&r, "expected main");
		goto fail;
	}
	r.p += 4;
	if (blob(&r, SNAP_NAME_MAX, false, &name, &nlen) == -1 || expect(&r, '\n') == -1)
		goto fail;
	s->main_path = mem_dup(name, nlen);
	while (r.p < r.end && !ended) {
		enum snap_type t;

		for (kw = 0; r.p + kw < r.end && r.p[kw] != ' ' && r.p[kw] != '\n'; kw++)
			continue;
		if (kw == 3 && memcmp(r.p, "end", 3) == 0) {
			r.p += 3;
			if (expect(&r, '\n') == -1)
				goto fail;
			ended = true;
			break;
		}
		for (t = 0; t < SNAP_TYPE_COUNT; t++)
			if (strlen(type_names[t]) == kw && memcmp(r.p, type_names[t], kw) == 0)
				break;
		if (t == SNAP_TYPE_COUNT) {
			bad(&r, "unknown entry");
			goto fail;
		}
		r.p += kw;
		if (entry_read(&r, s, t) == -1)
			goto fail;
	}
	if (!ended) {
		bad(&r, "truncated: no end");
		goto fail;
	}
	if (r.p != r.end) {
		bad(&r, "bytes after the end");
		goto fail;
	}
	return s;
fail:
	snapshot_free(s);
	return NULL;
}
