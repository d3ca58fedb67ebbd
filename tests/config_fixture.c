/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_fixture.c - the configuration tests' directory, files and key
 * fixtures (see config_fixture.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "samlbroker.h"
#include "config_fixture.h"

char	 fixture_dir[FIXTURE_DIR_MAX];

int
fixture_dir_make(const char *test, bool tenants)
{
	char	 path[PATH_MAX + 16];

	snprintf(fixture_dir, sizeof(fixture_dir), "/tmp/%s.XXXXXX", test);
	if (mkdtemp(fixture_dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tenants", fixture_dir);
	return tenants && mkdir(path, 0700) == -1 ? -1 : 0;
}

int
fixture_dir_remove(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture_dir);
	return system(cmd) == 0 ? 0 : -1;
}

char *
fixture_key(const char *keydir, const char *name, bool join)
{
	const char	*top = getenv("top_srcdir");
	char		 path[PATH_MAX], *buf, *o;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/tests/data/keys/%s/%s",
	    top != NULL ? top : ".", keydir, name);
	if (read_file_limited(path, 65536, &buf, &len) == -1)
		fail_msg("cannot read %s", path);
	if (join) {
		o = buf;
		for (char *p = buf; *p != '\0'; p++)
			if (*p != '\n' && *p != '\r')
				*o++ = *p;
		*o = '\0';
	} else {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
	}
	return buf;
}

void
fixture_write(const char *rel, const char *text, mode_t mode)
{
	char	 path[PATH_MAX], *slash;
	FILE	*fp;
	int	 n = snprintf(path, sizeof(path), "%s/%s", fixture_dir, rel);

	assert_true(n > 0 && (size_t)n < sizeof(path));
	for (slash = strchr(path + strlen(fixture_dir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0700);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}
