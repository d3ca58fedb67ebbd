/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_secret.c - secrets in configuration files and the permission
 * check of the files that hold them.
 *
 * A secret (password, client_secret) may be written literally, as
 * "file:PATH" or as "env:NAME".  A secret value never reaches a message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_load.h"

static char *
secret_take(const char *s, size_t len)
{
	char	*p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int
secret_resolve(const char *value, char **ret, const char **why)
{
	struct config_source	 src = { .mode = SOURCE_LIVE };
	struct source_stat	 st;

	return config_secret_resolve(&src, value, SOURCE_USE_FRONT, true, ret, &st, why);
}

/* The one line of a file: secret, in place; NULL or why it is unfit. */
static const char *
secret_file_line(char *buf, size_t *len)
{
	if (*len > 0 && buf[*len - 1] == '\n')
		(*len)--;
	if (*len > 0 && buf[*len - 1] == '\r')
		(*len)--;
	buf[*len] = '\0';
	if (*len == 0)
		return "the secret file is empty";
	if (memchr(buf, '\0', *len) != NULL)
		return "the secret file holds a NUL byte";
	if (memchr(buf, '\n', *len) != NULL || memchr(buf, '\r', *len) != NULL)
		return "the secret file holds more than one line";
	return NULL;
}

int
config_secret_resolve(struct config_source *src, const char *value, unsigned use,
    bool follow, char **ret, struct source_stat *ret_st, const char **why)
{
	char		*buf;
	const char	*v;
	size_t		 len, full;
	int		 rc;

	if (strncmp(value, "file:", 5) == 0) {
		if (value[5] == '\0') {
			*why = "file: needs a path";
			return -1;
		}
		if (source_read(src, value + 5, SOURCE_SECRET, use, follow, SECRET_MAX,
		    &buf, &len, ret_st) == -1) {
			if (errno == EFBIG)
				*why = "the secret file is larger than 4096 bytes";
			else if (errno == EINVAL)
				*why = "the secret file is not a regular file";
			else if (errno == ELOOP || errno == ENODATA)
				*why = source_strerror(errno);
			else
				*why = strerror(errno);
			return -1;
		}
		full = len;
		if ((*why = secret_file_line(buf, &len)) != NULL) {
			config_wipe_free(buf, full);
			return -1;
		}
		*ret = buf;
		return 0;
	}
	if (strncmp(value, "env:", 4) == 0) {
		if (value[4] == '\0') {
			*why = "env: needs a variable name";
			return -1;
		}
		if ((rc = source_getenv(src, value + 4, use, &v)) != 0) {
			*why = rc == 1 ? "the environment variable is not set" :
			    "the environment variable is not in the snapshot";
			return -1;
		}
		if (*v == '\0') {
			*why = "the environment variable is empty";
			return -1;
		}
		if (strlen(v) > SECRET_MAX) {
			*why = "the environment variable is longer than 4096 bytes";
			return -1;
		}
		*ret = xstrdup(v);
		return 0;
	}
	if (*value == '\0') {
		*why = "the secret is empty";
		return -1;
	}
	*ret = secret_take(value, strlen(value));
	return 0;
}

/*
 * Resolves a secret option, a relative file: path taken from the tenant
 * file's directory; adds it to the digest.  NULL after reporting.
 */
char *
config_secret_get(struct load *l, const char *sname, const char *oname,
    const char *value, unsigned use)
{
	struct source_stat	 st;
	const char		*why;
	char			*ref = NULL, *path, *secret;

	if (strncmp(value, "file:", 5) == 0 && value[5] != '\0') {
		path = config_path_relative(l->path, value + 5);
		ref = xmalloc(strlen(path) + 6);
		memcpy(ref, "file:", 5);
		memcpy(ref + 5, path, strlen(path) + 1);
		free(path);
		value = ref;
	}
	if (config_secret_resolve(l->src, value, use, config_follow_links(l), &secret,
	    &st, &why) == -1) {
		if (strncmp(value, "file:", 5) == 0 || strncmp(value, "env:", 4) == 0) {
			char *shown = config_printable_dup(value);
			diag_error(l->d, l->file, sname, oname, "%s: %s", shown, why);
			free(shown);
		} else
			diag_error(l->d, l->file, sname, oname, "%s", why);
		free(ref);
		return NULL;
	}
	if (ref != NULL)
		config_permissions_check(l, sname, oname, ref + 5, &st, true);
	free(ref);
	l->digest = config_digest(l->digest, sname, strlen(sname) + 1);
	l->digest = config_digest(l->digest, oname, strlen(oname) + 1);
	l->digest = config_digest(l->digest, secret, strlen(secret) + 1);
	/* A client secret's value is not in cache_digest: a rotated secret
	 * keeps the client's cached tokens (config_tenant.c). */
	if (strcmp(sname, "saml") != 0) {
		l->cache_digest = config_digest(l->cache_digest, sname, strlen(sname) + 1);
		l->cache_digest = config_digest(l->cache_digest, oname, strlen(oname) + 1);
	}
	return secret;
}

bool
config_follow_links(const struct load *l)
{
	return (l->flags & CONFIG_ALLOW_INSECURE) != 0;
}

/*
 * The rules for every file the configuration names, on what fstat said of
 * the descriptor it was read from, for the broker's user ([broker] user,
 * else whoever runs the command):
 *   - no one but root and the broker's user may change it: its owner is
 *     one of them, and neither its group nor others may write it;
 *   - a file of secrets (the main file, a tenant file, a file: secret or
 *     pkey) may be read by its owner, and by its group only when that
 *     group is root's or the broker's user's primary group (a package
 *     installs the main file 0640 root:samlbroker);
 *   - with [broker] user set, that user must be able to read it (as its
 *     owner, through its primary group, or as anyone), so that `check` as
 *     root does not pass a file the service cannot open.
 * allow_insecure_permissions = yes lifts the owner and read rules (e.g.
 * read-only container mounts), never the write rule.  sname NULL: the
 * problem is the file's own; else it is reported at that option of the
 * file being loaded.
 */
void
config_permissions_check(struct load *l, const char *sname,
    const char *oname, const char *path, const struct source_stat *st, bool secret)
{
	bool		 insecure = (l->flags & CONFIG_ALLOW_INSECURE) != 0;
	bool		 named = l->src->owner_set;
	uid_t		 uid = named ? l->src->owner_uid : geteuid();
	gid_t		 gid = named ? l->src->owner_gid : getegid();
	/* an agent_map names its file; secrets and keys say file:PATH */
	const char	*ref = oname != NULL && strcmp(oname, "agent_map") == 0 ? "" : "file:";
	char		*shown, what[300], who[120];

	if (!st->live)
		return;
	if (named)
		snprintf(who, sizeof(who), "the broker's user %s (uid %u, [broker] user)",
		    l->src->owner_name, (unsigned)uid);
	else
		snprintf(who, sizeof(who), "the broker's user (uid %u)",
		    (unsigned)uid);
	if ((st->mode & 0022) != 0) {
		snprintf(what, sizeof(what), "is writable by group or others (mode "
		    "%04o): chmod go-w it", (unsigned)(st->mode & 07777));
	} else if (insecure)
		return;
	else if (secret && ((st->mode & 0004) != 0 || ((st->mode & 0040) != 0 &&
	    st->gid != 0 && st->gid != gid)))
		snprintf(what, sizeof(what), "mode %04o lets other users read the "
		    "secrets in it; chmod 600 it%s%s%s", (unsigned)(st->mode & 07777),
		    named ? " (or 640 with group " : "",
		    named ? l->src->owner_name : "", named ? "'s primary group)" : "");
	else if (st->uid != 0 && st->uid != uid)
		snprintf(what, sizeof(what), "it belongs to uid %u, neither root "
		    "nor %s; chown it", (unsigned)st->uid, who);
	else if (named && uid != 0 && !(st->uid == uid && (st->mode & 0400) != 0) &&
	    !(st->gid == gid && (st->mode & 0040) != 0) && (st->mode & 0004) == 0)
		snprintf(what, sizeof(what), "%s cannot read it (owner uid %u, "
		    "group gid %u, mode %04o); chown %s it, or chgrp %s and "
		    "chmod g+r it", who, (unsigned)st->uid, (unsigned)st->gid,
		    (unsigned)(st->mode & 07777), l->src->owner_name,
		    l->src->owner_name);
	else
		return;
	shown = config_printable_dup(path);
	if (sname == NULL && (st->mode & 0022) != 0)
		diag_error(l->d, shown, NULL, NULL, "%s", what);
	else if (sname == NULL)
		diag_error(l->d, shown, NULL, NULL, "%s (or set "
		    "allow_insecure_permissions = yes in [broker], e.g. for "
		    "read-only container mounts)", what);
	else if ((st->mode & 0022) != 0)
		diag_error(l->d, l->file, sname, oname, "%s%s: %s", ref, shown, what);
	else
		diag_error(l->d, l->file, sname, oname, "%s%s: %s (or set "
		    "allow_insecure_permissions = yes in [broker])", ref, shown, what);
	free(shown);
}
