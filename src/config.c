/*
 * config.c - the main configuration file and the tenant files.
 *
 * config_load reads the main file (section [broker]) and then every
 * "*.cfg" file of the tenants directory, one tenant per file, in the layout
 * of a Genesys hybrid_integration options export: [general], [saml],
 * [saml_auth] and one section per Client Credentials service.  Every
 * problem goes to a struct diag as "FILE: [section] option: what is
 * wrong"; loading goes on after an error so that one `check` run shows
 * them all, and the result is NULL when there was any error.
 *
 * Secrets (password, client_secret) may be written literally, as
 * "file:PATH" or as "env:NAME".  A secret value never reaches a message;
 * the tenant keeps the resolved client secrets (wiped by tenant_free) and
 * hands the key password to keystore.c, which wipes it.
 *
 * The INI syntax is ini.c's; the keys are keystore.c's.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "samlbroker.h"

#define CONFIG_MAX_FILE		(1024 * 1024)
#define SECRET_MAX		4096
#define CERT_WARN_DAYS		30
#define EXPIRE_TIME_MAX		48	/* hours: the longest token life */
#define NAME_RULE	"must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' " \
			"and '-', not starting with '.' or '-'"

static const char *const broker_options[] = {
	"listen", "socket_mode", "tenants_dir", "ca_file", "proxy", "log_level",
	"max_cached_tokens", "allow_remote_tcp", "connect_timeout",
	"request_timeout", "admin_listen", "max_connections", "max_header_size",
	"max_body_size", "client_timeout", "allow_insecure_permissions",
	/* per-tenant fairness (broker.c) */
	"max_cached_tokens_per_tenant", "max_exchanges_per_tenant", NULL
};
static const char *const general_options[] = {
	"organization_sname", "organization_id", "base_auth_url",
	"base_service_url", "default_agent_role_name", "default_admin_role_name",
	NULL
};
static const char *const saml_options[] = {
	"issuer", "certificate", "pkey", "password", "expire_time", "audience",
	"recipient", "destination", "assertion_lifetime", "service_name",
	"sign_response", NULL
};
static const char *const client_options[] = {
	"client_id", "password", "client_secret", NULL
};

/* One file being checked. */
struct load {
	struct diag	*d;
	const char	*file;		/* as shown in messages */
	const char	*path;		/* to resolve relative paths against */
	struct ini_file	*ini;
	uint64_t	 digest;
};

/* A copy of s fit for a message: control characters become '?'. */
static char *
printable_dup(const char *s)
{
	char	*p = xstrdup(s);

	for (char *q = p; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	return p;
}

/* rel if absolute, else rel in the directory of the file base. */
static char *
path_relative_to(const char *base, const char *rel)
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

static char *
path_join(const char *dir, const char *name)
{
	size_t	 dl = strlen(dir), nl = strlen(name);
	char	*out = xmalloc(dl + nl + 2);

	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return out;
}

/* FNV-1a, 64 bits. */
static uint64_t
fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}
#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)

/* Reads a configuration file whole; 0, or -1 after reporting. */
static int
read_config_file(struct diag *d, const char *file, const char *path,
    char **ret_buf, size_t *ret_len)
{
	if (read_file_limited(path, CONFIG_MAX_FILE, ret_buf, ret_len) == 0)
		return 0;
	if (errno == EFBIG)
		diag_error(d, file, NULL, NULL, "file is larger than %d bytes",
		    CONFIG_MAX_FILE);
	else if (errno == EINVAL)
		diag_error(d, file, NULL, NULL, "not a regular file");
	else
		diag_error(d, file, NULL, NULL, "cannot read: %s", strerror(errno));
	return -1;
}

static void
wipe_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

