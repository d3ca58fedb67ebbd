# SPDX-License-Identifier: Apache-2.0
"""Negotiate (Kerberos, SPNEGO) on the https: listener (issue 16), against
the real daemon and a throw-away MIT KDC (tests/kdc.py):

- alice (kinit from her keytab) gets alice's token with curl --negotiate,
  the answer carries the mutual-authentication token, the log line names
  principal=krb5:alice@ACME.EXAMPLE; alice asking for bob's address 403;
  no Authorization 401 + WWW-Authenticate: Negotiate;
- refusals, each 401 and a negotiate_refused log line: the same token
  twice (replay cache), a ticket for another service (HTTP/other), a
  principal of a realm not allowed (mallory@OTHER.EXAMPLE), a principal
  with a space (it would be logged and become %u as it is), the
  negotiator's clock moved past the skew (libfaketime in the negotiator
  alone), NTLM raw and NTLM in SPNEGO;
- keytab rotation: a new kvno + SIGHUP, alice's old ticket still works;
  the old kvno removed + SIGHUP, the old ticket fails (unknown key
  version), a new ticket works;
- the keytab is the negotiator's: a process of that title exists, and the
  front has no GSS-API acceptor (tests/front_symbols.sh checks the link).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sysconfig

import https_pki
import kdc as kdcmod
from harness import Setup, check, done, free_port, skip, wait_seconds, SECRETS, redact

with open(os.path.join(os.environ.get("top_builddir", "."), "config.h")) as f:
    if "#define HAVE_GSSAPI 1" not in f.read():
        skip("built without GSS-API (configure --with-gssapi; tests/check_config.sh "
             "checks that negotiate is refused)")
# Debian's faketime package, for this machine's architecture (multiarch).
FAKETIME_LIB = "/usr/lib/%s/faketime/libfaketime.so.1" % (
    sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu")
PORT = free_port()
K = kdcmod.KDC()
K.addprinc("HTTP/localhost")
K.addprinc("HTTP/other")
K.addprinc("HTTP/replay")  # a service name that holds a word of a refusal class
for p in ("alice", "bob", "mallory@OTHER.EXAMPLE"):
    K.addprinc(p)
STATE = {}


def before(setup):
    d = setup.broker_dir
    STATE["pki"] = https_pki.make(os.path.join(setup.dir, "pki"))
    STATE["keytab"], STATE["kvno1"] = K.ktadd("HTTP/localhost", os.path.join(d, "http.keytab"))
    state = os.path.join(setup.dir, "state")
    os.mkdir(state, 0o700)
    with open(os.path.join(d, "samlbroker.conf"), "a") as f:
        f.write("listen = https:127.0.0.1:%d\n"
                "tls_certificate = %s/server.pem\n"
                "tls_key = %s/server.key\n"
                "https_auth = negotiate\n"
                "krb5_keytab = %s\n"
                "krb5_principal = HTTP/localhost@ACME.EXAMPLE\n"
                "krb5_realms = ACME.EXAMPLE\n"
                "state_directory = %s\n"
                "[access:acme]\n"
                "agents = realm:ACME.EXAMPLE\n"
                "agent_address = %%u@acme.example\n"
                "service.ewt = krb5:alice@ACME.EXAMPLE\n"
                % (PORT, STATE["pki"], STATE["pki"], STATE["keytab"], state))


# The broker finds the KDC's krb5.conf (for the clock skew; the acceptor
# never asks the KDC); libfaketime goes into the negotiator alone, reading
# its offset from a file the test rewrites.
FAKE = os.path.join(K.dir, "faketime")
with open(FAKE, "w") as f:
    f.write("+0\n")
os.environ["KRB5_CONFIG"] = K.krb5_conf
have_faketime = os.path.exists(FAKETIME_LIB)
if have_faketime:
    os.environ["SAMLBROKER_TEST_NEGOTIATOR_PRELOAD"] = FAKETIME_LIB
    os.environ["FAKETIME_TIMESTAMP_FILE"] = FAKE
    os.environ["FAKETIME_NO_CACHE"] = "1"
    if os.environ.get("ASAN_OPTIONS") is not None:
        # A sanitizer build: libfaketime is preloaded before libasan.
        os.environ["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
s = Setup(before_broker=before, test_build=True)
CA = os.path.join(STATE["pki"], "ca.pem")


def log():
    return open(s.broker_log).read()


def logged(pattern, what):
    try:
        return s.wait_for(lambda: re.search(pattern, log()), what)
    except SystemExit:
        return None


def user_path(email):
    return "/v1/tenants/acme/users/%s/token" % email.replace("@", "%40")


def curl(env, path, negotiate=True):
    """curl over https to localhost (the SPN's name): (status, headers of
    the last answer, JSON body)."""
    hfile = os.path.join(s.dir, "curl.headers")
    bfile = os.path.join(s.dir, "curl.body")
    argv = ["curl", "-sS", "-D", hfile, "-o", bfile, "--cacert", CA,
            "-H", "X-Samlbroker-Request: true"]
    if negotiate:
        argv += ["--negotiate", "-u", ":"]
    argv.append("https://localhost:%d%s" % (PORT, path))
    r = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=max(120, wait_seconds()))
    with open(hfile, newline="") as f:
        heads = [b for b in f.read().split("\r\n\r\n") if b.startswith("HTTP/")]
    if r.returncode != 0 or not heads:
        return None, {}, redact(r.stderr)
    head = heads[-1]
    hdrs = {}
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    with open(bfile) as f:
        body = f.read()
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    if isinstance(j, dict) and "access_token" in j:
        SECRETS.add(j["access_token"])
    return int(head.split()[1]), hdrs, j


def raw(token, path=None):
    """One request with "Authorization: Negotiate token" (the system python)."""
    a = kdcmod.negotiate_request(K.env(), PORT, path or user_path("alice@acme.example"),
                                 CA, token=token, headers={"X-Samlbroker-Request": "true"})
    return a[0]


def refusals():
    return log().count("event=negotiate_refused")


def refused_with(reason_re, what, before_count):
    try:
        return s.wait_for(lambda: refusals() > before_count and re.search(
            r'level=warn event=negotiate_refused peer=https:127\.0\.0\.1:\d+ '
            r'reason="' + reason_re, log()), what)
    except SystemExit:
        return None


alice = K.kinit("alice")

# The negotiator exists and holds the keytab; the front does not.
m = logged(r"event=negotiator_started pid=(\d+)", "the negotiator started")
check(m, "the master starts the negotiator", log()[-2000:])
neg_pid = int(m.group(1))
with open("/proc/%d/cmdline" % neg_pid, "rb") as f:
    title = f.read().split(b"\0")[0].decode()
check(title == "samlbroker: negotiator", "its title is samlbroker: negotiator", title)
logged(r"event=negotiator_ready", "negotiator ready")


def fds(pid):
    d = "/proc/%d/fd" % pid
    out = {}
    for n in os.listdir(d):
        try:
            out[int(n)] = os.readlink(os.path.join(d, n))
        except OSError:
            pass
    return out


# The negotiator keeps no descriptor but stdio and its socket (the
# keytab's memfd is read and closed); the front never holds that memfd.
nfd = fds(neg_pid)
nfd = {k: v for k, v in nfd.items() if "faketime" not in v}  # the test's preload
check(sorted(k for k in nfd if k > 2) == [3] and nfd[3].startswith("socket:"),
      "the negotiator holds only stdio and its socket", repr(nfd))
ffd = fds(s.front_pid())
check(not any("samlbroker-negotiator" in v or "keytab" in v for v in ffd.values()),
      "the front holds no keytab descriptor", repr(ffd))


def keytab_keys(path):
    """The key bytes of every entry of an MIT keytab (format 0x502)."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    keys, off = [], 2
    while off + 4 <= len(data):
        size = struct.unpack(">i", data[off:off + 4])[0]
        off += 4
        if size <= 0:
            off += -size
            continue
        e = data[off:off + size]
        off += size
        n = struct.unpack(">H", e[:2])[0]
        p = 2
        for _ in range(n + 1):  # the realm, then the components
            p += 2 + struct.unpack(">H", e[p:p + 2])[0]
        p += 4 + 4 + 1 + 2  # name type, timestamp, kvno, enctype
        klen = struct.unpack(">H", e[p:p + 2])[0]
        keys.append(e[p + 2:p + 2 + klen])
    return keys


