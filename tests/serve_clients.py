# SPDX-License-Identifier: Apache-2.0
"""Per-client observability: with a wrong secret in one service section of
a tenant whose [saml_auth] and other service are right, the exchange log
line, the exchange metric, /v1/status and `samlbroker status` name the
failing client, the tenant stays failing after a later good exchange of
another client, and the caller's error names the section and option to
fix."""
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BROKER, SECRETS, Setup, check, done, wait_seconds  # noqa: E402

WRONG = "cs-WRONG-%s" % os.urandom(6).hex()
SECRETS.add(WRONG)


def wrong_ewt(s):
    """acme's [ewt] gets a secret the emulator does not know; badcreds
    gets a service whose client is the SAML2 Bearer one (a client not
    allowed the Client Credentials grant)."""
    path = s.tenant_path("acme")
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    old = "[ewt]\nclient_id = ewt-client-acme\npassword = %s\n" % s.ewt_secret
    assert old in text
    with open(path, "w") as f:
        f.write(text.replace(old, "[ewt]\nclient_id = ewt-client-acme\npassword = %s\n"
                             % WRONG))
    with open(s.tenant_path("badcreds"), "a") as f:
        f.write("\n[wronggrant]\nclient_id = saml-client-badcreds\nclient_secret = %s\n"
                % s.client_secret)


s = Setup(before_broker=wrong_ewt)
AGENT = "clients.agent@example.com"

# The caller's error names the section and the option to fix; the error
# codes stay as they were.
r = s.service_token("ewt")
j = r.json() or {}
check(r.status == 502 and j.get("error") == "upstream_rejected" and
      j.get("upstream_error") == "invalid_client", "wrong [ewt] secret: 502 invalid_client",
      repr(r))
check(j.get("message") == "the token endpoint refused [ewt] client_id/password of tenant "
      "acme (invalid_client): check them against the OAuth client in PureCloud",
      "the caller's message names [ewt] client_id/password of tenant acme", repr(j))
r = s.service_token("wronggrant", tenant="badcreds")
j = r.json() or {}
check(r.status == 502 and j.get("upstream_error") == "unauthorized_client" and
      j.get("message") == "the token endpoint refused [wronggrant] client_id of tenant "
      "badcreds (unauthorized_client): its OAuth client in PureCloud must have the "
      "Client Credentials grant", "unauthorized_client names the section and the grant",
      repr(r))

# Later good exchanges of the other clients of acme.
r = s.user_token(AGENT)
check(r.status == 200, "acme's [saml_auth] is right: an agent's token", repr(r))
r = s.service_token("reports")
check(r.status == 200, "acme's [reports] is right: its token", repr(r))

# `samlbroker token` shows the same message (the failure is remembered:
# answered from the broker's memory of it).
p = subprocess.run([BROKER, "token", "-s", "unix:" + s.socket, "-t", "acme",
                    "--service", "ewt"], capture_output=True, text=True,
                   timeout=wait_seconds())
check(p.returncode == 1 and "samlbroker token: upstream_rejected (HTTP 502): the token "
      "endpoint refused [ewt] client_id/password of tenant acme (invalid_client): check "
      "them against the OAuth client in PureCloud [upstream: invalid_client]" in p.stderr,
      "samlbroker token names [ewt] client_id/password", p.stderr)

# The log line of each exchange names tenant, kind, client section and
# client id; never the agent's address nor a secret.
with open(s.broker_log, errors="replace") as f:
    lines = [ln for ln in f if "event=exchange " in ln]


def logged(pattern):
    return [ln for ln in lines if re.search(pattern, ln)]


check(logged(r"event=exchange tenant=acme kind=service client=ewt client_id=ewt-client-acme "
             r"outcome=failed error=invalid_client "),
      "log: the failed exchange names client=ewt client_id=ewt-client-acme", "".join(lines))
check(logged(r"event=exchange tenant=acme kind=user client=saml_auth "
             r"client_id=saml-client-acme outcome=ok "),
      "log: the agent's exchange names client=saml_auth client_id=saml-client-acme",
      "".join(lines))
check(logged(r"event=exchange tenant=acme kind=service client=reports "
             r"client_id=reports-client-acme outcome=ok "),
      "log: the good service's exchange names client=reports", "".join(lines))
check(lines and all(" client=" in ln and " client_id=" in ln and AGENT not in ln
                   for ln in lines),
      "log: every exchange line names its client, none the agent's address", "".join(lines))

