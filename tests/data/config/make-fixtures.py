#!/usr/bin/env python3
"""Writes the configuration fixtures under tests/data/config/.

The output is committed; run this again only to change the fixtures (it
rewrites every case it knows, `expected` files included).  Every case is a directory holding a main file
samlbroker.conf, a tenants/ directory and, for ok/ and invalid/, a file
`expected` with the exact lines `samlbroker check` prints on stderr, @DIR@
standing for the case directory.  tests/check_config.sh runs them.

Key material comes from tests/data/keys/ (the vendor-style fixtures and the
keystore's bad-* fixtures).  Every client secret holds "SECRET-" and every
key password "fixture-password-" or "not-the-password", so the test can
tell that none reaches the output.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "..", "keys")


def b64(keydir, name, wrap=False):
    with open(os.path.join(KEYS, keydir, name)) as f:
        lines = f.read().split()
    # An options value is one line: pasted base64 loses its newlines, or
    # keeps them as spaces.
    return (" " if wrap else "").join(lines)


def password(keydir):
    with open(os.path.join(KEYS, keydir, "password")) as f:
        return f.read()


def tenant(keydir="vendor-pkcs8", wrap=False, drop=(), set_=None, extra=None,
           pw=None, tail=""):
    """A tenant file as text.  drop: (section, option) pairs to leave out;
    set_: {(section, option): value} replacing or adding values; extra:
    text of further sections appended."""
    sections = [
        ("general", [
            ("organization_sname", "acme-contact-centre"),
            ("organization_id", "3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c"),
            ("default_agent_role_name", "employee"),
            ("default_admin_role_name", "admin"),
            ("base_auth_url", "https://login.mypurecloud.ie/oauth/token"),
            ("base_service_url", "https://api.mypurecloud.ie/api/"),
        ]),
        ("saml", [
            ("issuer", "https://www.genesys.com/pureengage"),
            ("certificate", b64(keydir, "cert.pem.b64", wrap)),
            ("pkey", b64(keydir, "key.pem.enc.b64", wrap)),
            ("password", pw if pw is not None else password(keydir)),
            ("expire_time", "24"),
        ]),
        ("saml_auth", [
            ("client_id", "7d1e2f3a-0000-4000-8000-00000000a001"),
            ("password", "SECRET-saml-auth-client"),
        ]),
        ("ewt", [
            ("client_id", "7d1e2f3a-0000-4000-8000-00000000a002"),
            ("password", "SECRET-ewt-client"),
        ]),
    ]
    set_ = dict(set_ or {})
    out = []
    for name, opts in sections:
        out.append("[%s]" % name)
        for k, v in opts:
            if (name, k) in drop:
                continue
            if (name, k) in set_:
                v = set_.pop((name, k))
            out.append("%s = %s" % (k, v))
        for (s, k), v in list(set_.items()):
            if s == name:
                out.append("%s = %s" % (k, v))
                del set_[(s, k)]
        out.append("")
    text = "\n".join(out)
    if extra:
        text += extra
    return text + tail


MAIN = """[broker]
listen = unix:/run/samlbroker-test/samlbroker.sock
tenants_dir = tenants
"""


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def case(kind, name, expected, main=MAIN, tenants=None, files=None,
         world_readable=()):
    d = os.path.join(HERE, kind, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "tenants"))
    write(os.path.join(d, "samlbroker.conf"), main)
    if tenants is None:
        tenants = {"acme.cfg": tenant()}
    for fname, text in tenants.items():
        write(os.path.join(d, "tenants", fname), text,
              "wb" if isinstance(text, bytes) else "w")
    for fname, text in (files or {}).items():
        os.makedirs(os.path.dirname(os.path.join(d, fname)), exist_ok=True)
        write(os.path.join(d, fname), text, "wb" if isinstance(text, bytes) else "w")
    write(os.path.join(d, "expected"), "".join(l + "\n" for l in expected))
    if world_readable:
        write(os.path.join(d, "world-readable"), "".join(f + "\n" for f in world_readable))


# A throw-away certificate and key (unencrypted, EC P-256) for the https:
# cases, made once by openssl and committed with the fixtures.
def _tls_pair():
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as t:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", t + "/k", "-out",
                        t + "/c", "-days", "36500", "-subj", "/CN=fixture"],
                       check=True, capture_output=True)
        return open(t + "/c").read(), open(t + "/k").read()


TLS_CERT, TLS_KEY = _tls_pair()


def keytab(princ, realm="ACME.EXAMPLE", kvno=1, enctype=18):
    """An MIT keytab (format 0x502) of one entry with a key of zeros: a
    keytab in form, for the checks; it opens nothing."""
    import struct

    def counted(b):
        return struct.pack(">H", len(b)) + b
    comps = princ.split("/")
    body = (struct.pack(">H", len(comps)) + counted(realm.encode()) +
            b"".join(counted(c.encode()) for c in comps) +
            struct.pack(">IIBHH", 1, 0, kvno, enctype, 32) + bytes(32))
    return b"\x05\x02" + struct.pack(">i", len(body)) + body
T = "@DIR@/tenants/acme.cfg"
M = "@DIR@/samlbroker.conf"
# What check says of a tenant without an [access:NAME] section.
OPEN = (M + ": warning: tenant acme is open: no [access:acme] section, so any "
        "caller that can connect may obtain any of its tokens and assertions")


def invalid_cases():
    # The INI reader.
    t = tenant().replace("issuer = ", "issuer = https://example.com/idp\nissuer = ", 1)
    case("invalid", "ini-duplicate-option",
         [T + ": line 11: duplicate option 'issuer' in [saml] (first on line 10)"],
         tenants={"acme.cfg": t})
    case("invalid", "ini-duplicate-section",
         [T + ": line 23: duplicate section [general] (first on line 1)"],
         tenants={"acme.cfg": tenant(extra="[general]\nfoo = bar\n")})
    case("invalid", "ini-long-line",
         [T + ": line 24: line is longer than 65536 bytes"],
         tenants={"acme.cfg": tenant(
             extra="[other_component]\nblob = " + "A" * 65536 + "\n")})
    case("invalid", "ini-option-before-section",
         [T + ": line 2: option 'organization_sname' outside any section"],
         tenants={"acme.cfg": "; exported\norganization_sname = acme\n" + tenant()})
    case("invalid", "ini-malformed-header",
         [T + ": line 23: malformed section header: it must end with ']'"],
         tenants={"acme.cfg": tenant(extra="[other_component\n")})
    case("invalid", "ini-line-without-equals",
         [T + ": line 23: expected '[section]' or 'option = value'"],
         tenants={"acme.cfg": tenant(extra="SECRET-pasted-without-a-name\n")})
    case("invalid", "ini-nul-byte",
         [T + ": line 23: NUL byte"],
         tenants={"acme.cfg": tenant(extra="[x]\0\n").encode()})

    # [general]
    for opt in ("organization_sname", "organization_id", "base_auth_url",
                "base_service_url"):
        case("invalid", "missing-" + opt.replace("_", "-"),
             [T + ": [general] %s: required option is missing" % opt],
             tenants={"acme.cfg": tenant(drop=[("general", opt)])})
    case("invalid", "missing-general-section",
         [T + ": [general]: section is missing"],
         tenants={"acme.cfg": tenant().replace("[general]", "[general_settings]")})
    case("invalid", "empty-organization-sname",
         [T + ": [general] organization_sname: must not be empty"],
         tenants={"acme.cfg": tenant(set_={("general", "organization_sname"): ""})})
    case("invalid", "http-url-not-loopback",
         [T + ": [general] base_auth_url: http:// is allowed only for a literal "
          "loopback address (127.0.0.0/8 or [::1]); use https://"],
         tenants={"acme.cfg": tenant(set_={
             ("general", "base_auth_url"): "http://login.mypurecloud.ie/oauth/token"})})
    case("invalid", "url-without-host",
         [T + ": [general] base_service_url: must name a host"],
         tenants={"acme.cfg": tenant(set_={("general", "base_service_url"): "https:///api/"})})
    case("invalid", "url-not-https",
         [T + ": [general] base_service_url: must be an https:// URL"],
         tenants={"acme.cfg": tenant(set_={
             ("general", "base_service_url"): "api.mypurecloud.ie/api/"})})
    case("invalid", "organization-id-not-uuid",
         [T + ": [general] organization_id: must be a UUID (8-4-4-4-12 hexadecimal digits)"],
         tenants={"acme.cfg": tenant(set_={("general", "organization_id"): "acme-org-1"})})

    # [saml]
    for label, v in (("0", "0"), ("negative", "-1"), ("abc", "abc"), ("49", "49")):
        case("invalid", "expire-time-" + label,
             [T + ": [saml] expire_time: must be a whole number of hours from 1 to 48"],
             tenants={"acme.cfg": tenant(set_={("saml", "expire_time"): v})})
    case("invalid", "missing-issuer",
         [T + ": [saml] issuer: required option is missing"],
         tenants={"acme.cfg": tenant(drop=[("saml", "issuer")])})
    case("invalid", "assertion-lifetime-too-short",
         [T + ": [saml] assertion_lifetime: must be a whole number of seconds from 10 to 3600"],
         tenants={"acme.cfg": tenant(set_={("saml", "assertion_lifetime"): "5"})})
    case("invalid", "bad-sign-response",
         [T + ": [saml] sign_response: must be yes or no (or true/false, on/off, 1/0)"],
         tenants={"acme.cfg": tenant(set_={("saml", "sign_response"): "maybe"})})

    # Secrets.
    case("invalid", "missing-secret-file",
         [T + ": [saml_auth] password: file:@DIR@/tenants/secrets/missing: "
          "No such file or directory"],
         tenants={"acme.cfg": tenant(set_={("saml_auth", "password"): "file:secrets/missing"})})
    case("invalid", "empty-secret-file",
         [T + ": [ewt] password: file:@DIR@/tenants/secrets/empty: the secret file is empty"],
         tenants={"acme.cfg": tenant(set_={("ewt", "password"): "file:secrets/empty"}),
                  "secrets/empty": "\n"})
    case("invalid", "unset-env-secret",
         [T + ": [saml] password: env:SAMLBROKER_TEST_UNSET_SECRET: "
          "the environment variable is not set"],
         tenants={"acme.cfg": tenant(set_={("saml", "password"): "env:SAMLBROKER_TEST_UNSET_SECRET"})})
    case("invalid", "service-client-id-only",
         [T + ": [ewt]: has client_id but no password or client_secret"],
         tenants={"acme.cfg": tenant(drop=[("ewt", "password")])})
    case("invalid", "service-password-and-client-secret",
         [T + ": [ewt]: both password and client_secret are set; keep one"],
         tenants={"acme.cfg": tenant(set_={("ewt", "client_secret"): "SECRET-second-one"})})
    case("invalid", "service-bad-name",
         [T + ": [stat server]: a service section name must be 1 to 64 characters "
          "of A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' or '-'"],
         tenants={"acme.cfg": tenant(extra="[stat server]\nclient_id = x\n"
                                     "client_secret = SECRET-stat\n")})
    case("invalid", "missing-saml-auth",
         [T + ": [saml_auth]: section is missing"],
         tenants={"acme.cfg": tenant().replace("[saml_auth]", "[saml_authn]")})

    # Tenant files.
    case("invalid", "bad-tenant-name",
         ["@DIR@/tenants/acme corp.cfg: tenant name must be 1 to 64 characters of "
          "A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' or '-' "
          "(it is the file name without .cfg)"],
         tenants={"acme corp.cfg": tenant()})
    case("invalid", "no-tenants",
         [M + ": [broker] tenants_dir: no tenant files (*.cfg) in @DIR@/tenants"],
         tenants={"README": "Tenant files end in .cfg; this one does not.\n",
                  "acme.cfg.disabled": tenant()})

    # The main file.
    case("invalid", "listen-unknown-scheme",
         [M + ": [broker] listen: line 4: unknown address type; "
          "use unix:/PATH, tcp:HOST:PORT or https:HOST:PORT"],
         main=MAIN + "listen = http://127.0.0.1:8080/\n")
    case("invalid", "listen-remote-tcp",
         [M + ": [broker] listen: line 4: 0.0.0.0 is not a loopback address: a tcp: "
          "caller has no identity, so tcp: serves this host only; listen on https: "
          "(with https_auth) for callers on other machines"],
         main=MAIN + "listen = tcp:0.0.0.0:8080\n")
    case("invalid", "allow-remote-tcp",
         [M + ": [broker] allow_remote_tcp: yes is no longer allowed: a tcp: caller "
          "has no identity, so tcp: listeners stay on loopback; listen on https: "
          "(with https_auth) for callers on other machines"],
         main=MAIN + "allow_remote_tcp = yes\n")
    # https: fails closed: no authentication method, an unknown identity field.
    tls = {"server.pem": TLS_CERT, "server.key": TLS_KEY}
    tls_main = (MAIN + "listen = https:[::]:8443\ntls_certificate = server.pem\n"
                "tls_key = server.key\n")
    case("invalid", "https-no-auth",
         [M + ": [broker] listen: an https: listener needs an authentication method: "
          "set https_auth = certificate (with tls_client_ca and tls_client_identity) "
          "or negotiate (with krb5_keytab, krb5_realms and state_directory)"],
         main=tls_main, files=tls)
    case("invalid", "https-unknown-identity",
         [M + ": [broker] tls_client_identity: unknown field 'email' (known: "
          "san-email, san-upn, subject-cn)"],
         main=tls_main + "https_auth = certificate\ntls_client_ca = server.pem\n"
         "tls_client_identity = email\n", files=tls)
    case("invalid", "https-unknown-auth",
         [M + ": [broker] https_auth: unknown method 'password' (known: negotiate, certificate)"],
         main=tls_main + "https_auth = password\n", files=tls)
    # https_auth = negotiate fails closed: what it needs, a keytab that is
    # one, with a key for krb5_principal, and a secret file.  @DIR@ in a
    # main file is the case's directory (check_config.sh), for the
    # absolute state_directory.
    case("invalid", "negotiate-missing-options",
         [M + ": [broker] krb5_keytab: must be set: https_auth = negotiate needs "
          "the service's keytab",
          M + ": [broker] krb5_realms: must be set: https_auth = negotiate accepts "
          "only the client realms listed (such as ACME.EXAMPLE)",
          M + ": [broker] state_directory: must be set: https_auth = negotiate keeps "
          "its replay cache there (such as /var/lib/samlbroker)"],
         main=tls_main + "https_auth = negotiate\n", files=tls)
    neg = (tls_main + "https_auth = negotiate\nkrb5_keytab = broker.keytab\n"
           "krb5_realms = ACME.EXAMPLE\n")
    case("invalid", "negotiate-not-a-keytab",
         [M + ": [broker] krb5_keytab: @DIR@/broker.keytab: not a keytab (a keytab "
          "file begins with the bytes 05 02; make it with ktutil, kadmin ktadd or "
          "ktpass)"],
         main=neg + "state_directory = @DIR@/state\n",
         files=dict(tls, **{"broker.keytab": "HTTP/broker.acme.example@ACME.EXAMPLE "
                            "this is not a keytab\n", "state/.keep": ""}))
    case("invalid", "negotiate-keytab-wrong-principal",
         [M + ": [broker] krb5_keytab: @DIR@/broker.keytab: holds no key for "
          "krb5_principal HTTP/broker.acme.example@ACME.EXAMPLE (klist -k lists what "
          "it holds)"],
         main=neg + "krb5_principal = HTTP/broker.acme.example@ACME.EXAMPLE\n"
         "state_directory = @DIR@/state\n",
         files=dict(tls, **{"broker.keytab": keytab("HTTP/other.acme.example"),
                            "state/.keep": ""}))
    case("invalid", "negotiate-keytab-world-readable",
         [M + ": [broker] state_directory: must be an absolute path",
          M + ": [broker] krb5_keytab: file:@DIR@/broker.keytab: mode 0644 lets other "
          "users read the secrets in it; chmod 600 it (or set "
          "allow_insecure_permissions = yes in [broker])"],
         main=neg + "state_directory = relative/state\n",
         files=dict(tls, **{"broker.keytab": keytab("HTTP/broker.acme.example")}),
         world_readable=("broker.keytab",))
    case("invalid", "listen-relative-unix",
         [M + ": [broker] listen: line 2: a unix socket path must be absolute (unix:/PATH)"],
         main="[broker]\nlisten = unix:samlbroker.sock\ntenants_dir = tenants\n")
    case("invalid", "bad-socket-mode",
         [M + ": [broker] socket_mode: must be an octal mode from 0000 to 0777, such as 0660"],
         main=MAIN + "socket_mode = 0866\n")
    case("invalid", "bad-log-level",
         [M + ": [broker] log_level: must be one of error, warn, info, debug"],
         main=MAIN + "log_level = verbose\n")
    case("invalid", "user-unknown",
         [M + ": [broker] user: no such user 'samlbroker-no-such-user' (the "
          "broker's service user: create it, e.g. with systemd-sysusers, or fix "
          "the name)"],
         main=MAIN + "user = samlbroker-no-such-user\n")
    case("invalid", "bad-allow-remote-tcp",
         [M + ": [broker] allow_remote_tcp: must be yes or no (or true/false, on/off, 1/0)"],
         main=MAIN + "allow_remote_tcp = sure\n")
    case("invalid", "bad-persistent-cache",
         [M + ": [broker] persistent_cache: must be yes or no (or true/false, on/off, 1/0)"],
         main=MAIN + "persistent_cache = maybe\n")
    case("invalid", "state-directory-relative",
         [M + ": [broker] state_directory: must be an absolute path"],
         main=MAIN + "state_directory = state\n")
    case("invalid", "state-directory-missing",
         [M + ": [broker] state_directory: /nonexistent/samlbroker-state: No such file or directory"],
         main=MAIN + "state_directory = /nonexistent/samlbroker-state\n")
    case("invalid", "state-directory-not-a-directory",
         [M + ": [broker] state_directory: /dev/null is not a directory"],
         main=MAIN + "state_directory = /dev/null\n")
    case("invalid", "bad-max-cached-tokens",
         [M + ": [broker] max_cached_tokens: must be a whole number from 1 to 10000000"],
         main=MAIN + "max_cached_tokens = 0\n")
    case("invalid", "missing-broker-section",
         [M + ": [samlbroker]: unknown section; the main file holds [broker] "
          "and [access:TENANT] sections",
          M + ": [broker]: section is missing"],
         main=MAIN.replace("[broker]", "[samlbroker]"))
    case("invalid", "main-duplicate-option",
         [M + ": line 4: duplicate option 'tenants_dir' in [broker] (first on line 3)"],
         main=MAIN + "tenants_dir = /etc/samlbroker/tenants\n")

    # Keys (fixtures of the keystore: tests/data/keys/bad-*).
    keycases = [
        ("key-wrong-password", "bad-wrong-password",
         "[saml] password: wrong password for pkey"),
        ("key-corrupt-cert-base64", "bad-cert-base64",
         "[saml] certificate: not valid base64"),
        ("key-corrupt-pkey-base64", "bad-key-base64",
         "[saml] pkey: not valid base64"),
        ("key-truncated-cert", "bad-truncated-cert",
         "[saml] certificate: no PEM certificate found (truncated or not a certificate)"),
        ("key-truncated-pkey", "bad-truncated-key",
         "[saml] pkey: no PEM private key found (truncated?)"),
        ("key-mismatch", "bad-mismatch",
         "[saml] pkey: key does not match the certificate"),
        ("key-ec", "bad-ec-key", "[saml] pkey: key is not RSA (EC)"),
        ("key-rsa-1024", "bad-rsa-1024",
         "[saml] pkey: RSA key has 1024 bits; at least 2048 are required"),
        ("key-unencrypted", "bad-unencrypted",
         "[saml] pkey: key is not encrypted; encrypt it (openssl rsa -aes256) "
         "or use samlbroker keygen"),
        ("cert-expired", "bad-expired",
         "[saml] certificate: expired on 2021-01-01T00:00:00Z"),
        ("cert-not-yet-valid", "bad-not-yet-valid",
         "[saml] certificate: not valid before 2090-01-01T00:00:00Z"),
    ]
    for name, keydir, line in keycases:
        case("invalid", name, [T + ": " + line],
             tenants={"acme.cfg": tenant(keydir=keydir)})

    # Everything at once: each problem reported, none hiding another.
    case("invalid", "many-problems",
         [T + ": [general] organization_id: must be a UUID (8-4-4-4-12 hexadecimal digits)",
          T + ": [general] base_service_url: required option is missing",
          T + ": [saml] expire_time: must be a whole number of hours from 1 to 48",
          T + ": [ewt]: has client_id but no password or client_secret",
          T + ": [saml] expire: unknown option",
          "@DIR@/tenants/globex.cfg: [saml_auth] client_secret: env:SAMLBROKER_TEST_UNSET_SECRET: "
          "the environment variable is not set"],
         tenants={
             "acme.cfg": tenant(drop=[("general", "base_service_url"), ("ewt", "password")],
                                set_={("general", "organization_id"): "not-a-uuid",
                                      ("saml", "expire_time"): "1d",
                                      ("saml", "expire"): "24"}),
             "globex.cfg": tenant(keydir="vendor-traditional", drop=[("saml_auth", "password")],
                                  set_={("saml_auth", "client_secret"):
                                        "env:SAMLBROKER_TEST_UNSET_SECRET"}),
         })


def fail_closed_cases():
    """Mistakes in security settings are errors (issue 8 item 2)."""
    case("invalid", "unknown-saml-option",
         [T + ": [saml] expire_hours: unknown option"],
         tenants={"acme.cfg": tenant(set_={("saml", "expire_hours"): "24"})})
    case("invalid", "unknown-general-option-near-miss",
         [T + ": [general] organisation_id: unknown option; did you mean organization_id?"],
         tenants={"acme.cfg": tenant(set_={("general", "organisation_id"): "x"})})
    case("invalid", "unknown-main-section-and-option",
         [M + ": [logging]: unknown section; the main file holds [broker] and "
          "[access:TENANT] sections",
          M + ": [broker] workers: unknown option"],
         main=MAIN + "workers = 4\n[logging]\nlevel = debug\n")
    case("invalid", "redis-bad-address",
         [M + ": [broker] redis: must be unix:/PATH or tcp:HOST:PORT"],
         main=MAIN + "redis = redis.example.com:6379\n")
    case("invalid", "redis-tcp-name",
         [M + ": [broker] redis: the host must be an IP address (tcp:192.0.2.7:6379 "
          "or tcp:[2001:db8::7]:6379): the broker does not resolve names for Redis"],
         main=MAIN + "redis = tcp:redis.example.com:6379\n")
    case("invalid", "redis-password-not-a-file",
         [M + ": [broker] redis_password: must be file:PATH (a secret file; the "
          "password is never written in this file)"],
         main=MAIN + "redis = unix:/run/redis/redis.sock\nredis_password = SECRET-redis\n")
    case("invalid", "redis-option-near-miss",
         [M + ": [broker] redis_prefx: unknown option; did you mean redis_prefix?"],
         main=MAIN + "redis = unix:/run/redis/redis.sock\nredis_prefx = sb\n")
    case("invalid", "main-option-near-miss",
         [M + ": [broker] tenants2_dir: unknown option; did you mean tenants_dir?"],
         main=MAIN + "tenants2_dir = /etc\n")
    case("invalid", "access-old-section",
         [M + ": [access] acme: [access] is no longer read; write [access:acme] "
          "with agents = ... and agent_address = %u@DOMAIN (callers that may "
          "obtain their own address), gateways = ... (any address) or "
          "service.NAME = ... (see samlbroker.conf(5))"],
         main=MAIN + "[access]\nacme = user:root\n")
    case("invalid", "access-no-such-tenant",
         [M + ": [access:Demo]: no tenant is named 'Demo' (tenants are the "
          "*.cfg files of tenants_dir, without .cfg)"],
         main=MAIN + "[access:Demo]\ngateways = user:root\n")
    case("invalid", "access-mistyped-option",
         [M + ": [access:acme] gateway: unknown option; did you mean gateways?"],
         main=MAIN + "[access:acme]\ngateway = user:root\n")
    case("invalid", "access-no-such-user",
         [M + ": [access:acme] agents: user:no-such-user-samlbroker: no such user"],
         main=MAIN + "[access:acme]\nagents = user:no-such-user-samlbroker\n"
         "agent_address = %u@acme.example\n")
    case("invalid", "access-no-such-service",
         [M + ": [access:acme] service.ewtt: tenant acme has no service 'ewtt' "
          "(its services are its Client Credentials sections)"],
         main=MAIN + "[access:acme]\nservice.ewtt = user:root\n")
    # Files that other users may read: check_config.sh makes every file of
    # a case 0600 but those listed in its file world-readable (0644).
    case("invalid", "file-secret-world-readable",
         [T + ": [ewt] password: file:@DIR@/tenants/ewt.secret: mode 0644 "
          "lets other users read the secrets in it; chmod 600 it (or set "
          "allow_insecure_permissions = yes in [broker])"],
         tenants={"acme.cfg": tenant(set_={("ewt", "password"): "file:ewt.secret"})},
         files={"tenants/ewt.secret": "SECRET-ewt-world-readable\n"},
         world_readable=["tenants/ewt.secret"])
    case("invalid", "main-file-world-readable",
         [M + ": mode 0644 lets other users read the secrets in it; chmod 600 it "
          "(or set allow_insecure_permissions = yes in [broker], e.g. for "
          "read-only container mounts)"],
         world_readable=["samlbroker.conf"])
    case("ok", "world-readable-allowed", [OPEN],
         main=MAIN + "allow_insecure_permissions = yes\n",
         tenants={"acme.cfg": tenant(set_={("ewt", "password"): "file:ewt.secret"})},
         files={"tenants/ewt.secret": "SECRET-ewt-world-readable\n"},
         world_readable=["samlbroker.conf", "tenants/acme.cfg", "tenants/ewt.secret"])


def ok_cases():
    case("ok", "service-unknown-option",
         [T + ": warning: [ewt] url: unknown option, ignored", OPEN],
         tenants={"acme.cfg": tenant(set_={("ewt", "url"): "https://ewt.example/"})})
    t = tenant(keydir="vendor-traditional", wrap=True)
    t = ("\ufeff; Options export of the hybrid_integration transaction object\r\n"
         "# exported by Genesys Administrator\r\n\r\n"
         + t.replace("\n", "\r\n").replace("[saml]", "  [ saml ]  ")
         .replace("issuer = ", "issuer\t=  \t", 1)
         + "[other_component]\r\n; tolerated, never read\r\npassword = SECRET-other\r\n"
         "url = https://example.com/?a=b&c=d")
    case("ok", "crlf-bom-comments", [], tenants={"acme.cfg": t},
         main=MAIN + "[access:acme]\nservice.ewt = user:root\n")
    case("ok", "open-tenant", [OPEN])


def valid():
    d = os.path.join(HERE, "valid")
    if os.path.isdir(d):
        shutil.rmtree(d)
    write(os.path.join(d, "samlbroker.conf"), """\
