/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_cache_batch.c - a libFuzzer target for the persistent cache's
 * parsers (cache_seal.c): a batch of tenants' entries as the master reads
 * it from the front (cache_batch_next, cache_record_decode) and a sealed
 * record (cache_open).  Any bytes in, no crash, no leak, no read out of
 * bounds; every entry that decodes encodes again to the same bytes; a
 * record opens only when sealed under the key (never, for input bytes).
 * Seeds: tests/fuzz/corpus/cache_batch/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_seal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[CACHE_KEY_LEN] = { 1, 2, 3 };
	const char		*buf = (const char *)data, *why;
	char			 tenant[NAME_MAX_LEN + 1], err[256], *plain = NULL;
	struct cache_record	 rec;
	struct secret_buf	 again = { NULL, 0, 0 };
	size_t			 off = 0, start, plen;
	uint32_t		 count;

	while (off < size) {
		if (cache_batch_next(buf, size, &off, tenant, &count, &why) == -1)
			break;
		if (name_validate(tenant) != 0)
			abort();
		for (uint32_t i = 0; i < count; i++) {
			start = off;
			if (cache_record_decode(buf, size, &off, &rec, &why) == -1)
				goto next;
			if (off <= start || off > size)
				abort();
			secret_buf_clear(&again);
			if (cache_record_encode(&rec, &again, SIZE_MAX) == -1)
				abort();
			/* Times keep their milliseconds: the same bytes. */
			if (again.len != off - start ||
			    memcmp(again.data, buf + start, again.len) != 0)
				abort();
			cache_record_clear(&rec);
		}
	}
next:
	secret_buf_clear(&again);
	if (cache_open(key, "a", 1, data, size, &plain, &plen, err, sizeof(err)) == 0)
		abort();
	return 0;
}
