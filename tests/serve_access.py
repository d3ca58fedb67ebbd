# SPDX-License-Identifier: Apache-2.0
"""Who may obtain what ([access:TENANT], issue 8 items 1, 2 and 8) with the
real daemon: callers run as other uids with setpriv.

acme:     agents = group:nogroup (nobody, own address nobody@example.com),
          gateways = user:daemon in example.com, service.ewt = user:bin,
          saml_response = yes.
badcreds: gateways = tcp (TCP callers only), saml_response off.
Then the fail-closed checks: a mistyped rule and an unknown option make
check exit 1, serve refuse to start, and a reload refused while the old
configuration keeps serving.

Leaks (issue 15): /metrics and /v1/status show a caller only its tenants
and no reload error text that could name a hidden one; a caller a tenant
hides causes no login lookup; addresses are one cache entry whatever
their case; and (in a mount namespace whose /etc/passwd has logins Alice
and alice) login Alice cannot obtain alice's address.
"""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import BROKER, SLOW, WRAPPER, Setup, check, done, wait_seconds

NOBODY, DAEMON, BIN, STRANGER = 65534, 1, 2, 12345

RULES = ("[access:acme]\n"
         "agents = group:nogroup\n"
         "agent_address = %u@example.com\n"
         "gateways = user:daemon\n"
         "gateway_domains = example.com\n"
         "service.ewt = user:bin\n"
         "saml_response = yes\n"
         "[access:badcreds]\n"
         "gateways = tcp\n")

# Under valgrind the first exchanges (TLS, the signers' first mint) take
# longer than the default 3 s; a timeout would also stay remembered for
# the address's case variants, which share its cache entry.
s = Setup(extra_broker="socket_mode = 0666\n" + RULES, request_timeout=30 if SLOW else 3)
os.chmod(s.dir, 0o755)  # let other uids reach the socket
conf_path = os.path.join(s.broker_dir, "samlbroker.conf")
good_conf = open(conf_path).read()


def as_user(uid, method, path, tcp=False, gid=None):
    """curl as uid (its primary group only); (status, parsed body)."""
    gid = uid if gid is None else gid
    where = (["http://127.0.0.1:%d" % s.tcp_port + path, "-H", "X-Samlbroker-Request: true"]
             if tcp else ["--unix-socket", s.socket, "http://localhost" + path])
    p = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups",
                        "curl", "-s", "-X", method, "-w", "\n%{http_code}"] + where,
                       capture_output=True, text=True,
                       timeout=max(60, wait_seconds()))
    body, _, status = p.stdout.rpartition("\n")
    try:
        j = json.loads(body) if body else None
    except ValueError:
        j = body
    if isinstance(j, dict):
        for k in ("access_token", "saml_response"):
            if k in j:
                s.tokens_seen.add(j[k])
    return int(status or 0), j


def traced(pid):
    """Whether a tracer (strace) is attached to pid."""
    with open("/proc/%d/status" % pid) as f:
        return any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f)


def user_path(email, tenant="acme", what="token"):
    return "/v1/tenants/%s/users/%s/%s" % (tenant, email.replace("@", "%40"), what)


def log():
    return open(s.broker_log).read()


# An agent: its own address, and 403 for another.
st, j = as_user(NOBODY, "GET", user_path("nobody@example.com"))
check(st == 200 and "access_token" in j, "agent gets its own address", repr((st, j)))
st, j = as_user(NOBODY, "GET", user_path("NOBODY@Example.com"))
check(st == 200, "the own address compares case-insensitively", repr((st, j)))
st, j = as_user(NOBODY, "GET", user_path("boss@example.com"))
check(st == 403 and j["error"] == "forbidden" and
      j["message"] == "agents may obtain only their own address",
      "agent gets 403 for another address, naming the rule", repr((st, j)))
check("nogroup" not in json.dumps(j) and "daemon" not in json.dumps(j),
      "the refusal lists no principal")
check('event=forbidden tenant=acme peer=uid:65534,gid:65534' in log() and
      'rule="agents may obtain only their own address"' in log(),
      "the refusal is logged with the peer and the rule")
# DELETE and saml-response go through the same decision.
st, _ = as_user(NOBODY, "DELETE", user_path("boss@example.com"))
check(st == 403, "agent cannot DELETE another address's token")
st, _ = as_user(NOBODY, "DELETE", user_path("nobody@example.com"))
check(st == 204, "agent may DELETE its own token")
st, j = as_user(NOBODY, "POST", user_path("nobody@example.com", what="saml-response"))
check(st == 200 and "saml_response" in j, "agent gets a saml-response for itself",
      repr((st, j)))
