# SPDX-License-Identifier: Apache-2.0
"""The front's sandbox, tested from inside: the test-only front
(tests/samlbroker-front-testclock) probes, once it is up and sandboxed,
opening the tenant file, the key's password file and /etc/passwd,
executing /bin/true and reading its own environment for the key password
(password = env:NAME); every attempt must fail, while tokens and signed
assertions still work and "localhost" still resolves.  The same build with
the sandbox switched off (a switch only the test build has) succeeds at
every one of them, so this test can fail.  Also: the front's environment
holds no variable, the master is titled, and the front is a separate
program."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, skip, SLOW  # noqa: E402

PW_VAR = "SB_TEST_KEY_PASSWORD"


def use_secret_sources(s):
    """acme's key password from the environment, badcreds' from a file."""
    pw_file = os.path.join(s.broker_dir, "badcreds.password")
    with open(pw_file, "w") as f:
        f.write(s.key_password + "\n")
    os.chmod(pw_file, 0o600)
    for name, value in (("acme", "env:" + PW_VAR), ("badcreds", "file:" + pw_file)):
        path = s.tenant_path(name)
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
        text = re.sub(r"(?m)^password = %s$" % re.escape(s.key_password),
                      "password = " + value, text)
        with open(path, "w") as f:
            f.write(text)
    s.pw_file = pw_file


def run(sandbox):
    os.environ[PW_VAR] = key_password
    os.environ["SAMLBROKER_TEST_PROBE"] = "PLACEHOLDER"
    if not sandbox:
        os.environ["SAMLBROKER_TEST_NO_SANDBOX"] = "1"

    def before(s):
        use_secret_sources(s)
        os.environ["SAMLBROKER_TEST_PROBE"] = ",".join([
            "open:" + s.tenant_path("acme"), "open:" + s.pw_file, "open:/etc/passwd",
            "exec:/bin/true", "env:" + PW_VAR, "resolve:localhost"])
    try:
        s = Setup(test_build=True, before_broker=before,
                  extra_broker="signers = 1\n")
    finally:
        for v in (PW_VAR, "SAMLBROKER_TEST_PROBE", "SAMLBROKER_TEST_NO_SANDBOX"):
            os.environ.pop(v, None)
    s.wait_for(lambda: "event=probe what=done" in open(s.broker_log).read(), "the probe")
    return s


def probes(s):
    out = {}
    for m in re.finditer(r"event=probe what=(\w+) (?:path|name)=(\S+) result=(\w+)",
                         open(s.broker_log).read()):
        out[(m.group(1), m.group(2))] = m.group(3)
    return out


# The key password the harness uses, before any Setup exists.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "keys",
                       "vendor-pkcs8", "password")) as f:
    key_password = f.read().strip()

# --- sandboxed ------------------------------------------------------------
s = run(sandbox=True)
log = open(s.broker_log).read()
if "landlock=unavailable" in log:
    s.stop()
    s.cleanup()
    skip("this kernel has no Landlock")
check(re.search(r"event=sandbox landlock=on abi=\d+ seccomp=on", log) is not None,
      "the front says it is sandboxed (Landlock and seccomp)",
      "\n".join(l for l in log.splitlines() if "sandbox" in l))
p = probes(s)
tenant, pw_file = s.tenant_path("acme"), s.pw_file
for key, what in ((("open", tenant), "open the tenant file"),
                  (("open", pw_file), "open the key's password file"),
                  (("open", "/etc/passwd"), "open /etc/passwd"),
                  (("exec", "/bin/true"), "execute /bin/true"),
                  (("env", PW_VAR), "find the key password in its environment")):
    check(p.get(key) == "denied", "the sandboxed front cannot " + what, repr(p.get(key)))
check(p.get(("resolve", "localhost")) == "ok", "the sandboxed front still resolves localhost",
      repr(p.get(("resolve", "localhost"))))
front = s.front_pid()
check(front is not None, "the master has a child titled 'samlbroker: front'")
with open("/proc/%d/environ" % front, "rb") as f:
    env = f.read()
check((PW_VAR + "=").encode() not in env and key_password.encode() not in env,
      "the front's environment holds neither the variable nor the password", repr(env[:200]))
if not SLOW:  # under valgrind the kernel shows valgrind's own command line
    with open("/proc/%d/cmdline" % s.broker.pid, "rb") as f:
        check(f.read().startswith(b"samlbroker: master"),
              "the master is titled 'samlbroker: master'")
check(os.path.basename(os.readlink("/proc/%d/exe" % front)).startswith("samlbroker-front"),
      "the front runs the separate front program", os.readlink("/proc/%d/exe" % front))
# Still a working broker: exchanges upstream over TLS (the CA bundle the
# master read), mints in the signer, answers login questions via the master.
r = s.user_token("agent@example.com")
check(r.status == 200, "a user token through the sandboxed front (env: password)", repr(r))
r = s.request("POST", "/v1/tenants/badcreds/users/agent%40example.com/saml-response")
check(r.status == 200 and "saml_response" in (r.json() or {}),
      "badcreds' key (file: password) signs too", repr(r))
r = s.service_token("ewt")
check(r.status == 200, "a service token through the sandboxed front", repr(r))
s.stop()
s.cleanup()

# --- the same build, sandbox off: every attempt succeeds ----------------
s = run(sandbox=False)
log = open(s.broker_log).read()
check("event=sandbox state=off" in log, "the test build's switch turns the sandbox off")
p = probes(s)
for key, what in ((("open", s.tenant_path("acme")), "opens the tenant file"),
                  (("open", s.pw_file), "opens the key's password file"),
                  (("open", "/etc/passwd"), "opens /etc/passwd"),
                  (("exec", "/bin/true"), "executes /bin/true"),
                  (("env", PW_VAR), "finds the key password in its environment")):
    check(p.get(key) == "ok", "without the sandbox the probe " + what, repr(p.get(key)))
done(s)
