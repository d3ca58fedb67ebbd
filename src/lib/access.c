/* SPDX-License-Identifier: Apache-2.0 */
/*
 * access.c - who may obtain what: the [access:TENANT] sections of the main
 * file and the decision for one caller.
 *
 * A tenant with a section denies whatever the section does not allow:
 *   agents = PRINCIPALS         their own address only, derived from the
 *   agent_address = %u@DOMAIN   caller's login name by a template, or
 *   agent_map = FILE            by a map file ("login address" per line)
 *   gateways = PRINCIPALS       any address (gateway_domains: only these)
 *   service.NAME = PRINCIPALS   the service's token
 *   saml_response = yes|no      whether POST .../saml-response is offered
 * A principal is user:NAME|UID, group:NAME|GID, tcp (any caller on a tcp:
 * listener, which has no identity; gateways and service.* only), or, for
 * callers on https: listeners, cert:IDENTITY (a client certificate's
 * identity, compared in lowercase) or cert-domain:DOMAIN (every
 * certificate identity NAME@DOMAIN), krb5:NAME@REALM (a Kerberos
 * principal, through Negotiate; exact, as Kerberos names are
 * case-sensitive) or realm:REALM (every principal NAME@REALM whose NAME
 * has one component: HTTP/x@REALM or alice/admin@REALM never match).  For
 * a certificate caller %u is the identity's part before the '@' (the whole
 * identity without one), for a Kerberos caller the principal without its
 * realm; an agent_map's first column is the whole identity or principal.  A tenant
 * without a section stays open to every caller that can connect.  A caller
 * that matches no principal of a tenant is told the tenant does not exist.
 *
 * The decision is a plain function of (tenant, caller, action, subject):
 * no I/O, no logging.  Names are resolved to numbers when the configuration
 * is loaded (NSS); the caller's login name is asked of the front's lookup
 * only after the caller is known to the tenant, and only for an agent.
 *
 * Addresses have one form (email_canonicalize: lowercase): the map's, the
 * template's and the gateway domains are made canonical at load, the
 * subject before it is compared.  A login with capitals is refused its %u
 * address rather than folded, so that logins Alice and alice can never
 * share alice@...; an agent_map may give it one explicitly.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_load.h"

#define AGENT_MAP_MAX		(4 * 1024 * 1024)
#define DESCRIBE_MAX		1024

enum principal_kind {
	PRINCIPAL_USER, PRINCIPAL_GROUP, PRINCIPAL_TCP,
	PRINCIPAL_CERT,		/* text: an identity, canonical */
	PRINCIPAL_CERT_DOMAIN,	/* text: a domain, canonical */
	PRINCIPAL_KRB5,		/* text: NAME@REALM, exact */
	PRINCIPAL_REALM		/* text: a realm, exact */
};
struct principal {
	enum principal_kind	 kind;
	unsigned		 id;
	char			*text;
};
struct principals {
	struct principal	*p;
	size_t			 n;
	char			*text;	/* as written, for check */
};
struct service_rule {
	char			*service;
	struct principals	 who;
};
struct map_entry {
	char			*login;
	char			*address;
};
struct tenant_access {
	struct principals	 agents;
	char			*agent_address;	/* template; or */
	char			*agent_map;	/* path, with map/n_map */
	struct map_entry	*map;
	size_t			 n_map;
	struct principals	 gateways;
	char			**domains;
	size_t			 n_domains;
	struct service_rule	*services;
	size_t			 n_services;
	bool			 saml_response;
};

static const char *const access_options[] = {
	"agents", "agent_address", "agent_map", "gateways", "gateway_domains",
	"saml_response", NULL
};