st, j = as_user(NOBODY, "POST", user_path("boss@example.com", what="saml-response"))
check(st == 403 and "own address" in j["message"],
      "agent gets no saml-response for another address", repr((st, j)))
st, j = as_user(NOBODY, "GET", "/v1/tenants/acme/services/ewt/token")
check(st == 403 and j["message"] == "no rule grants this service to this caller",
      "agent gets no service token", repr((st, j)))

# A gateway: any address in its domains, 403 outside.
st, j = as_user(DAEMON, "GET", user_path("anyone@example.com"))
check(st == 200, "gateway gets any address in its domain", repr((st, j)))
st, j = as_user(DAEMON, "GET", user_path("anyone@other.example"))
check(st == 403 and j["message"] == "not a gateway domain",
      "gateway gets 403 outside its domains", repr((st, j)))
st, j = as_user(DAEMON, "DELETE", user_path("anyone@other.example"))
check(st == 403, "gateway cannot DELETE outside its domains")

# Services: only their principals.
st, j = as_user(BIN, "GET", "/v1/tenants/acme/services/ewt/token")
check(st == 200 and "access_token" in j, "the service's principal gets its token",
      repr((st, j)))
st, j = as_user(DAEMON, "GET", "/v1/tenants/acme/services/ewt/token")
check(st == 403, "a gateway does not get the service token", repr((st, j)))
st, j = as_user(BIN, "GET", user_path("bin@example.com"))
check(st == 403 and j["message"] == "only agents and gateways may obtain tokens for addresses",
      "the service's principal gets no user token", repr((st, j)))

# Existence leak: a caller no rule names gets exactly the answer of a
# tenant that does not exist, whatever it asks.
for method, what in (("GET", "token"), ("DELETE", "token"), ("POST", "saml-response"),
                     ("PUT", "token")):
    hidden = as_user(STRANGER, method, user_path("a@example.com", what=what))
    missing = as_user(STRANGER, method, user_path("a@example.com", tenant="nosuch", what=what))
    check(hidden == missing, "%s %s: a hidden tenant answers like a missing one" % (method, what),
          repr((hidden, missing)))
hidden = as_user(STRANGER, "GET", "/v1/tenants/acme/services/ewt/token")
missing = as_user(STRANGER, "GET", "/v1/tenants/nosuch/services/ewt/token")
check(hidden == missing and hidden[0] == 404, "services too", repr((hidden, missing)))

# ... but `samlbroker token` and `status`, for a caller that can read the
# configuration itself (here root, whom no rule names), tell a hidden
# tenant from an absent one from the local files (issue 17 point 3).
me = "uid %d (%s)" % (os.getuid(), pwd.getpwuid(os.getuid()).pw_name)
acme_cfg = os.path.join(s.broker_dir, "tenants", "acme.cfg")
p = subprocess.run([BROKER, "token", "-s", "unix:" + s.socket, "-c", conf_path,
                    "-t", "acme", "--service", "ewt"], capture_output=True, text=True,
                   timeout=max(60, wait_seconds()))
want = ("samlbroker token: hint: tenant acme exists (%s) but [access:acme] in %s does not "
        "let %s obtain it: add a rule for this caller, or run as a caller it names"
        % (acme_cfg, conf_path, me))
check(p.returncode == 1 and "unknown_tenant (HTTP 404)" in p.stderr and want in p.stderr,
      "token: a tenant hidden from this caller is named as hidden, with the fix", p.stderr)
p = subprocess.run([BROKER, "token", "-s", "unix:" + s.socket, "-c", conf_path,
                    "-t", "nosuch", "--service", "ewt"], capture_output=True, text=True,
                   timeout=max(60, wait_seconds()))
check(p.returncode == 1 and "hint: there is no tenant nosuch here: no file %s "
      "(tenants_dir of %s)" % (os.path.join(s.broker_dir, "tenants", "nosuch.cfg"), conf_path)
      in p.stderr, "token: an absent tenant is named as absent", p.stderr)
p = subprocess.run([BROKER, "status", "-s", "unix:" + s.socket], capture_output=True,
                   text=True, timeout=max(60, wait_seconds()))
check(p.returncode == 0 and ("hint: 2 tenants of %s (acme, badcreds) have an [access:TENANT] "
      "section naming no principal of %s, so they are hidden from it" % (conf_path, me))
      in p.stdout, "status: the tenants hidden from this caller are named (from the "
      "broker's config_file)", p.stdout + p.stderr)

