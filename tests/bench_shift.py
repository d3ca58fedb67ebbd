# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test): the start of a shift (issue 20).  N distinct
agents ask for their token within a few seconds, through a gateway (TCP
callers of tenant acme), while the emulator's token endpoint allows R
requests a second per organization (429 with Retry-After beyond) and
answers each after L ms.  Each agent retries on 503 after the Retry-After
it was given (1 s without one).

    python3 tests/bench_shift.py [--agents N] [--rate R] [--latency-ms L]
                                 [--spread S] [--runs K]

Prints the time until every agent holds a token, the bound N / R (or L
when larger), their ratio, the token-endpoint requests and 429s, and the
agents' waits (first request to token) p50 and p99.  Needs a build in
$top_builddir (default: build/).
"""
import argparse
import asyncio
import os
import random
import sys
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("top_srcdir", os.path.join(here, ".."))
os.environ.setdefault("top_builddir", os.path.join(here, "..", "build"))
sys.path.insert(0, here)
from harness import Setup  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--agents", type=int, default=2000)
ap.add_argument("--rate", type=float, default=100.0, help="token requests a second")
ap.add_argument("--latency-ms", type=int, default=150)
ap.add_argument("--spread", type=float, default=3.0,
                help="seconds over which the agents' first requests come")
ap.add_argument("--runs", type=int, default=1)
ap.add_argument("--give-up", type=float, default=600.0,
                help="seconds after which the agents still without a token are counted")
ap.add_argument("--log-level", default="warn", help="the broker's (info shows event=pace)")
ap.add_argument("--timeline", action="store_true", help="tokens obtained per second")
ap.add_argument("--keep", action="store_true", help="print the broker's event=pace lines")
args = ap.parse_args()


async def fetch(port, path):
    """One GET on a connection of its own: (status, Retry-After or None)."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Samlbroker-Request: true\r\n"
                 "Connection: close\r\n\r\n" % (path, port)).encode())
        await w.drain()
        data = await r.read()
    finally:
        w.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    retry = None
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "retry-after":
            retry = v.strip()
    return status, retry


async def agent(port, i, start, deadline, out):
    await asyncio.sleep(start)
    path = "/v1/tenants/acme/users/agent%d%%40example.com/token" % i
    t0 = time.monotonic()
    tries, statuses, retries = 0, {}, []
    while time.monotonic() < deadline:
        tries += 1
        try:
            status, retry = await fetch(port, path)
        except OSError:
            status, retry = 0, None
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            out.append((t0, time.monotonic(), tries, statuses, retries))
            return
        try:
            wait = float(retry) if retry is not None else 1.0
        except ValueError:
            wait = 1.0
        retries.append(retry)
        await asyncio.sleep(max(wait, 0.05))
    out.append((t0, None, tries, statuses, retries))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else float("nan")


async def crowd(port):
    out = []
    begin = time.monotonic()
    deadline = begin + args.give_up
    await asyncio.gather(*(agent(port, i, random.uniform(0, args.spread), deadline, out)
                           for i in range(args.agents)))
    return begin, out


def one_run(s, n):
    s.emu("POST", "/emulator/reset")
    s.emu("POST", "/emulator/config", {"token_rate": args.rate,
                                       "token_latency_ms": args.latency_ms})
    c0 = s.counters()
    samples, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            c = s.counters()
            samples.append((time.monotonic(), c["total"] - c.get("rate_limited", 0)))
            stop.wait(1.0)
    poller = threading.Thread(target=poll)
    if args.timeline:
        poller.start()
    begin, out = asyncio.run(crowd(s.tcp_port))
    stop.set()
    if args.timeline:
        poller.join()
    c1 = s.counters()
    got = [o for o in out if o[1] is not None]
    first = min(o[0] for o in out)
    last = max(o[1] for o in got) if got else float("nan")
    total = last - first
    bound = max(args.agents / args.rate, args.latency_ms / 1000.0)
    requests = c1["total"] - c0["total"]
    limited = c1.get("rate_limited", 0) - c0.get("rate_limited", 0)
    waits = [o[1] - o[0] for o in got]
    tries = [o[2] for o in out]
    codes = {}
    retry_values = {}
    for o in out:
        for k, v in o[3].items():
            codes[k] = codes.get(k, 0) + v
        for r in o[4]:
            retry_values[r] = retry_values.get(r, 0) + 1
    print("run %d: N=%d R=%g/s L=%d ms spread=%g s" % (n, args.agents, args.rate,
                                                       args.latency_ms, args.spread))
    print("  every agent holds a token after: %.2f s  (agents without one: %d)" % (
        total, len(out) - len(got)))
    print("  bound max(N/R, L): %.2f s   ratio: %.3f" % (bound, total / bound))
    print("  token-endpoint requests: %d (%.3f N), of them 429: %d" % (
        requests, requests / args.agents, limited))
    print("  agent wait p50 %.2f s  p99 %.2f s  max %.2f s" % (
        pct(waits, 50), pct(waits, 99), max(waits) if waits else float("nan")))
    print("  broker requests per agent: mean %.2f max %d; answers %s" % (
        sum(tries) / len(tries), max(tries), dict(sorted(codes.items()))))
    if args.timeline:
        per = {}
        for o in got:
            k = int(o[1] - first)
            per[k] = per.get(k, 0) + 1
        print("  tokens per second: %s" % " ".join(
            str(per.get(k, 0)) for k in range(int(total) + 1)))
        print("  token-endpoint answers (not 429) per second: %s" % " ".join(
            "%.0f" % ((b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(samples, samples[1:])))
    top = sorted(retry_values.items(), key=lambda kv: -kv[1])[:8]
    print("  Retry-After values given (value: count): %s" % ", ".join(
        "%s: %d" % kv for kv in top))
    sys.stdout.flush()


s = Setup(log_level=args.log_level, request_timeout=10,
          extra_broker="max_cached_tokens = %d\n[access:acme]\ngateways = tcp\n"
          "gateway_domains = example.com\n" % (args.agents * 2 + 100))
try:
    for n in range(1, args.runs + 1):
        if n > 1:
            # A fresh broker: an empty cache and nothing learned.
            s.broker.terminate()
            s.broker.wait()
            s.procs.remove(s.broker)
            s.broker = s.start_broker()
        one_run(s, n)
    if args.keep:
        import shutil
        shutil.copy(s.broker_log, "/tmp/bench_shift-broker.log")
        shutil.copy(s.emu_log, "/tmp/bench_shift-emulator.log")
        with open(s.broker_log) as f:
            print("".join(line for line in f if "event=pace" in line))
finally:
    s.stop()
    s.cleanup()