#define RULE_OPEN	"open (no [access] section)"
#define RULE_AGENT	"agents (own address)"
#define RULE_GATEWAY	"gateways"
#define RULE_SERVICE	"service"
#define DENY_OWN	"agents may obtain only their own address"
#define DENY_NO_LOGIN	"agents may obtain only their own address, and this caller's login name is unknown"
#define DENY_NOT_MAPPED	"agents may obtain only their own address, and the agent map has none for this caller"
#define DENY_LOGIN_CASE	"agents may obtain only their own address, and this caller's login name has capital letters, which agent_address does not fold (give it an address in an agent_map)"
#define DENY_DOMAIN	"not a gateway domain"
#define DENY_NO_USER	"only agents and gateways may obtain tokens for addresses"
#define DENY_SERVICE	"no rule grants this service to this caller"
#define DENY_SAML_OFF	"saml-response is off for this tenant"

/*
 * Loading.
 */

static int
principal_parse(struct config_source *src, const char *item, bool tcp_ok,
    struct principal *p, const char **why)
{
	bool		 is_user = strncmp(item, "user:", 5) == 0;
	bool		 is_group = strncmp(item, "group:", 6) == 0;
	const char	*who = item + (is_user ? 5 : 6);
	long		 id;
	unsigned	 nid;
	int		 rc;

	memset(p, 0, sizeof(*p));
	if (strncmp(item, "krb5:", 5) == 0 || strncmp(item, "realm:", 6) == 0) {
		bool		 realm = item[0] == 'r';
		const char	*v = item + (realm ? 6 : 5);
		const char	*at = strrchr(v, '@');

		for (const char *q = v; *q != '\0'; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f ||
			    *q == '"' || *q == '\\') {
				*why = "a Kerberos name is printable ASCII";
				return -1;
			}
		if (realm && (v[0] == '\0' || at != NULL || strlen(v) > 255)) {
			*why = "realm: needs a realm (realm:ACME.EXAMPLE)";
			return -1;
		}
		if (!realm && (at == NULL || at == v || at[1] == '\0' ||
		    strlen(v) > 255)) {
			*why = "krb5: needs a whole principal (krb5:alice@ACME.EXAMPLE)";
			return -1;
		}
		p->kind = realm ? PRINCIPAL_REALM : PRINCIPAL_KRB5;
		p->text = xstrdup(v);
		return 0;
	}
	if (strncmp(item, "cert:", 5) == 0 || strncmp(item, "cert-domain:", 12) == 0) {
		bool		 dom = item[4] == '-';
		const char	*v = item + (dom ? 12 : 5);

		if (v[0] == '\0' || strlen(v) > EMAIL_MAX_LEN ||
		    strpbrk(v, "\"\\") != NULL) {
			*why = dom ? "cert-domain: needs a domain (cert-domain:example.com)" :
			    "cert: needs a certificate identity (cert:alice@example.com)";
			return -1;
		}
		for (const char *q = v; *q != '\0'; q++)
			if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) {
				*why = "a certificate identity is printable ASCII";
				return -1;
			}
		if (dom && (strchr(v, '@') != NULL || v[0] == '.' ||
		    strchr(v, '.') == NULL)) {
			*why = "cert-domain: needs a domain such as example.com (no "
			    "'@', no leading dot)";
			return -1;
		}
		p->kind = dom ? PRINCIPAL_CERT_DOMAIN : PRINCIPAL_CERT;
		p->text = xstrdup(v);
		email_canonicalize(p->text);
		return 0;
	}
	if (strcmp(item, "tcp") == 0) {
		if (!tcp_ok) {
			*why = "tcp is allowed only in gateways and service.* (a TCP "
			    "caller has no login name)";
			return -1;
		}
		p->kind = PRINCIPAL_TCP;
		p->id = 0;
		return 0;
	}
	if (!is_user && !is_group) {
		*why = "each entry must be user:NAME, user:UID, group:NAME, "
		    "group:GID, tcp, cert:IDENTITY, cert-domain:DOMAIN, "
		    "krb5:NAME@REALM or realm:REALM";
		return -1;
	}
	if (config_parse_number(who, 0, 4294967294L, &id) == 0) {
		/* a number */
	} else if ((rc = source_lookup_id(src, is_group, who, &nid)) != 0) {
		*why = rc == -1 ? "not in the snapshot" : is_user ? "no such user" :
		    "no such group";
		return -1;
	} else
		id = (long)nid;
	p->kind = is_user ? PRINCIPAL_USER : PRINCIPAL_GROUP;
	p->id = (unsigned)id;
	return 0;
}

