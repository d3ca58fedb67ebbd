# SPDX-License-Identifier: Apache-2.0
"""What an administrator reads in the log when `serve` cannot start:
every problem on a line of its own at its own level (errors at
level=error, warnings at level=warn), the start-up failure itself at
level=error, the signers' key problems of several tenants as separate
lines, and a socket directory that does not exist named with the command
that makes it."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done  # noqa: E402

s = Setup()
s.stop()  # a working set-up, stopped: each case below breaks one thing
conf = os.path.join(s.broker_dir, "samlbroker.conf")
good_conf = open(conf).read()
good = {t: open(s.tenant_path(t)).read() for t in ("acme", "badcreds")}


def start_failing(name):
    """Starts the broker, expecting it to give up; returns its log lines."""
    s.broker_log = os.path.join(s.dir, "broker-%s.log" % name)
    p = s.start_broker(expect_exit=True)
    check(p.poll() is not None and p.returncode == 1, "%s: serve exits 1" % name,
          "status %r" % p.poll())
    if p.poll() is None:
        p.kill()
        p.wait()
    # The broker's own lines (a wrapper such as valgrind adds its own).
    return [ln for ln in open(s.broker_log, errors="replace").read().splitlines()
            if ln.startswith("samlbroker")]


def levels(lines, pattern):
    return [m.group(1) for m in (re.search(r"level=(\w+) .*" + pattern, ln) for ln in lines) if m]


# 1. A configuration error beside warnings: each at its own level.
with open(s.tenant_path("acme"), "w") as f:
    f.write(good["acme"].replace("organization_id = ", "organization_id = not-a-uuid-"))
with open(s.tenant_path("badcreds"), "w") as f:	# an unknown service option: a warning
    f.write(good["badcreds"].replace("[ewt]\n", "[ewt]\nretry_limit = 3\n"))
lines = start_failing("config")
check(levels(lines, r"event=config .*organization_id") == ["error"],
      "a configuration error is logged once, at level=error", "\n".join(lines))
warnings = levels(lines, r"event=config .*warning: ")
check(levels(lines, r"event=config .*retry_limit") == ["warn"] and set(warnings) == {"warn"},
      "warnings of the same load are logged at level=warn", "\n".join(lines))
check(all(ln.count("event=") == 1 for ln in lines),
      "one event per line: no warnings packed together", "\n".join(lines))
check(levels(lines, r"event=startup_failed reason=configuration") == ["error"],
      "the failed start is logged at level=error", "\n".join(lines))
for t in ("acme", "badcreds"):
    with open(s.tenant_path(t), "w") as f:
        f.write(good[t])

# 2. Every tenant's key password wrong: the signers find it (the master
# never reads private keys); each tenant's problem is a line of its own,
# however many there are (sixteen lines outgrow a kilobyte).
extra = ["copy%d" % i for i in range(14)]
for t in extra:
    good[t] = good["acme"]
for t in ("acme", "badcreds") + tuple(extra):
    with open(s.tenant_path(t), "w") as f:
        f.write(good[t].replace("password = %s" % s.key_password,
                                "password = wrong-%s" % t))
    os.chmod(s.tenant_path(t), 0o600)
lines = start_failing("keys")
key_lines = [ln for ln in lines if "event=config signer=" in ln]
check(any("16 problems loading the keys" in ln for ln in lines),
      "the start-up line counts every tenant's problem", "\n".join(lines))
for t in ("acme", "badcreds") + tuple(extra):
    mine = [ln for ln in key_lines if "%s.cfg" % t in ln]
    check(len(mine) >= 1 and all("level=error" in ln for ln in mine),
          "tenant %s's key problem is a line of its own at level=error" % t,
          "\n".join(lines))
check(levels(lines, r"event=startup_failed reason=signers") == ["error"]
      and any("problems loading the keys" in ln for ln in lines),
      "the signers' failure is one level=error line that counts the problems",
      "\n".join(lines))
check(not any("level=warn" in ln and "password" in ln for ln in lines),
      "no key problem is logged as a warning", "\n".join(lines))
for t in ("acme", "badcreds"):
    with open(s.tenant_path(t), "w") as f:
        f.write(good[t])
for t in extra:
    os.unlink(s.tenant_path(t))

# 3. The socket's directory does not exist (a start without systemd's
# RuntimeDirectory=): the error says which directory and how to make it.
missing = os.path.join(s.dir, "run-samlbroker")
with open(conf, "w") as f:
    f.write(re.sub(r"listen = unix:\S+", "listen = unix:%s/samlbroker.sock" % missing,
                   good_conf, count=1))
lines = start_failing("rundir")
listen = [ln for ln in lines if "event=listen_failed" in ln]
check(len(listen) == 1 and "level=error" in listen[0]
      and "the directory %s does not exist" % missing in listen[0]
      and "install -d -m 0750" in listen[0] and "RuntimeDirectory=" in listen[0],
      "a missing socket directory is named with the command that makes it",
      "\n".join(lines))
check(levels(lines, r"event=startup_failed reason=listen") == ["error"],
      "the failed listen stops the start at level=error", "\n".join(lines))
with open(conf, "w") as f:
    f.write(good_conf)

logs = [(n, open(os.path.join(s.dir, "broker-%s.log" % n), errors="replace").read())
        for n in ("config", "keys", "rundir")]
found = s.scan_for_secrets(extra_texts=logs)
check(not found, "no secret in the logs", "; ".join(found))
done(s)
