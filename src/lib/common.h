/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common.h - generic helpers shared by samlbroker and its tools
 * (samlbroker-emulator): logging, allocation, the clock, base64, bounded
 * files, and certificate making and PEM text.  Nothing here knows a
 * tenant, a token or the broker; the emulator includes only this header
 * from src/, so it shares no code with what it checks.
 */
#ifndef SAMLBROKER_COMMON_H
#define SAMLBROKER_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct evp_pkey_st;	/* OpenSSL EVP_PKEY */
struct x509_st;		/* OpenSSL X509 */
struct X509_name_st;	/* OpenSSL X509_NAME */

/* Longest e-mail address accepted (RFC 5321 path limit). */
#define EMAIL_MAX_LEN			254
/* Longest tenant or service name. */
#define NAME_MAX_LEN			64

/* UNDER_ASAN: built with AddressSanitizer (gcc or clang), whose leak
 * checker needs ptrace at exit: signers install no seccomp filter then. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif

/* log.c */
enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
void	 log_init(enum log_level, const char *progname);
void	 log_set_level(enum log_level);
enum log_level log_get_level(void);
int	 log_level_parse(const char *, enum log_level *);
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* util.c */
/* The one clock of the program: wall-clock seconds (tests replace it). */
typedef double (*clock_fn)(void);
double	 clock_now(void);
void	 clock_set(clock_fn);	/* NULL restores the real clock */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
void	 secret_free(char *);	/* cleanse then free; accepts NULL */
/* A growing buffer that may hold a secret (a token answer): it grows by
 * copying, never by realloc, and cleanses every buffer it lets go; data is
 * NUL-terminated once anything was added. */
struct secret_buf {
	char	*data;
	size_t	 len;
	size_t	 size;
};
int	 secret_buf_add(struct secret_buf *, const void *, size_t, size_t max);	/* -1: over max */
void	 secret_buf_clear(struct secret_buf *);	/* cleanse, free, empty */
int	 format_rfc3339(double t, char *buf, size_t len);	/* 2026-11-25T01:02:03Z */
int	 base64_decode_lenient(const char *in, unsigned char **out, size_t *outlen);
char	*base64_encode(const unsigned char *in, size_t len, int wrap64);
int	 email_validate(const char *email, const char **why);
/* The one form of an address that comparisons, cache keys and assertions
 * use: ASCII capitals lowercased, local part and domain alike; other bytes
 * (UTF-8) are kept as they are. */
void	 email_canonicalize(char *email);
bool	 email_is_canonical(const char *email);
/* Text from outside (a server's answer) made safe to print on a terminal,
 * in place: every byte but printable ASCII becomes '?' (no ESC, CR, BEL,
 * no C1 or bidirectional controls). */
void	 text_printable(char *);
int	 name_validate(const char *name);	/* [A-Za-z0-9._-], 1..NAME_MAX_LEN, no leading dot */
/* A whole regular file of at most max bytes, NUL-terminated, opened once
 * without blocking (a FIFO fails at once with EINVAL), symbolic links
 * followed only when follow (else ELOOP); *ret_st (may be NULL) is fstat's
 * answer on the descriptor read. */
struct stat;
int	 read_file_checked(const char *path, size_t max, bool follow, char **ret_buf,
	    size_t *ret_len, struct stat *ret_st);
int	 read_file_limited(const char *path, size_t max, char **ret_buf, size_t *ret_len);
void	 process_harden(void);	/* non-dumpable, no core files */
/* dir/name, allocated. */
char	*path_join(const char *dir, const char *name);
/* Creates path (never through a symbolic link, never over a file that
 * exists) with exactly mode, writes len bytes and syncs; on failure the
 * file is removed and errno says why. */
int	 file_write_new(const char *path, mode_t mode, const char *data, size_t len);

/* x509.c - self-signed certificates and PEM text, for keygen and the emulator */
struct x509_ext {
	int		 nid;		/* NID_basic_constraints, ... */
	const char	*value;		/* as in an openssl configuration file */
};
/* A self-signed X.509 v3 certificate: 128-bit random serial, SHA-256,
 * valid from now - backdate seconds for days days, with the extensions. */
struct x509_st *x509_selfsigned_new(struct evp_pkey_st *, const struct X509_name_st *subject,
	    long days, long backdate, const struct x509_ext *exts, size_t n_exts);
char	*x509_cert_pem(struct x509_st *);	/* PEM text, or NULL */
/* PKCS#8 PEM text of a key, AES-256-CBC encrypted with password (a
 * secret: free with secret_free), or unencrypted when password is NULL. */
char	*x509_key_pem(struct evp_pkey_st *, const char *password);
/* SHA-256 of DER bytes as "AB:CD:...", like openssl x509 -fingerprint
 * (out needs 96 bytes); -1 when it does not fit. */
int	 x509_fingerprint(const unsigned char *der, size_t len, char *out, size_t outlen);
/* The base64 between a PEM text's BEGIN and END lines; flat: without line
 * breaks (the identity provider's 'certificate' field), else as in the PEM. */
char	*x509_pem_body(const char *pem, bool flat);

#endif /* SAMLBROKER_COMMON_H */
