# SPDX-License-Identifier: Apache-2.0
"""Benchmark (not a test): the cached service-token path over loopback TCP
under wrk, against nginx answering a body of the same size in the same run;
then the front's resident memory and heap with many cached user tokens.

    python3 tests/bench_serve.py [--duration S] [--connections N] [--users N]

Needs wrk and nginx (scripts/deps --bench installs them) and a build in
$top_builddir (default: build/).  nginx runs one worker, as the broker
runs one event loop.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("top_srcdir", os.path.join(here, ".."))
os.environ.setdefault("top_builddir", os.path.join(here, "..", "build"))
sys.path.insert(0, here)
from harness import Setup, free_port  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--duration", type=int, default=10)
ap.add_argument("--connections", type=int, default=32)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--users", type=int, default=100000)
ap.add_argument("--fill-timeout", type=int, default=1800,
                help="seconds to spend filling the cache with user tokens")
args = ap.parse_args()
for tool in ("wrk", "nginx"):
    if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
        sys.exit("%s is missing: run scripts/deps --bench" % tool)


def wrk(url, extra=()):
    out = subprocess.run(["wrk", "-t%d" % args.threads, "-c%d" % args.connections,
                          "-d%ds" % args.duration, "--latency",
                          "-H", "X-Samlbroker-Request: true", *extra, url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, lat, int(errors.group(1)) if errors else 0, out


s = Setup(log_level="error", extra_broker="max_cached_tokens = %d\n" % (args.users + 1000))
try:
    url = "http://127.0.0.1:%d/v1/tenants/acme/services/ewt/token" % s.tcp_port
    first = s.get("/v1/tenants/acme/services/ewt/token", tcp=True,
                  headers={"X-Samlbroker-Request": "true"})
    body_len = len(first.body.encode())

    ndir = tempfile.mkdtemp(prefix="bench-nginx-")
    nport = free_port()
    body = "x" * (body_len - 1)
    with open(os.path.join(ndir, "nginx.conf"), "w") as f:
        f.write("""worker_processes 1;
error_log %(d)s/error.log;
pid %(d)s/nginx.pid;
daemon off;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(d)s; proxy_temp_path %(d)s; fastcgi_temp_path %(d)s;
    uwsgi_temp_path %(d)s; scgi_temp_path %(d)s;
    server {
        listen 127.0.0.1:%(p)d;
        location / { default_type application/json; return 200 '%(b)s\n'; }
    }
}
""" % {"d": ndir, "p": nport, "b": body})
    nginx = subprocess.Popen(["nginx", "-c", os.path.join(ndir, "nginx.conf")])
    time.sleep(0.5)

    wrk(url)  # warm-up
    b_rate, b_lat, b_err, _ = wrk(url)
    n_rate, n_lat, n_err, _ = wrk("http://127.0.0.1:%d/" % nport)
    nginx.terminate()
    nginx.wait()
    shutil.rmtree(ndir, ignore_errors=True)
    print("body size: broker %d bytes, nginx %d bytes" % (body_len, len(body) + 1))
    print("wrk -t%d -c%d -d%ds, loopback TCP" % (args.threads, args.connections, args.duration))
    print("broker: %10.0f requests/s  (non-2xx: %d)" % (b_rate, b_err))
    print("nginx:  %10.0f requests/s  (non-2xx: %d)" % (n_rate, n_err))
    print("ratio broker/nginx: %.2f" % (b_rate / n_rate))
    print("broker latency: p50 %s  p75 %s  p90 %s  p99 %s" % (
        b_lat.get("50"), b_lat.get("75"), b_lat.get("90"), b_lat.get("99")))
    print("nginx latency:  p50 %s  p75 %s  p90 %s  p99 %s" % (
        n_lat.get("50"), n_lat.get("75"), n_lat.get("90"), n_lat.get("99")))

    # Resident memory with many cached user tokens: the front's (the
    # master's stays as it was), and its heap as malloc counts it.
    front = s.front_pid()

    def rss():
        with open("/proc/%d/status" % front) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    rss0 = rss()
    heap0 = s.get("/v1/status").json().get("heap_bytes") or 0
    lua = os.path.join(s.dir, "users.lua")
    with open(lua, "w") as f:
        # Distinct addresses: a counter and a random part per wrk run.
        f.write("""counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/v1/tenants/acme/users/u" .. counter .. "-" ..
    math.random(1, 1000000000) .. "%40bench.example.com/token")
end
""")
    t0 = time.time()
    n = 0
    while True:
        st = s.get("/v1/status").json()
        n = st["cached_tokens"]
        if n >= args.users or time.time() - t0 > args.fill_timeout:
            break
        subprocess.run(["wrk", "-t1", "-c64", "-d5s", "-s", lua,
                        "-H", "X-Samlbroker-Request: true",
                        "http://127.0.0.1:%d" % s.tcp_port], capture_output=True)
    rss1 = rss()
    heap1 = s.get("/v1/status").json().get("heap_bytes") or 0
    print("cached user tokens: %d (filled in %.0f s)" % (n, time.time() - t0))
    print("front RSS: %.1f MiB before, %.1f MiB with them (%.0f bytes per cached token)" % (
        rss0 / 1024, rss1 / 1024, (rss1 - rss0) * 1024 / max(1, n)))
    print("front heap (malloc's count): %.1f MiB before, %.1f MiB with them (%.0f bytes "
          "per cached token)" % (heap0 / 1048576, heap1 / 1048576,
                                 (heap1 - heap0) / max(1, n)))
finally:
    s.stop()
    s.cleanup()