/* A list of principals; 0, or -1 after reporting. */
static int
principals_load(struct load *l, const char *sname, struct ini_option *o,
    bool tcp_ok, struct principals *ret)
{
	struct principals	 ps = { NULL, 0, NULL };
	char			*list, *item, *save = NULL;
	const char		*why;
	int			 rc = 0;

	o->used = true;
	list = xstrdup(o->value);
	for (item = strtok_r(list, ", \t", &save); item != NULL;
	    item = strtok_r(NULL, ", \t", &save)) {
		struct principal p;

		if (principal_parse(l->src, item, tcp_ok, &p, &why) == -1) {
			char *shown = config_printable_dup(item);

			diag_error(l->d, l->file, sname, o->name, "%.64s: %s",
			    shown, why);
			free(shown);
			rc = -1;
			continue;
		}
		ps.p = reallocarray(ps.p, ps.n + 1, sizeof(*ps.p));
		if (ps.p == NULL)
			fatal("reallocarray");
		ps.p[ps.n++] = p;
	}
	free(list);
	if (rc == 0 && ps.n == 0) {
		diag_error(l->d, l->file, sname, o->name, "names nobody");
		rc = -1;
	}
	if (rc == -1) {
		for (size_t i = 0; i < ps.n; i++)
			free(ps.p[i].text);
		free(ps.p);
		return -1;
	}
	ps.text = xstrdup(o->value);
	*ret = ps;
	return 0;
}

/* The address a template gives for login; NULL if it is not an address. */
static char *
template_expand(const char *tpl, const char *login)
{
	size_t	 cap = strlen(tpl) + 1, len = 0;
	char	*out;

	for (const char *p = tpl; *p != '\0'; p++)
		if (p[0] == '%' && p[1] == 'u')
			cap += strlen(login);
	out = xmalloc(cap);
	for (const char *p = tpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			memcpy(out + len, login, strlen(login));
			len += strlen(login);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[len++] = '%';
			p++;
		} else if (p[0] == '%') {
			free(out);
			return NULL;
		} else
			out[len++] = *p;
	}
	out[len] = '\0';
	return out;
}

static void
template_check(struct load *l, const char *sname, const char *tpl)
{
	const char	*why;
	char		*sample;

	if (strstr(tpl, "%u") == NULL) {
		diag_error(l->d, l->file, sname, "agent_address",
		    "must hold %%u, the caller's login name (%%%% is a literal %%)");
		return;
	}
	if ((sample = template_expand(tpl, "login")) == NULL) {
		diag_error(l->d, l->file, sname, "agent_address",
		    "only %%u and %%%% may follow a %%");
		return;
	}
	if (email_validate(sample, &why) == -1)
		diag_error(l->d, l->file, sname, "agent_address",
		    "does not make an address: %s", why);
	free(sample);
}

/*
 * A login given twice, or an address given to two logins (in its canonical
 * form: Alice@X and alice@x are one address), is an error: one address,
 * one agent.  True after reporting.
 */
static bool
map_duplicate(struct load *l, const char *shown, int lineno,
    const struct tenant_access *a, const char *login, const char *addr)
{
	for (size_t i = 0; i < a->n_map; i++) {
		if (strcmp(a->map[i].login, login) == 0) {
			diag_error(l->d, shown, NULL, NULL, "line %d: login given "
			    "twice", lineno);
			return true;
		}
		if (strcmp(a->map[i].address, addr) == 0) {
			char *who = config_printable_dup(a->map[i].login);

			diag_error(l->d, shown, NULL, NULL, "line %d: address %s "
			    "is already login %.64s's (addresses compare in "
			    "lowercase: one address, one login)", lineno, addr, who);
			free(who);
			return true;
		}
	}
	return false;
}

