# SPDX-License-Identifier: Apache-2.0
"""A throw-away MIT Kerberos KDC for integration tests (Debian krb5-kdc,
krb5-admin-server, krb5-user), in a temporary directory, on a free
loopback port, with no network and nothing of the host's /etc/krb5*.

    kdc = KDC()                       # ACME.EXAMPLE and OTHER.EXAMPLE
    kdc.addprinc("HTTP/localhost")
    keytab, kvno = kdc.ktadd("HTTP/localhost", kdc.path("http.keytab"))
    kdc.addprinc("alice")
    env = kdc.kinit("alice")          # KRB5_CONFIG, KRB5CCNAME set
    subprocess.run(["curl", "--negotiate", "-u", ":", ...], env=env)
    kdc.stop()                        # also at exit, whatever happens

One krb5kdc serves two realms: `realm` (default ACME.EXAMPLE, the
broker's) and `other_realm` (default OTHER.EXAMPLE, for "realm not
allowed"), with a cross-realm trust so that mallory@OTHER.EXAMPLE can get
a ticket for HTTP/localhost@ACME.EXAMPLE (as a trusted forest's user
would).  Principals without "@" are in `realm`.

krb5.conf sets rdns = false, dns_lookup_kdc = false and
dns_canonicalize_hostname = false: "HTTP@localhost" is HTTP/localhost.
The broker reads the same file: pass kdc.env() (KRB5_CONFIG) to it.

GSS-API tokens (python3-gssapi) are made by the system interpreter
(GSS_PYTHON, /usr/bin/python3: the package is built for it), in a child
process running this file, so a test run by any python3 can use them:
negotiate_token (a fresh SPNEGO token, base64, e.g. to send twice) and
negotiate_request (an HTTPS request with Negotiate that checks the
answer's mutual-authentication token).

Secrets (the master password, cross-realm password) go into
harness.SECRETS so scan_for_secrets finds them in logs.  Waits are the
harness's (wait_seconds), never fixed sleeps.
"""
import atexit
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GSS_PYTHON = os.environ.get("GSS_PYTHON", "/usr/bin/python3")
SBIN = "/usr/sbin"
TOOLS = {"krb5kdc": SBIN, "kdb5_util": SBIN, "kadmin.local": SBIN,
         "kinit": "/usr/bin", "kvno": "/usr/bin", "klist": "/usr/bin"}
# Debian's packages for each tool (what scripts/deps installs).
PACKAGES = "krb5-kdc krb5-admin-server krb5-user python3-gssapi"
ENCTYPES = "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal"

# An NTLM NEGOTIATE_MESSAGE (type 1) as Windows sends it when it found no
# SPN for the name (Negotiate falls back to NTLM): raw, and wrapped in a
# SPNEGO NegTokenInit offering only NTLMSSP (1.3.6.1.4.1.311.2.2.10).
NTLM_TYPE1 = base64.b64decode("TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==")


def _der(tag, body):
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(lb)]) + lb
    return bytes([tag]) + length + body


def _spnego_ntlm():
    ntlm_oid = _der(0x06, bytes([0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a]))
    spnego_oid = _der(0x06, bytes([0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]))
    mech_types = _der(0xa0, _der(0x30, ntlm_oid))
    mech_token = _der(0xa2, _der(0x04, NTLM_TYPE1))
    init = _der(0xa0, _der(0x30, mech_types + mech_token))
    return _der(0x60, spnego_oid + init)


NTLM_RAW = base64.b64encode(NTLM_TYPE1).decode()
NTLM_SPNEGO = base64.b64encode(_spnego_ntlm()).decode()


