# SPDX-License-Identifier: Apache-2.0
"""signer_priority (issue 20: cached answers stay fast while agents are
signed for): by default the signers run at SCHED_BATCH 10 nicer than the
master, the master and the front as they were started; /v1/status and the
start-up log say so; a reload to idle (SCHED_IDLE) and to normal changes
the next generation's signers, which still mint; a typo is an error at
check and refuses the reload.
"""
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BROKER, Setup, check, done  # noqa: E402

POLICIES = {0: "other", 3: "batch", 5: "idle"}


def sched(pid):
    """(policy, nice) of pid from /proc/PID/stat (fields 41 and 19)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return POLICIES.get(int(fields[38]), fields[38]), int(fields[16])


def signers(s):
    return s.get("/v1/status").json()["signers"]


def conf_with(s, line):
    path = os.path.join(s.broker_dir, "samlbroker.conf")
    with open(path) as f:
        text = re.sub(r"(?m)^signer_priority = .*\n", "", f.read())
    with open(path, "w") as f:
        f.write(text + line)
    return path


def reload_to(s, value):
    """Reloads with signer_priority = value; the new generation's status."""
    before = s.get("/v1/status").json()
    conf_with(s, "signer_priority = %s\n" % value)
    s.broker.send_signal(signal.SIGHUP)
    st = s.wait_for(lambda: (lambda st: st if st["last_reload"]["count"] >
                             before["last_reload"]["count"] else None)(
                                 s.get("/v1/status").json()), "reload")
    if st["last_reload"]["ok"]:
        gen = before["signers"]["generation"] + 1
        st["signers"] = s.wait_for(lambda: (lambda g: g if g["generation"] == gen and
                                            g["ready"] == 2 and g["draining"] == 0
                                            and len(s.signer_pids()) == 2 else None)(
                                                signers(s)), "generation %d alone" % gen)
    return st


s = Setup(extra_broker="signers = 2\n", log_level="info")
master_sched = sched(s.broker.pid)
sig = signers(s)
pids = s.signer_pids()
check(sig["priority"] == "batch", "/v1/status says the signers' priority: batch by default",
      repr(sig))
check(len(pids) == 2 and all(sched(p) == ("batch", min(19, master_sched[1] + 10))
                             for p in pids),
      "both signers run at SCHED_BATCH, nice 10 above the master's",
      repr([sched(p) for p in pids]))
check(sched(s.front_pid()) == master_sched and master_sched[0] == "other",
      "the front and the master keep their scheduling", repr((sched(s.front_pid()),
                                                               master_sched)))
with open(s.broker_log) as f:
    log = f.read()
check(re.search(r"event=signers_started signers=2 queue=64 priority=batch ", log),
      "the start-up log line says priority=batch",
      "\n".join(line for line in log.splitlines() if "signers_started" in line))
r = s.request("POST", "/v1/tenants/acme/users/batch%40example.com/saml-response")
check(r.status == 200, "a batch-priority signer mints", repr(r))

st = reload_to(s, "idle")
pids = s.signer_pids()
check(st["last_reload"]["ok"] and st["signers"]["priority"] == "idle",
      "a reload to signer_priority = idle is taken and shown", repr(st["last_reload"]))
check(len(pids) == 2 and all(sched(p)[0] == "idle" for p in pids),
      "the new generation's signers run at SCHED_IDLE", repr([sched(p) for p in pids]))
# Idle signers mint at once when nothing else wants the CPU.
r = s.request("POST", "/v1/tenants/acme/users/idle%40example.com/saml-response")
check(r.status == 200, "an idle-priority signer mints", repr(r))

st = reload_to(s, "normal")
pids = s.signer_pids()
check(st["last_reload"]["ok"] and st["signers"]["priority"] == "normal" and len(pids) == 2 and
      all(sched(p) == master_sched for p in pids),
      "signer_priority = normal: the signers are scheduled as the master",
      repr((st["signers"].get("priority"), [sched(p) for p in pids], master_sched)))

# A typo fails closed: check says what is wrong, a reload is refused.
conf = conf_with(s, "signer_priority = idel\n")
out = subprocess.run([BROKER, "check", "-c", conf], capture_output=True, text=True)
check(out.returncode != 0 and "signer_priority: must be one of idle, batch, normal"
      in out.stdout + out.stderr, "check refuses signer_priority = idel",
      out.stdout + out.stderr)
st = reload_to(s, "idel")
check(not st["last_reload"]["ok"] and st["signers"]["priority"] == "normal" and
      all(sched(p) == master_sched for p in s.signer_pids()),
      "a reload with signer_priority = idel is refused; the signers stay as they were",
      repr(st["last_reload"]))
done(s)
