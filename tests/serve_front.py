# SPDX-License-Identifier: Apache-2.0
"""The broker's front door: the descriptor limit (more callers than
descriptors on a Unix socket, a TCP listener and a TCP admin address), the
admin address's connection cap, Host and Origin on TCP (DNS rebinding),
bare LF, the test clock not honoured by the installed binary, and socket
activation with a socket named "admin"."""
import calendar
import os
import re
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, free_port, SLOW  # noqa: E402

if SLOW:
    # Under valgrind the descriptor counts below mean nothing.
    from harness import skip
    skip("descriptor-limit tests do not run under a wrapper")

# The installed binary must ignore the test clock: point it at a file that
# would move its clock ten days ahead.
clock_dir = tempfile.mkdtemp(prefix="samlbroker-clock-")
clock_file = os.path.join(clock_dir, "offset")
with open(clock_file, "w") as f:
    f.write("864000\n")
os.environ["SAMLBROKER_TEST_CLOCK_FILE"] = clock_file

SOFT, HARD = 64, 200
admin_port = free_port()
s = Setup(nofile=(SOFT, HARD), admin_socket=admin_port,
          extra_broker="admin_listen = tcp:127.0.0.1:%d\nclient_timeout = 60\n"
          "max_connections = 1000\n" % admin_port)
del os.environ["SAMLBROKER_TEST_CLOCK_FILE"]
GUARD = {"X-Samlbroker-Request": "true"}


def log():
    with open(s.broker_log, errors="replace") as f:
        return f.read()


def admin_get(path, **kw):
    return s.get(path, tcp=admin_port, headers=dict(GUARD, **kw.pop("headers", {})), **kw)


# --- the test clock ---------------------------------------------------------
st = admin_get("/v1/status").json()
started = calendar.timegm(time.strptime(st["started"][:19], "%Y-%m-%dT%H:%M:%S"))
check(abs(started - time.time()) < 300,
      "the installed samlbroker ignores SAMLBROKER_TEST_CLOCK_FILE", st["started"])
check("event=test_clock" not in log(), "and does not mention a test clock")
from harness import BROKER  # noqa: E402
with open(BROKER, "rb") as f:
    check(b"SAMLBROKER_TEST_CLOCK_FILE" not in f.read(),
          "the installed binary does not contain the test clock's variable")
shutil.rmtree(clock_dir, ignore_errors=True)

# --- descriptor limits ----------------------------------------------------------
with open("/proc/%d/limits" % s.front_pid()) as f:
    m = re.search(r"Max open files\s+(\d+)\s+(\d+)", f.read())
check(m and int(m.group(1)) == HARD and int(m.group(2)) == HARD,
      "the front's soft descriptor limit is raised to the hard one at start",
      m.group(0) if m else "")
check("event=nofile limit=%d" % HARD in log(), "and a limit under max_connections is warned of")

check(s.service_token("ewt").status == 200, "a service token is cached before the floods")


def connect_unix():
    c = socket.socket(socket.AF_UNIX)
    c.connect(s.socket)
    return c


def connect_tcp(port):
    return socket.create_connection(("127.0.0.1", port))


def flood(name, connect, n=HARD + 100, hold=1.0, extra=None):
    """Opens more connections than the broker has descriptors, holds them,
    closes them; the broker must stay up and log accept_failed once per
    100 ms rest, not once per attempt."""
    before = log().count("event=accept_failed")
    conns = list(extra or [])
    t0 = time.time()
    for _ in range(n):
        conns.append(connect())
    time.sleep(hold)
    elapsed = time.time() - t0
    alive = s.broker.poll() is None
    for c in conns:
        c.close()
    fails = log().count("event=accept_failed") - before
    check(alive, "%s: %d connections over a limit of %d: the broker stays up" % (name, n, HARD))
    check(1 <= fails <= elapsed / 0.1 + 3,
          "%s: accept_failed is logged once per pause" % name,
          "%d lines in %.1f s" % (fails, elapsed))
    if not alive:
        return
    ok = s.wait_for(lambda: s.service_token("ewt").status == 200, "serving again")
    check(ok, "%s: served again once they closed" % name)


