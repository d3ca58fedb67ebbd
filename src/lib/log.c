/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - one line per event on stderr, for journald.
 *
 * Callers format key=value fields themselves.  Nothing here knows what a
 * secret is: callers never pass one.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static enum log_level	 current_level = LOG_LEVEL_INFO;
static const char	*log_progname = "samlbroker";

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(enum log_level level, const char *progname)
{
	current_level = level;
	if (progname != NULL)
		log_progname = progname;
}

void
log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level
log_get_level(void)
{
	return current_level;
}

int
log_level_parse(const char *s, enum log_level *ret)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*ret = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

static void __attribute__((format(printf, 3, 0)))
vlog(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	char	 msg[2048];

	if (level > current_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Control characters never reach the journal: a line stays a line. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (errstr != NULL)
		fprintf(stderr, "%s: level=%s %s error=\"%s\"\n", log_progname,
		    level_names[level], msg, errstr);
	else
		fprintf(stderr, "%s: level=%s %s\n", log_progname,
		    level_names[level], msg);
}

/* A failure that stops what was being done (a start-up, a reload): the
 * process may go on, unlike fatal. */
void
log_error(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_errorx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
