#!/usr/bin/env python3
"""Start-up bench: process start to the first answered API request.

`onecard serve` (the default): each run spawns the binary on a fresh data dir
(so the demo seed is part of the cost, as on a first start) and on the same
data dir again (a warm restart), then polls a signed `park.cartype.query`
until it answers status true.

    python3 infra/bench/startup.py [--bin target/release/onecard] [--runs 10]

A Lambda bootstrap (`--lambda`): each run spawns the bootstrap as Lambda does
(the Runtime API's address and the function's variables in its environment)
against a local Runtime API that hands it one API Gateway HTTP API event, a
signed request to a route of its group, and times process start to the
function's response. DynamoDB is a local endpoint answering every call with an
empty result, so the init's warm-up round trip and the request's caller lookup
are real HTTP round trips of the SDK (on AWS they add the network's latency);
the caller is unknown, so the answer is an envelope refusing it, which is an
answer like any other to the pipeline. The bootstrap must run on this machine
(`ONECARD_LAMBDA_ARCH=x86_64 infra/build-lambdas.sh park` on an x86_64 box).

    python3 infra/bench/startup.py --lambda target/lambda/park/bootstrap [--runs 10]
"""
import argparse, base64, datetime as dt, hashlib, hmac, http.server, json, os, queue, shutil, socket
import statistics, subprocess, sys, tempfile, threading, time, urllib.request

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


# A route of each function's group, so the request reaches the pipeline's
# authentication (a route of another group is refused before it).
LAMBDA_ROUTES = {"park": "park.cartype.query", "acss": "acss.doorSet.list", "pls": "pls.guide.points",
                 "cat": "hb", "pub": "pub.shake.add", "partner": "Upark.GetMCardInfo", "gate": "gate.cards.get"}


def apigw_event(route):
    path = "/api.aspx/" + route
    return json.dumps({
        "version": "2.0", "routeKey": "POST " + path, "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "bench.execute-api.ap-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.execute-api.ap-east-1.amazonaws.com",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "POST " + path, "stage": "$default", "time": "x", "timeEpoch": 0},
        "body": signed_body({}), "isBase64Encoded": False})


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK and the runtime client expect
    # The handler writes the headers and then the body: with Nagle's algorithm
    # the body waits for the client's delayed ACK of the headers (40 ms on
    # Linux), which the real Runtime API and DynamoDB do not make anyone wait.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeDynamo(Quiet):
    """Every DynamoDB call answers an empty result: DescribeTable, GetItem (no item), Query (no items)."""

    def do_POST(self):
        self.body()
        self.reply(200, b"{}", [("Content-Type", "application/x-amz-json-1.0")])


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the bootstrap is killed after its answer: its open connections reset


def serve(handler):
    srv = Server(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def lambda_run(bootstrap, function, dynamo_port):
    """One cold start: ms from spawning the bootstrap to its first response, and the answer's code."""
    events, answers = queue.Queue(), queue.Queue()
    events.put(apigw_event(LAMBDA_ROUTES[function]))

    class Runtime(Quiet):
        def do_GET(self):  # /2018-06-01/runtime/invocation/next
            try:
                ev = events.get(timeout=60).encode()
            except queue.Empty:
                return
            self.reply(200, ev, [("Lambda-Runtime-Aws-Request-Id", "bench-1"),
                                 ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000)),
                                 ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-east-1:123456789012:function:" + function),
                                 ("Content-Type", "application/json")])

        def do_POST(self):  # .../invocation/{id}/response, .../error, /runtime/init/error
            body = self.body()
            answers.put((time.perf_counter(), self.path, body))
            self.reply(202)

    rt = serve(Runtime)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % rt.server_address[1],
               AWS_LAMBDA_FUNCTION_NAME="onecard-" + function, AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_STREAM_NAME="bench", AWS_LAMBDA_LOG_GROUP_NAME="bench",
               AWS_REGION="ap-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               ONECARD_TABLE="onecard-bench", ONECARD_DYNAMODB_ENDPOINT="http://127.0.0.1:%d" % dynamo_port,
               AWS_LAMBDA_LOG_LEVEL="warn")
    for k in ("RUST_LOG", "LOG_LEVEL", "ONECARD_QUEUE_URL", "ONECARD_WS_ENDPOINT", "AWS_PROFILE"):
        env.pop(k, None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t1, path, body = answers.get(timeout=30)
    except queue.Empty:
        raise SystemExit("the bootstrap did not answer within 30 s (exit code %s)" % proc.poll())
    finally:
        proc.terminate()
        proc.wait()
        rt.shutdown()
    if not path.endswith("/response"):
        raise SystemExit("the bootstrap reported an error on %s: %s" % (path, body[:300]))
    answer = json.loads(json.loads(body)["body"])
    return (t1 - t0) * 1000, answer.get("code")


def lambda_bench(bootstrap, function, runs):
    if function not in LAMBDA_ROUTES:
        sys.exit("--function is one of %s" % ", ".join(LAMBDA_ROUTES))
    dynamo = serve(FakeDynamo)
    xs, codes = [], set()
    for _ in range(runs):
        ms, code = lambda_run(bootstrap, function, dynamo.server_address[1])
        xs.append(ms)
        codes.add(code)
    xs.sort()
    print("%-34s runs=%d  min=%.1f ms  median=%.1f ms  max=%.1f ms  (answer code %s)" % (
        "%s cold start to first answer" % function, len(xs), xs[0], statistics.median(xs), xs[-1],
        "/".join(str(c) for c in sorted(codes, key=str))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "onecard"))
    ap.add_argument("--lambda", dest="bootstrap", help="a Lambda bootstrap to start instead of onecard serve")
    ap.add_argument("--function", help="the bootstrap's function (default: its directory's name)")
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    if a.bootstrap:
        if not os.path.exists(a.bootstrap):
            sys.exit("%s is not built: ONECARD_LAMBDA_ARCH=x86_64 infra/build-lambdas.sh park" % a.bootstrap)
        function = a.function or os.path.basename(os.path.dirname(os.path.abspath(a.bootstrap)))
        return lambda_bench(a.bootstrap, function, a.runs)
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