# The keytab's keys are in the negotiator's memory and not in the front's
# (root reads /proc/PID/mem of either; tests/memscan.py's scan).
if os.geteuid() == 0:
    import memscan
    needles = {"keytab key": keytab_keys(STATE["keytab"])}
    check(len(needles["keytab key"]) >= 1 and all(len(k) >= 16 for k in needles["keytab key"]),
          "the keytab's keys are read for the scan")
    found, _ = memscan.scan(neg_pid, needles, 1 << 33)
    check(found == {"keytab key"}, "the negotiator holds the keytab's key (the scan works)")
    found, _ = memscan.scan(s.front_pid(), needles, 1 << 33)
    check(found == set(), "the front's memory holds no key of the keytab")
else:
    print("# memory scan skipped: reading /proc/PID/mem of the broker's processes needs root")

# alice: her own token, with mutual authentication; the log names her.
st, h, j = curl(alice, user_path("alice@acme.example"))
check(st == 200 and j and "access_token" in j, "alice gets alice's token with curl --negotiate",
      repr((st, h, j)))
www = h.get("www-authenticate", [])
check(any(v.startswith("Negotiate ") and len(v) > 20 for v in www),
      "the answer carries the mutual-authentication token", repr(www))
check(re.search(r'event=request method=GET path="/v1/tenants/acme/users/alice%40acme.example/'
                r'token" status=200 .*peer=https:127\.0\.0\.1:\d+ '
                r'principal=krb5:alice@ACME\.EXAMPLE', log()),
      "the request's log line names principal=krb5:alice@ACME.EXAMPLE", log()[-3000:])