/* Reads "login address" lines; 0, or -1 after reporting. */
static int
map_load(struct load *l, const char *sname, struct tenant_access *a)
{
	struct source_stat	 st;
	char		*buf, *line, *shown;
	size_t		 len;
	int		 lineno = 0, rc = 0, errors;

	shown = config_printable_dup(a->agent_map);
	if (source_read(l->src, a->agent_map, SOURCE_MAP, SOURCE_USE_FRONT,
	    config_follow_links(l), AGENT_MAP_MAX, &buf, &len, &st) == -1) {
		diag_error(l->d, l->file, sname, "agent_map", "cannot read %s: %s",
		    shown, errno == EFBIG ? "larger than 4 MiB" : source_strerror(errno));
		free(shown);
		return -1;
	}
	errors = l->d->errors;
	config_permissions_check(l, sname, "agent_map", a->agent_map, &st, false);
	if (l->d->errors > errors) {
		free(shown);
		free(buf);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		diag_error(l->d, l->file, sname, "agent_map", "%s holds a NUL byte",
		    shown);
		free(shown);
		free(buf);
		return -1;
	}
	for (char *p = buf; p != NULL && *p != '\0'; ) {
		char *nl = strchr(p, '\n'), *login, *addr, *extra, *s2 = NULL;
		const char *why;

		line = p;
		p = nl != NULL ? nl + 1 : NULL;
		if (nl != NULL)
			*nl = '\0';
		lineno++;
		line[strcspn(line, "#\r")] = '\0';
		if ((login = strtok_r(line, " \t", &s2)) == NULL)
			continue;
		addr = strtok_r(NULL, " \t", &s2);
		extra = strtok_r(NULL, " \t", &s2);
		if (addr == NULL || extra != NULL) {
			diag_error(l->d, shown, NULL, NULL, "line %d: write one "
			    "\"login address\" pair per line", lineno);
			rc = -1;
			continue;
		}
		if (email_validate(addr, &why) == -1) {
			diag_error(l->d, shown, NULL, NULL, "line %d: %s", lineno, why);
			rc = -1;
			continue;
		}
		email_canonicalize(addr);
		if (map_duplicate(l, shown, lineno, a, login, addr)) {
			rc = -1;
			continue;
		}
		a->map = reallocarray(a->map, a->n_map + 1, sizeof(*a->map));
		if (a->map == NULL)
			fatal("reallocarray");
		a->map[a->n_map].login = xstrdup(login);
		a->map[a->n_map++].address = xstrdup(addr);
	}
	free(buf);
	free(shown);
	return rc;
}

static void
domains_load(struct load *l, const char *sname, struct ini_option *o,
    struct tenant_access *a)
{
	char	*list = xstrdup(o->value), *item, *save = NULL;

	o->used = true;
	for (item = strtok_r(list, ", \t", &save); item != NULL;
	    item = strtok_r(NULL, ", \t", &save)) {
		if (strchr(item, '@') != NULL || item[0] == '.' ||
		    strchr(item, '.') == NULL) {
			diag_error(l->d, l->file, sname, o->name, "each entry must "
			    "be a domain such as example.com (no '@', no leading dot)");
			continue;
		}
		a->domains = reallocarray(a->domains, a->n_domains + 1,
		    sizeof(*a->domains));
		if (a->domains == NULL)
			fatal("reallocarray");
		a->domains[a->n_domains] = xstrdup(item);
		email_canonicalize(a->domains[a->n_domains++]);
	}
	free(list);
	if (a->n_domains == 0)
		diag_error(l->d, l->file, sname, o->name, "names no domain");
}

static void
service_rule_load(struct load *l, const char *sname, struct ini_option *o,
    struct tenant *t, struct tenant_access *a)
{
	const char		*svc = o->name + 8;
	struct principals	 ps;