# TCP: nothing from a tenant with rules unless a rule grants tcp.
st, j = as_user(NOBODY, "GET", user_path("nobody@example.com"), tcp=True)
check(st == 404 and j["error"] == "unknown_tenant",
      "TCP gets nothing from acme (no rule grants tcp)", repr((st, j)))
st, j = as_user(NOBODY, "GET", user_path("x@example.com", tenant="badcreds"), tcp=True)
check(st == 200, "TCP gets what gateways = tcp grants", repr((st, j)))
st, j = as_user(NOBODY, "POST", user_path("x@example.com", tenant="badcreds",
                                          what="saml-response"), tcp=True)
check(st == 403 and j["message"] == "saml-response is off for this tenant",
      "saml-response is off unless the tenant turns it on", repr((st, j)))
st, j = as_user(NOBODY, "GET", user_path("x@example.com", tenant="badcreds"))
check(st == 404, "a unix caller is not a tcp principal", repr((st, j)))

# /v1/status shows a caller only the tenants it may use.
st, j = as_user(NOBODY, "GET", "/v1/status")
check(st == 200 and [t["name"] for t in j["tenants"]] == ["acme"],
      "status: an agent sees acme only", repr((st, j)))
st, j = as_user(STRANGER, "GET", "/v1/status")
check(st == 200 and j["tenants"] == [], "status: a stranger sees no tenant", repr((st, j)))
st, j = as_user(NOBODY, "GET", "/v1/status", tcp=True)
check(st == 200 and [t["name"] for t in j["tenants"]] == ["badcreds"],
      "status over TCP: only the tenant that grants tcp", repr((st, j)))
# ... and no count that moves with a hidden tenant's traffic.
st, j = as_user(STRANGER, "GET", "/v1/status")
check(st == 200 and j["cached_tokens"] == 0 and "requests" not in j["signers"] and
      "queue_depth" not in j["signers"] and j["signers"]["count"] >= 1,
      "status: a stranger sees no cache count and no signer traffic", repr(j))
st, j = as_user(NOBODY, "GET", "/v1/status")
check(st == 200 and j["cached_tokens"] == j["tenants"][0]["cache"]["entries"],
      "status: an agent's cache count is its tenant's", repr(j))


def metrics_as(uid, tcp=False):
    st, body = as_user(uid, "GET", "/metrics", tcp=tcp)
    check(st == 200, "metrics answered", repr((st, body)))
    return body if isinstance(body, str) else json.dumps(body)


def tenants_in(text):
    return sorted(set(re.findall(r'tenant="([^"]*)"', text)))


# /metrics too: per-tenant series of the visible tenants only, and none of
# the process-wide traffic counters.
m = metrics_as(STRANGER)
check(tenants_in(m) == [] and "samlbroker_requests_total" not in m and
      "samlbroker_upstream_exchanges_total" not in m and
      "samlbroker_signer_requests_total" not in m and "samlbroker_cached_tokens 0" in m and
      "samlbroker_signers " in m, "metrics: a stranger sees no tenant and no traffic", m)
m = metrics_as(NOBODY)
check(tenants_in(m) == ["acme"], "metrics: an agent sees acme only", m)
m = metrics_as(NOBODY, tcp=True)
check(tenants_in(m) == ["badcreds"], "metrics over TCP: only the tenant that grants tcp", m)

# Addresses are compared and cached in one form: case variants of one
# address are one token (one exchange upstream) and one NameID.
before = s.counters()["saml2_bearer"]["ok"]
st, j = as_user(DAEMON, "GET", user_path("Case.Test@Example.COM"))
st2, j2 = as_user(DAEMON, "GET", user_path("case.test@example.com"))
st3, j3 = as_user(DAEMON, "GET", user_path("CASE.TEST@EXAMPLE.COM"))
c = s.counters()
check(st == st2 == st3 == 200 and j["access_token"] == j2["access_token"] == j3["access_token"]
      and c["saml2_bearer"]["ok"] == before + 1,
      "case variants of an address share one cached token (one exchange)",
      repr((st, st2, st3, c)))
check(c["last_subject"] == "case.test@example.com",
      "the assertion carries the canonical address", repr(c))

