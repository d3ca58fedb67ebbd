/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_pool.c - mint throughput through the signer pool (signer.c) with
 * real signer processes.  Built by `make`, run by tests/bench_signers.py
 * (or by hand); never a test.
 *
 *   bench_pool -c CONFIG -t TENANT [-s SIGNERS] [-n MINTS] [-j IN_FLIGHT]
 *	[--exe SAMLBROKER]
 *	starts SIGNERS signer processes, keeps IN_FLIGHT mints pending until
 *	MINTS are answered, and prints one line:
 *	"signers=S mints=N wall=W mints_per_s=R busy=B failed=F p50_ms=.. p99_ms=..
 *	 front_cpu_us=.. signer_cpu_us=.." (CPU per mint: this process, and
 *	the signers, start-up included, reaped at the end)
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "samlbroker.h"

struct bench {
	struct signer_pool	*pool;
	struct event_base	*base;
	const char		*tenant;
	long			 want;
	long			 started;
	long			 answered;
	long			 ok, busy, failed;
	double			*latency;
	double			*started_at;
};

struct slot {
	struct bench	*b;
	long		 i;
};

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void	 start_one(struct bench *, struct slot *);

static void
on_result(const struct signer_result *res, void *arg)
{
	struct slot	*s = arg;
	struct bench	*b = s->b;

	b->latency[b->answered++] = mono() - b->started_at[s->i];
	if (res->status == SIGNER_OK)
		b->ok++;
	else if (res->status == SIGNER_BUSY)
		b->busy++;
	else
		b->failed++;
	if (b->answered == b->want)
		event_base_loopbreak(b->base);
	else
		start_one(b, s);
}

static void
start_one(struct bench *b, struct slot *s)
{
	enum signer_status	 refusal;

	if (b->started >= b->want)
		return;
	s->i = b->started++;
	b->started_at[s->i] = mono();
	if (signer_pool_mint(b->pool, b->tenant, "agent.smith@example.com",
	    on_result, s, &refusal) == NULL)
		fatalx("mint refused (%d): lower -j", (int)refusal);
}

static double
cpu_seconds(int who)
{
	struct rusage	 ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "exe",	required_argument,	NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	struct signer_pool_options	 o;
	struct bench			 b;
	struct slot			*slots;
	char				 err[1024];
	long				 jobs = 16;
	double				 t0, wall, cpu0, front_cpu;
	int				 ch;

	log_init(LOG_LEVEL_WARN, "bench_pool");
	memset(&o, 0, sizeof(o));
	memset(&b, 0, sizeof(b));
	o.exe = "./samlbroker";
	b.want = 4000;
	while ((ch = getopt_long(argc, argv, "c:t:s:n:j:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config_path = optarg;
			break;
		case 't':
			b.tenant = optarg;
			break;
		case 's':
			o.signers = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			b.want = strtol(optarg, NULL, 10);
			break;
		case 'j':
			jobs = strtol(optarg, NULL, 10);
			break;
		case 'e':
			o.exe = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_pool -c CONFIG -t TENANT [-s SIGNERS] "
			    "[-n MINTS] [-j IN_FLIGHT] [--exe SAMLBROKER]\n");
			return 2;
		}
	}
	if (o.config_path == NULL || b.tenant == NULL || b.want <= 0 || jobs <= 0)
		fatalx("-c and -t are required; -n and -j must be positive");
	o.queue_max = (size_t)jobs;
	b.base = event_base_new();
	if ((b.pool = signer_pool_new(b.base, &o, err, sizeof(err))) == NULL)
		fatalx("signer_pool_new: %s", err);
	b.latency = xcalloc((size_t)b.want, sizeof(double));
	b.started_at = xcalloc((size_t)b.want, sizeof(double));
	slots = xcalloc((size_t)jobs, sizeof(*slots));
	t0 = mono();
	cpu0 = cpu_seconds(RUSAGE_SELF);
	for (long i = 0; i < jobs; i++) {
		slots[i].b = &b;
		start_one(&b, &slots[i]);
	}
	event_base_dispatch(b.base);
	wall = mono() - t0;
	front_cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
	signer_pool_free(b.pool);
	qsort(b.latency, (size_t)b.answered, sizeof(double), cmp_double);
	printf("signers=%zu mints=%ld wall=%.3f mints_per_s=%.1f busy=%ld failed=%ld "
	    "p50_ms=%.3f p99_ms=%.3f front_cpu_us=%.1f signer_cpu_us=%.1f\n", o.signers,
	    b.answered, wall, b.answered / wall, b.busy, b.failed,
	    b.latency[b.answered / 2] * 1e3, b.latency[(size_t)(b.answered * 0.99)] * 1e3,
	    front_cpu / (double)b.answered * 1e6,
	    cpu_seconds(RUSAGE_CHILDREN) / (double)b.answered * 1e6);
	event_base_free(b.base);
	free(slots);
	free(b.latency);
	free(b.started_at);
	return b.failed > 0 ? 1 : 0;
}