	if (tenant_service_find(t, svc) == NULL && (l->flags & CONFIG_PENDING_CLIENTS)) {
		/* provision's load: the service's client may be still to create. */
		o->used = true;
		return;
	}
	if (tenant_service_find(t, svc) == NULL) {
		char *shown = config_printable_dup(svc);

		o->used = true;
		diag_error(l->d, l->file, sname, o->name, "tenant %s has no "
		    "service '%.64s' (its services are its Client Credentials "
		    "sections)", t->name, shown);
		free(shown);
		return;
	}
	if (principals_load(l, sname, o, true, &ps) == -1)
		return;
	a->services = reallocarray(a->services, a->n_services + 1,
	    sizeof(*a->services));
	if (a->services == NULL)
		fatal("reallocarray");
	a->services[a->n_services].service = xstrdup(svc);
	a->services[a->n_services++].who = ps;
}

/* The agents' address: exactly one of agent_address and agent_map. */
static void
agents_load(struct load *l, const char *sname, struct ini_section *s,
    struct tenant_access *a)
{
	const char	*tpl = config_opt_optional(l, s, sname, "agent_address");
	const char	*map = config_opt_optional(l, s, sname, "agent_map");

	if (a->agents.n == 0) {
		if ((tpl != NULL || map != NULL) && ini_option_find(s, "agents") == NULL)
			diag_error(l->d, l->file, sname, tpl != NULL ?
			    "agent_address" : "agent_map", "needs agents = PRINCIPALS");
		return;
	}
	if ((tpl == NULL) == (map == NULL)) {
		diag_error(l->d, l->file, sname, "agents", "needs exactly one of "
		    "agent_address (a template such as %%u@example.com) and "
		    "agent_map (a file of \"login address\" lines)");
		return;
	}
	if (tpl != NULL) {
		template_check(l, sname, tpl);
		/* %u and %% hold no capital: only the literal part folds. */
		a->agent_address = xstrdup(tpl);
		email_canonicalize(a->agent_address);
	} else {
		a->agent_map = config_path_relative(l->path, map);
		map_load(l, sname, a);
	}
}

/* One [access:TENANT] section. */
static void
section_load(struct load *l, struct tenant *t, struct ini_section *s)
{
	struct tenant_access	*a = xcalloc(1, sizeof(*a));
	struct ini_option	*o;
	const char		*v;

	t->access = a;	/* the INI reader refuses a section given twice */
	for (size_t i = 0; i < s->n_options; i++) {
		o = &s->options[i];
		if (strncmp(o->name, "service.", 8) == 0)
			service_rule_load(l, s->name, o, t, a);
	}
	if ((o = config_opt_get(s, "agents")) != NULL)
		principals_load(l, s->name, o, false, &a->agents);
	agents_load(l, s->name, s, a);
	if ((o = config_opt_get(s, "gateways")) != NULL)
		principals_load(l, s->name, o, true, &a->gateways);
	if ((o = config_opt_get(s, "gateway_domains")) != NULL) {
		if (a->gateways.n == 0)
			diag_error(l->d, l->file, s->name, o->name,
			    "needs gateways = PRINCIPALS");
		domains_load(l, s->name, o, a);
	}
	if ((v = config_opt_optional(l, s, s->name, "saml_response")) != NULL &&
	    config_parse_bool(v, &a->saml_response) == -1)
		diag_error(l->d, l->file, s->name, "saml_response",
		    "must be yes or no (or true/false, on/off, 1/0)");
	config_refuse_unknown(l, s, access_options);
}

