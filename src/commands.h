/*
 * commands.h - the command line: samlbroker_main (main.c) runs one
 * subcommand; those implemented outside main.c are here.  Each takes
 * argc/argv starting at the command's own name and returns an exit status.
 */
#ifndef SAMLBROKER_COMMANDS_H
#define SAMLBROKER_COMMANDS_H

int	 cmd_keygen(int argc, char **argv);	/* keygen.c */
/* The daemon's life with this configuration file; an exit status. */
int	 server_run(const char *config_path);	/* server.c */
/* The whole `samlbroker` command line (the installed program's main). */
int	 samlbroker_main(int argc, char **argv);	/* main.c */
int	 cmd_token(int argc, char **argv);	/* client.c */
int	 cmd_status(int argc, char **argv);	/* client.c */
/* signer_main.c: the hidden `signer` command the signer pool starts; its
 * argv must be main's argv + 1 (it rewrites the process title). */
int	 signer_main(int argc, char **argv);
int	 cmd_provision(int argc, char **argv);	/* provision.c */
/* check --online: per tenant (all when NULL) one line per check; 0, or 1
 * when any check failed. */
struct broker_config;
int	 check_online(const struct broker_config *, const char *tenant, const char *user);	/* check_online.c */

#endif
