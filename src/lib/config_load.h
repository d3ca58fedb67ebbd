/* SPDX-License-Identifier: Apache-2.0 */
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

#include <sys/stat.h>

#include "samlbroker.h"

#define CONFIG_MAX_FILE		(1024 * 1024)
#define SECRET_MAX		4096
#define NAME_RULE	"must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' " \
			"and '-', not starting with '.' or '-'"
#define CONFIG_DIGEST_INIT	UINT64_C(0xcbf29ce484222325)

/*
 * snapshot.c: the configuration source.  Every read of a loader (files,
 * the tenants directory, env: values, user and group names) goes through
 * one, which reads the system (SOURCE_LIVE), reads it and records what it
 * read into a snapshot (SOURCE_RECORD), or answers from a snapshot alone
 * (SOURCE_REPLAY: anything not in it fails with errno ENODATA).
 */
enum source_mode { SOURCE_LIVE, SOURCE_RECORD, SOURCE_REPLAY };
struct config_source {
	enum source_mode		 mode;
	struct config_snapshot		*rec;		/* SOURCE_RECORD */
	const struct config_snapshot	*replay;	/* SOURCE_REPLAY */
	/* Whom files are judged for: [broker] user once it is known (owner_set),
	 * else the effective user and group. */
	bool				 owner_set;
	uid_t				 owner_uid;
	gid_t				 owner_gid;
	const char			*owner_name;
};
/* What a file is, for the permission rules. */
enum source_kind {
	SOURCE_MAIN,	/* the main file: symbolic links followed */
	SOURCE_TENANT,	/* a tenant file: [saml] pkey and password blanked for the front */
	SOURCE_SECRET,	/* the target of a file: secret */
	SOURCE_PKEY,	/* a file: pkey */
	SOURCE_CERT,	/* a file: certificate */
	SOURCE_MAP,	/* an agent_map */
	SOURCE_CA,	/* ca_file */
	SOURCE_KIND_COUNT
};
/* Who needs a read: the front, or only the signers (a key or its password). */
#define SOURCE_USE_FRONT	0x1
#define SOURCE_USE_KEY		0x2
/* What fstat said of a file on the descriptor it was read from; live is
 * false for a replayed file (the recording process checked it). */
struct source_stat {
	bool	 live;
	mode_t	 mode;
	uid_t	 uid;
	gid_t	 gid;
};
/* Reads a whole file (errno EINVAL not a regular file, EFBIG over max, ELOOP
 * a symbolic link not followed, ENODATA not in the snapshot). */
int	 source_read(struct config_source *, const char *path, enum source_kind,
	    unsigned use, bool follow, size_t max, char **ret_buf, size_t *ret_len,
	    struct source_stat *ret_st);
/* The names of a directory but "." and ".."; free each and the array. */
int	 source_list_dir(struct config_source *, const char *path, char ***ret_names,
	    size_t *ret_n);
/* An environment variable: 0 and *ret_value (valid during the load), 1
 * unset, -1 not in the snapshot. */
int	 source_getenv(struct config_source *, const char *name, unsigned use,
	    const char **ret_value);
/* A user (group false) or group name: 0 and *ret_id, 1 no such name, -1
 * not in the snapshot. */
int	 source_lookup_id(struct config_source *, bool group, const char *name,
	    unsigned *ret_id);
/* The text for a source_read or source_list_dir errno. */
const char *source_strerror(int err);
/* A tenant file as the front gets it: the lines of [saml] pkey and password,
 * next_pkey, next_password and previous_pkey (continuation lines too) made
 * empty; NULL when it does not parse. */
char	*snapshot_tenant_blank(const char *buf, size_t len, size_t *ret_len);
extern const char *const snapshot_key_options[];
/* The same with the [saml] options of the NULL-terminated list hidden,
 * and those of hidden_others (NULL: none) in every other section; drop:
 * their lines removed, not made empty, and empty lines removed as well. */
char	*snapshot_tenant_blank_options(const char *buf, size_t len,
	    const char *const *hidden, const char *const *hidden_others, bool drop,
	    size_t *ret_len);

