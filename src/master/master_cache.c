/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master_cache.c - the persistent token cache on disk: one file per tenant,
 * STATE_DIRECTORY/cache/TENANT.cache, sealed (cache_seal.c) under a key
 * derived from that tenant's signing key and password, which only the
 * master and the signers read: the front never holds the file key.
 *
 * A file is "SBTCACHE" and one record (AES-256-GCM, aad: the tenant) whose
 * plaintext is an entry count (u32) and the entries.  It is written whole
 * (a temporary file, fsync, rename, fsync of the directory), by the
 * master's loop, when the front hands over a batch (at most once a second,
 * and at exit): a write of a few MB delays the master's own loop, never
 * the front's.  At start every tenant's file is read back before the front
 * serves: a file that does not open (truncated, changed, another tenant's,
 * sealed under another key), holds more than max_cached_tokens entries or
 * any malformed entry is ignored as a whole with one line; expired entries
 * are dropped.  Files of tenants no longer configured go, and every file
 * goes when persistent_cache is no.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "samlbroker.h"
#include "cache_seal.h"
#include "master.h"
#include "master_wire.h"

#define MAGIC		"SBTCACHE"
#define MAGIC_LEN	8
#define SUBDIR		"cache"
#define SUFFIX		".cache"
#define TMP_SUFFIX	".cache.tmp"
#define FILE_MAX	(256 * 1024 * 1024)	/* a file, and a batch */

struct mcache_tenant {
	char		 name[NAME_MAX_LEN + 1];
	unsigned char	 key[CACHE_KEY_LEN];
	bool		 keyed;
};

struct mcache {
	char			*dir;		/* STATE_DIRECTORY/cache */
	bool			 enabled;	/* persistent_cache */
	size_t			 max_entries;	/* max_cached_tokens */
	struct mcache_tenant	*t;
	size_t			 n;
};

struct mcache *
mcache_new(const struct broker_config *conf)
{
	struct mcache	*c;
	char		 err[128];

	if (conf->state_directory == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->dir = path_join(conf->state_directory, SUBDIR);
	c->enabled = conf->persistent_cache;
	c->max_entries = conf->max_cached_tokens;
	c->t = xcalloc(conf->n_tenants + 1, sizeof(*c->t));
	c->n = conf->n_tenants;
	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant *t = conf->tenants[i];

		snprintf(c->t[i].name, sizeof(c->t[i].name), "%s", t->name);
		if (!c->enabled || t->cache_material == NULL)
			continue;
		if (cache_key_derive(t->cache_material, t->cache_material_len, t->name,
		    CACHE_SEAL_PURPOSE_FILE, c->t[i].key, err, sizeof(err)) == -1)
			log_warnx("event=cache_key tenant=%s error=\"%s\"", t->name, err);
		else
			c->t[i].keyed = true;
	}
	return c;
}

void
mcache_free(struct mcache *c)
{
	if (c == NULL)
		return;
	OPENSSL_cleanse(c->t, (c->n + 1) * sizeof(*c->t));
	free(c->t);
	free(c->dir);
	free(c);
}

static const struct mcache_tenant *
tenant_find(const struct mcache *c, const char *name)
{
	for (size_t i = 0; c != NULL && i < c->n; i++)
		if (strcmp(c->t[i].name, name) == 0)
			return &c->t[i];
	return NULL;
}

static double	 mono_now(void);

/* A save that fails once a second (a full disk, a directory made
 * read-only) is logged once a minute. */
static bool
warn_due(void)
{
	static double	 last = -1e9;
	double		 now = mono_now();

	if (now - last < 60.0)
		return false;
	last = now;
	return true;
}

/* The cache directory, made if absent (mode 0700); -1 (logged when
 * loud). */
