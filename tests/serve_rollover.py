# SPDX-License-Identifier: Apache-2.0
"""A signing key's rollover under load: `samlbroker rollover stage`,
`activate --reload` and `retire` while 4 threads fetch agent tokens, each
for a new address (a mint and an exchange each): no request fails.

Covers: stage puts the tenant file back (and removes the key it made) when
the configuration would not load with it; stage makes the next key beside the current key's file (0600),
writes next_* into the tenant file keeping every other byte, publishes
certificate = current, certificates = [current, next] on the emulator's
record, and a second run changes nothing; activate refuses while the
record does not list the next certificate; activate --dry-run changes
nothing; after activate and its reload every new assertion verifies with
the new certificate only (xmlsec1) and a token cached before is still
served; retire leaves the record with the new certificate only, removes
previous_* from the tenant file and the old key's file from disk; a
staged key that does not decrypt fails check and the reload (the old
generation keeps serving); the emulator refuses a record with more than 5 certificates and accepts an
assertion signed by any certificate of the list.
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BROKER, WRAPPER, Setup, check, done, pem_body,  # noqa: E402
                     wait_seconds, _printed)

if shutil.which("xmlsec1") is None:
    print("SKIP: xmlsec1 is not installed")
    sys.exit(77)

NEXT_PASSWORD = "next-pw-%s" % os.urandom(6).hex()
COMMENT = "; kept as it is: a comment inside [saml]\n"


def before(s):
    """The current key in a file of its own (retire wipes it), a comment
    in [saml], and the next key's password file."""
    s.keydir = os.path.join(s.dir, "keys")
    os.makedirs(s.keydir, mode=0o700)
    s.old_key = os.path.join(s.keydir, "acme-old.key.b64")
    shutil.copy(os.path.join(s.keys, "key.pem.enc.b64"), s.old_key)
    os.chmod(s.old_key, 0o600)
    s.pw_file = os.path.join(s.keydir, "next-password")
    with open(s.pw_file, "w") as f:
        f.write(NEXT_PASSWORD + "\n")
    os.chmod(s.pw_file, 0o600)
    path = s.tenant_path("acme")
    with open(path) as f:
        text = f.read()
    text = re.sub(r"(?m)^pkey = .*$", "pkey = file:" + s.old_key, text)
    text = text.replace("expire_time = 24\n", "expire_time = 24\n" + COMMENT)
    with open(path, "w") as f:
        f.write(text)


s = Setup(provisioning=True, before_broker=before, extra_broker="signers = 2\n")
s.secrets.add(NEXT_PASSWORD)
conf = os.path.join(s.broker_dir, "samlbroker.conf")
tenant_file = s.tenant_path("acme")
old_cert_body = pem_body(os.path.join(s.keys, "cert.pem"))


def rollover(*args):
    p = subprocess.run(WRAPPER + [BROKER, "rollover"] + list(args) + ["-t", "acme", "-c", conf],
                       capture_output=True, text=True, timeout=max(120, 10 * wait_seconds()))
    _printed.append(p.stdout + p.stderr)
    return p


def api(method, path, body=None):
    """The emulator's platform API over HTTPS, as the admin client."""
    return s.platform_api(method, path, body)


def record():
    return api("GET", "/api/v2/identityproviders/pureengage")[1]


def status():
    return s.get("/v1/status").json()


def wait_reload(before_count):
    st = s.wait_for(lambda: (lambda j: j if j["last_reload"]["count"] > before_count
                             else None)(status()), "the reload")
    check(st["last_reload"]["ok"] is True, "the reload succeeded", repr(st["last_reload"]))


def tenant_saml(name):
    with open(tenant_file) as f:
        m = re.search(r"(?m)^%s = (.*)$" % name, f.read())
    return m.group(1) if m else None


