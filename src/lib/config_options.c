/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_options.c - the options of the main file's [broker] section: one
 * table row per option (name, type, range, default, whether a reload can
 * change it, whether it is a secret, a line of help).  Parsing, defaults,
 * the reload decision and `check --options` read the table; the manual
 * and conf/samlbroker.conf are checked against it by tests/test_config.c.
 * Adding an option is one row and one field of struct broker_config.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_load.h"

#define F(field)	offsetof(struct broker_config, field)

static const struct config_option options[] = {
	{ "listen", COPT_LISTEN, 0, 0, SAMLBROKER_DEFAULT_SOCKET, 0, false, false,
	  "where callers connect: unix:/PATH, tcp:HOST:PORT (loopback) or "
	  "https:HOST:PORT; repeatable" },
	{ "socket_mode", COPT_MODE, 0, 0777, "0660", F(socket_mode), false, false,
	  "mode of the Unix sockets the broker creates" },
	{ "tenants_dir", COPT_PATH, 0, 0, SAMLBROKER_DEFAULT_TENANTS, F(tenants_dir),
	  true, false, "directory of the tenant files (*.cfg)" },
	{ "ca_file", COPT_FILE, 0, 0, NULL, F(ca_file), false, false,
	  "CA certificates for the token endpoint instead of the system's" },
	{ "proxy", COPT_STRING, 0, 0, NULL, F(proxy), false, true,
	  "HTTP(S) proxy URL for the token endpoint (may hold a password)" },
	{ "log_level", COPT_LOG_LEVEL, 0, 0, "info", F(log_level), true, false,
	  "error, warn, info or debug" },
	{ "max_cached_tokens", COPT_COUNT, 1, 10000000, "10000", F(max_cached_tokens),
	  false, false, "tokens kept in memory, all tenants together" },
	{ "max_cached_tokens_per_tenant", COPT_COUNT, 0, 10000000, "0",
	  F(max_cached_tokens_per_tenant), true, false,
	  "a fixed bound on one tenant's cached tokens; 0: none" },
	{ "max_exchanges_per_tenant", COPT_COUNT, 1, 65536, "32",
	  F(max_exchanges_per_tenant), true, false,
	  "token exchanges of one tenant in progress at once" },
	{ "allow_remote_tcp", COPT_BOOL, 0, 0, "no", F(allow_remote_tcp), true, false,
	  "no longer allowed (yes is an error): remote callers come over https:" },
	{ "connect_timeout", COPT_SECONDS, 1, 120, "5", F(connect_timeout), false,
	  false, "seconds to connect to the token endpoint" },
	{ "request_timeout", COPT_SECONDS, 1, 600, "15", F(request_timeout), false,
	  false, "seconds for a whole token request" },
	{ "admin_listen", COPT_ADMIN_LISTEN, 0, 0, NULL, F(admin_listen), false, false,
	  "separate address for /healthz, /readyz, /v1/status and /metrics" },
	{ "max_connections", COPT_COUNT, 1, 65536, "1024", F(max_connections), true,
	  false, "open caller connections at once" },
	{ "max_header_size", COPT_COUNT, 1024, 1048576, "8192", F(max_header_size),
	  true, false, "largest request head, in bytes" },
	{ "max_body_size", COPT_COUNT, 0, 1048576, "4096", F(max_body_size), true,
	  false, "largest request body, in bytes" },
	{ "client_timeout", COPT_SECONDS, 1, 3600, "10", F(client_timeout), true,
	  false, "seconds a caller has to send its request" },
	{ "allow_insecure_permissions", COPT_BOOL, 0, 0, "no",
	  F(allow_insecure_permissions), true, false,
	  "accept secret files that other users may read" },
	{ "user", COPT_STRING, 0, 0, NULL, F(user), false, false,
	  "the broker's service user: files are judged for it; serve as root drops to it" },
	{ "signers", COPT_COUNT, 0, 256, "0", F(signers), false, false,
	  "signer processes, which alone hold the keys; 0: one per online CPU" },
	{ "signer_priority", COPT_SIGNER_PRIORITY, 0, 0, "batch", F(signer_priority), true,
	  false, "the signers' scheduling beside the front: idle, batch or normal" },
	{ "signer_queue", COPT_COUNT, 1, 4096, "64", F(signer_queue), false, false,
	  "mint requests each signer may have sent or waiting; beyond: 503 signers_busy" },
	{ "require_landlock", COPT_BOOL, 0, 0, "no", F(require_landlock), false, false,
	  "refuse to start on a kernel without Landlock (the front's file sandbox)" },
	{ "tls_certificate", COPT_FILE, 0, 0, NULL, F(tls_certificate), true, false,
	  "https: the server's certificate chain (PEM, the server's first)" },
	{ "tls_key", COPT_FILE, 0, 0, NULL, F(tls_key), true, false,
	  "https: the server certificate's private key (PEM, a secret file)" },
	{ "https_auth", COPT_STRING, 0, 0, NULL, F(https_auth), true, false,
	  "https: how callers authenticate: negotiate, certificate, or both" },
	{ "tls_client_ca", COPT_FILE, 0, 0, NULL, F(tls_client_ca), true, false,
	  "https_auth = certificate: the CAs of client certificates (PEM)" },
	{ "tls_client_crl", COPT_FILE, 0, 0, NULL, F(tls_client_crl), true, false,
	  "https_auth = certificate: revoked client certificates (PEM CRLs)" },
	{ "tls_client_identity", COPT_STRING, 0, 0, NULL, F(tls_client_identity), true,
	  false, "https_auth = certificate: san-email, san-upn or subject-cn" },
	{ "state_directory", COPT_STRING, 0, 0, NULL, F(state_directory), true, false,
	  "the broker's state directory (absolute; the persistent token cache and the Kerberos replay cache live there)" },
	{ "persistent_cache", COPT_BOOL, 0, 0, "yes", F(persistent_cache), true, false,
	  "keep cached tokens, encrypted, in state_directory across restarts" },
	{ "redis", COPT_STRING, 0, 0, NULL, F(redis), false, false,
	  "a token cache shared by several brokers: unix:/PATH or tcp:HOST:PORT "
	  "of a Redis server; unset: none" },
	{ "redis_password", COPT_STRING, 0, 0, NULL, F(redis_password), false, true,
	  "redis: file:PATH of the Redis password (AUTH), a secret file" },
	{ "redis_prefix", COPT_STRING, 0, 0, "samlbroker", F(redis_prefix), false,
	  false, "redis: the first part of every key the brokers write" },
	{ "redis_timeout_ms", COPT_COUNT, 10, 10000, "200", F(redis_timeout_ms),
	  false, false, "redis: milliseconds a Redis answer may take before the "
	  "broker goes on without it" },
	{ "krb5_keytab", COPT_FILE, 0, 0, NULL, F(krb5_keytab), true, false,
	  "https_auth = negotiate: the service's keytab (a secret file; only the negotiator holds it)" },
	{ "krb5_principal", COPT_STRING, 0, 0, NULL, F(krb5_principal), true, false,
	  "https_auth = negotiate: the service principal; unset: any in the keytab" },
	{ "krb5_realms", COPT_STRING, 0, 0, NULL, F(krb5_realms), true, false,
	  "https_auth = negotiate: the client realms allowed (exact, space-separated)" },
};
#define N_OPTIONS	(sizeof(options) / sizeof(options[0]))

