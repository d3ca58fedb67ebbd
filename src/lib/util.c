/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.c - small helpers shared by every module: the clock, allocation
 * that cannot fail silently, secret wiping, base64, input shape checks,
 * bounded file reads and writes, path joining and process hardening.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common.h"

static double
clock_real(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static clock_fn	 current_clock = clock_real;

double
clock_now(void)
{
	return current_clock();
}

void
clock_set(clock_fn fn)
{
	current_clock = fn != NULL ? fn : clock_real;
}

void *
xmalloc(size_t n)
{
	void	*p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		fatal("calloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = strndup(s, n);

	if (p == NULL)
		fatal("strndup");
	return p;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

int
secret_buf_add(struct secret_buf *b, const void *data, size_t n, size_t max)
{
	if (n > max - b->len)
		return -1;
	if (b->len + n + 1 > b->size) {
		size_t	 size2 = b->size == 0 ? 4096 : b->size;
		char	*p;

		while (size2 < b->len + n + 1)
			size2 *= 2;
		/* Not realloc: the old buffer may hold part of a secret. */
		p = xmalloc(size2);
		if (b->len > 0)
			memcpy(p, b->data, b->len);
		if (b->data != NULL) {
			OPENSSL_cleanse(b->data, b->size);
			free(b->data);
		}
		b->data = p;
		b->size = size2;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void
secret_buf_clear(struct secret_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->size);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

int
format_rfc3339(double t, char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 secs = (time_t)t;

	if (gmtime_r(&secs, &tm) == NULL)
		return -1;
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

/*
 * Decodes base64 that may be wrapped at any width and surrounded by
 * spaces, as pasted into an option value.  Anything but the base64
 * alphabet, whitespace and trailing padding is an error.
 */
int
base64_decode_lenient(const char *in, unsigned char **out, size_t *outlen)
{
	size_t		 inlen = strlen(in), n = 0, pad = 0;
	char		*clean;
	unsigned char	*buf;
	int		 got;

	clean = xmalloc(inlen + 1);
	for (const char *p = in; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
		} else if (pad > 0 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/')) {
			goto fail;
		}
		clean[n++] = (char)c;
	}
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0 || pad > 2)
		goto fail;
	buf = xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(buf, (unsigned char *)clean, (int)n);
	if (got < 0) {
		free(buf);
		goto fail;
	}
	OPENSSL_cleanse(clean, n);
	free(clean);
	*outlen = (size_t)got - pad;
	buf[*outlen] = '\0';
	*out = buf;
	return 0;
fail:
	OPENSSL_cleanse(clean, n);
	free(clean);
	return -1;
}

char *
base64_encode(const unsigned char *in, size_t len, int wrap64)
{
	size_t	 enclen = 4 * ((len + 2) / 3);
	char	*flat, *out;

	flat = xmalloc(enclen + 1);
	EVP_EncodeBlock((unsigned char *)flat, in, (int)len);
	if (!wrap64)
		return flat;
	out = xmalloc(enclen + enclen / 64 + 2);
	size_t o = 0;
	for (size_t i = 0; i < enclen; i += 64) {
		size_t chunk = enclen - i < 64 ? enclen - i : 64;
		memcpy(out + o, flat + i, chunk);
		o += chunk;
		out[o++] = '\n';
	}
	out[o] = '\0';
	free(flat);
	return out;
}

/*
 * An e-mail address as a directory would hold it: one '@', non-empty
 * local part and domain, at most EMAIL_MAX_LEN bytes, no spaces or control
 * characters, valid UTF-8.  XML-special characters are allowed here; the
 * SAML writer escapes them.
 */
int
email_validate(const char *email, const char **why)
{
	const unsigned char	*p = (const unsigned char *)email;
	size_t			 len = strlen(email), ats = 0, at = 0;

	if (len == 0) {
		*why = "e-mail address is empty";
		return -1;
	}
	if (len > EMAIL_MAX_LEN) {
		*why = "e-mail address is longer than 254 bytes";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c <= 0x20 || c == 0x7f) {
			*why = "e-mail address contains a space or control character";
			return -1;
		}
		if (c == '@') {
			ats++;
			at = i;
		}
		if (c < 0x80)
			continue;
		/* UTF-8: lead byte, then the right number of continuation bytes. */
		size_t more;
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3;
		else {
			*why = "e-mail address is not valid UTF-8";
			return -1;
		}
		if (i + more >= len) {
			*why = "e-mail address is not valid UTF-8";
			return -1;
		}
		for (size_t k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				*why = "e-mail address is not valid UTF-8";
				return -1;
			}
		}
		/* Overlong three/four-byte forms, surrogates, > U+10FFFF. */
		if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
		    (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)) {
			*why = "e-mail address is not valid UTF-8";
			return -1;
		}
		/* U+0080..U+009F are C1 control characters. */
		if (c == 0xc2 && p[i + 1] < 0xa0) {
			*why = "e-mail address contains a space or control character";
			return -1;
		}
		i += more;
	}
	if (ats != 1) {
		*why = "e-mail address must contain exactly one '@'";
		return -1;
	}
	if (at == 0 || at == len - 1) {
		*why = "e-mail address needs a local part and a domain";
		return -1;
	}
	return 0;
}

/*
 * PureCloud treats an agent's e-mail as one identity whatever its case, so
 * the broker keeps one form: lowercase.  Only ASCII letters are folded (as
 * strcasecmp did); a non-ASCII character compares byte for byte.
 */
void
email_canonicalize(char *email)
{
	for (char *p = email; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

bool
email_is_canonical(const char *email)
{
	for (const char *p = email; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false;
	return true;
}

void
text_printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

int
name_validate(const char *name)
{
	size_t	 len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN || name[0] == '.' || name[0] == '-')
		return -1;
	for (const char *p = name; *p != '\0'; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return -1;
	}
	return 0;
}

/*
 * Reads a whole regular file of at most max bytes, NUL-terminated.  The
 * file is opened once, never blocking (a FIFO is refused at once, not
 * waited on), through a symbolic link only when follow; what it is (type,
 * size, owner, mode) is asked of that descriptor, and *ret_st (may be
 * NULL) is what it said.  errno: EINVAL not a regular file, EFBIG larger
 * than max, ELOOP a symbolic link (not followed).
 */
int
read_file_checked(const char *path, size_t max, bool follow, char **ret_buf,
    size_t *ret_len, struct stat *ret_st)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	int		 fd, saved, oflags;

	oflags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (follow ? 0 : O_NOFOLLOW);
	if ((fd = open(path, oflags)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0 || (len += (size_t)r) == (size_t)st.st_size)
			break;
	}
	buf[len] = '\0';
	close(fd);
	*ret_buf = buf;
	*ret_len = len;
	if (ret_st != NULL)
		*ret_st = st;
	return 0;
fail:
	saved = errno;
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	errno = saved;
	return -1;
}

int
read_file_limited(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
	return read_file_checked(path, max, true, ret_buf, ret_len, NULL);
}

/* Keys and secrets must never end up in a core file or be ptrace-readable. */
void
process_harden(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_warn("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_DUMPABLE");
}

char *
path_join(const char *dir, const char *name)
{
	size_t	 dl = strlen(dir), nl = strlen(name);
	char	*out = xmalloc(dl + nl + 2);

	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return out;
}

int
file_write_new(const char *path, mode_t mode, const char *data, size_t len)
{
	size_t	 done = 0;
	int	 fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (fchmod(fd, mode) == -1)	/* the umask does not decide */
		goto fail;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto fail;
		done += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(path);
	errno = saved;
	return -1;
}
