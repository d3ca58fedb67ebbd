/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the loading of everything: the main file, whose sections are
 * [broker] (config_options.c) and [access:TENANT] (access.c), and every
 * "*.cfg" file of the tenants directory, one tenant per file
 * (config_tenant.c).  Every problem goes to a struct diag as "FILE:
 * [section] option: what is wrong"; loading goes on after an error so
 * that one `check` run shows them all, and the result is NULL when there
 * was any error.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_load.h"


static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.cfg file of the tenants directory, by name. */
static void
tenants_load(struct load *l, struct broker_config *c)
{
	char		**all, **names = NULL, *shown;
	size_t		  n_all, n = 0;

	if (source_list_dir(l->src, c->tenants_dir, &all, &n_all) == -1) {
		shown = config_printable_dup(c->tenants_dir);
		diag_error(l->d, l->file, "broker", "tenants_dir", "cannot open %s: %s",
		    shown, source_strerror(errno));
		free(shown);
		return;
	}
	for (size_t i = 0; i < n_all; i++) {
		size_t len = strlen(all[i]);

		if (all[i][0] == '.' || len <= 4 || strcmp(all[i] + len - 4, ".cfg") != 0) {
			free(all[i]);
			continue;
		}
		names = reallocarray(names, n + 1, sizeof(*names));
		if (names == NULL)
			fatal("reallocarray");
		names[n++] = all[i];
	}
	free(all);
	if (n == 0) {
		shown = config_printable_dup(c->tenants_dir);
		diag_error(l->d, l->file, "broker", "tenants_dir",
		    "no tenant files (*.cfg) in %s", shown);
		free(shown);
		return;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	c->tenants = xcalloc(n, sizeof(*c->tenants));
	l->failed_tenants = xcalloc(n, sizeof(*l->failed_tenants));
	for (size_t i = 0; i < n; i++) {
		char *path = path_join(c->tenants_dir, names[i]);
		struct tenant *t;

		names[i][strlen(names[i]) - 4] = '\0';
		if (name_validate(names[i]) == -1) {
			shown = config_printable_dup(path);
			diag_error(l->d, shown, NULL, NULL, "tenant name "
			    NAME_RULE " (it is the file name without .cfg)");
			free(shown);
		} else if ((t = tenant_load_from(l->src, path, names[i], l->d,
		    l->flags)) != NULL) {
			c->tenants[c->n_tenants++] = t;
		} else {
			/* Its [access:NAME] is not "no such tenant": a consequence. */
			l->failed_tenants[l->n_failed_tenants++] = names[i];
			names[i] = NULL;
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

/*
 * [broker] user: looked up (not when replaying a snapshot, whose recording
 * process judged the files); from here on files are judged for it.  An
 * unknown name is an error: the files would be judged for nobody.
 */
static void
broker_user_load(struct load *l, struct broker_config *c)
{
	struct passwd	*pw;
	char		*shown;

	if (c->user == NULL || l->src->mode == SOURCE_REPLAY)
		return;
	errno = 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		shown = config_printable_dup(c->user);
		diag_error(l->d, l->file, "broker", "user", "no such user '%s'%s%s "
		    "(the broker's service user: create it, e.g. with "
		    "systemd-sysusers, or fix the name)", shown,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		free(shown);
		return;
	}
	c->user_uid = pw->pw_uid;
	c->user_gid = pw->pw_gid;
	c->user_known = true;
	l->src->owner_set = true;
	l->src->owner_uid = pw->pw_uid;
	l->src->owner_gid = pw->pw_gid;
	l->src->owner_name = c->user;
}

static void
failed_tenants_free(struct load *l)
{
	for (size_t i = 0; i < l->n_failed_tenants; i++)
		free(l->failed_tenants[i]);
	free(l->failed_tenants);
	l->failed_tenants = NULL;
	l->n_failed_tenants = 0;
}

bool
config_tenant_failed(const struct load *l, const char *name)
{
	for (size_t i = 0; i < l->n_failed_tenants; i++)
		if (strcmp(l->failed_tenants[i], name) == 0)
			return true;
	return false;
}

/* An unknown [broker] option that is a near miss of tenants_dir. */
static bool
tenants_dir_misspelt(struct ini_section *s)
{
	static const char *const wanted[] = { "tenants_dir", NULL };

	if (ini_option_find(s, "tenants_dir") != NULL)
		return false;
	for (size_t i = 0; i < s->n_options; i++)
		if (config_option_find(s->options[i].name) == NULL &&
		    config_near_miss(s->options[i].name, wanted) != NULL)
			return true;
	return false;
}

/* Every section of the main file is [broker] or [access:TENANT]. */
static void
sections_check(struct load *l)
{
	for (size_t i = 0; i < l->ini->n_sections; i++) {
		const char *name = l->ini->sections[i].name;

		if (strcmp(name, "broker") != 0 && strcmp(name, "access") != 0 &&
		    strncmp(name, "access:", 7) != 0)
			diag_error(l->d, l->file, name, NULL, "unknown section; the "
			    "main file holds [broker] and [access:TENANT] sections");
	}
}

struct broker_config *
config_load(const char *path, struct diag *d)
{
	return config_load_ext(path, d, 0);
}

struct broker_config *
config_load_ext(const char *path, struct diag *d, int flags)
{
	struct config_source	 src = { .mode = SOURCE_LIVE };

	return config_load_from(&src, path, d, flags);
}

struct broker_config *
config_load_from(struct config_source *src, const char *path, struct diag *d,
    int flags)
{
	static const char *const repeatable[] = { "listen", NULL };
	struct broker_config	*c;
	struct ini_section	*s;
	struct load		 l = { .src = src, .d = d, .file = path, .path = path };
	struct source_stat	 st;
	char			 err[256], *buf;
	size_t			 len;
	int			 errors = d->errors;

	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	l.flags = flags & ~CONFIG_ALLOW_INSECURE;
	if (config_read_file(&l, path, path, SOURCE_MAIN, &buf, &len, &st) == -1)
		goto fail;
	l.ini = ini_parse_ext(path, buf, len, repeatable, err, sizeof(err));
	config_wipe_free(buf, len);
	if (l.ini == NULL) {
		diag_error(d, path, NULL, NULL, "%s", err);
		goto fail;
	}
	sections_check(&l);
	if ((s = ini_section_find(l.ini, "broker")) == NULL) {
		diag_error(d, path, "broker", NULL, "section is missing");
		goto fail;
	}
	config_broker_load(&l, c, s);
	broker_user_load(&l, c);
	if (c->allow_insecure_permissions)
		l.flags |= CONFIG_ALLOW_INSECURE;
	config_permissions_check(&l, NULL, NULL, path, &st, true);
	config_ca_load(&l, c);
	config_state_directory_check(&l, c);
	config_tls_load(&l, c);
	if (tenants_dir_misspelt(s)) {
		/* Loading the default directory instead would report problems
		 * of files the admin never meant (already said: unknown option). */
		diag_error(d, path, "broker", NULL, "tenants not loaded until "
		    "tenants_dir is spelt right");
	} else {
		if (!(flags & CONFIG_MAIN_ONLY))
			tenants_load(&l, c);
		access_load(&l, c);
	}
	for (size_t i = 0; (flags & CONFIG_WARN_OPEN) && d->errors == errors &&
	    i < c->n_tenants; i++)
		if (c->tenants[i]->access == NULL)
			diag_warn(d, path, NULL, NULL, "tenant %s is open: no "
			    "[access:%s] section, so any caller that can connect "
			    "may obtain any of its tokens and assertions",
			    c->tenants[i]->name, c->tenants[i]->name);
	ini_free(l.ini);
	l.ini = NULL;
	failed_tenants_free(&l);
	src->owner_set = false;		/* its name was c's */
	src->owner_name = NULL;
	if (d->errors > errors)
		goto fail;
	return c;
fail:
	src->owner_set = false;
	src->owner_name = NULL;
	failed_tenants_free(&l);
	ini_free(l.ini);
	config_free(c);
	return NULL;
}

/*
 * For commands (check, mint, serve at start): config_load, with every
 * problem printed on stderr, and a warning for every tenant left open.
 */
struct broker_config *
config_load_verbose(const char *path)
{
	return config_load_verbose_ext(path, CONFIG_WARN_OPEN);
}

struct broker_config *
config_load_verbose_ext(const char *path, int flags)
{
	struct diag		 d;
	struct broker_config	*conf;

	diag_init(&d);
	conf = config_load_ext(path, &d, flags);
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
		config_listen_clear(&c->listens[i]);
	free(c->listens);
	for (size_t i = 0; i < c->n_tenants; i++)
		tenant_free(c->tenants[i]);
	free(c->tenants);
	free(c->path);
	free(c->tenants_dir);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->proxy);
	free(c->user);
	config_listen_clear(&c->admin_listen);
	config_tls_free(c);
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