def verifies(xml, cert_pem):
    """xmlsec1 checks the Assertion's signature with cert_pem only."""
    aid = re.search(r'<(?:saml2?:)?Assertion[^>]*\sID="([^"]+)"', xml).group(1)
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "r.xml"), "w") as f:
            f.write(xml)
        with open(os.path.join(d, "c.pem"), "w") as f:
            f.write(cert_pem)
        p = subprocess.run(["xmlsec1", "--verify", "--enabled-reference-uris", "same-doc",
                            "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                            "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
                            "--pubkey-cert-pem", os.path.join(d, "c.pem"),
                            "--node-id", aid, os.path.join(d, "r.xml")],
                           capture_output=True, text=True)
    return p.returncode == 0


def mint_xml(email):
    from urllib.parse import quote
    r = s.request("POST", "/v1/tenants/acme/users/%s/saml-response" % quote(email, safe=""))
    assert r.status == 200, repr(r)
    return base64.b64decode(r.json()["saml_response"]).decode()


# --- 4 workers, each request a new address --------------------------------
stop = threading.Event()
lock = threading.Lock()
results = {"ok": 0, "failed": []}


def worker(i):
    n = 0
    while not stop.is_set():
        n += 1
        r = s.user_token("w%d.n%d@example.com" % (i, n))
        with lock:
            if r.status == 200:
                results["ok"] += 1
            else:
                results["failed"].append(repr(r)[:200])


def progress(more):
    """Waits until the workers got more tokens."""
    with lock:
        goal = results["ok"] + more
    s.wait_for(lambda: results["ok"] >= goal, "%d more tokens" % more)


r = s.user_token("cached@example.com")
check(r.status == 200, "a token cached before the rollover", repr(r))
cached = r.json()["access_token"]
s.tokens_seen.add(cached)
threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(4)]
for t in threads:
    t.start()
progress(8)

# --- stage --------------------------------------------------------------
with open(tenant_file, "rb") as f:
    before_stage = f.read()
# A password file others may read: the configuration would not load with
# it, so stage puts the tenant file back and removes the key it made.
loose_pw = os.path.join(s.dir, "loose-password")
with open(loose_pw, "w") as f:
    f.write(NEXT_PASSWORD + "\n")
os.chmod(loose_pw, 0o644)
keys_before = sorted(os.listdir(s.keydir))
p = rollover("stage", "--password-file", loose_pw)
with open(tenant_file, "rb") as f:
    check(p.returncode == 1 and "it is back as it was" in p.stderr and
          "lets other users read" in p.stderr and f.read() == before_stage and
          sorted(os.listdir(s.keydir)) == keys_before,
          "stage with a password file others may read: refused, the tenant file "
          "and the key directory as they were", p.stdout + p.stderr)
mode_before = os.stat(tenant_file).st_mode & 0o7777
p = rollover("stage", "--password-file", s.pw_file)
check(p.returncode == 0 and "identity provider: updated" in p.stdout,
      "stage: exit 0, the identity provider updated", p.stdout + p.stderr)
next_cert_path = (tenant_saml("next_certificate") or "file:")[5:]
next_key_path = (tenant_saml("next_pkey") or "file:")[5:]
check(os.path.dirname(next_cert_path) == s.keydir and os.path.isfile(next_key_path) and
      os.stat(next_key_path).st_mode & 0o777 == 0o600 and
      tenant_saml("next_password") == "file:" + os.path.realpath(s.pw_file),
      "stage: the next key beside the current one (0600), next_* in the tenant file",
      repr((next_cert_path, next_key_path)))
with open(tenant_file, "rb") as f:
    after_stage = f.read()
kept = b"".join(ln for ln in after_stage.splitlines(True) if not ln.startswith(b"next_"))
check(kept == before_stage and os.stat(tenant_file).st_mode & 0o7777 == mode_before,
      "stage: every other byte of the tenant file kept (BOM, comments), its mode too")
with open(next_cert_path) as f:
    next_pem = base64.b64decode(f.read()).decode()
