# SPDX-License-Identifier: Apache-2.0
"""Pacing (issue 20): a crowd of agents against a token endpoint that
allows 40 requests a second per organization (429 with Retry-After beyond)
and answers after 150 ms.

600 agents of acme ask within a second and ask again after the
Retry-After they are given.  Every agent gets a token; the endpoint sees at
most 1.05 requests per agent and few 429s (the broker learns the rate); the
callers are told when to come back from their place in the queue (not all
the same Retry-After); and an agent of badcreds asking meanwhile gets its
token without waiting for acme's crowd.
"""
import asyncio
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, scaled, skip, SLOW  # noqa: E402

if SLOW:
    # The counts measure how well the broker keeps pace with the endpoint's
    # rate in real time; under valgrind (about 20 times slower) the broker
    # is the bottleneck, and a busy machine made the learning cost 632 of
    # 631 allowed requests.  The plain and sanitizer runs keep the bounds.
    skip("pacing counts do not mean anything under a wrapper")

N, RATE, LATENCY_MS = 600, 40, 150

s = Setup(request_timeout=10, log_level="info")
s.emu("POST", "/emulator/config", {"token_rate": RATE, "token_latency_ms": LATENCY_MS})
c0 = s.counters()
# The crowd needs N / RATE = 15 s at the endpoint's pace; the deadline is a
# ceiling, scaled under a wrapper.
deadline = time.monotonic() + scaled(60, 60, 1800)


async def fetch(tenant, email):
    r, w = await asyncio.open_unix_connection(s.socket)
    try:
        w.write(("GET /v1/tenants/%s/users/%s%%40example.com/token HTTP/1.1\r\n"
                 "Host: localhost\r\nConnection: close\r\n\r\n" % (tenant, email)).encode())
        await w.drain()
        data = await r.read()
    finally:
        w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    retry = None
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "retry-after":
            retry = v.strip()
    return int(lines[0].split()[1]), retry, body


async def agent(tenant, email, start, out, retries):
    await asyncio.sleep(start)
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        status, retry, body = await fetch(tenant, email)
        if status == 200:
            s.tokens_seen.add(body.decode().split('"access_token":"')[1].split('"')[0])
            out[email] = time.monotonic() - t0
            return
        retries.append((status, retry))
        await asyncio.sleep(float(retry) if retry else 1.0)


async def crowd():
    out, retries, other, other_retries = {}, [], {}, []
    tasks = [agent("acme", "agent%d" % i, random.uniform(0, 1), out, retries)
             for i in range(N)]
    # badcreds' agent comes once acme's queue is long.
    tasks.append(agent("badcreds", "other", 1.5, other, other_retries))
    await asyncio.gather(*tasks)
    return out, retries, other, other_retries


out, retries, other, other_retries = asyncio.run(crowd())
c1 = s.counters()
requests = c1["total"] - c0["total"]
limited = c1["rate_limited"] - c0["rate_limited"]
print("# %d agents: %d token-endpoint requests, %d of them 429; %d answers 503; "
      "Retry-After values %s; badcreds' agent waited %.2f s" % (
          N, requests, limited, len(retries), sorted({r for _, r in retries}),
          other.get("other", -1)))

check(len(out) == N, "every agent gets a token", "%d of %d" % (len(out), N))
check(requests <= 1.05 * N + 1, "at most 1.05 token-endpoint requests per agent",
      "%d requests for %d agents" % (requests, N))
check(limited <= 0.05 * N, "few 429s: the broker learns the rate", "%d 429s" % limited)
check(all(st == 503 for st, _ in retries), "the only refusals are 503", repr(retries[:5]))
check(all(r is not None for _, r in retries), "every 503 says Retry-After", repr(retries[:5]))
values = {r for _, r in retries}
check(len(values) >= 3, "Retry-After comes from the place in the queue, not a constant",
      repr(sorted(values)))
# acme's crowd needs 15 s at the pace; badcreds' agent is not behind it.
check("other" in other and other["other"] < scaled(2.0, 4, 60),
      "badcreds' agent is not starved by acme's crowd", repr((other, other_retries)))
with open(s.broker_log) as f:
    log = f.read()
check("event=pace organization=acme" in log, "the log says the rate learned")
for line in log.splitlines():
    if "event=pace" in line:
        print("# " + line.split("event=pace ")[1])

# The pace in /v1/status and /metrics: the rate learned, nothing left
# queued, the 429s the endpoint answered.
pacing = s.get("/v1/status").json().get("pacing", [])
acme = [o for o in pacing if o["organization"] == "acme"]
print("# /v1/status pacing: %r" % pacing)
check(len(acme) == 1 and acme[0]["rate"] is not None and 0 < acme[0]["rate"] <= 2 * RATE and
      acme[0]["queued"] == 0 and acme[0]["in_flight"] == 0 and
      acme[0]["rate_limited"] == limited and acme[0]["token_endpoint"].endswith("/oauth/token"),
      "/v1/status pacing: acme's learned rate, its queue empty, its 429s counted",
      repr(pacing))
metrics = s.metrics()
got = dict(re.findall(r'^samlbroker_pace_(\w+)\{organization="acme",token_endpoint="[^"]+"\} (\S+)$',
                      metrics, re.M))
check(acme and set(got) == {"rate", "queued", "rate_limited_total"} and
      abs(float(got["rate"]) - acme[0]["rate"]) < 1e-3 and got["queued"] == "0" and
      int(got["rate_limited_total"]) == limited and
      "# TYPE samlbroker_pace_rate_limited_total counter" in metrics,
      "/metrics: samlbroker_pace_rate, _queued and _rate_limited_total for acme", repr(got))

done(s)
