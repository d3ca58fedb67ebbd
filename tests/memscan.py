#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""memscan.py - does a process hold a tenant's private key or its password?

Reads /proc/PID/maps and /proc/PID/mem (as root) and searches every
readable mapping for the key's private primes p and q (big-endian bytes,
little-endian bytes as OpenSSL's BIGNUM limbs hold them on this machine,
and hex text) and for the key password.  The primes come from the fixture
itself (`openssl pkey -text` on the decrypted key); nothing secret is
printed, only which kind of needle was found where.

  memscan.py --key-dir DIR --pid PID [--pid PID...]
      exit 0: nothing found in any pid; 1: something found; 2: error.
      With --expect-found: exit 0 when both primes are found and the
      password is not (a signer holds the key, but wiped its password).
  memscan.py --key-dir DIR --self-test
      starts a child that holds the primes and the password in memory and
      checks that the scan finds both (exit 0), so a clean scan means
      something.

DIR holds key.pem.enc.b64 and password (tests/data/keys/vendor-pkcs8).
Mappings larger than --max-region (default 8 GiB: sanitizer shadow memory)
are skipped and reported.
"""
import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile
import time

def key_secrets(key_dir):
    """(primes, password): primes as a list of ints, password as bytes."""
    with open(os.path.join(key_dir, "password"), "rb") as f:
        password = f.read().rstrip(b"\r\n")
    with open(os.path.join(key_dir, "key.pem.enc.b64"), "rb") as f:
        pem = base64.b64decode(b"".join(f.read().split()))
    with tempfile.TemporaryDirectory() as tmp:
        keyfile = os.path.join(tmp, "key.pem")
        pwfile = os.path.join(tmp, "pw")
        with open(keyfile, "wb") as f:
            f.write(pem)
        with open(pwfile, "wb") as f:
            f.write(password)
        out = subprocess.run(["openssl", "pkey", "-in", keyfile, "-passin",
                              "file:" + pwfile, "-text", "-noout"],
                             check=True, capture_output=True).stdout.decode()
    primes = []
    for name in ("prime1", "prime2"):
        m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", out)
        if m is None:
            raise SystemExit("memscan: no %s in the key's text form" % name)
        primes.append(int(re.sub(r"[^0-9a-f]", "", m.group(1)), 16))
    return primes, password

def needles(primes, password):
    """name -> list of byte strings to look for."""
    out = {}
    for i, p in enumerate(primes, 1):
        be = p.to_bytes((p.bit_length() + 7) // 8, "big")
        out["prime%d" % i] = [be, be[::-1], ("%x" % p).encode(), ("%X" % p).encode()]
    out["password"] = [password]
    return out

def scan(pid, found_names, max_region):
    """Which needle names occur in pid's memory, and skipped regions."""
    found = set()
    skipped = []
    with open("/proc/%d/maps" % pid) as maps:
        regions = []
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if fields[1][0] != "r":
                continue
            path = fields[5] if len(fields) > 5 else ""
            if path == "[vvar]":
                continue
            regions.append((lo, hi, path))
    chunk = 1 << 20
    longest = max(len(n) for ns in found_names.values() for n in ns)
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for lo, hi, path in regions:
            if hi - lo > max_region:
                skipped.append("%x-%x %s" % (lo, hi, path))
                continue
            addr, tail = lo, b""
            while addr < hi:
                size = min(chunk, hi - addr)
                try:
                    mem.seek(addr)
                    data = mem.read(size)
                except OSError:
                    data = b""
                if not data:
                    # An unreadable page (a guard page): skip it.
                    addr = (addr + 4096) & ~4095
                    tail = b""
                    continue
                buf = tail + data
                for name, ns in found_names.items():
                    if name not in found and any(n in buf for n in ns):
                        found.add(name)
                tail = buf[-(longest - 1):]
                addr += len(data)
    return found, skipped

HOLDER = r"""
import sys, time
held = [bytes.fromhex(sys.stdin.readline().strip()) for _ in range(3)]
sys.stdout.write("ready\n"); sys.stdout.flush()
time.sleep(60)
"""

def self_test(ns, primes, password, max_region):
    """A child holding p, q and the password: the scan must find all three."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    try:
        for p in primes:
            be = p.to_bytes((p.bit_length() + 7) // 8, "big")
            child.stdin.write(be[::-1].hex().encode() + b"\n")
        child.stdin.write(password.hex().encode() + b"\n")
        child.stdin.flush()
        child.stdout.readline()
        found, _ = scan(child.pid, ns, max_region)
    finally:
        child.kill()
        child.wait()
    want = {"prime1", "prime2", "password"}
    print("memscan self-test: found %s in a process that holds them" %
          (",".join(sorted(found)) or "nothing"))
    return 0 if found == want else 1

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key-dir", required=True)
    ap.add_argument("--pid", type=int, action="append", default=[])
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--expect-found", action="store_true")
    ap.add_argument("--max-region", type=int, default=8 << 30)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("memscan: must run as root")
        return 2
    primes, password = key_secrets(args.key_dir)
    ns = needles(primes, password)
    if args.self_test:
        return self_test(ns, primes, password, args.max_region)
    rc = 0
    for pid in args.pid:
        try:
            found, skipped = scan(pid, ns, args.max_region)
        except OSError as e:
            print("memscan: pid %d: %s" % (pid, e.strerror))
            return 2
        for s in skipped:
            print("memscan: pid %d: skipped huge mapping %s" % (pid, s))
        print("memscan: pid %d: %s" % (pid, ("found " + ",".join(sorted(found)))
                                       if found else "no key material found"))
        if args.expect_found:
            rc |= 0 if found == {"prime1", "prime2"} else 1
        elif found:
            rc = 1
    return rc

if __name__ == "__main__":
    sys.exit(main())
