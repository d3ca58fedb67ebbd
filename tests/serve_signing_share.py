# SPDX-License-Identifier: Apache-2.0
"""One tenant's caller cannot starve another tenant's signing (issue 15).

Tenants acme and badcreds both offer saml-response.  One agent of acme runs
a bounded number of open-POST-close cycles on saml-response (it never reads
an answer) while badcreds' cache misses (distinct addresses, each needing a
mint) are asked for one after another.  Before, the signer queues were
shared first come first served and a mint went on after its caller hung
up: badcreds got 503 signers_busy most of the time.  Now acme's hung-up
requests are canceled (and dropped before signing), and badcreds, below its
fair part of the queues, always queues: it gets no 503 signers_busy at all.

The counts do not depend on the machine's speed: one signer with a queue
of 4 makes the fair part 2 and badcreds never has more than one mint
queued, so the pool has no reason to refuse it however fast or slow the
signer is.  Under a wrapper (valgrind) the attack means nothing and the
test is skipped, like serve_front.py."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, skip, SLOW  # noqa: E402

if SLOW:
    skip("counts under load do not mean anything under a wrapper")

CYCLES = 15000      # the attacker's open-POST-close cycles, at most ...
ATTACK_SECONDS = 10  # ... and for at most this long
uid = os.getuid()
s = Setup(request_timeout=10, extra_broker=(
    "signers = 1\nsigner_queue = 16\nclient_timeout = 30\n"
    "[access:acme]\ngateways = user:%d\nsaml_response = yes\n"
    "[access:badcreds]\ngateways = user:%d\nsaml_response = yes\n" % (uid, uid)))

r = s.request("POST", "/v1/tenants/acme/users/first%40example.com/saml-response")
check(r.status == 200, "acme's saml-response is offered", repr(r))
r = s.user_token("first@example.com", tenant="badcreds")
check(r.status == 200, "badcreds' user token is served", repr(r))

# The attacker: its own process, so that it does not share this one's
# interpreter lock with badcreds' caller.
ATTACKER = r"""
import socket, sys, time
path, cycles, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.time() + seconds
n = errors = 0
sys.stdout.write("started\n"); sys.stdout.flush()
while n < cycles and time.time() < end:
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(2)
    try:
        c.connect(path)
        c.sendall(b"POST /v1/tenants/acme/users/a%d%%40example.com/saml-response "
                  b"HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n" % (n % 100))
        n += 1
    except OSError:  # the listen backlog is full: try again
        errors += 1
    c.close()
sys.stdout.write("%d %d\n" % (n, errors))
"""
attacker = subprocess.Popen([sys.executable, "-c", ATTACKER, s.socket, str(CYCLES),
                             str(ATTACK_SECONDS)], stdout=subprocess.PIPE, text=True)
check(attacker.stdout.readline().strip() == "started", "the attacker runs")
t_start = time.time()

# badcreds' cache misses while the attack lasts (at least 20 of them).
latencies, statuses, busy, b_errors = [], {}, 0, 0
i = 0
while attacker.poll() is None or i < 20:
    t0 = time.time()
    try:
        r = s.user_token("b%d@example.com" % i, tenant="badcreds")
    except OSError:  # the listen backlog is full (the attacker's doing)
        b_errors += 1
        time.sleep(0.001)
        continue
    latencies.append(time.time() - t0)
    statuses[r.status] = statuses.get(r.status, 0) + 1
    if r.status == 503 and (r.json() or {}).get("error") == "signers_busy":
        busy += 1
    i += 1
attack_time = time.time() - t_start
out = attacker.communicate(timeout=60)[0].split()
cycles, errors = int(out[0]), int(out[1])

st = s.get("/v1/status").json() or {}
req = (st.get("signers") or {}).get("requests", {})
latencies.sort()


def pct(p):
    return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000


print("# attacker: %d open-POST-close cycles (%d connect errors) in %.1f s"
      % (cycles, errors, attack_time))
print("# badcreds: %d cache misses, %d x 503 signers_busy, statuses %r, "
      "latency p50 %.1f ms, p99 %.1f ms (%d connects refused)"
      % (i, busy, statuses, pct(0.50), pct(0.99), b_errors))
print("# signers: %r" % req)
check(cycles >= 1000, "the attacker ran at least 1,000 cycles", repr(cycles))
check(busy == 0, "badcreds got no 503 signers_busy while acme's caller hammered the signers",
      "%d of %d" % (busy, i))
check(statuses.get(200, 0) == i, "every badcreds cache miss got its token", repr(statuses))
check(req.get("canceled_unsent", 0) > 0,
      "acme's hung-up requests were dropped before any signer saw them", repr(req))
check(req.get("ok", 0) < cycles,
      "fewer assertions were signed than the attacker asked for", repr(req))
m = s.metrics()
check('samlbroker_signer_canceled_total{stage="queued"}' in m,
      "/metrics counts the requests canceled before sending")

# Afterwards everything is as before.
r = s.request("POST", "/v1/tenants/acme/users/after%40example.com/saml-response")
check(r.status == 200, "acme is served again after the attack", repr(r))
log = open(s.broker_log, errors="replace").read()
check("error=client_gone" in log, "hung-up requests are logged as client_gone")
done(s)
