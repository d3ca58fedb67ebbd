/*
 * config_load.h - what the configuration loaders share (config.c,
 * config_options.c, config_tenant.c, config_secret.c, config_util.c,
 * access.c); not used outside them.
 *
 * A struct load is one file being checked: every problem goes to its
 * diag as "FILE: [section] option: what is wrong".
 */
#ifndef CONFIG_LOAD_H
#define CONFIG_LOAD_H

#include "samlbroker.h"

#define CONFIG_MAX_FILE		(1024 * 1024)
#define SECRET_MAX		4096
#define NAME_RULE	"must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' " \
			"and '-', not starting with '.' or '-'"
#define CONFIG_DIGEST_INIT	UINT64_C(0xcbf29ce484222325)

/* One file being checked. */
struct load {
	struct diag	*d;
	const char	*file;		/* as shown in messages */
	const char	*path;		/* to resolve relative paths against */
	struct ini_file	*ini;
	uint64_t	 digest;
	int		 flags;		/* CONFIG_* of config_load_ext, and: */
	char		**failed_tenants;	/* tenant files that did not load */
	size_t		  n_failed_tenants;
};
#define CONFIG_ALLOW_INSECURE	0x100	/* allow_insecure_permissions = yes */

/* config_util.c */
/* A copy of s fit for a message: control characters become '?'. */
char	*config_printable_dup(const char *s);
/* rel if absolute, else rel in the directory of the file base. */
char	*config_path_relative(const char *base, const char *rel);
/* FNV-1a, 64 bits, starting from CONFIG_DIGEST_INIT. */
uint64_t config_digest(uint64_t h, const void *buf, size_t len);
/* Reads a configuration file whole; 0, or -1 after reporting. */
int	 config_read_file(struct diag *d, const char *file, const char *path,
	    char **ret_buf, size_t *ret_len);
void	 config_wipe_free(char *buf, size_t len);
bool	 config_in_list(const char *const *list, const char *name);
/* An option of a section, marked as used; NULL when absent. */
struct ini_option *config_opt_get(struct ini_section *s, const char *name);
/* A required option's value, or NULL after reporting it missing or empty. */
const char *config_opt_required(struct load *l, struct ini_section *s,
	    const char *sname, const char *name);
/* An optional option's value; NULL when absent or (reported) empty. */
const char *config_opt_optional(struct load *l, struct ini_section *s,
	    const char *sname, const char *name);
/* Was name a tenant whose file exists but did not load (already reported)? */
bool	 config_tenant_failed(const struct load *l, const char *name);
/* Warns about every option of s neither used nor in known, with a "did
 * you mean" for a near miss. */
void	 config_unknown_options(struct load *l, struct ini_section *s,
	    const char *const *known);
/* A decimal number in [min, max], digits only. */
int	 config_parse_number(const char *s, long min, long max, long *ret);
int	 config_parse_bool(const char *s, bool *ret);
bool	 config_host_is_loopback(const char *host);
bool	 config_uuid_shaped(const char *s);
/* The name of known closest to name (a typo), or NULL. */
const char *config_near_miss(const char *name, const char *const *known);
/* Reports every option of s neither used nor in known as an error, with a
 * "did you mean" for a near miss. */
void	 config_refuse_unknown(struct load *l, struct ini_section *s,
	    const char *const *known);

/* config_options.c */
/* Reads [broker] (defaults first) and refuses unknown options. */
void	 config_broker_load(struct load *l, struct broker_config *c,
	    struct ini_section *s);
void	 config_listen_clear(struct listen_addr *la);

/* config_secret.c */
/* Resolves a secret option (relative file: paths from the loaded file's
 * directory) and adds it to the digest; NULL after reporting. */
char	*config_secret_get(struct load *l, const char *sname, const char *oname,
	    const char *value);
/* Reports a file of secrets that other users may read or that belongs to
 * someone else than root and the broker's user. */
void	 config_permissions_check(struct load *l, const char *sname,
	    const char *oname, const char *path);

/* access.c */
/* Reads the [access:TENANT] sections of the main file into the tenants. */
void	 access_load(struct load *l, struct broker_config *c);

#endif /* CONFIG_LOAD_H */
