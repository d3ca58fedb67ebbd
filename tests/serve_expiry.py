# SPDX-License-Identifier: Apache-2.0
"""Signing certificates near and past their end, made by the test
(`samlbroker keygen --days 10`, a staged next key of 5 days).

Covers: check warns for the current and the next certificate ("expires on
... (in N days)") and prints the rollover state; /metrics exports
samlbroker_tenant_certificate_expiry_seconds for which="current" and
which="next"; the broker logs event=certificate_expiry for each at start
and after a reload, and again a day later;
with the clock moved 11 days on, the broker logs event=certificate_expired,
/readyz stays 200, an agent token is refused with 503
certificate_expired while a service token is still served, /v1/status and
`samlbroker status` show the expired certificate, and check fails with
"[saml] certificate: expired on ...".
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BROKER, BROKER_TESTCLOCK, WRAPPER, Setup, check, done,  # noqa: E402
                     wait_seconds, _printed)

PASSWORD = "expiry-pw-%s" % os.urandom(6).hex()
DAY = 86400


def before(s):
    """The current key: a 10-day certificate made by keygen, in files."""
    s.keydir = os.path.join(s.dir, "keys")
    s.pw_file = os.path.join(s.dir, "key-password")
    with open(s.pw_file, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(s.pw_file, 0o600)
    p = subprocess.run([BROKER, "keygen", "--out", s.keydir, "--days", "10",
                        "--issuer", "https://www.genesys.com/pureengage/acme",
                        "--password-file", s.pw_file], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    path = s.tenant_path("acme")
    with open(path) as f:
        text = f.read()
    text = re.sub(r"(?m)^certificate = .*$", "certificate = file:%s/cert.pem.b64" % s.keydir, text)
    text = re.sub(r"(?m)^pkey = .*$", "pkey = file:%s/key.pem.enc.b64" % s.keydir, text)
    text = re.sub(r"(?m)^password = %s$" % re.escape(s.key_password),
                  "password = file:" + s.pw_file, text)
    with open(path, "w") as f:
        f.write(text)


s = Setup(test_clock=True, provisioning=True, emu_provider=False, before_broker=before)
s.secrets.add(PASSWORD)
conf = os.path.join(s.broker_dir, "samlbroker.conf")


def run(binary, *args, env=None):
    p = subprocess.run(WRAPPER + [binary] + list(args), capture_output=True, text=True,
                       env=env, timeout=max(120, 10 * wait_seconds()))
    _printed.append(p.stdout + p.stderr)
    return p


def log():
    with open(s.broker_log) as f:
        return f.read()


def metric(which):
    m = re.search(r'(?m)^samlbroker_tenant_certificate_expiry_seconds\{tenant="acme",'
                  r'which="%s"\} (\d+)$' % which, s.metrics())
    return int(m.group(1)) if m else None


p = run(BROKER, "provision", "-c", conf, "-t", "acme", "--sso-target",
        "https://apps.mypurecloud.com")
check(p.returncode == 0, "the 10-day certificate is provisioned", p.stdout + p.stderr)
r = s.user_token("agent.before@example.com")
check(r.status == 200, "an agent token with the 10-day certificate", repr(r))

# --- a next key of 5 days staged ------------------------------------------
p = run(BROKER, "rollover", "stage", "-c", conf, "-t", "acme", "--days", "5",
        "--password-file", s.pw_file)
check(p.returncode == 0, "a 5-day next key staged", p.stdout + p.stderr)
p = run(BROKER, "check", "-c", conf)
out = p.stdout + p.stderr
check(p.returncode == 0 and re.search(r"\[saml\] certificate: expires on \S+ \(in 10 days\)", out)
      and re.search(r"\[saml\] next_certificate: expires on \S+ \(in 5 days\)", out)
      and "rollover=staged next_expires=" in out,
      "check warns for the current and the next certificate, exit 0, and shows the rollover",
      out)
before_count = s.get("/v1/status").json()["last_reload"]["count"]
s.broker.send_signal(signal.SIGHUP)
s.wait_for(lambda: s.get("/v1/status").json()["last_reload"]["count"] > before_count,
           "the reload")
now = time.time()
cur, nxt = metric("current"), metric("next")
check(cur is not None and abs(cur - (now + 10 * DAY)) < 3600 and
      nxt is not None and abs(nxt - (now + 5 * DAY)) < 3600,
      "/metrics: samlbroker_tenant_certificate_expiry_seconds for current and next",
      repr((cur, nxt, now)))
s.wait_for(lambda: re.search(r"event=certificate_expiry tenant=acme which=current "
                             r"not_after=\S+ days_left=10", log()) and
           re.search(r"event=certificate_expiry tenant=acme which=next not_after=\S+ "
                     r"days_left=5", log()), "the expiry warnings in the log")
check(True, "the broker logs event=certificate_expiry for both at start and reload")
st = s.get("/v1/status").json()["tenants"][0]
check(st["rollover"]["state"] == "staged" and st["certificate"]["expired"] is False and
      "not_after" in st["rollover"]["next"],
      "/v1/status shows the rollover state and the next certificate's end", repr(st))

# A day later the lines come again (days_left one less).
s.set_clock(DAY + 60)
s.wait_for(lambda: re.search(r"event=certificate_expiry tenant=acme which=current "
                             r"not_after=\S+ days_left=9", log()), "the next day's line")
check(True, "a day later the broker logs event=certificate_expiry again")

# --- 11 days later ----------------------------------------------------------
r = s.service_token("ewt")
check(r.status == 200, "a service token before the clock moves", repr(r))
s.set_clock(11 * DAY)
s.wait_for(lambda: re.search(r"level=error event=certificate_expired tenant=acme "
                             r"which=current", log()), "the expired line in the log")
check(True, "the broker logs event=certificate_expired at level=error once it ends")
check(s.get("/readyz").status == 200, "/readyz stays 200: a tenant failure, not the process's")
r = s.user_token("agent.after@example.com")
check(r.status == 503 and r.json().get("error") == "certificate_expired",
      "an agent token: 503 certificate_expired", repr(r))
r = s.service_token("ewt")
check(r.status == 200, "a service token is still served", repr(r))
st = s.get("/v1/status").json()["tenants"][0]
check(st["certificate"]["expired"] is True and
      st["upstream"]["last_error"] == "certificate_expired",
      "/v1/status: the certificate expired, the tenant's last error", repr(st))
env = dict(os.environ, SAMLBROKER_TEST_CLOCK_FILE=s.clock_file)
p = run(BROKER_TESTCLOCK, "status", "-s", "unix:" + s.socket, env=env)
check(p.returncode == 0 and "CERTIFICATE EXPIRED" in p.stdout and
      "rollover staged; next certificate expires" in p.stdout,
      "samlbroker status: CERTIFICATE EXPIRED and the rollover", p.stdout + p.stderr)
p = run(BROKER_TESTCLOCK, "check", "-c", conf, env=env)
check(p.returncode == 1 and re.search(r"\[saml\] certificate: expired on ", p.stdout + p.stderr),
      "check 11 days later: [saml] certificate: expired on ..., exit 1", p.stdout + p.stderr)
s.set_clock(0)
done(s)
