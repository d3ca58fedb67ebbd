# SPDX-License-Identifier: Apache-2.0
"""A throw-away PKI for the https: listener's tests and benchmark, made
with the openssl command line in a directory of the caller's:

ca.pem/ca.key        the clients' and the server's CA
other-ca.pem         a second CA the broker does not trust
server.pem/.key      localhost, 127.0.0.1, ::1 (CN broker-1)
server2.pem/.key     the same names (CN broker-2): the certificate a
                     reload swaps in
NAME.pem/NAME.key    client certificates (see make()): SAN e-mail, SAN UPN
                     (otherName 1.3.6.1.4.1.311.20.2.3) and subject CN
crl.pem              the CA's CRL, revoking "revoked"
"""
import os
import subprocess

CA_CONF = """
[ca]
default_ca = ca_default
[ca_default]
dir = %(dir)s
database = %(dir)s/index.txt
new_certs_dir = %(dir)s/newcerts
serial = %(dir)s/serial
crlnumber = %(dir)s/crlnumber
default_md = sha256
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = copy
[policy_any]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
"""


def run(*argv, cwd=None):
    subprocess.run(argv, check=True, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _ca(d, name, cn):
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", os.path.join(d, name + ".key"), "-out",
        os.path.join(d, name + ".pem"), "-days", "30", "-subj", "/CN=" + cn,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def _leaf(d, conf, name, cn, ext, ca="ca", start=None, end=None):
    key = os.path.join(d, name + ".key")
    csr = os.path.join(d, name + ".csr")
    extfile = os.path.join(d, name + ".ext")
    with open(extfile, "w") as f:
        f.write("[x]\nbasicConstraints=CA:FALSE\n" + ext + "\n")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + cn)
    os.chmod(key, 0o600)
    argv = ["openssl", "ca", "-batch", "-config", conf, "-cert", os.path.join(d, ca + ".pem"),
            "-keyfile", os.path.join(d, ca + ".key"), "-in", csr,
            "-out", os.path.join(d, name + ".pem"), "-extfile", extfile, "-extensions", "x",
            "-notext"]
    argv += ["-startdate", start] if start else []
    argv += ["-enddate", end] if end else ["-days", "30"]
    run(*argv)


def make(d):
    """Makes the PKI in d; returns d."""
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    conf = os.path.join(d, "ca.cnf")
    with open(conf, "w") as f:
        f.write(CA_CONF % {"dir": d})
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "crlnumber"), "w") as f:
        f.write("1000\n")
    _ca(d, "ca", "samlbroker test CA")
    _ca(d, "other-ca", "another CA")
    server_ext = ("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                  "extendedKeyUsage=serverAuth")
    _leaf(d, conf, "server", "broker-1", server_ext)
    _leaf(d, conf, "server2", "broker-2", server_ext)
    client = "extendedKeyUsage=clientAuth\n"
    _leaf(d, conf, "alice", "Alice Example",
          client + "subjectAltName=email:Alice@Acme.Example")
    _leaf(d, conf, "upn", "Upn User", client +
          "subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:upnuser@acme.example")
    _leaf(d, conf, "cn", "cnuser", client)
    _leaf(d, conf, "outsider", "Outsider", client +
          "subjectAltName=email:eve@elsewhere.example")
    _leaf(d, conf, "expired", "Expired Agent", client +
          "subjectAltName=email:expired@acme.example",
          start="20200101000000Z", end="20200201000000Z")
    _leaf(d, conf, "revoked", "Revoked Agent", client +
          "subjectAltName=email:revoked@acme.example")
    # Not trusted: claims alice's address, from a CA the broker does not know.
    _leaf(d, conf, "mallory", "Mallory", client +
          "subjectAltName=email:alice@acme.example", ca="other-ca")
    run("openssl", "ca", "-batch", "-config", conf, "-cert", os.path.join(d, "ca.pem"),
        "-keyfile", os.path.join(d, "ca.key"), "-revoke", os.path.join(d, "revoked.pem"))
    run("openssl", "ca", "-batch", "-config", conf, "-cert", os.path.join(d, "ca.pem"),
        "-keyfile", os.path.join(d, "ca.key"), "-gencrl", "-out", os.path.join(d, "crl.pem"))
    for name in os.listdir(d):
        if name.endswith(".key"):
            os.chmod(os.path.join(d, name), 0o600)
    return d
