# SPDX-License-Identifier: Apache-2.0
"""The broker's main job against the emulator: both token kinds, the
cache, single flight under 200 concurrent callers, DELETE, the
SAMLResponse endpoint, and `samlbroker token`."""
import base64
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BROKER, Setup, check, done, wait_seconds, SLOW  # noqa: E402

s = Setup()

# Service token (Client Credentials), then the same from the cache.
r = s.service_token("ewt")
j = r.json() or {}
check(r.status == 200, "service token: 200", repr(r))
check(set(j) == {"access_token", "token_type", "expires_in", "expires_at"},
      "service token: exactly the documented fields", repr(j.keys()))
check(j.get("token_type") == "bearer", "service token: token_type bearer")
check(3500 <= j.get("expires_in", 0) <= 3600, "service token: expires_in from the emulator",
      repr(j.get("expires_in")))
check(r.headers.get("Content-Type") == "application/json", "content type is JSON")
check(r.headers.get("Cache-Control") == "no-store", "token answers are not cacheable")
c = s.counters()
check(c["client_credentials"]["ok"] == 1, "one client-credentials exchange", repr(c))
r2 = s.service_token("ewt")
check(r2.status == 200 and r2.json()["access_token"] == j["access_token"],
      "second service fetch returns the cached token")
check(s.counters()["total"] == c["total"], "second service fetch made no upstream request")

# A service whose secret option is named client_secret.
r = s.service_token("reports")
check(r.status == 200 and r.json()["access_token"] != j["access_token"],
      "service with client_secret gets its own token", repr(r))

# Agent token (SAML2 Bearer).
r = s.user_token("agent.one@example.com")
u = r.json() or {}
check(r.status == 200 and u.get("token_type") == "bearer", "user token: 200", repr(r))
c = s.counters()
check(c["saml2_bearer"]["ok"] == 1, "one saml2-bearer exchange", repr(c))
check(c.get("last_subject") == "agent.one@example.com", "the emulator saw the agent's NameID",
      repr(c.get("last_subject")))
r = s.user_token("agent.one@example.com")
check(r.status == 200 and r.json()["access_token"] == u["access_token"],
      "second user fetch is served from the cache")
check(s.counters()["total"] == c["total"], "second user fetch made no upstream request")

# Percent-encoded address with characters special to XML.
hostile = "o'hara&co\"x@example.com"
r = s.user_token(hostile)
check(r.status == 200, "hostile but valid address gets a token", repr(r))
check(s.counters().get("last_subject") == hostile, "NameID arrived intact", repr(s.counters()))

# 200 concurrent callers for one uncached key: exactly one exchange.
before = s.counters()["saml2_bearer"]["ok"]
n = 50 if SLOW else 200
results = [None] * n
barrier = threading.Barrier(n)


def worker(i):
    try:
        barrier.wait(timeout=max(60, wait_seconds()))
        results[i] = s.user_token("crowd@example.com")
    except Exception as e:  # noqa: BLE001
        results[i] = e


threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ok = [x for x in results if not isinstance(x, Exception) and x.status == 200]
check(len(ok) == n, "%d concurrent callers all got 200" % n,
      repr([x for x in results if isinstance(x, Exception) or x.status != 200][:3]))
check(len({x.json()["access_token"] for x in ok}) == 1, "they all got the same token")
check(s.counters()["saml2_bearer"]["ok"] == before + 1,
      "%d concurrent callers caused exactly 1 upstream request" % n,
      repr(s.counters()))

# DELETE evicts; the next GET exchanges again.
r = s.user_token("agent.one@example.com", method="DELETE")
check(r.status == 204 and r.body == "", "DELETE user token: 204", repr(r))
before = s.counters()["saml2_bearer"]["ok"]
r = s.user_token("agent.one@example.com")
check(r.status == 200 and r.json()["access_token"] != u["access_token"],
      "after DELETE a new token is fetched")
check(s.counters()["saml2_bearer"]["ok"] == before + 1, "after DELETE one new exchange")
r = s.service_token("ewt", method="DELETE")
check(r.status == 204, "DELETE service token: 204")
r = s.service_token("ewt")
check(r.status == 200 and r.json()["access_token"] != j["access_token"],
      "after DELETE a new service token is fetched")

# SAMLResponse for clients that exchange it themselves.
r = s.request("POST", "/v1/tenants/acme/users/agent.two%40example.com/saml-response")
sj = r.json() or {}
check(r.status == 200 and set(sj) == {"saml_response", "not_on_or_after"},
      "saml-response: 200 with the documented fields", repr(r))
xml = base64.b64decode(sj.get("saml_response", "")).decode()
check("<saml:NameID" in xml and "agent.two@example.com" in xml and "Signature" in xml,
      "saml-response decodes to a signed Response for the agent")
check(r.headers.get("Cache-Control") == "no-store", "saml-response is not cacheable")

# samlbroker token, as scripts use it.
p = subprocess.run([BROKER, "token", "-s", "unix:" + s.socket, "-t", "acme",
                    "--service", "ewt"], capture_output=True, text=True)
tok = s.service_token("ewt").json()["access_token"]
check(p.returncode == 0 and p.stdout.strip() == tok, "samlbroker token prints the service token",
      p.stderr)
p = subprocess.run([BROKER, "token", "-s", "tcp:127.0.0.1:%d" % s.tcp_port, "-t", "acme",
                    "-u", "agent.one@example.com"], capture_output=True, text=True)
check(p.returncode == 0 and len(p.stdout.strip()) > 20, "samlbroker token over TCP prints a user token",
      p.stderr)
s.tokens_seen.add(p.stdout.strip())
p = subprocess.run([BROKER, "token", "-s", "unix:" + s.socket, "-t", "nosuch",
                    "--service", "ewt"], capture_output=True, text=True)
check(p.returncode == 1 and "unknown_tenant" in p.stderr and p.stdout == "",
      "samlbroker token: clear error and exit 1", p.stderr)
p = subprocess.run([BROKER, "token", "-s", "unix:/nonexistent/sock", "-t", "acme",
                    "--service", "ewt"], capture_output=True, text=True)
check(p.returncode == 1 and "no broker listening at unix:/nonexistent/sock: "
      "/nonexistent/sock does not exist (is samlbroker.service running?" in p.stderr,
      "samlbroker token: unreachable broker is a clear error", p.stderr)

done(s)