# The caller's login name is an NSS lookup (getpwuid_r, which the master
# does for the front): once per connection, not per request.  strace
# counts the opens of /etc/passwd by the master and its children while
# one keep-alive connection asks twice.
# A tenant that hides the caller is decided before any lookup: its time
# would otherwise tell which tenants have agent rules.
if shutil.which("strace") and not WRAPPER:
    def passwd_opens(uid, *paths):
        """(curl's statuses and connects, the opens of /etc/passwd by the
        master, which looks login names up, and the front)."""
        # A new file each time: an earlier call's trace would satisfy the
        # wait below before this strace has attached (and be counted).
        trace = tempfile.mktemp(prefix="passwd-", suffix=".trace", dir=s.dir)
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=openat,accept,accept4",
                                   "-o", trace, "-p", str(s.broker.pid),
                                   "-p", str(s.front_pid())],
                                  stderr=subprocess.DEVNULL)
        # Attached once a connection shows in the trace.
        s.wait_for(lambda: s.get("/healthz") and os.path.exists(trace) and
                   os.path.getsize(trace) > 0, "strace")
        p = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                            "--clear-groups", "curl", "-s"] +
                           ["-o", "/dev/null"] * len(paths) +
                           ["-w", "%{http_code} %{num_connects}\n", "--unix-socket", s.socket] +
                           ["http://localhost" + path for path in paths],
                           capture_output=True, text=True,
                           timeout=max(60, wait_seconds()))
        s.get("/healthz")  # the requests above were answered before this one
        tracer.terminate()
        tracer.wait(timeout=10)
        return p.stdout.split(), sum(1 for line in open(trace) if "/etc/passwd" in line)

    out, opens = passwd_opens(NOBODY, user_path("nobody@example.com"),
                              user_path("nobody@example.com"))
    check(out == ["200", "1", "200", "0"] and opens == 1,
          "two requests on one connection look the login name up once", repr((out, opens)))
    out, opens = passwd_opens(STRANGER, user_path("a@example.com"),
                              user_path("nobody@example.com"))
    check(out == ["404", "1", "404", "0"] and opens == 0,
          "a caller that acme hides causes no login lookup", repr((out, opens)))

# Fail closed: check exits 1, serve refuses, a reload is refused and the
# old configuration keeps serving.
HIDDEN_ERROR = "the configuration has errors; see the log"


def reload_and_wait():
    before = s.get("/v1/status").json()["last_reload"]["count"]
    s.broker.send_signal(signal.SIGHUP)
    return s.wait_for(lambda: (lambda st: st if st["last_reload"]["count"] > before
                               else None)(s.get("/v1/status").json()), "reload")["last_reload"]


for bad, want in (
        (good_conf.replace("saml_response = yes", "saml_reponse = yes"),
         "[access:acme] saml_reponse: unknown option; did you mean saml_response?"),
        (good_conf.replace("socket_mode", "sockets_mode"),
         "[broker] sockets_mode: unknown option; did you mean socket_mode?"),
        (good_conf.replace("[access:badcreds]", "[access:Badcreds]"),
         "[access:Badcreds]: no tenant is named 'Badcreds'"),
        (good_conf.replace("user:bin", "user:no-such-user-samlbroker"),
         "no such user")):
    with open(conf_path, "w") as f:
        f.write(bad)
    p = subprocess.run([BROKER, "check", "-c", conf_path], capture_output=True, text=True)
    check(p.returncode == 1 and want in p.stderr, "check exits 1: %s" % want,
          p.stdout + p.stderr)
    p = subprocess.run([BROKER, "serve", "-c", conf_path], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode != 0 and want in p.stderr, "serve refuses to start: %s" % want,
          p.stderr)
    lr = reload_and_wait()
    check(lr["ok"] is False and want in log(), "the reload is refused: %s" % want, repr(lr))
    # The error may name a tenant: only a caller that sees every tenant
    # (none here; the admin address) gets its text.
    check(lr["error"] == HIDDEN_ERROR, "status shows a caller that does not see every "
          "tenant only that the configuration has errors", repr(lr))
    st, j = as_user(NOBODY, "GET", user_path("boss@example.com"))
    check(st == 403, "the old rules keep serving", repr((st, j)))
    st, j = as_user(DAEMON, "GET", user_path("anyone@example.com"))
    check(st == 200, "the old rules keep serving (gateway)", repr((st, j)))

# A tenant without rules is open, and serve says so at start (this serve
# then stops: the live broker holds its addresses).
with open(conf_path, "w") as f:
    f.write(good_conf.replace("[access:badcreds]\ngateways = tcp\n", ""))
p = subprocess.run([BROKER, "serve", "-c", conf_path], capture_output=True, text=True,
                   timeout=30)
check("warning: tenant badcreds is open: no [access:badcreds] section" in p.stderr,
      "serve warns at start about a tenant without rules", p.stderr)
p = subprocess.run([BROKER, "check", "-c", conf_path], capture_output=True, text=True)
check(p.returncode == 0 and "warning: tenant badcreds is open" in p.stderr and
      "badcreds: open to any caller that can connect (no [access:badcreds] section)"
      in p.stdout, "check warns about it too", p.stdout + p.stderr)

