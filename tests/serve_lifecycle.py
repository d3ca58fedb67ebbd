# SPDX-License-Identifier: Apache-2.0
"""The daemon's life: SIGHUP reload of a changed, an unchanged and a
broken tenant; SIGTERM with requests in flight; socket activation."""
import os
import signal
import subprocess
import sys
import threading
import time
import shutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, skip, wait_seconds  # noqa: E402

# The emulator holds two exchanges 1.5 s below; on a busy machine an
# exchange took 1.5 s by itself (3 s in all), so request_timeout leaves room.
s = Setup(expires_in=7200, request_timeout=10)


def reload_and_wait():
    before = s.get("/v1/status").json()["last_reload"]["count"]
    s.broker.send_signal(signal.SIGHUP)
    return s.wait_for(lambda: (lambda st: st if st["last_reload"]["count"] > before
                               else None)(s.get("/v1/status").json()), "reload")["last_reload"]


def saml_ok():
    return s.counters()["saml2_bearer"]["ok"]


acme1 = s.user_token("agent@example.com").json()["access_token"]
bad1 = s.user_token("agent@example.com", tenant="badcreds").json()["access_token"]
n = saml_ok()

# Unchanged configuration: every cached token survives.
lr = reload_and_wait()
check(lr["ok"] is True and lr["error"] is None, "reload of an unchanged configuration succeeds")
check(s.user_token("agent@example.com").json()["access_token"] == acme1 and saml_ok() == n,
      "unchanged tenant keeps its cache across reload")

# One tenant changed: it loses its cache, the other keeps its own.
with open(s.tenant_path("acme"), "a") as f:
    f.write("\n[saml_auth_note]\n; edited\n")
with open(s.tenant_path("acme")) as f:
    text = f.read()
with open(s.tenant_path("acme"), "w") as f:
    f.write(text.replace("expire_time = 24", "expire_time = 1"))
lr = reload_and_wait()
check(lr["ok"] is True, "reload with a changed tenant succeeds")
acme2 = s.user_token("agent@example.com").json()["access_token"]
check(acme2 != acme1 and saml_ok() == n + 1, "changed tenant fetched a new token after reload")
check(s.user_token("agent@example.com", tenant="badcreds").json()["access_token"] == bad1,
      "unchanged tenant kept its token through the other's change")
exp = s.user_token("agent@example.com").json()["expires_in"]
check(3500 < exp <= 3600, "changed expire_time (1 h, under the server's 2 h) is in force",
      "expires_in %d" % exp)

# A broken configuration is refused; the old one keeps serving.
good_text = open(s.tenant_path("acme")).read()
with open(s.tenant_path("acme"), "w") as f:
    f.write(good_text.replace("organization_id = ", "organization_id = not-a-uuid-"))
lr = reload_and_wait()
check(lr["ok"] is False and "organization_id" in (lr["error"] or ""),
      "broken reload is refused and status names the problem", repr(lr))
check("samlbroker_config_last_reload_successful 0" in s.metrics(),
      "metrics show the failed reload")
check(s.user_token("agent@example.com").json()["access_token"] == acme2,
      "the old configuration keeps serving after a broken reload")
log = open(s.broker_log).read()
check("event=reload_failed" in log and "organization_id" in log, "the log shows the reload error")
with open(s.tenant_path("acme"), "w") as f:
    f.write(good_text)
lr = reload_and_wait()
check(lr["ok"] is True and "samlbroker_config_last_reload_successful 1" in s.metrics(),
      "a repaired configuration reloads")

# Options a reload cannot change are named in the log, one line each
# (the option table says which); reloadable ones are not.
main_conf = os.path.join(s.broker_dir, "samlbroker.conf")
main_text = open(main_conf).read()
with open(main_conf, "w") as f:
    f.write(main_text + "socket_mode = 0600\nclient_timeout = 11\n")
