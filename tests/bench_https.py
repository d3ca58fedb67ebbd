# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test): the cached agent token over HTTPS with a client
certificate, the broker's https: listener against nginx serving the same
body over TLS with the same server certificate, in the same run.

    python3 tests/bench_https.py [--duration S] [--connections N] [--rounds R]

What is measured:
- keep-alive: requests/s of GET .../users/alice%40acme.example/token (a
  cached token) on N keep-alive TLS connections, each authenticated with
  alice's client certificate (the broker: https_auth = certificate, the
  whole access decision; nginx: ssl_verify_client on, the same CA, and the
  broker's answer body as a static file);
- handshake: new connections per second, each a full TLS handshake (no
  resumption, as the broker never resumes) with client-certificate
  verification, one request and a close.
Then Negotiate (Kerberos), with a throw-away KDC (tests/kdc.py) and a
second broker (https_auth = negotiate, agents = realm:ACME.EXAMPLE):
- keep-alive: the same cached token on N keep-alive connections, each
  authenticated once by Negotiate on its first request (alice's ticket,
  a SPNEGO token, the mutual-authentication answer checked), against
  nginx serving the body over TLS without client verification (nginx has
  no Negotiate);
- handshake: new connections per second, each a full TLS handshake plus
  Negotiate (a new authenticator: the negotiator's gss_accept_sec_context
  and the replay cache), one request and a close, beside nginx's plain
  TLS handshakes per second.
Both servers are driven by tests/bench_https_load (a C client, one thread
per connection), since wrk can neither present a client certificate nor
do Negotiate; wrk against nginx without client verification is printed
for reference (how much the load tool itself costs).  nginx runs one
worker, as the broker's front runs one event loop.  Each figure is the
best of R rounds.  The brokers log at warn (nginx: access_log off).
--part certificate|negotiate runs one part only.

Needs wrk and nginx (scripts/deps --bench) and a build in $top_builddir
(default: build/), tests/bench_https_load included (with GSS-API for the
Negotiate part), and for Negotiate the KDC packages (scripts/deps).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("top_srcdir", os.path.join(here, ".."))
os.environ.setdefault("top_builddir", os.path.join(here, "..", "build"))
sys.path.insert(0, here)
import https_pki  # noqa: E402
import kdc as kdcmod  # noqa: E402
from harness import Setup, free_port  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--duration", type=int, default=5)
ap.add_argument("--connections", type=int, default=16)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--part", choices=("both", "certificate", "negotiate"), default="both")
args = ap.parse_args()
for tool in ("wrk", "nginx"):
    if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
        sys.exit("%s is missing: run scripts/deps --bench" % tool)
LOAD = os.path.join(os.environ["top_builddir"], "tests", "bench_https_load")
if not os.access(LOAD, os.X_OK):
    sys.exit("%s is not built (make -C build)" % LOAD)

PORT = free_port()
PKI = {}
PATH = "/v1/tenants/acme/users/alice%40acme.example/token"


def before(setup):
    d = PKI["dir"]
    with open(os.path.join(setup.broker_dir, "samlbroker.conf"), "a") as f:
        f.write("listen = https:127.0.0.1:%d\ntls_certificate = %s/server.pem\n"
                "tls_key = %s/server.key\nhttps_auth = certificate\n"
                "tls_client_ca = %s/ca.pem\ntls_client_identity = san-email\n"
                "[access:acme]\nagents = cert-domain:acme.example\n"
                "agent_address = %%u@acme.example\n" % (PORT, d, d, d))


def load(mode, port, conns, client="alice", service=None, env=None):
    """bench_https_load's rate and errors: with client's certificate, or
    none (client None), and Negotiate to service with env's ccache."""
    d = PKI["dir"]
    cert = [d + "/%s.pem" % client, d + "/%s.key" % client] if client else ["-", "-"]
    out = subprocess.run([LOAD, mode, "127.0.0.1", str(port), PATH, d + "/ca.pem"] + cert
                         + [str(conns), str(args.duration)] + ([service] if service else []),
                         capture_output=True, text=True, check=True, env=env).stdout
    m = re.search(r"rate (\d+) errors (\d+)", out)
    return int(m.group(1)), int(m.group(2))


