/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server_signers.c - the front's signer pool (signer.c) over the signers
 * the master started (the front cannot start a program): the pool over
 * the first generation, the broker's minter over it (minter_signers.c),
 * each new generation's signers, stopping it after the broker, and what
 * /v1/status and /metrics say about it.  The front never loads a private
 * key; the signers load their generation's snapshot with the keys.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "server.h"

int
server_signers_start(struct server *srv, const struct broker_config *conf,
    const struct signer_spawner *spawner, uint64_t generation, const int *fds,
    const pid_t *pids, size_t n)
{
	struct signer_pool_options	 o = {
		.spawner = spawner,
		.queue_max = conf->signer_queue,
		.n_tenants = conf->n_tenants,
	};
	struct signer_pool_stats	 st;

	if ((srv->signers = signer_pool_adopt_new(srv->base, &o, generation, fds, pids,
	    n)) == NULL)
		return -1;
	srv->minter = minter_signers_new(srv->base, srv->signers);
	signer_pool_stats(srv->signers, &st);
	log_info("event=signers_started signers=%zu queue=%zu priority=%s generation=%llu",
	    st.signers, st.queue_max, signer_priority_name(conf->signer_priority),
	    (unsigned long long)generation);
	return 0;
}

void
server_signers_adopt(struct server *srv, uint64_t generation, const int *fds,
    const pid_t *pids, size_t n)
{
	signer_pool_adopt(srv->signers, generation, fds, pids, n);
}

/* After the broker (which cancels its mints through the minter). */
void
server_signers_stop(struct server *srv)
{
	minter_signers_free(srv->minter);
	srv->minter = NULL;
	signer_pool_free(srv->signers);
	srv->signers = NULL;
}

/* Every process, current generation first; the caller frees *ret. */
static size_t
processes_get(const struct server *srv, const struct signer_pool_stats *st,
    struct signer_process_info **ret)
{
	size_t	 max = st->signers + st->draining + 1;

	*ret = xcalloc(max, sizeof(**ret));
	return signer_pool_processes(srv->signers, *ret, max);
}

json_t *
server_signers_status(const struct server *srv, bool activity)
{
	struct signer_process_info	*info;
	struct signer_pool_stats	 st;
	json_t				*procs, *p, *out;
	size_t				 n;

	if (srv->signers == NULL)
		return json_null();
	procs = json_array();
	signer_pool_stats(srv->signers, &st);
	n = processes_get(srv, &st, &info);
	for (size_t i = 0; i < n; i++) {
		p = json_pack("{s:i, s:I, s:I, s:b, s:b, s:I}",
		    "index", info[i].index,
		    "pid", (json_int_t)info[i].pid,
		    "generation", (json_int_t)info[i].generation,
		    "ready", info[i].ready,
		    "draining", info[i].draining,
		    "restarts", (json_int_t)info[i].restarts);
		if (activity)
			json_object_set_new(p, "queue_depth",
			    json_integer((json_int_t)info[i].queue_depth));
		json_array_append_new(procs, p);
	}
	free(info);
	out = json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:o}",
	    "count", (json_int_t)st.signers,
	    "ready", (json_int_t)st.ready,
	    "priority", signer_priority_name(broker_config(srv->broker)->signer_priority),
	    "draining", (json_int_t)st.draining,
	    "generation", (json_int_t)st.generation,
	    "restarts", (json_int_t)st.restarts,
	    "processes", procs);
	if (!activity)
		return out;
	json_object_set_new(out, "queue_depth", json_integer((json_int_t)st.queue_depth));
	json_object_set_new(out, "queue_max", json_integer((json_int_t)st.queue_max));
	json_object_set_new(out, "requests", json_pack("{s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I}",
	    "total", (json_int_t)st.requests,
	    "ok", (json_int_t)st.ok,
	    "failed", (json_int_t)st.failed,
	    "busy", (json_int_t)st.busy,
	    "retried", (json_int_t)st.retried,
	    "canceled", (json_int_t)st.canceled,
	    "canceled_unsent", (json_int_t)st.canceled_unsent,
	    "refused", (json_int_t)st.refused));
	return out;
}

