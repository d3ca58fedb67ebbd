/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator.h - the private header of samlbroker-emulator, a stand-in for
 * the PureCloud token endpoint and the part of the platform API that
 * provisioning uses, for offline tests and integrators.
 *
 * The emulator is a test tool: it has its own configuration (a JSON file
 * of organizations, OAuth clients and identity providers, emulator_conf.c)
 * and shares no code with the broker it checks beyond the generic helpers
 * of src/common.h.  One block of prototypes per file.
 */
#ifndef EMULATOR_H
#define EMULATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include <jansson.h>

#include "common.h"

struct evhttp;
struct evhttp_request;
struct event;
struct event_base;
struct ssl_ctx_st;

#define EMU_MAX_TOKENS		4096	/* bearer tokens remembered for the API */
#define EMU_MAX_DELAY_MS	600000		/* a fault's delay, the token latency */
#define EMU_MAX_RATE		1000000.0	/* token requests a second */
#define NELEM(a)		(sizeof(a) / sizeof((a)[0]))
#define EMU_MAX_USERS		65536	/* users created per organization */
#define EMU_MAX_CERTS		5	/* certificates an identity provider keeps */
#define EMU_NAMEID_EMAIL	"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

enum emu_grant { EMU_GRANT_SAML2, EMU_GRANT_CC, EMU_GRANT_OTHER };
/* Where a fault applies. */
enum emu_endpoint { EMU_EP_TOKEN, EMU_EP_API, EMU_EP_ANY };

struct emu_org;

#define EMU_MAX_CLIENTS		64	/* OAuth clients in all, from the file or the API */
#define EMU_MAX_ROLES		32	/* roles per organization */

/* An OAuth client: the SAML2 Bearer client or a Client Credentials one
 * (or another grant type, created by the API; it gets no token). */
struct emu_client {
	char		*client_id;
	char		*secret;
	struct emu_org	*org;
	enum emu_grant	 grant;
	bool		 admin;		/* holds sso:provider:* (view, add, edit, delete) */
	json_t		*permissions;	/* other permissions it holds (strings) */
	json_t		*record;	/* the API's OAuthClient, without secret */
	bool		 from_api;	/* created by POST /api/v2/oauth/clients */
	bool		 deleted;
	char		*old_secret;	/* the one before the last rotation */
	char		*secret_initial;	/* from the file: what reset restores */
	json_t		*record_initial;
	struct {
		unsigned long	 ok;		/* tokens granted */
		unsigned long	 ok_since_rotation;
		unsigned long	 old_secret_refused;
		unsigned long	 rotations;
	}		 count;
};

struct emu_org {
	char		*name;		/* short name: orgName, thirdPartyOrgName */
	char		*id;
	char		*display_name;
	char		*audience;	/* what assertions must name */
	char		*recipient;
	char		*destination;
	json_t		*providers_initial;	/* type -> record, from the file */
	json_t		*providers;		/* type -> record, as stored now */
	char		**users;	/* created by SAML2 Bearer logins */
	size_t		 n_users;
	json_t		*roles_initial;	/* [{id, name, description, permissions,
					   permissionPolicies}], from the file */
	json_t		*roles;		/* as stored now */
	char		*home_division;	/* the id of the home division */
	double		 bucket;	/* token-endpoint requests it may make now */
	double		 bucket_at;	/* when bucket was last filled */
};

struct emu_config {
	struct emu_org		*orgs;
	size_t			 n_orgs;
	struct emu_client	*clients;	/* EMU_MAX_CLIENTS, never moved */
	size_t			 n_clients;
	size_t			 n_clients_initial;	/* from the file */
};

/* What a SAML2 Bearer grant trusts: the organization's PureEngage
 * identity provider record and the expected addresses. */
struct emu_trust {
	const char	*issuer;
	const char	*certs[EMU_MAX_CERTS + 1];	/* base64 DER (PEM bodies) */
	size_t		 n_certs;
	const char	*audience;
	const char	*recipient;
	const char	*destination;
	const char	*name_id_format;	/* NULL: any format */
};

/* An injected fault, for the next count requests (-1: until cleared). */
struct fault {
	bool	 active;
	bool	 replace;	/* the answer is replaced, not only delayed */
	int	 status;
	char	*body;
	char	*content_type;
	char	*retry_after;
	long	 delay_ms;
	bool	 malformed;
	bool	 drop;
	long	 count;
	int	 grant;		/* -1: any, else enum emu_grant */
	enum emu_endpoint endpoint;
};

/* One answer, sent at once or after a fault's delay, and its log line. */
struct answer {
	int		 status;
	char		*body;
	char		*content_type;
	char		*retry_after;
	bool		 drop;
	bool		 faulted;
	long		 delay_ms;
	const char	*grant;
	char		 method[8];
	char		 path[96];
	char		 client_id[72];
	char		 reason[160];
};

struct pending {
	struct emu		*emu;
	struct evhttp_request	*req;
	struct event		*timer;
	struct answer		 ans;
	TAILQ_ENTRY(pending)	 entry;
};
TAILQ_HEAD(pending_list, pending);

/* The token endpoint's pace: a per-organization token bucket of rate
 * requests a second (0: no limit) holding at most burst, and a latency
 * added to every token-endpoint answer. */
struct emu_limits {
	double		 rate;
	double		 burst;		/* 0: rate / 10, at least 1 */
	long		 latency_ms;
};

struct emu_token {
	char			*token;		/* a secret */
	const struct emu_client	*client;
	double			 expires_at;
};

