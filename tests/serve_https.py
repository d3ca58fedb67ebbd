# SPDX-License-Identifier: Apache-2.0
"""The https: listener with client certificates (issue 16, first half),
against the real daemon and a throw-away PKI (tests/https_pki.py):

- alice (SAN e-mail Alice@Acme.Example) gets alice@acme.example's token over
  HTTPS and 403 for bob's; the request's log line names her principal;
- a SAN UPN identity (tls_client_identity = san-upn, after a reload) and a
  certificate outside the allowed domain;
- expired, another CA's and revoked certificates, and none at all, are
  refused in the handshake with a log line naming reason and subject;
- TLS 1.1 is refused;
- SIGHUP swaps the server certificate for new connections while a
  keep-alive connection opened before stays open and keeps working.
"""
import http.client
import json
import os
import re
import signal
import socket
import ssl
import warnings

import https_pki
from harness import Setup, check, done, free_port, wait_seconds

PORT = free_port()
PKI = {}

RULES = ("[access:acme]\n"
         "agents = cert-domain:acme.example\n"
         "agent_address = %u@acme.example\n"
         "service.ewt = cert:alice@acme.example\n")


def tls_options(identity="san-email", cert="server"):
    d = PKI["dir"]
    return ("listen = https:127.0.0.1:%d\n"
            "tls_certificate = %s/%s.pem\n"
            "tls_key = %s/%s.key\n"
            "https_auth = certificate\n"
            "tls_client_ca = %s/ca.pem\n"
            "tls_client_crl = %s/crl.pem\n"
            "tls_client_identity = %s\n" % (PORT, d, cert, d, cert, d, d, identity))


def before(setup):
    PKI["dir"] = https_pki.make(os.path.join(setup.dir, "pki"))
    conf = os.path.join(setup.broker_dir, "samlbroker.conf")
    with open(conf, "a") as f:
        f.write(tls_options() + RULES)


s = Setup(before_broker=before)
conf_path = os.path.join(s.broker_dir, "samlbroker.conf")
d = PKI["dir"]


def log():
    return open(s.broker_log).read()


def logged(pattern, what):
    """Whether the log gets a line matching pattern (a refusal's line may
    be written just after the alert reached the client)."""
    try:
        return s.wait_for(lambda: re.search(pattern, log()), what)
    except SystemExit:
        return None


def client_context(name=None, ca="ca"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(d, ca + ".pem"))
    if name:
        ctx.load_cert_chain(os.path.join(d, name + ".pem"), os.path.join(d, name + ".key"))
    return ctx


def connect(name=None, ctx=None):
    return http.client.HTTPSConnection("127.0.0.1", PORT, timeout=max(30, wait_seconds()),
                                       context=ctx or client_context(name))


def get(conn, path):
    conn.request("GET", path, headers={"X-Samlbroker-Request": "true"})
    r = conn.getresponse()
    body = r.read().decode()
    j = json.loads(body) if body else None
    if isinstance(j, dict) and "access_token" in j:
        s.tokens_seen.add(j["access_token"])
    return r.status, j


def as_cert(name, path):
    conn = connect(name)
    try:
        return get(conn, path)
    finally:
        conn.close()


def refused(name, ctx=None):
    """A request with this certificate: the exception it ends in, or None."""
    conn = connect(name, ctx)
    try:
        get(conn, "/v1/tenants/acme/users/%s/token" % "x%40acme.example")
        return None
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError) as e:
        return e
    finally:
        conn.close()


def user_path(email):
    return "/v1/tenants/acme/users/%s/token" % email.replace("@", "%40")


def peer_cn(conn):
    cert = conn.sock.getpeercert()
    return dict(x[0] for x in cert["subject"])["commonName"]


# The listener says what it is.
check(re.search(r"event=listening address=https:127\.0\.0\.1:%d" % PORT, log()),
      "the https: listener is logged", log()[-2000:])

# alice: her own address (the certificate's e-mail is folded), 403 for bob's.
st, j = as_cert("alice", user_path("alice@acme.example"))
check(st == 200 and "access_token" in j, "alice gets alice's token over HTTPS", repr((st, j)))
check(re.search(r'event=request method=GET path="/v1/tenants/acme/users/alice%40acme.example/token"'
                r' status=200 .*peer=https:127\.0\.0\.1:\d+ principal=cert:alice@acme\.example',
                log()), "the request's log line names the principal", log()[-3000:])
st, j = as_cert("alice", user_path("bob@acme.example"))
check(st == 403 and j["message"] == "agents may obtain only their own address",
      "alice asking for bob's address gets 403", repr((st, j)))
check(re.search(r'event=forbidden tenant=acme peer=https:127\.0\.0\.1:\d+ '
                r'principal=cert:alice@acme\.example rule="agents may obtain only their own '
                r'address"', log()), "the refusal names the principal", log()[-3000:])