static void
gauge(FILE *b, const char *name, const char *help, unsigned long long v)
{
	fprintf(b, "# HELP samlbroker_%s %s\n# TYPE samlbroker_%s gauge\n"
	    "samlbroker_%s %llu\n", name, help, name, name, v);
}

/* Queue depth, requests and latency: they move with every tenant's mints. */
static void
signer_activity(FILE *b, const struct signer_pool_stats *st)
{
	static const double	 bounds[] = SIGNER_LATENCY_BOUNDS;
	uint64_t		 cum = 0;

	gauge(b, "signer_queue_depth", "Mint requests sent to signers or waiting.",
	    st->queue_depth);
	fprintf(b, "# HELP samlbroker_signer_requests_total Mint requests to the signers by outcome.\n"
	    "# TYPE samlbroker_signer_requests_total counter\n"
	    "samlbroker_signer_requests_total{outcome=\"ok\"} %llu\n"
	    "samlbroker_signer_requests_total{outcome=\"failed\"} %llu\n"
	    "samlbroker_signer_requests_total{outcome=\"busy\"} %llu\n",
	    (unsigned long long)st->ok, (unsigned long long)st->failed,
	    (unsigned long long)st->busy);
	fprintf(b, "# HELP samlbroker_signer_canceled_total Mint requests whose caller went away, by whether a signer had them.\n"
	    "# TYPE samlbroker_signer_canceled_total counter\n"
	    "samlbroker_signer_canceled_total{stage=\"queued\"} %llu\n"
	    "samlbroker_signer_canceled_total{stage=\"sent\"} %llu\n"
	    "# HELP samlbroker_signer_refused_total Mint requests a signer refused (the front's time was not its own).\n"
	    "# TYPE samlbroker_signer_refused_total counter\n"
	    "samlbroker_signer_refused_total %llu\n",
	    (unsigned long long)st->canceled_unsent,
	    (unsigned long long)(st->canceled - st->canceled_unsent),
	    (unsigned long long)st->refused);
	fprintf(b, "# HELP samlbroker_signer_latency_seconds Mint request to signed answer.\n"
	    "# TYPE samlbroker_signer_latency_seconds histogram\n");
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		cum += st->latency_buckets[i];
		fprintf(b, "samlbroker_signer_latency_seconds_bucket{le=\"%g\"} %llu\n",
		    bounds[i], (unsigned long long)cum);
	}
	fprintf(b, "samlbroker_signer_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "samlbroker_signer_latency_seconds_sum %.6f\n"
	    "samlbroker_signer_latency_seconds_count %llu\n",
	    (unsigned long long)st->latency_count, st->latency_sum,
	    (unsigned long long)st->latency_count);
}

void
server_signers_metrics(const struct server *srv, FILE *b, bool activity)
{
	struct signer_process_info	*info;
	struct signer_pool_stats	 st;
	size_t				 n;

	if (srv->signers == NULL)
		return;
	signer_pool_stats(srv->signers, &st);
	gauge(b, "signers", "Signer processes of the current generation.", st.signers);
	gauge(b, "signers_ready", "Signer processes up and answering.", st.ready);
	fprintf(b, "# HELP samlbroker_signer_restarts_total Signers started again after dying.\n"
	    "# TYPE samlbroker_signer_restarts_total counter\n"
	    "samlbroker_signer_restarts_total %llu\n", (unsigned long long)st.restarts);
	if (activity)
		signer_activity(b, &st);
	fprintf(b, "# HELP samlbroker_signer_process_id Process id of each running signer (0 while down).\n"
	    "# TYPE samlbroker_signer_process_id gauge\n");
	n = processes_get(srv, &st, &info);
	for (size_t i = 0; i < n; i++)
		fprintf(b, "samlbroker_signer_process_id{index=\"%d\",generation=\"%llu\"} %lld\n",
		    info[i].index, (unsigned long long)info[i].generation,
		    (long long)info[i].pid);
	free(info);
}
