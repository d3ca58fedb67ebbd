# SPDX-License-Identifier: Apache-2.0
"""samlbroker provision and check --online against the emulator's platform
API, end to end: the emulator starts with no identity provider and trusts,
for SAML2 Bearer, only what `provision` stores.

Covers: a token refused before provision and served after it; create, a
no-op second run, a dry run, an update after a certificate change, a
duplicate issuer refused, 403 from a non-admin client, 429 then success;
check --online with each mismatch of the vendor's troubleshooting list
producing its own FAIL line and exit 1; no secret or token in any output;
PureCloud's error text printed without terminal controls.
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BROKER, TOP_SRCDIR, WRAPPER, Setup, check, done,  # noqa: E402
                     pem_body, redact, scaled, wait_seconds, _printed)

# Under a wrapper the Setup scales request_timeout, and the timeout test
# below waits longer with it.
s = Setup(emu_provider=False, provisioning=True, request_timeout=3)
TIMEOUT = s.request_timeout
conf = os.path.join(s.broker_dir, "samlbroker.conf")
ISSUER = "https://www.genesys.com/pureengage/acme"


def run(*args, config=conf):
    p = subprocess.run(WRAPPER + [BROKER] + list(args[:1]) + ["-c", config] + list(args[1:]),
                       capture_output=True, text=True, timeout=max(120, 10 * wait_seconds()))
    _printed.append(p.stdout + p.stderr)  # searched for secrets at the end
    return p


def provision(*extra, config=conf):
    return run("provision", "-t", "acme", "--sso-target", "https://apps.mypurecloud.com",
               *extra, config=config)


def online(*extra, config=conf):
    return run("check", "--online", "-t", "acme", *extra, config=config)


def fails(p):
    return [ln.strip() for ln in p.stdout.splitlines() if ln.strip().startswith("FAIL")]


def api(method, path, body=None, client="admin-client-acme", secret=None):
    return s.platform_api(method, path, body, client, secret)


def record():
    return api("GET", "/api/v2/identityproviders/pureengage")


def puts():
    with open(s.emu_log) as f:
        return len(re.findall(r"request method=PUT path=/api/v2/identityproviders/pureengage "
                              r"status=200", f.read()))


def variant(name, edit):
    """A copy of the broker's configuration with acme's tenant file edited."""
    d = os.path.join(s.dir, "variant-" + name)
    shutil.copytree(s.broker_dir, d)
    path = os.path.join(d, "tenants", "acme.cfg")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(edit(text))
    return os.path.join(d, "samlbroker.conf")


# --- before provision: the emulator trusts nothing ------------------------
r = s.user_token("first@example.com")
with open(s.emu_log) as f:
    why = "the organization has no PureEngage identity provider" in f.read()
check(r.status == 502 and r.json().get("upstream_error") == "invalid_grant" and why,
      "token refused before provision (the emulator has no provider)", repr(r))
p = online()
check(p.returncode == 1 and any("PureEngage does not exist" in ln for ln in fails(p)),
      "check --online: no identity provider is a FAIL", p.stdout + p.stderr)
check("[provisioning] client credentials token granted" in p.stdout and
      "[ewt] client credentials token granted" in p.stdout and
      "[saml_auth] secret accepted" in p.stdout and "organization_id matches" in p.stdout,
      "check --online: clients and organization ok", p.stdout)
p = run("check")
check(p.returncode == 0 and "services=ewt,reports rollover=none\n" in p.stdout,
      "[provisioning] is not a service", p.stdout + p.stderr)

# --- dry run, create, no-op -----------------------------------------------
p = provision("--dry-run")
check(p.returncode == 0 and "+ issuerURI: \"%s\"" % ISSUER in p.stdout and
      "dry run: 7 field(s) would change" in p.stdout,
      "dry run prints the fields", p.stdout + p.stderr)
check(record()[0] == 404, "dry run wrote nothing")
p = provision()
check(p.returncode == 0 and "identity provider PureEngage: created" in p.stdout,
      "provision creates", p.stdout + p.stderr)
st, rec = record()
check(st == 200 and rec["issuerURI"] == ISSUER and rec["autoProvisionUsers"] is True and
      rec["disabled"] is False and rec["name"] == "PureEngage" and
      rec["ssoTargetURI"] == "https://apps.mypurecloud.com" and
      rec["certificate"] == pem_body(os.path.join(s.keys, "cert.pem")) and
      rec["nameIdentifierFormat"] == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      "the stored record is the vendor's body, with the assertions' NameID format", repr(rec))
check(puts() == 1, "one PUT")
p = provision()
check(p.returncode == 0 and "no change" in p.stdout and puts() == 1,
      "second run changes nothing", p.stdout + p.stderr)

# --- after provision: the emulator trusts what was stored -----------------
r = s.user_token("second@example.com")
check(r.status == 200, "token served after provision", repr(r))
p = online("--user", "third@example.com")
check(p.returncode == 0 and "online checks OK" in p.stdout and not fails(p) and
      "SAML2 Bearer token granted for third@example.com" in p.stdout,
      "check --online passes, with a full exchange", p.stdout + p.stderr)

# --- 429 then success -------------------------------------------------------
s.emu("POST", "/emulator/faults", {"status": 429, "retry_after": 1, "count": 1,
                                    "endpoint": "api"})
p = provision()
check(p.returncode == 0 and "429 Too Many Requests; trying again in 1 s" in p.stderr and
      "no change" in p.stdout, "429 with Retry-After, then success", p.stdout + p.stderr)
s.emu("POST", "/emulator/faults", {"status": 503, "endpoint": "api"})
p = provision()
check(p.returncode == 4 and "HTTP 503" in p.stderr, "5xx: exit 4", p.stdout + p.stderr)
s.emu("POST", "/emulator/faults", {"delay_ms": int((TIMEOUT + scaled(1.5, 2, 60)) * 1000), "endpoint": "api",
                                    "count": 1})
p = provision()
check(p.returncode == 4 and "timed out" in p.stderr, "a timeout (request_timeout): exit 4",
      p.stdout + p.stderr)
s.emu("DELETE", "/emulator/faults")

# --- PureCloud's text reaches no terminal control ---------------------------
# ESC (a screen clear and a title), BEL, CR (overwrites the line), DEL and
# a C1 CSI (U+009B) in every text field of an error answer.  Raw bytes:
# text mode would turn the CR into a newline.
EVIL = "evil\u001b[2J\u001b]0;owned\u0007\rfake ok\u007f\u009b31m"
CONTROLS = (b"\x1b", b"\r", b"\x07", b"\x7f", b"\xc2\x9b")


def run_raw(*args):
    p = subprocess.run(WRAPPER + [BROKER] + list(args[:1]) + ["-c", conf] + list(args[1:]),
                       capture_output=True, timeout=max(120, 10 * wait_seconds()))
    _printed.append((p.stdout + p.stderr).decode("utf-8", "replace"))
    return p


s.emu("POST", "/emulator/faults", {"status": 400, "endpoint": "any", "body": json.dumps(
    {"message": EVIL, "error": EVIL, "error_description": EVIL})})
for argv in (("provision", "-t", "acme", "--sso-target", "https://apps.mypurecloud.com"),
             ("check", "--online", "-t", "acme")):
    p = run_raw(*argv)
    out = p.stdout + p.stderr
    check(p.returncode != 0 and b"HTTP 400: evil?[2J?]0;owned??fake ok" in out and
          not any(c in out for c in CONTROLS),
          "%s: the server's text is printed without its control bytes" % argv[0], repr(out))
s.emu("DELETE", "/emulator/faults")

# --- 403 from a non-admin client ------------------------------------------
nonadmin = variant("nonadmin", lambda t: t.replace(
    "client_id = admin-client-acme\npassword = adm-%s" % s.ewt_secret,
    "client_id = ewt-client-acme\npassword = %s" % s.ewt_secret))
p = provision(config=nonadmin)
check(p.returncode == 3 and "HTTP 403" in p.stderr and "oauth:client:view" in p.stderr,
      "403 from a non-admin client: exit 3, says which permission", p.stdout + p.stderr)
nosso = variant("nosso", lambda t: t.replace(
    "client_id = admin-client-acme\npassword = adm-%s" % s.ewt_secret,
    "client_id = oauthadmin-client-acme\npassword = oa-%s" % s.ewt_secret))
p = provision(config=nosso)
check(p.returncode == 3 and "HTTP 403" in p.stderr and "sso:provider:add" in p.stderr and
      "= [ewt] OAuth client ewt-client-acme: CLIENT-CREDENTIALS, active" in p.stdout,
      "403 from a client without sso:provider:*: exit 3, says which permissions",
      p.stdout + p.stderr)
wrongapi = variant("wrongapi", lambda t: t.replace(
    "https://127.0.0.1:%d/api/" % s.emu_https, "https://127.0.0.1:%d/v1/" % s.emu_https))
p = provision(config=wrongapi)
check(p.returncode == 1 and "HTTP 404" in p.stderr and "base_service_url" in p.stderr,
      "a 404 from a wrong API base: exit 1 with a hint", p.stdout + p.stderr)
badadmin = variant("badadmin", lambda t: t.replace("password = adm-", "password = wrong-"))
p = provision(config=badadmin)
check(p.returncode == 3 and "HTTP 401" in p.stderr, "401 for a wrong admin secret: exit 3",
      p.stdout + p.stderr)

# --- update after a certificate change ------------------------------------
trad = os.path.join(TOP_SRCDIR, "tests", "data", "keys", "vendor-traditional")


def other_key(t):
    with open(os.path.join(trad, "password")) as f:
        pw = f.read().strip()
    s.secrets.add(pw)
    cert = open(os.path.join(trad, "cert.pem.b64")).read().replace("\n", "")
    pkey = open(os.path.join(trad, "key.pem.enc.b64")).read().replace("\n", "")
    t = re.sub(r"(?m)^certificate = .*$", "certificate = " + cert, t)
    t = re.sub(r"(?m)^pkey = .*$", "pkey = " + pkey, t)
    return re.sub(r"(?m)^password = %s$" % re.escape(s.key_password), "password = " + pw, t)


newcert = variant("newcert", other_key)
p = online("--user", "fourth@example.com", config=newcert)
check(p.returncode == 1 and any("does not hold the configured certificate" in ln
                                for ln in fails(p)) and
      any("SAML2 Bearer for fourth@example.com" in ln for ln in fails(p)),
      "check --online: another certificate fails, and so does the exchange", p.stdout)
p = provision(config=newcert)
check(p.returncode == 0 and "~ certificate: SHA-256" in p.stdout and
      "identity provider PureEngage: updated" in p.stdout and puts() == 2,
      "provision updates after a certificate change", p.stdout + p.stderr)
check(record()[1]["certificate"] == pem_body(os.path.join(trad, "cert.pem")),
      "the new certificate is stored")
p = online("--user", "fifth@example.com", config=newcert)
check(p.returncode == 0 and not fails(p), "the new key's assertions are trusted",
      p.stdout + p.stderr)
p = provision()
check(p.returncode == 0 and "updated" in p.stdout, "back to the first certificate",
      p.stdout + p.stderr)

# --- check --online: each mismatch its own FAIL line ------------------------
base = record()[1]


def mismatch(what, change, expect, config=conf):
    if change is not None:
        rec = dict(base)
        rec.update(change)
        st, _ = api("PUT", "/api/v2/identityproviders/pureengage", rec)
        check(st == 200, "%s: record stored" % what)
    p = online(config=config)
    f = fails(p)
    check(p.returncode == 1 and len(f) == 1 and expect in f[0],
          "check --online: %s is one FAIL line" % what, p.stdout + p.stderr)
    if change is not None:
        api("PUT", "/api/v2/identityproviders/pureengage", base)


mismatch("autoProvisionUsers false", {"autoProvisionUsers": False},
         "autoProvisionUsers is not true")
mismatch("another issuerURI", {"issuerURI": ISSUER + "/"}, 'issuerURI is "%s/"' % ISSUER)
mismatch("a disabled provider", {"disabled": True}, "identity provider is disabled")
mismatch("another NameID format",
         {"nameIdentifierFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"},
         "nameIdentifierFormat is")
mismatch("organization_id", None, "organization_id is",
         config=variant("orgid", lambda t: re.sub(
             r"(?m)^organization_id = .*$",
             "organization_id = 00000000-0000-4000-8000-000000000000", t)))
mismatch("organization_sname", None, "organization_sname is acme2",
         config=variant("sname", lambda t: t.replace(
             "organization_sname = acme\n", "organization_sname = acme2\n")))
mismatch("a wrong service secret", None, "[ewt] token request: HTTP 401",
         config=variant("ewtsecret", lambda t: t.replace(
             "password = %s\n" % s.ewt_secret, "password = wrong-secret\n", 1)))
mismatch("a wrong saml_auth secret", None, "[saml_auth] client id or secret refused",
         config=variant("samlsecret", lambda t: t.replace(s.client_secret, "wrong-secret")))
# Another CA: nothing verifies, the first two lines say why.
other_ca = os.path.join(s.dir, "variant-ca", "samlbroker.conf")
shutil.copytree(s.broker_dir, os.path.dirname(other_ca))
with open(other_ca) as f:
    text = f.read().replace(s.ca_file, os.path.join(trad, "cert.pem"))
with open(other_ca, "w") as f:
    f.write(text)
p = online(config=other_ca)
f = fails(p)
check(p.returncode == 1 and len(f) >= 2 and
      f[0].startswith("FAIL  token endpoint (base_auth_url):") and
      f[1].startswith("FAIL  API host (base_service_url):") and "ca_file" in f[0],
      "check --online: TLS not verified is a FAIL with a hint", p.stdout)

# --- through the configured proxy (the vendor's "opening your network") ----
import select  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402

tunnels = []


def proxy_serve(lsock):
    """A CONNECT proxy that tunnels to loopback and remembers each target."""
    while True:
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.recv(4096)
            if not chunk:
                break
            head += chunk
        parts = head.split(b" ")
        if len(parts) < 2 or parts[0] != b"CONNECT":
            c.close()
            continue
        host, port = parts[1].decode().rsplit(":", 1)
        tunnels.append(parts[1].decode())
        u = socket.create_connection((host, int(port)))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(a, b):
            try:
                while True:
                    r, _, _ = select.select([a, b], [], [], 60)
                    if not r:
                        break
                    for x in r:
                        data = x.recv(65536)
                        if not data:
                            return
                        (b if x is a else a).sendall(data)
            except OSError:
                pass
            finally:
                a.close()
                b.close()
        threading.Thread(target=pump, args=(c, u), daemon=True).start()


lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(16)
threading.Thread(target=proxy_serve, args=(lsock,), daemon=True).start()
proxied = os.path.join(s.dir, "variant-proxy", "samlbroker.conf")
shutil.copytree(s.broker_dir, os.path.dirname(proxied))
with open(proxied) as f:
    text = f.read().replace("[broker]\n", "[broker]\nproxy = http://127.0.0.1:%d\n"
                            % lsock.getsockname()[1], 1)
with open(proxied, "w") as f:
    f.write(text)
p = online(config=proxied)
check(p.returncode == 0 and "online checks OK" in p.stdout and
      "127.0.0.1:%d" % s.emu_https in tunnels,
      "check --online through the configured proxy", p.stdout + p.stderr + repr(tunnels))
lsock.close()

# --- [saml] name_id_format: provision stores it, check --online compares it -
UNSPEC = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
unspec = variant("unspec", lambda t: t.replace("[saml]\n", "[saml]\nname_id_format = %s\n"
                                              % UNSPEC, 1))
p = online(config=unspec)
f = fails(p)
check(p.returncode == 1 and len(f) == 1 and "the assertions carry %s" % UNSPEC in f[0],
      "check --online: name_id_format differing from the record is one FAIL", p.stdout)
p = provision(config=unspec)
st, rec = record()
check(p.returncode == 0 and "nameIdentifierFormat" in p.stdout and
      rec.get("nameIdentifierFormat") == UNSPEC,
      "provision stores the tenant's name_id_format", p.stdout + p.stderr)
p = online(config=unspec)
check(p.returncode == 0 and not fails(p), "check --online then agrees", p.stdout)
p = provision()
check(p.returncode == 0 and record()[1].get("nameIdentifierFormat", "").endswith("emailAddress"),
      "provision restores emailAddress for the default tenant", p.stdout + p.stderr)

# --- check --online: the assertion path and hints that name the option ------
p = online()
check(p.returncode == 0 and any(ln.strip().startswith("warn") and "only an exchange proves"
                                 in ln for ln in p.stdout.splitlines()),
      "check --online without --user says plainly what only --user proves", p.stdout)
# A recipient or destination other than the URL the assertions go to is
# named (the emulator's tenants have one: its logical name).
p = online(config=variant("recipient", lambda t: re.sub(
    r"(?m)^recipient = .*$", "recipient = https://elsewhere.example/oauth/token", t)))
check(any(ln.strip().startswith("warn") and "[saml] recipient is "
          "https://elsewhere.example/oauth/token, but assertions are delivered to "
          "base_auth_url https://127.0.0.1:" in ln for ln in p.stdout.splitlines()) and
      "Recipient https://elsewhere.example/oauth/token," in p.stdout,
      "check --online names a recipient that is not base_auth_url", p.stdout)
# A token endpoint path that does not exist: the hint names base_auth_url,
# and the organization line says to fix the clients (not to add one).
p = online(config=variant("authpath", lambda t: re.sub(
    r"(?m)^(base_auth_url = https://[^/]+)/oauth/token$", r"\1/oauth/nope", t)))
f = fails(p)
check(p.returncode == 1 and any("HTTP 404" in ln and "is base_auth_url the token endpoint" in ln
                                for ln in f) and
      not any("base_service_url the organization" in ln for ln in f) and
      "organization: not checked (no client got a token) (hint: fix the failing client above)"
      in p.stdout, "check --online: a 404 of the token endpoint blames base_auth_url",
      p.stdout + p.stderr)
# Nothing listens: the hint names the option and the URL's own port.
p = online(config=variant("closedport", lambda t: re.sub(
    r"(?m)^base_auth_url = .*$", "base_auth_url = https://127.0.0.1:1/oauth/token", t)))
f = fails(p)
check(p.returncode == 1 and f and f[0].startswith("FAIL  token endpoint (base_auth_url):") and
      "check base_auth_url, and open the firewall (or set proxy) to its host on port 1)" in f[0],
      "check --online: an unreachable endpoint's hint names the option and port 1", p.stdout)

# --- a duplicate issuer -----------------------------------------------------
st, _ = api("PUT", "/api/v2/identityproviders/okta",
            {"name": "Okta of acme", "issuerURI": ISSUER,
             "certificate": pem_body(os.path.join(trad, "cert.pem"))})
check(st == 200, "another provider with the same issuer stored")
n = puts()
p = provision()
check(p.returncode == 5 and "'Okta of acme' of the organization already uses the issuer" in
      p.stderr and puts() == n, "duplicate issuer refused: exit 5, names the provider",
      p.stdout + p.stderr)
mismatch("a duplicate issuer", None, "the identity provider 'Okta of acme' uses the same issuer")

# --- the API validates bodies as the vendor documents them ------------------
for body, why in (({"name": "x", "issuerURI": ISSUER}, "certificate or certificates is required"),
                  ({"name": "x", "issuerURI": ISSUER, "certificate": "-----BEGIN CERTIFICATE-----"},
                   "without the BEGIN and END lines"),
                  ({"name": "x", "issuerURI": ISSUER, "certificate": base["certificate"],
                    "autoProvisionUser": True}, "Unrecognized field"),
                  ({"name": "x", "issuerURI": ISSUER, "certificate": base["certificate"],
                    "disabled": "no"}, "disabled must be true or false")):
    st, ans = api("PUT", "/api/v2/identityproviders/pureengage", body)
    check(st == 400 and why in ans["message"], "PUT refused: %s" % why, repr(ans))
st, ans = api("GET", "/api/v2/identityproviders", client="ewt-client-acme", secret=s.ewt_secret)
check(st == 403, "a non-admin client cannot list providers", repr(ans))

out = "\n".join(_printed)
check("adm-" not in out and s.ewt_secret not in out and s.client_secret not in out,
      "no secret in the commands' output", redact(out[-400:]))
done(s)
