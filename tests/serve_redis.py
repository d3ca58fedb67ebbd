# SPDX-License-Identifier: Apache-2.0
"""Two brokers sharing a token cache in Redis ([broker] redis): a token
fetched on node A is served by node B without an exchange; with A killed,
B serves every agent A fetched; Redis holds only ciphertext under names
that do not reveal an address; a token from Redis is kept on disk too
(state_directory) and served after a restart; a tampered value is ignored; concurrent
requests for a new agent over both nodes make one exchange; with Redis
stopped both nodes keep serving, and say when it goes and comes back.
Starts its own redis-server on a Unix socket in the test's directory."""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Setup, UnixHTTPConnection, check, done, free_port, scaled,  # noqa: E402
                     skip, wait_seconds)

REDIS = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
if REDIS is None or REDIS_CLI is None:
    skip("redis-server or redis-cli not installed")
if "HAVE_REDIS 1" not in open(os.path.join(os.environ.get("top_builddir", "."), "config.h"),
                              errors="replace").read():
    skip("built without libhiredis (configure --with-redis)")

state = {"all": []}


@atexit.register
def _kill_redis():
    """The redis-servers this test started, killed whatever happens (a
    failed check or wait exits early; one may be stopped by SIGSTOP)."""
    for p in state["all"]:
        if p.poll() is None:
            p.kill()
            p.wait()


