/* ini.c - placeholder, being written. */
#include "config.h"
#include <stdio.h>
#include "samlbroker.h"
struct ini_file *ini_parse(const char *path, const char *buf, size_t len, char *errbuf, size_t errlen) { snprintf(errbuf, errlen, "not implemented"); return NULL; }
struct ini_file *ini_load(const char *path, char *errbuf, size_t errlen) { snprintf(errbuf, errlen, "not implemented"); return NULL; }
void ini_free(struct ini_file *f) { }
struct ini_section *ini_section_find(const struct ini_file *f, const char *name) { return NULL; }
struct ini_option *ini_option_find(struct ini_section *s, const char *name) { return NULL; }
