/* SPDX-License-Identifier: Apache-2.0 */
/*
 * commands.h - the command line: samlbroker_main (main.c) runs one
 * subcommand; those implemented outside main.c are here.  Each takes
 * argc/argv starting at the command's own name and returns an exit status.
 */
#ifndef SAMLBROKER_COMMANDS_H
#define SAMLBROKER_COMMANDS_H

#include <stdbool.h>

int	 cmd_keygen(int argc, char **argv);	/* keygen.c */
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