def missing_tools():
    """What this machine lacks to run a KDC and make GSS-API tokens (a
    test may skip with it; CI installs PACKAGES through scripts/deps)."""
    out = [t for t, d in TOOLS.items() if not os.access(os.path.join(d, t), os.X_OK)]
    if subprocess.run([GSS_PYTHON, "-c", "import gssapi"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        out.append("python3-gssapi for %s" % GSS_PYTHON)
    return out


def free_port_tcp_udp():
    """A loopback port free for TCP and UDP both (kdc_listen and
    kdc_tcp_listen share it)."""
    for _ in range(50):
        t = socket.socket()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise SystemExit("no free loopback port for the KDC")


def _safe(princ):
    return re.sub(r"[^A-Za-z0-9._-]", "_", princ)


class KDC:
    """A krb5kdc serving realm and other_realm from directory (a new
    temporary one by default, removed at stop unless keep=True)."""

    def __init__(self, realm="ACME.EXAMPLE", other_realm="OTHER.EXAMPLE", directory=None,
                 start=True, keep=False):
        lacking = missing_tools()
        if lacking:
            harness.skip("no %s (scripts/deps installs %s)" % (", ".join(lacking), PACKAGES))
        self.realm = realm
        self.other_realm = other_realm
        self.realms = [r for r in (realm, other_realm) if r]
        self.own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="samlbroker-kdc-")
        self.keep = keep
        os.makedirs(self.dir, exist_ok=True)
        self.krb5_conf = self.path("krb5.conf")
        self.kdc_conf = self.path("kdc.conf")
        self.log = self.path("kdc.log")
        self.proc = None
        self.pid = None
        self.port = None
        atexit.register(self._atexit)
        if start:
            self.start()

    def path(self, name):
        return os.path.join(self.dir, name)

    # --- configuration -------------------------------------------------
    def _write_config(self):
        realms_kdc = "".join(
            " %s = {\n  database_name = %s\n  key_stash_file = %s\n"
            "  acl_file = %s\n  max_life = 10h\n  max_renewable_life = 0\n"
            "  master_key_type = aes256-cts-hmac-sha1-96\n  supported_enctypes = %s\n }\n"
            % (r, self.path("db/%s/principal" % r), self.path("db/%s/stash" % r),
               self.path("kadm5.acl"), ENCTYPES) for r in self.realms)
        with open(self.kdc_conf, "w") as f:
            f.write("[kdcdefaults]\n kdc_listen = 127.0.0.1:%d\n kdc_tcp_listen = 127.0.0.1:%d\n"
                    "[realms]\n%s[logging]\n kdc = FILE:%s\n admin_server = FILE:%s\n"
                    " default = FILE:%s\n"
                    % (self.port, self.port, realms_kdc, self.log, self.path("kadmin.log"),
                       self.path("krb5lib.log")))
        with open(self.path("kadm5.acl"), "w") as f:
            f.write("")
        domains = " localhost = %s\n .%s = %s\n %s = %s\n" % (
            self.realm, self.realm.lower(), self.realm, self.realm.lower(), self.realm)
        capaths = ""
        if self.other_realm:
            domains += " .%s = %s\n %s = %s\n" % (
                self.other_realm.lower(), self.other_realm, self.other_realm.lower(),
                self.other_realm)
            capaths = "[capaths]\n %s = {\n  %s = .\n }\n %s = {\n  %s = .\n }\n" % (
                self.other_realm, self.realm, self.realm, self.other_realm)
        realms = "".join(" %s = {\n  kdc = 127.0.0.1:%d\n }\n" % (r, self.port)
                         for r in self.realms)
        with open(self.krb5_conf, "w") as f:
            f.write("[libdefaults]\n default_realm = %s\n rdns = false\n"
                    " dns_lookup_kdc = false\n dns_lookup_realm = false\n"
                    " dns_canonicalize_hostname = false\n forwardable = false\n"
                    " default_ccache_name = FILE:%s\n default_keytab_name = FILE:%s\n"
                    " default_client_keytab_name = FILE:%s\n"
                    "[realms]\n%s[domain_realm]\n%s%s"
                    % (self.realm, self.path("ccache-default"), self.path("no.keytab"),
                       self.path("no-client.keytab"), realms, domains, capaths))

    def env(self, ccache=None, base=None):
        """The environment for a krb5 program (the broker, curl, kinit):
        base (os.environ by default) with KRB5_CONFIG and, with ccache,
        KRB5CCNAME; KRB5_KDC_PROFILE for the admin tools; KRB5_TRACE unset."""
        e = dict(os.environ if base is None else base)
        e.pop("KRB5_TRACE", None)
        e.pop("KRB5CCNAME", None)
        e["KRB5_CONFIG"] = self.krb5_conf
        e["KRB5_KDC_PROFILE"] = self.kdc_conf
        if ccache:
            e["KRB5CCNAME"] = ccache
        return e

    def _run(self, argv, what, env=None, input_text=None):
        r = subprocess.run(argv, env=env or self.env(), input=input_text,
                           capture_output=True, text=True, timeout=harness.wait_seconds())
        if r.returncode != 0:
            raise SystemExit("%s failed (%d): %s" % (
                what, r.returncode, harness.redact((r.stderr or r.stdout).strip())))
        return r.stdout

    def kadmin(self, query, realm=None):
        """kadmin.local -q QUERY on realm's database (default: self.realm)."""
        return self._run([os.path.join(SBIN, "kadmin.local"), "-r", realm or self.realm,
                          "-q", query], "kadmin.local %s" % query.split()[0])

    def _realm_of(self, princ):
        return princ.rsplit("@", 1)[1] if "@" in princ else self.realm

    def full(self, princ):
        """princ with its realm (self.realm when it has none)."""
        return princ if "@" in princ else "%s@%s" % (princ, self.realm)

    # --- the KDC ---------------------------------------------------------
    def start(self):
        """Creates the databases (once) and starts krb5kdc, retrying on a
        new port if another process took the chosen one first."""
        for attempt in range(3):
            self.port = free_port_tcp_udp()
            self._write_config()
            if attempt == 0:
                self._create_databases()
            out = open(self.path("krb5kdc.out"), "ab")
            argv = [os.path.join(SBIN, "krb5kdc"), "-n"]
            for r in self.realms:
                argv += ["-r", r]
            self.proc = subprocess.Popen(argv, env=self.env(), stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL)
            out.close()
            self.pid = self.proc.pid
            if self._wait_ready():
                return self
            self.proc.wait()
        raise SystemExit("krb5kdc did not start: %s" % self._tail())

    def _create_databases(self):
        self.master_password = base64.b64encode(os.urandom(24)).decode()
        harness.SECRETS.add(self.master_password)
        for r in self.realms:
            os.makedirs(self.path("db/" + r), exist_ok=True)
            self._run([os.path.join(SBIN, "kdb5_util"), "-r", r, "create", "-s", "-W"],
                      "kdb5_util create -r %s" % r,
                      input_text="%s\n%s\n" % (self.master_password, self.master_password))
        if self.other_realm:
            # The cross-realm keys: the same password, principal (so salt)
            # and kvno in both databases, both directions.
            trust = base64.b64encode(os.urandom(24)).decode()
            harness.SECRETS.add(trust)
            for a, b in ((self.realm, self.other_realm), (self.other_realm, self.realm)):
                for r in self.realms:
                    self.kadmin("addprinc -pw %s krbtgt/%s@%s" % (trust, a, b), realm=r)

    def _wait_ready(self):
        """True once the KDC accepts TCP connections on its port; False if
        it exited (the port was taken)."""
        end = time.time() + harness.wait_seconds()
        while time.time() < end:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise SystemExit("krb5kdc not listening on 127.0.0.1:%d after %ds: %s" % (
            self.port, harness.wait_seconds(), self._tail()))

    def _tail(self):
        text = ""
        for name in ("krb5kdc.out", "kdc.log"):
            try:
                with open(self.path(name), errors="replace") as f:
                    text += "".join(f.readlines()[-10:])
            except OSError:
                pass
        return harness.redact(text)

    def running(self):
        return self.pid is not None and harness._alive(self.pid)

    def stop(self):
        """Stops the KDC by its pid (SIGTERM, SIGKILL after the harness's
        wait) and removes its directory (unless keep).  True if the pid is
        gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=harness.wait_seconds())
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        gone = self.pid is None or not harness._alive(self.pid)
        if self.own_dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return gone

    def _atexit(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.own_dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- principals, keytabs, tickets ------------------------------------
    def addprinc(self, princ):
        """A principal with a random key (kadmin.local addprinc -randkey)."""
        self.kadmin("addprinc -randkey %s" % self.full(princ), realm=self._realm_of(princ))
        return self.full(princ)

    def ktadd(self, princ, keytab=None, enctypes=None, randkey=True):
        """Adds princ's keys to keytab (default DIR/PRINC.keytab, mode
        0600): with randkey (kadmin's default) a new key version first, so
        a second ktadd of a service is a key rotation that keeps the old
        version in the file.  enctypes: e.g. "aes256-cts-hmac-sha1-96:normal".
        Returns (keytab path, kvno)."""
        keytab = keytab or self.path(_safe(self.full(princ)) + ".keytab")
        q = "ktadd -k %s" % keytab
        if enctypes:
            q += " -e %s" % enctypes.replace(" ", ",")
        if not randkey:
            q += " -norandkey"
        out = self.kadmin("%s %s" % (q, self.full(princ)), realm=self._realm_of(princ))
        kvnos = {int(k) for k in re.findall(r"with kvno (\d+)", out)}
        if len(kvnos) != 1:
            raise SystemExit("ktadd %s: no kvno in kadmin's answer" % princ)
        os.chmod(keytab, 0o600)
        return keytab, kvnos.pop()

    def ktremove(self, princ, keytab, which="old"):
        """Removes princ's entries from keytab: which = "old" (all but the
        newest kvno), "all", or a kvno."""
        self.kadmin("ktremove -k %s %s %s" % (keytab, self.full(princ), which),
                    realm=self._realm_of(princ))

    def keytab_kvnos(self, keytab, princ=None):
        """The key versions keytab holds (for princ, or any), sorted."""
        out = self._run(["klist", "-k", keytab], "klist -k")
        kvnos = set()
        for line in out.splitlines():
            m = re.match(r"\s*(\d+)\s+(\S+)", line)
            if m and (princ is None or m.group(2) == self.full(princ)):
                kvnos.add(int(m.group(1)))
        return sorted(kvnos)

    def ccache(self, princ):
        return "FILE:" + self.path("cc_" + _safe(self.full(princ)))

    def kinit(self, princ, keytab=None):
        """kinit -k -t KEYTAB princ into princ's own ccache (the keytab
        from ktadd when not given, made with -norandkey if missing).
        Returns the environment for curl or a GSS client (env())."""
        full = self.full(princ)
        if keytab is None:
            keytab = self.path(_safe(full) + ".keytab")
            if not os.path.exists(keytab):
                self.ktadd(full, keytab)
        cc = self.ccache(full)
        env = self.env(cc)
        self._run(["kinit", "-k", "-t", keytab, "-c", cc, full], "kinit %s" % full, env=env)
        return env

    def kvno(self, env, service):
        """kvno SERVICE with env's ccache (a service ticket into it);
        returns the ticket's key version."""
        out = self._run(["kvno", service], "kvno %s" % service, env=env)
        m = re.search(r"kvno = (\d+)", out)
        if not m:
            raise SystemExit("kvno %s: no kvno in its answer" % service)
        return int(m.group(1))