; samlbroker main file used by the tests: every option set.
[broker]
listen = unix:/run/samlbroker-test/samlbroker.sock
listen = tcp:127.0.0.1:18089
listen = tcp:[::1]:18089
socket_mode = 0640
tenants_dir = tenants
log_level = debug
max_cached_tokens = 500
allow_remote_tcp = no
connect_timeout = 3
request_timeout = 10
max_cached_tokens_per_tenant = 100
max_exchanges_per_tenant = 8

[access:acme]
agents = group:root
agent_address = %u@acme.example
gateways = user:0, tcp
gateway_domains = acme.example
service.ewt = user:root
service.pacing = user:root, group:0
saml_response = yes

[access:globex]
agents = user:root
agent_map = globex.map

[access:initech]
gateways = tcp
""")
    write(os.path.join(d, "globex.map"), "# login address\nroot root@globex.example\n")
    # acme: PKCS#8 key, base64 unwrapped, secrets written literally, two
    # services (password and client_secret), a foreign section.
    write(os.path.join(d, "tenants", "acme.cfg"), tenant(
        set_={("saml", "sign_response"): "yes",
              ("saml", "service_name"): "acme-desktop",
              ("saml", "assertion_lifetime"): "120"},
        extra="[pacing]\nclient_id = 7d1e2f3a-0000-4000-8000-00000000a003\n"
              "client_secret = SECRET-acme-pacing\n\n"
              "[interaction_workspace]\n; another component's section\n"
              "password = SECRET-foreign-component\nurl = https://example.com/\n"))
    # globex: traditional key, base64 wrapped (lines joined with spaces),
    # key password from a file, client secrets from a file and from env.
    write(os.path.join(d, "tenants", "globex.cfg"), tenant(
        keydir="vendor-traditional", wrap=True,
        pw="file:../../../keys/vendor-traditional/password",
        drop=[("saml_auth", "password")],
        set_={("general", "organization_sname"): "globex",
              ("general", "organization_id"): "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
              ("general", "base_auth_url"): "https://login.mypurecloud.de/oauth/token",
              ("general", "base_service_url"): "https://api.mypurecloud.de/api/",
              ("saml", "expire_time"): "8",
              ("saml", "audience"): "https://login.mypurecloud.de/saml",
              ("saml_auth", "client_secret"): "file:secrets/globex-saml-auth",
              ("ewt", "password"): "env:SAMLBROKER_TEST_GLOBEX_EWT"}))
    write(os.path.join(d, "tenants", "secrets", "globex-saml-auth"),
          "SECRET-globex-saml-auth-from-file\n")
    # initech: key password from the environment; no service but saml_auth.
    t = tenant(pw="env:SAMLBROKER_TEST_INITECH_KEY_PASSWORD",
               set_={("general", "organization_sname"): "initech",
                     ("general", "base_auth_url"): "http://127.0.0.1:18090/oauth/token",
                     ("general", "base_service_url"): "http://[::1]:18090/api/"})
    t = t[:t.index("[ewt]")]
    write(os.path.join(d, "tenants", "initech.cfg"), t)
    write(os.path.join(d, "tenants", "README"),
          "Only *.cfg files are tenants; this file and secrets/ are not.\n")
    write(os.path.join(d, "tenants", "retired.cfg.disabled"), "not a tenant\n")
    # What `check` prints: the certificates' subjects and dates are the key
    # fixtures'.
    write(os.path.join(d, "expected-stdout"),
        "tenant acme: organization=acme-contact-centre (3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c) issuer=https://www.genesys.com/pureengage certificate=\"CN = samlbroker test fixture vendor-pkcs8, O = Example Contact Centre\" expires=2036-11-25T01:34:03Z services=ewt,pacing rollover=none\n"
        "tenant globex: organization=globex (0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D) issuer=https://www.genesys.com/pureengage certificate=\"CN = samlbroker test fixture vendor-traditional, O = Example Contact Centre\" expires=2036-11-25T01:34:03Z services=ewt rollover=none\n"
        "tenant initech: organization=initech (3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c) issuer=https://www.genesys.com/pureengage certificate=\"CN = samlbroker test fixture vendor-pkcs8, O = Example Contact Centre\" expires=2036-11-25T01:34:03Z services=- rollover=none\n"
        "acme: agents group:root -> own address %u@acme.example\n"
        "acme: gateways user:0, tcp -> any address in acme.example\n"
        "acme: service ewt <- user:root\n"
        "acme: service pacing <- user:root, group:0\n"
        "acme: saml-response on (same address rules)\n"
        "globex: agents user:root -> own address from @DIR@/globex.map (1 logins)\n"
        "globex: service ewt <- nobody\n"
        "globex: saml-response off\n"
        "initech: gateways tcp -> any address\n"
        "initech: saml-response off\n"
        "configuration OK\n"
    )


if __name__ == "__main__":
    valid()
    invalid_cases()
    fail_closed_cases()
    ok_cases()