static bool
in_list(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* An option of a section, marked as used; NULL when absent. */
static struct ini_option *
opt_get(struct ini_section *s, const char *name)
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
static const char *
opt_required(struct load *l, struct ini_section *s, const char *sname,
    const char *name)
{
	struct ini_option	*o;

	if (s == NULL)
		return NULL;
	if ((o = opt_get(s, name)) == NULL) {
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
static const char *
opt_optional(struct load *l, struct ini_section *s, const char *sname,
    const char *name)
{
	struct ini_option	*o;

	if (s == NULL || (o = opt_get(s, name)) == NULL)
		return NULL;
	if (o->value[0] == '\0') {
		diag_error(l->d, l->file, sname, name, "must not be empty");
		return NULL;
	}
	return o->value;
}

static void
warn_unknown_options(struct load *l, struct ini_section *s,
    const char *const *known)
{
	for (size_t i = 0; i < s->n_options; i++) {
		struct ini_option *o = &s->options[i];

		if (!o->used && !in_list(known, o->name))
			diag_warn(l->d, l->file, s->name, o->name,
			    "unknown option, ignored");
	}
}

/* A decimal number in [min, max], digits only. */
static int
parse_number(const char *s, long min, long max, long *ret)
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

static int
parse_bool(const char *s, bool *ret)
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

static bool
host_is_loopback(const char *host)
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
 * An https:// URL with a host (http:// for a loopback host only).  NULL
 * when fine, else what is wrong.  The URL itself is never quoted: it may
 * carry credentials.
 */
static const char *
url_check(const char *url)
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
		if (parse_number(pbuf, 1, 65535, &pnum) == -1)
			return "has an invalid port";
	}
	if (http) {
		if (hlen >= sizeof(hostbuf))
			return "http:// is allowed only for 127.0.0.1, ::1 or "
			    "localhost; use https://";
		memcpy(hostbuf, host, hlen);
		hostbuf[hlen] = '\0';
		if (strcmp(hostbuf, "127.0.0.1") != 0 && strcmp(hostbuf, "::1") != 0 &&
		    strcasecmp(hostbuf, "localhost") != 0)
			return "http:// is allowed only for 127.0.0.1, ::1 or "
			    "localhost; use https://";
	}
	return NULL;
}

static bool
uuid_shaped(const char *s)
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

/*
 * Secrets.
 */

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
			wipe_free(buf, len);
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
static char *
secret_get(struct load *l, const char *sname, const char *oname,
    const char *value)
{
	const char	*why;
	char		*ref = NULL, *path, *secret;

	if (strncmp(value, "file:", 5) == 0 && value[5] != '\0') {
		path = path_relative_to(l->path, value + 5);
		ref = xmalloc(strlen(path) + 6);
		memcpy(ref, "file:", 5);
		memcpy(ref + 5, path, strlen(path) + 1);
		free(path);
		value = ref;
	}
	if (secret_resolve(value, &secret, &why) == -1) {
		if (strncmp(value, "file:", 5) == 0 || strncmp(value, "env:", 4) == 0) {
			char *shown = printable_dup(value);
			diag_error(l->d, l->file, sname, oname, "%s: %s", shown, why);
			free(shown);
		} else
			diag_error(l->d, l->file, sname, oname, "%s", why);
		free(ref);
		return NULL;
	}
	free(ref);
	l->digest = fnv1a(l->digest, sname, strlen(sname) + 1);
	l->digest = fnv1a(l->digest, oname, strlen(oname) + 1);
	l->digest = fnv1a(l->digest, secret, strlen(secret) + 1);
	return secret;
}

/*
 * Main file.
 */

/* Parses a listen address; NULL when fine, else what is wrong. */
static const char *
listen_parse(const char *text, struct listen_addr *la)
{
	const char	*rest, *colon, *host, *port;
	size_t		 hlen;
	long		 pnum;

	memset(la, 0, sizeof(*la));
	if (strncmp(text, "unix:", 5) == 0) {
		rest = text + 5;
		if (rest[0] != '/')
			return "a unix socket path must be absolute (unix:/PATH)";
		if (strlen(rest) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			return "the unix socket path is longer than 107 bytes";
		la->kind = LISTEN_UNIX;
		la->text = xstrdup(text);
		la->path = xstrdup(rest);
		return NULL;
	}
	if (strncmp(text, "tcp:", 4) != 0)
		return "unknown address type; use unix:/PATH or tcp:HOST:PORT";
	rest = text + 4;
	if (rest[0] == '[') {
		const char *rb = strchr(rest, ']');
		struct in6_addr a6;
		char buf[INET6_ADDRSTRLEN + 1];

		if (rb == NULL || rb[1] != ':')
			return "malformed address; use tcp:[IPV6]:PORT";
		host = rest + 1;
		hlen = (size_t)(rb - host);
		if (hlen == 0 || hlen >= sizeof(buf))
			return "malformed IPv6 address";
		memcpy(buf, host, hlen);
		buf[hlen] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return "malformed IPv6 address";
		port = rb + 2;
	} else {
		if ((colon = strchr(rest, ':')) == NULL)
			return "a tcp address needs a port (tcp:HOST:PORT)";
		if (strchr(colon + 1, ':') != NULL)
			return "write an IPv6 address in brackets (tcp:[::1]:PORT)";
		host = rest;
		hlen = (size_t)(colon - rest);
		if (hlen == 0)
			return "a tcp address needs a host (tcp:HOST:PORT)";
		port = colon + 1;
	}
	if (parse_number(port, 1, 65535, &pnum) == -1)
		return "the port must be a number from 1 to 65535";
	la->kind = LISTEN_TCP;
	la->text = xstrdup(text);
	la->host = xstrndup(host, hlen);
	la->port = xstrdup(port);
	return NULL;
}

static void
listen_clear(struct listen_addr *la)
{
	free(la->text);
	free(la->path);
	free(la->host);
	free(la->port);
}

static void
listen_add(struct broker_config *c, const struct listen_addr *la)
{
	struct listen_addr	*n;

	n = reallocarray(c->listens, c->n_listens + 1, sizeof(*c->listens));
	if (n == NULL)
		fatal("reallocarray");
	c->listens = n;
	c->listens[c->n_listens++] = *la;
}

static void
broker_listens(struct load *l, struct broker_config *c, struct ini_section *s)
{
	struct listen_addr	 la;
	const char		*why;
	bool			 given = false;

	for (size_t i = 0; s != NULL && i < s->n_options; i++) {
		struct ini_option *o = &s->options[i];
		bool dup = false;

		if (strcmp(o->name, "listen") != 0)
			continue;
		o->used = true;
		given = true;
		if ((why = listen_parse(o->value, &la)) != NULL) {
			diag_error(l->d, l->file, "broker", "listen", "line %d: %s",
			    o->line, why);
			continue;
		}
		if (la.kind == LISTEN_TCP && !c->allow_remote_tcp &&
		    !host_is_loopback(la.host)) {
			char *shown = printable_dup(la.host);
			diag_error(l->d, l->file, "broker", "listen", "line %d: %s is "
			    "not a loopback address; set allow_remote_tcp = yes to "
			    "listen on it", o->line, shown);
			free(shown);
			listen_clear(&la);
			continue;
		}
		for (size_t k = 0; k < c->n_listens; k++)
			if (strcmp(c->listens[k].text, la.text) == 0)
				dup = true;
		if (dup) {
			diag_error(l->d, l->file, "broker", "listen",
			    "line %d: the same address is given twice", o->line);
			listen_clear(&la);
			continue;
		}
		listen_add(c, &la);
	}
	if (!given) {
		if (listen_parse(SAMLBROKER_DEFAULT_SOCKET, &la) != NULL)
			fatalx("bad SAMLBROKER_DEFAULT_SOCKET");
		listen_add(c, &la);
	}
}

static void limit_option(struct load *, struct ini_section *, const char *,
	    long, long, size_t *);

static void
broker_options_load(struct load *l, struct broker_config *c,
    struct ini_section *s)
{
	const char	*v;
	long		 n;

	if ((v = opt_optional(l, s, "broker", "socket_mode")) != NULL) {
		long mode = 0;
		size_t len = strlen(v);

		if (len > 4 || strspn(v, "01234567") != len ||
		    (mode = strtol(v, NULL, 8)) > 0777)
			diag_error(l->d, l->file, "broker", "socket_mode",
			    "must be an octal mode from 0000 to 0777, such as 0660");
		else
			c->socket_mode = (mode_t)mode;
	}
	if ((v = opt_optional(l, s, "broker", "tenants_dir")) != NULL) {
		free(c->tenants_dir);
		c->tenants_dir = path_relative_to(c->path, v);
	}
	if ((v = opt_optional(l, s, "broker", "ca_file")) != NULL) {
		c->ca_file = path_relative_to(c->path, v);
		if (access(c->ca_file, R_OK) == -1) {
			char *shown = printable_dup(c->ca_file);
			diag_error(l->d, l->file, "broker", "ca_file",
			    "cannot read %s: %s", shown, strerror(errno));
			free(shown);
		}
	}
	if ((v = opt_optional(l, s, "broker", "proxy")) != NULL)
		c->proxy = xstrdup(v);
	if ((v = opt_optional(l, s, "broker", "log_level")) != NULL &&
	    log_level_parse(v, &c->log_level) == -1)
		diag_error(l->d, l->file, "broker", "log_level",
		    "must be one of error, warn, info, debug");
	if ((v = opt_optional(l, s, "broker", "max_cached_tokens")) != NULL) {
		if (parse_number(v, 1, 10000000, &n) == -1)
			diag_error(l->d, l->file, "broker", "max_cached_tokens",
			    "must be a whole number from 1 to 10000000");
		else
			c->max_cached_tokens = (size_t)n;
	}
	if ((v = opt_optional(l, s, "broker", "allow_remote_tcp")) != NULL &&
	    parse_bool(v, &c->allow_remote_tcp) == -1)
		diag_error(l->d, l->file, "broker", "allow_remote_tcp",
		    "must be yes or no (or true/false, on/off, 1/0)");
	if ((v = opt_optional(l, s, "broker", "connect_timeout")) != NULL) {
		if (parse_number(v, 1, 120, &n) == -1)
			diag_error(l->d, l->file, "broker", "connect_timeout",
			    "must be a whole number of seconds from 1 to 120");
		else
			c->connect_timeout = (int)n;
	}
	if ((v = opt_optional(l, s, "broker", "request_timeout")) != NULL) {
		if (parse_number(v, 1, 600, &n) == -1)
			diag_error(l->d, l->file, "broker", "request_timeout",
			    "must be a whole number of seconds from 1 to 600");
		else
			c->request_timeout = (int)n;
	}
	if (c->request_timeout < c->connect_timeout)
		diag_error(l->d, l->file, "broker", "request_timeout",
		    "must not be less than connect_timeout");
	limit_option(l, s, "max_connections", 1, 65536, &c->max_connections);
	limit_option(l, s, "max_header_size", 1024, 1048576, &c->max_header_size);
	limit_option(l, s, "max_body_size", 0, 1048576, &c->max_body_size);
	/* Per-tenant fairness (broker.c). */
	limit_option(l, s, "max_cached_tokens_per_tenant", 0, 10000000,
	    &c->max_cached_tokens_per_tenant);
	limit_option(l, s, "max_exchanges_per_tenant", 1, 65536,
	    &c->max_exchanges_per_tenant);
	if ((v = opt_optional(l, s, "broker", "client_timeout")) != NULL) {
		if (parse_number(v, 1, 3600, &n) == -1)
			diag_error(l->d, l->file, "broker", "client_timeout",
			    "must be a whole number of seconds from 1 to 3600");
		else
			c->client_timeout = (int)n;
	}
	if ((v = opt_optional(l, s, "broker", "allow_insecure_permissions")) != NULL &&
	    parse_bool(v, &c->allow_insecure_permissions) == -1)
		diag_error(l->d, l->file, "broker", "allow_insecure_permissions",
		    "must be yes or no (or true/false, on/off, 1/0)");
	if ((v = opt_optional(l, s, "broker", "admin_listen")) != NULL) {
		const char *why = listen_parse(v, &c->admin_listen);

		if (why != NULL)
			diag_error(l->d, l->file, "broker", "admin_listen", "%s", why);
		else if (c->admin_listen.kind == LISTEN_TCP && !c->allow_remote_tcp &&
		    !host_is_loopback(c->admin_listen.host))
			diag_error(l->d, l->file, "broker", "admin_listen",
			    "not a loopback address; set allow_remote_tcp = yes to allow it");
		else
			c->has_admin_listen = true;
	}
}

/* A size or count option in [min, max]. */
static void
limit_option(struct load *l, struct ini_section *s, const char *name,
    long min, long max, size_t *ret)
{
	const char	*v;
	long		 n;

	if ((v = opt_optional(l, s, "broker", name)) == NULL)
		return;
	if (parse_number(v, min, max, &n) == -1)
		diag_error(l->d, l->file, "broker", name,
		    "must be a whole number from %ld to %ld", min, max);
	else
		*ret = (size_t)n;
}

/*
 * [access]: which local users and groups may ask for a tenant's tokens.
 * One option per tenant, a list of user:NAME|UID and group:NAME|GID.
 */
static void
access_add_id(unsigned **list, size_t *n, unsigned id)
{
	*list = reallocarray(*list, *n + 1, sizeof(**list));
	if (*list == NULL)
		fatal("reallocarray");
	(*list)[(*n)++] = id;
}

static void
access_load(struct load *l, struct broker_config *c, struct ini_section *s)
{
	for (size_t i = 0; i < s->n_options; i++) {
		struct ini_option	*o = &s->options[i];
		struct tenant		*t = config_tenant_find(c, o->name);
		char			*list, *item, *save = NULL;

		o->used = true;
		if (t == NULL) {
			diag_warn(l->d, l->file, "access", o->name,
			    "no such tenant, rule ignored");
			continue;
		}
		t->access_restricted = true;
		list = xstrdup(o->value);
		for (item = strtok_r(list, ", \t", &save); item != NULL;
		    item = strtok_r(NULL, ", \t", &save)) {
			bool		 is_user = strncmp(item, "user:", 5) == 0;
			bool		 is_group = strncmp(item, "group:", 6) == 0;
			const char	*who = item + (is_user ? 5 : 6);
			long		 id;

			if (!is_user && !is_group) {
				diag_error(l->d, l->file, "access", o->name,
				    "each entry must be user:NAME, user:UID, group:NAME or group:GID");
				continue;
			}
			if (parse_number(who, 0, 4294967294L, &id) == 0) {
				/* a number */
			} else if (is_user) {
				struct passwd *pw = getpwnam(who);

				if (pw == NULL) {
					char *shown = printable_dup(who);
					diag_error(l->d, l->file, "access", o->name,
					    "no such user '%.64s'", shown);
					free(shown);
					continue;
				}
				id = (long)pw->pw_uid;
			} else {
				struct group *gr = getgrnam(who);

				if (gr == NULL) {
					char *shown = printable_dup(who);
					diag_error(l->d, l->file, "access", o->name,
					    "no such group '%.64s'", shown);
					free(shown);
					continue;
				}
				id = (long)gr->gr_gid;
			}
			if (is_user)
				access_add_id(&t->allow_uids, &t->n_allow_uids, (unsigned)id);
			else
				access_add_id(&t->allow_gids, &t->n_allow_gids, (unsigned)id);
		}
		free(list);
		if (t->n_allow_uids == 0 && t->n_allow_gids == 0)
			diag_error(l->d, l->file, "access", o->name,
			    "names nobody; remove the rule to leave the tenant open");
	}
}

bool
tenant_access_allowed(const struct tenant *t, bool is_unix, unsigned uid,
    const unsigned *gids, size_t n_gids)
{
	if (!t->access_restricted)
		return true;
	if (!is_unix)
		return false;	/* a TCP caller cannot be identified */
	for (size_t i = 0; i < t->n_allow_uids; i++)
		if (t->allow_uids[i] == uid)
			return true;
	for (size_t i = 0; i < t->n_allow_gids; i++)
		for (size_t k = 0; k < n_gids; k++)
			if (t->allow_gids[i] == gids[k])
				return true;
	return false;
}

/* A tenant file holds keys and secrets: only its owner may read it. */
static void
permissions_check(struct load *l, const char *path)
{
	struct stat	 st;
	char		*shown;

	if (stat(path, &st) == -1 || (st.st_mode & 0044) == 0)
		return;
	shown = printable_dup(path);
	diag_error(l->d, shown, NULL, NULL, "mode %04o lets other users read the "
	    "secrets in it; chmod 600 it (or set allow_insecure_permissions = yes "
	    "in [broker], e.g. for read-only container mounts)",
	    (unsigned)(st.st_mode & 07777));
	free(shown);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.cfg file of the tenants directory, by name. */
static void
tenants_load(struct load *l, struct broker_config *c)
{
	DIR		*dir;
	struct dirent	*de;
	char		**names = NULL, *shown;
	size_t		  n = 0;

	if ((dir = opendir(c->tenants_dir)) == NULL) {
		shown = printable_dup(c->tenants_dir);
		diag_error(l->d, l->file, "broker", "tenants_dir", "cannot open %s: %s",
		    shown, strerror(errno));
		free(shown);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= 4 ||
		    strcmp(de->d_name + len - 4, ".cfg") != 0)
			continue;
		names = reallocarray(names, n + 1, sizeof(*names));
		if (names == NULL)
			fatal("reallocarray");
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (n == 0) {
		shown = printable_dup(c->tenants_dir);
		diag_error(l->d, l->file, "broker", "tenants_dir",
		    "no tenant files (*.cfg) in %s", shown);
		free(shown);
		return;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	c->tenants = xcalloc(n, sizeof(*c->tenants));
	for (size_t i = 0; i < n; i++) {
		char *path = path_join(c->tenants_dir, names[i]);
		struct tenant *t;

		names[i][strlen(names[i]) - 4] = '\0';
		if (name_validate(names[i]) == -1) {
			shown = printable_dup(path);
			diag_error(l->d, shown, NULL, NULL, "tenant name "
			    NAME_RULE " (it is the file name without .cfg)");
			free(shown);
		} else if ((t = tenant_load(path, names[i], l->d)) != NULL) {
			c->tenants[c->n_tenants++] = t;
			if (!c->allow_insecure_permissions)
				permissions_check(l, path);
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

struct broker_config *
config_load(const char *path, struct diag *d)
{
	static const char *const repeatable[] = { "listen", NULL };
	struct broker_config	*c;
	struct ini_section	*s;
	struct load		 l = { .d = d, .file = path, .path = path };
	char			 err[256], *buf;
	size_t			 len;
	int			 errors = d->errors;

	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	c->socket_mode = 0660;
	c->tenants_dir = xstrdup(SAMLBROKER_DEFAULT_TENANTS);
	c->log_level = LOG_LEVEL_INFO;
	c->max_cached_tokens = 10000;
	c->connect_timeout = 5;
	c->request_timeout = 15;
	c->max_connections = 1024;
	c->max_exchanges_per_tenant = 32;
	c->max_header_size = 8192;
	c->max_body_size = 4096;
	c->client_timeout = 10;

	if (read_config_file(d, path, path, &buf, &len) == -1)
		goto fail;
	l.ini = ini_parse_ext(path, buf, len, repeatable, err, sizeof(err));
	wipe_free(buf, len);
	if (l.ini == NULL) {
		diag_error(d, path, NULL, NULL, "%s", err);
		goto fail;
	}
	for (size_t i = 0; i < l.ini->n_sections; i++)
		if (strcmp(l.ini->sections[i].name, "broker") != 0 &&
		    strcmp(l.ini->sections[i].name, "access") != 0)
			diag_warn(d, path, l.ini->sections[i].name, NULL,
			    "unknown section, ignored");
	if ((s = ini_section_find(l.ini, "broker")) == NULL) {
		diag_error(d, path, "broker", NULL, "section is missing");
		goto fail;
	}
	broker_options_load(&l, c, s);
	broker_listens(&l, c, s);
	warn_unknown_options(&l, s, broker_options);
	tenants_load(&l, c);
	if ((s = ini_section_find(l.ini, "access")) != NULL)
		access_load(&l, c, s);
	ini_free(l.ini);
	l.ini = NULL;
	if (d->errors > errors)
		goto fail;
	return c;
fail:
	ini_free(l.ini);
	config_free(c);
	return NULL;
}

/* For commands: config_load, with every problem printed on stderr. */
struct broker_config *
config_load_verbose(const char *path)
{
	struct diag		 d;
	struct broker_config	*conf;

	diag_init(&d);
	conf = config_load(path, &d);
	for (size_t i = 0; i < d.n_lines; i++)
		fprintf(stderr, "%s\n", d.lines[i]);
	diag_clear(&d);
	return conf;
}

void
config_free(struct broker_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_listens; i++)
		listen_clear(&c->listens[i]);
	free(c->listens);
	for (size_t i = 0; i < c->n_tenants; i++)
		tenant_free(c->tenants[i]);
	free(c->tenants);
	free(c->path);
	free(c->tenants_dir);
	free(c->ca_file);
	free(c->proxy);
	listen_clear(&c->admin_listen);
	free(c);
}

struct tenant *
config_tenant_find(const struct broker_config *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n_tenants; i++)
		if (strcmp(c->tenants[i]->name, name) == 0)
			return c->tenants[i];
	return NULL;
}

/*
 * Tenant files.
 */

static void
tenant_general(struct load *l, struct tenant *t)
{
	struct ini_section	*s = ini_section_find(l->ini, "general");
	const char		*v, *why;

	if (s == NULL) {
		diag_error(l->d, l->file, "general", NULL, "section is missing");
		return;
	}
	if ((v = opt_required(l, s, "general", "organization_sname")) != NULL)
		t->organization_sname = xstrdup(v);
	if ((v = opt_required(l, s, "general", "organization_id")) != NULL) {
		if (!uuid_shaped(v))
			diag_error(l->d, l->file, "general", "organization_id",
			    "must be a UUID (8-4-4-4-12 hexadecimal digits)");
		else
			t->organization_id = xstrdup(v);
	}
	if ((v = opt_required(l, s, "general", "base_auth_url")) != NULL) {
		if ((why = url_check(v)) != NULL)
			diag_error(l->d, l->file, "general", "base_auth_url", "%s", why);
		else
			t->base_auth_url = xstrdup(v);
	}
	if ((v = opt_required(l, s, "general", "base_service_url")) != NULL) {
		if ((why = url_check(v)) != NULL)
			diag_error(l->d, l->file, "general", "base_service_url", "%s", why);
		else
			t->base_service_url = xstrdup(v);
	}
	/* Known to the broker but not used by it. */
	opt_get(s, "default_agent_role_name");
	opt_get(s, "default_admin_role_name");
}

/* Reports a keystore.c error "option: text" at [saml] option. */
static void
keystore_error(struct load *l, const char *err)
{
	static const char *const opts[] = { "certificate", "pkey", "password", NULL };
	const char	*sep = strstr(err, ": ");

	for (size_t i = 0; sep != NULL && opts[i] != NULL; i++) {
		if ((size_t)(sep - err) == strlen(opts[i]) &&
		    strncmp(err, opts[i], strlen(opts[i])) == 0) {
			diag_error(l->d, l->file, "saml", opts[i], "%s", sep + 2);
			return;
		}
	}
	diag_error(l->d, l->file, "saml", NULL, "%s", err);
}

static void
tenant_keys(struct load *l, struct tenant *t, const char *cert,
    const char *pkey, char *password)
{
	char	 err[512] = "", date[32];
	double	 now, na, nb;
	long	 days;

	/* keystore_load wipes the password it is given. */
	t->keys = keystore_load(cert, pkey, password, err, sizeof(err));
	if (t->keys == NULL) {
		keystore_error(l, err[0] != '\0' ? err : "cannot load the keys");
		return;
	}
	now = clock_now();
	na = keystore_not_after(t->keys);
	nb = keystore_not_before(t->keys);
	if (na < now) {
		format_rfc3339(na, date, sizeof(date));
		diag_error(l->d, l->file, "saml", "certificate", "expired on %s", date);
	} else if (na - now < CERT_WARN_DAYS * 86400.0) {
		format_rfc3339(na, date, sizeof(date));
		days = ((long)(na - now) + 86399) / 86400;
		diag_warn(l->d, l->file, "saml", "certificate",
		    "expires on %s (in %ld day%s)", date, days, days == 1 ? "" : "s");
	}
	if (nb > now) {
		format_rfc3339(nb, date, sizeof(date));
		diag_error(l->d, l->file, "saml", "certificate",
		    "not valid before %s", date);
	}
}

static void
tenant_saml(struct load *l, struct tenant *t)
{
	struct ini_section	*s = ini_section_find(l->ini, "saml");
	const char		*v, *cert, *pkey, *pw;
	char			*password = NULL;
	long			 n;

	t->expire_time_hours = 24;
	t->assertion_lifetime = 300;
	if (s == NULL) {
		diag_error(l->d, l->file, "saml", NULL, "section is missing");
		return;
	}
	if ((v = opt_required(l, s, "saml", "issuer")) != NULL)
		t->issuer = xstrdup(v);
	cert = opt_required(l, s, "saml", "certificate");
	pkey = opt_required(l, s, "saml", "pkey");
	if ((pw = opt_required(l, s, "saml", "password")) != NULL)
		password = secret_get(l, "saml", "password", pw);
	if ((v = opt_optional(l, s, "saml", "expire_time")) != NULL) {
		if (parse_number(v, 1, EXPIRE_TIME_MAX, &n) == -1)
			diag_error(l->d, l->file, "saml", "expire_time",
			    "must be a whole number of hours from 1 to 48");
		else
			t->expire_time_hours = (int)n;
	}
	if ((v = opt_optional(l, s, "saml", "audience")) != NULL)
		t->audience = xstrdup(v);
	if ((v = opt_optional(l, s, "saml", "recipient")) != NULL)
		t->recipient = xstrdup(v);
	if ((v = opt_optional(l, s, "saml", "destination")) != NULL)
		t->destination = xstrdup(v);
	if ((v = opt_optional(l, s, "saml", "assertion_lifetime")) != NULL) {
		if (parse_number(v, 10, 3600, &n) == -1)
			diag_error(l->d, l->file, "saml", "assertion_lifetime",
			    "must be a whole number of seconds from 10 to 3600");
		else
			t->assertion_lifetime = (int)n;
	}
	if ((v = opt_optional(l, s, "saml", "service_name")) != NULL)
		t->service_name = xstrdup(v);
	if ((v = opt_optional(l, s, "saml", "sign_response")) != NULL &&
	    parse_bool(v, &t->sign_response) == -1)
		diag_error(l->d, l->file, "saml", "sign_response",
		    "must be yes or no (or true/false, on/off, 1/0)");
	if (t->base_auth_url != NULL) {
		if (t->audience == NULL)
			t->audience = xstrdup(t->base_auth_url);
		if (t->recipient == NULL)
			t->recipient = xstrdup(t->base_auth_url);
		if (t->destination == NULL)
			t->destination = xstrdup(t->base_auth_url);
	}
	if (cert != NULL && pkey != NULL && password != NULL)
		tenant_keys(l, t, cert, pkey, password);
	secret_free(password);
}

/*
 * A Client Credentials section: client_id and exactly one of password and
 * client_secret.  0, or -1 after reporting.
 */
static int
client_load(struct load *l, struct ini_section *s, struct service_client *sc)
{
	struct ini_option	*id, *pw, *cs;
	const char		*secret;

	id = opt_get(s, "client_id");
	pw = opt_get(s, "password");
	cs = opt_get(s, "client_secret");
	if (id == NULL) {
		diag_error(l->d, l->file, s->name, "client_id",
		    "required option is missing");
		return -1;
	}
	if (pw != NULL && cs != NULL) {
		diag_error(l->d, l->file, s->name, NULL,
		    "both password and client_secret are set; keep one");
		return -1;
	}
	if (pw == NULL && cs == NULL) {
		diag_error(l->d, l->file, s->name, NULL,
		    "has client_id but no password or client_secret");
		return -1;
	}
	if (id->value[0] == '\0') {
		diag_error(l->d, l->file, s->name, "client_id", "must not be empty");
		return -1;
	}
	secret = pw != NULL ? pw->value : cs->value;
	if (*secret == '\0') {
		diag_error(l->d, l->file, s->name, pw != NULL ? "password" :
		    "client_secret", "must not be empty");
		return -1;
	}
	sc->secret = secret_get(l, s->name, pw != NULL ? "password" :
	    "client_secret", secret);
	if (sc->secret == NULL)
		return -1;
	sc->name = xstrdup(s->name);
	sc->client_id = xstrdup(id->value);
	return 0;
}

static bool
is_reserved_section(const char *name)
{
	return strcmp(name, "general") == 0 || strcmp(name, "saml") == 0 ||
	    strcmp(name, "saml_auth") == 0;
}

static void
tenant_clients(struct load *l, struct tenant *t)
{
	struct ini_section	*s;

	if ((s = ini_section_find(l->ini, "saml_auth")) == NULL)
		diag_error(l->d, l->file, "saml_auth", NULL, "section is missing");
	else
		client_load(l, s, &t->saml_auth);

	t->services = xcalloc(l->ini->n_sections, sizeof(*t->services));
	for (size_t i = 0; i < l->ini->n_sections; i++) {
		s = &l->ini->sections[i];
		if (is_reserved_section(s->name) ||
		    ini_option_find(s, "client_id") == NULL)
			continue;
		if (name_validate(s->name) == -1) {
			opt_get(s, "client_id");
			diag_error(l->d, l->file, s->name, NULL,
			    "a service section name " NAME_RULE);
			continue;
		}
		if (client_load(l, s, &t->services[t->n_services]) == 0)
			t->n_services++;
	}
}

struct tenant *
tenant_load(const char *path, const char *name, struct diag *d)
{
	struct tenant	*t;
	struct load	 l = { .d = d, .path = path };
	char		 err[256], *buf, *shown;
	size_t		 len;
	int		 errors = d->errors;

	shown = printable_dup(path);
	l.file = shown;
	if (read_config_file(d, shown, path, &buf, &len) == -1) {
		free(shown);
		return NULL;
	}
	l.digest = fnv1a(FNV_OFFSET, buf, len);
	l.ini = ini_parse(path, buf, len, err, sizeof(err));
	wipe_free(buf, len);
	if (l.ini == NULL) {
		diag_error(d, shown, NULL, NULL, "%s", err);
		free(shown);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->file = xstrdup(path);

	tenant_general(&l, t);
	tenant_saml(&l, t);
	tenant_clients(&l, t);
	for (size_t i = 0; i < l.ini->n_sections; i++) {
		struct ini_section *s = &l.ini->sections[i];

		if (strcmp(s->name, "general") == 0)
			warn_unknown_options(&l, s, general_options);
		else if (strcmp(s->name, "saml") == 0)
			warn_unknown_options(&l, s, saml_options);
		else if (strcmp(s->name, "saml_auth") == 0 ||
		    ini_option_find(s, "client_id") != NULL)
			warn_unknown_options(&l, s, client_options);
	}
	t->digest = l.digest;
	ini_free(l.ini);
	free(shown);
	if (d->errors > errors) {
		tenant_free(t);
		return NULL;
	}
	return t;
}

static void
client_clear(struct service_client *sc)
{
	free(sc->name);
	free(sc->client_id);
	secret_free(sc->secret);
}

void
tenant_free(struct tenant *t)
{
	if (t != NULL) {
		free(t->allow_uids);
		free(t->allow_gids);
	}
	if (t == NULL)
		return;
	client_clear(&t->saml_auth);
	for (size_t i = 0; i < t->n_services; i++)
		client_clear(&t->services[i]);
	free(t->services);
	keystore_free(t->keys);
	free(t->name);
	free(t->file);
	free(t->organization_sname);
	free(t->organization_id);
	free(t->base_auth_url);
	free(t->base_service_url);
	free(t->issuer);
	free(t->audience);
	free(t->recipient);
	free(t->destination);
	free(t->service_name);
	free(t);
}

/* A Client Credentials service by section name; never saml_auth. */
const struct service_client *
tenant_service_find(const struct tenant *t, const char *name)
{
	if (t == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_services; i++)
		if (strcmp(t->services[i].name, name) == 0)
			return &t->services[i];
	return NULL;
}
