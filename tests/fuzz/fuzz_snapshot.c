/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_snapshot.c - a libFuzzer target for snapshot_decode, the receiving
 * side of the snapshot a process gets from the one that reads files: any
 * bytes in, no crash, no leak, no read out of bounds; what decodes encodes
 * again (FULL) to bytes that decode to the same encoding, and the FRONT
 * form of it encodes or fails cleanly.
 *
 * Built by `make fuzz` in a tree configured with CC=clang --enable-fuzzing;
 * scripts/fuzz builds and runs every target with its seed corpus
 * (tests/fuzz/corpus/snapshot/).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_snapshot	*s, *s2;
	char			 err[256], *b1, *b2;
	size_t			 l1, l2;

	if ((s = snapshot_decode((const char *)data, size, err, sizeof(err))) == NULL) {
		if (strncmp(err, "snapshot: offset ", 17) != 0)
			abort();
		return 0;
	}
	if (snapshot_encode(s, SNAPSHOT_FULL, &b1, &l1) == -1)
		abort();
	if ((s2 = snapshot_decode(b1, l1, err, sizeof(err))) == NULL)
		abort();
	if (snapshot_encode(s2, SNAPSHOT_FULL, &b2, &l2) == -1 || l1 != l2 ||
	    memcmp(b1, b2, l1) != 0)
		abort();
	secret_free(b1);
	secret_free(b2);
	if (snapshot_encode(s, SNAPSHOT_FRONT, &b1, &l1) == 0)
		secret_free(b1);
	snapshot_free(s);
	snapshot_free(s2);
	return 0;
}