a = kdcmod.negotiate_request(alice, PORT, user_path("alice@acme.example"), CA,
                             headers={"X-Samlbroker-Request": "true"}, same_connection=2)
check(a[0]["status"] == 200 and a[0]["mutual"] is True,
      "python-gssapi: the mutual token completes alice's context", repr(a[0])[:300])
check(a[1]["status"] == 200, "the connection stays authenticated for a second request",
      repr(a[1])[:300])

st, h, j = curl(alice, user_path("bob@acme.example"))
check(st == 403 and j["message"] == "agents may obtain only their own address",
      "alice asking for bob's address gets 403", repr((st, j)))
check(re.search(r'event=forbidden tenant=acme peer=https:127\.0\.0\.1:\d+ '
                r'principal=krb5:alice@ACME\.EXAMPLE rule="agents may obtain only their own '
                r'address"', log()), "the refusal names the principal", log()[-3000:])
st, h, j = curl(alice, "/v1/tenants/acme/services/ewt/token")
check(st == 200, "krb5:alice@ACME.EXAMPLE has service.ewt", repr((st, j)))

# No Authorization: 401 and WWW-Authenticate: Negotiate.
st, h, j = curl(dict(os.environ), user_path("alice@acme.example"), negotiate=False)
check(st == 401 and h.get("www-authenticate") == ["Negotiate"] and j["error"] == "unauthorized",
      "no Authorization: 401 with WWW-Authenticate: Negotiate", repr((st, h, j)))

r = raw(kdcmod.negotiate_token(alice, mech="krb5"))
check(r["status"] == 200, "a raw Kerberos token (RFC 4121, not SPNEGO) is accepted too",
      repr(r)[:300])

# A large token (Active Directory puts the groups in the ticket): up to
# 64 KiB more head on this listener; tcp: keeps its limit.
def big_request(port, tls, size=60000):
    import http.client
    import ssl
    if tls:
        ctx = ssl.create_default_context(cafile=CA)
        c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=60)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", user_path("alice@acme.example"), headers={
        "X-Samlbroker-Request": "true", "Authorization": "Negotiate " + "A" * size})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


n = refusals()
check(big_request(PORT, True) == 401, "a 60 KB Negotiate header on https: reaches the negotiator")
check(refused_with(r"invalid token \(", "invalid token", n),
      "... which says invalid token", log()[-2000:])
check(big_request(s.tcp_port, False) == 431, "the same header on tcp: 431 (its limit holds)")
# 70,000 characters fit the head (max_header_size 8192 + 64 KiB) but
# decode to more than the negotiator takes: refused, not "busy" (503).
n = refusals()
check(big_request(PORT, True, 70000) == 401, "a 70 KB Negotiate header on https: 401")
check(refused_with(r"invalid token \(larger than 48 KiB\)", "too large", n),
      "... which says the token is too large", log()[-2000:])

# The same token twice: the replay cache refuses the second.
tok = kdcmod.negotiate_token(alice)
n = refusals()
r1 = raw(tok)
r2 = raw(tok)
check(r1["status"] == 200, "a token's first use is accepted", repr(r1)[:300])
check(r2["status"] == 401 and r2["headers"].get("WWW-Authenticate") == "Negotiate",
      "the same token again: 401", repr(r2)[:300])
