/* SPDX-License-Identifier: Apache-2.0 */
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
	bool	 *warning;	/* per line: a warning, else an error */
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
	int	 last_line;	/* of its last continuation line, else line */
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

/* keystore.c - a tenant's certificate, and its signing key where the
 * program may hold one (keystore_key.c) */
struct keystore;
/* Loads base64(PEM) certificate and base64(encrypted PEM) key; wipes password.
 * pkey_b64 NULL: the certificate only (keystore_pkey is then NULL).  A key
 * needs the loader keystore_global_init sets; without it, an error. */
struct keystore *keystore_load(const char *cert_b64, const char *pkey_b64,
	    char *password, char *errbuf, size_t errlen);
void	 keystore_free(struct keystore *);
struct evp_pkey_st *keystore_pkey(const struct keystore *);
struct x509_st *keystore_cert(const struct keystore *);
const char *keystore_subject(const struct keystore *);
double	 keystore_not_after(const struct keystore *);
/* check warns, and serve logs daily, this many days before a signing
 * certificate ends. */
#define CERT_WARN_DAYS		30
/* Whole days, rounded up, from now until the certificate ends. */
long	 keystore_days_left(const struct keystore *, double now);
double	 keystore_not_before(const struct keystore *);
const char *keystore_cert_pem(const struct keystore *);	/* PEM text */
const char *keystore_fingerprint(const struct keystore *);	/* SHA-256 hex */
bool	 keystore_in_token(const struct keystore *);	/* a pkcs11: key */
/* The hint for PEM text pasted where base64 of the file belongs ("" else). */
const char *keystore_pem_hint(const char *value);
/* The private-key loader: the key of pkey_b64, checked against cert. */
typedef struct evp_pkey_st *(*keystore_key_fn)(const char *pkey_b64,
	    const char *password, struct x509_st *cert, char *errbuf, size_t errlen);
void	 keystore_key_loader_set(keystore_key_fn);
/* keystore_key.c - private keys: decoding and checking them, the secure
 * heap they live in */
/* Sets up OpenSSL's secure heap for private keys, once, and lets
 * keystore_load load keys in this program; 0 even without the heap.
 * OpenSSL's own exit handler (OPENSSL_cleanup) releases it. */
int	 keystore_global_init(void);
int	 keystore_secure_heap_active(void);
/* keystore_pkcs11.c - `pkey = pkcs11:URI` keys, signed inside the token */
struct evp_pkey_st *keystore_pkcs11_load(const char *uri, const char *pin,
	    char *errbuf, size_t errlen);
void	 keystore_pkcs11_shutdown(void);	/* releases the engine, if loaded */

/* config.c - main configuration and tenants */
/* LISTEN_HTTPS: TCP with TLS and an authentication method (the only kind
 * that may listen on a non-loopback address). */
enum listen_kind { LISTEN_UNIX, LISTEN_TCP, LISTEN_HTTPS };
struct listen_addr {
	enum listen_kind kind;
	char	*text;		/* as written, for logs */
	char	*path;		/* LISTEN_UNIX */
	char	*host;		/* LISTEN_TCP, LISTEN_HTTPS */
	char	*port;		/* LISTEN_TCP, LISTEN_HTTPS */
};

/* How callers on https: listeners prove who they are (https_auth); a
 * bit each, so that a second method (Negotiate) can join the first. */
#define HTTPS_AUTH_CERTIFICATE	0x1
#define HTTPS_AUTH_NEGOTIATE	0x2	/* Kerberos through SPNEGO (RFC 4559) */
/* Which field of a client certificate names its holder. */
enum tls_identity_field {
	TLS_ID_NONE,
	TLS_ID_SAN_EMAIL,	/* subjectAltName rfc822Name */
	TLS_ID_SAN_UPN,		/* subjectAltName otherName 1.3.6.1.4.1.311.20.2.3 */
	TLS_ID_SUBJECT_CN	/* the subject's commonName */
};

struct service_client {
	char	*name;		/* section name: "saml_auth", "ewt", ... */
	char	*client_id;
	char	*secret;	/* resolved from literal, file: or env: */
	const char *secret_option;	/* "password" or "client_secret": the
					   option that holds it, for messages */
};

struct tenant {
	char	*name;
	char	*file;
	char	*organization_sname;
	char	*organization_id;
	/* [general] default_agent_role_name, default_admin_role_name (default
	 * employee, admin) and agent_permissions (NULL: provision_roles.c's
	 * default list): for `provision` and `check --online` only. */
	char	*agent_role;
	char	*admin_role;
	char	*agent_permissions;
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
	/* [saml] NameID Format and AuthnContextClassRef; NULL: the defaults
	 * (emailAddress, unspecified), see saml.c */
	char	*name_id_format;
	char	*authn_context_class;
	struct service_client	 saml_auth;
	/* [provisioning]: the admin client of `provision` and `check --online`,
	 * not a service; client_id is NULL when the section is absent. */
	struct service_client	 provisioning;
	struct service_client	*services;
	size_t			 n_services;
	struct keystore		*keys;
	/* Rollover: the staged certificate ([saml] next_certificate; its key
	 * is checked at load, never kept) and the old one still published
	 * ([saml] previous_certificate); certificates only, NULL when unset.
	 * previous_pkey is the old key's file (file:PATH), for retire. */
	struct keystore		*next_cert;
	struct keystore		*previous_cert;
	char			*previous_pkey;
	uint64_t		 digest;	/* of the file, to tell a changed tenant on reload */
	/* The same without [saml]'s keys and certificates: a reload that
	 * changes only those keeps the tenant's cached tokens. */
	uint64_t		 cache_digest;
	/* What its cache key derives from (cache_key_material: pkey as given
	 * and password; a secret): set only by the master's recording load,
	 * never in the front or the signers. */
	char			*cache_material;
	size_t			 cache_material_len;
	/* The key of this tenant's entries in the shared cache, derived by
	 * the master from the key file and its password (never the key
	 * itself) and handed to the front with the generation. */
	unsigned char		 redis_key[32];
	bool			 has_redis_key;
	/* [access:NAME] of the main file (access.c); NULL: open to any caller */
	struct tenant_access	*access;
};

/* Where a tenant is in its certificate rollover: "none", "staged" (next_*
 * set), "activated" (previous_certificate still published), or
 * "staged+previous" (both). */
const char *tenant_rollover_state(const struct tenant *);

/*
 * How the signers are scheduled beside the front (signer_priority): idle
 * (SCHED_IDLE: they run when the front does not need the CPU), batch
 * (SCHED_BATCH, 10 nicer than the master: never preempt the front on
 * waking), normal (as the master).
 */
