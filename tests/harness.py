# SPDX-License-Identifier: Apache-2.0
"""Integration-test harness: runs the real samlbroker daemon against the
real samlbroker-emulator on temporary sockets, with python3's standard
library only.

Each test script builds a Setup (a temp dir with a broker config, the
emulator's config, both processes), runs checks with `check`, and ends with
`done()`, which prints a summary and exits 0/1 (automake: 77 = skipped).
Every secret the setup makes is remembered so that `scan_for_secrets`
can prove none reached a log or an answer.
"""
import atexit
import base64
import http.client
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP_SRCDIR = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), ".."))
TOP_BUILDDIR = os.environ.get("top_builddir", TOP_SRCDIR)
BROKER = os.path.join(TOP_BUILDDIR, "samlbroker")
# The same broker with a clock tests can move (never installed).
BROKER_TESTCLOCK = os.path.join(TOP_BUILDDIR, "tests", "samlbroker-testclock")
EMULATOR = os.path.join(TOP_BUILDDIR, "samlbroker-emulator")
WRAPPER = shlex.split(os.environ.get("SAMLBROKER_WRAPPER", ""))
# Valgrind makes everything 20-50 times slower.
SLOW = bool(WRAPPER)
# Seconds a wrapped `samlbroker --version` took (see wrapper_seconds).
_wrapped_version = None