def best(mode, port, conns, **kw):
    runs = [load(mode, port, conns, **kw) for _ in range(args.rounds)]
    return max(r for r, _ in runs), sum(e for _, e in runs)


def negotiate_lacks():
    """Why the Negotiate part cannot run here, or None."""
    lacking = kdcmod.missing_tools()
    if lacking:
        return "no %s (scripts/deps)" % ", ".join(lacking)
    r = subprocess.run([LOAD, "keepalive", "127.0.0.1", "1", PATH, "-", "-", "-", "1", "0",
                        "HTTP@localhost"], capture_output=True, text=True)
    if r.returncode == 3:
        return "tests/bench_https_load was built without GSS-API (libkrb5-dev)"
    return None


def wrk(port):
    out = subprocess.run(["wrk", "-t1", "-c%d" % args.connections, "-d%ds" % args.duration,
                          "https://127.0.0.1:%d%s" % (port, PATH)],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


NGINX_CONF = """user root;
worker_processes 1;
error_log %(d)s/error.log;
pid %(d)s/nginx.pid;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(d)s; proxy_temp_path %(d)s; fastcgi_temp_path %(d)s;
    uwsgi_temp_path %(d)s; scgi_temp_path %(d)s;
    ssl_certificate %(pki)s/server.pem;
    ssl_certificate_key %(pki)s/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets off;
    ssl_session_cache off;
    keepalive_requests 1000000;
    root %(d)s/root;
    default_type application/json;
    server {
        listen 127.0.0.1:%(p)d ssl;
        ssl_client_certificate %(pki)s/ca.pem;
        ssl_verify_client on;
        location / { try_files /body.json =404; }
    }
    server {
        listen 127.0.0.1:%(po)d ssl;
        location / { try_files /body.json =404; }
    }
}
"""


def serve_body(ndir, body):
    """nginx's answer: the broker's body, as a file."""
    os.makedirs(os.path.join(ndir, "root", os.path.dirname(PATH.lstrip("/"))), exist_ok=True)
    with open(os.path.join(ndir, "root", "body.json"), "wb") as f:
        f.write(body)


def wait_port(port):
    import socket
    end = time.time() + 20
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("nginx did not listen on %d" % port)


def certificate_part(ndir, nport, nport_open):
    import http.client
    import ssl
    s = Setup(log_level="warn", before_broker=before)
    try:
        d = PKI["dir"]
        ctx = ssl.create_default_context(cafile=d + "/ca.pem")
        ctx.load_cert_chain(d + "/alice.pem", d + "/alice.key")
        c = http.client.HTTPSConnection("127.0.0.1", PORT, context=ctx)
        c.request("GET", PATH, headers={"X-Samlbroker-Request": "true"})
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            sys.exit("the broker answered %d: %r" % (r.status, body))
        serve_body(ndir, body)
        load("keepalive", PORT, args.connections)  # warm-up
        b_keep, b_err = best("keepalive", PORT, args.connections)
        n_keep, n_err = best("keepalive", nport, args.connections)
        b_hs, b_hs_err = best("handshake", PORT, args.connections)
        n_hs, n_hs_err = best("handshake", nport, args.connections)
        w_open = wrk(nport_open)
    finally:
        s.stop()
        s.cleanup()
    print("body: %d bytes (the broker's answer, served as a file by nginx)" % len(body))
    print("load: tests/bench_https_load, %d connections, %d s, best of %d rounds, "
          "client certificate alice (P-256), server certificate P-256, TLS 1.3"
          % (args.connections, args.duration, args.rounds))
    print("keep-alive requests/s:  broker %8d (errors %d)   nginx %8d (errors %d)   "
          "ratio %.2f" % (b_keep, b_err, n_keep, n_err, b_keep / n_keep))
    print("new connections/s:      broker %8d (errors %d)   nginx %8d (errors %d)   "
          "ratio %.2f" % (b_hs, b_hs_err, n_hs, n_hs_err, b_hs / n_hs))
    print("reference: wrk -t1 -c%d against nginx without client certificates: %.0f "
          "requests/s" % (args.connections, w_open))


def negotiate_part(ndir, nport_open):
    why = negotiate_lacks()
    if why:
        print("negotiate: not measured: %s" % why)
        return
    kdc = kdcmod.KDC()
    kdc.addprinc("HTTP/localhost")
    keytab, _ = kdc.ktadd("HTTP/localhost", kdc.path("broker.keytab"))
    kdc.addprinc("alice")
    alice = kdc.kinit("alice")
    kdc.kvno(alice, "HTTP/localhost")  # the service ticket in the ccache, once
    os.environ["KRB5_CONFIG"] = kdc.krb5_conf  # the broker's
    port = free_port()

    def before_negotiate(setup):
        state = os.path.join(setup.dir, "state")
        os.makedirs(state, mode=0o700)
        d = PKI["dir"]
        with open(os.path.join(setup.broker_dir, "samlbroker.conf"), "a") as f:
            f.write("listen = https:127.0.0.1:%d\ntls_certificate = %s/server.pem\n"
                    "tls_key = %s/server.key\nhttps_auth = negotiate\n"
                    "krb5_keytab = %s\nkrb5_realms = ACME.EXAMPLE\nstate_directory = %s\n"
                    "[access:acme]\nagents = realm:ACME.EXAMPLE\n"
                    "agent_address = %%u@acme.example\n" % (port, d, d, keytab, state))

    s = Setup(log_level="warn", before_broker=before_negotiate)
    try:
        d = PKI["dir"]
        first = kdcmod.negotiate_request(alice, port, PATH, d + "/ca.pem",
                                         headers={"X-Samlbroker-Request": "true"})[0]
        if first["status"] != 200 or not first["mutual"]:
            sys.exit("the broker answered %d (mutual %s): %r" % (
                first["status"], first["mutual"], first["body"][:200]))
        serve_body(ndir, first["body"].encode())
        neg = dict(client=None, service="HTTP@localhost", env=alice)
        load("keepalive", port, args.connections, **neg)  # warm-up
        b_keep, b_err = best("keepalive", port, args.connections, **neg)
        n_keep, n_err = best("keepalive", nport_open, args.connections, client=None)
        b_hs, b_hs_err = best("handshake", port, args.connections, **neg)
        n_hs, n_hs_err = best("handshake", nport_open, args.connections, client=None)
    finally:
        s.stop()
        s.cleanup()
        kdc.stop()
    print("negotiate: alice@ACME.EXAMPLE, SPNEGO to HTTP@localhost (aes256-cts), mutual "
          "authentication checked; nginx: TLS without client verification")
    print("keep-alive requests/s:  broker %8d (errors %d)   nginx %8d (errors %d)   "
          "ratio %.2f  (Negotiate on each connection's first request)"
          % (b_keep, b_err, n_keep, n_err, b_keep / n_keep))
    print("new connections/s:      broker %8d (errors %d)   nginx %8d (errors %d)   "
          "ratio %.2f  (broker: TLS handshake + Negotiate; nginx: TLS handshake)"
          % (b_hs, b_hs_err, n_hs, n_hs_err, b_hs / n_hs))


ndir = tempfile.mkdtemp(prefix="bench-nginx-")
nginx = None
try:
    PKI["dir"] = https_pki.make(os.path.join(ndir, "pki"))
    serve_body(ndir, b"{}")
    nport, nport_open = free_port(), free_port()
    with open(os.path.join(ndir, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF % {"d": ndir, "p": nport, "po": nport_open, "pki": PKI["dir"]})
    nginx = subprocess.Popen(["nginx", "-c", os.path.join(ndir, "nginx.conf")],
                             stderr=subprocess.DEVNULL)
    wait_port(nport)
    wait_port(nport_open)
    if args.part in ("both", "certificate"):
        certificate_part(ndir, nport, nport_open)
    if args.part in ("both", "negotiate"):
        negotiate_part(ndir, nport_open)
finally:
    if nginx is not None:
        nginx.terminate()
        nginx.wait()
    shutil.rmtree(ndir, ignore_errors=True)