def start_redis(s, extra=()):
    sock = os.path.join(s.dir, "redis.sock")
    log = os.path.join(s.dir, "redis.log")
    p = subprocess.Popen([REDIS, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
                          "--save", "", "--appendonly", "no", "--dir", s.dir] + list(extra),
                         stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    state["all"].append(p)
    auth = ["-a", extra[1], "--no-auth-warning"] if extra else []
    s.wait_for(lambda: os.path.exists(sock) and cli_raw(sock, *(auth + ["PING"])) == b"PONG\n",
               "redis")
    state["redis"] = p
    state["sock"] = sock
    return p


def cli_raw(sock, *args):
    r = subprocess.run([REDIS_CLI, "-s", sock, "--raw"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.stdout


def before(s):
    start_redis(s)
    conf = os.path.join(s.broker_dir, "samlbroker.conf")
    with open(conf, "a") as f:
        # A wrapper (valgrind) slows the front, not Redis: its answers
        # would come late.  Not the default 200 ms either: a busy CI
        # machine (a sanitizer build, parallel tests) may hold a local
        # answer that long, and node B would then exchange itself.
        f.write("redis = unix:%s\nredis_timeout_ms = %d\n"
                % (state["sock"], min(10000, int(scaled(1, 5, 10) * 1000))))


s = Setup(before_broker=before)
redis_sock = state["sock"]

# Node B: the same tenant files, its own sockets and log.
b_dir = os.path.join(s.dir, "broker-b")
shutil.copytree(s.broker_dir, b_dir)
b_sock = os.path.join(s.dir, "broker-b.sock")
b_port = free_port()
conf_b = os.path.join(b_dir, "samlbroker.conf")
text = open(conf_b).read().replace(s.socket, b_sock).replace(
    "tcp:127.0.0.1:%d" % s.tcp_port, "tcp:127.0.0.1:%d" % b_port)
# B keeps its tokens across a restart too (state_directory): a file it
# cannot open is there, so that its first save (the tenant still empty)
# removes it and says so.
b_state = os.path.join(s.dir, "broker-b-state")
os.makedirs(os.path.join(b_state, "cache"), mode=0o700)
os.chmod(b_state, 0o700)
b_cache_file = os.path.join(b_state, "cache", "acme.cache")
with open(b_cache_file, "wb") as f:
    f.write(b"not a cache file")
text += "state_directory = %s\n" % b_state
open(conf_b, "w").write(text)
a = {"dir": s.broker_dir, "socket": s.socket, "log": s.broker_log, "proc": s.broker}
s.broker_dir, s.socket, s.broker_log = b_dir, b_sock, os.path.join(s.dir, "broker-b.log")
b = {"dir": b_dir, "socket": b_sock, "log": s.broker_log, "proc": s.start_broker()}
s.broker_dir, s.socket, s.broker_log = a["dir"], a["socket"], a["log"]


def fetch(node, email):
    from urllib.parse import quote
    c = UnixHTTPConnection(node["socket"], timeout=max(60, wait_seconds()))
    try:
        c.request("GET", "/v1/tenants/acme/users/%s/token" % quote(email, safe=""))
        r = c.getresponse()
        body = r.read().decode()
    finally:
        c.close()
    import json
    j = json.loads(body) if body.startswith("{") else {}
    if "access_token" in j:
        s.tokens_seen.add(j["access_token"])
    return r.status, j


def exchanges():
    return s.counters()["saml2_bearer"]["ok"]


def log_has(node, text):
    return text in open(node["log"], errors="replace").read()


def wait_log(node, text):
    s.wait_for(lambda: log_has(node, text), "%s in %s" % (text, os.path.basename(node["log"])))


wait_log(a, "event=redis_available")
wait_log(b, "event=redis_available")
# Reached from inside the front's sandbox (Landlock and seccomp where the
# kernel and build have them).
for ln in open(a["log"], errors="replace").read().splitlines():
    if "event=sandbox" in ln:
        print("# " + ln)

# 1. Fetched on A, served by B without an exchange.
agents = ["agent%d@example.com" % i for i in range(5)]
tokens = {}
for e in agents:
    st, j = fetch(a, e)
    check(st == 200, "node A serves %s" % e, repr(j))
    tokens[e] = j.get("access_token")
n = exchanges()
check(n == len(agents), "node A made one exchange per agent", "%d" % n)
# The store is asynchronous: B asks once A's SET has landed.
s.wait_for(lambda: len([k for k in cli_raw(redis_sock, "KEYS", "samlbroker:v1:acme:*").split()
                        if k]) == len(agents), "the tokens in Redis")
wait_log(b, "event=cache_file_removed tenant=acme reason=empty")
t0 = time.time()
st, j = fetch(b, agents[0])
print("# a token from Redis on node B: %.1f ms (the exchange on A: emulator, TLS, signing)"
      % ((time.time() - t0) * 1000))
check(st == 200 and j.get("access_token") == tokens[agents[0]],
      "node B serves the token node A obtained", repr(j.get("error")))
check(exchanges() == n, "node B made no exchange for it", "%d" % exchanges())

# 1b. A token B took from Redis is also kept on B's disk: B stopped
# (its only change since its last save was that token) leaves a file,
# and B restarted serves it.
b["proc"].send_signal(signal.SIGTERM)
b["proc"].wait()
s.procs.remove(b["proc"])
check(os.path.exists(b_cache_file), "node B stopped: the token from Redis is in its file")
s.broker_dir, s.socket, s.broker_log = b["dir"], b["socket"], b["log"]
b["proc"] = s.start_broker()
s.broker_dir, s.socket, s.broker_log = a["dir"], a["socket"], a["log"]
check(log_has(b, "event=cache_loaded tenant=acme entries=1 "),
      "node B restarted: reads the token back")
s.wait_for(lambda: open(b["log"]).read().count("event=redis_available") >= 2,
           "node B restarted: redis_available")
st, j = fetch(b, agents[0])
check(st == 200 and j.get("access_token") == tokens[agents[0]],
      "node B restarted serves it", repr(j.get("error")))
check(exchanges() == n, "node B restarted made no exchange for it", "%d" % exchanges())

# 2. Redis holds ciphertext only, under names that hide the address.
keys = [k for k in cli_raw(redis_sock, "KEYS", "*").split() if k]
dump = b"".join(keys)
for k in keys:
    dump += cli_raw(redis_sock, "GET", k)
for e in agents:
    check(e.encode() not in dump and e.split("@")[0].encode() not in dump,
          "Redis does not hold %s's address" % e)
    check(tokens[e].encode() not in dump, "Redis does not hold %s's token" % e)
check(all(k.startswith(b"samlbroker:v1:acme:") for k in keys),
      "every key is PREFIX:v1:TENANT:HASH", repr(keys[:3]))

# 3. Node A killed: B serves every agent A fetched, without exchanges.
a["proc"].send_signal(signal.SIGKILL)
a["proc"].wait()
s.procs.remove(a["proc"])
for e in agents:
    st, j = fetch(b, e)
    check(st == 200 and j.get("access_token") == tokens[e],
          "with node A gone, node B serves %s's token" % e, repr(j.get("error")))
check(exchanges() == n, "node B made no exchange for A's agents", "%d" % exchanges())

# 4. A tampered value is ignored: a fresh exchange and a log line.
victim = "tampered@example.com"
st, j = fetch(b, victim)
check(st == 200, "a new agent on B", repr(j))
s.wait_for(lambda: len([k for k in cli_raw(redis_sock, "KEYS", "samlbroker:v1:acme:*").split()
                        if k]) == len(agents) + 1, "the new token in Redis")
before_keys = set(keys)
new_key = [k for k in cli_raw(redis_sock, "KEYS", "samlbroker:v1:acme:*").split()
           if k and k not in before_keys][0]
# Flip one byte of the ciphertext through a Lua script (binary-safe).
cli_raw(redis_sock, "EVAL",
        "local v = redis.call('GET', KEYS[1]); local i = #v - 20; "
        "local c = string.char((string.byte(v, i) + 1) % 256); "
        "return redis.call('SET', KEYS[1], string.sub(v, 1, i - 1) .. c .. string.sub(v, i + 1), "
        "'PX', 600000)", "1", new_key)
# Node A again (a fresh process, empty memory) reads the tampered value.
s.broker_dir, s.socket, s.broker_log = a["dir"], a["socket"], a["log"]
a["proc"] = s.start_broker()
wait_log(a, "event=redis_available")
m = exchanges()
st, j = fetch(a, victim)
check(st == 200, "a tampered entry: the agent still gets a token", repr(j.get("error")))
check(exchanges() == m + 1, "a tampered entry is not served: a fresh exchange",
      "%d -> %d" % (m, exchanges()))
check(log_has(a, "event=redis_entry_rejected tenant=acme"), "the rejected value is logged")

# 5. Single flight: concurrent requests for one new agent over both nodes.
s.emu("POST", "/emulator/config", {"token_latency_ms": 800})
m = exchanges()
results = []


def one(node):
    results.append(fetch(node, "crowd@example.com"))


threads = [threading.Thread(target=one, args=(a if i % 2 else b,)) for i in range(10)]
for t in threads:
    t.start()
for t in threads:
    t.join()
toks = {j.get("access_token") for st, j in results}
check(all(st == 200 for st, _ in results) and len(toks) == 1,
      "ten concurrent requests over two nodes: one token", repr([st for st, _ in results]))
check(exchanges() == m + 1, "ten concurrent requests over two nodes: exactly one exchange",
      "%d" % (exchanges() - m))
s.emu("POST", "/emulator/config", {"token_latency_ms": 0})

# 6a. Redis hung (SIGSTOP): a lookup gives up after redis_timeout_ms and
# the broker exchanges itself; once Redis answers again it says so.
state["redis"].send_signal(signal.SIGSTOP)
m = exchanges()
t0 = time.time()
st, j = fetch(a, "while-hung@example.com")
hung_seconds = time.time() - t0
check(st == 200 and exchanges() == m + 1,
      "Redis hung: node A exchanges a new agent itself (%.2f s)" % hung_seconds,
      repr(j.get("error")))
wait_log(a, 'event=redis_unavailable address=unix:%s error="timeout"' % redis_sock)
state["redis"].send_signal(signal.SIGCONT)
s.wait_for(lambda: open(a["log"]).read().count("event=redis_available") >= 3,
           "node A: redis_available after the hang")
check(True, "Redis answering again: node A says so")

# 6. Redis stopped: both nodes serve (cached ones from memory, new ones by
# exchange) and say so once; Redis back: they say so.
state["redis"].send_signal(signal.SIGTERM)
state["redis"].wait()
for node, e in ((a, victim), (b, agents[1])):
    st, j = fetch(node, e)
    check(st == 200, "Redis stopped: %s serves a cached token" % os.path.basename(node["log"]),
          repr(j.get("error")))
for node, e in ((a, "new-a@example.com"), (b, "new-b@example.com")):
    st, j = fetch(node, e)
    check(st == 200, "Redis stopped: %s exchanges a new agent" % os.path.basename(node["log"]),
          repr(j.get("error")))
wait_log(a, "event=redis_unavailable")
wait_log(b, "event=redis_unavailable")
check(open(b["log"]).read().count("event=redis_unavailable") == 1,
      "node B says once that Redis went away")
start_redis(s)
# A logged it once per process before (two processes) and after the
# hang, B once per start (two).
s.wait_for(lambda: open(a["log"]).read().count("event=redis_available") >= 4,
           "node A: redis_available again")
s.wait_for(lambda: open(b["log"]).read().count("event=redis_available") >= 3,
           "node B: redis_available again (started twice)")
check(True, "both nodes say Redis is back")

# 7. Status and metrics.
r = s.get("/metrics")
check("samlbroker_redis_hits_total" in r.body and "samlbroker_redis_up 1" in r.body,
      "/metrics has the Redis counters", r.body[-400:])
r = s.get("/v1/status")
check(r.json().get("redis", {}).get("state") == "available", "/v1/status: redis available",
      repr(r.json().get("redis")))

# 8. Redis asking for a password: node A given it (redis_password =
# file:) uses Redis; node B without it does not, and keeps serving.
state["redis"].send_signal(signal.SIGTERM)
state["redis"].wait()
password = "redis-pw-%s" % os.urandom(6).hex()
s.secrets.add(password)
pw_file = os.path.join(a["dir"], "redis.password")
with open(pw_file, "w") as f:
    f.write(password + "\n")
os.chmod(pw_file, 0o600)
a["proc"].send_signal(signal.SIGTERM)
a["proc"].wait()
s.procs.remove(a["proc"])
with open(os.path.join(a["dir"], "samlbroker.conf"), "a") as f:
    f.write("redis_password = file:redis.password\n")
start_redis(s, ["--requirepass", password])
s.broker_dir, s.socket, s.broker_log = a["dir"], a["socket"], a["log"]
a["proc"] = s.start_broker()
s.wait_for(lambda: open(a["log"]).read().count("event=redis_available") >= 5,
           "node A: redis_available with the password")
st, j = fetch(a, "with-password@example.com")
check(st == 200, "node A serves with Redis asking for a password", repr(j.get("error")))
s.wait_for(lambda: b"samlbroker:v1:acme:" in cli_raw(state["sock"], "-a", password,
                                                    "--no-auth-warning", "KEYS", "*"),
           "node A's token in Redis")
st, j = fetch(b, "without-password@example.com")
check(st == 200, "node B, without the password, serves by exchanging", repr(j.get("error")))
s.socket = b["socket"]
body = s.get("/metrics").body
s.socket = a["socket"]
check("samlbroker_redis_up 0" in body, "node B: samlbroker_redis_up 0",
      "\n".join(ln for ln in body.splitlines() if "redis" in ln))

for log in (a["log"], b["log"]):
    text = open(log, errors="replace").read()
    for t in tokens.values():
        check(t not in text, "no token in %s" % os.path.basename(log))
state["redis"].send_signal(signal.SIGTERM)
state["redis"].wait()
s.stop()
done(s)
