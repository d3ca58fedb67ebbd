#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test) of issue 20 point 5: does the front keep
answering cached tokens while agents are signed for?

A paced cached load (wrk -t2 -c32 on one cached agent token over loopback
TCP, each connection waiting 10 ms before each request: about 2,800
requests/s, far from saturation) is measured alone and beside a paced mint
load (a second wrk POSTing saml-response for distinct agents at --mints
per second, open-loop: each request has its slot on the clock).  For each
signer configuration it prints every round, the cached p50/p99 without
and with mints, the ratio p99(with mints) / p99(without) (issue 20:
<= 1.3 on 2 cores), the mints achieved and their latency; then the mint
throughput of each configuration with nothing else running (wrk -c8,
unpaced), so that low-priority signers are seen not to starve mints when
the front is idle.

    python3 tests/bench_signer_sched.py [--duration S] [--rounds R]
        [--mints N] [--configs default,1,...] [--builddir DIR]

Configurations (--configs, comma-separated): "default" (no signer option:
what the package runs), "N" (signers = N), "N:PRIO" (signers = N,
signer_priority = PRIO), "prev" (signers = CPUs, signer_priority = normal:
the defaults before issue 20).  Needs wrk (scripts/deps --bench).  It
prints figures and never fails on a number; the load average and the
machine's idle CPU during each round are printed because other processes
on a shared machine slow every figure: compare configurations of one run.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--mints", type=int, default=400, help="mints per second of the mint load")
ap.add_argument("--think-ms", type=int, default=10, help="cached load: wait per request")
ap.add_argument("--connections", type=int, default=32)
ap.add_argument("--configs", default="prev,1:normal,default")
ap.add_argument("--builddir", default=os.path.join(here, "..", "build"))
args = ap.parse_args()
os.environ.setdefault("top_srcdir", os.path.join(here, ".."))
os.environ["top_builddir"] = os.path.abspath(args.builddir)
sys.path.insert(0, here)
from harness import Setup  # noqa: E402

if not shutil.which("wrk"):
    sys.exit("wrk is missing: run scripts/deps --bench")
GUARD = "X-Samlbroker-Request: true"
CPUS = os.cpu_count()

CACHED_LUA = """function delay() return %d end
"""

# Open-loop pacing: each request takes the next slot of a clock (LuaJIT's
# ffi for CLOCK_MONOTONIC), so a slow answer does not lower the rate
# asked for while connections are free; distinct agents, one mint each.
MINT_LUA = r"""local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_ts;
int clock_gettime(int clk, bench_ts *tp);
]]
local ts = ffi.new("bench_ts")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval, slot, n, prefix
wrk.method = "POST"
wrk.headers["X-Samlbroker-Request"] = "true"
function init(a)
  interval = 1000 / tonumber(a[1])
  prefix = a[2] .. math.random(1, 1000000000)
  n = 0
end
function delay()
  local t = now_ms()
  if slot == nil then slot = t end
  slot = slot + interval
  if slot < t - 1000 then slot = t end  -- a second behind: no burst
  local d = slot - t
  if d < 0 then return 0 end
  return d
end
function request()
  n = n + 1
  return wrk.format(nil, "/v1/tenants/acme/users/" .. prefix .. "-" .. n ..
    "%40bench.example.com/saml-response")
end
"""


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]


def ms(text):
    """wrk's latency text (123.00us, 1.20ms, 1.00s) in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)$", text or "")
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def parse(out):
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {k: ms(v) for k, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, lat, int(errors.group(1)) if errors else 0


def wrk_argv(threads, conns, duration, script, url, script_args=()):
    argv = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "--latency",
            "-H", GUARD, "-s", script, url]
    if script_args:
        argv += ["--"] + list(script_args)
    return argv


def config_lines(name):
    if name == "default":
        return ""
    if name == "prev":
        return "signers = %d\nsigner_priority = normal\n" % CPUS
    n, _, prio = name.partition(":")
    lines = "signers = %d\n" % int(n)
    if prio:
        lines += "signer_priority = %s\n" % prio
    return lines


def signer_sched(s):
    """The signers' policy and nice, as /proc shows them."""
    seen = set()
    for pid in s.signer_pids():
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # fields[0] is field 3 (state): nice is field 19, policy 41.
            nice, policy = int(fields[16]), int(fields[38])
            seen.add("%s nice %d" % ({0: "other", 3: "batch", 5: "idle"}.get(
                policy, str(policy)), nice))
        except (OSError, IndexError, ValueError):
            pass
    return "%d signers, %s" % (len(s.signer_pids()), ", ".join(sorted(seen)))


