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
/* rollover.c: `samlbroker rollover stage|activate|retire`. */
int	 cmd_rollover(int argc, char **argv);
/* One [saml] option set (value) or removed (value NULL). */
struct rollover_edit {
	const char	*name;
	const char	*value;
};
/* The tenant file's text with the edits made in its [saml] section: an
 * option's lines (continuation lines too) replaced or removed, a new one
 * added after the section's last option; every other byte kept.  NULL
 * with err when the text does not parse or has no [saml]. */
char	*rollover_rewrite(const char *buf, size_t len, const struct rollover_edit *,
	    size_t n_edits, size_t *ret_len, char *err, size_t errlen);
/* Replaces path's content atomically: a temporary file in its directory
 * with path's owner and mode, written, synced, renamed over path, and
 * the directory synced.  0, or -1 with err (path is then unchanged). */
int	 rollover_file_replace(const char *path, const char *buf, size_t len,
	    char *err, size_t errlen);
/* Overwrites a regular file with zeros, syncs and unlinks it (not a
 * link); 0, or -1 with err. */
int	 rollover_file_wipe(const char *path, char *err, size_t errlen);
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
/* check --online: per tenant (all when NULL) one line per check; 0, or 1
 * when any check failed. */
struct broker_config;
int	 check_online(const struct broker_config *, const char *tenant, const char *user);	/* check_online.c */

#endif
