# SPDX-License-Identifier: Apache-2.0
"""serve's signer processes through the real daemon: the front holds no
private key nor key password (memory scan after start, after 1,000 mints
and after a reload that changed a tenant's key; the same scan finds the
keys, and never their passwords, in the signers, after reloads back and
forth between a PKCS#8 and a traditional key), ps titles, /v1/status and /metrics, a signer killed
with SIGKILL during a burst of mints, reload with changed and unchanged
keys, full queues answered 503 signers_busy with Retry-After, and no
process left after SIGTERM."""
import base64
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TOP_SRCDIR, Setup, b64, check, done, skip  # noqa: E402

if os.geteuid() != 0:
    skip("the memory scan reads /proc/PID/mem: needs root")
KEYS = os.path.join(TOP_SRCDIR, "tests", "data", "keys")
PKCS8 = os.path.join(KEYS, "vendor-pkcs8")
TRADITIONAL = os.path.join(KEYS, "vendor-traditional")
MEMSCAN = os.path.join(TOP_SRCDIR, "tests", "memscan.py")


def children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rindex(")") + 2:].split()[1]) == pid:
                out.append(int(d))
    return sorted(out)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] != "Z"


def live_children(pid):
    return [p for p in children(pid) if alive(p)]


def verifies(s, xml, key_dir):
    """Does xmlsec1 verify the Assertion's signature with key_dir's certificate?"""
    m = re.search(r'<saml:Assertion [^>]*ID="([^"]+)"', xml)
    path = os.path.join(s.dir, "minted.xml")
    with open(path, "w") as f:
        f.write(xml)
    r = subprocess.run(["xmlsec1", "--verify", "--enabled-reference-uris", "same-doc",
                        "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                        "--pubkey-cert-pem", os.path.join(key_dir, "cert.pem"),
                        "--node-id", m.group(1) if m else "none", path],
                       capture_output=True)
    os.unlink(path)
    return r.returncode == 0


