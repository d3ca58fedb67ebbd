# SPDX-License-Identifier: Apache-2.0
"""The persistent token cache (issue 20): tokens survive a restart.

N agents (2,000; fewer under a wrapper) get their tokens; the broker stops
(SIGTERM) and starts again with the same state_directory: every agent gets
the same token as before without one token-endpoint request, and the time
from start to ready is printed.  The file is sealed (no token in it).  A
tampered file, a truncated one, another tenant's, one sealed under another
signing key and one of more than max_cached_tokens entries are ignored as a
whole with one log line, and new exchanges happen.  persistent_cache = no writes no file (and removes what
there was); a tenant removed on reload loses its file; a file that cannot
be written is logged.
"""
import asyncio
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Setup, b64, check, done, scaled, SLOW, TOP_SRCDIR  # noqa: E402

N = 2000 if not SLOW else 60
CONCURRENCY = 64

state = tempfile.mkdtemp(prefix="samlbroker-state-")
os.chmod(state, 0o700)
cache_dir = os.path.join(state, "cache")
acme_file = os.path.join(cache_dir, "acme.cache")
badcreds_file = os.path.join(cache_dir, "badcreds.cache")

s = Setup(request_timeout=10, log_level="info",
          extra_broker="state_directory = %s\n" % state)
conf_path = os.path.join(s.broker_dir, "samlbroker.conf")


def bearer_requests():
    c = s.counters()
    return c["saml2_bearer"]["ok"] + c["saml2_bearer"]["rejected"]


async def fetch(email, tenant="acme"):
    """The agent's token; a 503 (signers or exchanges busy on a loaded
    machine) is asked again after its Retry-After, as callers do."""
    deadline = time.monotonic() + scaled(60, 60, 1800)
    while True:
        r, w = await asyncio.open_unix_connection(s.socket)
        try:
            w.write(("GET /v1/tenants/%s/users/%s/token HTTP/1.1\r\nHost: localhost\r\n"
                     "Connection: close\r\n\r\n" % (tenant, email.replace("@", "%40"))
                     ).encode())
            await w.drain()
            data = await r.read()
        finally:
            w.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        if status == 200:
            return body.decode().split('"access_token":"')[1].split('"')[0]
        retry = re.search(rb"(?im)^retry-after: *([0-9]+)", head)
        if status != 503 or not retry or time.monotonic() > deadline:
            return None
        await asyncio.sleep(float(retry.group(1)))


async def crowd(emails, tenant="acme"):
    sem = asyncio.Semaphore(CONCURRENCY)
    out = {}

    async def one(e):
        async with sem:
            out[e] = await fetch(e, tenant)
    await asyncio.gather(*(one(e) for e in emails))
    return out


def log_text():
    with open(s.broker_log, errors="replace") as f:
        return f.read()


def stop_broker():
    s.broker.send_signal(signal.SIGTERM)
    s.broker.wait(timeout=scaled(30, 60, 1800))
    check(s.broker.returncode == 0, "the broker exits 0 on SIGTERM",
          "status %s" % s.broker.returncode)
    s.procs.remove(s.broker)


def restart():
    """Starts the broker again; the seconds from start to ready."""
    t0 = time.monotonic()
    s.broker = s.start_broker()
    return time.monotonic() - t0


def count(pattern):
    return len(re.findall(pattern, log_text()))


# --- N agents cached, SIGTERM, start: the same tokens, no exchange ---------
emails = ["agent%d@example.com" % i for i in range(N)]
t0 = time.monotonic()
first = asyncio.run(crowd(emails))
fill = time.monotonic() - t0
s.tokens_seen |= {t for t in first.values() if t}
check(all(first.values()), "every agent gets a token",
      "%d of %d" % (sum(1 for t in first.values() if t), N))
check(len(set(first.values())) == N, "each agent its own token")
stop_broker()
check(os.path.isfile(acme_file), "SIGTERM leaves the tenant's cache file", acme_file)
st = os.stat(acme_file)
check(st.st_mode & 0o777 == 0o600, "the file is the service user's only",
      oct(st.st_mode & 0o777))
