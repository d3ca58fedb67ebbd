/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_mint.c - how close minting a signed SAMLResponse comes to the
 * cost of one bare RSA-2048/SHA-256 signature, and whether memory stays
 * flat over many mints.  Built by `make`, run by hand; never a test.
 *
 *   bench_mint [-n N] [--key-dir DIR] [--sign-response]
 *	mints N responses and makes N bare EVP_DigestSign signatures with
 *	the same key over a buffer as long as the signed Assertion, the two
 *	alternating in batches of 50, and prints rates, CPU time per
 *	operation and the ratio.
 *   bench_mint --memory N [--key-dir DIR] [--sign-response]
 *	mints N responses and prints the resident set size at the start,
 *	after 10 % and at the end.
 *
 * DIR holds cert.pem.b64, key.pem.enc.b64 and password; the default is
 * $top_srcdir/tests/data/keys/vendor-pkcs8 ("." when top_srcdir is unset).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "samlbroker.h"

#define BENCH_NOW	1764000000.0
#define BENCH_EMAIL	"agent.smith@example.com"

static double
seconds(clockid_t id)
{
	struct timespec	 ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kib(void)
{
	FILE	*f;
	long	 size, resident;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static char *
read_key_file(const char *dir, const char *name)
{
	char	 path[4096], *buf;
	size_t	 len;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		fatalx("path too long");
	if (read_file_limited(path, 1 << 20, &buf, &len) == -1)
		fatal("%s", path);
	return buf;
}

static void
mint_one(struct saml_signer *signer, char **ret_xml, size_t *ret_len)
{
	char	 err[256];

	if (saml_mint_response(signer, BENCH_EMAIL, BENCH_NOW, ret_xml, ret_len,
	    err, sizeof(err)) == -1)
		fatalx("mint: %s", err);
}

/* The length of the Assertion without its Signature: what gets digested. */
static size_t
assertion_len(const char *xml)
{
	const char	*a = strstr(xml, "<saml:Assertion");
	const char	*b = strstr(xml, "</saml:Assertion>");
	const char	*s = strstr(xml, "<ds:Signature");
	const char	*e = strstr(xml, "</ds:Signature>");
	size_t		 len;

	if (a == NULL || b == NULL || s == NULL || e == NULL)
		fatalx("unexpected document");
	len = (size_t)(b - a) + strlen("</saml:Assertion>");
	return len - ((size_t)(e - s) + strlen("</ds:Signature>"));
}

/*
 * Mints and bare signatures alternate in batches of BATCH, so that other
 * load on a shared machine slows both alike; each kind's time is summed.
 */
#define BATCH	50

static void
bench_rate(struct saml_signer *signer, EVP_PKEY *pkey, long n, int sign_response)
{
	unsigned char	*msg, sig[1024];
	char		*xml;
	size_t		 len, msglen, siglen;
	double		 w0, c0, mint_wall = 0, mint_cpu = 0, sig_wall = 0, sig_cpu = 0;

	/* Warm up, and size the bare signatures' input like the Assertion. */
	mint_one(signer, &xml, &len);
	msglen = assertion_len(xml);
	secret_free(xml);
	msg = xmalloc(msglen);
	if (RAND_bytes(msg, (int)msglen) != 1)
		fatalx("RAND_bytes");

	for (long done = 0; done < n; done += BATCH) {
		long k = n - done < BATCH ? n - done : BATCH;

		w0 = seconds(CLOCK_MONOTONIC);
		c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
		for (long i = 0; i < k; i++) {
			mint_one(signer, &xml, &len);
			secret_free(xml);
		}
		mint_wall += seconds(CLOCK_MONOTONIC) - w0;
		mint_cpu += seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;

		w0 = seconds(CLOCK_MONOTONIC);
		c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
		for (long i = 0; i < k; i++) {
			EVP_MD_CTX *md = EVP_MD_CTX_new();

			siglen = sizeof(sig);
			if (md == NULL ||
			    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
			    EVP_DigestSign(md, sig, &siglen, msg, msglen) != 1)
				fatalx("EVP_DigestSign");
			EVP_MD_CTX_free(md);
		}
		sig_wall += seconds(CLOCK_MONOTONIC) - w0;
		sig_cpu += seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	free(msg);

	printf("mints:        n=%ld sign_response=%s wall=%.3f s cpu=%.3f s\n",
	    n, sign_response ? "yes" : "no", mint_wall, mint_cpu);
	printf("signatures:   n=%ld input=%zu bytes wall=%.3f s cpu=%.3f s\n",
	    n, msglen, sig_wall, sig_cpu);
	printf("mints/s:      %.1f (wall) %.1f (cpu)   %.1f us cpu per mint\n",
	    n / mint_wall, n / mint_cpu, mint_cpu / n * 1e6);
	printf("signatures/s: %.1f (wall) %.1f (cpu)   %.1f us cpu per signature\n",
	    n / sig_wall, n / sig_cpu, sig_cpu / n * 1e6);
	printf("ratio mints/signatures: %.3f (wall) %.3f (cpu)\n",
	    (n / mint_wall) / (n / sig_wall), (n / mint_cpu) / (n / sig_cpu));
}

static void
bench_memory(struct saml_signer *signer, long n)
{
	char	*xml;
	size_t	 len;
	long	 tenth = n / 10 > 0 ? n / 10 : 1;

	printf("rss at start:        %ld KiB\n", rss_kib());
	for (long i = 1; i <= n; i++) {
		mint_one(signer, &xml, &len);
		secret_free(xml);
		if (i == tenth)
			printf("rss after %8ld: %ld KiB\n", i, rss_kib());
	}
	printf("rss after %8ld: %ld KiB\n", n, rss_kib());
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_mint [-n N | --memory N] [--key-dir DIR] "
	    "[--sign-response]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static char		 name[] = "bench", org[] = "benchorg";
	static char		 url[] = "https://login.mypurecloud.com/oauth/token";
	static char		 issuer[] = "https://www.genesys.com/pureengage";
	static const struct option longopts[] = {
		{ "key-dir",		required_argument,	NULL, 'k' },
		{ "memory",		required_argument,	NULL, 'm' },
		{ "sign-response",	no_argument,		NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*top = getenv("top_srcdir");
	char			 defdir[4096], err[256];
	const char		*dir = NULL;
	char			*cert, *key, *password;
	struct keystore		*ks;
	struct saml_signer	*signer;
	struct tenant		 t;
	long			 n = 2000, memory = 0;
	int			 ch, sign_response = 0;

	log_init(LOG_LEVEL_INFO, "bench_mint");
	/* Keys are loaded here (the front's binary cannot). */
	keystore_global_init();
	while ((ch = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if ((n = strtol(optarg, NULL, 10)) <= 0)
				usage();
			break;
		case 'k':
			dir = optarg;
			break;
		case 'm':
			if ((memory = strtol(optarg, NULL, 10)) <= 0)
				usage();
			break;
		case 'r':
			sign_response = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (dir == NULL) {
		snprintf(defdir, sizeof(defdir), "%s/tests/data/keys/vendor-pkcs8",
		    top != NULL ? top : ".");
		dir = defdir;
	}

	cert = read_key_file(dir, "cert.pem.b64");
	key = read_key_file(dir, "key.pem.enc.b64");
	password = read_key_file(dir, "password");
	password[strcspn(password, "\r\n")] = '\0';
	if ((ks = keystore_load(cert, key, password, err, sizeof(err))) == NULL)
		fatalx("keystore: %s", err);
	if (saml_global_init() == -1)
		fatalx("saml_global_init failed");

	memset(&t, 0, sizeof(t));
	t.name = name;
	t.organization_sname = org;
	t.base_auth_url = url;
	t.issuer = issuer;
	t.assertion_lifetime = 300;
	t.sign_response = sign_response;
	t.keys = ks;
	if ((signer = saml_signer_new(&t, err, sizeof(err))) == NULL)
		fatalx("signer: %s", err);

	if (memory > 0)
		bench_memory(signer, memory);
	else
		bench_rate(signer, keystore_pkey(ks), n, sign_response);

	saml_signer_free(signer);
	saml_global_shutdown();
	keystore_free(ks);
	free(cert);
	free(key);
	secret_free(password);
	return 0;
}