flood("unix token socket", connect_unix)
flood("TCP listener", lambda: connect_tcp(s.tcp_port))
# The admin address accepts 16 at most, so its accept() fails only when the
# token listeners have taken the descriptors: take them first.
hogs = [connect_unix() for _ in range(HARD)]
flood("TCP admin address", lambda: connect_tcp(admin_port), n=50, extra=hogs)
r = s.user_token("after-floods@example.com")
check(r.status == 200, "a new exchange (a new upstream socket) works after the floods", repr(r))
check(admin_get("/healthz").status == 200, "the admin address answers after the floods")

# The admin address's own cap: 16 connections, the rest wait.
admin_conns = [connect_tcp(admin_port) for _ in range(17)]
s.wait_for(lambda: "event=admin_max_connections connections=16 accepting=no" in log(),
           "the admin cap")
late = admin_conns[-1]
late.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             b"X-Samlbroker-Request: true\r\n\r\n" % admin_port)
late.settimeout(1.0)
try:
    early = late.recv(4096)
except socket.timeout:
    early = None
check(early is None, "with 16 admin connections open a 17th waits")
admin_conns[0].close()
late.settimeout(30)
got = late.recv(4096)
check(got.startswith(b"HTTP/1.1 200"), "and is served once one closes", repr(got[:40]))
for c in admin_conns:
    c.close()


# --- Host and Origin on TCP (DNS rebinding) --------------------------------------
def raw(data, port=None, unix=False, timeout=10):
    c = connect_unix() if unix else connect_tcp(port or s.tcp_port)
    c.settimeout(timeout)
    c.sendall(data)
    got = b""
    try:
        while b"\r\n\r\n" not in got:
            chunk = c.recv(4096)
            if not chunk:
                break
            got += chunk
    finally:
        c.close()
    m = re.match(rb"HTTP/1\.1 (\d+)", got)
    return int(m.group(1)) if m else None


def req(path, headers, method="GET", version="1.1", **kw):
    text = "%s %s HTTP/%s\r\n" % (method, path, version)
    text += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
    return raw(text.encode(), **kw)


P = s.tcp_port
TOKEN = "/v1/tenants/acme/services/ewt/token"
SAML = "/v1/tenants/acme/users/a%40example.com/saml-response"
G = ("X-Samlbroker-Request", "true")
rebind = [("Host", "rebind.attacker.example:%d" % P),
          ("Origin", "http://rebind.attacker.example:%d" % P), G]
for path, method in (("/v1/status", "GET"), (TOKEN, "GET"), (SAML, "POST")):
    check(req(path, rebind, method) == 403,
          "the rebinding request of the issue gets 403 on %s %s" % (method, path))
check(req(TOKEN, [("Host", "rebind.attacker.example:%d" % P), G]) == 403,
      "a foreign Host gets 403")
check(req(TOKEN, [("Host", "127.0.0.1:%d" % P), ("Origin", "http://127.0.0.1:%d" % P), G])
      == 403, "an Origin header gets 403, even with a good Host")
check(req(TOKEN, [("Host", "127.0.0.1:%d" % P), G]) == 200, "Host 127.0.0.1:PORT is served")
check(req(TOKEN, [("Host", "localhost:%d" % P), G]) == 200, "Host localhost:PORT is served")
check(req(TOKEN, [("Host", "LocalHost:%d" % P), G]) == 200, "the name is case-insensitive")
check(req(TOKEN, [("Host", "127.0.0.1"), G]) == 403, "a Host without the port gets 403")
check(req(TOKEN, [("Host", "127.0.0.1:%d" % (P + 1)), G]) == 403, "a wrong port gets 403")
check(req(TOKEN, [("Host", "127.0.0.2:%d" % P), G]) == 403, "another loopback address gets 403")
check(req(TOKEN, [G]) == 403, "no Host over TCP (HTTP/1.1) gets 403")
check(req(TOKEN, [G], version="1.0") == 403, "no Host over TCP (HTTP/1.0) gets 403")
check(req(TOKEN, [("Host", "127.0.0.1:%d" % P), ("Host", "127.0.0.1:%d" % P), G]) == 400,
      "two Host fields get 400")