lr = reload_and_wait()
log = open(s.broker_log).read()
check(lr["ok"] is True and 'event=reload option=socket_mode note="takes effect on restart"' in log
      and "option=client_timeout" not in log,
      "a reload names socket_mode (restart only) and not client_timeout (reloadable)")
with open(main_conf, "w") as f:
    f.write(main_text)
reload_and_wait()

# A reload that changes a tenant while one of its exchanges is under way:
# the waiting caller gets that token, the cache does not keep it.
s.emu("POST", "/emulator/faults", {"delay_ms": 1500, "count": 1})
result = {}
t = threading.Thread(target=lambda: result.setdefault("r", s.service_token("ewt")))
t.start()
s.wait_for(lambda: s.counters()["faulted"] >= 1, "exchange under way")
with open(s.tenant_path("acme"), "w") as f:
    f.write(good_text.replace("expire_time = 1", "expire_time = 2"))
reload_and_wait()
t.join(wait_seconds())
check(result.get("r") is not None and result["r"].status == 200,
      "the caller waiting across a reload gets its token")
before = s.counters()["total"]
check(s.service_token("ewt").status == 200 and s.counters()["total"] == before + 1,
      "that token was not cached: the next caller causes a new exchange")

# SIGTERM with a request in flight: it completes, then the broker exits 0.
s.emu("POST", "/emulator/faults", {"delay_ms": 1500, "count": 1})
result = {}


def slow():
    result["r"] = s.user_token("inflight@example.com")


t = threading.Thread(target=slow)
t.start()
s.wait_for(lambda: s.counters()["faulted"] >= 1, "request in flight")
s.broker.send_signal(signal.SIGTERM)
# A new broker started during the old one's grace period takes the path;
# the old one must not remove the new one's socket when it exits.
old = s.broker
s.wait_for(lambda: not os.path.exists(s.socket), "old broker to close its socket")
s.broker = s.start_broker()
t.join(wait_seconds())
r = result.get("r")
check(r is not None and r.status == 200, "in-flight request finished after SIGTERM", repr(r))
old.wait(wait_seconds())
check(old.returncode == 0, "broker exited 0 after SIGTERM")
s.procs.remove(old)
check(os.path.exists(s.socket) and s.get("/healthz").status == 200,
      "the exiting broker left its successor's socket alone")
s.broker.send_signal(signal.SIGTERM)
s.broker.wait(wait_seconds())
check(not os.path.exists(s.socket), "socket file removed on exit")
s.procs.remove(s.broker)

# A stale socket file from a dead broker is replaced; a live one is not stolen.
import socket as so  # noqa: E402
stale = so.socket(so.AF_UNIX)
stale.bind(s.socket)
stale.close()  # the file stays, nobody listens
s.broker = s.start_broker()
check(s.get("/healthz").status == 200, "stale socket file replaced at start")
p = subprocess.run([os.environ.get("top_builddir", ".") + "/samlbroker", "serve", "-c",
                    os.path.join(s.broker_dir, "samlbroker.conf")],
                   capture_output=True, text=True, timeout=60)
check(p.returncode == 1 and "another process is listening" in p.stderr,
      "a second broker does not steal a live socket", p.stderr[-300:])
check(s.get("/healthz").status == 200, "the first broker still serves")
s.broker.send_signal(signal.SIGTERM)
s.broker.wait(wait_seconds())
s.procs.remove(s.broker)

# Socket activation: the broker takes the listener it is given.
if shutil.which("systemd-socket-activate"):
    act = os.path.join(s.dir, "activated.sock")
    s.broker = s.start_broker(activation_socket=act)
    r = s.service_token("ewt")
    check(r.status == 200, "socket-activated broker serves on the inherited socket", repr(r))
    check("event=socket_activation listeners=1" in open(s.broker_log).read(),
          "the broker says it took the inherited listener")
else:
    print("note: systemd-socket-activate missing, activation not tested")
done(s)
