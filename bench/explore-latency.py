"""How long `vaekit explore` takes to answer the page's requests.

    python3 bench/explore-latency.py RUN_DIR [--vaekit target/release/vaekit]
        [--threads 2] [--requests 200] [--out bench/EXPLORE.md]

Starts `vaekit explore RUN_DIR --port 0` (the map of every example the run's
data holds, PCA), waits for its address, then times, one after another as the
page sends them, `--requests` of each: a click on the plane (POST /api/decode
with a point drawn uniformly over the map's extent), a hover (GET /api/example
of a random example) and an interpolation between two random examples (POST
/api/interpolate, 10 steps). Each time is the whole round trip over
127.0.0.1 seen by the client (Python's http.client, one kept-alive connection
per request kind): median, 95th percentile and the worst. The issue's bar is
50 ms for a decoded point with the default MLP model. Python's standard
library only.
"""

import argparse
import datetime
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time

from provenance import commit, cpu_name

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(conn, method, path, body=None):
    """One request's round trip in milliseconds; an error unless it answers 200."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    data = None if body is None else json.dumps(body).encode()
    start = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    answer = conn.getresponse()
    payload = answer.read()
    took = (time.perf_counter() - start) * 1000
    if answer.status != 200:
        sys.exit(f"bench/explore-latency.py: {method} {path} answered {answer.status}: "
                 f"{payload[:200]!r}")
    return took, payload


def summary(name, times):
    times = sorted(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return f"| {name} | {statistics.median(times):.1f} | {p95:.1f} | {times[-1]:.1f} |"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run")
    p.add_argument("--vaekit", default=os.path.join(ROOT, "target/release/vaekit"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--out", default=os.path.join(HERE, "EXPLORE.md"))
    args = p.parse_args()
    cmd = [args.vaekit, "--threads", str(args.threads), "explore", args.run, "--port", "0"]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        url = next((w for w in line.split() if w.startswith("http://127.0.0.1:")), None)
        if url is None:
            sys.exit(f"bench/explore-latency.py: no address from `{' '.join(cmd)}`: {line!r} "
                     f"{server.stderr.read()[:500]}")
        host, port = url[len("http://"):].rstrip("/").split(":")
        conns = {k: http.client.HTTPConnection(host, int(port), timeout=60)
                 for k in ("meta", "decode", "example", "interpolate")}
        _, meta = timed(conns["meta"], "GET", "/api/meta")
        meta = json.loads(meta)
        _, points = timed(conns["meta"], "GET", "/api/points")
        n = meta["n"]
        plane = json.loads(points)
        x0, x1, y0, y1 = min(plane["x"]), max(plane["x"]), min(plane["y"]), max(plane["y"])
        rng = random.Random(0)
        decode, example, interpolate = [], [], []
        for _ in range(args.requests):
            point = {"x": rng.uniform(x0, x1), "y": rng.uniform(y0, y1)}
            decode.append(timed(conns["decode"], "POST", "/api/decode", point)[0])
            example.append(timed(conns["example"], "GET",
                                 f"/api/example?i={rng.randrange(n)}")[0])
            a, b = rng.randrange(n), rng.randrange(n)
            interpolate.append(timed(conns["interpolate"], "POST", "/api/interpolate",
                                     {"from": a, "to": b, "steps": 10})[0])
    finally:
        server.terminate()
        server.wait(timeout=30)
    with open(os.path.join(args.run, "config.json")) as f:
        settings = json.load(f)["settings"]
    lines = [
        f"# vaekit explore: answer times ({datetime.date.today()}, commit {commit()}, "
        f"{cpu_name()}, {args.threads} threads)",
        "",
        f"Made by `python3 bench/explore-latency.py {args.run} --threads {args.threads} "
        f"--requests {args.requests}`: the run's model {settings.get('arch', 'mlp')} "
        f"hidden {settings.get('hidden')}, z {settings.get('latent')}, {n:,} examples on the "
        f"map; {len(points):,} bytes of points sent to the page once.",
        "",
        "| request (round trip over 127.0.0.1) | median ms | 95th percentile ms | worst ms |",
        "|---|---|---|---|",
        summary("click on the plane: decode a point (POST /api/decode)", decode),
        summary("hover: an example and its reconstruction (GET /api/example)", example),
        summary("interpolation, 10 steps (POST /api/interpolate)", interpolate),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