# --- GSS-API through the system python3 (python3-gssapi) -----------------
def _gss_child(op, params, env):
    r = subprocess.run([GSS_PYTHON, os.path.abspath(__file__), "--gss", op],
                       input=json.dumps(params), env=env, capture_output=True, text=True,
                       timeout=harness.wait_seconds())
    if r.returncode != 0:
        raise SystemExit("gss %s failed: %s" % (op, harness.redact(r.stderr.strip()[-2000:])))
    return json.loads(r.stdout)


def negotiate_token(env, service="HTTP@localhost", mech="spnego"):
    """A fresh initiator token for service (a GSS host-based name) from
    env's ccache, base64 as it goes after "Negotiate ".  mech: "spnego"
    (what browsers and .NET send) or "krb5" (a raw Kerberos token)."""
    tok = _gss_child("token", {"service": service, "mech": mech}, env)["token"]
    harness.SECRETS.add(tok)
    return tok


def negotiate_request(env, port, path, cafile, host="localhost", service="HTTP@localhost",
                      headers=None, token=None, method="GET", same_connection=1):
    """An HTTPS request to 127.0.0.1:port with "Authorization: Negotiate"
    (a fresh token, or token), through the system python3; then
    same_connection - 1 more requests on that connection without
    Authorization.  Returns a list of dicts (status, headers, body) with
    "mutual": True when the answer's WWW-Authenticate token completed the
    context (mutual authentication checked), False when it did not, None
    when there was none."""
    return _gss_child("request", {
        "port": port, "path": path, "cafile": cafile, "host": host, "service": service,
        "headers": headers or {}, "token": token, "method": method,
        "count": same_connection}, env)


