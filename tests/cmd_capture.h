/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_capture.h - runs one command function of samlbroker (cmd_keygen,
 * cmd_token, ...) in the test process with its stdout and stderr captured,
 * for the unit tests of the commands (cmd_capture.c).
 */
#ifndef CMD_CAPTURE_H
#define CMD_CAPTURE_H

#include <stddef.h>

/* cmd(argc, argv) with stdout and stderr going to out and err (each
 * NUL-terminated, cut to its size); getopt starts afresh.  Returns cmd's
 * exit status. */
int	 cmd_capture(int (*cmd)(int, char **), int argc, char **argv,
	    char *out, size_t outlen, char *err, size_t errlen);

#endif
