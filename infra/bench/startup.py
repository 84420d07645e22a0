#!/usr/bin/env python3
"""Start-up bench: process start of `onecard serve` to its first answered API request.

Each run spawns the binary on a fresh data dir (so the demo seed is part of the
cost, as on a first start) and on the same data dir again (a warm restart), then
polls a signed `park.cartype.query` until it answers status true.

    python3 infra/bench/startup.py [--bin target/release/onecard] [--runs 10]
"""
import argparse, base64, datetime as dt, hashlib, hmac, json, os, shutil, socket, statistics
import subprocess, sys, tempfile, time, urllib.request

CN = dt.timezone(dt.timedelta(hours=8))


def signed_body(data):
    ts = dt.datetime.now(CN).strftime("%Y-%m-%d %H:%M:%S")
    nonce = str(time.perf_counter_ns() % 100000)
    text = json.dumps(data, separators=(",", ":"))
    s = "".join(sorted(["demo", ts, nonce])) + text
    sign = base64.b64encode(hmac.new(b"demo-secret", s.encode(), hashlib.sha1).digest()).decode()
    return json.dumps({"from": "demo", "timestamp": ts, "nonce": nonce, "sign": sign, "branchno": "1001"})[:-1] + ',"data":' + text + "}"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def one_run(binary, data_dir):
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir", data_dir, "--no-demo-site"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < 30:
            try:
                req = urllib.request.Request("http://127.0.0.1:%d/api.aspx/park.cartype.query" % port,
                                             data=signed_body({}).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if json.loads(r.read()).get("status") is True:
                        return (time.perf_counter() - t0) * 1000
            except OSError:
                pass
            time.sleep(0.002)
        raise SystemExit("server did not answer within 30 s")
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "onecard"))
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit("%s is not built: cargo build --release --bin onecard" % a.bin)
    cold, warm = [], []
    for _ in range(a.runs):
        d = tempfile.mkdtemp(prefix="onecard-bench-")
        try:
            cold.append(one_run(a.bin, os.path.join(d, "data")))
            warm.append(one_run(a.bin, os.path.join(d, "data")))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    for name, xs in (("first start (seeds the data dir)", cold), ("restart on an existing data dir", warm)):
        xs.sort()
        print("%-34s runs=%d  min=%.1f ms  median=%.1f ms  max=%.1f ms" % (name, len(xs), xs[0], statistics.median(xs), xs[-1]))


if __name__ == "__main__":
    main()
