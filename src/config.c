/*
 * config.c - the main configuration file and the loading of everything.
 *
 * config_load reads the main file (section [broker], then [access]) and
 * every "*.cfg" file of the tenants directory, one tenant per file
 * (config_tenant.c).  Every problem goes to a struct diag as "FILE:
 * [section] option: what is wrong"; loading goes on after an error so
 * that one `check` run shows them all, and the result is NULL when there
 * was any error.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_load.h"

static const char *const broker_options[] = {
	"listen", "socket_mode", "tenants_dir", "ca_file", "proxy", "log_level",
	"max_cached_tokens", "allow_remote_tcp", "connect_timeout",
	"request_timeout", "admin_listen", "max_connections", "max_header_size",
	"max_body_size", "client_timeout", "allow_insecure_permissions", NULL
};

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
	if (config_parse_number(port, 1, 65535, &pnum) == -1)
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
		    !config_host_is_loopback(la.host)) {
			char *shown = config_printable_dup(la.host);
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

	if ((v = config_opt_optional(l, s, "broker", "socket_mode")) != NULL) {
		long mode = 0;
		size_t len = strlen(v);

		if (len > 4 || strspn(v, "01234567") != len ||
		    (mode = strtol(v, NULL, 8)) > 0777)
			diag_error(l->d, l->file, "broker", "socket_mode",
			    "must be an octal mode from 0000 to 0777, such as 0660");
		else
			c->socket_mode = (mode_t)mode;
	}
	if ((v = config_opt_optional(l, s, "broker", "tenants_dir")) != NULL) {
		free(c->tenants_dir);
		c->tenants_dir = config_path_relative(c->path, v);
	}
	if ((v = config_opt_optional(l, s, "broker", "ca_file")) != NULL) {
		c->ca_file = config_path_relative(c->path, v);
		if (access(c->ca_file, R_OK) == -1) {
			char *shown = config_printable_dup(c->ca_file);
			diag_error(l->d, l->file, "broker", "ca_file",
			    "cannot read %s: %s", shown, strerror(errno));
			free(shown);
		}
	}
	if ((v = config_opt_optional(l, s, "broker", "proxy")) != NULL)
		c->proxy = xstrdup(v);
	if ((v = config_opt_optional(l, s, "broker", "log_level")) != NULL &&
	    log_level_parse(v, &c->log_level) == -1)
		diag_error(l->d, l->file, "broker", "log_level",
		    "must be one of error, warn, info, debug");
	if ((v = config_opt_optional(l, s, "broker", "max_cached_tokens")) != NULL) {
		if (config_parse_number(v, 1, 10000000, &n) == -1)
			diag_error(l->d, l->file, "broker", "max_cached_tokens",
			    "must be a whole number from 1 to 10000000");
		else
			c->max_cached_tokens = (size_t)n;
	}
	if ((v = config_opt_optional(l, s, "broker", "allow_remote_tcp")) != NULL &&
	    config_parse_bool(v, &c->allow_remote_tcp) == -1)
		diag_error(l->d, l->file, "broker", "allow_remote_tcp",
		    "must be yes or no (or true/false, on/off, 1/0)");
	if ((v = config_opt_optional(l, s, "broker", "connect_timeout")) != NULL) {
		if (config_parse_number(v, 1, 120, &n) == -1)
			diag_error(l->d, l->file, "broker", "connect_timeout",
			    "must be a whole number of seconds from 1 to 120");
		else
			c->connect_timeout = (int)n;
	}
	if ((v = config_opt_optional(l, s, "broker", "request_timeout")) != NULL) {
		if (config_parse_number(v, 1, 600, &n) == -1)
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
	if ((v = config_opt_optional(l, s, "broker", "client_timeout")) != NULL) {
		if (config_parse_number(v, 1, 3600, &n) == -1)
			diag_error(l->d, l->file, "broker", "client_timeout",
			    "must be a whole number of seconds from 1 to 3600");
		else
			c->client_timeout = (int)n;
	}
	if ((v = config_opt_optional(l, s, "broker", "allow_insecure_permissions")) != NULL &&
	    config_parse_bool(v, &c->allow_insecure_permissions) == -1)
		diag_error(l->d, l->file, "broker", "allow_insecure_permissions",
		    "must be yes or no (or true/false, on/off, 1/0)");
	if ((v = config_opt_optional(l, s, "broker", "admin_listen")) != NULL) {
		const char *why = listen_parse(v, &c->admin_listen);

		if (why != NULL)
			diag_error(l->d, l->file, "broker", "admin_listen", "%s", why);
		else if (c->admin_listen.kind == LISTEN_TCP && !c->allow_remote_tcp &&
		    !config_host_is_loopback(c->admin_listen.host))
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

	if ((v = config_opt_optional(l, s, "broker", name)) == NULL)
		return;
	if (config_parse_number(v, min, max, &n) == -1)
		diag_error(l->d, l->file, "broker", name,
		    "must be a whole number from %ld to %ld", min, max);
	else
		*ret = (size_t)n;
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
		shown = config_printable_dup(c->tenants_dir);
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
		shown = config_printable_dup(c->tenants_dir);
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
			shown = config_printable_dup(path);
			diag_error(l->d, shown, NULL, NULL, "tenant name "
			    NAME_RULE " (it is the file name without .cfg)");
			free(shown);
		} else if ((t = tenant_load(path, names[i], l->d)) != NULL) {
			c->tenants[c->n_tenants++] = t;
			if (!c->allow_insecure_permissions)
				config_permissions_check(l, path);
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
	c->max_header_size = 8192;
	c->max_body_size = 4096;
	c->client_timeout = 10;

	if (config_read_file(d, path, path, &buf, &len) == -1)
		goto fail;
	l.ini = ini_parse_ext(path, buf, len, repeatable, err, sizeof(err));
	config_wipe_free(buf, len);
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
	config_unknown_options(&l, s, broker_options);
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
