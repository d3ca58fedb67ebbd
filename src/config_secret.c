/*
 * config_secret.c - secrets in configuration files and the permission
 * check of the files that hold them.
 *
 * A secret (password, client_secret) may be written literally, as
 * "file:PATH" or as "env:NAME".  A secret value never reaches a message.
 */
#include "config.h"

#include <sys/stat.h>

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
	char		*buf;
	const char	*v;
	size_t		 len;

	if (strncmp(value, "file:", 5) == 0) {
		if (value[5] == '\0') {
			*why = "file: needs a path";
			return -1;
		}
		if (read_file_limited(value + 5, SECRET_MAX, &buf, &len) == -1) {
			if (errno == EFBIG)
				*why = "the secret file is larger than 4096 bytes";
			else if (errno == EINVAL)
				*why = "the secret file is not a regular file";
			else
				*why = strerror(errno);
			return -1;
		}
		if (len > 0 && buf[len - 1] == '\n')
			len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
		buf[len] = '\0';
		*why = NULL;
		if (len == 0)
			*why = "the secret file is empty";
		else if (memchr(buf, '\0', len) != NULL)
			*why = "the secret file holds a NUL byte";
		else if (memchr(buf, '\n', len) != NULL || memchr(buf, '\r', len) != NULL)
			*why = "the secret file holds more than one line";
		if (*why != NULL) {
			config_wipe_free(buf, len);
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
		if ((v = getenv(value + 4)) == NULL) {
			*why = "the environment variable is not set";
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
    const char *value)
{
	const char	*why;
	char		*ref = NULL, *path, *secret;

	if (strncmp(value, "file:", 5) == 0 && value[5] != '\0') {
		path = config_path_relative(l->path, value + 5);
		ref = xmalloc(strlen(path) + 6);
		memcpy(ref, "file:", 5);
		memcpy(ref + 5, path, strlen(path) + 1);
		free(path);
		value = ref;
	}
	if (secret_resolve(value, &secret, &why) == -1) {
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
		config_permissions_check(l, sname, oname, ref + 5);
	free(ref);
	l->digest = config_digest(l->digest, sname, strlen(sname) + 1);
	l->digest = config_digest(l->digest, oname, strlen(oname) + 1);
	l->digest = config_digest(l->digest, secret, strlen(secret) + 1);
	return secret;
}

/*
 * A file of secrets (a tenant file, the main file, a file: secret) may be
 * read by its owner only, and its owner is root or the broker's own user:
 * anyone else could change it.  sname NULL: the problem is the file's own;
 * else it is reported at that option of the file being loaded.
 */
void
config_permissions_check(struct load *l, const char *sname,
    const char *oname, const char *path)
{
	struct stat	 st;
	char		*shown, what[160];

	if ((l->flags & CONFIG_ALLOW_INSECURE) || stat(path, &st) == -1)
		return;
	if ((st.st_mode & 0044) != 0)
		snprintf(what, sizeof(what), "mode %04o lets other users read the "
		    "secrets in it; chmod 600 it", (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		snprintf(what, sizeof(what), "it belongs to uid %u, neither root "
		    "nor the broker's user (uid %u); chown it",
		    (unsigned)st.st_uid, (unsigned)geteuid());
	else
		return;
	shown = config_printable_dup(path);
	if (sname == NULL)
		diag_error(l->d, shown, NULL, NULL, "%s (or set "
		    "allow_insecure_permissions = yes in [broker], e.g. for "
		    "read-only container mounts)", what);
	else
		diag_error(l->d, l->file, sname, oname, "file:%s: %s (or set "
		    "allow_insecure_permissions = yes in [broker])", shown, what);
	free(shown);
}
