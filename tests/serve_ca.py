# SPDX-License-Identifier: Apache-2.0
"""The CA bundle the front verifies PureCloud with.  Without ca_file it is
the system's bundle (/etc/ssl/certs/ca-certificates.crt), handed to the
sandboxed front by the master: the emulator's self-signed certificate is
not in it, so an exchange fails as a certificate problem, never succeeds
unverified and never fails for a bundle the front could not open."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, check, done, skip  # noqa: E402

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
if not os.path.exists(SYSTEM_BUNDLE):
    skip("no system CA bundle at %s" % SYSTEM_BUNDLE)


def without_ca_file(setup):
    conf = os.path.join(setup.broker_dir, "samlbroker.conf")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(re.sub(r"(?m)^ca_file = .*\n", "", text))


s = Setup(before_broker=without_ca_file)
log = open(s.broker_log).read()
check("ca_file" not in open(os.path.join(s.broker_dir, "samlbroker.conf")).read(),
      "the broker runs without ca_file")
check(re.search(r"event=ca_bundle path=%s bytes=[1-9]" % re.escape(SYSTEM_BUNDLE), log),
      "the master hands the front the system's bundle", log[-2000:])
r = s.service_token("ewt")
body = r.json() or {}
check(r.status == 503 and body.get("error") == "upstream_unavailable",
      "the emulator's self-signed certificate is refused: 503 upstream_unavailable", repr(r))
text = (body.get("message") or "").lower()
check("tls" in text,
      "the caller reads a certificate problem", repr(body))
log = open(s.broker_log).read()
check("event=exchange" in log and re.search(r"outcome=failed .*(certificate|SSL)", log),
      "the exchange log line names the certificate problem")
check(s.counters()["client_credentials"].get("ok", 0) == 0,
      "no exchange reached the emulator's token endpoint")
done(s)