/* The old form: one option per tenant in [access]. */
static void
old_section(struct load *l, struct ini_section *s)
{
	if (s->n_options == 0)
		diag_error(l->d, l->file, "access", NULL, "this section is no "
		    "longer read; write one [access:TENANT] section per tenant "
		    "(see samlbroker.conf(5))");
	for (size_t i = 0; i < s->n_options; i++) {
		struct ini_option	*o = &s->options[i];
		char			*shown = config_printable_dup(o->name);

		o->used = true;
		diag_error(l->d, l->file, "access", o->name, "[access] is no longer "
		    "read; write [access:%.64s] with agents = ... and agent_address "
		    "= %%u@DOMAIN (callers that may obtain their own address), "
		    "gateways = ... (any address) or service.NAME = ... "
		    "(see samlbroker.conf(5))", shown);
		free(shown);
	}
}

void
access_load(struct load *l, struct broker_config *c)
{
	for (size_t i = 0; i < l->ini->n_sections; i++) {
		struct ini_section	*s = &l->ini->sections[i];
		struct tenant		*t;

		if (strcmp(s->name, "access") == 0) {
			old_section(l, s);
			continue;
		}
		if (strncmp(s->name, "access:", 7) != 0)
			continue;
		if (((t = config_tenant_find(c, s->name + 7)) == NULL &&
		    config_tenant_failed(l, s->name + 7)) || (l->flags & CONFIG_MAIN_ONLY)) {
			/* The tenant's own errors are reported, or tenants were
			 * not loaded (init): this is not one. */
			for (size_t k = 0; k < s->n_options; k++)
				s->options[k].used = true;
			continue;
		}
		if (t == NULL) {
			diag_error(l->d, l->file, s->name, NULL, "no tenant is named "
			    "'%.64s' (tenants are the *.cfg files of tenants_dir, "
			    "without .cfg)", s->name + 7);
			for (size_t k = 0; k < s->n_options; k++)
				s->options[k].used = true;
			continue;
		}
		section_load(l, t, s);
	}
}

static void
principals_clear(struct principals *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->p[i].text);
	free(ps->p);
	free(ps->text);
}

void
access_free(struct tenant_access *a)
{
	if (a == NULL)
		return;
	principals_clear(&a->agents);
	principals_clear(&a->gateways);
	free(a->agent_address);
	free(a->agent_map);
	for (size_t i = 0; i < a->n_map; i++) {
		free(a->map[i].login);
		free(a->map[i].address);
	}
	free(a->map);
	for (size_t i = 0; i < a->n_domains; i++)
		free(a->domains[i]);
	free(a->domains);
	for (size_t i = 0; i < a->n_services; i++) {
		free(a->services[i].service);
		principals_clear(&a->services[i].who);
	}
	free(a->services);
	free(a);
}

/*
 * The decision.
 */

/* A certificate identity's domain (after its last '@'), or NULL. */
static const char *
identity_domain(const char *identity)
{
	const char	*at = strrchr(identity, '@');

	return at != NULL ? at + 1 : NULL;
}

static bool
principals_match(const struct principals *ps, const struct caller *c)
{
	for (size_t i = 0; i < ps->n; i++) {
		const struct principal *p = &ps->p[i];

		if (c->krb5_principal != NULL) {
			const char *at = strrchr(c->krb5_principal, '@');

			if ((p->kind == PRINCIPAL_KRB5 &&
			    strcmp(p->text, c->krb5_principal) == 0) ||
			    (p->kind == PRINCIPAL_REALM && at != NULL &&
			    strcmp(p->text, at + 1) == 0 &&
			    memchr(c->krb5_principal, '/',
			    (size_t)(at - c->krb5_principal)) == NULL))
				return true;
			continue;
		}
		if (c->cert_identity != NULL) {
			const char *dom = identity_domain(c->cert_identity);

			if ((p->kind == PRINCIPAL_CERT &&
			    strcmp(p->text, c->cert_identity) == 0) ||
			    (p->kind == PRINCIPAL_CERT_DOMAIN && dom != NULL &&
			    strcmp(p->text, dom) == 0))
				return true;
			continue;
		}
		if (p->kind == PRINCIPAL_TCP && !c->is_unix)
			return true;
		if (!c->is_unix)
			continue;
		if (p->kind == PRINCIPAL_USER && p->id == c->uid)
			return true;
		if (p->kind == PRINCIPAL_GROUP)
			for (size_t k = 0; k < c->n_gids; k++)
				if (c->gids[k] == p->id)
					return true;
	}
	return false;
}

