# SPDX-License-Identifier: Apache-2.0
"""Per-tenant fairness (issue 8): one tenant's callers can neither evict
another tenant's cached tokens nor use up its exchange slots.

Tenants acme and badcreds share the broker; with max_cached_tokens = 3,
many addresses on badcreds once evicted acme's service token.  With
max_exchanges_per_tenant = 2, badcreds' slow exchanges (the emulator holds
SAML2 Bearer answers) once took every slot; now badcreds' third exchange
waits in badcreds' queue (issue 20: it is sent when a slot frees, and its
caller gets the token) while acme still starts its own."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, scaled, wait_seconds  # noqa: E402

s = Setup(request_timeout=10,
          extra_broker="max_cached_tokens = 3\nmax_exchanges_per_tenant = 2\n")

# The cache: acme's service token survives badcreds' callers.
r = s.service_token("ewt")
check(r.status == 200, "acme service token", repr(r))
ewt = r.json()["access_token"]
for i in range(6):
    r = s.user_token("agent%d@example.com" % i, tenant="badcreds")
    check(r.status == 200, "badcreds user %d gets a token" % i, repr(r))
r = s.service_token("ewt")
check(r.status == 200 and r.json().get("access_token") == ewt,
      "acme's service token is still cached after 6 badcreds addresses", repr(r))
c = s.counters()
check(c["client_credentials"]["ok"] == 1, "no second client-credentials exchange", repr(c))
st = s.get("/v1/status").json() or {}
total = st.get("cache", {}).get("cached_tokens", st.get("cached_tokens"))
check(total is None or total <= 3, "the cache holds at most max_cached_tokens", repr(st))

# The exchange slots: badcreds holds its two, its third caller is refused,
# acme is not.
s.emu("DELETE", "/emulator/faults")
# Held long enough for the third caller and acme's exchange (2.5 s, or
# scaled under a wrapper).
s.emu("POST", "/emulator/faults", {"grant": "saml2_bearer", "count": 3,
                                   "delay_ms": int(scaled(2.5, 4, 60) * 1000)})
faulted = s.counters()["faulted"]
results = {}


def fetch(key, email, tenant):
    results[key] = s.user_token(email, tenant=tenant)


slow = [threading.Thread(target=fetch, args=("b%d" % i, "slow%d@example.com" % i, "badcreds"))
        for i in range(2)]
for t in slow:
    t.start()
s.wait_for(lambda: s.counters()["faulted"] >= faulted + 2, "both exchanges held at the emulator")
# badcreds' third caller waits in badcreds' queue (issue 20): no request
# reaches the token endpoint until one of the two slots frees.
third = threading.Thread(target=fetch, args=("b9", "slow9@example.com", "badcreds"))
third.start()
r = s.service_token("reports")
check(r.status == 200, "acme starts an exchange while badcreds' slots are full", repr(r))
check(s.counters()["faulted"] == faulted + 2,
      "badcreds' third exchange waits for a slot (nothing sent meanwhile)", repr(s.counters()))
a = threading.Thread(target=fetch, args=("a", "agent.acme@example.com", "acme"))
a.start()
for t in slow + [a, third]:
    t.join(wait_seconds())
for k in ("b0", "b1", "a", "b9"):
    check(k in results and results[k].status == 200, "held exchange %s ends with a token" % k,
          repr(results.get(k)))
r = s.user_token("slow9@example.com", tenant="badcreds")
check(r.status == 200, "badcreds' slots are free again", repr(r))

done(s)
