# SPDX-License-Identifier: Apache-2.0
"""The vendor's procedure as commands, against the emulator's platform API:
`provision` creating and checking a tenant's OAuth clients, and
`provision --rotate-secrets` under load.

Covers: check --online reports the agent role's missing permissions and
a role that does not exist; provision grants the missing permissions
(never removing one; 403 naming authorization:role:edit without it) and
a second run says "no change"; the broker refuses a tenant whose clients are still to be
created, naming provision; --dry-run prints the plan and changes nothing;
without oauth:client:add provision exits 3 naming the permission; it
creates the SAML2 Bearer client of [saml_auth] and a Client Credentials
client for each section with oauth_roles (roles and home division,
lifetime from expire_time, the marker in the description), writes the ids
and secrets into the tenant file (0600, same owner, every other byte kept)
or the file: target a section names (0600), and the new clients get
tokens; a second run creates nothing and says "no change"; an existing
client of the wrong grant type is reported and never replaced.  Rotation:
2 workers fetch a service and an agent token through the broker while
--rotate-secrets --reload runs: 0 non-2xx answers, the cached tokens kept,
then the new secrets in use (the emulator's per-client counters) and the
old one refused by the emulator.  --remove lists what provision created
(its clients, by the marker, and the identity provider) and deletes it
only with --yes, nothing else; a second run has nothing to delete.  init
makes a tenant from nothing (the organization read, a key made, the
tenant file written 0600 and no other file: the key password never on
disk but there, clients, roles and identity provider), after
which check --online --user passes, and a second init changes nothing.
No secret in any output.
"""
import base64
import ctypes
import http.client
import json
import os
import re
import shutil
import struct
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BROKER, ORG_ID, WRAPPER, Setup, check, done,  # noqa: E402
                     wait_seconds, _printed)

s = Setup(emu_provider=False, provisioning=True)
conf = os.path.join(s.broker_dir, "samlbroker.conf")
MARKER = "[samlbroker-provisioned]"


def run(*args, config=conf):
    p = subprocess.run(WRAPPER + [BROKER] + list(args[:1]) + ["-c", config] + list(args[1:]),
                       capture_output=True, text=True, timeout=max(120, 10 * wait_seconds()))
    _printed.append(p.stdout + p.stderr)  # searched for secrets at the end
    return p


def provision(*extra, config=conf):
    return run("provision", "-t", "acme", "--sso-target", "https://apps.mypurecloud.com",
               *extra, config=config)


