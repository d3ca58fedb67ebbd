/*
 * samlbroker.h - the one private header of samlbroker.
 *
 * Shared types (configuration, tenants, diagnostics) and one block of
 * prototypes per source file, in data-flow order.  Library types
 * (libxml2, xmlsec, libcurl, libevent) stay out of this header; OpenSSL
 * objects appear only as opaque struct pointers.
 */
#ifndef SAMLBROKER_H
#define SAMLBROKER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common.h"

struct evp_pkey_st;	/* OpenSSL EVP_PKEY */
struct x509_st;		/* OpenSSL X509 */

#define SAMLBROKER_DEFAULT_CONF		"/etc/samlbroker/samlbroker.conf"
#define SAMLBROKER_DEFAULT_TENANTS	"/etc/samlbroker/tenants"
#define SAMLBROKER_DEFAULT_SOCKET	"unix:/run/samlbroker/samlbroker.sock"

/* Longest line the INI reader accepts (secrets and base64 keys are long). */
#define INI_MAX_LINE			65536
/* diag.c - problems found while loading configuration, for `check` and the daemon */
struct diag {
	char	**lines;
	size_t	  n_lines;
	int	  errors;
	int	  warnings;
};
void	 diag_init(struct diag *);
void	 diag_clear(struct diag *);
void	 diag_error(struct diag *, const char *file, const char *section,
	    const char *option, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void	 diag_warn(struct diag *, const char *file, const char *section,
	    const char *option, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ini.c - the INI reader for configuration exports */
struct ini_option {
	char	*name;
	char	*value;
	int	 line;
	bool	 used;		/* set by the consumer, to warn about unknown options */
};
struct ini_section {
	char			*name;
	int			 line;
	struct ini_option	*options;
	size_t			 n_options;
};
struct ini_file {
	char			*path;
	struct ini_section	*sections;
	size_t			 n_sections;
};
/* Parses a buffer; on error returns NULL with "line N: what" in errbuf. */
struct ini_file *ini_parse(const char *path, const char *buf, size_t len,
	    char *errbuf, size_t errlen);
/* The same, but the option names in the NULL-terminated list repeatable
 * may occur more than once in a section (kept in file order). */
struct ini_file *ini_parse_ext(const char *path, const char *buf, size_t len,
	    const char *const *repeatable, char *errbuf, size_t errlen);
struct ini_file *ini_load(const char *path, char *errbuf, size_t errlen);
void	 ini_free(struct ini_file *);	/* cleanses every value */
struct ini_section *ini_section_find(const struct ini_file *, const char *name);
struct ini_option *ini_option_find(struct ini_section *, const char *name);

/* keystore.c - a tenant's signing key and certificate */
struct keystore;
/* Sets up OpenSSL's secure heap for private keys, once; 0 even without it.
 * OpenSSL's own exit handler (OPENSSL_cleanup) releases it. */
int	 keystore_global_init(void);
int	 keystore_secure_heap_active(void);
/* Loads base64(PEM) certificate and base64(encrypted PEM) key; wipes password.
 * pkey_b64 NULL: the certificate only (keystore_pkey is then NULL). */
struct keystore *keystore_load(const char *cert_b64, const char *pkey_b64,
	    char *password, char *errbuf, size_t errlen);
void	 keystore_free(struct keystore *);
struct evp_pkey_st *keystore_pkey(const struct keystore *);
struct x509_st *keystore_cert(const struct keystore *);
const char *keystore_subject(const struct keystore *);
double	 keystore_not_after(const struct keystore *);
double	 keystore_not_before(const struct keystore *);
const char *keystore_cert_pem(const struct keystore *);	/* PEM text */
const char *keystore_fingerprint(const struct keystore *);	/* SHA-256 hex */

/* config.c - main configuration and tenants */
enum listen_kind { LISTEN_UNIX, LISTEN_TCP };
struct listen_addr {
	enum listen_kind kind;
	char	*text;		/* as written, for logs */
	char	*path;		/* LISTEN_UNIX */
	char	*host;		/* LISTEN_TCP */
	char	*port;		/* LISTEN_TCP */
};

struct service_client {
	char	*name;		/* section name: "saml_auth", "ewt", ... */
	char	*client_id;
	char	*secret;	/* resolved from literal, file: or env: */
};

struct tenant {
	char	*name;
	char	*file;
	char	*organization_sname;
	char	*organization_id;
	char	*base_auth_url;
	char	*base_service_url;
	char	*issuer;
	int	 expire_time_hours;
	char	*audience;	/* default base_auth_url */
	char	*recipient;	/* default base_auth_url */
	char	*destination;	/* default base_auth_url */
	char	*service_name;	/* NULL: no ServiceName attribute */
	int	 assertion_lifetime;	/* seconds, default 300 */
	bool	 sign_response;
	struct service_client	 saml_auth;
	/* [provisioning]: the admin client of `provision` and `check --online`,
	 * not a service; client_id is NULL when the section is absent. */
	struct service_client	 provisioning;
	struct service_client	*services;
	size_t			 n_services;
	struct keystore		*keys;
	uint64_t		 digest;	/* of the file, to tell a changed tenant on reload */
	/* [access:NAME] of the main file (access.c); NULL: open to any caller */
	struct tenant_access	*access;
};

struct broker_config {
	char			*path;
	struct listen_addr	*listens;
	size_t			 n_listens;
	mode_t			 socket_mode;
	char			*tenants_dir;
	char			*ca_file;
	char			*proxy;
	enum log_level		 log_level;
	size_t			 max_cached_tokens;
	bool			 allow_remote_tcp;
	int			 connect_timeout;	/* seconds */
	int			 request_timeout;	/* seconds */
	struct listen_addr	 admin_listen;	/* when has_admin_listen */
	bool			 has_admin_listen;
	size_t			 max_connections;
	size_t			 max_header_size;
	size_t			 max_body_size;
	int			 client_timeout;	/* seconds to send a request */
	bool			 allow_insecure_permissions;
	size_t			 max_cached_tokens_per_tenant;	/* 0: automatic share */
	size_t			 max_exchanges_per_tenant;
	struct tenant		**tenants;
	size_t			 n_tenants;
};

/* config_options.c - the table of the main file's [broker] options */
enum config_option_type {
	COPT_LISTEN, COPT_ADMIN_LISTEN, COPT_MODE, COPT_PATH, COPT_FILE, COPT_STRING,
	COPT_LOG_LEVEL, COPT_BOOL, COPT_COUNT, COPT_SECONDS
};
struct config_option {
	const char		*name;
	enum config_option_type	 type;
	long			 min, max;	/* COPT_COUNT, COPT_SECONDS, COPT_MODE */
	const char		*def;		/* as written; NULL: unset */
	size_t			 offset;	/* of the field in struct broker_config */
	bool			 reload;	/* a reload (SIGHUP) can change it */
	bool			 secret;	/* never shown */
	const char		*help;
};
const struct config_option *config_options(size_t *ret_n);
const struct config_option *config_option_find(const char *name);
/* Names (at most max, into ret_names) of the options that differ between
 * old and new although a reload cannot change them; returns how many. */
size_t	 config_reload_changes(const struct broker_config *old,
	    const struct broker_config *new, const char **ret_names, size_t max);
/* The value of an option as text (a secret one as "(set, not shown)"). */
int	 config_option_format(const struct broker_config *,
	    const struct config_option *, char *buf, size_t len);

/* Loads the main file and every tenant; problems go to diag.  Returns NULL
 * when there was any error. */
struct broker_config *config_load(const char *path, struct diag *);
/* Flags of config_load_ext. */
#define CONFIG_NO_PRIVATE_KEYS	0x1	/* certificates only: pkey and password
					   are never read nor resolved; t->keys
					   holds no private key */
struct broker_config *config_load_ext(const char *path, struct diag *, int flags);
/* The same for commands: every problem is printed on stderr. */
struct broker_config *config_load_verbose(const char *path);
void	 config_free(struct broker_config *);
struct tenant *config_tenant_find(const struct broker_config *, const char *name);
const struct service_client *tenant_service_find(const struct tenant *, const char *name);
/* Loads one tenant file (used by config_load and by tests). */
struct tenant *tenant_load(const char *path, const char *name, struct diag *);
struct tenant *tenant_load_ext(const char *path, const char *name, struct diag *,
	    int flags);
void	 tenant_free(struct tenant *);
/* Resolves "file:PATH", "env:NAME" or a literal secret. */
int	 secret_resolve(const char *value, char **ret, const char **why);
/* The one rule for token endpoint and service URLs, for config and
 * upstream: https://HOST[:PORT]/..., or http:// to a loopback host
 * (127.0.0.0/8, ::1, localhost).  NULL when fine, else what is wrong (the
 * URL itself is never quoted: it may carry credentials). */
const char *url_check_token_endpoint(const char *url);

/* access.c - who may obtain what: [access:TENANT] rules and the decision */
/* One caller, as the front knows it. */
struct caller {
	bool		 is_unix;	/* false: TCP, no identity */
	bool		 is_admin;	/* came in on the admin address */
	unsigned	 uid;
	const unsigned	*gids;		/* primary and supplementary */
	size_t		 n_gids;
	const char	*login;		/* NULL if unknown */
};
enum access_action { ACCESS_USER_TOKEN, ACCESS_SAML_RESPONSE, ACCESS_SERVICE_TOKEN };
enum access_result {
	ACCESS_ALLOW,
	ACCESS_DENY,	/* 403 forbidden: the caller is known, the rule says no */
	ACCESS_HIDDEN	/* answered exactly like an unknown tenant */
};
/* May the caller do action for subject (an address, or a service name)?
 * *ret_rule (may be NULL) is set to the rule that decided, a static text
 * that names no principal. */
enum access_result access_decide(const struct tenant *, const struct caller *,
	    enum access_action, const char *subject, const char **ret_rule);
/* Does the tenant exist for this caller (/v1/status)? */
bool	 access_tenant_visible(const struct tenant *, const struct caller *);
/* Does a decision on this tenant need the caller's login name? */
bool	 access_needs_login(const struct tenant *);
/* One line per rule of the tenant, for `check`; the caller frees each line
 * and the array. */
size_t	 access_describe(const struct tenant *, char ***ret_lines);
void	 access_free(struct tenant_access *);

/* saml.c - signed SAMLResponses */
struct saml_signer;
int	 saml_global_init(void);
void	 saml_global_shutdown(void);
struct saml_signer *saml_signer_new(const struct tenant *, char *errbuf, size_t errlen);
void	 saml_signer_free(struct saml_signer *);
/* Mints a signed Response for email at time now.  *ret_xml is the XML text,
 * both NUL-terminated and owned by the caller (free with secret_free). */
int	 saml_mint_response(struct saml_signer *, const char *email, double now,
	    char **ret_xml, size_t *ret_xml_len, char *errbuf, size_t errlen);
int	 saml_mint_response_b64(struct saml_signer *, const char *email, double now,
	    char **ret_b64, double *ret_not_on_or_after, char *errbuf, size_t errlen);

/* upstream.c - token requests to PureCloud: libcurl multi on the libevent loop */
struct event_base;
struct upstream;
enum upstream_outcome {
	UPSTREAM_OK,		/* a usable token */
	UPSTREAM_REJECTED,	/* 4xx with an OAuth error, or an unusable answer */
	UPSTREAM_UNAVAILABLE,	/* connect failure, dropped connection, 429, 5xx */
	UPSTREAM_TIMEOUT	/* connect or total timeout */
};
enum grant_kind { GRANT_SAML2_BEARER, GRANT_CLIENT_CREDENTIALS };
struct upstream_result {
	enum upstream_outcome outcome;
	enum grant_kind	 grant;
	long		 http_status;	/* 0 when no HTTP answer */
	char		*access_token;	/* OK only; a secret: take it or leave it */
	long		 expires_in;	/* OK only; > 0 */
	char		 error[64];	/* REJECTED: OAuth error code ("invalid_grant"),
					   else a short code ("http_503", "connect") */
	char		 message[256];	/* human text, never a secret */
	double		 retry_after;	/* seconds from Retry-After, 0 if none */
	double		 latency;	/* seconds */
};
/* Called once per request from the event loop.  The result and its fields
 * live until the callback returns; the callback may take access_token by
 * setting it to NULL. */
typedef void (*upstream_cb)(struct upstream_result *, void *arg);
struct upstream *upstream_new(struct event_base *, const char *ca_file,
	    const char *proxy, int connect_timeout, int request_timeout);
void	 upstream_free(struct upstream *);	/* cancels pending requests without callbacks */
/* Both copy what they need from their arguments before returning. */
int	 upstream_exchange_saml2(struct upstream *, const struct tenant *,
	    const char *saml_response_b64, upstream_cb, void *arg);
int	 upstream_exchange_client_credentials(struct upstream *, const struct tenant *,
	    const struct service_client *, upstream_cb, void *arg);
size_t	 upstream_pending(const struct upstream *);

/* cache.c - tokens by (tenant, kind, subject), bounded, least recently used out */
enum token_kind { TOKEN_USER, TOKEN_SERVICE };
struct cache_entry {
	char		*tenant;
	enum token_kind	 kind;
	char		*subject;	/* e-mail or service name */
	char		*token;		/* secret; NULL while none is held */
	double		 obtained_at;
	double		 expires_at;
	double		 refresh_at;	/* refresh ahead of expiry from here on */
	bool		 in_flight;	/* one upstream request at a time */
	void		*waiters;	/* owned by the caller of the cache */
	int		 failures;	/* consecutive */
	double		 retry_at;	/* no new attempt before (backoff) */
	double		 hard_fail_until;	/* invalid_client/invalid_grant remembered */
	char		 last_error[64];
	int		 last_http_status;	/* API status of the last failure (502/503/504) */
	/* private to cache.c */
	struct cache_entry *lru_prev, *lru_next, *hash_next;
	uint64_t	 hash;
};
struct cache;
struct cache *cache_new(size_t max_entries);
void	 cache_free(struct cache *);	/* wipes every token */
/* Finds an entry and marks it most recently used; NULL if absent. */
struct cache_entry *cache_lookup(struct cache *, const char *tenant,
	    enum token_kind, const char *subject);
/* Adds an empty entry, evicting the least recently used idle entries
 * (never one in flight) when full. */
struct cache_entry *cache_insert(struct cache *, const char *tenant,
	    enum token_kind, const char *subject);
void	 cache_remove(struct cache *, struct cache_entry *);	/* wipes the token */
/* Stores a token (taking ownership), wiping the previous one. */
void	 cache_set_token(struct cache_entry *, char *token, double obtained_at,
	    double expires_at, double refresh_at);
void	 cache_clear_token(struct cache_entry *);
size_t	 cache_count(const struct cache *);
size_t	 cache_evictions(const struct cache *);
/* Calls fn for every entry; fn may remove the entry it is given. */
void	 cache_foreach(struct cache *, void (*fn)(struct cache_entry *, void *), void *);

/* broker.c - tokens for callers: cache, minting, exchange, refresh ahead */
struct broker;
struct broker_reply {
	int		 status;	/* HTTP status */
	const char	*error;		/* NULL on success, else the API error code */
	const char	*message;	/* never holds a secret */
	const char	*upstream_error;	/* upstream_rejected only */
	const char	*token;		/* success only; valid during the callback */
	double		 expires_at;
	double		 retry_after;	/* > 0: seconds, for a Retry-After header */
	bool		 from_cache;
};
typedef void (*broker_cb)(const struct broker_reply *, void *arg);
struct upstream_stats {
	uint64_t	 exchanges[2][4];	/* [grant_kind][upstream_outcome] */
	uint64_t	 latency_buckets[12];	/* see BROKER_LATENCY_BOUNDS */
	double		 latency_sum;
	uint64_t	 latency_count;
};
#define BROKER_LATENCY_BOUNDS { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }
struct tenant_stats {
	uint64_t	 hits;
	uint64_t	 misses;
	uint64_t	 mints;
	double		 last_success;
	double		 last_failure;
	char		 last_error[64];
	int		 consecutive_failures;
	double		 current_backoff;
};
struct broker *broker_new(struct event_base *, struct broker_config *, char *errbuf, size_t errlen);
void	 broker_free(struct broker *);
/* Answers every caller still waiting for an exchange with 503 (shutdown). */
void	 broker_cancel_waiters(struct broker *);
/* Swaps in a new configuration (the broker takes it; the old one is freed).
 * Unchanged tenants keep their cache, changed and removed ones lose it. */
int	 broker_reconfigure(struct broker *, struct broker_config *, char *errbuf, size_t errlen);
const struct broker_config *broker_config(const struct broker *);
/* Answers exactly once through cb, possibly before returning. */
void	 broker_get_token(struct broker *, const char *tenant, enum token_kind,
	    const char *subject, broker_cb, void *arg);
/* 0: evicted or nothing cached; -1 with reply filled: unknown tenant/service. */
int	 broker_evict_token(struct broker *, const char *tenant, enum token_kind,
	    const char *subject, struct broker_reply *);
/* Mints a SAMLResponse for a caller that exchanges it itself. */
int	 broker_mint(struct broker *, const char *tenant, const char *email,
	    char **ret_b64, double *ret_not_on_or_after, struct broker_reply *);
const struct tenant_stats *broker_tenant_stats(const struct broker *, size_t tenant_index);
const struct upstream_stats *broker_upstream_stats(const struct broker *);
size_t	 broker_cached_count(const struct broker *);
size_t	 broker_cached_count_tenant(const struct broker *, const char *tenant);

/* region.c - the PureCloud regions (one table of their domains) */
enum region_url { REGION_AUTH_URL, REGION_SERVICE_URL, REGION_APPS_URL };
const char *region_find(const char *domain);	/* the table's spelling, or NULL */
size_t	 region_count(void);
const char *region_domain(size_t);
/* https://login.DOMAIN/oauth/token, https://api.DOMAIN/api/ or
 * https://apps.DOMAIN (allocated). */
char	*region_url(const char *domain, enum region_url);
/* The domain whose URL of that kind url is, or NULL. */
const char *region_of_url(const char *url, enum region_url);

/* platform.c - token endpoint and platform API for one-shot commands (blocking) */
struct platform;
struct platform_req {
	const char	*url;
	const char	*method;	/* NULL: GET, or POST with a body */
	const char	*user;		/* HTTP Basic client id ... */
	const char	*secret;	/* ... and secret */
	const char	*bearer;	/* an access token */
	const char	*form;		/* form-urlencoded body */
	const char	*json;		/* JSON body */
	bool		 connect_only;	/* connect and verify TLS only */
};
struct platform_reply {
	long		 status;	/* 0: no HTTP answer */
	char		*body;		/* may hold a token: cleared by platform_reply_clear */
	size_t		 body_len;
	double		 retry_after;	/* seconds, 0 if none */
	bool		 timeout;
	bool		 tls;		/* the TLS handshake or verification failed */
	char		 error[256];	/* no answer: why, never a secret */
};
struct platform *platform_new(const struct broker_config *);
void	 platform_free(struct platform *);
void	 platform_reply_clear(struct platform_reply *);
/* One request, retried after a 429's Retry-After (waiting is told first);
 * -1 when no HTTP answer came (reply.error says why). */
int	 platform_call(struct platform *, const struct platform_req *,
	    struct platform_reply *, void (*waiting)(double, void *), void *);
/* A string member of the answer's JSON object (a static buffer), or NULL. */
const char *platform_json_str(const struct platform_reply *, const char *key);
/* A token request for client sc of t: Client Credentials; for saml_auth,
 * SAML2 Bearer with the assertion, or without one (a probe of the secret).
 * With ret_token, a 200's access_token is returned (a secret). */
int	 platform_token(struct platform *, const struct tenant *,
	    const struct service_client *sc, const char *assertion_b64, char **ret_token,
	    struct platform_reply *, void (*waiting)(double, void *), void *);
/* base_service_url + "v2/...", or a "/api/v2/..." path on its host. */
char	*platform_api_url(const struct tenant *, const char *path);

/* provision.c - the identity provider record: `provision` and what check --online reads */
struct json_t;
/* Exit statuses of `provision` (samlbroker(8)). */
enum { PROVISION_OK, PROVISION_ERROR, PROVISION_USAGE, PROVISION_REFUSED,
    PROVISION_UNAVAILABLE, PROVISION_CONFLICT };
/* What an unwanted answer means, in err; returns the exit status for it. */
int	 provision_explain(int rc, const struct platform_reply *, const char *what,
	    char *err, size_t errlen);
/* A token of the tenant's [provisioning] client (a secret). */
int	 provision_admin_token(struct platform *, const struct tenant *, const char *prog,
	    char **ret_token, char *err, size_t errlen);
/* GET base_service_url + path (or a "/api/..." path); the JSON object, or
 * NULL for a 404 when allow_404. */
int	 provision_get(struct platform *, const struct tenant *, const char *prog,
	    const char *token, const char *path, bool allow_404, struct json_t **ret,
	    char *err, size_t errlen);
/* The name of another identity provider with the tenant's issuer, or NULL. */
int	 provision_find_duplicate(struct platform *, const struct tenant *,
	    const char *prog, const char *token, char **ret_name, char *err, size_t errlen);
void	 provision_cert_fingerprint(const char *body_b64, char *out, size_t len);
bool	 provision_cert_equal(const char *body_a, const char *body_b);

#endif /* SAMLBROKER_H */