check(os.stat(cache_dir).st_mode & 0o777 == 0o700, "the cache directory is 0700")
with open(acme_file, "rb") as f:
    sealed = f.read()
check(not any(t.encode() in sealed for t in list(first.values())[:50]) and
      b"agent1@example.com" not in sealed,
      "the file holds no token and no address in the clear")

before = bearer_requests()
ready = restart()
again = asyncio.run(crowd(emails))
after = bearer_requests()
log = log_text()
m = re.findall(r"event=ready .*startup_seconds=([0-9.]+)", log)
print("# %d agents: first fetch %.2f s; restart to ready %.3f s (the master's "
      "startup_seconds=%s); %s" % (
          N, fill, ready, m[-1] if m else "?",
          (re.findall(r"event=cache_read [^\n]*", log) or ["?"])[-1]))
check(after - before == 0, "no token-endpoint request after the restart",
      "%d requests" % (after - before))
check(again == first, "every agent gets the same token as before",
      "%d differ" % sum(1 for e in emails if again.get(e) != first[e]))
check(count(r"event=cache_loaded tenant=acme entries=%d expired=0" % N) == 1,
      "the log counts the entries loaded")
check(m and float(m[-1]) > 0, "the master logs the time from start to ready")

AUTH = r'level=warn event=cache_file_ignored tenant=acme reason="authentication failed'
ANY = r"level=warn event=cache_file_ignored tenant=acme "