check(req("/healthz", [("Host", "evil.example:%d" % admin_port), G], port=admin_port) == 403,
      "the TCP admin address checks Host too")
check(req("/healthz", [("Host", "127.0.0.1:%d" % admin_port), G], port=admin_port) == 200,
      "and serves its own Host")
check(req("/v1/status", [("Host", "127.0.0.1:%d" % admin_port), ("Origin", "null"), G],
          port=admin_port) == 403, "the admin address refuses Origin")
check(req(TOKEN, [("Origin", "http://localhost")], unix=True) == 403,
      "a Unix socket refuses Origin (a relayed browser request)")
check(req(TOKEN, [], unix=True) == 200, "a Unix socket needs no Host")

# A bare LF is refused at once, not after client_timeout (60 s here).
t0 = time.time()
st = raw(b"GET /healthz HTTP/1.1\nHost: x\n\n", unix=True, timeout=5)
check(st == 400 and time.time() - t0 < 3, "a bare-LF request gets 400 at once",
      "%r after %.1f s" % (st, time.time() - t0))

# --- socket activation with an admin socket ------------------------------------------
if shutil.which("systemd-socket-activate"):
    conf = os.path.join(s.broker_dir, "samlbroker.conf")
    with open(conf) as f:
        base_conf = f.read().replace("admin_listen = tcp:127.0.0.1:%d\n" % admin_port, "")

    def restart(admin_listen=None, activation=(), admin_socket=None, expect_exit=False):
        if s.broker.poll() is None:
            s.broker.terminate()
            s.broker.wait(30)
        if s.broker in s.procs:
            s.procs.remove(s.broker)
        with open(conf, "w") as f:
            f.write(base_conf + ("admin_listen = %s\n" % admin_listen if admin_listen else ""))
        s.admin_socket = admin_socket
        s.nofile = None
        return s.start_broker(activation=list(activation), expect_exit=expect_exit)

    d = tempfile.mkdtemp(prefix="sbact-")
    run = [0]

    def paths():
        # The activator leaves its socket files: fresh names each start.
        run[0] += 1
        return (os.path.join(d, "%s%d.sock" % (n, run[0])) for n in ("main", "admin", "own"))

    main_sock, admin_sock, own_admin = paths()

    def on(path, url):
        keep = s.socket
        s.socket = path
        try:
            return s.get(url).status
        finally:
            s.socket = keep

    s.broker = restart(activation=[(main_sock, None), (admin_sock, "admin")],
                       admin_socket=admin_sock)
    check("admin=inherited" in log(), "an inherited socket named admin is the admin address")
    check(on(admin_sock, "/metrics") == 200 and on(main_sock, "/metrics") == 404,
          "activated: metrics on the admin socket only")
    check(on(main_sock, TOKEN) == 200 and on(admin_sock, TOKEN) == 404,
          "activated: tokens on the main socket only")

    p = restart(admin_listen="unix:" + own_admin,
                activation=[(main_sock, None), (admin_sock, "admin")],
                admin_socket=admin_sock, expect_exit=True)
    p.wait(30)
    check(p.returncode == 1 and "admin_listen is set and systemd passed a socket named admin"
          in log(), "admin_listen and an inherited admin socket: refused at start",
          "status %s" % p.returncode)
    main_sock, admin_sock, own_admin = paths()
    s.broker = restart(admin_listen="unix:" + own_admin, activation=[(main_sock, None)],
                       admin_socket=own_admin)
    check("admin=admin_listen" in log(), "admin_listen beside inherited sockets is honoured")
    check(on(own_admin, "/healthz") == 200 and on(main_sock, "/healthz") == 404,
          "activated with admin_listen: health on admin_listen only")
    s.socket = main_sock
    shutil.rmtree(d, ignore_errors=True)
else:
    print("note: systemd-socket-activate missing, activation not tested")
done(s)