# A 0644 file: secret is refused.
secret = os.path.join(s.broker_dir, "ewt.secret")
with open(secret, "w") as f:
    f.write(s.ewt_secret + "\n")
os.chmod(secret, 0o644)
tenant = s.tenant_path("acme")
good_tenant = open(tenant).read()
with open(tenant, "w") as f:
    f.write(good_tenant.replace("password = %s" % s.ewt_secret, "password = file:%s" % secret))
with open(conf_path, "w") as f:
    f.write(good_conf)
lr = reload_and_wait()
check(lr["ok"] is False and lr["error"] == HIDDEN_ERROR and
      "mode 0644 lets other users read" in log(),
      "a world-readable file: secret refuses the reload", repr(lr))
p = subprocess.run([BROKER, "check", "-c", conf_path], capture_output=True, text=True)
check(p.returncode == 1 and "ewt.secret: mode 0644" in p.stderr, "check refuses it too",
      p.stderr)
os.chmod(secret, 0o600)
lr = reload_and_wait()
check(lr["ok"] is True, "the same secret at 0600 is accepted", repr(lr))
st, j = as_user(BIN, "GET", "/v1/tenants/acme/services/ewt/token")
check(st == 200, "and serves", repr((st, j)))

# The agent map is read again on reload.
with open(os.path.join(s.broker_dir, "acme.map"), "w") as f:
    f.write("nobody agent.one@example.com\n")
with open(conf_path, "w") as f:
    f.write(good_conf.replace("agent_address = %u@example.com", "agent_map = acme.map"))
lr = reload_and_wait()
check(lr["ok"] is True, "reload with an agent map", repr(lr))
st, _ = as_user(NOBODY, "GET", user_path("agent.one@example.com"))
check(st == 200, "the map gives the agent its address")
with open(os.path.join(s.broker_dir, "acme.map"), "w") as f:
    f.write("nobody agent.two@example.com\n")
lr = reload_and_wait()
st, _ = as_user(NOBODY, "GET", user_path("agent.one@example.com"))
st2, _ = as_user(NOBODY, "GET", user_path("agent.two@example.com"))
check(st == 403 and st2 == 200, "SIGHUP reads the map again", repr((st, st2)))

# Login Alice is not alice: the broker runs in a mount namespace whose
# /etc/passwd adds both (uids 4242 and 4243); %u@example.com gives alice
# her address and refuses Alice any, whatever its case.
ALICE_UP, ALICE = 4242, 4243
pw = os.path.join(s.dir, "passwd")
with open("/etc/passwd") as f:
    passwd = f.read()
if shutil.which("unshare") and ":4242:" not in passwd and ":4243:" not in passwd:
    with open(pw, "w") as f:
        f.write(passwd + "Alice:x:4242:4242::/nonexistent:/bin/false\n"
                "alice:x:4243:4243::/nonexistent:/bin/false\n")
    os.chmod(pw, 0o644)
    with open(conf_path, "w") as f:
        f.write(good_conf.replace("agents = group:nogroup",
                                  "agents = group:nogroup, user:4242, user:4243"))
    s.broker.terminate()
    s.broker.wait(timeout=120 if SLOW else 20)
    s.procs.remove(s.broker)
    s.broker = s.start(["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/passwd && exec "$@"',
                        pw] + WRAPPER + [BROKER, "serve", "-c", conf_path], s.broker_log,
                       wrap=False)
    s.wait_for(lambda: s.broker.poll() is not None or s._ready(), "broker in a namespace",
               timeout=120 if SLOW else 20)
    if s.broker.poll() is not None:
        s.procs.remove(s.broker)
        print("# SKIP Alice vs alice: cannot bind-mount /etc/passwd here (%s)"
              % open(s.broker_log).read().strip().splitlines()[-1:])
    else:
        st, j = as_user(ALICE, "GET", user_path("alice@example.com"))
        check(st == 200, "login alice gets alice@example.com", repr((st, j)))
        for addr in ("alice@example.com", "Alice@example.com", "ALICE@EXAMPLE.COM"):
            st, j = as_user(ALICE_UP, "GET", user_path(addr))
            check(st == 403 and "capital letters" in j["message"],
                  "login Alice does not get %s" % addr, repr((st, j)))
        st, j = as_user(ALICE_UP, "POST", user_path("alice@example.com", what="saml-response"))
        check(st == 403, "nor an assertion for it", repr((st, j)))
else:
    print("# SKIP Alice vs alice: no unshare, or uid 4242/4243 exists")

done(s)