next_body = "".join(next_pem.strip().splitlines()[1:-1])
rec = record()
check(rec["certificate"] == old_cert_body and rec.get("certificates") == [old_cert_body, next_body],
      "stage: the record's certificate is the current one, certificates [current, next]",
      repr({k: v for k, v in rec.items() if k.startswith("cert")})[:300])
p = rollover("stage", "--password-file", s.pw_file)
check(p.returncode == 0 and "staged already" in p.stdout and "(no change)" in p.stdout and
      "updated" not in p.stdout,
      "stage again: nothing changes and it says so", p.stdout + p.stderr)
with open(tenant_file, "rb") as f:
    check(f.read() == after_stage, "stage again: the tenant file is untouched")
p = subprocess.run(WRAPPER + [BROKER, "check", "-c", conf], capture_output=True, text=True)
check(p.returncode == 0, "check accepts the staged key", p.stdout + p.stderr)

# A reload with the next key staged: its tokens are kept.
n0 = status()["last_reload"]["count"]
s.broker.send_signal(signal.SIGHUP)
wait_reload(n0)
progress(8)

# --- activate -------------------------------------------------------------
# Unpublished on the platform: activate refuses.
api("PUT", "/api/v2/identityproviders/pureengage",
    dict({k: v for k, v in rec.items() if k != "selfUri"}, certificates=[old_cert_body]))
p = rollover("activate")
check(p.returncode == 1 and "does not list the next certificate" in p.stderr,
      "activate refuses while the record does not list the next certificate",
      p.stdout + p.stderr)
p = rollover("stage", "--password-file", s.pw_file)
check(p.returncode == 0 and "identity provider: updated" in p.stdout,
      "stage again publishes the next certificate again", p.stdout + p.stderr)
p = rollover("activate", "--dry-run")
with open(tenant_file, "rb") as f:
    check(p.returncode == 0 and f.read() == after_stage,
          "activate --dry-run: exit 0, the tenant file untouched", p.stdout + p.stderr)
pid_file = os.path.join(s.dir, "broker.pid")
with open(pid_file, "w") as f:
    f.write("%d\n" % s.broker.pid)
n0 = status()["last_reload"]["count"]
p = rollover("activate", "--reload", "--pid-file", pid_file)
check(p.returncode == 0 and "sent SIGHUP" in p.stdout, "activate --reload: exit 0, SIGHUP sent",
      p.stdout + p.stderr)
wait_reload(n0)
check(tenant_saml("certificate") == "file:" + next_cert_path and
      tenant_saml("pkey") == "file:" + next_key_path and
      tenant_saml("previous_pkey") == "file:" + s.old_key and
      tenant_saml("previous_certificate") is not None and tenant_saml("next_pkey") is None,
      "activate: certificate/pkey/password are the next ones, previous_* the old")
progress(8)
xml = mint_xml("after.activate@example.com")
old_pem = open(os.path.join(s.keys, "cert.pem")).read()
check(verifies(xml, next_pem) and not verifies(xml, old_pem),
      "after activate an assertion verifies with the new certificate only (xmlsec1)")
r = s.user_token("cached@example.com")
check(r.status == 200 and r.json()["access_token"] == cached,
      "the token cached before the rollover is still served after activate", repr(r))
p = rollover("activate")
check(p.returncode == 0 and "activated already" in p.stdout, "activate again: nothing to do",
      p.stdout + p.stderr)

# --- retire ---------------------------------------------------------------
# The old key's file removed by hand: a dry run says it is gone, not that
# it would be overwritten.
os.rename(s.old_key, s.old_key + ".aside")
p = rollover("retire", "--dry-run")
os.rename(s.old_key + ".aside", s.old_key)
check(p.returncode == 0 and "%s is gone already (nothing to wipe)" % s.old_key in p.stdout and
      "overwrite" not in p.stdout, "retire --dry-run: an old key file already gone is said so",
      p.stdout + p.stderr)
