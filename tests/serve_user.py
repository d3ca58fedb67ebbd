# SPDX-License-Identifier: Apache-2.0
"""[broker] user with the real daemon (issue 17 point 1): serve started as
root judges the files for that user, opens its listeners, gives its
socket files to the user and drops to it (master, front and signers)
before a caller's byte is read; started as another non-root user it
refuses to start.  The user is the system user daemon (uid and gid 1 on
Debian), as a package's samlbroker would be.  Needs root."""
import os
import pwd
import shutil
import subprocess

from harness import BROKER, Setup, check, done, skip, wait_seconds

if os.getuid() != 0:
    skip("not root (serve drops from root to the user daemon)")
try:
    DAEMON = pwd.getpwnam("daemon")
except KeyError:
    skip("no system user daemon")
UID, GID = DAEMON.pw_uid, DAEMON.pw_gid


def give_to_daemon(s):
    """The package's layout: tenant files the user's, 0600; the main file
    0640 root:<its group>; directories it can pass through."""
    os.chmod(s.dir, 0o755)
    os.chmod(s.broker_dir, 0o755)
    tenants = os.path.join(s.broker_dir, "tenants")
    os.chown(tenants, 0, GID)
    os.chmod(tenants, 0o750)
    for name in ("acme", "badcreds"):
        os.chown(s.tenant_path(name), UID, GID)
    conf = os.path.join(s.broker_dir, "samlbroker.conf")
    os.chown(conf, 0, GID)
    os.chmod(conf, 0o640)


s = Setup(extra_broker="user = daemon\n", before_broker=give_to_daemon)
master = s.broker.pid


def ids(pid):
    with open("/proc/%d/status" % pid) as f:
        lines = dict(line.split(":", 1) for line in f if ":" in line)
    return (lines["Uid"].split(), lines["Gid"].split(), lines["Groups"].split())


want = ([str(UID)] * 4, [str(GID)] * 4)
procs = [master, s.front_pid()] + s.signer_pids()
check(None not in procs and len(procs) >= 3, "master, front and signers found", repr(procs))
for pid in procs:
    u, g, groups = ids(pid)
    check((u, g) == want and "0" not in groups,
          "process %d runs as daemon, no group of root's" % pid, repr((u, g, groups)))
log = open(s.broker_log).read()
check("event=privileges_dropped user=daemon uid=%d gid=%d" % (UID, GID) in log,
      "the drop is logged", log[-2000:])
st = os.stat(s.socket)
check((st.st_uid, st.st_gid) == (UID, GID), "the socket file is the user's",
      repr((st.st_uid, st.st_gid)))
r = s.request("GET", "/v1/tenants/acme/services/ewt/token")
check(r.status == 200, "a token after the drop", repr(r.status))

# Another user than root or daemon: refused at start, naming both.
other = os.path.join(s.dir, "other")
shutil.copytree(s.broker_dir, other)
for root, dirs, files in os.walk(other):
    for n in dirs:
        os.chmod(os.path.join(root, n), 0o755)
    for n in files:
        os.chown(os.path.join(root, n), UID, GID)
        os.chmod(os.path.join(root, n), 0o644)
os.chmod(other, 0o755)
conf = os.path.join(other, "samlbroker.conf")
with open(conf) as f:
    text = f.read().replace("user = daemon\n", "user = daemon\nallow_insecure_permissions = yes\n")
text = text.replace("ca_file = %s\n" % s.ca_file, "")  # in a directory only root may enter
text = text.replace("listen = unix:%s\n" % s.socket,
                    "listen = unix:%s\n" % os.path.join(other, "x.sock"))
with open(conf, "w") as f:
    f.write(text)
bin_ = pwd.getpwnam("bin")
p = subprocess.run(["setpriv", "--reuid=%d" % bin_.pw_uid, "--regid=%d" % bin_.pw_gid,
                    "--clear-groups", BROKER, "serve", "-c", conf],
                   capture_output=True, text=True, timeout=max(60, wait_seconds()))
check(p.returncode == 1 and ("serve runs as uid %d, but [broker] user is daemon (uid %d): "
                             "start it as daemon, or as root (it then drops to daemon)"
                             % (bin_.pw_uid, UID)) in p.stderr,
      "serve as another user refuses to start, naming the user", p.stderr[-2000:])
done(s)
