/* keygen.c - placeholder, being written. */
#include "config.h"
#include <stdio.h>
#include "samlbroker.h"
#include "commands.h"
int cmd_keygen(int argc, char **argv) { fprintf(stderr, "not implemented\n"); return 1; }