struct emu {
	struct event_base	*base;
	struct emu_config	*conf;
	struct evhttp		*http;
	struct evhttp		*https;
	struct ssl_ctx_st	*ssl_ctx;
	struct event		*sig_term;
	struct event		*sig_int;
	struct pending_list	 pending;
	long			 opt_expires_in;	/* from the command line */
	long			 expires_in;
	struct emu_limits	 opt_limits;	/* from the command line */
	struct emu_limits	 limits;
	double			 clock_offset;
	struct fault		 fault;
	struct emu_token	 tokens[EMU_MAX_TOKENS];
	size_t			 next_token;
	struct {
		unsigned long	 cc_ok, cc_rejected;
		unsigned long	 saml_ok, saml_rejected;
		unsigned long	 api_ok, api_rejected;
		unsigned long	 faulted, total;
		unsigned long	 limited;	/* 429s of the rate limit */
	}			 count;
	char			*last_subject;
};

/* emulator.c - command line, listeners, answers */
double	 emu_now(const struct emu *);	/* the real clock plus clock_offset */
void	 answer_clear(struct answer *);
void	 answer_json(struct answer *, int status, json_t *);	/* takes j */
/* An answer without a body (204 No Content, as the platform's DELETE). */
void	 answer_empty(struct answer *, int status);
/* An OAuth error answer; the description is also logged as the reason. */
void	 answer_oauth(struct answer *, int status, const char *error, const char *description);
/* Client-supplied text for a log line: safe characters only, bounded. */
void	 log_safe(char *dst, size_t len, const char *src);
/* Copies a request body, NUL-terminated, wiping libevent's copy; -1 if
 * it holds a NUL byte. */
int	 body_take(struct evhttp_request *, char **ret, size_t *ret_len);

/* emulator_conf.c - the emulator's own configuration */
struct emu_config *emu_config_load(const char *path, char *errbuf, size_t errlen);
void	 emu_config_free(struct emu_config *);
/* Identity providers back to the file's, no users. */
void	 emu_config_reset(struct emu_config *);
/* NULL, or a reason: is this a provider record the API would store? */
const char *emu_provider_check(json_t *record, char *buf, size_t len);
bool	 emu_provider_type_known(const char *type);
/* Whether s is one of list's n strings. */
bool	 emu_in_list(const char *s, const char *const *list, size_t n);
/* The organization's trust for SAML2 Bearer; NULL or why there is none. */
const char *emu_org_trust(const struct emu_org *, struct emu_trust *);
/* Whether the user may log in (autoProvisionUsers creates it). */
const char *emu_org_user_login(struct emu_org *, const char *email);

/* Whether the client holds the permission ("domain:entity:action"; a
 * held "*" segment matches any). */
bool	 emu_client_can(const struct emu_client *, const char *permission);
/* A role record as PUT would store it: NULL, or why not. */
const char *emu_role_check(json_t *role, char *buf, size_t len);
/* A fresh identifier in the API's form (a random UUID). */
char	*emu_uuid_new(void);

/* emulator_token.c - POST /oauth/token and the bearer tokens it hands out */
void	 token_handle(struct emu *, struct evhttp_request *, struct answer *);
const struct emu_client *token_lookup(struct emu *, const char *bearer);
/* A fresh opaque secret: 32 random bytes, base64url (caller frees). */
char	*token_new(void);
void	 token_forget_all(struct emu *);
/* Forgets the tokens of clients the API created (before a reset). */
void	 token_forget_api_clients(struct emu *);
/* Every organization's bucket full again (after a change of limits). */
void	 token_limits_reset(struct emu *);

/* emulator_api.c - /api/v2/: organizations/me and identity providers */
void	 api_handle(struct emu *, struct evhttp_request *, const char *path,
	    struct answer *);
/* An API error answer: {"message", "code", "status"}. */
void	 api_error(struct answer *, int status, const char *code, const char *message);
/* Whether the client holds perm; if not, a 403 answer naming it. */
bool	 api_permitted(const struct emu_client *, const char *perm, struct answer *);
/* The JSON object of a request's body (application/json); NULL with an
 * answer set. */
json_t	*api_body(struct evhttp_request *, struct answer *);

/* emulator_api_clients.c - /api/v2/oauth/clients */
void	 api_clients_handle(struct emu *, const struct emu_client *,
	    struct evhttp_request *, const char *rest, struct answer *);

/* emulator_api_roles.c - /api/v2/authorization/roles and divisions */
void	 api_roles_handle(struct emu *, const struct emu_client *,
	    struct evhttp_request *, const char *rest, struct answer *);
/* The organization's role with this id, or NULL. */
json_t	*emu_org_role(const struct emu_org *, const char *id);

/* emulator_control.c - /emulator/: counters, faults, config, reset */
void	 control_handle(struct emu *, struct evhttp_request *, const char *path,
	    struct answer *);
/* Applies the installed fault to a request; returns whether it replaced
 * the answer (a delay-only fault does not). */
bool	 fault_apply(struct emu *, enum emu_endpoint, int grant, struct answer *);
void	 fault_clear(struct fault *);

/* emulator_saml.c - the checks of a SAML2 Bearer assertion */
int	 emulator_saml_init(void);
void	 emulator_saml_shutdown(void);
/* Checks a base64 SAMLResponse as the token endpoint would at time now;
 * on success *ret_subject is the NameID (caller frees), else errbuf says
 * which check failed. */
int	 emulator_saml_verify(const char *assertion_b64, const struct emu_trust *,
	    double now, char **ret_subject, char *errbuf, size_t errlen);

#endif /* EMULATOR_H */
