# SPDX-License-Identifier: Apache-2.0
"""The API's edges: every documented error, the TCP request guard, health,
readiness, status and metrics after real exchanges."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, wait_seconds  # noqa: E402

s = Setup()
GUARD = {"X-Samlbroker-Request": "true"}


def err(r, status, code, what):
    j = r.json() or {}
    check(r.status == status and j.get("error") == code and isinstance(j.get("message"), str),
          what, repr(r))


err(s.user_token("a@example.com", tenant="nosuch"), 404, "unknown_tenant", "unknown tenant: 404")
err(s.service_token("nosuch"), 404, "unknown_service", "unknown service: 404")
err(s.service_token("saml_auth"), 404, "unknown_service", "saml_auth is not a service: 404")
err(s.user_token("not-an-address"), 400, "bad_request", "address without @: 400")
err(s.user_token("two@@example.com"), 400, "bad_request", "two @: 400")
err(s.user_token("sp ace@example.com"), 400, "bad_request", "space: 400")
err(s.user_token("a" * 250 + "@example.com"), 400, "bad_request", "over 254 bytes: 400")
err(s.get("/v1/tenants/acme/users/a%00b%40example.com/token"), 400, "bad_request",
    "NUL in the path: 400")
err(s.get("/v1/tenants/acme/users/x%0a%40example.com/token"), 400, "bad_request",
    "control character in the address: 400")
err(s.get("/v1/tenants/acme/users/a%4/token"), 400, "bad_request",
    "a cut-off percent escape: 400")
err(s.get("/v1/tenants/acme/users/a%zz%40example.com/token"), 400, "bad_request",
    "a percent escape that is not hex: 400")
err(s.get("/nope"), 404, "not_found", "unknown path: 404")
err(s.get("/v1/tenants/acme/users/a@example.com/tokens"), 404, "not_found", "near miss: 404")
err(s.request("POST", "/v1/tenants/acme/services/ewt/token"), 405, "method_not_allowed",
    "POST on a token: 405")
r = s.request("PUT", "/v1/tenants/acme/users/a%40example.com/saml-response")
err(r, 405, "method_not_allowed", "PUT on saml-response: 405")
check(r.headers.get("Allow") == "POST", "405 names the allowed method")
err(s.request("POST", "/v1/tenants/acme/users/a%40example.com/saml-response",
              body="x" * 10000), 413, "payload_too_large", "oversized body: 413")
check(s.counters()["total"] == 0, "no bad request reached upstream")

# TCP: the guard header is required.
err(s.get("/v1/tenants/acme/services/ewt/token", tcp=True), 403, "forbidden",
    "TCP request without X-Samlbroker-Request: 403")
err(s.get("/v1/tenants/acme/services/ewt/token", tcp=True,
          headers={"X-Samlbroker-Request": "yes"}), 403, "forbidden",
    "TCP request with a wrong guard value: 403")
err(s.get("/healthz", tcp=True), 403, "forbidden", "the guard covers admin endpoints too")
r = s.get("/v1/tenants/acme/services/ewt/token", tcp=True, headers=GUARD)
check(r.status == 200 and r.json()["token_type"] == "bearer", "TCP request with the guard: 200")

# A hostile raw request: the broker answers or closes, and keeps serving.
for raw in (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"b" * 20000 + b"\r\n\r\n",
            b"\x00\x01\x02garbage\r\n\r\n"):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(max(10, wait_seconds()))
    c.connect(s.socket)
    c.sendall(raw)
    try:
        c.recv(4096)
    except OSError:
        pass
    c.close()
check(s.get("/healthz").status == 200, "still serving after hostile raw requests")

# Health, readiness, status, metrics.
r = s.get("/healthz")
check(r.status == 200 and r.json() == {"status": "ok"}, "healthz: 200")
r = s.get("/readyz")
check(r.status == 200 and r.json()["status"] == "ready", "readyz: 200 once loaded")
s.user_token("agent@example.com")
s.user_token("agent@example.com")
st = s.get("/v1/status").json()
check(st["version"] and st["uptime"] >= 0 and st["config_file"].endswith("samlbroker.conf"),
      "status: version, uptime, config file")
acme = [t for t in st["tenants"] if t["name"] == "acme"][0]
check(acme["organization_sname"] == "acme" and acme["organization_id"] and
      acme["issuer"] == "https://www.genesys.com/pureengage/acme",
      "status: tenant identity", repr(acme))
check(acme["services"] == ["ewt", "reports"], "status: services", repr(acme["services"]))
check(acme["cache"]["hits"] >= 1 and acme["cache"]["misses"] >= 1 and
      acme["cache"]["entries"] == 2, "status: cache counts", repr(acme["cache"]))
check(acme["upstream"]["last_success"] is not None and
      acme["upstream"]["consecutive_failures"] == 0, "status: upstream healthy")
check(acme["state"] == "ok" and [c["name"] for c in acme["clients"]] ==
      ["saml_auth", "ewt", "reports"], "status: state and clients", repr(acme))
check("CN=" in acme["certificate"]["subject"] or "samlbroker" in acme["certificate"]["subject"],
      "status: certificate subject", repr(acme["certificate"]))
m = s.metrics()
for needle in ('samlbroker_requests_total{endpoint="user_token",status="200"}',
               'samlbroker_requests_total{endpoint="user_token",status="400"}',
               "samlbroker_cache_hits_total ",
               "samlbroker_cache_misses_total ",
               'samlbroker_upstream_exchanges_total{tenant="acme",client="saml_auth",'
               'grant="saml2_bearer",outcome="ok"} 1',
               'samlbroker_upstream_exchanges_total{tenant="acme",client="ewt",'
               'grant="client_credentials",outcome="ok"} 1',
               "samlbroker_upstream_latency_seconds_bucket{le=\"+Inf\"} 2",
               "samlbroker_mints_total 1",
               'samlbroker_certificate_not_after_seconds{tenant="acme"}',
               "samlbroker_config_last_reload_successful 1"):
    check(needle in m, "metrics: %s" % needle)
done(s)