check(refused_with(r"replayed authenticator", "the replay logged", n),
      "the log says replayed authenticator", log()[-2000:])

# A ticket for another service.
n = refusals()
tok = kdcmod.negotiate_token(alice, service="HTTP@other")
r = raw(tok)
check(r["status"] == 401, "a ticket for HTTP/other: 401", repr(r)[:300])
check(refused_with(r"ticket for another service \(.*HTTP/other@ACME\.EXAMPLE", "other service", n),
      "the log says ticket for another service, naming it", log()[-2000:])
# The ticket's server name is the client's choice: HTTP/replay is no replay.
n = refusals()
r = raw(kdcmod.negotiate_token(alice, service="HTTP@replay"))
check(r["status"] == 401, "a ticket for HTTP/replay: 401", repr(r)[:300])
check(refused_with(r"ticket for another service \(.*HTTP/replay@ACME\.EXAMPLE", "replay service", n),
      "... logged as a ticket for another service, not a replay", log()[-2000:])

# A realm not allowed (the KDC trusts OTHER.EXAMPLE; the broker does not).
mallory = K.kinit("mallory@OTHER.EXAMPLE")
n = refusals()
st, h, j = curl(mallory, user_path("mallory@acme.example"))
check(st == 401, "mallory@OTHER.EXAMPLE: 401", repr((st, h, j)))
check(refused_with(r"realm not allowed \(OTHER\.EXAMPLE is not in krb5_realms", "realm", n),
      "the log says realm not allowed, naming the realm", log()[-2000:])

# A principal with a space (and a log field in it) matches realm: by its
# realm, but would be logged as principal=krb5:eve status=200 x@... and
# become %u: it is refused, its odd characters shown as '?'.
ODD = "eve status=200 x@ACME.EXAMPLE"
odd_kt = os.path.join(K.dir, "odd.keytab")
K.kadmin('addprinc -randkey "%s"' % ODD)
K.kadmin('ktadd -k %s "%s"' % (odd_kt, ODD))
eve = K.kinit(ODD, keytab=odd_kt)
n = refusals()
st, h, j = curl(eve, user_path("alice@acme.example"))
check(st == 401 and h.get("www-authenticate") == ["Negotiate"],
      "a principal with spaces: 401", repr((st, h, j)))
check(refused_with(r"invalid token \(the client's principal eve\?status=200\?x@ACME\.EXAMPLE "
                   r"holds a character", "odd principal", n),
      "the log says which principal, its odd characters as ?", log()[-2000:])
check("principal=krb5:eve" not in log(), "the odd principal is in no request line")

# NTLM, raw and offered alone in SPNEGO.
for name, tok in (("raw NTLMSSP", kdcmod.NTLM_RAW), ("SPNEGO offering only NTLM",
                                                     kdcmod.NTLM_SPNEGO)):
    n = refusals()
    r = raw(tok)
    check(r["status"] == 401 and r["headers"].get("WWW-Authenticate") == "Negotiate",
          "%s: 401 with WWW-Authenticate: Negotiate" % name, repr(r)[:300])
    check(refused_with(r"NTLM was offered \(.*SPN", "ntlm", n),
          "%s: the log says NTLM was offered and what to fix" % name, log()[-2000:])

# The negotiator's clock ten minutes ahead: past MIT's 300 s.
if have_faketime:
    with open(FAKE, "w") as f:
        f.write("+600s\n")
    n = refusals()
    r = raw(kdcmod.negotiate_token(alice))
    check(r["status"] == 401, "the broker's clock 600 s ahead: 401", repr(r)[:300])
    check(refused_with(r"clock skew \(.*allowed 300 s", "skew", n),
          "the log says clock skew and the allowed skew", log()[-2000:])
    with open(FAKE, "w") as f:
        f.write("+0\n")
    r = raw(kdcmod.negotiate_token(alice))
    check(r["status"] == 200, "the clock back: accepted again", repr(r)[:300])
else:
    print("# clock skew case skipped: no libfaketime (Debian: faketime)")


# A negotiator that dies is started again; the front takes the new one.
os.kill(neg_pid, signal.SIGKILL)
m = logged(r"event=negotiator_exited signal=9", "the negotiator's death logged")
check(m, "the master logs the negotiator's death", log()[-2000:])
try:
    m = s.wait_for(lambda: [p for p in re.findall(r"event=negotiator_started pid=(\d+)", log())
                            if int(p) != neg_pid], "a new negotiator")
