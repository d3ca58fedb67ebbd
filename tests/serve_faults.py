# SPDX-License-Identifier: Apache-2.0
"""Upstream failures: each gives its documented answer while other
requests keep being served; failures are remembered and backed off;
refresh ahead and expiry under an injected clock; no descriptor growth."""
import calendar
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, scaled, SLOW  # noqa: E402

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

# Timeout -> 504: the emulator waits gap seconds longer than request_timeout
# (2 s and 2 s without a wrapper; both scaled under one).
gap = scaled(2, 2, 60)
fault(delay_ms=int((s.request_timeout + gap) * 1000), count=1)
t0 = time.time()
r = s.user_token("ftimeout@example.com")
check(r.status == 504 and r.json()["error"] == "upstream_timeout",
      "slow upstream gives 504 upstream_timeout", repr(r))
check(time.time() - t0 < s.request_timeout + gap - 0.1, "the timeout is the configured one",
      "%.1f s, request_timeout %d s" % (time.time() - t0, s.request_timeout))
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

# The signers sign for their own clock, and the test clock reaches them
# (they refuse a front whose time is not theirs): a day ahead, a user
# token still comes (the emulator checks the assertion's times against the
# same day) and a SAMLResponse is valid from then.
day = 2000.0 + 86400
s.set_clock(day)
r = s.user_token("clockday@example.com")
check(r.status == 200, "a day ahead, the signers sign for the moved clock", repr(r))
r = s.request("POST", "/v1/tenants/acme/users/clockday%40example.com/saml-response")
nooa = (r.json() or {}).get("not_on_or_after", "")
check(r.status == 200 and calendar.timegm(time.strptime(nooa[:19], "%Y-%m-%dT%H:%M:%S"))
      > time.time() + 86400, "its SAMLResponse is valid a day ahead", repr(r))
check("event=signer_refused" not in open(s.broker_log).read(),
      "no signer refused the front's time")

m = s.metrics()
check(re.search(r'samlbroker_upstream_exchanges_total\{tenant="acme",client="saml_auth",'
                r'grant="saml2_bearer",outcome="unavailable"\} [1-9]', m),
      "metrics count upstream failures by tenant, client, grant and outcome")
st = s.get("/v1/status").json()
acme = [t for t in st["tenants"] if t["name"] == "acme"][0]
check(acme["upstream"]["last_error"] is not None and acme["upstream"]["last_failure"],
      "status shows the last upstream failure", repr(acme["upstream"]))
done(s)
