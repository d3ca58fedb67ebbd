/* SPDX-License-Identifier: Apache-2.0 */
/*
 * samlbroker.c - the installed program: the command line of main.c on the
 * real clock.  Nothing here reads the environment; the tests' movable
 * clock lives only in tests/samlbroker_testclock.c, which is never
 * installed.
 */
#include "config.h"

#include "commands.h"

int
main(int argc, char **argv)
{
	return samlbroker_main(argc, argv);
}