static const struct service_rule *
service_rule(const struct tenant_access *a, const char *service)
{
	for (size_t i = 0; i < a->n_services; i++)
		if (strcmp(a->services[i].service, service) == 0)
			return &a->services[i];
	return NULL;
}

/* Is the caller named anywhere in the tenant's rules? */
static bool
caller_known(const struct tenant_access *a, const struct caller *c)
{
	if (principals_match(&a->agents, c) || principals_match(&a->gateways, c))
		return true;
	for (size_t i = 0; i < a->n_services; i++)
		if (principals_match(&a->services[i].who, c))
			return true;
	return false;
}

/* address is canonical, and so are the domains. */
static bool
domain_allowed(const struct tenant_access *a, const char *address)
{
	const char	*at = strrchr(address, '@');

	if (a->n_domains == 0)
		return true;
	if (at == NULL)
		return false;
	for (size_t i = 0; i < a->n_domains; i++)
		if (strcmp(at + 1, a->domains[i]) == 0)
			return true;
	return false;
}

/*
 * An agent's own address: ALLOW, or DENY with the reason in *rule.  The
 * only place the login is asked for; subject is canonical.  A template
 * address that is not canonical as made (a login with capitals) is
 * refused, not folded: it would be another login's address.
 */
static enum access_result
agent_decide(const struct tenant_access *a, const struct caller *c,
    const char *subject, const char **rule)
{
	const char	*login;
	char		*own = NULL, *local = NULL;
	bool		 same;

	if (c->krb5_principal != NULL) {
		/* %u: the principal without its realm; the map's key: the
		 * whole principal. */
		const char *at = strrchr(c->krb5_principal, '@');

		local = at != NULL ? xstrndup(c->krb5_principal,
		    (size_t)(at - c->krb5_principal)) : xstrdup(c->krb5_principal);
		login = a->agent_address != NULL ? local : c->krb5_principal;
	} else if (c->cert_identity != NULL) {
		/* %u: the identity's name without its domain; the map's key:
		 * the whole identity. */
		const char *dom = identity_domain(c->cert_identity);

		local = dom != NULL ? xstrndup(c->cert_identity,
		    (size_t)(dom - 1 - c->cert_identity)) : xstrdup(c->cert_identity);
		login = a->agent_address != NULL ? local : c->cert_identity;
	} else
		login = c->login != NULL ? c->login(c->login_arg) : NULL;
	if (login == NULL) {
		*rule = DENY_NO_LOGIN;
		return ACCESS_DENY;
	}
	if (a->agent_address != NULL) {
		own = template_expand(a->agent_address, login);
		if (own != NULL && !email_is_canonical(own)) {
			free(own);
			free(local);
			*rule = DENY_LOGIN_CASE;
			return ACCESS_DENY;
		}
	} else
		for (size_t i = 0; i < a->n_map && own == NULL; i++)
			if (c->cert_identity != NULL ?
			    strcasecmp(a->map[i].login, login) == 0 :
			    strcmp(a->map[i].login, login) == 0)
				own = xstrdup(a->map[i].address);
	free(local);
	if (own == NULL) {
		*rule = DENY_NOT_MAPPED;
		return ACCESS_DENY;
	}
	same = strcmp(own, subject) == 0;
	free(own);
	*rule = same ? RULE_AGENT : DENY_OWN;
	return same ? ACCESS_ALLOW : ACCESS_DENY;
}

