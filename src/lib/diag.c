/* SPDX-License-Identifier: Apache-2.0 */
/*
 * diag.c - the list of problems found while loading configuration.
 *
 * Each line reads "FILE: [section] option: what is wrong", the form
 * `samlbroker check` prints and the daemon logs.  Callers never put a
 * secret value into a message.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
diag_clear(struct diag *d)
{
	for (size_t i = 0; i < d->n_lines; i++)
		free(d->lines[i]);
	free(d->lines);
	free(d->warning);
	memset(d, 0, sizeof(*d));
}

static void
diag_add(struct diag *d, const char *kind, const char *file,
    const char *section, const char *option, const char *fmt, va_list ap)
{
	char	 msg[1024], where[512] = "";
	char	*line;
	int	 n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (section != NULL && option != NULL)
		snprintf(where, sizeof(where), "[%s] %s: ", section, option);
	else if (section != NULL)
		snprintf(where, sizeof(where), "[%s]: ", section);
	else if (option != NULL)
		snprintf(where, sizeof(where), "%s: ", option);
	n = snprintf(NULL, 0, "%s: %s%s%s", file ? file : "-", kind, where, msg);
	line = xmalloc((size_t)n + 1);
	snprintf(line, (size_t)n + 1, "%s: %s%s%s", file ? file : "-", kind, where, msg);
	d->lines = realloc(d->lines, (d->n_lines + 1) * sizeof(*d->lines));
	d->warning = realloc(d->warning, (d->n_lines + 1) * sizeof(*d->warning));
	if (d->lines == NULL || d->warning == NULL)
		fatal("realloc");
	d->warning[d->n_lines] = kind[0] != '\0';
	d->lines[d->n_lines++] = line;
	if (kind[0] == '\0')
		d->errors++;
	else
		d->warnings++;
}

void
diag_error(struct diag *d, const char *file, const char *section,
    const char *option, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag_add(d, "", file, section, option, fmt, ap);
	va_end(ap);
}

void
diag_warn(struct diag *d, const char *file, const char *section,
    const char *option, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	diag_add(d, "warning: ", file, section, option, fmt, ap);
	va_end(ap);
}
