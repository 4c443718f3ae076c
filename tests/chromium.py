#!/usr/bin/env python3
"""Headless Chromium as a test peer, driven over the DevTools protocol.

    chromium.py [--timeout S] [--flag=--chromium-switch]... URL STEP...

Starts Debian's chromium headless with a fresh --user-data-dir and
--remote-debugging-pipe (the protocol over file descriptors 3 and 4, no
port to find or race for), opens URL in a new tab, and runs the steps in
order:

    --wait EXPR   evaluates the JavaScript expression EXPR in the page every
                  50 ms until it gives a truthy value, and prints that value
                  (a string as it is, anything else as JSON) on a line
    --run CMD     runs the shell command CMD and fails if it fails

Exit status: 0 when every step passed; 1 when a --wait timed out (after
--timeout seconds, default 20, for that step), a --run failed or the page
could not be opened; 2 for a usage error.  The page's console messages,
uncaught exceptions and failed loads go to stderr, to tell why.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def usage(msg):
    sys.stderr.write("chromium.py: %s\nusage: chromium.py [--timeout S] "
                     "[--flag=SWITCH]... URL [--wait EXPR | --run CMD]...\n" % msg)
    sys.exit(2)


def parse(argv):
    timeout, flags, url, steps = 20.0, [], None, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--flag="):
            flags.append(a[len("--flag="):])
        elif a == "--timeout" and i + 1 < len(argv):
            timeout = float(argv[i + 1])
            i += 1
        elif a in ("--wait", "--run") and i + 1 < len(argv):
            steps.append((a[2:], argv[i + 1]))
            i += 1
        elif url is None and not a.startswith("--"):
            url = a
        else:
            usage("unexpected argument '%s'" % a)
        i += 1
    if url is None:
        usage("give the URL")
    return timeout, flags, url, steps


class Browser:
    """One chromium process and the protocol over its pipe."""

    def __init__(self, flags):
        self.profile = tempfile.mkdtemp(prefix="fa-chromium.")
        to_child, self.out = os.pipe()
        self.inp, from_child = os.pipe()
        exe = shutil.which("chromium") or "chromium"
        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-extensions",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + self.profile, "--remote-debugging-pipe"]
        args += flags + ["about:blank"]

        def fds():
            # the pipe's ends become 3 and 4 before the other fds are closed
            a, b = os.dup(to_child), os.dup(from_child)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(args, pass_fds=(3, 4), preexec_fn=fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        os.close(to_child)
        os.close(from_child)
        self.next_id, self.replies, self.lock = 0, {}, threading.Condition()
        self.reader = threading.Thread(target=self.read_loop, daemon=True)
        self.reader.start()

    def read_loop(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.inp, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.lock:
                    self.replies["closed"] = True
                    self.lock.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self.take(json.loads(raw))

    def take(self, msg):
        if "id" in msg:
            with self.lock:
                self.replies[msg["id"]] = msg
                self.lock.notify_all()
        else:
            report_event(msg)

    def call(self, method, params=None, session=None, timeout=20.0):
        with self.lock:
            self.next_id += 1
            mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.out, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        with self.lock:
            while mid not in self.replies:
                if self.replies.get("closed") or time.monotonic() > end:
                    raise RuntimeError("chromium did not answer %s" % method)
                self.lock.wait(0.1)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise RuntimeError("%s: %s" % (method, reply["error"].get("message")))
        return reply.get("result", {})

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
            self.proc.wait(timeout=5)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        os.close(self.out)
        shutil.rmtree(self.profile, ignore_errors=True)


def report_event(msg):
    """What the page says: console messages, exceptions, failed loads."""
    p = msg.get("params", {})
    if msg.get("method") == "Runtime.consoleAPICalled":
        text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
        sys.stderr.write("page console.%s: %s\n" % (p.get("type"), text))
    elif msg.get("method") == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        sys.stderr.write("page exception: %s\n" %
                         d.get("exception", {}).get("description", d.get("text")))
    elif msg.get("method") == "Network.loadingFailed":
        sys.stderr.write("page load failed: %s %s\n" % (p.get("errorText"), p.get("requestId")))


def evaluate(b, session, expr):
    r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in r:
        return None
    return r.get("result", {}).get("value")


def wait(b, session, expr, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = evaluate(b, session, expr)
        if v:
            print(v if isinstance(v, str) else json.dumps(v), flush=True)
            return True
        time.sleep(0.05)
    sys.stderr.write("chromium.py: timed out after %gs waiting for: %s\n" % (timeout, expr))
    sys.stderr.write("chromium.py: the page's body: %s\n" %
                     evaluate(b, session, "document.body && document.body.innerText"))
    return False


def run(timeout, flags, url, steps):
    b = Browser(flags)
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        b.call("Runtime.enable", session=session)
        b.call("Network.enable", session=session)
        nav = b.call("Page.navigate", {"url": url}, session)
        if nav.get("errorText"):
            sys.stderr.write("chromium.py: cannot open %s: %s\n" % (url, nav["errorText"]))
            return 1
        for kind, arg in steps:
            if kind == "wait" and not wait(b, session, arg, timeout):
                return 1
            if kind == "run" and subprocess.call(arg, shell=True) != 0:
                sys.stderr.write("chromium.py: failed: %s\n" % arg)
                return 1
        return 0
    except RuntimeError as e:
        sys.stderr.write("chromium.py: %s\n" % e)
        return 1
    finally:
        b.close()


if __name__ == "__main__":
    # timeout(1) and bats stop us with SIGTERM: still close chromium (which
    # runs in a session of its own) and remove its profile
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(run(*parse(sys.argv[1:])))