/* A token or assertion for an address, by a caller the tenant knows. */
static enum access_result
address_decide(const struct tenant_access *a, const struct caller *c,
    const char *subject, const char **rule)
{
	char			*canon = xstrdup(subject);
	enum access_result	 res;

	email_canonicalize(canon);
	if (principals_match(&a->gateways, c) && domain_allowed(a, canon))
		*rule = RULE_GATEWAY, res = ACCESS_ALLOW;
	else if (principals_match(&a->agents, c))
		res = agent_decide(a, c, canon, rule);
	else if (principals_match(&a->gateways, c))
		*rule = DENY_DOMAIN, res = ACCESS_DENY;
	else
		*rule = DENY_NO_USER, res = ACCESS_DENY;
	free(canon);
	return res;
}

enum access_result
access_decide(const struct tenant *t, const struct caller *c,
    enum access_action action, const char *subject, const char **ret_rule)
{
	const struct tenant_access	*a = t->access;
	const struct service_rule	*sr;
	const char			*rule;
	enum access_result		 res;

	/* Hidden first, from the kernel's identity alone (no login lookup). */
	if (a == NULL)
		rule = RULE_OPEN, res = ACCESS_ALLOW;
	else if (!caller_known(a, c))
		rule = "no rule names this caller", res = ACCESS_HIDDEN;
	else if (action == ACCESS_SERVICE_TOKEN) {
		sr = service_rule(a, subject);
		if (sr != NULL && principals_match(&sr->who, c))
			rule = RULE_SERVICE, res = ACCESS_ALLOW;
		else
			rule = DENY_SERVICE, res = ACCESS_DENY;
	} else if (action == ACCESS_SAML_RESPONSE && !a->saml_response)
		rule = DENY_SAML_OFF, res = ACCESS_DENY;
	else
		res = address_decide(a, c, subject, &rule);
	if (ret_rule != NULL)
		*ret_rule = rule;
	return res;
}

bool
access_tenant_visible(const struct tenant *t, const struct caller *c)
{
	return t->access == NULL || c->is_admin || caller_known(t->access, c);
}

/*
 * `check`: one line per rule.
 */

static void
line_add(char ***lines, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line_add(char ***lines, size_t *n, const char *fmt, ...)
{
	char	 buf[DESCRIBE_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*lines = reallocarray(*lines, *n + 1, sizeof(**lines));
	if (*lines == NULL)
		fatal("reallocarray");
	(*lines)[(*n)++] = config_printable_dup(buf);
}

size_t
access_describe(const struct tenant *t, char ***ret_lines)
{
	const struct tenant_access	*a = t->access;
	char				**lines = NULL;
	size_t				  n = 0;

	if (a == NULL) {
		line_add(&lines, &n, "%s: open to any caller that can connect "
		    "(no [access:%s] section)", t->name, t->name);
		*ret_lines = lines;
		return n;
	}
	if (a->agents.n > 0 && a->agent_address != NULL)
		line_add(&lines, &n, "%s: agents %s -> own address %s", t->name,
		    a->agents.text, a->agent_address);
	else if (a->agents.n > 0)
		line_add(&lines, &n, "%s: agents %s -> own address from %s "
		    "(%zu logins)", t->name, a->agents.text, a->agent_map, a->n_map);
	if (a->gateways.n > 0) {
		char	 doms[DESCRIBE_MAX] = "";
		size_t	 len = 0;

		for (size_t i = 0; i < a->n_domains && len < sizeof(doms); i++)
			len += (size_t)snprintf(doms + len, sizeof(doms) - len,
			    "%s%s", i > 0 ? "," : "", a->domains[i]);
		line_add(&lines, &n, "%s: gateways %s -> any address%s%s", t->name,
		    a->gateways.text, a->n_domains > 0 ? " in " : "", doms);
	}
	for (size_t i = 0; i < t->n_services; i++) {
		const struct service_rule *sr = service_rule(a, t->services[i].name);

		line_add(&lines, &n, "%s: service %s <- %s", t->name,
		    t->services[i].name, sr != NULL ? sr->who.text : "nobody");
	}
	line_add(&lines, &n, "%s: saml-response %s", t->name,
	    a->saml_response ? "on (same address rules)" : "off");
	*ret_lines = lines;
	return n;
}