def _gss_main(op):
    import gssapi  # the system python3 only
    p = json.load(sys.stdin)
    mech = gssapi.OID.from_int_seq("1.3.6.1.5.5.2" if p.get("mech", "spnego") == "spnego"
                                   else "1.2.840.113554.1.2.2")
    name = gssapi.Name(p["service"], gssapi.NameType.hostbased_service)
    if op == "token":
        ctx = gssapi.SecurityContext(name=name, mech=mech, usage="initiate",
                                     flags=gssapi.RequirementFlag.mutual_authentication)
        print(json.dumps({"token": base64.b64encode(ctx.step()).decode()}))
        return
    if op == "roundtrip":
        # Initiate to service with the ccache, accept with the keytab.
        ctx = gssapi.SecurityContext(name=name, mech=mech, usage="initiate",
                                     flags=gssapi.RequirementFlag.mutual_authentication)
        tok = ctx.step()
        acred = gssapi.Credentials(usage="accept", store={
            "keytab": p["keytab"], "rcache": "file2:" + p["rcache"]})
        actx = gssapi.SecurityContext(creds=acred, usage="accept")
        out = actx.step(tok)
        accepted = actx.complete
        if out:
            ctx.step(out)
        print(json.dumps({"initiator": str(actx.initiator_name), "accepted": accepted,
                          "target": str(actx.target_name), "mutual": ctx.complete}))
        return
    import http.client
    import ssl
    sslctx = ssl.create_default_context(cafile=p["cafile"])
    sslctx.check_hostname = False  # connected by address; the certificate is checked
    c = http.client.HTTPSConnection("127.0.0.1", p["port"], context=sslctx,
                                    timeout=max(30, harness.wait_seconds()))
    ctx = None
    tok = p["token"]
    if tok is None:
        ctx = gssapi.SecurityContext(name=name, mech=mech, usage="initiate",
                                     flags=gssapi.RequirementFlag.mutual_authentication)
        tok = base64.b64encode(ctx.step()).decode()
    answers = []
    for i in range(p["count"]):
        h = dict(p["headers"])
        h["Host"] = p["host"]
        if i == 0:
            h["Authorization"] = "Negotiate " + tok
        c.request(p["method"], p["path"], headers=h)
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        hdrs = dict(r.getheaders())
        mutual = None
        www = [v for k, v in r.getheaders() if k.lower() == "www-authenticate"]
        if i == 0 and ctx is not None and www and www[0].startswith("Negotiate "):
            try:
                ctx.step(base64.b64decode(www[0].split(None, 1)[1]))
                mutual = ctx.complete
            except gssapi.exceptions.GSSError:
                mutual = False
        answers.append({"status": r.status, "headers": hdrs, "body": body, "mutual": mutual})
    c.close()
    print(json.dumps(answers))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--gss":
        _gss_main(sys.argv[2])
        sys.exit(0)
    sys.exit("usage: kdc.py --gss token|roundtrip|request (internal); see tests/kdc_selftest.py")
