#!/usr/bin/env python3
"""A webhook receiver for tests/integration/77_webhooks.sh.

Usage: webhook-receiver.py PORT DIR

Every POST is checked against the secret in DIR/secret (read per request,
so a rotation only needs the file rewritten): Vingest-Signature
"t=UNIX,v1=HEX[,v1=HEX]" must carry a v1 equal to the lower-case hex
HMAC-SHA256 of t + "." + body, t within five minutes, and the body's id must
equal Vingest-Event-Id. A valid event is appended to DIR/received
("EVENT_ID TYPE VIDEO_ID", at arrival, whatever is answered after); an
invalid one to DIR/bad. DIR/control says how to answer, one line:
  ok                 200
  fail N             500, N times (then ok)
  slow SECONDS N     sleep SECONDS before answering 200, N times
Each request also appends "begin EVENT_ID" to DIR/begun when it arrives, and
a slowed one its EVENT_ID to DIR/slowed before it sleeps.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]
LOCK = threading.Lock()


def path(name):
    return os.path.join(DIR, name)


def append(name, line):
    with LOCK, open(path(name), "a") as f:
        f.write(line + "\n")


def take_mode():
    """The answer for this request, counting down the control file."""
    with LOCK:
        try:
            words = open(path("control")).read().split()
        except OSError:
            words = ["ok"]
        if not words or words[0] == "ok":
            return ("ok", 0)
        if words[0] == "fail":
            n = int(words[1])
            rest = "fail %d" % (n - 1) if n > 1 else "ok"
            open(path("control"), "w").write(rest + "\n")
            return ("fail", 0)
        if words[0] == "slow":
            secs, n = float(words[1]), int(words[2])
            rest = "slow %s %d" % (words[1], n - 1) if n > 1 else "ok"
            open(path("control"), "w").write(rest + "\n")
            return ("slow", secs)
        return ("ok", 0)


def verify(headers, body):
    secret = open(path("secret")).read().strip().encode()
    sig = headers.get("Vingest-Signature", "")
    parts = [p.split("=", 1) for p in sig.split(",") if "=" in p]
    ts = [v for k, v in parts if k == "t"]
    v1 = [v for k, v in parts if k == "v1"]
    if len(ts) != 1 or not v1 or not ts[0].isdigit():
        return None, "malformed signature header: %r" % sig
    if abs(time.time() - int(ts[0])) > 300:
        return None, "stale t"
    want = hmac.new(secret, ts[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(want, v) for v in v1):
        return None, "no v1 matches"
    try:
        ev = json.loads(body)
    except ValueError:
        return None, "body is not JSON"
    if ev.get("id") != headers.get("Vingest-Event-Id"):
        return None, "body id differs from Vingest-Event-Id"
    return ev, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ev, why = verify(self.headers, body)
        if ev is None:
            append("bad", why)
            self.answer(400)
            return
        append("begun", "begin " + ev["id"])
        append("received", "%s %s %s" % (ev["id"], ev["type"], ev["data"].get("id")))
        mode, secs = take_mode()
        if mode == "fail":
            self.answer(500)
            return
        if mode == "slow":
            append("slowed", ev["id"])
            time.sleep(secs)
        self.answer(200)

    def answer(self, status):
        try:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the caller gave up (time-out, killed)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