def wrapper_seconds():
    """Seconds a wrapped `samlbroker --version` takes on this machine now,
    under whatever else runs (0 without a wrapper); measured once per test.
    Valgrind's start-up work (reading and translating the libraries) is the
    same kind of work as the first requests of a wrapped test, so timeouts
    and deadlines scale from it instead of being fixed numbers."""
    global _wrapped_version
    if not SLOW:
        return 0.0
    if _wrapped_version is None:
        t0 = time.monotonic()
        subprocess.run(WRAPPER + [BROKER, "--version"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=900)
        _wrapped_version = time.monotonic() - t0
    return _wrapped_version


def scaled(seconds, per_wrapped, ceiling):
    """A timeout or deadline: seconds without a wrapper; under one,
    per_wrapped times wrapper_seconds(), never below seconds nor above
    ceiling."""
    if not SLOW:
        return seconds
    return min(ceiling, max(seconds, per_wrapped * wrapper_seconds()))


# The first exchange of a wrapped test (TLS, signing and verifying, all
# translated by valgrind for the first time in broker, signer and
# emulator) took 1.7 times a wrapped --version (5.2 s and 3.1 s at a load
# average of 9): request_timeout allows 8 times.
REQUEST_PER_WRAPPED = 8
# Waits (start, readiness, polling, stop) are ceilings, not sleeps.
WAIT_PER_WRAPPED = 60


def wait_seconds():
    """The default deadline of a wait: 20 s, or scaled under a wrapper."""
    return scaled(20, WAIT_PER_WRAPPED, 900)


ORG_ID = "3b1f0c7e-5d2a-4a8e-9c61-0f2b7d4e8a90"
AUDIENCE = "https://login.emulator.test/oauth/token"

_failures = []
_passes = 0
# Every secret a setup makes or sees; failure details are redacted with it.
SECRETS = set()


def redact(text):
    text = str(text)
    for s in sorted(SECRETS, key=len, reverse=True):
        if s and len(s) >= 8:
            text = text.replace(s, "<redacted>")
    return text


_printed = []  # this test's own output, searched for secrets at the end


def check(cond, what, detail=""):
    global _passes
    if cond:
        _passes += 1
        line = "ok   - %s" % what
    else:
        _failures.append(what)
        line = "FAIL - %s %s" % (what, redact(detail))
    _printed.append(line)
    print(line)
    sys.stdout.flush()
    return cond


def done(setup=None):
    if setup is not None:
        setup.stop()
        leaks = setup.scan_for_secrets([("test output", "\n".join(_printed))])
        check(not leaks, "no secret in the broker's or emulator's log or in the test output",
              str(leaks))
        setup.cleanup()
    print("%d passed, %d failed" % (_passes, len(_failures)))
    sys.exit(1 if _failures else 0)


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return None
    return st[st.rindex(")") + 2:].split()


def _children(pid):
    """Live (not zombie) processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = _stat_fields(int(d))
            if f is not None and int(f[1]) == pid and f[0] != "Z":
                out.append(int(d))
    return out


def _alive(pid):
    f = _stat_fields(pid)
    return f is not None and f[0] != "Z"


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(77)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:200])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def b64(path):
    with open(path) as f:
        return f.read()


class Setup:
    """A broker and an emulator sharing one tenant set.

    tenants: acme (user tokens, services ewt and reports) and badcreds (its
    ewt secret differs between the broker and the emulator)."""

    def __init__(self, expires_in=3600, request_timeout=3, extra_broker="",
                 with_tcp=True, log_level="debug", admin_socket=None,
                 test_clock=False, nofile=None, activation=None, emu_provider=True,
                 provisioning=False, test_build=False, before_broker=None):
        if not os.access(BROKER, os.X_OK) or not os.access(EMULATOR, os.X_OK):
            skip("binaries not built")
        self.admin_socket = admin_socket  # where /readyz is, with admin_listen
        # provisioning: the tenants get a [provisioning] section (the
        # emulator's admin client).
        self.provisioning = provisioning
        self.test_clock = test_clock  # only tests that call set_clock
        # The test-only build (tests/samlbroker-testclock and its front)
        # without moving the clock.
        self.test_build = test_build or test_clock
        self.nofile = nofile  # (soft, hard) RLIMIT_NOFILE for the broker
        self.dir = tempfile.mkdtemp(prefix="samlbroker-test-")
        self.secrets = SECRETS
        self.procs = []
        atexit.register(self._kill_leftovers)  # even when a test dies early
        self.keys = os.path.join(TOP_SRCDIR, "tests", "data", "keys", "vendor-pkcs8")
        with open(os.path.join(self.keys, "password")) as f:
            self.key_password = f.read().strip()
        self.secrets.add(self.key_password)
        self.secrets.add(b64(os.path.join(self.keys, "key.pem.enc.b64")).replace("\n", "")[200:260])
        self.client_secret = "cs-SAML-%s" % os.urandom(6).hex()
        self.ewt_secret = "cs-EWT-%s" % os.urandom(6).hex()
        self.bad_secret = "cs-BAD-%s" % os.urandom(6).hex()
        self.secrets |= {self.client_secret, self.ewt_secret, self.bad_secret}
        # In a directory of its own: the test front's sandbox leaves that
        # directory readable (and nothing else of the test's).
        os.makedirs(os.path.join(self.dir, "clock"))
        self.clock_file = os.path.join(self.dir, "clock", "offset")
        self.set_clock(0)
        # The emulator first: its ports go into the broker's tenant files.
        self.emu_dir = os.path.join(self.dir, "emulator")
        os.makedirs(self.emu_dir)
        self.emu_conf = os.path.join(self.emu_dir, "emulator.json")
        write_emulator_config(self.emu_conf, self.keys, [
            ("acme", self.client_secret, self.ewt_secret),
            ("badcreds", self.client_secret, self.ewt_secret)], provider=emu_provider)
        port_file = os.path.join(self.dir, "emulator.ports")
        self.emu_log = os.path.join(self.dir, "emulator.log")
        self.start([EMULATOR, "-c", self.emu_conf,
                    "--listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0",
                    "--tls-dir", os.path.join(self.dir, "tls"),
                    "--port-file", port_file, "--expires-in", str(expires_in)],
                   self.emu_log)
        ports = self.wait_for(lambda: self._read_ports(port_file), "emulator ports")
        self.emu_http = ports["http"]
        self.emu_https = ports["https"]
        self.ca_file = os.path.join(self.dir, "tls", "emulator-cert.pem")
        # Then the broker, over HTTPS to the emulator.
        self.broker_dir = os.path.join(self.dir, "broker")
        self.socket = os.path.join(self.dir, "broker.sock")
        self.tcp_port = free_port() if with_tcp else None
        listen = "listen = unix:%s\n" % self.socket
        if with_tcp:
            listen += "listen = tcp:127.0.0.1:%d\n" % self.tcp_port
        # Under a wrapper both timeouts scale with wrapper_seconds(); a
        # test that provokes a timeout reads self.request_timeout.
        self.request_timeout = math.ceil(scaled(request_timeout, REQUEST_PER_WRAPPED, 120))
        # never above request_timeout, which check refuses
        self.connect_timeout = min(math.ceil(scaled(2, REQUEST_PER_WRAPPED, 120)),
                                   self.request_timeout)
        self.write_config(self.broker_dir,
                          "https://127.0.0.1:%d/oauth/token" % self.emu_https,
                          badcreds_secret=self.bad_secret,
                          broker_extra=listen + "ca_file = %s\nrequest_timeout = %d\n"
                          "connect_timeout = %d\nlog_level = %s\n%s"
                          % (self.ca_file, self.request_timeout, self.connect_timeout,
                             log_level, extra_broker))
        self.broker_log = os.path.join(self.dir, "broker.log")
        if before_broker:
            before_broker(self)  # e.g. tenant files changed before the start
        self.broker = self.start_broker(activation=activation)
        self.tokens_seen = SECRETS

    # --- configuration -------------------------------------------------
    def write_config(self, d, auth_url, badcreds_secret, broker_extra=""):
        os.makedirs(os.path.join(d, "tenants"), exist_ok=True)
        with open(os.path.join(d, "samlbroker.conf"), "w") as f:
            f.write("[broker]\ntenants_dir = tenants\n" + broker_extra)
        os.chmod(os.path.join(d, "samlbroker.conf"), 0o600)  # holds no secret, checked anyway
        cert = b64(os.path.join(self.keys, "cert.pem.b64")).replace("\n", "")
        pkey = b64(os.path.join(self.keys, "key.pem.enc.b64")).replace("\n", "")
        for name, ewt_secret in (("acme", self.ewt_secret), ("badcreds", badcreds_secret)):
            path = os.path.join(d, "tenants", name + ".cfg")
            with open(path, "w") as f:
                service_url = "https://127.0.0.1:%d/api/" % self.emu_https
                f.write(TENANT_TEMPLATE % dict(
                    org=name, org_id=ORG_ID, auth_url=auth_url, service_url=service_url,
                    audience=AUDIENCE, cert=cert, pkey=pkey,
                    password=self.key_password, saml_secret=self.client_secret,
                    ewt_secret=ewt_secret, name=name))
                if self.provisioning:
                    f.write("\n[provisioning]\nclient_id = admin-client-%s\n"
                            "password = adm-%s\n" % (name, ewt_secret))
            os.chmod(path, 0o600)

    def tenant_path(self, name):
        return os.path.join(self.broker_dir, "tenants", name + ".cfg")

    # --- processes -----------------------------------------------------
    def start(self, argv, log, env=None, wrap=True, preexec_fn=None):
        logf = open(log, "ab")
        p = subprocess.Popen((WRAPPER if wrap else []) + argv, stdout=logf, stderr=logf,
                             env=env, preexec_fn=preexec_fn)
        logf.close()
        self.procs.append(p)
        return p

    def start_broker(self, activation_socket=None, activation=None, expect_exit=False):
        """Starts the broker; with activation_socket, through
        systemd-socket-activate listening there (socket activation);
        activation: [(path, fdname), ...], the first is the token socket.
        expect_exit: return the process if it exits at start."""
        env = dict(os.environ)
        if self.test_clock:
            env["SAMLBROKER_TEST_CLOCK_FILE"] = self.clock_file
        binary = BROKER_TESTCLOCK if self.test_build else BROKER
        argv = [binary, "serve", "-c", os.path.join(self.broker_dir, "samlbroker.conf")]
        nofile = self.nofile
        preexec = (lambda: __import__("resource").setrlimit(
            __import__("resource").RLIMIT_NOFILE, nofile)) if nofile else None
        if activation_socket:
            activation = [(activation_socket, None)]
        if activation:
            self.socket = activation[0][0]
            act = ["systemd-socket-activate"]
            for path, _ in activation:
                act += ["-l", path]
            if any(name for _, name in activation):
                act.append("--fdname=" + ":".join(name or "main" for _, name in activation))
            # The activator execs the broker in its own pid, so LISTEN_PID holds.
            p = self.start(act + ["-E", "SAMLBROKER_TEST_CLOCK_FILE"] + WRAPPER + argv,
                           self.broker_log, env=env, wrap=False, preexec_fn=preexec)
            # The activator starts the broker on the first connection.
            self.wait_for(lambda: p.poll() is not None or self._poke(), "activation socket")
        else:
            p = self.start(argv, self.broker_log, env=env, preexec_fn=preexec)
        self.wait_for(lambda: p.poll() is not None or self._ready(), "broker ready")
        if p.poll() is not None and expect_exit:
            self.procs.remove(p)
            return p
        if p.poll() is not None:
            print(open(self.broker_log).read())
            raise SystemExit("broker exited at start")
        return p

    def front_pid(self, master=None):
        """The front: the master's child titled "samlbroker: front"."""
        for k in _children(master or self.broker.pid):
            try:
                with open("/proc/%d/cmdline" % k, "rb") as f:
                    if f.read().startswith(b"samlbroker: front"):
                        return k
            except OSError:
                pass
        return None

    def signer_pids(self, master=None):
        """The master's live children titled "samlbroker: signer N"."""
        out = []
        for k in _children(master or self.broker.pid):
            try:
                with open("/proc/%d/cmdline" % k, "rb") as f:
                    if f.read().startswith(b"samlbroker: signer"):
                        out.append(k)
            except OSError:
                pass
        return sorted(out)

    def _poke(self):
        try:
            with socket.socket(socket.AF_UNIX) as poke:
                poke.connect(self.socket)
            return True
        except OSError:
            return False

    def _ready(self):
        main = self.socket
        try:
            if isinstance(self.admin_socket, int):  # a TCP admin_listen port
                return self.get("/readyz", tcp=self.admin_socket, headers={
                    "X-Samlbroker-Request": "true"}).status == 200
            if self.admin_socket:
                self.socket = self.admin_socket
            return self.get("/readyz").status == 200
        except OSError:
            return False
        finally:
            self.socket = main

    def _read_ports(self, path):
        try:
            with open(path) as f:
                ports = dict(line.split() for line in f if line.strip())
            if "http" in ports and "https" in ports:
                return {k: int(v) for k, v in ports.items()}
        except (OSError, ValueError):
            pass
        return None

    def wait_for(self, fn, what, timeout=None):
        timeout = timeout or wait_seconds()
        end = time.time() + timeout
        while time.time() < end:
            r = fn()
            if r:
                return r
            time.sleep(0.05)
        raise SystemExit("timed out waiting for %s" % what)

    def stop(self):
        kids = [k for p in self.procs if p.poll() is None for k in _children(p.pid)]
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=wait_seconds())
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                check(False, "process %d stopped on SIGTERM" % p.pid)
        for p in self.procs:
            # valgrind --error-exitcode makes leaks and errors visible here.
            check(p.returncode == 0, "process %s exited 0" % os.path.basename(
                [a for a in p.args if "samlbroker" in a][0]),
                  "status %s" % p.returncode)
        # serve's signers (children of the broker) are gone with it.
        end = time.time() + scaled(10, WAIT_PER_WRAPPED, 900)
        while any(_alive(k) for k in kids) and time.time() < end:
            time.sleep(0.05)
        check(not any(_alive(k) for k in kids), "no child process left after SIGTERM",
              repr([k for k in kids if _alive(k)]))
        self.procs = []

    def _kill_leftovers(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def cleanup(self):
        if _failures:
            for log in (self.broker_log, self.emu_log):
                print("---- %s (last 60 lines)" % os.path.basename(log))
                with open(log, errors="replace") as f:
                    print("".join(f.readlines()[-60:]))
        shutil.rmtree(self.dir, ignore_errors=True)

    def set_clock(self, offset):
        """Moves the broker's clock (and the emulator's, for assertion
        time checks) offset seconds away from real time."""
        if offset and not self.test_clock:
            raise SystemExit("set_clock needs Setup(test_clock=True)")
        # Rewritten in place, twice on one line: every process of the
        # test-clock build (its signers too, which cannot open files) maps
        # this file and reads it from memory.
        fd = os.open(self.clock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, ("%f %f" % (offset, offset)).ljust(63).encode() + b"\n", 0)
        finally:
            os.close(fd)
        if getattr(self, "emu_http", None):
            self.emu("POST", "/emulator/config", {"clock_offset": offset})

    # --- HTTP ----------------------------------------------------------
    def request(self, method, path, body=None, headers=None, tcp=False, timeout=None):
        # A request may wait out two exchanges (request_timeout each).
        timeout = timeout or max(60, 3 * self.request_timeout, wait_seconds())
        if tcp:
            # tcp=True: the first TCP listener; a number: that port.
            port = self.tcp_port if tcp is True else tcp
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        else:
            c = UnixHTTPConnection(self.socket, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            reply = Reply(r.status, dict(r.getheaders()), body)
        finally:
            c.close()
        j = reply.json()
        if isinstance(j, dict):
            for k in ("access_token", "saml_response"):
                if k in j:
                    self.tokens_seen.add(j[k])
        return reply

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def user_token(self, email, tenant="acme", method="GET"):
        from urllib.parse import quote
        return self.request(method, "/v1/tenants/%s/users/%s/token"
                            % (tenant, quote(email, safe="")))

    def service_token(self, service, tenant="acme", method="GET"):
        return self.request(method, "/v1/tenants/%s/services/%s/token" % (tenant, service))

    def emu(self, method, path, obj=None):
        c = http.client.HTTPConnection("127.0.0.1", self.emu_http, timeout=max(30, wait_seconds()))
        try:
            body = json.dumps(obj) if obj is not None else None
            c.request(method, path, body=body,
                      headers={"Content-Type": "application/json"} if body else {})
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        return json.loads(data) if data else None

    def platform_api(self, method, path, body=None, client="admin-client-acme", secret=None):
        """The emulator's platform API over HTTPS with a fresh token of
        client (by default the tenants' [provisioning] client, with
        Setup(provisioning=True)): (status, JSON or None)."""
        import ssl
        secret = secret or "adm-" + self.ewt_secret
        ctx = ssl.create_default_context(cafile=self.ca_file)
        c = http.client.HTTPSConnection("127.0.0.1", self.emu_https, context=ctx,
                                        timeout=max(30, wait_seconds()))
        try:
            basic = base64.b64encode(("%s:%s" % (client, secret)).encode()).decode()
            c.request("POST", "/oauth/token", body="grant_type=client_credentials",
                      headers={"Authorization": "Basic " + basic,
                               "Content-Type": "application/x-www-form-urlencoded"})
            tok = json.loads(c.getresponse().read())["access_token"]
            self.tokens_seen.add(tok)
            hdrs = {"Authorization": "Bearer " + tok}
            if body is not None:
                hdrs["Content-Type"] = "application/json"
                body = json.dumps(body)
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        return r.status, (json.loads(data) if data else None)

    def counters(self):
        return self.emu("GET", "/emulator/counters")

    def metrics(self):
        return self.get("/metrics").body

    # --- secrets -------------------------------------------------------
    def scan_for_secrets(self, extra_texts=()):
        secrets = {s for s in self.secrets | self.tokens_seen if s and len(s) >= 8}
        found = []
        texts = list(extra_texts)
        for log in (self.broker_log, self.emu_log):
            with open(log, errors="replace") as f:
                texts.append((log, f.read()))
        for name, text in texts:
            for s in secrets:
                if s in text:
                    found.append("%s holds a secret starting %s..." % (
                        os.path.basename(name), s[:6]))
        return found


def pem_body(path):
    """The base64 between a PEM file's BEGIN and END lines, flat."""
    with open(path) as f:
        lines = f.read().strip().splitlines()
    return "".join(lines[1:-1])


# What the emulator's admin-client-NAME may do besides sso:provider:*
# (ssoadmin-client-NAME has only those).
ADMIN_PERMISSIONS = ["oauth:client:*", "authorization:role:*",
                     "authorization:division:view"]


def write_emulator_config(path, keys, orgs, audience=AUDIENCE, provider=True):
    """The emulator's own configuration: for each (name, saml secret, service
    secret), an organization with the clients saml-client-NAME,
    ewt-client-NAME, reports-client-NAME, admin-client-NAME (admin and
    ADMIN_PERMISSIONS, secret "adm-" + service secret), ssoadmin-client-NAME
    (admin only, secret "sso-" + service secret) and oauthadmin-client-NAME
    (ADMIN_PERMISSIONS only, secret "oa-" + service secret), viewer-client-NAME
    (admin and the view permissions, secret "vw-" + service secret), and, with
    provider, a PureEngage identity
    provider that trusts the key fixture in keys for the issuer
    https://www.genesys.com/pureengage/NAME."""
    conf = {"audience": audience, "organizations": []}
    for name, saml_secret, cc_secret in orgs:
        org = {"name": name, "id": ORG_ID, "clients": [
            {"client_id": "saml-client-" + name, "secret": saml_secret,
             "grant": "saml2_bearer"},
            {"client_id": "ewt-client-" + name, "secret": cc_secret,
             "grant": "client_credentials"},
            {"client_id": "reports-client-" + name, "secret": cc_secret,
             "grant": "client_credentials"},
            {"client_id": "admin-client-" + name, "secret": "adm-" + cc_secret,
             "grant": "client_credentials", "admin": True,
             "permissions": ADMIN_PERMISSIONS},
            {"client_id": "ssoadmin-client-" + name, "secret": "sso-" + cc_secret,
             "grant": "client_credentials", "admin": True},
            {"client_id": "oauthadmin-client-" + name, "secret": "oa-" + cc_secret,
             "grant": "client_credentials", "permissions": ADMIN_PERMISSIONS},
            {"client_id": "viewer-client-" + name, "secret": "vw-" + cc_secret,
             "grant": "client_credentials", "admin": True,
             "permissions": ["oauth:client:view", "authorization:role:view",
                             "authorization:division:view"]}]}
        if provider:
            org["identity_providers"] = {"pureengage": {
                "name": "PureEngage", "issuerURI": "https://www.genesys.com/pureengage/" + name,
                "certificate": pem_body(os.path.join(keys, "cert.pem")),
                "ssoTargetURI": "https://apps.mypurecloud.com",
                "autoProvisionUsers": True, "disabled": False}}
        conf["organizations"].append(org)
    with open(path, "w") as f:
        json.dump(conf, f, indent=1)
    os.chmod(path, 0o600)


TENANT_TEMPLATE = """\ufeff; options export of the hybrid_integration object
[general]
organization_sname = %(org)s
organization_id = %(org_id)s
default_agent_role_name = employee
base_auth_url = %(auth_url)s
base_service_url = %(service_url)s

[saml]
issuer = https://www.genesys.com/pureengage/%(name)s
certificate = %(cert)s
pkey = %(pkey)s
password = %(password)s
expire_time = 24
audience = %(audience)s
recipient = %(audience)s
destination = %(audience)s

[saml_auth]
client_id = saml-client-%(name)s
password = %(saml_secret)s

[ewt]
client_id = ewt-client-%(name)s
password = %(ewt_secret)s

[reports]
client_id = reports-client-%(name)s
client_secret = %(ewt_secret)s

[interaction-workspace]
; another component's options: tolerated
some_option = x
"""