except SystemExit:
    print(redact(log()[-3000:]))
    raise
st, h, j = curl(alice, user_path("alice@acme.example"))
check(st == 200, "after a restart alice is served again (pid %s)" % m[-1], repr((st, j)))


def reload():
    before_n = log().count("event=negotiator_ready")
    s.broker.send_signal(signal.SIGHUP)
    s.wait_for(lambda: log().count("event=negotiator_ready") > before_n,
               "a new negotiator after SIGHUP")


# Keytab rotation: alice's ticket of kvno1 in her ccache.
old_tok = kdcmod.negotiate_token(alice)
_, kvno2 = K.ktadd("HTTP/localhost", STATE["keytab"])
check(K.keytab_kvnos(STATE["keytab"], "HTTP/localhost") == [STATE["kvno1"], kvno2],
      "the keytab holds kvno %d and %d" % (STATE["kvno1"], kvno2))
reload()
r = raw(old_tok)
check(r["status"] == 200, "after rotation + SIGHUP, alice's old ticket (kvno %d) still works"
      % STATE["kvno1"], repr(r)[:300])
K.ktremove("HTTP/localhost", STATE["keytab"], "old")
reload()
n = refusals()
r = raw(kdcmod.negotiate_token(alice))
check(r["status"] == 401, "the old kvno removed + SIGHUP: the old ticket fails", repr(r)[:300])
check(refused_with(r"unknown key version \(", "kvno", n),
      "the log says unknown key version and what to do", log()[-2000:])
alice = K.kinit("alice")
r = raw(kdcmod.negotiate_token(alice))
check(r["status"] == 200, "a new ticket (kvno %d) works" % kvno2, repr(r)[:300])

# Without krb5_principal (any principal of the keytab) MIT says "Request
# ticket server ... not found in keytab (ticket kvno N)" for a service the
# keytab lacks: still a ticket for another service, not a key version.
conf = os.path.join(s.broker_dir, "samlbroker.conf")
with open(conf) as f:
    text = f.read()
with open(conf, "w") as f:
    f.write(text.replace("krb5_principal = HTTP/localhost@ACME.EXAMPLE\n", ""))
reload()
n = refusals()
r = raw(kdcmod.negotiate_token(alice, service="HTTP@other"))
check(r["status"] == 401, "no krb5_principal: a ticket for HTTP/other: 401", repr(r)[:300])
check(refused_with(r"ticket for another service \(the ticket is for HTTP/other@ACME\.EXAMPLE; "
                   r"this broker is any principal of its keytab", "other service, any", n),
      "no krb5_principal: the log says ticket for another service, naming it",
      log()[-2000:])
n = refusals()
r = raw(kdcmod.negotiate_token(alice, service="HTTP@replay"))
check(refused_with(r"ticket for another service \(the ticket is for HTTP/replay@ACME\.EXAMPLE",
                   "replay service, any", n),
      "no krb5_principal: HTTP/replay is a ticket for another service, not a replay",
      log()[-2000:])
r = raw(kdcmod.negotiate_token(alice))
check(r["status"] == 200, "no krb5_principal: alice's ticket for HTTP/localhost works", repr(r)[:300])

# A reload that drops negotiate stops the negotiator: the old keytab does
# not stay in a process nobody uses.
m = re.findall(r"event=negotiator_started pid=(\d+)", log())
last_neg = int(m[-1])
with open(conf) as f:
    text = f.read()
text = re.sub(r"(krb5_\w+|state_directory) = .*\n", "", text)
text = text.replace("https_auth = negotiate\n", "https_auth = certificate\n"
                    "tls_client_ca = %s\ntls_client_identity = san-email\n" % CA)
text = re.sub(r"agents = realm:ACME\.EXAMPLE\n", "agents = cert-domain:acme.example\n", text)
text = re.sub(r"service\.ewt = krb5:.*\n", "", text)
with open(conf, "w") as f:
    f.write(text)
n_start = log().count("event=reload_start")
s.broker.send_signal(signal.SIGHUP)
try:
    gone = s.wait_for(lambda: not os.path.exists("/proc/%d" % last_neg),
                      "the negotiator gone after a reload without negotiate")
except SystemExit:
    gone = False
check(gone and log().count("event=reload_start") > n_start and "reload_failed" not in log(),
      "a reload without negotiate stops the negotiator (pid %d)" % last_neg, log()[-2000:])

check("TlRMTVNTUA" not in log() and "YII" not in log(), "no token in the log")
done(s)