const struct config_option *
config_options(size_t *ret_n)
{
	*ret_n = N_OPTIONS;
	return options;
}

const struct config_option *
config_option_find(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

static const char *const priority_names[] = {
	[SIGNER_PRIORITY_IDLE] = "idle",
	[SIGNER_PRIORITY_BATCH] = "batch",
	[SIGNER_PRIORITY_NORMAL] = "normal",
};

int
signer_priority_parse(const char *s, enum signer_priority *ret)
{
	for (size_t i = 0; i < sizeof(priority_names) / sizeof(priority_names[0]); i++)
		if (strcmp(s, priority_names[i]) == 0) {
			*ret = (enum signer_priority)i;
			return 0;
		}
	return -1;
}

const char *
signer_priority_name(enum signer_priority p)
{
	return (size_t)p < sizeof(priority_names) / sizeof(priority_names[0]) ?
	    priority_names[p] : "?";
}

/* One signer per online CPU. */
size_t
signers_default(long online_cpus)
{
	return online_cpus < 1 ? 1 : (size_t)online_cpus;
}

#define FIELD(c, o, type)	((type *)(void *)((char *)(c) + (o)->offset))
#define CFIELD(c, o, type)	((const type *)(const void *)((const char *)(c) + (o)->offset))

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
	if (strncmp(text, "https:", 6) == 0) {
		la->kind = LISTEN_HTTPS;
		rest = text + 6;
	} else if (strncmp(text, "tcp:", 4) == 0) {
		la->kind = LISTEN_TCP;
		rest = text + 4;
	} else
		return "unknown address type; use unix:/PATH, tcp:HOST:PORT or "
		    "https:HOST:PORT";
	if (rest[0] == '[') {
		const char *rb = strchr(rest, ']');
		struct in6_addr a6;
		char buf[INET6_ADDRSTRLEN + 1];

		if (rb == NULL || rb[1] != ':')
			return "malformed address; use tcp:[IPV6]:PORT or https:[IPV6]:PORT";
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
		bool https = la->kind == LISTEN_HTTPS;

		if ((colon = strchr(rest, ':')) == NULL)
			return https ? "an https address needs a port (https:HOST:PORT)" :
			    "a tcp address needs a port (tcp:HOST:PORT)";
		if (strchr(colon + 1, ':') != NULL)
			return https ? "write an IPv6 address in brackets (https:[::]:PORT)" :
			    "write an IPv6 address in brackets (tcp:[::1]:PORT)";
		host = rest;
		hlen = (size_t)(colon - rest);
		if (hlen == 0)
			return https ? "an https address needs a host (https:HOST:PORT; "
			    "0.0.0.0 or [::] for every address)" :
			    "a tcp address needs a host (tcp:HOST:PORT)";
		port = colon + 1;
	}
	if (config_parse_number(port, 1, 65535, &pnum) == -1)
		return "the port must be a number from 1 to 65535";
	la->text = xstrdup(text);
	la->host = xstrndup(host, hlen);
	la->port = xstrdup(port);
	return NULL;
}

