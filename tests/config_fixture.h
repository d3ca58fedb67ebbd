/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_fixture.h - what the configuration tests (tests/test_config.c,
 * test_snapshot.c, test_config_tls.c) share: a directory of their own
 * under /tmp, files written in it at a mode, and the vendor key fixtures
 * of tests/data/keys read as a tenant file holds them.
 */
#ifndef CONFIG_FIXTURE_H
#define CONFIG_FIXTURE_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>

/* The test's directory, while it exists. */
#define FIXTURE_DIR_MAX	64	/* /tmp/TEST.XXXXXX */
extern char	 fixture_dir[FIXTURE_DIR_MAX];

/* /tmp/TEST.XXXXXX made, and in it tenants/ when asked; 0 or -1. */
int	 fixture_dir_make(const char *test, bool tenants);
/* The directory and all it holds removed; 0 or -1. */
int	 fixture_dir_remove(void);
/* tests/data/keys/KEYDIR/NAME (below $top_srcdir): joined into one line,
 * or only its last line ends cut; the caller frees it. */
char	*fixture_key(const char *keydir, const char *name, bool join);
/* REL (below the directory; its missing folders made) holds text, at mode. */
void	 fixture_write(const char *rel, const char *text, mode_t mode);

#endif
