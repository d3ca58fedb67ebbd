/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ini.c - the INI reader for configuration files and Genesys options
 * exports.
 *
 * The syntax, strictly:
 *   - an optional UTF-8 byte order mark at the very start;
 *   - lines end in LF or CRLF; the last line may lack its end;
 *   - blank lines, and comment lines whose first non-blank character is
 *     ';' or '#' (comments take whole lines only: a value may hold ';');
 *   - "[section]" headers, spaces inside the brackets trimmed;
 *   - "option = value" lines, split at the first '=', name and value
 *     trimmed of spaces and tabs; the value may be empty and may hold '=';
 *   - continuation lines, for base64 wrapped as `openssl base64` writes it
 *     (64 characters a line): a line holding only base64 characters, with
 *     '=' only as padding at its end, continues the value above it when
 *     that value is base64 without padding so far, and either the line is
 *     indented (starts with a space or tab) or the line above it held
 *     exactly 64 base64 characters; an empty value goes on in indented
 *     lines too.  The value keeps the lines, joined with '\n'; padding, a
 *     blank line, a comment or any other line ends it.  (So "name=" after a full 64-character line would be read as
 *     padding: write "name = " with a space.)
 * Everything else is an error, reported as "line N: what": an option
 * before any section, a duplicate section, a duplicate option within a
 * section (unless the caller lists its name as repeatable), a malformed
 * header, a line without '=', a line longer than INI_MAX_LINE bytes, a NUL
 * byte or another control character.
 *
 * Values may be secrets: an error text never quotes a value (only names,
 * cut to 64 characters), and ini_free wipes every value.  This file knows
 * nothing of what the options mean; config.c does.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "samlbroker.h"

#define INI_MAX_FILE		(1024 * 1024)
#define INI_MAX_SECTIONS	1000
#define INI_MAX_OPTIONS		10000	/* in the whole file */
#define INI_NAME_QUOTE		64	/* longest name quoted in an error */
#define B64_LINE		64	/* openssl base64's line length */

/* The option whose value the next line may continue. */
struct cont {
	struct ini_option	*opt;	/* NULL: none */
	bool			 full;	/* the value's last line held B64_LINE characters */
};

/* Copies a name for an error text: at most INI_NAME_QUOTE bytes, control
 * characters replaced by '?', "..." when cut. */