class Config:
    """One daemon of the run, started at the beginning: the configurations
    take turns within each round, so that a burst of other work on a
    shared machine falls on all of them rather than on one."""

    def __init__(self, name):
        self.name = name
        self.s = Setup(log_level="error", expires_in=86400, extra_broker=config_lines(name))
        self.sched = signer_sched(self.s)
        self.base = "http://127.0.0.1:%d" % self.s.tcp_port
        self.cached = self.base + "/v1/tenants/acme/users/cached%40example.com/token"
        r = self.s.request("GET", "/v1/tenants/acme/users/cached%40example.com/token")
        if r.status != 200:
            sys.exit("cannot cache the agent token: %d %s" % (r.status, r.body))
        self.rows = []
        self.unpaced = None

    def warm(self, cached_lua, mint_lua):
        subprocess.run(wrk_argv(2, args.connections, 2, cached_lua, self.cached),
                       capture_output=True, check=True)
        subprocess.run(wrk_argv(1, 8, 2, mint_lua, self.base, [str(args.mints), "w"]),
                       capture_output=True, check=True)

    def round(self, rnd, cached_lua, mint_lua):
        # Alternately without mints first and with mints first: the
        # machine's drift falls on both.
        for with_mints in ((False, True) if rnd % 2 == 0 else (True, False)):
            la0 = loadavg()
            t0 = cpu_times()
            mint = None
            if with_mints:
                mint = subprocess.Popen(
                    wrk_argv(1, 8, args.duration + 1, mint_lua, self.base,
                             [str(args.mints), "r%d" % rnd]),
                    stdout=subprocess.PIPE, text=True)
                time.sleep(0.5)
            out = subprocess.run(wrk_argv(2, args.connections, args.duration,
                                          cached_lua, self.cached),
                                 capture_output=True, text=True, check=True).stdout
            t1 = cpu_times()
            m = parse(mint.communicate()[0]) if mint else None
            idle = 100.0 * (t1[1] - t0[1]) / max(1, t1[0] - t0[0])
            self.rows.append((rnd, with_mints, parse(out), m, la0, idle))

    def mints_alone(self, mint_lua):
        """Mint throughput with nothing else running, unpaced."""
        self.unpaced = parse(subprocess.run(
            wrk_argv(1, 8, args.duration, mint_lua, self.base, ["1000000", "u"]),
            capture_output=True, text=True, check=True).stdout)

    def stop(self):
        self.s.stop()
        self.s.cleanup()


def spread(values):
    values = [v for v in values if v == v]
    if not values:
        return "-"
    return "%.2f [%.2f-%.2f]" % (statistics.median(values), min(values), max(values))


def main():
    d = tempfile.mkdtemp(prefix="bench-sched-")
    cached_lua = os.path.join(d, "cached.lua")
    mint_lua = os.path.join(d, "mint.lua")
    with open(cached_lua, "w") as f:
        f.write(CACHED_LUA % args.think_ms)
    with open(mint_lua, "w") as f:
        f.write(MINT_LUA)
    print("online CPUs: %d; load average at start: %s" % (CPUS, loadavg()))
    print("cached: wrk -t2 -c%d, %d ms think time per request; mints: wrk -t1 -c8 "
          "paced at %d/s, distinct agents; %d rounds of %d s" % (
              args.connections, args.think_ms, args.mints, args.rounds, args.duration))
    summary = []
    configs = []
    try:
        for name in args.configs.split(","):
            configs.append(Config(name))
        for c in configs:
            c.warm(cached_lua, mint_lua)
        for rnd in range(args.rounds):
            for c in configs:
                c.round(rnd, cached_lua, mint_lua)
        for c in configs:
            c.mints_alone(mint_lua)
    finally:
        for c in configs:
            c.stop()
        shutil.rmtree(d, ignore_errors=True)
    for c in configs:
        rows, unpaced = c.rows, c.unpaced
        print("\n## %s (%s)" % (c.name, c.sched))
        print("| round | mints | cached req/s | p50 ms | p99 ms | non-2xx | "
              "mints/s | mint p50 ms | mint p99 ms | mint non-2xx | load avg | idle % |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for rnd, wm, (rate, lat, err), m, la, idle in rows:
            print("| %d | %s | %.0f | %.2f | %.2f | %d | %s | %s | %s | %s | %s | %.0f |" % (
                rnd + 1, "yes" if wm else "no", rate, lat.get("50"), lat.get("99"), err,
                "%.0f" % m[0] if m else "-", "%.2f" % m[1].get("50") if m else "-",
                "%.2f" % m[1].get("99") if m else "-", "%d" % m[2] if m else "-",
                la, idle))
        rows.sort(key=lambda r: (r[0], r[1]))
        p99_0 = [r[2][1].get("99") for r in rows if not r[1]]
        p99_1 = [r[2][1].get("99") for r in rows if r[1]]
        ratios = [b / a for a, b in zip(p99_0, p99_1)]
        p50_0 = [r[2][1].get("50") for r in rows if not r[1]]
        p50_1 = [r[2][1].get("50") for r in rows if r[1]]
        mrate = [r[3][0] for r in rows if r[1]]
        mp99 = [r[3][1].get("99") for r in rows if r[1]]
        print("cached p50 %s -> %s ms, p99 %s -> %s ms; ratio p99 with/without mints "
              "(per round) %s; mints/s %s, mint p99 %s ms; unpaced mints alone %.0f/s "
              "(p99 %.2f ms, non-2xx %d)" % (
                  spread(p50_0), spread(p50_1), spread(p99_0), spread(p99_1),
                  spread(ratios), spread(mrate), spread(mp99),
                  unpaced[0], unpaced[1].get("99"), unpaced[2]))
        summary.append((c.name, c.sched, p99_0, p99_1, ratios, mrate, mp99, unpaced[0]))
    print("\n| configuration | signers | cached p99 ms without | with %d mints/s | ratio "
          "(target <= 1.3) | mints/s achieved | mint p99 ms | unpaced mints/s alone |"
          % args.mints)
    print("|---|---|---|---|---|---|---|---|")
    for name, sched, a, b, r, mr, mp, up in summary:
        print("| %s | %s | %s | %s | %s | %s | %s | %.0f |" % (
            name, sched, spread(a), spread(b), spread(r), spread(mr), spread(mp), up))
    print("median [min-max] over the rounds; load average at the end: %s" % loadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
