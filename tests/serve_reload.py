# SPDX-License-Identifier: Apache-2.0
"""The master's generations, and its end when the front dies (signers
stopped, socket file removed, exit 1).  A reload whose new signers take long to start
does not stop the front (its loop never waits: health checks and cached
tokens are answered meanwhile), and a signer started again after a crash
loads its generation's snapshot, not the files as they are now (a tenant
file broken on disk without a reload does not break the restarted
signer).  Uses the test build, whose signers wait before READY while
SAMLBROKER_TEST_SIGNER_DELAY_FILE exists."""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, SLOW  # noqa: E402

delay_file_dir = None


def status(s):
    return s.get("/v1/status").json()


def mint(s, email, tenant="acme"):
    from urllib.parse import quote
    return s.request("POST", "/v1/tenants/%s/users/%s/saml-response"
                     % (tenant, quote(email, safe="")))


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return time.monotonic() - t0, r


def before(s):
    s.delay_file = os.path.join(s.dir, "signer-delay")
    os.environ["SAMLBROKER_TEST_SIGNER_DELAY_FILE"] = s.delay_file


try:
    s = Setup(test_build=True, before_broker=before, extra_broker="signers = 1\n")
finally:
    os.environ.pop("SAMLBROKER_TEST_SIGNER_DELAY_FILE", None)

# --- a slow reload leaves the front serving ------------------------------
check(s.service_token("ewt").status == 200, "a service token is cached")
base = sorted(timed(lambda: s.get("/healthz"))[0] for _ in range(20))
# The new signer waits far longer than any answer takes here.
# (The front is never wrapped; the master's start timeout is 30 s.)
delay = min(max(3.0, 50 * base[len(base) // 2]), 15.0)
with open(s.delay_file, "w") as f:
    f.write("%f\n" % delay)
before_count = status(s)["last_reload"]["count"]
t_hup = time.monotonic()
s.broker.send_signal(signal.SIGHUP)
lat = []
while time.monotonic() - t_hup < delay * 0.6:
    t, r = timed(lambda: s.get("/healthz"))
    lat.append((t, r.status))
    t, r = timed(lambda: s.service_token("ewt"))
    lat.append((t, r.status))
check(lat and all(st == 200 for _, st in lat),
      "while the new signer starts, health checks and cached tokens are answered 200",
      repr(lat[:5]))
check(max(t for t, _ in lat) < delay / 3,
      "none of them waited for the reload (%.3f s at most, the signer takes %.1f s)"
      % (max(t for t, _ in lat), delay), repr(sorted(lat)[-3:]))
st = status(s)
check(st["last_reload"]["count"] == before_count and st["signers"]["generation"] == 1,
      "meanwhile the front still serves the old generation", repr(st["last_reload"]))
os.unlink(s.delay_file)
st = s.wait_for(lambda: (lambda j: j if j["last_reload"]["count"] > before_count else None)(
    status(s)), "the reload", timeout=delay * 4 + 20)
check(st["last_reload"]["ok"] is True and st["signers"]["generation"] == 2,
      "then the new generation is taken", repr(st["last_reload"]))

# --- a restarted signer loads its generation, not today's files -----------
path = s.tenant_path("acme")
with open(path) as f:
    good = f.read()
with open(path, "w") as f:
    f.write(good.replace("password = " + s.key_password, "password = not-the-password"))
victim = status(s)["signers"]["processes"][0]["pid"]
os.kill(victim, signal.SIGKILL)
st = s.wait_for(lambda: (lambda j: j if j["signers"]["restarts"] >= 1 and
                         j["signers"]["ready"] == 1 else None)(status(s)),
                "the killed signer restarted")
check(st["signers"]["processes"][0]["pid"] != victim,
      "the killed signer is started again although its tenant file is now broken")
r = mint(s, "after.restart@example.com")
check(r.status == 200, "and it signs with its generation's key", repr(r))
log = open(s.broker_log).read()
check("wrong password" not in log, "no signer tried today's broken file",
      "\n".join(l for l in log.splitlines() if "wrong password" in l)[:400])
# A reload does read today's files: refused, the old generation stays.
before_count = st["last_reload"]["count"]
s.broker.send_signal(signal.SIGHUP)
st = s.wait_for(lambda: (lambda j: j if j["last_reload"]["count"] > before_count else None)(
    status(s)), "the failed reload")
check(st["last_reload"]["ok"] is False and st["signers"]["generation"] == 2 and
      mint(s, "still@example.com").status == 200,
      "a reload of the broken file is refused and the generation keeps signing",
      repr(st["last_reload"]))
with open(path, "w") as f:
    f.write(good)
s.stop()
s.cleanup()

# --- the front dies: the master stops the signers and exits 1 -------------
s = Setup(extra_broker="signers = 2\n")
master, front = s.broker, s.front_pid()
kids = [k for k in s.signer_pids()]
check(front is not None and len(kids) == 2, "a front and two signers run", repr(kids))
os.kill(front, signal.SIGKILL)
try:
    master.wait(timeout=120 if SLOW else 20)
except Exception:
    pass
check(master.returncode == 1, "the master exits 1 when its front dies (systemd restarts it)",
      repr(master.returncode))
check("event=front_exited signal=9" in open(s.broker_log).read(),
      "and logs how the front ended")
gone = s.wait_for(lambda: all(not os.path.exists("/proc/%d/stat" % k) or
                              open("/proc/%d/stat" % k).read().split(") ")[1][0] == "Z"
                              for k in kids) or None, "signers gone", timeout=20)
check(gone, "no signer is left")
check(not os.path.exists(s.socket), "the master removed its socket file")
s.procs.remove(master)
done(s)