/* One file being checked. */
struct load {
	struct config_source *src;
	struct diag	*d;
	const char	*file;		/* as shown in messages */
	const char	*path;		/* to resolve relative paths against */
	struct ini_file	*ini;
	uint64_t	 digest;
	/* The digest without [saml]'s keys and certificates: a tenant whose
	 * file changed only there keeps its cached tokens on reload. */
	uint64_t	 cache_digest;
	int		 flags;		/* CONFIG_* of config_load_ext, and: */
	char		**failed_tenants;	/* tenant files that did not load */
	size_t		  n_failed_tenants;
};
#define CONFIG_ALLOW_INSECURE	0x100	/* allow_insecure_permissions = yes */

/* config_tenant.c: sections that are not services even with a client_id
 * (general, saml, saml_auth, provisioning). */
bool	 config_section_reserved(const char *name);

/* config_util.c */
/* A copy of s fit for a message: control characters become '?'. */
char	*config_printable_dup(const char *s);
/* rel if absolute, else rel in the directory of the file base. */
char	*config_path_relative(const char *base, const char *rel);
/* FNV-1a, 64 bits, starting from CONFIG_DIGEST_INIT. */
uint64_t config_digest(uint64_t h, const void *buf, size_t len);
/* Reads the main file or a tenant file whole through l->src; 0 (the caller
 * checks *ret_st), or -1 after reporting. */
int	 config_read_file(struct load *l, const char *file, const char *path,
	    enum source_kind, char **ret_buf, size_t *ret_len, struct source_stat *ret_st);
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

/* config.c */
/* config_load_ext through a source (snapshot.c's three modes). */
struct broker_config *config_load_from(struct config_source *, const char *path,
	    struct diag *, int flags);

/* config_tenant.c */
/* tenant_load_ext through a source. */
struct tenant *tenant_load_from(struct config_source *, const char *path,
	    const char *name, struct diag *, int flags);

/* config_options.c */
/* Reads [broker] (defaults first) and refuses unknown options. */
void	 config_broker_load(struct load *l, struct broker_config *c,
	    struct ini_section *s);
void	 config_listen_clear(struct listen_addr *la);
/* Reads ca_file into c->ca_pem and checks it. */
void	 config_ca_load(struct load *l, struct broker_config *c);
#define CA_FILE_MAX		(4 * 1024 * 1024)

/* config_tls.c */
/* Checks the https: options and reads their files (with an https: listener). */
void	 config_tls_load(struct load *l, struct broker_config *c);
/* Checks state_directory when it is set (absolute, a directory of the
 * broker's user, not group or world writable). */
void	 config_state_directory_check(struct load *l, struct broker_config *c);
void	 config_tls_free(struct broker_config *c);

/* config_secret.c */
/* Resolves a secret option (relative file: paths from the loaded file's
 * directory) and adds it to the digest; NULL after reporting.  use:
 * SOURCE_USE_KEY for a key's password, else SOURCE_USE_FRONT. */
char	*config_secret_get(struct load *l, const char *sname, const char *oname,
	    const char *value, unsigned use);
/* secret_resolve through a source; *ret_st is set for a file: secret. */
int	 config_secret_resolve(struct config_source *, const char *value, unsigned use,
	    bool follow, char **ret, struct source_stat *ret_st, const char **why);
/* Reports a file that someone else than root and the broker's user owns,
 * that group or others may write, or (secret) that other users may read;
 * st is what fstat said when it was read (nothing is checked for a
 * replayed file).  sname NULL: the problem is the file's own; else it is
 * reported at that option of the file being loaded. */
void	 config_permissions_check(struct load *l, const char *sname,
	    const char *oname, const char *path, const struct source_stat *st,
	    bool secret);
/* Follow symbolic links to files named in the configuration?  Only with
 * allow_insecure_permissions = yes (container mounts). */
bool	 config_follow_links(const struct load *l);

/* access.c */
/* Reads the [access:TENANT] sections of the main file into the tenants. */
void	 access_load(struct load *l, struct broker_config *c);

#endif /* CONFIG_LOAD_H */
