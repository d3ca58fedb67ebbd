"""Upstream failures: each gives its documented answer while other
requests keep being served; failures are remembered and backed off;
refresh ahead and expiry under an injected clock; no descriptor growth."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, SLOW  # noqa: E402

s = Setup(expires_in=300, request_timeout=2, test_clock=True)

# A cached service token keeps being served whatever upstream does.
good = s.service_token("ewt").json()["access_token"]


def still_served(what):
    r = s.service_token("ewt")
    check(r.status == 200 and r.json()["access_token"] == good,
          "cached token still served during %s" % what)


def fault(**kw):
    s.emu("DELETE", "/emulator/faults")
    s.emu("POST", "/emulator/faults", kw)


# 500 -> 503 upstream_unavailable.
fault(status=500, body='{"error":"server_error"}', count=1)
r = s.user_token("f500@example.com")
check(r.status == 503 and r.json()["error"] == "upstream_unavailable",
      "upstream 500 gives 503 upstream_unavailable", repr(r))
still_served("a 500")

# 429 with Retry-After -> 503 with Retry-After, and the retry waits for it.
fault(status=429, body='{"error":"too_many_requests"}', retry_after="30", count=1)
r = s.user_token("f429@example.com")
check(r.status == 503 and r.json()["error"] == "upstream_unavailable",
      "upstream 429 gives 503", repr(r))
before = s.counters()["total"]
r = s.user_token("f429@example.com")
check(r.status == 503 and int(r.headers.get("Retry-After", "0")) >= 25,
      "while Retry-After runs callers get 503 with Retry-After", repr((r, r.headers)))
check(s.counters()["total"] == before, "no upstream request before Retry-After has passed")
still_served("a 429")

# Timeout -> 504 (request_timeout is 2 s, the emulator waits 4 s).
fault(delay_ms=4000, count=1)
t0 = time.time()
r = s.user_token("ftimeout@example.com")
check(r.status == 504 and r.json()["error"] == "upstream_timeout",
      "slow upstream gives 504 upstream_timeout", repr(r))
check(time.time() - t0 < 3.9 + (30 if SLOW else 0), "the timeout is the configured one")
still_served("a timeout")

# Malformed JSON -> 502 upstream_rejected, upstream_error invalid_response.
fault(malformed=True, count=1)
r = s.user_token("fjson@example.com")
j = r.json() or {}
check(r.status == 502 and j.get("error") == "upstream_rejected" and
      j.get("upstream_error") == "invalid_response",
      "malformed JSON gives 502 with upstream_error invalid_response", repr(r))

# Dropped connection -> 503.  libcurl retries once by itself when a reused
# connection dies, so two drops are needed to see the failure.
fault(drop=True, count=2)
r = s.user_token("fdrop@example.com")
check(r.status == 503 and r.json()["error"] == "upstream_unavailable",
      "dropped connection gives 503", repr(r))
still_served("a dropped connection")
s.emu("DELETE", "/emulator/faults")

# Wrong client secret -> 502 invalid_client, remembered for a few seconds.
r = s.service_token("ewt", tenant="badcreds")
j = r.json() or {}
check(r.status == 502 and j.get("error") == "upstream_rejected" and
      j.get("upstream_error") == "invalid_client",
      "wrong client secret gives 502 with upstream_error invalid_client", repr(r))
before = s.counters()["total"]
for _ in range(20):
    r = s.service_token("ewt", tenant="badcreds")
check(r.status == 502 and s.counters()["total"] == before,
      "20 more calls within the hard-failure memory reach upstream 0 times",
      repr(s.counters()))

# Refresh ahead: tokens live 300 s; at 80 % of it the broker renews in the
# background while callers keep getting the current token.
s.service_token("ewt", method="DELETE")
good = s.service_token("ewt").json()["access_token"]
before = s.counters()["client_credentials"]["ok"]
s.set_clock(215)
r = s.service_token("ewt")
check(r.status == 200 and r.json()["access_token"] == good,
      "past the refresh point the current token is still handed out")
s.wait_for(lambda: s.counters()["client_credentials"]["ok"] > before,
           "background refresh")
renewed = s.wait_for(lambda: (lambda t: t if t != good else None)(
    s.service_token("ewt").json()["access_token"]), "renewed token")
check(renewed != good, "after the background refresh callers get the new token")

# Expiry: with upstream failing, an expired token is never handed out.
fault(status=500, count=-1)
s.set_clock(240 + 400)
r = s.service_token("ewt")
check(r.status == 503, "an expired token is not handed out when refresh fails", repr(r))
s.emu("DELETE", "/emulator/faults")
s.set_clock(240 + 400 + 400)  # past any backoff
r = s.service_token("ewt")
check(r.status == 200 and r.json()["access_token"] not in (good, renewed),
      "after upstream recovers a new token is fetched", repr(r))

# Backoff grows for a key that has no token: attempts spaced past each
# backoff see it double (1 s, 2 s, 4 s, 8 s, 16 s, times 0.5-1.5).
fault(status=500, count=-1)
clock = 2000.0
s.set_clock(clock)
backoffs = []
for i in range(5):
    r = s.user_token("backoff@example.com")
    ra = int(r.headers.get("Retry-After", "0"))
    r2 = s.user_token("backoff@example.com")  # within the backoff: no attempt
    backoffs.append(int(r2.headers.get("Retry-After", "0")))
    clock += backoffs[-1] + 1  # just past this backoff
    s.set_clock(clock)
    time.sleep(1.2)  # the sweep runs meanwhile and must keep the key
check(backoffs[-1] >= 8 and backoffs[-1] > backoffs[0],
      "backoff grows across failures of a key without a token", repr(backoffs))
s.emu("DELETE", "/emulator/faults")

# Descriptor growth: many requests with upstream faults (in the front).
pid = s.front_pid()


def fds():
    return len(os.listdir("/proc/%d/fd" % pid))


fault(drop=True, count=-1)
start = fds()
n = 500 if SLOW else 10000
for i in range(n):
    s.user_token("fd%d@example.com" % (i % 50))
after = fds()
check(after <= start + 2, "no descriptor growth after %d requests with upstream faults" % n,
      "%d -> %d" % (start, after))
s.emu("DELETE", "/emulator/faults")

m = s.metrics()
check('samlbroker_upstream_exchanges_total{grant="saml2_bearer",outcome="unavailable"}' in m,
      "metrics count upstream failures by grant and outcome")
st = s.get("/v1/status").json()
acme = [t for t in st["tenants"] if t["name"] == "acme"][0]
check(acme["upstream"]["last_error"] is not None and acme["upstream"]["last_failure"],
      "status shows the last upstream failure", repr(acme["upstream"]))
done(s)