def title(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode(errors="replace")


def memscan(key_dir, pids, expect_found=False):
    argv = [sys.executable, MEMSCAN, "--key-dir", key_dir]
    for p in pids:
        argv += ["--pid", str(p)]
    if expect_found:
        argv.append("--expect-found")
    r = subprocess.run(argv, capture_output=True, text=True)
    return r.returncode, r.stdout.strip()


def mint(s, email, tenant="acme"):
    return s.request("POST", "/v1/tenants/%s/users/%s/saml-response"
                     % (tenant, quote(email, safe="")))


def burst(s, n, workers, prefix):
    """n mints from workers threads; returns the replies."""
    replies = [None] * n
    nxt = iter(range(n))
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                return
            try:
                replies[i] = mint(s, "%s%d@example.com" % (prefix, i))
            except OSError as e:
                replies[i] = e
    ts = [threading.Thread(target=work) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return replies


def signers_status(s):
    return s.get("/v1/status").json()["signers"]


def reload_and_wait(s):
    before = s.get("/v1/status").json()["last_reload"]["count"]
    s.broker.send_signal(signal.SIGHUP)
    return s.wait_for(lambda: (lambda st: st if st["last_reload"]["count"] > before
                               else None)(s.get("/v1/status").json()), "reload")["last_reload"]


def signer_children(pid):
    """The signers among pid's children (the master's: the front is one
    child, each signer another)."""
    return sorted(p for p in live_children(pid) if title(p).startswith("samlbroker: signer "))


def scan_front(s, key_dirs, when):
    for kd in key_dirs:
        rc, out = memscan(kd, [s.front_pid()])
        check(rc == 0, "the front holds neither prime nor the password of %s %s"
              % (os.path.basename(kd), when), out)


def stop_leaves_nothing(s, what):
    pids = live_children(s.broker.pid)
    check(len(pids) >= 2, "%s: the master has the front and signers as children before "
          "SIGTERM" % what)
    s.stop()
    gone = s.wait_for(lambda: not any(alive(p) for p in pids) or None,
                      "signers gone") if pids else True
    check(gone, "%s: no signer is left after SIGTERM" % what)


# ---- keys live only in the signers ----------------------------------
# OpenSSL's plain C code (OPENSSL_ia32cap=0:0, inherited by the signers):
# which leftovers of a key load later code overwrites depends on the code
# paths OpenSSL picks for the CPU, and on some CPUs the password of a
# traditional key survived on the stack.  Plain C is the same everywhere.
os.environ["OPENSSL_ia32cap"] = "0:0"
os.environ["OPENSSL_armcap"] = "0"
s = Setup(extra_broker="signers = 2\n")
del os.environ["OPENSSL_ia32cap"], os.environ["OPENSSL_armcap"]
master = s.broker.pid
sig = s.wait_for(lambda: (lambda st: st if st["ready"] == 2 else None)(signers_status(s)),
                 "two signers ready")
kids = sorted(p for p in live_children(master) if p != s.front_pid())
check(sig["count"] == 2 and sorted(p["pid"] for p in sig["processes"]) == kids,
      "/v1/status lists both signers with the pids of the master's children (but the front)",
      "%r %r" % (sig, kids))
check(all(title(p).startswith("samlbroker: signer ") for p in kids),
      "ps shows the signers by title", repr([title(p) for p in kids]))
r = subprocess.run([sys.executable, MEMSCAN, "--key-dir", PKCS8, "--self-test"],
                   capture_output=True, text=True)
check(r.returncode == 0, "memscan's self-test finds what a process holds", r.stdout)
scan_front(s, [PKCS8], "after start")
rc, out = memscan(PKCS8, kids, expect_found=True)
check(rc == 0, "the same scan finds both primes (and no password) in every signer", out)

replies = burst(s, 1000, 8, "m")
check(all(getattr(r, "status", None) == 200 for r in replies),
      "1,000 mints through the signers are answered 200",
      repr([r for r in replies if getattr(r, "status", None) != 200][:3]))
scan_front(s, [PKCS8], "after 1,000 mints")
m = s.metrics()
ok = re.search(r'^samlbroker_signer_requests_total\{outcome="ok"\} (\d+)$', m, re.M)
check(ok is not None and int(ok.group(1)) >= 1000, "/metrics counts the signers' mints")
check(re.search(r'^samlbroker_signer_latency_seconds_count (\d+)$', m, re.M) and
      '# TYPE samlbroker_signer_latency_seconds histogram' in m and
      'samlbroker_signer_latency_seconds_bucket{le="+Inf"}' in m,
      "/metrics has the signing latency histogram")
check(re.search(r'^samlbroker_signers 2$', m, re.M) and
      re.search(r'^samlbroker_signers_ready 2$', m, re.M) and
      all('samlbroker_signer_process_id{index="%d",generation="1"} %d' % (i + 1, p["pid"]) in m
          for i, p in enumerate(sorted(sig["processes"], key=lambda p: p["index"]))),
      "/metrics shows count, ready and each signer's pid")

# ---- reload: acme unchanged keeps its cache; badcreds gets a new key --
t1 = s.service_token("reports").json().get("access_token")
saml_before = s.counters()["total"]
old_kids = kids
cert = b64(os.path.join(TRADITIONAL, "cert.pem.b64")).replace("\n", "")
pkey = b64(os.path.join(TRADITIONAL, "key.pem.enc.b64")).replace("\n", "")
with open(os.path.join(TRADITIONAL, "password")) as f:
    pw2 = f.read().strip()
s.secrets.add(pw2)
path = s.tenant_path("badcreds")
with open(path) as f:
    text = pkcs8_text = f.read()
text = re.sub(r"(?m)^certificate = .*$", "certificate = " + cert, text)
text = re.sub(r"(?m)^pkey = .*$", "pkey = " + pkey, text)
text = re.sub(r"(?m)^password = %s$" % re.escape(s.key_password), "password = " + pw2, text)
with open(path, "w") as f:
    f.write(text)
lr = reload_and_wait(s)
check(lr["ok"] is True, "reload with a changed key succeeds", repr(lr))
check(s.service_token("reports").json().get("access_token") == t1 and
      s.counters()["total"] == saml_before, "the unchanged tenant keeps its cache")
r = mint(s, "new@example.com", tenant="badcreds")
xml = base64.b64decode(r.json()["saml_response"]).decode() if r.status == 200 else ""
check(r.status == 200 and "new@example.com" in xml, "the changed tenant mints after reload",
      repr(r))
if shutil.which("xmlsec1"):
    check(verifies(s, xml, TRADITIONAL) and not verifies(s, xml, PKCS8),
          "the changed tenant's assertion verifies with its new certificate only (xmlsec1)")
sig = s.wait_for(lambda: (lambda st: st if st["generation"] == 2 and st["ready"] == 2 and
                          st["draining"] == 0 else None)(signers_status(s)),
                 "new generation ready, old one gone")
kids = s.wait_for(lambda: (lambda k: k if k == sorted(p["pid"] for p in sig["processes"])
                           else None)(signer_children(master)), "old signers reaped")
check(not set(kids) & set(old_kids) and len(kids) == 2,
      "the reload replaced both signers and the old ones exited", "%r %r" % (old_kids, kids))
scan_front(s, [PKCS8, TRADITIONAL], "after a reload")
rc, out = memscan(TRADITIONAL, kids, expect_found=True)
check(rc == 0, "the new signers hold the changed tenant's new key", out)


def new_generation(s, gen):
    """The signers of generation gen once they run and the old ones are gone."""
    sig = s.wait_for(lambda: (lambda st: st if st["generation"] == gen and st["ready"] == 2 and
                              st["draining"] == 0 else None)(signers_status(s)),
                     "generation %d ready, the old one gone" % gen)
    want = sorted(p["pid"] for p in sig["processes"])
    return s.wait_for(lambda: want if signer_children(master) == want else None,
                      "generation %d's signers alone" % gen)


# Every load wipes the password, on both key formats: the changed tenant
# goes back and forth between its PKCS#8 and traditional keys, and every
# generation's signers are scanned.
trad_text, gen = text, 2
for i in range(2):
    for form, tt, kd in (("PKCS#8", pkcs8_text, PKCS8), ("traditional", trad_text, TRADITIONAL)):
        with open(path, "w") as f:
            f.write(tt)
        lr = reload_and_wait(s)
        gen += 1
        check(lr["ok"] is True, "reload %d to a %s key succeeds" % (i + 1, form), repr(lr))
        kids = new_generation(s, gen)
        rc, out = memscan(kd, kids, expect_found=True)
        check(rc == 0, "reload %d to a %s key: the signers hold the key, not its password"
              % (i + 1, form), out)
        if kd == PKCS8:
            rc, out = memscan(TRADITIONAL, kids)
            check(rc == 0, "reload %d to a %s key: nothing of the traditional key is left"
                  % (i + 1, form), out)

# A reload whose keys the signers cannot load keeps the old signers.
with open(path) as f:
    good = f.read()
with open(path, "w") as f:
    f.write(good.replace("password = " + pw2, "password = wrong-password-x"))
lr = reload_and_wait(s)
check(lr["ok"] is False and lr["error"], "a key the signers cannot decrypt fails the reload",
      repr(lr))
check("samlbroker_config_last_reload_successful 0" in s.metrics(),
      "metrics show the failed reload")
check(signers_status(s)["generation"] == gen and signer_children(master) == kids and
      mint(s, "still@example.com", tenant="badcreds").status == 200,
      "the old signers keep signing after the failed reload")
with open(path, "w") as f:
    f.write(good)

# ---- a signer killed during a burst of mints ------------------------
def signed_ok():
    m = re.search(r'^samlbroker_signer_requests_total\{outcome="ok"\} (\d+)$', s.metrics(), re.M)
    return int(m.group(1)) if m else 0


result = {}
ok_before = signed_ok()
th = threading.Thread(target=lambda: result.update(r=burst(s, 400, 16, "k")))
th.start()
s.wait_for(lambda: signed_ok() >= ok_before + 20, "the burst under way")
victim = kids[0]
os.kill(victim, signal.SIGKILL)
th.join()
bad = [r for r in result["r"] if not (getattr(r, "status", None) == 200 or (
    getattr(r, "status", None) == 503 and r.json().get("error") == "signers_busy" and
    r.headers.get("Retry-After")))]
check(not bad, "every mint of the burst is answered 200 (or 503 signers_busy)",
      repr(bad[:3]))
sig = s.wait_for(lambda: (lambda st: st if st["restarts"] >= 1 and st["ready"] == 2
                          else None)(signers_status(s)), "the killed signer restarted")
check(victim not in [p["pid"] for p in sig["processes"]] and
      re.search(r'^samlbroker_signer_restarts_total [1-9]', s.metrics(), re.M),
      "the signer came back with a new pid; status and metrics count the restart")
check(mint(s, "after@example.com").status == 200, "mints work after the restart")
check("event=reload_failed" in open(s.broker_log).read(), "the log shows the failed reload")
check(not s.scan_for_secrets(), "no secret in the logs", repr(s.scan_for_secrets()))
stop_leaves_nothing(s, "two signers")
s.cleanup()

# ---- full queues: 503 signers_busy with Retry-After -----------------
# (and systemd's notify protocol: READY=1 only once the signer is up)
notify_dir = tempfile.mkdtemp(prefix="samlbroker-notify-")
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(os.path.join(notify_dir, "notify"))
notify.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
notes = []


def listen_notify():
    while True:
        try:
            msg, anc, _, _ = notify.recvmsg(4096, socket.CMSG_SPACE(12))
        except OSError:
            return
        pid = next((struct.unpack("3i", d[:12])[0] for lvl, typ, d in anc
                    if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS), 0)
        notes.append((msg.decode(), signer_children(pid) if pid else None))


threading.Thread(target=listen_notify, daemon=True).start()
os.environ["NOTIFY_SOCKET"] = os.path.join(notify_dir, "notify")
s = Setup(extra_broker="signers = 1\nsigner_queue = 1\n")
del os.environ["NOTIFY_SOCKET"]
s.wait_for(lambda: any("READY=1" in msg for msg, _ in notes), "READY=1")
ready = [kids for msg, kids in notes if "READY=1" in msg]
check(ready and len(ready[0]) == 1, "systemd gets READY=1 once the signer runs", repr(notes))
kid = s.wait_for(lambda: (lambda st: st["processes"][0]["pid"] if st["ready"] == 1 else None)(
    signers_status(s)), "one signer ready")
os.kill(kid, signal.SIGSTOP)
held = {}
th = threading.Thread(target=lambda: held.update(r=mint(s, "held@example.com")))
th.start()
s.wait_for(lambda: signers_status(s)["queue_depth"] == 1, "the held mint in the queue")
r = mint(s, "refused@example.com")
check(r.status == 503 and r.json().get("error") == "signers_busy" and
      r.headers.get("Retry-After") == "1",
      "a full queue: saml-response answers 503 signers_busy with Retry-After: 1", repr(r))
r = s.user_token("refused@example.com")
check(r.status == 503 and r.json().get("error") == "signers_busy" and
      r.headers.get("Retry-After") == "1",
      "a full queue: a user token that needs a mint answers 503 signers_busy", repr(r))
os.kill(kid, signal.SIGCONT)
th.join()
check(held["r"].status == 200, "the held mint is answered once the signer runs again")
check(re.search(r'^samlbroker_signer_requests_total\{outcome="busy"\} [1-9]', s.metrics(), re.M),
      "/metrics counts the busy refusals")
stop_leaves_nothing(s, "one signer")
check(any("STOPPING=1" in msg for msg, _ in notes), "systemd gets STOPPING=1 on SIGTERM")
notify.close()
shutil.rmtree(notify_dir, ignore_errors=True)

# ---- signers that cannot start: serve does not start ------------------
path = s.tenant_path("acme")
with open(path) as f:
    text = f.read()
with open(path, "w") as f:
    f.write(text.replace("password = " + s.key_password, "password = not-the-password"))
with open(s.broker_log, "w"):
    pass
p = s.start_broker(expect_exit=True)
log = open(s.broker_log).read()
check(p.returncode not in (0, None) and re.search(
      r'event=startup_failed reason=signers error="signer \d+: .*acme\.cfg: \[saml\] '
      r'password: wrong password for pkey"', log), "a key the signers cannot load stops serve at start, saying so",
      "status %s, log: %s" % (p.returncode, log[-400:]))
check(not live_children(p.pid), "no signer is left by a failed start")
done(s)
