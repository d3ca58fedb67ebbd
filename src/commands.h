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
/* signer_main.c: the hidden `signer` command the signer pool starts; its
 * argv must be main's argv + 1 (it rewrites the process title). */
int	 signer_main(int argc, char **argv);

#endif