def token(client, secret):
    """The emulator's answer to a Client Credentials request."""
    ctx = ssl.create_default_context(cafile=s.ca_file)
    c = http.client.HTTPSConnection("127.0.0.1", s.emu_https, context=ctx, timeout=30)
    basic = base64.b64encode(("%s:%s" % (client, secret)).encode()).decode()
    c.request("POST", "/oauth/token", body="grant_type=client_credentials",
              headers={"Authorization": "Basic " + basic,
                       "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    body = json.loads(r.read() or b"{}")
    c.close()
    if "access_token" in body:
        s.tokens_seen.add(body["access_token"])
    return r.status, body


def api(method, path):
    return s.platform_api(method, path)


def clients():
    """The organization's OAuth clients by id."""
    return {c["id"]: c for c in api("GET", "/api/v2/oauth/clients")[1]["entities"]}


def option(path, section, name):
    with open(path) as f:
        text = f.read()
    m = re.search(r"(?ms)^\[%s\]\n(.*?)(?=^\[|\Z)" % re.escape(section), text)
    v = m and re.search(r"(?m)^%s = (.*)$" % name, m.group(1))
    return v.group(1) if v else None


def variant(name, edit, admin=None):
    """A copy of the broker's configuration with acme's tenant file edited
    (and its [provisioning] client replaced by admin = (id, secret))."""
    d = os.path.join(s.dir, "variant-" + name)
    shutil.copytree(s.broker_dir, d)
    path = os.path.join(d, "tenants", "acme.cfg")
    with open(path) as f:
        text = edit(f.read())
    if admin:
        text = text.replace("client_id = admin-client-acme\npassword = adm-%s" % s.ewt_secret,
                            "client_id = %s\npassword = %s" % admin)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o640)
    return os.path.join(d, "samlbroker.conf"), path


def fresh(text):
    """acme with no [saml_auth] client, [ewt] to create with the role
    employee, and [pacing] to create with its secret in a file."""
    text = text.replace("client_id = saml-client-acme\npassword = %s\n" % s.client_secret, "")
    text = text.replace("client_id = ewt-client-acme\npassword = %s\n" % s.ewt_secret,
                        "oauth_roles = employee\n")
    return text + "\n[pacing]\noauth_roles = employee\noauth_divisions = Home\n" \
        "password = file:pacing.secret\n"


def api_put(path, body):
    return s.platform_api("PUT", path, body)


def role(name):
    for r in api("GET", "/api/v2/authorization/roles")[1]["entities"]:
        if r["name"] == name:
            return r
    return None


AGENT = ["journey:actionmap:view", "journey:actiontarget:view", "journey:session:view"]

# --- roles: reported, refused, granted, never removed -----------------------
emp = role("employee")
st, _ = api_put("/api/v2/authorization/roles/" + emp["id"], {
    "name": "employee", "permissionPolicies": [
        {"domain": "routing", "entityName": "queue", "actionSet": ["view"]}]})
p = run("check", "--online", "-t", "acme")
check(p.returncode == 1 and st == 200 and
      all("FAIL  role employee lacks the permission %s" % x in p.stdout for x in AGENT) and
      "ok    role admin (default_admin_role_name) exists" in p.stdout,
      "check --online: each missing agent permission is a FAIL line", p.stdout + p.stderr)
gconf, _ = variant("norole", lambda t: t.replace("default_agent_role_name = employee",
                                                 "default_agent_role_name = agents"))
p = run("check", "--online", "-t", "acme", config=gconf)
check(p.returncode == 1 and "FAIL  role agents (default_agent_role_name) does not exist"
      in p.stdout, "check --online: a role that does not exist is a FAIL line",
      p.stdout + p.stderr)
p = provision(config=gconf)
check(p.returncode == 1 and "the role agents does not exist" in p.stderr,
      "provision: a role that does not exist is an error", p.stdout + p.stderr)
vconf, _ = variant("viewer", lambda t: t, admin=("viewer-client-acme", "vw-" + s.ewt_secret))
p = provision(config=vconf)
check(p.returncode == 3 and "needs the permission authorization:role:edit" in p.stderr and
      [x["entityName"] for x in role("employee")["permissionPolicies"]] == ["queue"],
      "without authorization:role:edit: exit 3, the permission named, the role unchanged",
      p.stdout + p.stderr)
p = provision("--dry-run")
check(p.returncode == 0 and all("+ role employee: permission %s to grant" % x in p.stdout
                                for x in AGENT) and
      "dry run: 3 permission(s) would be granted" in p.stdout,
      "--dry-run prints the permissions to grant", p.stdout + p.stderr)
p = provision()
pols = role("employee")["permissionPolicies"]
held = ["%s:%s:%s" % (x["domain"], x["entityName"], a) for x in pols for a in x["actionSet"]]
check(p.returncode == 0 and "role employee: 3 permission(s) granted" in p.stdout and
      sorted(held) == sorted(AGENT + ["routing:queue:view"]),
      "provision grants the missing agent permissions and keeps the others",
      p.stdout + p.stderr + repr(pols))
p = provision()
check(p.returncode == 0 and "no change: the roles hold what agents need" in p.stdout,
      "a second run: no change to the roles", p.stdout + p.stderr)
p = run("check", "--online", "-t", "acme")
check("ok    role employee holds the 3 agent permission(s)" in p.stdout,
      "check --online: the agent role holds its permissions", p.stdout)

# --- the broker refuses clients still to be created -----------------------
fconf, ftenant = variant("fresh", fresh)
p = run("check", config=fconf)
check(p.returncode != 0 and "[saml_auth] client_id: required option is missing "
      "(samlbroker provision -t acme creates the client)" in p.stderr and
      "[ewt] client_id: required option is missing" in p.stderr,
      "check refuses clients still to be created, naming provision", p.stdout + p.stderr)

# --- dry run ----------------------------------------------------------------
before = clients()
with open(ftenant, "rb") as f:
    text0 = f.read()
p = provision("--dry-run", config=fconf)
with open(ftenant, "rb") as f:
    check(p.returncode == 0 and
          "+ [saml_auth] OAuth client to create: SAML2BEARER, token lifetime 86400 s" in p.stdout
          and "+ [ewt] OAuth client to create: CLIENT-CREDENTIALS, token lifetime 86400 s, "
          "roles employee (1 role-division pair(s))" in p.stdout and
          "= [reports] OAuth client reports-client-acme: CLIENT-CREDENTIALS, active" in p.stdout
          and "dry run: 3 client(s) would be created; nothing written" in p.stdout and
          f.read() == text0 and clients() == before,
          "--dry-run prints the plan, creates and writes nothing", p.stdout + p.stderr)

# --- refused without the permission ----------------------------------------
nconf, _ = variant("noperm", fresh, admin=("ssoadmin-client-acme", "sso-" + s.ewt_secret))
p = provision(config=nconf)
check(p.returncode == 3 and "HTTP 403" in p.stderr and
      "needs the permission oauth:client:add" in p.stderr and clients() == before,
      "without oauth:client:add: exit 3, the permission named, nothing created",
      p.stdout + p.stderr)

# --- create -----------------------------------------------------------------
st0 = os.stat(ftenant)
p = provision(config=fconf)
ids = dict(re.findall(r"\[(\w+)\] OAuth client created: (\S+)", p.stdout))
check(p.returncode == 0 and sorted(ids) == ["ewt", "pacing", "saml_auth"] and
      "no change: the identity provider already matches" in p.stdout,
      "provision creates the three clients (then checks roles and the identity provider)",
      p.stdout + p.stderr)
new_secrets = {sec: option(ftenant, sec, "password") for sec in ("saml_auth", "ewt")}
pacing_file = os.path.join(os.path.dirname(ftenant), "pacing.secret")
with open(pacing_file) as f:
    new_secrets["pacing"] = f.read().strip()
s.secrets |= {v for v in new_secrets.values() if v}
st1 = os.stat(ftenant)
check(all(option(ftenant, sec, "client_id") == ids.get(sec) for sec in ids) and
      option(ftenant, "pacing", "password") == "file:pacing.secret" and
      all(new_secrets.values()) and
      st1.st_mode & 0o7777 == 0o600 and st1.st_uid == st0.st_uid and
      st1.st_gid == st0.st_gid and
      os.stat(pacing_file).st_mode & 0o7777 == 0o600,
      "ids and secrets written: tenant file 0600 with its owner, the file: target 0600",
      repr((oct(st1.st_mode), ids)))
with open(ftenant, "rb") as f:
    text1 = f.read()
kept = re.sub(rb"(?m)^(client_id|password) = .*\n", b"", text1)
check(kept == re.sub(rb"(?m)^(client_id|password) = .*\n", b"", text0),
      "every other byte of the tenant file kept")
now = clients()
cc, saml = now.get(ids.get("ewt"), {}), now.get(ids.get("saml_auth"), {})
roles = {r["name"]: r["id"] for r in api("GET", "/api/v2/authorization/roles")[1]["entities"]}
check(cc.get("authorizedGrantType") == "CLIENT-CREDENTIALS" and
      cc.get("accessTokenValiditySeconds") == 86400 and
      [rd["roleId"] for rd in cc.get("roleDivisions", [])] == [roles["employee"]] and
      MARKER in cc.get("description", "") and
      saml.get("authorizedGrantType") == "SAML2BEARER" and
      saml.get("registeredRedirectUri") == ["https://apps.mypurecloud.com"] and
      MARKER in saml.get("description", "") and "secret" not in cc,
      "the platform's records: grant types, lifetime, role, marker; no secret in a GET",
      repr((cc, saml)))
check(token(ids.get("ewt"), new_secrets["ewt"])[0] == 200 and
      token(ids.get("pacing"), new_secrets["pacing"])[0] == 200,
      "the created Client Credentials clients get tokens with the written secrets")
p = run("check", config=fconf)
check(p.returncode == 0, "the configuration loads with the created clients", p.stdout + p.stderr)

# --- idempotent -------------------------------------------------------------
p = provision(config=fconf)
st2 = os.stat(ftenant)
with open(ftenant, "rb") as f:
    check(p.returncode == 0 and "no change: the OAuth clients exist" in p.stdout and
          "= [ewt] OAuth client %s: CLIENT-CREDENTIALS, active" % ids.get("ewt") in p.stdout
          and "no change: the identity provider already matches" in p.stdout and
          clients() == now and f.read() == text1 and st2.st_ino == st1.st_ino,
          "a second run: no change, nothing created or written", p.stdout + p.stderr)

# --- a wrong existing client is reported, never replaced --------------------
wconf, wtenant = variant("wrong", lambda t: t.replace("client_id = reports-client-acme",
                                                      "client_id = saml-client-acme"))
p = provision(config=wconf)
check(p.returncode == 1 and "! [reports] OAuth client saml-client-acme: grant type "
      "SAML2BEARER, must be CLIENT-CREDENTIALS" in p.stdout and
      "provision never replaces one" in p.stderr and clients() == now and
      option(wtenant, "reports", "client_id") == "saml-client-acme",
      "a client of the wrong grant type: reported, exit 1, not replaced", p.stdout + p.stderr)

# --- rotation under load ------------------------------------------------------
tenant = s.tenant_path("acme")
cached_svc = s.service_token("ewt").json()["access_token"]
cached_agent = s.user_token("agent@example.com").json()["access_token"]
s.tokens_seen |= {cached_svc, cached_agent}
stop = threading.Event()
lock = threading.Lock()
results = {"ok": 0, "failed": []}


def worker(fetch):
    while not stop.is_set():
        r = fetch()
        with lock:
            if 200 <= r.status < 300:
                results["ok"] += 1
            else:
                results["failed"].append(repr(r)[:200])


def progress(more):
    with lock:
        goal = results["ok"] + more
    s.wait_for(lambda: results["ok"] >= goal, "%d more tokens" % more)


def status():
    return s.get("/v1/status").json()


threads = [threading.Thread(target=worker, args=(f,), daemon=True) for f in (
    lambda: s.service_token("ewt"), lambda: s.user_token("agent@example.com"))]
for t in threads:
    t.start()
progress(10)
pid_file = os.path.join(s.dir, "broker.pid")
with open(pid_file, "w") as f:
    f.write("%d\n" % s.broker.pid)
n0 = status()["last_reload"]["count"]
p = provision("--rotate-secrets", "--reload", "--pid-file", pid_file)
check(p.returncode == 0 and "sent SIGHUP" in p.stdout and
      "[ewt] OAuth client ewt-client-acme: new secret, into %s" % tenant in p.stdout,
      "--rotate-secrets --reload: exit 0, secrets written, SIGHUP sent", p.stdout + p.stderr)
rotated = {sec: option(tenant, sec, opt) for sec, opt in (
    ("saml_auth", "password"), ("ewt", "password"), ("reports", "client_secret"))}
s.secrets |= {v for v in rotated.values() if v}
st = s.wait_for(lambda: (lambda j: j if j["last_reload"]["count"] > n0 else None)(status()),
                "the reload")
check(st["last_reload"]["ok"] is True, "the reload succeeded", repr(st["last_reload"]))
progress(10)
stop.set()
for t in threads:
    t.join()
check(not results["failed"] and results["ok"] >= 20,
      "0 non-2xx answers to 2 workers during the rotation (%d tokens)" % results["ok"],
      "\n".join(results["failed"][:5]))
check(s.service_token("ewt").json()["access_token"] == cached_svc and
      s.user_token("agent@example.com").json()["access_token"] == cached_agent,
      "the tokens cached before the rotation are still served after the reload")
check(all(rotated.values()) and s.ewt_secret not in rotated.values() and
      s.client_secret not in rotated.values() and os.stat(tenant).st_mode & 0o777 == 0o600,
      "new secrets in the tenant file (0600)")
# New exchanges: the new secrets in use.
s.request("DELETE", "/v1/tenants/acme/services/ewt/token")
r1 = s.service_token("ewt")
r2 = s.user_token("after.rotation@example.com")
emu = s.emu("GET", "/emulator/clients")
check(r1.status == 200 and r2.status == 200 and
      emu["ewt-client-acme"]["rotations"] == 1 and
      emu["ewt-client-acme"]["ok_since_rotation"] >= 1 and
      emu["saml-client-acme"]["ok_since_rotation"] >= 1,
      "after the reload new exchanges use the new secrets (the emulator's counters)",
      repr((r1, r2, emu.get("ewt-client-acme"), emu.get("saml-client-acme"))))
st_old, _ = token("ewt-client-acme", s.ewt_secret)
emu = s.emu("GET", "/emulator/clients")
check(st_old == 401 and emu["ewt-client-acme"]["old_secret_refused"] >= 1,
      "the emulator refuses the old secret", repr((st_old, emu.get("ewt-client-acme"))))
p = provision("--rotate-secrets", "--service", "nosuch")
check(p.returncode == 1 and "has no client section [nosuch]" in p.stderr,
      "--service of an unknown section: exit 1", p.stdout + p.stderr)

# --- init: a tenant from nothing (the organization badcreds) ---------------
idir = os.path.join(s.dir, "init")
os.makedirs(os.path.join(idir, "tenants"))
iconf = os.path.join(idir, "samlbroker.conf")
with open(iconf, "w") as f:
    f.write("[broker]\ntenants_dir = tenants\nca_file = %s\nlisten = unix:%s/sock\n"
            % (s.ca_file, idir))
os.chmod(iconf, 0o600)
admin_secret = os.path.join(idir, "admin.secret")
with open(admin_secret, "w") as f:
    f.write("adm-%s\n" % s.ewt_secret)
os.chmod(admin_secret, 0o600)
init_argv = ["init", "-t", "newco", "--base-url", "https://127.0.0.1:%d" % s.emu_https,
             "--client-id", "admin-client-badcreds", "--client-secret-file", admin_secret,
             "--service", "ewt", "--oauth-roles", "employee",
             "--audience", "https://login.emulator.test/oauth/token",
             "--issuer", "https://www.genesys.com/pureengage/newco",
             "--sso-target", "https://apps.mypurecloud.com"]


def created_in(directory, fn):
    """fn's result and the names created in directory while it ran (inotify:
    the kernel queues each one, however short-lived); None without inotify."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0 or libc.inotify_add_watch(fd, directory.encode(), 0x100 | 0x80) < 0:
        return fn(), None        # IN_CREATE | IN_MOVED_TO
    try:
        res, data = fn(), b""
        while True:
            try:
                data += os.read(fd, 65536)
            except BlockingIOError:
                break
    finally:
        os.close(fd)
    names, i = [], 0
    while i + 16 <= len(data):
        n = struct.unpack_from("iIII", data, i)[3]
        names.append(data[i + 16:i + 16 + n].rstrip(b"\0").decode())
        i += 16 + n
    return res, names


p, icreated = created_in(os.path.join(idir, "tenants"), lambda: run(*init_argv, config=iconf))
ntenant = os.path.join(idir, "tenants", "newco.cfg")
ok = p.returncode == 0 and os.path.exists(ntenant)
if ok:
    s.secrets |= {option(ntenant, "saml", "password") or "",
                  option(ntenant, "saml_auth", "password") or "",
                  option(ntenant, "ewt", "password") or ""}
check(ok and "organization badcreds (%s)" % ORG_ID in p.stdout and
      os.stat(ntenant).st_mode & 0o7777 == 0o600 and
      option(ntenant, "general", "organization_sname") == "badcreds" and
      option(ntenant, "saml_auth", "client_id") is not None and
      option(ntenant, "ewt", "client_id") is not None and
      "identity provider PureEngage: created" in p.stdout and
      "tenant newco is set up" in p.stdout,
      "init: organization read, tenant file written (0600), clients, roles and provider",
      p.stdout + p.stderr)
print("# files init created in tenants_dir: %r" % (icreated,))
# (.samlbroker.XXXXXX: the tenant file's own edits, renamed over it)
check(icreated is None or [n for n in icreated if n != "newco.cfg" and
                           not n.startswith(".samlbroker.")] == [],
      "init writes no file but the tenant file and its edits (the key password "
      "stays in memory)",
      repr(icreated))
p = run("check", "--online", "-t", "newco", "--user", "first.agent@example.com", config=iconf)
check(p.returncode == 0 and "online checks OK" in p.stdout and
      "SAML2 Bearer token granted for first.agent@example.com" in p.stdout,
      "after init check --online --user passes: a full exchange", p.stdout + p.stderr)
with open(ntenant, "rb") as f:
    ntext = f.read()
p = run(*init_argv, config=iconf)
with open(ntenant, "rb") as f:
    check(p.returncode == 0 and "exists; it is not rewritten" in p.stdout and
          "no change: tenant newco is set up already" in p.stdout and f.read() == ntext,
          "init again: nothing changes, and it says so", p.stdout + p.stderr)

# --- remove ---------------------------------------------------------------
before = clients()
p = provision("--remove", config=fconf)
check(p.returncode == 2 and all("- OAuth client %s (samlbroker acme %s): to delete" %
                                (ids.get(sec), sec) in p.stdout for sec in ids) and
      "- identity provider PureEngage (issuer" in p.stdout and "add --yes" in p.stderr and
      clients() == before,
      "--remove without --yes: the list, exit 2, nothing deleted", p.stdout + p.stderr)
p = provision("--remove", "--yes", config=fconf)
after = clients()
check(p.returncode == 0 and "removed 4 item(s)" in p.stdout and
      sorted(set(before) - set(after)) == sorted(ids.values()) and
      "ewt-client-acme" in after and "saml-client-acme" in after and
      api("GET", "/api/v2/identityproviders/pureengage")[0] == 404,
      "--remove --yes deletes the created clients and the identity provider, nothing else",
      p.stdout + p.stderr)
p = provision("--remove", "--yes", config=fconf)
check(p.returncode == 0 and "no change: nothing provision created is left" in p.stdout,
      "--remove again: nothing left to delete", p.stdout + p.stderr)
done(s)
