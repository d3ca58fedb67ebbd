/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c - a libFuzzer target for the configuration loaders: the
 * main file ([broker], [access:TENANT]) and one tenant file, through the
 * INI reader and config_load, from any bytes.  No crash, no leak, no read
 * out of bounds; a load that fails says why.
 *
 * The input is the main file, a NUL byte, then the tenant file (a main file
 * holding a NUL is refused by the INI reader anyway).  Both are written
 * into a private temporary directory (mode 0600, as the loader demands) as
 * samlbroker.conf and tenants/acme.cfg.  Seeds: tests/fuzz/corpus/config/.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samlbroker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The caller's login name, as struct caller asks for it. */
static const char *
login_root(void *arg)
{
	(void)arg;
	return "root";
}

static char	 dir[64];

static void
put(const char *rel, const uint8_t *data, size_t len)
{
	char	 path[PATH_MAX];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*nul = memchr(data, '\0', size);
	size_t			 mlen = nul != NULL ? (size_t)(nul - data) : size;
	struct broker_config	*c;
	struct diag		 d;
	char			 path[PATH_MAX];

	keystore_global_init();	/* keys load in this program; idempotent */
	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_config.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/tenants", dir);
		mkdir(path, 0700);
	}
	put("samlbroker.conf", data, mlen);
	put("tenants/acme.cfg", nul != NULL ? nul + 1 : data,
	    nul != NULL ? size - mlen - 1 : 0);
	snprintf(path, sizeof(path), "%s/samlbroker.conf", dir);
	diag_init(&d);
	c = config_load_ext(path, &d, (size & 1) ? CONFIG_NO_PRIVATE_KEYS : 0);
	if (c == NULL && d.errors == 0)
		abort();	/* a refusal always says why */
	if (c != NULL) {
		/* Exercise what `check` and the front do with a loaded config. */
		const struct config_option	*o;
		size_t				 n;
		char				 buf[4096];

		o = config_options(&n);
		for (size_t i = 0; i < n; i++)
			(void)config_option_format(c, &o[i], buf, sizeof(buf));
		for (size_t i = 0; i < c->n_tenants; i++) {
			struct caller	 who = { .is_unix = true, .login = login_root };
			char		**lines;
			size_t		  k = access_describe(c->tenants[i], &lines);

			while (k > 0)
				free(lines[--k]);
			free(lines);
			(void)access_decide(c->tenants[i], &who, ACCESS_USER_TOKEN,
			    "root@example.com", NULL);
			(void)access_decide(c->tenants[i], &who, ACCESS_SERVICE_TOKEN,
			    "ewt", NULL);
		}
		config_free(c);
	}
	diag_clear(&d);
	return 0;
}
