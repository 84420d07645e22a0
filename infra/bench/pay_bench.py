#!/usr/bin/env python3
"""Throughput and latency of the payment path (6.1 calc, 6.2 commit) against a
running server, signed exactly like a client (chapter 5, decision 2).

Standard library only. Usage:
  python3 infra/bench/pay_bench.py --base http://127.0.0.1:8080 --cars 400 --concurrency 16

It enters --cars cars (9.1, two hours ago, so every stay has a fee), then
calculates each fee concurrently, then pays each order concurrently, and prints
per phase: requests, failures, requests/s, p50/p90/p99/max latency in ms.
Each worker thread keeps one HTTP/1.1 connection open, as a payment gateway
would. It brings its own car type and tariff (6.87, 6.96), so it does not
depend on what the car park is configured with.
"""
import argparse, base64, datetime as dt, hashlib, hmac, http.client, json, random, string, sys
import threading, time, urllib.parse

CN = dt.timezone(dt.timedelta(hours=8))
FMT = "%Y-%m-%d %H:%M:%S"


class Client:
    def __init__(self, base, frm, secret, branch):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port or 80
        self.frm, self.secret, self.branch = frm, secret, branch
        self.local = threading.local()

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            c = self.local.c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return c

    def body(self, data):
        ts = dt.datetime.now(CN).strftime(FMT)
        nonce = str(random.randint(0, 99))
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        s = "".join(sorted([self.frm, ts, nonce])) + text
        sign = base64.b64encode(hmac.new(self.secret.encode(), s.encode("utf-8"), hashlib.sha1).digest()).decode()
        env = {"from": self.frm, "timestamp": ts, "nonce": nonce, "sign": sign, "branchno": self.branch}
        head = ",".join('"%s":%s' % (k, json.dumps(v, ensure_ascii=False)) for k, v in env.items())
        return "{%s,\"data\":%s}" % (head, text)

    def call(self, route, data):
        raw = self.body(data).encode("utf-8")
        for attempt in (0, 1):
            try:
                c = self.conn()
                c.request("POST", "/api.aspx/" + route, body=raw, headers={"Content-Type": "application/json"})
                r = c.getresponse()
                return json.loads(r.read().decode("utf-8"))
            except (http.client.HTTPException, ConnectionError, OSError):
                # A dropped keep-alive connection: reconnect once.
                self.local.c = None
                if attempt:
                    raise


def run_phase(client, name, jobs, concurrency):
    """jobs: list of (route, data, on_ok). Returns the list of answers."""
    lat, fails, answers = [], [], [None] * len(jobs)
    lock = threading.Lock()
    it = iter(range(len(jobs)))

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            route, data = jobs[i]
            t0 = time.perf_counter()
            try:
                env = client.call(route, data)
            except Exception as e:  # noqa: BLE001 - counted as a failure
                env = {"status": False, "code": -1, "message": str(e)}
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                lat.append(ms)
                answers[i] = env
                if not env.get("status"):
                    fails.append(env)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))] if lat else 0.0
    print("%-7s %5d requests  %3d failed  %8.1f req/s  p50 %6.1f ms  p90 %6.1f ms  p99 %6.1f ms  max %6.1f ms"
          % (name, len(jobs), len(fails), len(jobs) / wall if wall else 0, pct(50), pct(90), pct(99), lat[-1] if lat else 0))
    if fails:
        print("  first failure:", json.dumps(fails[0], ensure_ascii=False)[:300])
    sys.stdout.flush()
    return answers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="http://127.0.0.1:8080")
    ap.add_argument("--from", dest="frm", default="demo")
    ap.add_argument("--secret", default="demo-secret")
    ap.add_argument("--branch", default="1001")
    ap.add_argument("--area", default="1")
    ap.add_argument("--cars", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=16)
    a = ap.parse_args()
    c = Client(a.base, a.frm, a.secret, a.branch)
    tag = "".join(random.choice(string.ascii_uppercase) for _ in range(2))
    entry = (dt.datetime.now(CN) - dt.timedelta(hours=2)).strftime(FMT)
    plates = ["苏%s%05d" % (tag, i) for i in range(a.cars)]
    print("pay_bench: %d cars, %d concurrent clients, %s" % (a.cars, a.concurrency, a.base))
    ct = c.call("park.cartype.add", {"carTypeName": "bench-" + tag + str(random.randint(0, 9999))})
    if not ct.get("status"):
        print("cannot create a car type:", ct)
        return 1
    car_type = ct["data"]["carTypeId"]
    t = c.call("park.temporarytariff.add", {
        "areaNo": "FFFFFFFF", "carTypeId": car_type, "chargeMode": 1, "midnight": "1970-01-01 00:00:00",
        "maxCharge": "40", "timeNumber": 1,
        "chargePeriod": [{"periodName": "all", "stTime": "1970-01-01 00:00:00", "endTime": "1970-01-01 00:00:00",
                          "freeMinutes": 15, "fstSectTime": 60, "fstSectCharge": "5", "sectTime": 30, "sectCharge": "2",
                          "maxCharge": "0", "fixCharge": "0"}]})
    if not t.get("status"):
        print("cannot install a tariff:", t)
        return 1

    entries = [("cat.upload.indata", {"areaId": a.area, "cardInId": "%s%d%06d" % (tag, random.randint(0, 9999), i),
                                      "licensePlate": p, "inDate": entry}) for i, p in enumerate(plates)]
    run_phase(c, "entry", entries, a.concurrency)

    calcs = [("calc", {"credentialtype": "1", "credential": p, "calcendtime": "1970-01-01 00:00:00", "carType": car_type})
             for p in plates]
    quotes = run_phase(c, "calc", calcs, a.concurrency)

    commits = []
    for p, q in zip(plates, quotes):
        d = (q or {}).get("data") or {}
        if q and q.get("status") and d.get("orderNo"):
            commits.append(("commit", {"credentialtype": "1", "credential": p, "parkcost": d["parkcost"],
                                       "amount": d["amount"], "payType": "7", "orderNo": d["orderNo"],
                                       "thirdPayId": "bench-" + d["orderNo"]}))
    paid = run_phase(c, "commit", commits, a.concurrency)
    ok = sum(1 for e in paid if e and e.get("status"))
    print("paid %d of %d orders" % (ok, len(commits)))
    return 0 if ok == len(commits) == a.cars else 1


if __name__ == "__main__":
    sys.exit(main())