# Metrics: by tenant and client section, never an address.
m = s.metrics()
series = [ln for ln in m.splitlines() if ln.startswith("samlbroker_upstream_exchanges_total{")]
for want in ('{tenant="acme",client="ewt",grant="client_credentials",outcome="rejected"} 1',
             '{tenant="acme",client="ewt",grant="client_credentials",outcome="ok"} 0',
             '{tenant="acme",client="saml_auth",grant="saml2_bearer",outcome="ok"} 1',
             '{tenant="acme",client="reports",grant="client_credentials",outcome="ok"} 1',
             '{tenant="badcreds",client="wronggrant",grant="client_credentials",'
             'outcome="rejected"} 1'):
    check("samlbroker_upstream_exchanges_total" + want in series,
          "metrics: exchanges%s" % want, "\n".join(series))
check(series and all(re.match(r'samlbroker_upstream_exchanges_total\{tenant="[^"@]+",'
                              r'client="[^"@]+",grant="[a-z0-9_]+",outcome="[a-z]+"\} \d+$',
                              ln) for ln in series),
      "metrics: every exchange series has tenant and client labels, none an address",
      "\n".join(series))

# /v1/status: each client with its client id and last result; the tenant
# fails while any client's last exchange failed.
st = s.get("/v1/status").json()
acme = [t for t in st["tenants"] if t["name"] == "acme"][0]
clients = {c["name"]: c for c in acme.get("clients", [])}
check(acme.get("state") == "failing",
      "status: acme stays failing after later good exchanges of other clients",
      json.dumps(acme))
check([c["name"] for c in acme.get("clients", [])] == ["saml_auth", "ewt", "reports"],
      "status: acme's clients, [saml_auth] first", json.dumps(acme.get("clients")))
ewt = clients.get("ewt", {})
check(ewt.get("client_id") == "ewt-client-acme" and ewt.get("last_result") == "failed" and
      ewt.get("last_error") == "invalid_client" and ewt.get("last_reason") and
      ewt.get("last_failure") and ewt.get("last_success") is None and
      ewt.get("grant") == "client_credentials",
      "status: [ewt] failed with invalid_client and its reason", json.dumps(ewt))
for name, cid in (("saml_auth", "saml-client-acme"), ("reports", "reports-client-acme")):
    c = clients.get(name, {})
    check(c.get("client_id") == cid and c.get("last_result") == "ok" and
          c.get("last_success") and c.get("last_failure") is None and
          c.get("last_error") is None, "status: [%s] ok" % name, json.dumps(c))
check(acme["upstream"]["consecutive_failures"] == 0 and "services" in acme,
      "status: the tenant's existing fields stay", json.dumps(acme["upstream"]))
check(WRONG not in json.dumps(st), "status: no secret")

# `samlbroker status`: a table of each tenant's clients.
p = subprocess.run([BROKER, "status", "-s", "unix:" + s.socket], capture_output=True,
                   text=True, timeout=wait_seconds())
out = p.stdout
check(p.returncode == 0 and re.search(r"^tenant acme \(acme\): FAILING;", out, re.M),
      "samlbroker status: acme FAILING", out)
check(re.search(r"^  CLIENT +CLIENT ID +LAST +LAST SUCCESS +LAST FAILURE +LAST ERROR$",
                out, re.M), "samlbroker status: the clients' table header", out)
check(re.search(r"^  ewt +ewt-client-acme +failed +- +\S+Z +invalid_client: \S", out, re.M),
      "samlbroker status: the [ewt] row failed with its error", out)
check(re.search(r"^  saml_auth +saml-client-acme +ok +\S+Z +- +-$", out, re.M),
      "samlbroker status: the [saml_auth] row ok", out)
check(re.search(r"^  reports +reports-client-acme +ok +\S+Z +- +-$", out, re.M),
      "samlbroker status: the [reports] row ok", out)

# Fixed and reloaded: the changed tenant starts afresh and is ok once its
# clients' exchanges succeed.
with open(s.tenant_path("acme"), encoding="utf-8-sig") as f:
    text = f.read()
with open(s.tenant_path("acme"), "w") as f:
    f.write(text.replace(WRONG, s.ewt_secret))
before = s.get("/v1/status").json()["last_reload"]["count"]
s.broker.send_signal(signal.SIGHUP)


def reloaded():
    j = s.get("/v1/status").json()
    return j["last_reload"]["count"] > before and j


st = s.wait_for(reloaded, "reload")
check(st["last_reload"]["ok"] is True, "the fixed file reloads", repr(st["last_reload"]))
r = s.service_token("ewt")
check(r.status == 200, "after the fix and a reload, [ewt] gets its token", repr(r))
acme = [t for t in s.get("/v1/status").json()["tenants"] if t["name"] == "acme"][0]
check(acme.get("state") == "ok" and
      [c for c in acme["clients"] if c["name"] == "ewt"][0]["last_result"] == "ok",
      "after the fix, acme is ok", json.dumps(acme))
done(s)