enum signer_priority { SIGNER_PRIORITY_IDLE, SIGNER_PRIORITY_BATCH, SIGNER_PRIORITY_NORMAL };
/* 0 and the value, or -1 for a name that is none of them. */
int	 signer_priority_parse(const char *, enum signer_priority *);
const char *signer_priority_name(enum signer_priority);
/* signers = 0: the number of signers for that many online CPUs. */
size_t	 signers_default(long online_cpus);

struct broker_config {
	char			*path;
	struct listen_addr	*listens;
	size_t			 n_listens;
	mode_t			 socket_mode;
	char			*tenants_dir;
	char			*ca_file;
	char			*ca_pem;	/* ca_file's bytes as loaded, NUL-terminated */
	size_t			 ca_pem_len;
	char			*proxy;
	enum log_level		 log_level;
	size_t			 max_cached_tokens;
	size_t			 max_cached_tokens_per_tenant;	/* 0: no fixed bound */
	size_t			 max_exchanges_per_tenant;
	bool			 allow_remote_tcp;
	bool			 require_landlock;	/* the front fails without it */
	int			 connect_timeout;	/* seconds */
	int			 request_timeout;	/* seconds */
	struct listen_addr	 admin_listen;	/* when has_admin_listen */
	bool			 has_admin_listen;
	size_t			 max_connections;
	size_t			 max_header_size;
	size_t			 max_body_size;
	int			 client_timeout;	/* seconds to send a request */
	bool			 allow_insecure_permissions;
	char			*user;		/* the broker's service user; NULL: unset */
	uid_t			 user_uid;	/* its uid and primary gid, when */
	gid_t			 user_gid;	/* user is set and was looked up */
	bool			 user_known;
	size_t			 signers;	/* signer processes; 0: signers_default() */
	size_t			 signer_queue;	/* mint requests per signer */
	enum signer_priority	 signer_priority;	/* the signers' scheduling */
	/* https: listeners (config_tls.c): the files as named, their bytes as
	 * read (NUL-terminated; the key is a secret: wiped when freed), the
	 * authentication methods and the certificate identity field. */
	char			*tls_certificate;
	char			*tls_key;
	char			*https_auth;
	char			*tls_client_ca;
	char			*tls_client_crl;
	char			*tls_client_identity;
	bool			 has_https;	/* some listen is https: */
	unsigned		 https_auth_methods;	/* HTTPS_AUTH_* */
	enum tls_identity_field	 tls_identity;
	char			*tls_cert_pem, *tls_key_pem, *tls_ca_pem, *tls_crl_pem;
	size_t			 tls_cert_pem_len, tls_key_pem_len, tls_ca_pem_len,
				 tls_crl_pem_len;
	/* The state directory (NULL: no persistent state) and whether cached
	 * tokens are kept there (master.c's cache/TENANT.cache). */
	char			*state_directory;
	bool			 persistent_cache;
	/* [broker] redis: the shared cache (cache_redis.c), off when redis
	 * is NULL; redis_path (unix:) or redis_host and redis_port (tcp:) as
	 * parsed; redis_secret is redis_password's file as read (a secret). */
	char			*redis;
	char			*redis_password;
	char			*redis_prefix;
	size_t			 redis_timeout_ms;
	char			*redis_path;
	char			*redis_host;
	int			 redis_port;
	char			*redis_secret;
	/* https_auth = negotiate (config_tls.c): the keytab as named and its
	 * bytes (a secret: read only where keys are, never in the front's
	 * snapshot; wiped when freed), the service principal (NULL: any in
	 * the keytab), the allowed client realms (the replay cache
	 * is in state_directory). */
	char			*krb5_keytab;
	char			*krb5_principal;
	char			*krb5_realms;
	char			*krb5_keytab_bytes;
	size_t			 krb5_keytab_len;
	struct tenant		**tenants;
	size_t			 n_tenants;
};

