/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_util.c - small helpers of the configuration loaders: option
 * lookup with "missing"/"empty" reports, numbers, booleans, URLs, paths
 * and the digest that tells a changed tenant on reload.  Nothing here
 * knows a section or an option by name.
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config_load.h"

char *
config_printable_dup(const char *s)
{
	char	*p = xstrdup(s);

	for (char *q = p; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return p;
}

/* rel if absolute, else rel in the directory of the file base. */
char *
config_path_relative(const char *base, const char *rel)
{
	const char	*slash;
	char		*out;
	int		 n;

	if (rel[0] == '/' || (slash = strrchr(base, '/')) == NULL)
		return xstrdup(rel);
	n = snprintf(NULL, 0, "%.*s/%s", (int)(slash - base), base, rel);
	out = xmalloc((size_t)n + 1);
	snprintf(out, (size_t)n + 1, "%.*s/%s", (int)(slash - base), base, rel);
	return out;
}

/* FNV-1a, 64 bits. */
uint64_t
config_digest(uint64_t h, const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* Reads the main file or a tenant file whole; 0, or -1 after reporting. */
int
config_read_file(struct load *l, const char *file, const char *path,
    enum source_kind kind, char **ret_buf, size_t *ret_len, struct source_stat *ret_st)
{
	bool	 follow = kind == SOURCE_MAIN || config_follow_links(l);

	if (source_read(l->src, path, kind, SOURCE_USE_FRONT, follow, CONFIG_MAX_FILE,
	    ret_buf, ret_len, ret_st) == 0)
		return 0;
	if (errno == EFBIG)
		diag_error(l->d, file, NULL, NULL, "file is larger than %d bytes",
		    CONFIG_MAX_FILE);
	else if (errno == EINVAL || errno == ELOOP || errno == ENODATA)
		diag_error(l->d, file, NULL, NULL, "%s", source_strerror(errno));
	else
		diag_error(l->d, file, NULL, NULL, "cannot read: %s", strerror(errno));
	return -1;
}

void
config_wipe_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

bool
config_in_list(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* An option of a section, marked as used; NULL when absent. */
struct ini_option *
config_opt_get(struct ini_section *s, const char *name)
{
	struct ini_option	*o = ini_option_find(s, name);

	if (o != NULL)
		o->used = true;
	return o;
}

/*
 * A required option's value, or NULL after reporting it missing or empty.
 * Nothing is reported when the section itself is missing (said once).
 */
const char *
config_opt_required(struct load *l, struct ini_section *s, const char *sname,
    const char *name)
{
	struct ini_option	*o;

	if (s == NULL)
		return NULL;
	if ((o = config_opt_get(s, name)) == NULL) {
		diag_error(l->d, l->file, sname, name, "required option is missing");
		return NULL;
	}
	if (o->value[0] == '\0') {
		diag_error(l->d, l->file, sname, name, "must not be empty");
		return NULL;
	}
	return o->value;
}

/* An optional option's value; NULL when absent or (reported) empty. */
const char *
config_opt_optional(struct load *l, struct ini_section *s, const char *sname,
    const char *name)
{
	struct ini_option	*o;

	if (s == NULL || (o = config_opt_get(s, name)) == NULL)
		return NULL;
	if (o->value[0] == '\0') {
		diag_error(l->d, l->file, sname, name, "must not be empty");
		return NULL;
	}
	return o->value;
}

/* Options of s not in known, with the nearest known name when one is
 * close: errors, or warnings that say the option is ignored. */
static void
unknown_options(struct load *l, struct ini_section *s,
    const char *const *known, bool refuse)
{
	void	(*report)(struct diag *, const char *, const char *, const char *,
		    const char *, ...) = refuse ? diag_error : diag_warn;
	const char *what = refuse ? "unknown option" : "unknown option, ignored";

	for (size_t i = 0; i < s->n_options; i++) {
		struct ini_option	*o = &s->options[i];
		const char		*near;

		if (o->used || config_in_list(known, o->name))
			continue;
		if ((near = config_near_miss(o->name, known)) != NULL)
			report(l->d, l->file, s->name, o->name, "%s; did you mean %s?",
			    what, near);
		else
			report(l->d, l->file, s->name, o->name, "%s", what);
	}
}

void
config_unknown_options(struct load *l, struct ini_section *s,
    const char *const *known)
{
	unknown_options(l, s, known, false);
}

/* A decimal number in [min, max], digits only. */
int
config_parse_number(const char *s, long min, long max, long *ret)
{
	long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < min)
		return -1;
	*ret = v;
	return 0;
}

int
config_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (size_t i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -1;
}

bool
config_host_is_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/*
 * An https:// URL with a host (http:// for a literal loopback address
 * only), the one rule of config and upstream.  NULL when fine, else what
 * is wrong.  The URL itself is never quoted: it may carry credentials.
 */
const char *
url_check_token_endpoint(const char *url)
{
	const char	*rest, *host, *port = NULL, *rb;
	size_t		 alen, hlen;
	bool		 http = false;
	char		 hostbuf[256];
	long		 pnum;

	if (strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0) {
		rest = url + 7;
		http = true;
	} else
		return "must be an https:// URL";
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces";
	alen = strcspn(rest, "/?#");
	if (memchr(rest, '@', alen) != NULL)
		return "must not contain a user name or password";
	if (rest[0] == '[') {
		if ((rb = memchr(rest, ']', alen)) == NULL)
			return "has a malformed IPv6 address";
		host = rest + 1;
		hlen = (size_t)(rb - host);
		if (rb + 1 < rest + alen) {
			if (rb[1] != ':')
				return "has a malformed IPv6 address";
			port = rb + 2;
		}
	} else {
		host = rest;
		rb = memchr(rest, ':', alen);
		hlen = rb != NULL ? (size_t)(rb - rest) : alen;
		if (rb != NULL)
			port = rb + 1;
	}
	if (hlen == 0)
		return "must name a host";
	if (port != NULL) {
		char	 pbuf[8];
		size_t	 plen = (size_t)(rest + alen - port);

		if (plen == 0 || plen >= sizeof(pbuf))
			return "has an invalid port";
		memcpy(pbuf, port, plen);
		pbuf[plen] = '\0';
		if (config_parse_number(pbuf, 1, 65535, &pnum) == -1)
			return "has an invalid port";
	}
	if (http) {
		struct in_addr	 a4;
		struct in6_addr	 a6;
		bool		 loopback = false;

		if (hlen < sizeof(hostbuf)) {
			memcpy(hostbuf, host, hlen);
			hostbuf[hlen] = '\0';
			/* Literal addresses only: a name such as localhost goes
			 * through the resolver, which may send it elsewhere. */
			if (inet_pton(AF_INET, hostbuf, &a4) == 1)
				loopback = (ntohl(a4.s_addr) >> 24) == 127;
			else if (inet_pton(AF_INET6, hostbuf, &a6) == 1)
				loopback = IN6_IS_ADDR_LOOPBACK(&a6);
		}
		if (!loopback)
			return "http:// is allowed only for a literal loopback "
			    "address (127.0.0.0/8 or [::1]); use https://";
	}
	return NULL;
}

bool
config_uuid_shaped(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* Levenshtein distance of two short names, capped at 9. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return 9;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb] > 9 ? 9 : row[lb];
}

const char *
config_near_miss(const char *name, const char *const *known)
{
	const char	*best = NULL;
	size_t		 bestd = 3;	/* at most two edits */

	for (; *known != NULL; known++) {
		size_t d = edit_distance(name, *known);

		if (d < bestd || (d == bestd && best == NULL && d < 3)) {
			best = *known;
			bestd = d;
		}
	}
	return best;
}

void
config_refuse_unknown(struct load *l, struct ini_section *s,
    const char *const *known)
{
	unknown_options(l, s, known, true);
}