void
config_listen_clear(struct listen_addr *la)
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
		if (la.kind == LISTEN_TCP && !config_host_is_loopback(la.host)) {
			char *shown = config_printable_dup(la.host);
			diag_error(l->d, l->file, "broker", "listen", "line %d: %s is "
			    "not a loopback address: a tcp: caller has no identity, so "
			    "tcp: serves this host only; listen on https: (with "
			    "https_auth) for callers on other machines", o->line, shown);
			free(shown);
			config_listen_clear(&la);
			continue;
		}
		for (size_t k = 0; k < c->n_listens; k++)
			if (strcmp(c->listens[k].text, la.text) == 0)
				dup = true;
		if (dup) {
			diag_error(l->d, l->file, "broker", "listen",
			    "line %d: the same address is given twice", o->line);
			config_listen_clear(&la);
			continue;
		}
		c->has_https |= la.kind == LISTEN_HTTPS;
		listen_add(c, &la);
	}
	if (!given) {
		if (listen_parse(options[0].def, &la) != NULL)
			fatalx("bad SAMLBROKER_DEFAULT_SOCKET");
		listen_add(c, &la);
	}
}


/* Parses one value into its field; NULL when fine, else what is wrong. */
static const char *
option_parse(struct broker_config *c, const struct config_option *o,
    const char *v)
{
	static char	 msg[128];
	long		 n;
	bool		 b;

	switch (o->type) {
	case COPT_MODE: {
		size_t len = strlen(v);

		if (len > 4 || len == 0 || strspn(v, "01234567") != len ||
		    (n = strtol(v, NULL, 8)) > o->max)
			return "must be an octal mode from 0000 to 0777, such as 0660";
		*FIELD(c, o, mode_t) = (mode_t)n;
		return NULL;
	}
	case COPT_PATH:
	case COPT_FILE:
		free(*FIELD(c, o, char *));
		*FIELD(c, o, char *) = v[0] == '/' ? xstrdup(v) :
		    config_path_relative(c->path, v);
		return NULL;
	case COPT_STRING:
		free(*FIELD(c, o, char *));
		*FIELD(c, o, char *) = xstrdup(v);
		return NULL;
	case COPT_LOG_LEVEL:
		if (log_level_parse(v, FIELD(c, o, enum log_level)) == -1)
			return "must be one of error, warn, info, debug";
		return NULL;
	case COPT_BOOL:
		if (config_parse_bool(v, &b) == -1)
			return "must be yes or no (or true/false, on/off, 1/0)";
		*FIELD(c, o, bool) = b;
		return NULL;
	case COPT_COUNT:
		if (config_parse_number(v, o->min, o->max, &n) == -1) {
			snprintf(msg, sizeof(msg), "must be a whole number from %ld "
			    "to %ld", o->min, o->max);
			return msg;
		}
		*FIELD(c, o, size_t) = (size_t)n;
		return NULL;
	case COPT_SECONDS:
		if (config_parse_number(v, o->min, o->max, &n) == -1) {
			snprintf(msg, sizeof(msg), "must be a whole number of seconds "
			    "from %ld to %ld", o->min, o->max);
			return msg;
		}
		*FIELD(c, o, int) = (int)n;
		return NULL;
	case COPT_SIGNER_PRIORITY:
		if (signer_priority_parse(v, FIELD(c, o, enum signer_priority)) == -1)
			return "must be one of idle, batch, normal";
		return NULL;
	case COPT_ADMIN_LISTEN: {
		const char *why = listen_parse(v, &c->admin_listen);

		if (why != NULL)
			return why;
		if (c->admin_listen.kind == LISTEN_HTTPS) {
			config_listen_clear(&c->admin_listen);
			memset(&c->admin_listen, 0, sizeof(c->admin_listen));
			return "must be unix:/PATH or tcp:HOST:PORT (https: is for "
			    "token listeners)";
		}
		if (c->admin_listen.kind == LISTEN_TCP &&
		    !config_host_is_loopback(c->admin_listen.host)) {
			config_listen_clear(&c->admin_listen);
			memset(&c->admin_listen, 0, sizeof(c->admin_listen));
			return "not a loopback address (a tcp: caller has no identity: "
			    "the admin address is for this host only)";
		}
		c->has_admin_listen = true;
		return NULL;
	}
	case COPT_LISTEN:
		break;
	}
	return "cannot be parsed";
}