# --- a tampered file: ignored, logged, replaced, new exchanges --------------
stop_broker()
with open(acme_file, "r+b") as f:
    f.seek(len(sealed) // 2)
    b = f.read(1)
    f.seek(len(sealed) // 2)
    f.write(bytes([b[0] ^ 0x01]))
before = bearer_requests()
restart()
check(count(AUTH) == 1 and count(ANY) == 1, "a tampered file is ignored with one line")
tok = asyncio.run(crowd(emails[:3]))
check(bearer_requests() - before == 3 and all(tok[e] and tok[e] != first[e]
                                              for e in emails[:3]),
      "nothing is served from a tampered file: new exchanges")
s.tokens_seen |= set(tok.values())
s.wait_for(lambda: os.path.getsize(acme_file) < len(sealed),
           "the tampered file replaced by the 3 tokens held", timeout=scaled(10, 30, 600))

# --- a truncated file -------------------------------------------------------
stop_broker()
size = os.path.getsize(acme_file)
with open(acme_file, "r+b") as f:
    f.truncate(size - 40)
before = bearer_requests()
restart()
check(count(ANY) == 2, "a truncated file is ignored with one line")
tok2 = asyncio.run(crowd(emails[:3]))
check(bearer_requests() - before == 3 and all(tok2[e] != tok[e] for e in emails[:3]),
      "nothing is served from a truncated file")
s.tokens_seen |= set(tok2.values())
s.wait_for(lambda: os.path.getsize(acme_file) > size - 40,
           "the truncated file replaced", timeout=scaled(10, 30, 600))

# --- more entries than max_cached_tokens: refused whole ---------------------
stop_broker()
with open(conf_path, "a") as f:
    f.write("max_cached_tokens = 2\n")
restart()
check(count(r'level=warn event=cache_file_ignored tenant=acme reason="3 entries, more '
            r'than max_cached_tokens \(2\)"') == 1,
      "a file of more than max_cached_tokens entries is refused")
s.wait_for(lambda: not os.path.exists(acme_file), "the refused file replaced (emptied)",
           timeout=scaled(10, 30, 600))
check("event=cache_file_removed tenant=acme reason=empty" in log_text(),
      "an ignored file does not outlive the start: it becomes what the cache holds")
stop_broker()
with open(conf_path) as f:
    text = f.read().replace("max_cached_tokens = 2\n", "")
with open(conf_path, "w") as f:
    f.write(text)
restart()

# --- another tenant's file --------------------------------------------------
asyncio.run(crowd(emails[:3]))
s.wait_for(lambda: os.path.exists(acme_file), "acme's file", timeout=scaled(10, 30, 600))
stop_broker()
shutil.copy(acme_file, badcreds_file)
restart()
check(count(r'level=warn event=cache_file_ignored tenant=badcreds reason="authentication '
            r'failed') == 1, "another tenant's file is ignored")
check(count(r"event=cache_loaded tenant=acme entries=3 ") == 1,
      "the tenant's own file still loads")
s.wait_for(lambda: not os.path.exists(badcreds_file), "the foreign file replaced",
           timeout=scaled(10, 30, 600))

# --- a file sealed under another signing key (another broker's) ------------
stop_broker()
other = os.path.join(TOP_SRCDIR, "tests", "data", "keys", "vendor-traditional")
with open(os.path.join(other, "password")) as f:
    other_pw = f.read().strip()
s.secrets.add(other_pw)
tpath = s.tenant_path("acme")
with open(tpath) as f:
    orig = f.read()
changed = re.sub(r"(?m)^certificate = .*$", "certificate = " +
                 b64(os.path.join(other, "cert.pem.b64")).replace("\n", ""), orig)
changed = re.sub(r"(?m)^pkey = .*$", "pkey = " +
                 b64(os.path.join(other, "key.pem.enc.b64")).replace("\n", ""), changed)
changed = re.sub(r"(?m)^password = %s$" % re.escape(s.key_password),
                 "password = " + other_pw, changed)
with open(tpath, "w") as f:
    f.write(changed)
ignored = count(AUTH)
restart()
check(count(AUTH) == ignored + 1, "a file sealed under another signing key is ignored")
stop_broker()
with open(tpath, "w") as f:
    f.write(orig)
restart()

# --- persistent_cache = no: no file -------------------------------------------
asyncio.run(crowd(emails[:2]))
s.wait_for(lambda: os.path.exists(acme_file), "acme's file", timeout=scaled(10, 30, 600))
stop_broker()
with open(conf_path, "a") as f:
    f.write("persistent_cache = no\n")
restart()
check(not os.path.exists(acme_file) and "event=cache_file_removed tenant=acme "
      "reason=persistent_cache_off" in log_text(),
      "persistent_cache = no removes the files there were")
asyncio.run(crowd(["nofile@example.com"]))
stop_broker()
check(not os.path.exists(acme_file) and not os.path.exists(badcreds_file),
      "persistent_cache = no writes no file", repr(os.listdir(cache_dir)))

# --- a tenant removed on reload: its file goes ------------------------------
with open(conf_path) as f:
    text = f.read().replace("persistent_cache = no\n", "")
with open(conf_path, "w") as f:
    f.write(text)
restart()
bt = asyncio.run(crowd(["gone@example.com"], tenant="badcreds"))
s.tokens_seen |= {t for t in bt.values() if t}
s.wait_for(lambda: os.path.exists(badcreds_file), "badcreds' cache file",
           timeout=scaled(10, 30, 600))
os.unlink(s.tenant_path("badcreds"))
s.broker.send_signal(signal.SIGHUP)
s.wait_for(lambda: not os.path.exists(badcreds_file), "badcreds' file removed on reload",
           timeout=scaled(10, 30, 600))
check(not os.path.exists(badcreds_file), "a tenant removed on reload loses its file")
check("event=cache_file_removed tenant=badcreds reason=tenant_removed" in log_text(),
      "the removal is logged")

# --- a file that cannot be written (here: its temporary name taken by a
# directory; a full disk alike) is said, not kept quiet ----------------------
blocker = os.path.join(cache_dir, "acme.cache.tmp")
os.mkdir(blocker)
ut = asyncio.run(crowd(["unwritable@example.com"]))
s.tokens_seen |= {t for t in ut.values() if t}
s.wait_for(lambda: "event=cache_save_failed tenant=acme" in log_text(),
           "event=cache_save_failed", timeout=scaled(10, 30, 600))
check(True, "a save that fails is logged (event=cache_save_failed tenant=acme)")
os.rmdir(blocker)

for line in log_text().splitlines():
    if "event=cache_save_failed" in line:
        print("# " + line)
    if "event=cache_file_ignored" in line or "event=cache_file_removed" in line:
        print("# " + line)
found = s.scan_for_secrets()
check(not found, "no secret or token in the logs", "; ".join(found))
s.stop()
shutil.rmtree(state, ignore_errors=True)
done(s)
