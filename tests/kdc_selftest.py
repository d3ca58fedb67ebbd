# SPDX-License-Identifier: Apache-2.0
"""tests/kdc.py works: the throw-away KDC starts on a free loopback port,
serves both realms (with the cross-realm trust), keytabs keep and drop
key versions, kinit and kvno work, a GSS-API (SPNEGO) context from alice
to HTTP@localhost is accepted with the service's keytab (python3-gssapi
on both sides, mutual authentication included), and the KDC is gone
after stop.  The Negotiate tests of the broker stand on this."""
import base64
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kdc as kdcmod  # noqa: E402
from harness import check, done, _alive  # noqa: E402

kdc = kdcmod.KDC()
check(kdc.running(), "krb5kdc runs (pid %d) on 127.0.0.1:%d" % (kdc.pid, kdc.port))
with open(kdc.krb5_conf) as f:
    conf = f.read()
check(all(x in conf for x in ("rdns = false", "dns_lookup_kdc = false",
                              "dns_canonicalize_hostname = false")),
      "krb5.conf turns off reverse DNS, KDC lookup and host name canonicalization")

http = kdc.addprinc("HTTP/localhost")
keytab, kvno1 = kdc.ktadd("HTTP/localhost", kdc.path("http.keytab"))
check(http == "HTTP/localhost@ACME.EXAMPLE" and os.stat(keytab).st_mode & 0o777 == 0o600,
      "ktadd writes the service's keytab, mode 0600", oct(os.stat(keytab).st_mode))
check(kdc.keytab_kvnos(keytab, "HTTP/localhost") == [kvno1], "the keytab holds kvno %d" % kvno1,
      repr(kdc.keytab_kvnos(keytab)))

kdc.addprinc("alice")
kdc.addprinc("bob")
alice = kdc.kinit("alice")
check(alice["KRB5_CONFIG"] == kdc.krb5_conf and alice["KRB5CCNAME"] == kdc.ccache("alice"),
      "kinit alice: an environment with KRB5_CONFIG and alice's own ccache")
klist = subprocess.run(["klist"], env=alice, capture_output=True, text=True).stdout
check("Default principal: alice@ACME.EXAMPLE" in klist, "alice's ccache holds alice's TGT", klist)
check(kdc.kvno(alice, "HTTP/localhost") == kvno1,
      "kvno HTTP/localhost: a service ticket of key version %d" % kvno1)
bob = kdc.kinit("bob")
check(bob["KRB5CCNAME"] != alice["KRB5CCNAME"], "bob has a ccache of his own")

# SPNEGO from alice, accepted with the keytab: what the broker's
# negotiator does, in python3-gssapi.
rt = kdcmod._gss_child("roundtrip", {"service": "HTTP@localhost", "keytab": keytab,
                                     "rcache": kdc.path("rcache")}, alice)
check(rt["accepted"] and rt["initiator"] == "alice@ACME.EXAMPLE",
      "a GSS-API (SPNEGO) context from alice to HTTP@localhost is accepted with the keytab",
      repr(rt))
check(rt["target"] == "HTTP/localhost@ACME.EXAMPLE" and rt["mutual"],
      "the acceptor's answer completes alice's context (mutual authentication)", repr(rt))
tok = base64.b64decode(kdcmod.negotiate_token(alice))
check(tok[:1] == b"\x60" and b"\x2b\x06\x01\x05\x05\x02" in tok[:20],
      "negotiate_token: a SPNEGO initial token")

# The second realm, trusted, but not the broker's.
kdc.addprinc("mallory@OTHER.EXAMPLE")
mallory = kdc.kinit("mallory@OTHER.EXAMPLE")
rt = kdcmod._gss_child("roundtrip", {"service": "HTTP@localhost", "keytab": keytab,
                                     "rcache": kdc.path("rcache")}, mallory)
check(rt["accepted"] and rt["initiator"] == "mallory@OTHER.EXAMPLE",
      "mallory@OTHER.EXAMPLE gets a cross-realm ticket for HTTP/localhost@ACME.EXAMPLE",
      repr(rt))

# Key rotation in the keytab.
_, kvno2 = kdc.ktadd("HTTP/localhost", keytab)
check(kdc.keytab_kvnos(keytab, "HTTP/localhost") == [kvno1, kvno2],
      "a second ktadd adds kvno %d and keeps kvno %d" % (kvno2, kvno1))
kdc.ktremove("HTTP/localhost", keytab, "old")
check(kdc.keytab_kvnos(keytab, "HTTP/localhost") == [kvno2],
      "ktremove old leaves kvno %d only" % kvno2)

check(kdcmod.NTLM_TYPE1.startswith(b"NTLMSSP\0\x01\0\0\0")
      and base64.b64decode(kdcmod.NTLM_SPNEGO).find(kdcmod.NTLM_TYPE1) > 0,
      "the NTLM tokens (raw and in SPNEGO) hold an NTLM NEGOTIATE message")

pid, d = kdc.pid, kdc.dir
check(kdc.stop(), "stop: the KDC is gone")
check(not _alive(pid) and not os.path.exists(d), "pid %d is gone and its directory removed" % pid)
done()