st, j = as_cert("alice", "/v1/tenants/acme/services/ewt/token")
check(st == 200, "cert:alice@acme.example has service.ewt", repr((st, j)))
st, j = as_cert("outsider", user_path("eve@elsewhere.example"))
check(st == 404 and j["error"] == "unknown_tenant",
      "a certificate of another domain is hidden from acme", repr((st, j)))
st, j = as_cert("cn", user_path("cnuser@acme.example"))
check(st == 401 and j["error"] == "unauthorized",
      "a certificate without the identity field gets 401", repr((st, j)))
check(re.search(r'event=tls_refused peer=https:127\.0\.0\.1:\d+ reason="client certificate '
                r'\(san-email\): it has no subjectAltName e-mail" subject="CN=cnuser"', log()),
      "... and the log says why, naming the subject", log()[-3000:])
# Without the guard header, as over tcp:.
conn = connect("alice")
conn.request("GET", user_path("alice@acme.example"))
r = conn.getresponse()
r.read()
conn.close()
check(r.status == 403, "the X-Samlbroker-Request guard holds on https: too", r.status)

# Refused in the handshake: a TLS alert, and a log line with the reason
# and the certificate's subject.
for name, reason, subject in (
        ("expired", "certificate has expired", "CN=Expired Agent"),
        ("mallory", "unable to get local issuer certificate", "CN=Mallory"),
        ("revoked", "certificate revoked", "CN=Revoked Agent")):
    e = refused(name)
    check(e is not None, "%s: refused" % name, repr(e))
    want = ('reason="client certificate: %s" subject="%s" depth=0' % (reason, subject))
    check(logged(re.escape(want), want), "%s: the log says %s" % (name, want),
          log()[-3000:])
e = refused(None)
check(e is not None and logged(r'event=tls_refused peer=https:\S+ reason="handshake: peer '
                               r'did not return a certificate"', "no certificate logged"),
      "no client certificate: refused, and logged", repr(e))
check("BEGIN" not in log() and "PRIVATE" not in log(), "no key or certificate body in the log")

# TLS 1.1 (and below) never gets a session.
warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1, on purpose
ctx = client_context("alice")
ctx.minimum_version = ssl.TLSVersion.TLSv1
ctx.maximum_version = ssl.TLSVersion.TLSv1_1
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
e = refused(None, ctx)
check(e is not None and logged(r'event=tls_refused peer=\S+ reason="handshake: '
                               r'unsupported protocol"', "TLS 1.1 logged"),
      "TLS 1.1 is refused", repr(e))

# SIGHUP: a new certificate for new connections; an open keep-alive
# connection keeps its own and goes on working.
keep = connect("alice")
st, j = get(keep, user_path("alice@acme.example"))
check(st == 200 and peer_cn(keep) == "broker-1", "keep-alive connection on broker-1",
      repr((st, j)))
with open(conf_path) as f:
    text = f.read()
with open(conf_path, "w") as f:
    f.write(text.replace("/server.pem", "/server2.pem").replace("/server.key", "/server2.key"))
before_reloads = log().count("event=tls_reloaded")
s.broker.send_signal(signal.SIGHUP)
s.wait_for(lambda: log().count("event=tls_reloaded") > before_reloads, "the TLS reload")
fresh = connect("alice")
st, j = get(fresh, user_path("alice@acme.example"))
check(st == 200 and peer_cn(fresh) == "broker-2", "a new connection gets broker-2",
      repr((st, j)))
fresh.close()
st, j = get(keep, user_path("alice@acme.example"))
check(st == 200 and peer_cn(keep) == "broker-1",
      "the old keep-alive connection stays open and keeps working", repr((st, j)))
keep.close()

# Another identity field, by reload: the SAN UPN.
with open(conf_path) as f:
    text = f.read()
with open(conf_path, "w") as f:
    f.write(text.replace("tls_client_identity = san-email", "tls_client_identity = san-upn"))
before_reloads = log().count("event=tls_reloaded")
s.broker.send_signal(signal.SIGHUP)
s.wait_for(lambda: log().count("event=tls_reloaded") > before_reloads, "the TLS reload")
st, j = as_cert("upn", user_path("upnuser@acme.example"))
check(st == 200, "a SAN UPN identity gets its own address", repr((st, j)))
check("principal=cert:upnuser@acme.example" in log(), "... named in the log")
st, j = as_cert("alice", user_path("alice@acme.example"))
check(st == 401, "alice's certificate has no UPN: 401", repr((st, j)))

# A broken https: configuration is refused by a reload; the old one serves.
with open(conf_path) as f:
    text = f.read()
with open(conf_path, "w") as f:
    f.write(text.replace("tls_client_identity = san-upn", "tls_client_identity = upn"))
failed = log().count("event=reload_failed")
s.broker.send_signal(signal.SIGHUP)
s.wait_for(lambda: log().count("event=reload_failed") > failed, "the refused reload")
check("tls_client_identity: unknown field 'upn' (known: san-email, san-upn, subject-cn)" in log(),
      "an unknown identity field is refused", log()[-2000:])
st, j = as_cert("upn", user_path("upnuser@acme.example"))
check(st == 200, "the old configuration keeps serving", repr((st, j)))

done(s)