/* Sets every option to its default. */
static void
options_default(struct broker_config *c)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].def != NULL && options[i].type != COPT_LISTEN &&
		    option_parse(c, &options[i], options[i].def) != NULL)
			fatalx("bad default of option %s", options[i].name);
}

void
config_broker_load(struct load *l, struct broker_config *c, struct ini_section *s)
{
	const char	*v, *why;
	static const char *names[N_OPTIONS + 1];

	options_default(c);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		names[i] = options[i].name;
		if (options[i].type == COPT_LISTEN)
			continue;
		if ((v = config_opt_optional(l, s, "broker", options[i].name)) == NULL)
			continue;
		if ((why = option_parse(c, &options[i], v)) != NULL)
			diag_error(l->d, l->file, "broker", options[i].name, "%s", why);
	}
	names[N_OPTIONS] = NULL;
	if (c->allow_remote_tcp)
		diag_error(l->d, l->file, "broker", "allow_remote_tcp", "yes is no "
		    "longer allowed: a tcp: caller has no identity, so tcp: listeners "
		    "stay on loopback; listen on https: (with https_auth) for callers "
		    "on other machines");
	if (c->request_timeout < c->connect_timeout)
		diag_error(l->d, l->file, "broker", "request_timeout",
		    "must not be less than connect_timeout");
	broker_listens(l, c, s);
	config_refuse_unknown(l, s, names);
}

