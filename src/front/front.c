/* SPDX-License-Identifier: Apache-2.0 */
/*
 * front.c - the installed samlbroker-front program (in libexecdir; the
 * master starts it).  Its link line has no private-key code at all:
 * tests/front_symbols.sh checks.
 */
#include "config.h"

#include "commands.h"

int
main(int argc, char **argv)
{
	return front_main(argc, argv);
}