static const char *
quote_name(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t	 n = 0, max = buflen - 4;

	if (max > INI_NAME_QUOTE)
		max = INI_NAME_QUOTE;
	for (size_t i = 0; i < len && n < max; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (len > max) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static void
seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims spaces and tabs off both ends of [*s, *s + *len). */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

static bool
name_in(const char *const *list, const char *name)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static struct ini_section *
add_section(struct ini_file *f, const char *name, size_t len, int line)
{
	struct ini_section	*s;

	s = reallocarray(f->sections, f->n_sections + 1, sizeof(*f->sections));
	if (s == NULL)
		fatal("reallocarray");
	f->sections = s;
	s = &f->sections[f->n_sections++];
	memset(s, 0, sizeof(*s));
	s->name = xstrndup(name, len);
	s->line = line;
	return s;
}

static void
add_option(struct ini_section *s, const char *name, size_t nlen,
    const char *value, size_t vlen, int line)
{
	struct ini_option	*o;

	o = reallocarray(s->options, s->n_options + 1, sizeof(*s->options));
	if (o == NULL)
		fatal("reallocarray");
	s->options = o;
	o = &s->options[s->n_options++];
	memset(o, 0, sizeof(*o));
	o->name = xstrndup(name, nlen);
	o->value = xstrndup(value, vlen);
	o->line = line;
	o->last_line = line;
}

/* Base64 characters, then at most two '=': 1 with padding, 0 without,
 * -1 when not such a run. */
static int
b64_run(const char *p, size_t len)
{
	size_t	 i = 0, pad = 0;

	for (; i < len; i++) {
		char c = p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			break;
	}
	if (i == 0)
		return -1;
	for (; i < len && p[i] == '='; i++)
		pad++;
	return i == len && pad <= 2 ? (pad > 0) : -1;
}

/* Appends a continuation line to c->opt's value; -1 when too long. */
static int
continue_value(struct cont *c, const char *p, size_t len, bool padded, int line)
{
	size_t	 old = strlen(c->opt->value);
	char	*v;

	if (old + 1 + len > INI_MAX_LINE)
		return -1;
	v = xmalloc(old + len + 2);
	memcpy(v, c->opt->value, old);
	if (old > 0)
		v[old++] = '\n';
	memcpy(v + old, p, len);
	v[old + len] = '\0';
	OPENSSL_cleanse(c->opt->value, old);
	free(c->opt->value);
	c->opt->value = v;
	c->opt->last_line = line;
	c->full = !padded && len == B64_LINE;
	if (padded)
		c->opt = NULL;
	return 0;
}

/* A line is text: not too long, no NUL, no control character but tab. */
static int
check_bytes(const char *p, size_t len, int line, char *errbuf, size_t errlen)
{
	if (len > INI_MAX_LINE) {
		seterr(errbuf, errlen, "line %d: line is longer than %d bytes",
		    line, INI_MAX_LINE);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\0') {
			seterr(errbuf, errlen, "line %d: NUL byte", line);
			return -1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			seterr(errbuf, errlen, "line %d: control character 0x%02x",
			    line, c);
			return -1;
		}
	}
	return 0;
}

/* "[name]" (trimmed, p[0] == '['): a new section, which becomes *cur. */
static int
parse_section(struct ini_file *f, struct ini_section **cur, const char *p,
    size_t len, int line, char *errbuf, size_t errlen)
{
	const char	*name = p + 1;
	size_t		 nlen = len - 2;
	char		 q1[INI_NAME_QUOTE + 4];

	if (p[len - 1] != ']') {
		seterr(errbuf, errlen, "line %d: malformed section header: "
		    "it must end with ']'", line);
		return -1;
	}
	if (memchr(name, '[', nlen) != NULL || memchr(name, ']', nlen) != NULL) {
		seterr(errbuf, errlen, "line %d: malformed section header: "
		    "'[' or ']' inside the name", line);
		return -1;
	}
	trim(&name, &nlen);
	if (nlen == 0) {
		seterr(errbuf, errlen, "line %d: malformed section header: "
		    "empty name", line);
		return -1;
	}
	for (size_t i = 0; i < f->n_sections; i++) {
		const struct ini_section *s = &f->sections[i];

		if (strlen(s->name) == nlen && memcmp(s->name, name, nlen) == 0) {
			seterr(errbuf, errlen, "line %d: duplicate section [%s] "
			    "(first on line %d)", line,
			    quote_name(name, nlen, q1, sizeof(q1)), s->line);
			return -1;
		}
	}
	if (f->n_sections >= INI_MAX_SECTIONS) {
		seterr(errbuf, errlen, "line %d: more than %d sections",
		    line, INI_MAX_SECTIONS);
		return -1;
	}
	*cur = add_section(f, name, nlen, line);
	return 0;
}

/* A line of base64 characters only, at least 16 of them ('=' as padding
 * at the end only). */
static bool
looks_base64(const char *p, size_t len)
{
	size_t	 n = 0;

	while (len > 0 && (p[len - 1] == '=' || p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if ((c == ' ' || c == '\t') && n == 0)
			continue;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
		n++;
	}
	return n >= 16;
}

/* "name = value" (trimmed) in section cur; an empty or base64 value may
 * be continued on the next lines (k). */
static int
parse_option(struct ini_section *cur, struct cont *k, const char *p, size_t len,
    int line, const char *const *repeatable, size_t *n_options,
    char *errbuf, size_t errlen)
{
	const char	*eq, *name, *value;
	size_t		 nlen, vlen;
	char		 q1[INI_NAME_QUOTE + 4], q2[INI_NAME_QUOTE + 4];

	if ((eq = memchr(p, '=', len)) == NULL ||
	    (looks_base64(p, len) && eq >= p + len - 2)) {
		/* Base64 that did not continue a value: a wrapped value broken
		 * by an editor (re-wrapped lines, a line not 64 long). */
		seterr(errbuf, errlen, "line %d: expected '[section]' or "
		    "'option = value'%s", line, looks_base64(p, len) ? "; this "
		    "looks like base64 that does not continue the value above "
		    "(see WRAPPED VALUES in samlbroker.conf(5): indent continuation "
		    "lines, or use file:PATH)" : "");
		return -1;
	}
	name = p;
	nlen = (size_t)(eq - p);
	value = eq + 1;
	vlen = len - nlen - 1;
	trim(&name, &nlen);
	trim(&value, &vlen);
	if (nlen == 0) {
		seterr(errbuf, errlen, "line %d: option name is empty", line);
		return -1;
	}
	if (cur == NULL) {
		seterr(errbuf, errlen, "line %d: option '%s' outside any section",
		    line, quote_name(name, nlen, q1, sizeof(q1)));
		return -1;
	}
	for (size_t i = 0; i < cur->n_options; i++) {
		const struct ini_option *o = &cur->options[i];

		if (strlen(o->name) != nlen || memcmp(o->name, name, nlen) != 0)
			continue;
		if (name_in(repeatable, o->name))
			break;
		seterr(errbuf, errlen, "line %d: duplicate option '%s' in [%s] "
		    "(first on line %d)", line,
		    quote_name(name, nlen, q1, sizeof(q1)),
		    quote_name(cur->name, strlen(cur->name), q2, sizeof(q2)),
		    o->line);
		return -1;
	}
	if (*n_options >= INI_MAX_OPTIONS) {
		seterr(errbuf, errlen, "line %d: more than %d options", line,
		    INI_MAX_OPTIONS);
		return -1;
	}
	(*n_options)++;
	add_option(cur, name, nlen, value, vlen, line);
	/* An empty value may go on in indented lines. */
	if (vlen == 0 || b64_run(value, vlen) == 0) {
		k->opt = &cur->options[cur->n_options - 1];
		k->full = vlen == B64_LINE;
	}
	return 0;
}

/*
 * Parses one line (without its line end) into f.  Returns 0, or -1 with
 * the error in errbuf.
 */
static int
parse_line(struct ini_file *f, struct ini_section **cur, struct cont *k, const char *p,
    size_t len, int line, const char *const *repeatable, size_t *n_options,
    char *errbuf, size_t errlen)
{
	bool		 indented = len > 0 && is_blank(p[0]);
	int		 run;

	if (check_bytes(p, len, line, errbuf, errlen) == -1)
		return -1;
	trim(&p, &len);
	run = len > 0 ? b64_run(p, len) : -1;
	if (k->opt != NULL && run != -1 && (indented || k->full)) {
		if (continue_value(k, p, len, run == 1, line) == -1) {
			seterr(errbuf, errlen, "line %d: continued value is longer than "
			    "%d bytes", line, INI_MAX_LINE);
			return -1;
		}
		return 0;
	}
	k->opt = NULL;
	if (len == 0 || p[0] == ';' || p[0] == '#')
		return 0;
	if (p[0] == '[')
		return parse_section(f, cur, p, len, line, errbuf, errlen);
	return parse_option(*cur, k, p, len, line, repeatable, n_options,
	    errbuf, errlen);
}

struct ini_file *
ini_parse_ext(const char *path, const char *buf, size_t len,
    const char *const *repeatable, char *errbuf, size_t errlen)
{
	struct ini_file		*f;
	struct ini_section	*cur = NULL;
	struct cont		 c = { NULL, false };
	const char		*p = buf, *end = buf + len, *nl;
	size_t			 n_options = 0, llen;
	int			 line = 0;

	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path != NULL ? path : "-");
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		if (line == INT_MAX) {
			seterr(errbuf, errlen, "line %d: too many lines", line);
			goto fail;
		}
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		llen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (parse_line(f, &cur, &c, p, llen, line, repeatable, &n_options,
		    errbuf, errlen) == -1)
			goto fail;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return f;
fail:
	ini_free(f);
	return NULL;
}

struct ini_file *
ini_parse(const char *path, const char *buf, size_t len, char *errbuf,
    size_t errlen)
{
	return ini_parse_ext(path, buf, len, NULL, errbuf, errlen);
}

struct ini_file *
ini_load(const char *path, char *errbuf, size_t errlen)
{
	struct ini_file	*f;
	char		*buf;
	size_t		 len;

	if (read_file_limited(path, INI_MAX_FILE, &buf, &len) == -1) {
		if (errno == EFBIG)
			seterr(errbuf, errlen, "file is larger than %d bytes",
			    INI_MAX_FILE);
		else
			seterr(errbuf, errlen, "cannot read: %s", strerror(errno));
		return NULL;
	}
	f = ini_parse(path, buf, len, errbuf, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return f;
}

void
ini_free(struct ini_file *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n_sections; i++) {
		struct ini_section *s = &f->sections[i];

		for (size_t j = 0; j < s->n_options; j++) {
			free(s->options[j].name);
			secret_free(s->options[j].value);
		}
		free(s->options);
		free(s->name);
	}
	free(f->sections);
	free(f->path);
	free(f);
}

struct ini_section *
ini_section_find(const struct ini_file *f, const char *name)
{
	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < f->n_sections; i++)
		if (strcmp(f->sections[i].name, name) == 0)
			return &f->sections[i];
	return NULL;
}

/* The first option of that name (options marked repeatable: iterate). */
struct ini_option *
ini_option_find(struct ini_section *s, const char *name)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->n_options; i++)
		if (strcmp(s->options[i].name, name) == 0)
			return &s->options[i];
	return NULL;
}