/* config_options.c - the table of the main file's [broker] options */
enum config_option_type {
	COPT_LISTEN, COPT_ADMIN_LISTEN, COPT_MODE, COPT_PATH, COPT_FILE, COPT_STRING,
	COPT_LOG_LEVEL, COPT_BOOL, COPT_COUNT, COPT_SECONDS, COPT_SIGNER_PRIORITY
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
#define CONFIG_WARN_OPEN	0x2	/* warn about tenants without rules */
#define CONFIG_MAIN_ONLY	0x8	/* `init`: the main file only, no tenant
					   loaded ([access:NAME] not checked) */
#define CONFIG_PENDING_CLIENTS	0x4	/* `provision`: [saml_auth] without client_id,
					   and service sections with oauth_roles or
					   oauth_divisions but no client_id, are
					   clients to create (t->saml_auth.client_id
					   NULL; the services not listed); without
					   this flag they are errors */
struct broker_config *config_load_ext(const char *path, struct diag *, int flags);
/* The same for commands: every problem is printed on stderr. */
struct broker_config *config_load_verbose(const char *path);
/* The same with flags of config_load_ext (CONFIG_WARN_OPEN is not implied). */
struct broker_config *config_load_verbose_ext(const char *path, int flags);
void	 config_free(struct broker_config *);
struct tenant *config_tenant_find(const struct broker_config *, const char *name);
const struct service_client *tenant_service_find(const struct tenant *, const char *name);
/* A tenant's OAuth clients in one order: 0 is [saml_auth], 1..n_services
 * the services; tenant_client is NULL past the last. */
size_t	 tenant_client_count(const struct tenant *);
const struct service_client *tenant_client(const struct tenant *, size_t);
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

/* config_tls.c - the options of https: listeners */
/* san-email, san-upn, subject-cn: 0 and *ret, or -1. */
int	 tls_identity_parse(const char *name, enum tls_identity_field *ret);
const char *tls_identity_name(enum tls_identity_field);
/* Checks tls_key's PEM (cert: tls_certificate's PEM, or NULL): NULL when
 * fine, else what is wrong (no secret).  Set by keystore_global_init; the
 * front, which links no key decoder, has none. */
typedef const char *(*config_tls_key_check_fn)(const char *key_pem, size_t key_len,
	    const char *cert_pem, size_t cert_len);
void	 config_tls_key_check_set(config_tls_key_check_fn);
/* What is wrong with a keytab's bytes (not a keytab, no key at all, or
 * none for principal when it is not NULL), or NULL: set by programs that
 * link the GSS-API acceptor (negotiator.c), never by the front. */
typedef const char *(*config_tls_keytab_check_fn)(const char *buf, size_t len,
	    const char *principal);
void	 config_tls_keytab_check_set(config_tls_keytab_check_fn);
/* Is realm one of the space-separated list's (exact, case-sensitive)? */
bool	 krb5_realm_allowed(const char *list, const char *realm);
/* An https_auth list ("certificate"): 0 and *ret (HTTPS_AUTH_* bits), or
 * -1 with the first unknown entry in *ret_bad ("" when empty). */
int	 https_auth_parse(const char *list, unsigned *ret, const char **ret_bad);

/* snapshot.c - one generation's configuration as read: every file's bytes, the
 * tenants directory's listing, env: values and NSS answers, recorded by the
 * process that reads files and replayed by processes that may not */
struct config_snapshot;
enum snapshot_audience {
	SNAPSHOT_FULL,	/* everything: for the signers */
	SNAPSHOT_FRONT	/* no key, no key password: for the front */
};
/* Loads path (flags as config_load_ext) from the real system, recording
 * every read.  Returns the config (or NULL on error: problems in d) and, on
 * success, *ret_snap.  With CONFIG_NO_PRIVATE_KEYS the key files and key
 * passwords are still recorded (read and checked, not decoded). */
struct broker_config *config_load_recorded(const char *path, struct diag *d, int flags,
	    struct config_snapshot **ret_snap);
/* Loads from a snapshot only: any read not in it fails ("not in the snapshot"). */
struct broker_config *config_load_snapshot(const struct config_snapshot *, struct diag *d,
	    int flags);
/* Serializes for a process: SNAPSHOT_FULL (the signers: everything) or
 * SNAPSHOT_FRONT: without the contents of files named by [saml] pkey and
 * password (file:), env: values used only by password, and with the [saml]
 * pkey and password lines of every tenant file blanked.  A front load with
 * CONFIG_NO_PRIVATE_KEYS succeeds on the FRONT form.  *ret_buf is
 * NUL-terminated text without other NUL bytes (ret_len = strlen): free it
 * with secret_free. */
int	 snapshot_encode(const struct config_snapshot *, enum snapshot_audience,
	    char **ret_buf, size_t *ret_len);
/* Parses an encoded snapshot; NULL with the reason in errbuf when malformed. */
struct config_snapshot *snapshot_decode(const char *buf, size_t len, char *errbuf,
	    size_t errlen);
void	 snapshot_free(struct config_snapshot *);	/* wipes every byte; accepts NULL */
/* The main file's path as recorded. */
const char *snapshot_main_path(const struct config_snapshot *);

/* access.c - who may obtain what: [access:TENANT] rules and the decision */
/* One caller, as the front knows it. */
struct caller {
	bool		 is_unix;	/* false: TCP (no identity) or https */
	bool		 is_admin;	/* came in on the admin address */
	unsigned	 uid;
	const unsigned	*gids;		/* primary and supplementary */
	size_t		 n_gids;
	/* The login name (NULL if unknown), asked for only by a decision that
	 * needs it, and only once the caller is known to the tenant: it may be
	 * an NSS lookup, whose time must not tell which tenants have agent
	 * rules.  NULL: no login name. */
	const char	*(*login)(void *arg);
	void		*login_arg;
	/* An https caller's authenticated identity (canonical: lowercase),
	 * from its client certificate; NULL for every other caller. */
	const char	*cert_identity;
	/* An https caller's Kerberos principal NAME@REALM (Negotiate, of an
	 * allowed realm; case-sensitive), or NULL. */
	const char	*krb5_principal;
};
enum access_action { ACCESS_USER_TOKEN, ACCESS_SAML_RESPONSE, ACCESS_SERVICE_TOKEN };
enum access_result {
	ACCESS_ALLOW,
	ACCESS_DENY,	/* 403 forbidden: the caller is known, the rule says no */
	ACCESS_HIDDEN	/* answered exactly like an unknown tenant */
};
/* May the caller do action for subject (an address, or a service name)?
 * *ret_rule (may be NULL) is set to the rule that decided, a static text
 * that names no principal.  Addresses compare in their canonical form
 * (email_canonicalize).  Hidden is decided first, from the kernel's
 * identity alone; the login is asked for after that, at most once. */
enum access_result access_decide(const struct tenant *, const struct caller *,
	    enum access_action, const char *subject, const char **ret_rule);
/* Does the tenant exist for this caller (/v1/status)? */
bool	 access_tenant_visible(const struct tenant *, const struct caller *);
/* One line per rule of the tenant, for `check`; the caller frees each line
 * and the array. */
size_t	 access_describe(const struct tenant *, char ***ret_lines);
void	 access_free(struct tenant_access *);

/* saml.c - signed SAMLResponses */
/* The NameID format of assertions unless [saml] name_id_format says otherwise. */
#define SAML_NAMEID_EMAIL	"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
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

/* signer.c - the front's pool of signer processes (signer_main.c), which
 * alone hold private keys: whole mints on the libevent loop */
struct event_base;
struct signer_pool;
struct signer_request;		/* a pending mint; the pool owns it */
enum signer_status {
	SIGNER_OK,		/* saml_response_b64 and not_on_or_after are set */
	SIGNER_FAILED,		/* the mint failed (500); error says why, no secret */
	SIGNER_BUSY,		/* every queue full or no signer up (503 + Retry-After) */
	SIGNER_UNKNOWN_TENANT	/* the signers' configuration has no such tenant */
};
/* Seconds a caller told SIGNER_BUSY should wait (Retry-After). */
#define SIGNER_RETRY_AFTER	1
struct signer_result {
	enum signer_status	 status;
	const char		*saml_response_b64;	/* OK: a secret, valid during the callback */
	double			 not_on_or_after;	/* OK */
	const char		*error;			/* not OK: short text */
};
typedef void (*signer_cb)(const struct signer_result *, void *arg);
/*
 * Who starts and stops the pool's processes.  Without one the pool forks
 * and execs them itself (signer_proc.c: tests, bench_pool); under serve's
 * master the front cannot start a program, so the master does
 * (front_control.c), and its answers come back through
 * signer_pool_started and signer_pool_start_failed.
 */
struct signer_spawner {
	/* Asks for signer index of generation gen; seq names this attempt.
	 * 0 when asked, -1 with errbuf. */
	int	(*start)(void *arg, uint64_t gen, int index, uint32_t seq,
		    char *errbuf, size_t errlen);
	/* The pool closed pid's socket: it should exit on EOF (graceful),
	 * or must be killed now (hung or misbehaving). */
	void	(*stop)(void *arg, pid_t pid, bool graceful);
	void	*arg;
};
struct signer_pool_options {
	const char	*exe;		/* the samlbroker binary; NULL: /proc/self/exe */
	const char	*config_path;	/* what each signer loads, with keys */
	const struct signer_spawner *spawner;	/* NULL: the pool forks them */
	size_t		 signers;	/* 0: the number of online CPUs */
	size_t		 queue_max;	/* per signer, sent and waiting; 0: 64 */
	double		 request_timeout;	/* seconds; a signer slower is killed; 0: 10 */
	double		 start_timeout;	/* seconds for a generation to start; 0: 30 */
	size_t		 n_tenants;	/* tenants sharing the queues; 0: 1 */
};
#define SIGNER_LATENCY_BOUNDS { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 }
#define SIGNER_LATENCY_BUCKETS	11	/* the bounds above and +Inf */
struct signer_pool_stats {
	size_t		 signers;	/* processes of the current generation */
	size_t		 ready;		/* of which up and answering */
	size_t		 draining;	/* processes of older generations finishing */
	size_t		 queue_depth;	/* requests sent or waiting, every signer */
	size_t		 queue_max;	/* per signer */
	uint64_t	 generation;	/* 1 at start, +1 per reload */
	uint64_t	 restarts;	/* signers started again after dying */
	uint64_t	 requests;	/* accepted by signer_pool_mint */
	uint64_t	 ok, failed, busy, retried;
	uint64_t	 canceled;	/* by their callers (signer_pool_cancel) */
	uint64_t	 canceled_unsent;	/* of which dropped before any signer saw them */
	uint64_t	 refused;	/* refused by a signer (its clock disagreed) */
	uint64_t	 unclean_exits;	/* stopped signers that did not exit with 0 */
	uint64_t	 latency_buckets[SIGNER_LATENCY_BUCKETS];	/* request to answer */
	double		 latency_sum;
	uint64_t	 latency_count;
};
struct signer_process_info {
	int		 index;		/* 1.. within its generation */
	pid_t		 pid;		/* 0 while down */
	uint64_t	 generation;
	bool		 ready;
	bool		 draining;
	size_t		 queue_depth;
	uint64_t	 restarts;
};
/* Starts the signers and waits until every one has loaded its keys (or
 * fails with the first signer's reason in errbuf). */
struct signer_pool *signer_pool_new(struct event_base *, const struct signer_pool_options *,
	    char *errbuf, size_t errlen);
/* Stops every signer (their pending callbacks are not called); waits for
 * them, so no process is left.  Accepts NULL.  Not from a callback. */
void	 signer_pool_free(struct signer_pool *);
/* Queues a mint and returns its handle; the callback runs once, later, on
 * the loop.  The signer signs for its own clock.  NULL (and *ret_refusal)
 * when refused at once: SIGNER_BUSY (no room: a tenant at or above its
 * share of the queues finds every queue full, or no signer is up), or
 * SIGNER_FAILED for a tenant or e-mail too long for the wire. */
struct signer_request *signer_pool_mint(struct signer_pool *, const char *tenant,
	    const char *email, signer_cb, void *arg, enum signer_status *ret_refusal);
/* The callback of a pending request will not be called; the handle dies.
 * A request not yet sent to a signer is dropped and never signed. */
void	 signer_pool_cancel(struct signer_pool *, struct signer_request *);
/* The number of tenants sharing the queues (after a reload). */
void	 signer_pool_set_tenants(struct signer_pool *, size_t n_tenants);
/* A new generation of signers loads config_path (NULL: the same file);
 * once all are ready, new requests go to them and the old generation
 * finishes its queue and stops.  On failure the old generation stays.
 * Not from a callback. */
int	 signer_pool_reload(struct signer_pool *, const char *config_path,
	    char *errbuf, size_t errlen);
/* With a spawner: a pool over a generation the spawner started and saw
 * ready (n sockets and pids, index i + 1 each); the pool owns the fds. */
struct signer_pool *signer_pool_adopt_new(struct event_base *,
	    const struct signer_pool_options *, uint64_t generation,
	    const int *fds, const pid_t *pids, size_t n);
/* Reload with a spawner: the new generation's ready sockets replace the
 * current one, which drains and stops.  The pool owns the fds. */
void	 signer_pool_adopt(struct signer_pool *, uint64_t generation,
	    const int *fds, const pid_t *pids, size_t n);
/* The spawner's answers to start(): a ready signer's socket (the pool
 * owns fd; an answer to an attempt given up is stopped at once) or why
 * it could not start. */
void	 signer_pool_started(struct signer_pool *, uint64_t gen, int index,
	    uint32_t seq, pid_t pid, int fd);
void	 signer_pool_start_failed(struct signer_pool *, uint64_t gen, int index,
	    uint32_t seq, const char *why);
void	 signer_pool_stats(const struct signer_pool *, struct signer_pool_stats *);
/* Up to max processes, current generation first; returns how many. */
size_t	 signer_pool_processes(const struct signer_pool *, struct signer_process_info *,
	    size_t max);

/* sandbox.c - the front's confinement: no new privileges, Landlock (no
 * file but the resolver's may be opened, nothing executed), seccomp */
struct sandbox_options {
	bool		 require_landlock;	/* fail when the kernel has none */
	const char *const *extra_read;	/* more files left readable (tests) */
};
struct sandbox_report {
	bool		 landlock;	/* in force */
	int		 landlock_abi;	/* 0: the kernel has none */
	bool		 seccomp;	/* the deny-list is installed */
};
/* Confines the calling process for good; -1 with errbuf (fail closed:
 * the caller must not go on). */
int	 sandbox_enter(const struct sandbox_options *, struct sandbox_report *ret,
	    char *errbuf, size_t errlen);

/* upstream.c - token requests to PureCloud: libcurl multi on the libevent loop */
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
/* Every transfer verifies against this PEM bundle instead of ca_file
 * (the front, which cannot open files); takes pem (free()d later). */
void	 upstream_ca_bundle_set(char *pem, size_t len);
struct upstream *upstream_new(struct event_base *, const char *ca_file,
	    const char *proxy, int connect_timeout, int request_timeout);
void	 upstream_free(struct upstream *);	/* cancels pending requests without callbacks */
/* Both copy what they need from their arguments before returning. */
int	 upstream_exchange_saml2(struct upstream *, const struct tenant *,
	    const char *saml_response_b64, upstream_cb, void *arg);
int	 upstream_exchange_client_credentials(struct upstream *, const struct tenant *,
	    const struct service_client *, upstream_cb, void *arg);
size_t	 upstream_pending(const struct upstream *);
/* Stops one exchange (a handle from upstream_curl_ops.start); no callback. */
void	 upstream_cancel(struct upstream *, void *handle);

/*
 * The broker's seam to the token endpoint.  start copies what it needs from
 * the request, answers through cb exactly once from the event loop (never
 * before it returns) and returns a handle, or NULL when the exchange cannot
 * start (then cb is never called).  cancel stops an exchange whose answer
 * has not come: its callback is never called.  upstream_curl_ops is the
 * real one (impl: a struct upstream); tests use a fake.
 */
struct upstream_request {
	enum grant_kind			 grant;
	const struct tenant		*tenant;
	const struct service_client	*client;	/* the client to authenticate */
	const char			*assertion_b64;	/* GRANT_SAML2_BEARER only */
};
struct upstream_ops {
	void	*(*start)(void *impl, const struct upstream_request *,
		    upstream_cb, void *arg);
	void	 (*cancel)(void *impl, void *handle);
};
extern const struct upstream_ops upstream_curl_ops;

/* upstream_answer.c - the token endpoint's answer read: pure, bytes in */
/* Fills r (outcome, error, message, token, expires_in, retry_after,
 * http_status) from a completed HTTP answer; retry_after is the raw
 * Retry-After value or NULL. */
void	 upstream_answer_read(long http_status, const char *body, size_t body_len,
	    const char *retry_after, double now, struct upstream_result *r);
/* Seconds from a Retry-After value (delta-seconds or HTTP-date), capped at
 * one day; 0 when absent, malformed or past. */
double	 upstream_retry_after_parse(const char *value, double now);
void	 upstream_result_fail(struct upstream_result *, enum upstream_outcome,
	    const char *error, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Copies printable ASCII (others become '?'), at most max bytes. */
void	 upstream_text_sanitize(char *dst, size_t dstlen, const char *src, size_t max);

/* minter.c - signed SAMLResponses on request: the seam and the in-process minter */
enum mint_outcome {
	MINT_OK,	/* saml_response_b64 and not_on_or_after are set */
	MINT_FAILED,	/* could not sign: 500 internal_error */
	MINT_BUSY	/* every signer busy: 503 signers_busy with Retry-After */
};
struct mint_result {
	enum mint_outcome outcome;
	char		*saml_response_b64;	/* OK: a secret; take it by setting NULL */
	double		 not_on_or_after;	/* OK */
	double		 retry_after;		/* BUSY: seconds, > 0 */
	char		 message[256];		/* FAILED, BUSY: for the log, never a secret */
};
/* The result and its fields live until the callback returns. */
typedef void (*mint_cb)(struct mint_result *, void *arg);
/*
 * The broker's seam to whoever signs.  start asks for a SAMLResponse for
 * email at time now, signed with tenant's key; it answers through cb
 * exactly once from the event loop (never before it returns) and returns a
 * handle, or NULL when it cannot even start (cb never called).  cancel
 * stops a mint whose answer has not come (no callback).  reconfigure
 * (may be NULL) hands over a new configuration's keys on reload; a mint
 * started before keeps the keys it started with.
 */
struct minter_ops {
	void	*(*start)(void *impl, const char *tenant, const char *email,
		    double now, mint_cb, void *arg);
	void	 (*cancel)(void *impl, void *handle);
	int	 (*reconfigure)(void *impl, const struct broker_config *,
		    char *errbuf, size_t errlen);
};
/* Signs in this process with saml.c (tools, tests, and the broker by default). */
struct minter_local;
struct minter_local *minter_local_new(struct event_base *, const struct broker_config *,
	    char *errbuf, size_t errlen);
void	 minter_local_free(struct minter_local *);	/* pending mints: no callback */
extern const struct minter_ops minter_local_ops;
/* minter_signers.c - signs in the signer processes of a signer_pool (serve):
 * refusals and answers of the pool become mint results; no reconfigure (the
 * caller reloads the pool).  Free it before the pool. */
struct minter_signers;
struct minter_signers *minter_signers_new(struct event_base *, struct signer_pool *);
void	 minter_signers_free(struct minter_signers *);	/* pending mints: no callback */
extern const struct minter_ops minter_signers_ops;

/* cache.c - tokens by (tenant, kind, subject), bounded per tenant and in
 * total, least recently used out; a store that knows no policy */
enum token_kind { TOKEN_USER, TOKEN_SERVICE };
struct cache_part;
struct cache_entry {
	char		*tenant;
	enum token_kind	 kind;
	char		*subject;	/* e-mail or service name */
	char		*token;		/* secret; NULL while none is held */
	void		*data;		/* the caller's; freed with the cache's data_free */
	bool		 pinned;	/* the caller's: never evicted while set */
	/* private to cache.c */
	struct cache_part *part;
	struct cache_entry *lru_prev, *lru_next, *hash_next;
	uint64_t	 hash;
};
struct cache;
/* data_free (may be NULL) releases an entry's data when it goes. */
struct cache *cache_new(size_t max_entries, void (*data_free)(void *));
void	 cache_free(struct cache *);	/* wipes every token */
/* Finds an entry and marks it most recently used; NULL if absent. */
struct cache_entry *cache_lookup(struct cache *, const char *tenant,
	    enum token_kind, const char *subject);
/* Adds an empty entry (or returns the one with that key).  When the tenant
 * holds tenant_max entries, its least recently used unpinned entry goes;
 * when the cache holds max_entries, one of the tenant holding the most user
 * entries goes (another tenant's: a user entry only).  User entries go
 * before service entries, and a user entry never makes a service entry go;
 * with nothing that may go, the bound is exceeded until entries unpin. */
struct cache_entry *cache_insert(struct cache *, const char *tenant,
	    enum token_kind, const char *subject, size_t tenant_max);
void	 cache_remove(struct cache *, struct cache_entry *);	/* wipes the token */
/* Stores a token (taking ownership), wiping the previous one. */
void	 cache_set_token(struct cache_entry *, char *token);
void	 cache_clear_token(struct cache_entry *);
size_t	 cache_count(const struct cache *);
size_t	 cache_count_tenant(const struct cache *, const char *tenant);
size_t	 cache_evictions(const struct cache *);
/* Calls fn for every entry; fn may remove the entry it is given. */
void	 cache_foreach(struct cache *, void (*fn)(struct cache_entry *, void *), void *);

/* cache_redis.c - the token cache shared by several brokers in Redis
 * ([broker] redis): sealed entries, a lock per token; never blocks */
struct cache_redis;
struct cr_fetch;
struct cache_redis_stats {
	uint64_t	 hits;		/* tokens found in Redis */
	uint64_t	 misses;	/* not there: exchanged here */
	uint64_t	 waits;		/* another broker held the lock */
	uint64_t	 errors;	/* commands failed, values rejected */
};
enum cache_redis_found {
	CACHE_REDIS_HIT,		/* the token, and its expiry */
	CACHE_REDIS_MISS_LOCKED,	/* not there; this broker holds the lock */
	CACHE_REDIS_MISS,		/* not there, the lock elsewhere ran out */
	CACHE_REDIS_ERROR		/* Redis failed or is gone */
};
/* token: a secret the callee owns (HIT only). */
typedef void (*cache_redis_cb)(enum cache_redis_found, char *token,
	    double expires_at, void *arg);
/* Connects (asynchronously) when conf->redis is set; NULL otherwise. */
struct cache_redis *cache_redis_new(struct event_base *,
	    const struct broker_config *);
void	 cache_redis_free(struct cache_redis *);
/* Looks for a token expiring after fresher_than (0: any), else takes its
 * lock (held lock_ttl seconds), waiting while another broker holds it; cb
 * once, from the loop.  NULL when Redis is not available or the tenant
 * has no key: go on without it. */
struct cr_fetch *cache_redis_fetch(struct cache_redis *, const struct tenant *,
	    enum token_kind, const char *subject, double lock_ttl,
	    double fresher_than, cache_redis_cb, void *arg);
void	 cache_redis_cancel(struct cr_fetch *);	/* no callback; accepts NULL */
/* Writes a token with its remaining life (token NULL: nothing) and, when
 * locked, releases the lock if it is still this broker's. */
void	 cache_redis_store(struct cache_redis *, const struct tenant *,
	    enum token_kind, const char *subject, const char *token,
	    double expires_at, bool locked);
void	 cache_redis_unlock(struct cache_redis *, const struct tenant *,
	    enum token_kind, const char *subject);
const struct cache_redis_stats *cache_redis_stats(const struct cache_redis *);
bool	 cache_redis_available(const struct cache_redis *);
/* Sealing (cache_seal.c, the tenant's key, its tenant, kind and subject
 * as associated data): the value's length or -1; the token or -1. */
int	 cache_redis_seal(const unsigned char key[32], const char *tenant,
	    enum token_kind, const char *subject, const char *token,
	    double expires_at, unsigned char **ret);
int	 cache_redis_open(const unsigned char key[32], const char *tenant,
	    enum token_kind, const char *subject, const unsigned char *v,
	    size_t len, char **ret_token, double *ret_expires);

/* broker_policy.c - the broker's decisions, pure functions of (state, now, event) */
#define POLICY_MARGIN_MAX		60.0	/* longest safety margin, s */
#define POLICY_REFRESH_FROM		0.6	/* refresh from 0.6 of the life... */
#define POLICY_REFRESH_SPREAD		0.1	/* ...plus up to 0.1, at random */
#define POLICY_BACKOFF_MAX		300.0	/* longest backoff, jitter included */
#define POLICY_RETRY_AFTER_MAX		3600.0	/* longest Retry-After honoured */
#define POLICY_HARD_FAILURE_MEMORY	5.0	/* invalid_client etc. remembered, s */
/* What the broker knows about one cache key besides the token itself. */
struct policy {
	double	 obtained_at;
	double	 expires_at;
	double	 refresh_at;	/* refresh ahead of expiry from here on */
	bool	 in_flight;	/* one exchange at a time */
	int	 failures;	/* consecutive */
	double	 retry_at;	/* no new attempt before (backoff) */
	double	 hard_fail_until;	/* invalid_client/invalid_grant remembered */
	char	 last_error[64];
	int	 last_status;	/* API status of the last failure: 502/503/504 */
};
enum policy_action {
	POLICY_SERVE,			/* answer from the cache */
	POLICY_SERVE_AND_REFRESH,	/* answer, and start a refresh first */
	POLICY_WAIT,			/* join the exchange in progress */
	POLICY_START,			/* start an exchange and wait for it */
	POLICY_REFUSE_FAILING,		/* the last failure, with Retry-After */
	POLICY_REFUSE_BUSY		/* 503: the tenant's exchanges are all in use */
};
#define POLICY_SWEEP_WIPE	0x1	/* the token is too old to hand out */
#define POLICY_SWEEP_DROP	0x2	/* the entry holds nothing worth keeping */
#define POLICY_SWEEP_REFRESH	0x4	/* a service token past its refresh point */
double	 policy_safety_margin(const struct policy *);	/* min(60, life / 5) */
bool	 policy_token_usable(const struct policy *, bool has_token, double now);
/* A caller asks for a key: what happens; may_start from policy_may_start. */
enum policy_action policy_decide(const struct policy *, bool has_token, double now,
	    bool may_start);
/* May a tenant with tenant_running exchanges start one more? */
bool	 policy_may_start(size_t tenant_running, size_t tenant_max,
	    size_t total_running, size_t total_max, size_t n_tenants);
/* A token came: times set (life capped at life_max), failures forgotten. */
void	 policy_on_success(struct policy *, long expires_in, double life_max,
	    double now, double jitter);
/* Failures forgotten: no backoff, no remembered error. */
void	 policy_forget_failures(struct policy *);
/* An exchange failed: backoff and failure memory; returns the backoff. */
double	 policy_on_failure(struct policy *, enum upstream_outcome, const char *error,
	    double retry_after, double now, double jitter);
/* The signers were busy: no refresh before retry_after has passed (not a
 * failure: a caller without a token may try again at once). */
void	 policy_on_busy(struct policy *, double retry_after, double now);
/* DELETE: must the entry stay (only its token goes)? */
bool	 policy_keeps_entry(const struct policy *, double now);
/* The sweep's verdict on an entry: POLICY_SWEEP_* flags. */
unsigned policy_sweep(const struct policy *, bool has_token, enum token_kind, double now);
/* A tenant's bound in the cache (see max_cached_tokens_per_tenant). */
size_t	 policy_cache_share(size_t max_cached, size_t per_tenant);

/* broker_pace.c - pacing one organization's token-endpoint requests to the
 * rate it allows, learned from its 429s; fair queues of the exchanges
 * waiting for their turn, one per tenant; pure (time is an argument) */
#define PACE_RING		1024	/* recent sends and answers remembered */
#define PACE_QUEUES_MAX		64	/* tenants of one organization in flight at once */
#define PACE_CUT		0.9 	/* rate after a 429, times the rate */
#define PACE_MEASURED		0.97	/* or times the answers of the last second */
#define PACE_SPAN_MIN		0.25	/* 429s sooner after a cut: no new cut, s */
#define PACE_CEILING		1.0	/* raised to this part of the measured rate... */
#define PACE_PROBE_SEC		5.0	/* ...for this long after the cut, then above */
#define PACE_FIRST_CUT		0.6	/* the first 429: times the send rate */
#define PACE_RAISE_SEC		0.5	/* answers without 429 for this long raise... */
#define PACE_INCREASE		0.05	/* ...the rate this part of itself... */
#define PACE_INCREASE_MAX	0.2	/* ...doubling each time up to this */
#define PACE_BURST_SEC		0.05	/* sends that may catch up at once */
#define PACE_PAUSE_AFTER	3	/* cuts in a row before Retry-After stops all */
#define PACE_PAUSE_MAX		60.0	/* longest pause, s */
#define PACE_RATE_MIN		0.2	/* requests a second */
#define PACE_START_WINDOW	8	/* before any 429: requests at once, +1 an answer */
#define PACE_REQUEUES		3	/* 429s an exchange is retried after */
#define PACE_HOLD_SEC		2.0	/* a caller expecting its token sooner waits */
struct pace_item {
	struct pace_item *prev, *next;
	const char	*tenant;	/* its tenant's name (the holder's) */
	size_t		 queue;		/* index of its tenant's queue */
	int64_t		 seq;		/* place in that queue */
	double		 not_before;	/* retried after a 429 */
	bool		 queued;
	bool		 retry;		/* in the retry list */
};
struct pace_queue {
	char		 tenant[NAME_MAX_LEN + 1];
	struct pace_item *head, *tail;
	int64_t		 next_seq;
	size_t		 len;
	size_t		 held;		/* items bound to it; 0: free for another */
};
struct pace_ring {
	double		 t[PACE_RING];
	size_t		 n, next;
};
struct pace {
	double		 rate;		/* requests a second; 0: none learned yet */
	double		 window;	/* before any 429: requests in flight allowed */
	size_t		 in_flight;
	double		 tokens, tokens_at;	/* the bucket */
	double		 last_cut;	/* when the rate was last lowered */
	double		 last_raise;
	double		 raise;		/* the next raise, a part of the rate */
	double		 ceiling;	/* the measured rate, times PACE_CEILING */
	double		 pause_until;	/* Retry-After after PACE_PAUSE_AFTER cuts */
	double		 latency;	/* average answer time, s */
	unsigned	 limited_in_row;
	unsigned long	 limited;	/* 429s seen */
	struct pace_ring sent, answered;
	struct pace_queue queues[PACE_QUEUES_MAX];
	size_t		 n_queues, rr;	/* round-robin cursor */
	struct pace_item *retry_head, *retry_tail;
	size_t		 queued;	/* items in queues and retry list */
};
void	 pace_init(struct pace *);
/* Binds an item (an exchange, queued or running) to its tenant's queue,
 * until pace_unhold: the tenant's queue, else a free one (none bound) made
 * its, else, with PACE_QUEUES_MAX tenants in flight, the least bound one,
 * shared (still paced; served in turn with it).  tenant must outlive the
 * hold. */
void	 pace_hold(struct pace *, struct pace_item *, const char *tenant);
/* The item's exchange has ended (out of the queues first). */
void	 pace_unhold(struct pace *, struct pace_item *);
/* Whether a request may go now (the bucket holds one, no pause). */
bool	 pace_may_send(struct pace *, double now);
/* When the next request may go (now or later; -1: when one ends). */
double	 pace_next_send(struct pace *, double now);
/* An exchange goes at now (a user's starts with its mint): one out of
 * the bucket. */
void	 pace_take(struct pace *, double now);
/* An exchange that went has ended (answered or not). */
void	 pace_release(struct pace *);
/* Its request reached the token endpoint at now. */
void	 pace_sent(struct pace *, double now);
/* The endpoint answered a request sent at sent_at: limited (a 429, with
 * its Retry-After in seconds) lowers the rate, a run without raises it. */
void	 pace_answered(struct pace *, double now, double sent_at, bool limited,
	    double retry_after);
/* Queues a held item at the tail of its queue, or (retry) in the retry
 * list, which goes first once not_before has passed. */
void	 pace_push(struct pace *, struct pace_item *, bool retry, double not_before);
void	 pace_remove(struct pace *, struct pace_item *);
/* The next item to send: a due retry, else the next queue's in turn whose
 * head item's tenant may_start allows; NULL if none. */
struct pace_item *pace_pop(struct pace *, double now,
	    bool (*may_start)(const char *tenant, void *), void *arg);
/* Seconds until a queued item is expected to be answered, at rate (or at
 * fallback_rate while none is learned). */
double	 pace_eta(const struct pace *, const struct pace_item *, double now,
	    double fallback_rate);

/* broker.c - tokens for callers: cache, minting, exchange, refresh ahead */
struct broker;
struct broker_reply {
	int		 status;	/* HTTP status */
	const char	*error;		/* NULL on success, else the API error code */
	const char	*message;	/* never holds a secret */
	const char	*upstream_error;	/* upstream_rejected only */
	const char	*token;		/* success only; valid during the callback */
	double		 expires_at;
	const char	*saml_response;	/* broker_mint success only; valid during the callback */
	double		 not_on_or_after;	/* broker_mint success only */
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
/* One OAuth client of a tenant ([saml_auth] or a service): its exchanges
 * with the token endpoint and how the last one ended. */
#define CLIENT_REASON_LEN	120
struct client_stats {
	uint64_t	 exchanges[4];	/* by enum upstream_outcome */
	double		 last_success;
	double		 last_failure;
	bool		 failed;	/* the last exchange failed */
	char		 last_error[64];	/* its error code */
	char		 last_reason[CLIENT_REASON_LEN];	/* short, never a secret */
};
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
/* Where the broker sends exchanges and mints.  A NULL upstream means the
 * real one (upstream_curl_ops over a struct upstream); the minter is
 * required: minter_signers_ops (serve's front) or minter_local_ops (tools
 * and tests; the front's binary does not link it). */
struct broker_seams {
	const struct upstream_ops	*upstream;
	void				*upstream_impl;
	const struct minter_ops		*minter;
	void				*minter_impl;
};
struct broker *broker_new_with(struct event_base *, struct broker_config *,
	    const struct broker_seams *, char *errbuf, size_t errlen);
/* What the once-a-second timer does: refresh, expire, drop (tests call it). */
void	 broker_sweep(struct broker *);
void	 broker_free(struct broker *);
/* Answers every caller still waiting for an exchange with 503 (shutdown). */
void	 broker_cancel_waiters(struct broker *);
/* Swaps in a new configuration (the broker takes it; the old one is freed).
 * Unchanged tenants keep their cache, changed and removed ones lose it. */
int	 broker_reconfigure(struct broker *, struct broker_config *, char *errbuf, size_t errlen);
const struct broker_config *broker_config(const struct broker *);
/* A caller waiting for the broker (broker_get_token, broker_mint). */
struct waiter;
struct mint_req;
/* Answers exactly once through cb, possibly before returning (then NULL);
 * otherwise returns the waiter, valid until cb runs. */
struct waiter *broker_get_token(struct broker *, const char *tenant, enum token_kind,
	    const char *subject, broker_cb, void *arg);
/* The waiter's caller has gone: cb will not run.  The exchange it waited
 * for goes on if others wait or it is past signing; otherwise its mint is
 * canceled (a queued one is never signed). */
void	 broker_token_cancel(struct broker *, struct waiter *);
/* 0: evicted or nothing cached; -1 with reply filled: unknown tenant/service. */
int	 broker_evict_token(struct broker *, const char *tenant, enum token_kind,
	    const char *subject, struct broker_reply *);
/* Mints a SAMLResponse for a caller that exchanges it itself; answers
 * exactly once through cb (saml_response, not_on_or_after), possibly
 * before returning (refusals: then NULL); otherwise returns the pending
 * mint, valid until cb runs. */
struct mint_req *broker_mint(struct broker *, const char *tenant, const char *email,
	    broker_cb, void *arg);
/* The mint's caller has gone: cb will not run; the mint is canceled (a
 * queued one is never signed). */
void	 broker_mint_cancel(struct broker *, struct mint_req *);
const struct tenant_stats *broker_tenant_stats(const struct broker *, size_t tenant_index);
const struct upstream_stats *broker_upstream_stats(const struct broker *);
/* Each organization's pace (a token endpoint and organization_sname) to fn,
 * for /v1/status and /metrics. */
void	 broker_pace_each(const struct broker *, void (*fn)(const char *org,
	    const char *token_endpoint, const struct pace *, void *), void *arg);
/* A tenant's client (tenant_client's order), NULL past the last. */
const struct client_stats *broker_client_stats(const struct broker *, size_t tenant_index,
	    size_t client);
/* Whether any client's last exchange failed: the tenant is failing. */
bool	 broker_tenant_failing(const struct broker *, size_t tenant_index);
/* broker_persist.c - cached tokens for the persistent cache (cache_seal.h's
 * batches; the master seals and writes them) */
struct secret_buf;
/* The tokens of every tenant whose tokens changed since the last dump,
 * each tenant whole (a tenant without any: empty), appended to out (at
 * most max bytes); *ret_tenants: how many.  -1 when over max (nothing is
 * forgotten: the next dump tries again). */
int	 broker_persist_dump(struct broker *, struct secret_buf *out, size_t max,
	    size_t *ret_tenants);
/* Every tenant's file is rewritten at the next dump (after a reload; at
 * start, so that a file the master ignored does not outlive it). */
void	 broker_persist_mark_all(struct broker *);
struct persist_counts {
	size_t	 tenants, loaded, skipped;	/* skipped: expired, unknown */
};
/* Puts a batch's tokens in the cache, as if each was exchanged when it
 * was obtained; -1 with errbuf when the batch is malformed (what came
 * before stays). */
int	 broker_persist_load(struct broker *, const char *buf, size_t len,
	    struct persist_counts *, char *errbuf, size_t errlen);
/* The shared cache, or NULL when [broker] redis is unset. */
const struct cache_redis *broker_redis(const struct broker *);
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
/* A string member of the answer's JSON object (a static buffer), made
 * printable (text_printable), or NULL. */
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
/* The same, a 401 or 403 naming perm, the permission the call needs. */
int	 provision_explain_perm(int rc, const struct platform_reply *, const char *what,
	    const char *perm, char *err, size_t errlen);
/* One API call (method on base_service_url + path) with the admin token and
 * a JSON body (NULL: none); *ret the answer's JSON object (2xx), or NULL
 * for a 404 when allow_404 and for a DELETE's answer without a body (the
 * platform's 204); else an exit status with err, a 403 naming perm.  The
 * answer may hold a secret: the caller frees it. */
int	 provision_call(struct platform *, const struct tenant *, const char *prog,
	    const char *token, const char *method, const char *path, struct json_t *body,
	    const char *perm, bool allow_404, struct json_t **ret, char *err,
	    size_t errlen);
/* provision.c: the whole of `provision -t tenant` (clients, roles, the
 * identity provider); *ret_changes what it created, granted or wrote. */
int	 provision_tenant(const char *conf, const char *tenant, const char *sso_target,
	    int *ret_changes);
/* provision_clients.c - the tenant's OAuth clients: created where the
 * tenant file has none (ids and secrets written into it or its file:
 * targets), checked where it has; with dry_run only printed.  Returns an
 * exit status; *ret_changes the clients created. */
int	 provision_clients(struct platform *, const char *conf, const struct tenant *,
	    const char *prog, const char *token, const char *sso_target, bool dry_run,
	    int *ret_changes);
/* New secrets for the tenant's clients (service: one section only, else
 * all), each written as it comes; *ret_changes how many were written. */
int	 provision_rotate(struct platform *, const char *conf, const struct tenant *,
	    const char *prog, const char *token, const char *service, bool dry_run,
	    int *ret_changes);
/* The clients provision created for the tenant (the marker in their
 * description): printed, and deleted when yes; *ret_found how many. */
int	 provision_clients_remove(struct platform *, const struct tenant *,
	    const char *prog, const char *token, bool yes, int *ret_found);
/* provision_roles.c - the roles the tenant names: whether they exist, and
 * the agent role's permissions ([general] agent_permissions, else the
 * default list) */
#define PROVISION_MAX_PERMISSIONS	64
struct provision_roles {
	bool		 agent_found;
	bool		 admin_found;
	size_t		 n_wanted;
	char		*missing[PROVISION_MAX_PERMISSIONS];	/* of the agent role */
	size_t		 n_missing;
	struct json_t	*agent;		/* the agent role's record */
};
/* Reads the roles; an exit status (err set, a 403 naming the permission). */
int	 provision_roles_read(struct platform *, const struct tenant *, const char *prog,
	    const char *token, struct provision_roles *, char *err, size_t errlen);
/* Adds the missing permissions to the agent role (never removes one). */
int	 provision_roles_grant(struct platform *, const struct tenant *, const char *prog,
	    const char *token, struct provision_roles *, char *err, size_t errlen);
void	 provision_roles_clear(struct provision_roles *);
/* provision's roles step: printed; with dry_run nothing written. */
int	 provision_roles(struct platform *, const struct tenant *, const char *prog,
	    const char *token, bool dry_run, int *ret_changes);
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
/* The identity provider's certificate list for a rollover: whether it
 * lists bodies[0], or publish bodies (bodies[0] the signing one). */
#define PROVISION_MAX_CERTIFICATES	5	/* the SDK: "keeps up to five" */
enum provision_cert_op { PROVISION_LISTS, PROVISION_PUBLISH };
int	 provision_certificates(const struct broker_config *, const struct tenant *,
	    const char *prog, enum provision_cert_op, const char *const *bodies, size_t n,
	    bool dry_run, bool *ret_yes);

#endif /* SAMLBROKER_H */