static int
dir_open(const struct mcache *c, bool create, bool loud)
{
	int	 fd;

	if (create && mkdir(c->dir, 0700) == -1 && errno != EEXIST) {
		if (loud)
			log_warn("event=cache_dir dir=%s", c->dir);
		return -1;
	}
	if ((fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (loud && (errno != ENOENT || create))
			log_warn("event=cache_dir dir=%s", c->dir);
		return -1;
	}
	return fd;
}

static void
file_name(char *buf, size_t len, const char *tenant, const char *suffix)
{
	snprintf(buf, len, "%s%s", tenant, suffix);
}

/* Removes a tenant's file (and a temporary one left behind). */
static void
wipe(int dfd, const char *tenant, const char *why)
{
	char	 name[NAME_MAX_LEN + sizeof(TMP_SUFFIX)];

	file_name(name, sizeof(name), tenant, TMP_SUFFIX);
	(void)unlinkat(dfd, name, 0);
	file_name(name, sizeof(name), tenant, SUFFIX);
	if (unlinkat(dfd, name, 0) == 0)
		log_info("event=cache_file_removed tenant=%s reason=%s", tenant, why);
	else if (errno != ENOENT)
		log_warn("event=cache_file_removed tenant=%s", tenant);
}

/* Reads a tenant's file whole; 0, 1 when there is none, -1 with why. */
static int
file_read(int dfd, const char *tenant, char **ret, size_t *ret_len, char *why,
    size_t whylen)
{
	char		 name[NAME_MAX_LEN + sizeof(SUFFIX)];
	struct stat	 st;
	char		*buf;
	size_t		 done = 0;
	int		 fd;

	file_name(name, sizeof(name), tenant, SUFFIX);
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size > FILE_MAX) {
		snprintf(why, whylen, "larger than %d MiB", FILE_MAX / (1024 * 1024));
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	if (done != (size_t)st.st_size) {
		snprintf(why, whylen, "short read");
		free(buf);
		return -1;
	}
	*ret = buf;
	*ret_len = done;
	return 0;
}

static uint32_t
get_u32(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

/*
 * One tenant's file into the batch: its unexpired entries, all or nothing.
 * 0 (n and expired counted), 1 when there is no file, -1 with why.
 */
static int
file_load(const struct mcache *c, int dfd, const struct mcache_tenant *t,
    double now, struct secret_buf *out, size_t *ret_n, size_t *ret_expired,
    char *why, size_t whylen)
{
	struct secret_buf	 part = { NULL, 0, 0 };
	struct cache_record	 rec;
	char			*file = NULL, *plain = NULL, *aad;
	const char		*bad;
	size_t			 flen, plen = 0, alen, off = 4, n = 0, expired = 0;
	ssize_t			 at;
	uint32_t		 count;
	int			 rc;

	if ((rc = file_read(dfd, t->name, &file, &flen, why, whylen)) != 0)
		return rc;
	rc = -1;
	if (flen < MAGIC_LEN || memcmp(file, MAGIC, MAGIC_LEN) != 0) {
		snprintf(why, whylen, "not a samlbroker cache file");
		goto done;
	}
	aad = cache_file_aad(t->name, &alen);
	if (cache_open(t->key, aad, alen, file + MAGIC_LEN, flen - MAGIC_LEN, &plain,
	    &plen, why, whylen) == -1) {
		free(aad);
		goto done;
	}
	free(aad);
	if (plen < 4) {
		snprintf(why, whylen, "no entry count");
		goto done;
	}
	count = get_u32(plain);
	if (count > c->max_entries) {
		snprintf(why, whylen, "%lu entries, more than max_cached_tokens (%zu)",
		    (unsigned long)count, c->max_entries);
		goto done;
	}
	if ((at = cache_batch_begin(&part, t->name, SIZE_MAX)) == -1) {
		snprintf(why, whylen, "not a tenant name");
		goto done;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (cache_record_decode(plain, plen, &off, &rec, &bad) == -1) {
			snprintf(why, whylen, "entry %lu: %s", (unsigned long)i + 1, bad);
			goto done;
		}
		if (rec.expires_at <= now)
			expired++;
		else if (cache_record_encode(&rec, &part, SIZE_MAX) == 0)
			n++;
		cache_record_clear(&rec);
	}
	if (off != plen) {
		snprintf(why, whylen, "bytes past the last entry");
		goto done;
	}
	cache_batch_end(&part, (size_t)at, (uint32_t)n);
	if (n > 0 && secret_buf_add(out, part.data, part.len, FILE_MAX) == -1) {
		snprintf(why, whylen, "too many tokens to hand over");
		goto done;
	}
	*ret_n = n;
	*ret_expired = expired;
	rc = 0;
done:
	secret_buf_clear(&part);
	if (plain != NULL)
		secret_free(plain);
	free(file);
	return rc;
}

/* Every file of the cache directory that no configured tenant owns (or
 * every file, when persistence is off) goes. */
static void
prune_dir(const struct mcache *c, int dfd)
{
	DIR		*d;
	struct dirent	*de;
	char		 tenant[NAME_MAX_LEN + 1];
	int		 fd2;

	if ((fd2 = dup(dfd)) == -1 || (d = fdopendir(fd2)) == NULL) {
		if (fd2 != -1)
			close(fd2);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t	 len = strlen(de->d_name);
		size_t	 sl = strlen(SUFFIX);

		if (len > strlen(TMP_SUFFIX) && strcmp(de->d_name + len -
		    strlen(TMP_SUFFIX), TMP_SUFFIX) == 0) {
			(void)unlinkat(dfd, de->d_name, 0);
			continue;
		}
		if (len <= sl || len - sl > NAME_MAX_LEN ||
		    strcmp(de->d_name + len - sl, SUFFIX) != 0)
			continue;
		memcpy(tenant, de->d_name, len - sl);
		tenant[len - sl] = '\0';
		if (name_validate(tenant) != 0)
			continue;
		if (!c->enabled)
			wipe(dfd, tenant, "persistent_cache_off");
		else if (tenant_find(c, tenant) == NULL)
			wipe(dfd, tenant, "tenant_removed");
	}
	closedir(d);
}

static double
mono_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
mcache_load(const struct mcache *c)
{
	struct secret_buf	 out = { NULL, 0, 0 };
	char			 why[256];
	double			 t0 = mono_now(), now = clock_now();
	size_t			 total = 0;
	int			 dfd, fd = -1;

	if (c == NULL)
		return -1;
	if ((dfd = dir_open(c, c->enabled, true)) == -1)
		return -1;
	prune_dir(c, dfd);
	for (size_t i = 0; c->enabled && i < c->n; i++) {
		size_t	 n = 0, expired = 0;
		int	 rc;

		if (!c->t[i].keyed)
			continue;
		rc = file_load(c, dfd, &c->t[i], now, &out, &n, &expired, why,
		    sizeof(why));
		if (rc == -1)
			log_warnx("event=cache_file_ignored tenant=%s reason=\"%s\"",
			    c->t[i].name, why);
		else if (rc == 0) {
			log_info("event=cache_loaded tenant=%s entries=%zu expired=%zu",
			    c->t[i].name, n, expired);
			total += n;
		}
	}
	close(dfd);
	if (total > 0) {
		fd = mw_memfd("samlbroker-cache", out.data, out.len, why, sizeof(why));
		if (fd == -1)
			log_warnx("event=cache_load_failed error=\"%s\"", why);
	}
	secret_buf_clear(&out);
	if (c->enabled)
		log_info("event=cache_read entries=%zu seconds=%.3f", total,
		    mono_now() - t0);
	return fd;
}

/* Writes one tenant's file whole: temporary file, fsync, rename. */
static int
tenant_write(const struct mcache *c, int dfd, const struct mcache_tenant *t,
    const char *entries, size_t len, uint32_t count)
{
	char		 tmp[NAME_MAX_LEN + sizeof(TMP_SUFFIX)];
	char		 name[NAME_MAX_LEN + sizeof(SUFFIX)];
	char		 err[128], *plain, *aad;
	unsigned char	*rec = NULL;
	size_t		 rlen, alen, done = 0;
	int		 fd, rc = -1;

	(void)c;
	plain = xmalloc(len + 4);
	plain[0] = (char)(count >> 24);
	plain[1] = (char)(count >> 16);
	plain[2] = (char)(count >> 8);
	plain[3] = (char)count;
	if (len > 0)
		memcpy(plain + 4, entries, len);
	aad = cache_file_aad(t->name, &alen);
	if (cache_seal(t->key, aad, alen, plain, len + 4, &rec, &rlen, err,
	    sizeof(err)) == -1) {
		if (warn_due())
			log_warnx("event=cache_save_failed tenant=%s error=\"%s\"",
			    t->name, err);
		goto done;
	}
	file_name(tmp, sizeof(tmp), t->name, TMP_SUFFIX);
	file_name(name, sizeof(name), t->name, SUFFIX);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		if (warn_due())
			log_warn("event=cache_save_failed tenant=%s", t->name);
		goto done;
	}
	if (write(fd, MAGIC, MAGIC_LEN) != MAGIC_LEN)
		done = SIZE_MAX;
	while (done < rlen) {
		ssize_t w = write(fd, rec + done, rlen - done);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (done != rlen || fsync(fd) == -1) {
		if (warn_due())
			log_warn("event=cache_save_failed tenant=%s", t->name);
		close(fd);
		(void)unlinkat(dfd, tmp, 0);
		goto done;
	}
	close(fd);
	if (renameat(dfd, tmp, dfd, name) == -1) {
		if (warn_due())
			log_warn("event=cache_save_failed tenant=%s", t->name);
		(void)unlinkat(dfd, tmp, 0);
		goto done;
	}
	(void)fsync(dfd);
	log_debug("event=cache_saved tenant=%s entries=%lu", t->name,
	    (unsigned long)count);
	rc = 0;
done:
	free(rec);
	free(aad);
	OPENSSL_cleanse(plain, len + 4);
	free(plain);
	return rc;
}

int
mcache_save(const struct mcache *c, const char *buf, size_t len)
{
	struct cache_record	 rec;
	char			 tenant[NAME_MAX_LEN + 1];
	const char		*why;
	size_t			 off = 0, start;
	uint32_t		 count;
	int			 dfd;

	if (c == NULL || !c->enabled)
		return 0;	/* nothing is kept: the batch goes */
	/* warn_due() asked only on a failure: asked on every save, it took
	 * the minute's line before a failed write could. */
	if ((dfd = dir_open(c, true, false)) == -1) {
		if (warn_due())
			log_warn("event=cache_dir dir=%s", c->dir);
		return 0;
	}
	while (off < len) {
		const struct mcache_tenant *t;

		if (cache_batch_next(buf, len, &off, tenant, &count, &why) == -1)
			goto bad;
		if (count > c->max_entries) {
			why = "more entries than max_cached_tokens";
			goto bad;
		}
		start = off;
		for (uint32_t i = 0; i < count; i++) {
			if (cache_record_decode(buf, len, &off, &rec, &why) == -1)
				goto bad;
			cache_record_clear(&rec);
		}
		/* A tenant just removed, or without a key: not kept. */
		if ((t = tenant_find(c, tenant)) == NULL || !t->keyed)
			continue;
		if (count == 0)
			wipe(dfd, t->name, "empty");
		else
			(void)tenant_write(c, dfd, t, buf + start, off - start, count);
	}
	close(dfd);
	return 0;
bad:
	close(dfd);
	log_warnx("event=front_protocol error=\"malformed cache batch: %s\"", why);
	return -1;
}

void
mcache_prune(const struct mcache *old, const struct mcache *new)
{
	int	 dfd;

	if (old == NULL || (dfd = dir_open(old, false, true)) == -1)
		return;
	for (size_t i = 0; i < old->n; i++) {
		if (new == NULL || strcmp(new->dir, old->dir) != 0)
			break;
		if (!new->enabled)
			wipe(dfd, old->t[i].name, "persistent_cache_off");
		else if (tenant_find(new, old->t[i].name) == NULL)
			wipe(dfd, old->t[i].name, "tenant_removed");
	}
	close(dfd);
}

size_t
mcache_batch_max(void)
{
	return FILE_MAX;
}
