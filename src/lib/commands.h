/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commands.h - the command line: samlbroker_main (main.c) runs one
 * subcommand; those implemented outside main.c are here.  Each takes
 * argc/argv starting at the command's own name and returns an exit status.
 */
#ifndef SAMLBROKER_COMMANDS_H
#define SAMLBROKER_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

int	 cmd_keygen(int argc, char **argv);	/* keygen.c */
/* keygen.c: a new key and certificate as keygen makes them, as the base64
 * texts of certificate and pkey (the key's a secret); 0 or -1 and err. */
int	 keygen_pair_new(const char *issuer, long days, const char *password_file,
	    char **ret_cert_b64, char **ret_key_b64, char *err, size_t errlen);
/* keygen.c: the same with the password itself (init's, never on disk). */
int	 keygen_pair_make(const char *issuer, long days, const char *password,
	    char **ret_cert_b64, char **ret_key_b64, char *err, size_t errlen);
/* rollover.c: `samlbroker rollover stage|activate|retire`. */
int	 cmd_rollover(int argc, char **argv);
/* tenant_file.c: the commands' edits of tenant files and the secret
 * files they name. */
#define TENANT_FILE_MAX		(1024 * 1024)	/* a tenant file */
/* One option of a section set (value) or removed (value NULL). */
struct tenant_edit {
	const char	*section;
	const char	*name;
	const char	*value;
};
/* The tenant file's text with the edits made: an option's lines
 * (continuation lines too) replaced or removed, a new one added after its
 * section's last option, a section that does not exist added at the end;
 * every other byte kept.  NULL with err when the text does not parse. */
char	*tenant_file_rewrite(const char *buf, size_t len, const struct tenant_edit *,
	    size_t n_edits, size_t *ret_len, char *err, size_t errlen);
/* An option's value as written in the text (a copy), or NULL. */
char	*tenant_file_option(const char *buf, size_t len, const char *section,
	    const char *name);
/* Flags of tenant_file_replace and tenant_file_edit. */
#define TENANT_FILE_SECRET	0x1	/* the new file's mode is 0600 */
#define TENANT_FILE_DRY_RUN	0x4	/* tenant_file_edit: print, change nothing */
/* Replaces path's content atomically: a temporary file in its directory
 * with path's owner and mode (0600 with TENANT_FILE_SECRET), written,
 * synced, renamed over path, and the directory synced.  0, or -1 with err
 * (path is then unchanged). */
int	 tenant_file_replace(const char *path, const char *buf, size_t len, int flags,
	    char *err, size_t errlen);
/* Overwrites a regular file with zeros, syncs and unlinks it (not a
 * link); 0, 1 when there is no such file, or -1 with err. */
int	 tenant_file_wipe(const char *path, char *err, size_t errlen);
/* The tenant's file edited and replaced; prints each option changed (not
 * its value).  The configuration conf must still load with it (load_flags
 * of config_load_ext), else the file is put back.  0, or -1 after
 * printing why as prog. */
struct tenant;
int	 tenant_file_edit(const char *conf, const struct tenant *, const char *prog,
	    const struct tenant_edit *, size_t n, int flags, int load_flags);
/* The running broker reloads: SIGHUP to pid_file's process, or systemctl
 * reload samlbroker when pid_file is NULL.  0, or -1 after printing. */
int	 tenant_file_reload(const char *prog, const char *pid_file);
/* master.c: `serve`, the daemon's life with this configuration file
 * (argv: the process title is written over it); an exit status. */
int	 master_run(const char *config_path, int argc, char **argv);
/* The front's program name, looked for next to the running binary, else
 * in PKGLIBEXECDIR; test builds name their own. */
extern const char *master_front_program;
/* Environment variables the front gets (test builds; NULL: none), or
 * the whole environment (master_front_env_all, test builds only). */
extern const char *const *master_front_env;
extern bool master_front_env_all;
/* Test builds: LD_PRELOAD for the negotiator alone, and names passed to it. */
extern const char *master_negotiator_preload;
extern const char *const *master_negotiator_env;
/* negotiator.c: the hidden `negotiator` command serve's master starts
 * (https_auth = negotiate), and the keytab check of configuration loads. */
int	 negotiator_main(int argc, char **argv);
void	 negotiator_global_init(void);
/* front_main.c: the front's life (samlbroker-front, started by the
 * master with its channels on fds 3 and 4); an exit status. */
int	 front_main(int argc, char **argv);
/* The whole `samlbroker` command line (the installed program's main). */
int	 samlbroker_main(int argc, char **argv);	/* main.c */
int	 cmd_token(int argc, char **argv);	/* client.c */
int	 cmd_status(int argc, char **argv);	/* client.c */
/* signer_main.c: the hidden `signer` command the signer pool starts; its
 * argv must be main's argv + 1 (it rewrites the process title). */
int	 signer_main(int argc, char **argv);
/* Test builds only: called in a signer once its keys are loaded, before
 * it says READY (NULL in the installed program). */
extern void (*signer_start_hook)(int index);
int	 cmd_provision(int argc, char **argv);	/* provision.c */
int	 cmd_init(int argc, char **argv);	/* init.c: a tenant from nothing */
/* check --online: per tenant (all when NULL) one line per check; 0, or 1
 * when any check failed. */
struct broker_config;
int	 check_online(const struct broker_config *, const char *tenant, const char *user);	/* check_online.c */

#endif