/*
 * ca_file is read with the configuration (through its source, so that a
 * process that may open no file gets its bytes: c->ca_pem) and checked
 * like every file the configuration names; it holds no secret, and a
 * symbolic link is followed (certificate bundles are often links).
 */
void
config_ca_load(struct load *l, struct broker_config *c)
{
	struct source_stat	 st;
	char			*shown;

	if (c->ca_file == NULL)
		return;
	if (source_read(l->src, c->ca_file, SOURCE_CA, SOURCE_USE_FRONT, true,
	    CA_FILE_MAX, &c->ca_pem, &c->ca_pem_len, &st) == -1) {
		shown = config_printable_dup(c->ca_file);
		diag_error(l->d, l->file, "broker", "ca_file", "cannot read %s: %s",
		    shown, errno == EFBIG ? "larger than 4 MiB" : source_strerror(errno));
		free(shown);
		return;
	}
	config_permissions_check(l, "broker", "ca_file", c->ca_file, &st, false);
}

/*
 * The shared cache: an address like a listener's (unix:/PATH or
 * tcp:HOST:PORT, any host: Redis may be on another machine), a password
 * only from a secret file, a prefix that cannot break a key's syntax.
 * A build without libhiredis refuses the option.
 */
void
config_redis_load(struct load *l, struct broker_config *c)
{
	if (c->redis == NULL) {
		if (c->redis_password != NULL)
			diag_error(l->d, l->file, "broker", "redis_password",
			    "set without redis");
		return;
	}
#ifndef HAVE_REDIS
	diag_error(l->d, l->file, "broker", "redis", "this samlbroker was built "
	    "without Redis support (libhiredis; configure --with-redis)");
	return;
#else
	struct listen_addr	 la;
	const char		*why;

	if (strncmp(c->redis, "unix:", 5) != 0 && strncmp(c->redis, "tcp:", 4) != 0) {
		diag_error(l->d, l->file, "broker", "redis",
		    "must be unix:/PATH or tcp:HOST:PORT");
		return;
	}
	if ((why = listen_parse(c->redis, &la)) != NULL) {
		diag_error(l->d, l->file, "broker", "redis", "%s", why);
		return;
	}
	if (la.kind == LISTEN_UNIX)
		c->redis_path = xstrdup(la.path);
	else {
		struct in6_addr	 a6;

		/* A name would be resolved, blocking, on the front's loop. */
		if (inet_pton(AF_INET, la.host, &a6) != 1 &&
		    inet_pton(AF_INET6, la.host, &a6) != 1) {
			diag_error(l->d, l->file, "broker", "redis", "the host must be "
			    "an IP address (tcp:192.0.2.7:6379 or tcp:[2001:db8::7]:6379): "
			    "the broker does not resolve names for Redis");
			config_listen_clear(&la);
			return;
		}
		c->redis_host = xstrdup(la.host);
		c->redis_port = atoi(la.port);
	}
	config_listen_clear(&la);
	if (c->redis_prefix[0] == '\0' ||
	    strspn(c->redis_prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-.") != strlen(c->redis_prefix) || strlen(c->redis_prefix) > 64)
		diag_error(l->d, l->file, "broker", "redis_prefix", "must be 1 to 64 "
		    "letters, digits, '_', '-' or '.'");
	if (c->redis_password == NULL)
		return;
	if (strncmp(c->redis_password, "file:", 5) != 0 || c->redis_password[5] == '\0') {
		diag_error(l->d, l->file, "broker", "redis_password", "must be "
		    "file:PATH (a secret file; the password is never written in "
		    "this file)");
		return;
	}
	c->redis_secret = config_secret_get(l, "broker", "redis_password",
	    c->redis_password, SOURCE_USE_FRONT);
#endif
}

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
option_equal(const struct config_option *o, const struct broker_config *a,
    const struct broker_config *b)
{
	switch (o->type) {
	case COPT_LISTEN:
		if (a->n_listens != b->n_listens)
			return false;
		for (size_t i = 0; i < a->n_listens; i++)
			if (strcmp(a->listens[i].text, b->listens[i].text) != 0)
				return false;
		return true;
	case COPT_ADMIN_LISTEN:
		return a->has_admin_listen == b->has_admin_listen &&
		    same_string(a->admin_listen.text, b->admin_listen.text);
	case COPT_MODE:
		return *CFIELD(a, o, mode_t) == *CFIELD(b, o, mode_t);
	case COPT_PATH:
	case COPT_FILE:
	case COPT_STRING:
		return same_string(*CFIELD(a, o, char *), *CFIELD(b, o, char *));
	case COPT_LOG_LEVEL:
		return *CFIELD(a, o, enum log_level) == *CFIELD(b, o, enum log_level);
	case COPT_BOOL:
		return *CFIELD(a, o, bool) == *CFIELD(b, o, bool);
	case COPT_COUNT:
		return *CFIELD(a, o, size_t) == *CFIELD(b, o, size_t);
	case COPT_SECONDS:
		return *CFIELD(a, o, int) == *CFIELD(b, o, int);
	case COPT_SIGNER_PRIORITY:
		return *CFIELD(a, o, enum signer_priority) ==
		    *CFIELD(b, o, enum signer_priority);
	}
	return false;
}

size_t
config_reload_changes(const struct broker_config *old,
    const struct broker_config *new, const char **ret_names, size_t max)
{
	size_t	 n = 0;

	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!options[i].reload && !option_equal(&options[i], old, new)) {
			if (n < max)
				ret_names[n] = options[i].name;
			n++;
		}
	return n;
}

int
config_option_format(const struct broker_config *c, const struct config_option *o,
    char *buf, size_t len)
{
	int	 n = 0;

	switch (o->type) {
	case COPT_LISTEN:
		buf[0] = '\0';
		for (size_t i = 0; i < c->n_listens; i++) {
			n += snprintf(buf + (size_t)n, len - (size_t)n, "%s%s",
			    i > 0 ? " " : "", c->listens[i].text);
			if ((size_t)n >= len)
				return -1;
		}
		return 0;
	case COPT_ADMIN_LISTEN:
		n = snprintf(buf, len, "%s", c->has_admin_listen ?
		    c->admin_listen.text : "(none)");
		break;
	case COPT_MODE:
		n = snprintf(buf, len, "%04o", (unsigned)*CFIELD(c, o, mode_t));
		break;
	case COPT_PATH:
	case COPT_FILE:
	case COPT_STRING: {
		const char *s = *CFIELD(c, o, char *);

		n = snprintf(buf, len, "%s", s == NULL ? "(none)" :
		    o->secret ? "(set, not shown)" : s);
		break;
	}
	case COPT_LOG_LEVEL: {
		static const char *const lv[] = { "error", "warn", "info", "debug" };

		n = snprintf(buf, len, "%s", lv[*CFIELD(c, o, enum log_level)]);
		break;
	}
	case COPT_BOOL:
		n = snprintf(buf, len, "%s", *CFIELD(c, o, bool) ? "yes" : "no");
		break;
	case COPT_COUNT:
		n = snprintf(buf, len, "%zu", *CFIELD(c, o, size_t));
		break;
	case COPT_SECONDS:
		n = snprintf(buf, len, "%d", *CFIELD(c, o, int));
		break;
	case COPT_SIGNER_PRIORITY:
		n = snprintf(buf, len, "%s",
		    signer_priority_name(*CFIELD(c, o, enum signer_priority)));
		break;
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
