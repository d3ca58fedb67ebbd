/*
 * commands.h - subcommands implemented outside main.c.  Each takes
 * argc/argv starting at the command's own name and returns an exit status.
 */
#ifndef SAMLBROKER_COMMANDS_H
#define SAMLBROKER_COMMANDS_H

int	 cmd_keygen(int argc, char **argv);	/* keygen.c */
int	 cmd_serve(int argc, char **argv);	/* server.c */
int	 cmd_token(int argc, char **argv);	/* client.c */
int	 cmd_status(int argc, char **argv);	/* client.c */
int	 cmd_provision(int argc, char **argv);	/* provision.c */
/* check --online: per tenant (all when NULL) one line per check; 0, or 1
 * when any check failed. */
struct broker_config;
int	 check_online(const struct broker_config *, const char *tenant, const char *user);	/* check_online.c */

#endif