p = rollover("retire")
check(p.returncode == 0 and "overwrote with zeros and removed " + s.old_key in p.stdout,
      "retire: exit 0, the old key wiped", p.stdout + p.stderr)
rec = record()
check(rec["certificate"] == next_body and rec.get("certificates") == [next_body],
      "retire: the record holds only the new certificate",
      repr({k: v for k, v in rec.items() if k.startswith("cert")})[:300])
check(not os.path.exists(s.old_key) and tenant_saml("previous_certificate") is None and
      tenant_saml("previous_pkey") is None,
      "retire: the old key's file is gone, previous_* out of the tenant file")
p = rollover("retire")
check(p.returncode == 0 and "nothing to retire" in p.stdout, "retire again: nothing to do",
      p.stdout + p.stderr)
n0 = status()["last_reload"]["count"]
s.broker.send_signal(signal.SIGHUP)
wait_reload(n0)
progress(8)

# The admin's own files (the vendor's openssl steps), in a dry run.
trad = os.path.join(os.path.dirname(s.keys), "vendor-traditional")
with open(tenant_file, "rb") as f:
    before_dry = f.read()
p = rollover("stage", "--dry-run", "--cert", os.path.join(trad, "cert.pem.b64"),
             "--key", os.path.join(trad, "key.pem.enc.b64"),
             "--password-file", os.path.join(trad, "password"))
with open(tenant_file, "rb") as f:
    check(p.returncode == 0 and "next key from " in p.stdout and
          "dry run: nothing written" in p.stdout and f.read() == before_dry and
          record()["certificates"] == [next_body],
          "stage --dry-run with the admin's --cert/--key: checked, printed, nothing written",
          p.stdout + p.stderr)

# A broken staged key fails the reload that would load it, not the
# activation: the running generation keeps serving.
with open(tenant_file) as f:
    good = f.read()
bad_pw = os.path.join(s.keydir, "wrong-password")
with open(bad_pw, "w") as f:
    f.write("not-the-password\n")
os.chmod(bad_pw, 0o600)
with open(tenant_file, "w") as f:
    f.write(good.replace("expire_time = 24\n", "expire_time = 24\nnext_certificate = file:%s\n"
                         "next_pkey = file:%s\nnext_password = file:%s\n"
                         % (next_cert_path, next_key_path, bad_pw)))
p = subprocess.run(WRAPPER + [BROKER, "check", "-c", conf], capture_output=True, text=True)
check(p.returncode == 1 and "[saml] next_" in p.stdout + p.stderr,
      "check refuses a staged key that does not decrypt, naming [saml] next_",
      p.stdout + p.stderr)
n0 = status()["last_reload"]["count"]
s.broker.send_signal(signal.SIGHUP)
st = s.wait_for(lambda: (lambda j: j if j["last_reload"]["count"] > n0 else None)(status()),
                "the refused reload")
check(st["last_reload"]["ok"] is False, "a reload with a broken staged key is refused",
      repr(st["last_reload"]))
with open(tenant_file, "w") as f:
    f.write(good)
progress(8)

stop.set()
for t in threads:
    t.join()
check(not results["failed"] and results["ok"] >= 40,
      "0 failed requests across stage, activate and retire (%d tokens)" % results["ok"],
      "\n".join(results["failed"][:5]))

# --- the emulator's certificate list --------------------------------------
rec = record()
base = {k: v for k, v in rec.items() if k != "selfUri"}
st, body = api("PUT", "/api/v2/identityproviders/pureengage",
               dict(base, certificates=[next_body] * 6))
check(st == 400 and "at most 5" in json.dumps(body),
      "the emulator refuses a record with 6 certificates", repr((st, body)))
st, body = api("PUT", "/api/v2/identityproviders/pureengage",
               dict(base, certificate=old_cert_body, certificates=[old_cert_body, next_body]))
r = s.user_token("listed.second@example.com")
check(st == 200 and r.status == 200,
      "the emulator accepts an assertion signed by the list's second certificate", repr(r))
done(s)
