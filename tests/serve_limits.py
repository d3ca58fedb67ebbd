# SPDX-License-Identifier: Apache-2.0
"""Access control and limits: per-tenant user/group rules checked against
the kernel's view of the caller, the admin address, body and header size
limits, slow clients, and the connection limit."""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, skip, wait_seconds, SLOW  # noqa: E402

if os.geteuid() != 0:
    skip("needs root to run a client as another uid")
NOBODY = 65534

import tempfile  # noqa: E402
admin_dir = tempfile.mkdtemp(prefix="samlbroker-admin-")
os.chmod(admin_dir, 0o755)
admin = os.path.join(admin_dir, "admin.sock")
s = Setup(extra_broker="socket_mode = 0666\nadmin_listen = unix:%s\n"
          "max_connections = 4\nmax_header_size = 2048\nmax_body_size = 100\n"
          "client_timeout = 6\n"
          "[access:acme]\ngateways = user:root\nservice.ewt = user:root\n"
          "saml_response = yes\n"
          "[access:badcreds]\ngateways = group:nogroup, user:12345\n" % admin,
          admin_socket=admin)
os.chmod(s.dir, 0o755)  # let uid 65534 reach the socket


def as_nobody(path):
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "--unix-socket", s.socket, "http://localhost" + path],
                       capture_output=True, text=True,
                       timeout=max(60, wait_seconds()),
                       preexec_fn=lambda: (os.setgroups([]), os.setgid(NOBODY),
                                           os.setuid(NOBODY)))
    return p.stdout.strip()


# Access rules.
r = s.user_token("agent@example.com")
check(r.status == 200, "acme (user:root): root is served", repr(r))
check(as_nobody("/v1/tenants/acme/users/agent%40example.com/token") == "404",
      "acme (user:root): uid 65534, named by no rule, is told no such tenant")
log = open(s.broker_log).read()
check("event=forbidden tenant=acme peer=uid:65534,gid:65534" in log,
      "the refusal is logged with the caller's uid, gid and pid")
check(as_nobody("/v1/tenants/badcreds/users/agent%40example.com/token") == "200",
      "badcreds (group:nogroup): a member is served")
r = s.user_token("agent@example.com", tenant="badcreds")
check(r.status == 404 and r.json()["error"] == "unknown_tenant",
      "badcreds (group:nogroup): root is refused as if the tenant did not exist",
      repr(r))
r = s.get("/v1/tenants/acme/services/ewt/token", tcp=True,
          headers={"X-Samlbroker-Request": "true"})
check(r.status == 404 and r.json()["error"] == "unknown_tenant",
      "a tenant with rules is not served over TCP", repr(r))
r = s.request("DELETE", "/v1/tenants/badcreds/services/ewt/token")
check(r.status == 404, "DELETE obeys the rules too (root is named by no rule of badcreds)")

# The admin address.
main_socket = s.socket
r = s.get("/metrics")
check(r.status == 404, "admin endpoints are not on the main socket with admin_listen", repr(r))
s.socket = admin
check(s.get("/healthz").status == 200 and "samlbroker_requests_total" in s.get("/metrics").body,
      "admin endpoints answer on admin_listen")
r = s.get("/v1/tenants/acme/services/ewt/token")
check(r.status == 404, "tokens are not served on admin_listen", repr(r))
check(sorted(t["name"] for t in s.get("/v1/status").json()["tenants"]) == ["acme", "badcreds"],
      "/v1/status on the admin address lists every tenant, whatever the rules")
s.socket = main_socket

# Sizes.
r = s.request("POST", "/v1/tenants/acme/users/a%40example.com/saml-response", body="x" * 200)
check(r.status == 413 and r.json()["error"] == "payload_too_large",
      "body over max_body_size: 413", repr(r))
r = s.request("POST", "/v1/tenants/acme/users/a%40example.com/saml-response", body="x" * 50)
check(r.status == 200, "body under max_body_size: 200", repr(r))
try:
    r = s.get("/v1/tenants/acme/services/ewt/token", headers={"X-Filler": "y" * 4000})
    ok = r.status >= 400
except OSError:
    ok = True  # closed: also a refusal
check(ok, "headers over max_header_size are refused")


def raw(data=b"", wait=None):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(30)
    c.connect(s.socket)
    if data:
        c.sendall(data)
    return c


# A slow client is cut off after client_timeout.
c = raw(b"GET /v1/tenants/acme/services/ewt/token HTTP/1.1\r\nHost: x\r\n")
t0 = time.time()
try:
    got = c.recv(4096)
except OSError:
    got = b""
check(got == b"" and 5 <= time.time() - t0 < 30, "a half-sent request is cut off after client_timeout",
      "%r after %.1fs" % (got.split(b"\r\n")[0], time.time() - t0))
c.close()

# max_connections = 4: a fifth caller waits until one of four closes.
idle = [raw() for _ in range(4)]
time.sleep(0.3)
fifth = raw(b"GET /v1/tenants/acme/services/ewt/token HTTP/1.1\r\nHost: x\r\n\r\n")
fifth.settimeout(1.5 if not SLOW else 3)  # well under client_timeout
try:
    early = fifth.recv(4096)
except socket.timeout:
    early = None
check(early is None, "with 4 connections open a fifth is not served",
      repr(early.split(b"\r\n")[0]) if early else "")
s.socket = admin
check(s.get("/healthz").status == 200, "the admin address still answers at max_connections")
s.socket = main_socket
idle[0].close()
fifth.settimeout(30)
late = fifth.recv(4096)
check(late.startswith(b"HTTP/1.1 200"), "once one closes, the fifth is served",
      repr(late.split(b"\r\n")[0]))
for c in idle[1:] + [fifth]:
    c.close()
time.sleep(0.5)
check(s.service_token("ewt").status == 200, "accepting again after the burst")
# A caller that pipelines many requests and does not read: each request
# is answered exactly once, in order, when it reads at last.
N = 300
c = raw(b"GET /v1/tenants/acme/services/ewt/token HTTP/1.1\r\nHost: x\r\n\r\n" * N)
time.sleep(1.5)
got = b""
c.settimeout(20)
while got.count(b"HTTP/1.1 ") < N:
    chunk = c.recv(65536)
    if not chunk:
        break
    got += chunk
c.close()
check(got.count(b"HTTP/1.1 200 OK") == N and got.count(b"HTTP/1.1 ") == N,
      "%d pipelined requests read late get %d answers" % (N, N),
      "%d answers" % got.count(b"HTTP/1.1 "))
s.socket = admin
m = s.get("/metrics").body
s.socket = main_socket
import re  # noqa: E402
served = int(re.search(r'samlbroker_requests_total\{endpoint="service_token",status="200"\} (\d+)', m).group(1))
check(N <= served <= N + 10, "and each was handled once", "counter %d" % served)

# Two Content-Length fields: refused (no request smuggling).
c = raw(b"POST /v1/tenants/acme/users/a%40example.com/saml-response HTTP/1.1\r\n"
        b"Content-Length: 0\r\nContent-Length: 30\r\n\r\n")
check(c.recv(4096).startswith(b"HTTP/1.1 400"), "two Content-Length fields get 400")
c.close()

# A caller that half-closes after its request still gets the answer.
c = raw(b"GET /v1/tenants/acme/users/halfclose%40example.com/token HTTP/1.1\r\n\r\n")
c.shutdown(socket.SHUT_WR)
check(c.recv(4096).startswith(b"HTTP/1.1 200"), "a half-closed caller gets its (uncached) token")
c.close()

import shutil  # noqa: E402
shutil.rmtree(admin_dir, ignore_errors=True)
done(s)
