/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ini.c - a libFuzzer target for the INI reader: any bytes in, no
 * crash, no leak, no read out of bounds; on success every option has a
 * name and a value and lies inside a section.
 *
 * Built by `make fuzz` in a tree configured with CC=clang --enable-fuzzing;
 * scripts/fuzz builds and runs every target with its seed corpus
 * (tests/fuzz/corpus/ini/).
 *
 * The repeatable list is exercised too, with the first input byte choosing.
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
	static const char *const repeatable[] = { "listen", "k", NULL };
	struct ini_file	*f;
	char		 err[256];

	err[0] = '\0';
	f = ini_parse_ext("fuzz", (const char *)data, size,
	    size > 0 && (data[0] & 1) ? repeatable : NULL, err, sizeof(err));
	if (f == NULL) {
		/* Every error names its line. */
		if (strncmp(err, "line ", 5) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < f->n_sections; i++) {
		struct ini_section *s = &f->sections[i];

		if (s->name[0] == '\0' || ini_section_find(f, s->name) != s)
			abort();
		for (size_t j = 0; j < s->n_options; j++) {
			if (s->options[j].name[0] == '\0' ||
			    strlen(s->options[j].value) > INI_MAX_LINE ||
			    ini_option_find(s, s->options[j].name) == NULL)
				abort();
		}
	}
	ini_free(f);
	return 0;
}
