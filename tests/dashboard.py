#!/usr/bin/env python3
"""The status page in a real headless Chromium, driven by tests/dashboard.sh.

    dashboard.py CHROMIUM HTTP_PORT PRIME_PORT OUTDIR [PROXY_PORT]

Starts CHROMIUM in a process group of its own (its pid in OUTDIR/chromium.pid,
for the shell to kill the group whatever happens here) and speaks the DevTools
protocol to it over --remote-debugging-pipe (JSON messages ending in NUL on
fds 3 and 4: only the standard library). With PROXY_PORT (HAProxy spreading
requests over this server and a second one), it first loads the page through
the proxy: the page must get its data there and keep the two servers apart,
showing either one on a click (OUTDIR/proxy.png). Then it loads the page from
the server, reads what it shows (the text of its elements, never its
script's variables) and compares it with /stats read at the same moment;
sends one worker a PRIME that takes hours on its loop (--compute inline
--kernel trial) and checks the page names that worker stalled, within
STALL_BOUND seconds, while it goes on showing the other worker's rate;
kills that worker and reloads the server, and checks the page marks the
death, the respawn and the reload. Screenshots OUTDIR/before.png,
OUTDIR/stall.png and OUTDIR/events.png. Any console error,
uncaught exception or refusal by the page's Content-Security-Policy fails
the test. Exit 0 when all holds, 1 with the reason on stderr.
"""
import base64
import fcntl
import json
import os
import re
import select
import signal
import socket
import sys
import time
import urllib.request

WIDTH, HEIGHT = 1200, 1160
# The page should name a stalled worker within 3 s: its loop silent for 1 s
# (the definition), then the page's next fetch (one a second) answered by
# another worker. But each new connection lands on the stalled worker with
# a chance of 1 in 2 here, and such a fetch is given up after 0.7 s: under
# a busy CPU that tail passed 3 s in a few runs out of ten. So 5 s.
STALL_BOUND = float(os.environ.get("STALL_BOUND", "5"))
DEADLINE = 90  # seconds for everything here
# For a picture worth reading (docs/dashboard.png): this many seconds of
# history before the stall, and half as many into it.
HISTORY = float(os.environ.get("DASHBOARD_HISTORY", "0"))

# What the page shows, read from its elements' text.
READ_PAGE = r"""
(() => {
  if (!document.getElementById('rate'))
    return null;  /* not loaded yet */
  const t = id => document.getElementById(id).textContent;
  const rows = [...document.querySelectorAll('#workers-table tbody tr')];
  const a = document.getElementById('alert');
  return JSON.stringify({
    rate: t('rate'), requests: t('requests'), conns: t('conns'),
    workers: t('workers'), age: t('age'), by: t('by'), fetches: t('fetches'),
    alert: a.hidden ? '' : a.textContent,
    servers: [...document.querySelectorAll('#servers button')].map(
      b => [b.textContent, b.getAttribute('aria-pressed')]),
    events: [...document.querySelectorAll('#events li')].map(
      e => e.textContent),
    marks: [...document.querySelectorAll('#chart-rate text[fill]')].map(
      e => e.textContent),
    latency: [...document.querySelectorAll('#latency tbody tr')].map(
      r => [...r.cells].map(c => c.textContent)),
    rows: rows.map(r => ({cls: r.className,
      cells: [...r.cells].map(c => c.textContent)}))
  });
})()
"""


class Failure(Exception):
    pass


START = time.monotonic()


def log(msg):
    print("dashboard: %5.2f s: %s" % (time.monotonic() - START, msg),
          flush=True)


class Browser:
    """Chromium under the DevTools protocol, over a pipe."""

    def __init__(self, chromium, outdir):
        to_chrome = os.pipe()
        from_chrome = os.pipe()
        profile = os.path.join(outdir, "profile")
        os.makedirs(profile, exist_ok=True)
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-default-apps",
                "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                "--user-data-dir=" + profile,
                "--window-size=%d,%d" % (WIDTH, HEIGHT),
                "--remote-debugging-pipe", "about:blank"]
        logfd = os.open(os.path.join(outdir, "chromium.log"),
                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.setsid()
                # Out of the way of 3 and 4 first, then onto them.
                high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100)
                        for fd in (to_chrome[0], from_chrome[1])]
                os.dup2(high[0], 3)
                os.dup2(high[1], 4)
                os.dup2(logfd, 1)
                os.dup2(logfd, 2)
                os.closerange(5, 256)
                os.execv(chromium, args)
            finally:
                os._exit(127)
        os.close(logfd)
        os.close(to_chrome[0])
        os.close(from_chrome[1])
        self.wfd, self.rfd = to_chrome[1], from_chrome[0]
        with open(os.path.join(outdir, "chromium.pid"), "w") as f:
            f.write("%d\n" % self.pid)
        self.buf = b""
        self.next_id = 0
        self.session = None
        self.errors = []

    def send(self, method, params=None, session=True, timeout=15):
        """One command; its result (raises on an error answer)."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.wfd, data):]
        end = time.monotonic() + timeout
        while True:
            m = self.read(end - time.monotonic())
            if m is None:
                raise Failure("no answer from Chromium to " + method)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Failure("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def read(self, timeout):
        """The next message (events are noted on the way); None: timeout."""
        while b"\0" not in self.buf:
            if timeout <= 0:
                return None
            r, _, _ = select.select([self.rfd], [], [], timeout)
            if not r:
                return None
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise Failure("Chromium closed its pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        m = json.loads(raw)
        self.event(m)
        return m

    def pump(self, seconds):
        """Take the events that come for a while."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(end - time.monotonic())

    def event(self, m):
        method, p = m.get("method"), m.get("params", {})
        if method == "Runtime.consoleAPICalled" and \
                p.get("type") in ("error", "assert"):
            self.errors.append("console.%s: %s" % (p["type"], " ".join(
                str(a.get("value", a.get("description", "")))
                for a in p.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            self.errors.append("exception: %s" % d.get(
                "exception", {}).get("description", d.get("text")))
        elif method == "Log.entryAdded" and \
                p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            self.errors.append("log (%s): %s %s" % (
                e.get("source"), e.get("text"), e.get("url", "")))

    def open(self, url):
        targets = self.send("Target.getTargets", session=False)
        page = [t for t in targets["targetInfos"] if t["type"] == "page"]
        if not page:
            raise Failure("Chromium has no page")
        self.session = self.send("Target.attachToTarget", {
            "targetId": page[0]["targetId"], "flatten": True},
            session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(domain + ".enable")
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1,
            "mobile": False})
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True})
        if "exceptionDetails" in r:
            raise Failure("evaluate: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def screenshot(self, path):
        r = self.send("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (Failure, OSError):
            pass
        for _ in range(100):
            if os.waitpid(self.pid, os.WNOHANG)[0] != 0:
                break
            time.sleep(0.05)
        else:
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        # Whatever of its group is left (a renderer, the zygote).
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def get_json(port, path):
    """GET path as JSON on a new connection; retried while it times out
    (it may land on the stalled worker)."""
    for _ in range(20):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (
                    port, path), timeout=0.7) as r:
                return json.load(r)
        except (OSError, ValueError):
            continue
    raise Failure("no answer to " + path)


def page_state(b):
    v = b.evaluate(READ_PAGE)
    if v is None:
        return None
    s = json.loads(v)
    m = re.match(r"data ([0-9.]+) s old", s["age"])
    s["age_s"] = float(m.group(1)) if m else None
    return s


def row_of(state, worker):
    for r in state["rows"]:
        if r["cells"][0] == str(worker):
            return r
    return None


def wait_for(b, what, test, seconds):
    """Read the page every 100 ms until test(state) holds; the state."""
    end = time.monotonic() + seconds
    while True:
        s = page_state(b)
        if s is not None and test(s):
            return s
        if time.monotonic() > end:
            raise Failure("%s: the page shows %s" % (what, json.dumps(s)))
        b.pump(0.1)


def near(a, b, tol):
    return abs(a - b) <= tol


def compare_with_stats(b, http):
    """The page's numbers against /stats read at the same moment."""
    tries = 0
    while True:
        tries += 1
        s = page_state(b)
        t_read = time.monotonic()
        st = get_json(http, "/stats")
        t1 = time.monotonic()
        st2_wait = max(0.0, 1.0 - (time.monotonic() - t1))
        b.pump(st2_wait)
        st2 = get_json(http, "/stats")
        rate = (st2["requests"] - st["requests"]) / (time.monotonic() - t1)
        requests = int(s["requests"])
        page_rate = float(s["rate"])
        # Within 10%, or one second's count: the page's data is up to a
        # second old (its age says how old) when it is read.
        slack = max(0.1 * st["requests"], rate * (1 + s["age_s"]
                                                  + t_read - t1 + 0.1))
        problems = []
        if int(s["workers"]) != st["workers"]:
            problems.append("workers %s, /stats %d" % (s["workers"],
                                                       st["workers"]))
        if not near(requests, st["requests"], slack):
            problems.append("requests %d, /stats %d" % (requests,
                                                        st["requests"]))
        if not near(page_rate, rate, 0.1 * rate):
            problems.append("requests/s %.1f, /stats %.1f" % (page_rate,
                                                              rate))
        conns = int(s["conns"])
        if not near(conns, st["connections_open"],
                    max(2, 0.1 * st["connections_open"])):
            problems.append("connections %d, /stats %d" % (
                conns, st["connections_open"]))
        total = sum(float(r["cells"][2]) for r in s["rows"])
        if not near(total, page_rate, max(1, 0.1 * page_rate)):
            problems.append("workers' rates add to %.1f, not %.1f" % (
                total, page_rate))
        if not problems:
            log("page: %d requests, %.1f/s; /stats %d, %.1f/s (try %d)" % (
                requests, page_rate, st["requests"], rate, tries))
            return s
        log("differs (try %d): %s" % (tries, "; ".join(problems)))
        # The load's rate wobbles under a busy CPU: a few more looks.
        if tries >= 8:
            raise Failure("the page disagrees with /stats: " +
                          "; ".join(problems))
        b.pump(0.5)


def stall_one_worker(prime):
    """A connection to the prime service, its worker, and a PRIME that
    keeps that worker's loop busy for hours (inline, trial kernel)."""
    c = socket.create_connection(("127.0.0.1", prime), timeout=5)
    f = c.makefile("rwb")
    f.write(b"STATS\n")
    f.flush()
    st = json.loads(f.readline())
    f.write(b"PRIME 1000000\n")
    f.flush()
    return c, st["worker"], st["pid"]


def through_proxy(b, outdir):
    """The page through the proxy: data from both servers, kept apart."""
    s = wait_for(b, "two servers through the proxy", lambda s:
                 len(s["servers"]) == 2 and s["rate"] != "-" and
                 s["age_s"] is not None and s["age_s"] < 1.5, 20)
    log("through the proxy: %s; %s workers shown" % (
        [t for t, _ in s["servers"]], s["workers"]))
    # The other server, on a click: its own numbers (one has 2 workers,
    # the other 1).
    b.evaluate("document.querySelector('#servers button"
               "[aria-pressed=false]').click()")
    s2 = wait_for(b, "the other server shown", lambda t:
                  t["workers"] != s["workers"] and
                  [p for _, p in t["servers"]] ==
                  [("true" if p == "false" else "false")
                   for _, p in s["servers"]], 5)
    log("the other server: %s workers shown, %s" % (s2["workers"],
                                                    s2["by"]))
    b.screenshot(os.path.join(outdir, "proxy.png"))


def deaths_and_reloads(b, http, worker, pid, outdir):
    """kill -9 of the stalled worker, then a reload: each an event of the
    list and a mark on the chart's time axis."""
    master = get_json(http, "/status")["master_pid"]
    os.kill(pid, signal.SIGKILL)

    def shown(s, event, mark):
        return any(event in e for e in s["events"]) and mark in s["marks"]
    s = wait_for(b, "the death and the respawn", lambda s:
                 shown(s, "worker %d (pid %d) died" % (worker, pid),
                       "w%d died" % worker) and
                 shown(s, "worker %d respawned as pid " % worker,
                       "w%d back" % worker), 15)
    os.kill(master, signal.SIGHUP)
    s = wait_for(b, "the reload", lambda s:
                 shown(s, "reload 1 done", "reload") and
                 "STALLED" not in json.dumps(s["rows"]), 20)
    log("events: %s; marked: %s" % (s["events"], s["marks"]))
    b.screenshot(os.path.join(outdir, "events.png"))


def main():
    chromium, http, prime, outdir = sys.argv[1], int(sys.argv[2]), \
        int(sys.argv[3]), sys.argv[4]
    proxy = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    signal.alarm(DEADLINE)
    b = Browser(chromium, outdir)
    try:
        # Through the proxy first: once a worker is stalled, the page
        # itself may be sent to it, and a page never loaded has no retry.
        if proxy:
            b.open("http://127.0.0.1:%d/" % proxy)
            through_proxy(b, outdir)
            b.send("Page.navigate", {"url": "http://127.0.0.1:%d/" % http})
        else:
            b.open("http://127.0.0.1:%d/" % http)
        log("Chromium opens the page")
        # Three samples: two rates, per worker too, and the latency table.
        s = wait_for(b, "first rates", lambda s: s["rate"] != "-" and
                     len(s["rows"]) == 2 and
                     all(r["cells"][2] != "-" for r in s["rows"]) and
                     float(s["rate"]) > 0 and s["latency"], 20)
        s = compare_with_stats(b, http)
        if not any(r[0] == "prime" for r in s["latency"]):
            raise Failure("no prime latency shown: %s" % s["latency"])
        b.pump(HISTORY)
        b.screenshot(os.path.join(outdir, "before.png"))
        before = {r["cells"][0]: float(r["cells"][2]) for r in s["rows"]}

        conn, worker, pid = stall_one_worker(prime)
        t0 = time.monotonic()
        log("PRIME 1000000 sent to worker %d (pid %d)" % (worker, pid))
        other = [w for w in before if w != str(worker)][0]
        s = wait_for(b, "worker %d named stalled" % worker, lambda s:
                     "STALLED" in (row_of(s, worker) or {"cells": [""]})[
                         "cells"][-1] and
                     s["alert"].startswith("Worker %d (pid %d) is stalled"
                                           % (worker, pid)), 30)
        took = time.monotonic() - t0
        log("stalled shown after %.2f s (%s): %s" % (took, s["fetches"],
                                                     s["alert"]))
        if took > STALL_BOUND:
            raise Failure("the stall took %.2f s to show, over %.1f s" % (
                took, STALL_BOUND))
        # Fresh data again and again while the stall lasts: the other
        # worker at its rate (a busy CPU may hold a sample down: look
        # until one shows it), the stalled one at none.
        def going_on(s):
            going_on.seen, seen = s["requests"], going_on.seen
            return s["requests"] != seen and s["age_s"] is not None and \
                s["age_s"] < 1.5 and \
                "STALLED" in row_of(s, worker)["cells"][-1] and \
                float(row_of(s, worker)["cells"][2]) == 0 and \
                float(row_of(s, other)["cells"][2]) >= 0.5 * before[other]
        b.pump(HISTORY / 2)
        going_on.seen = s["requests"]
        s = wait_for(b, "worker %s at half its rate or more, worker %d at "
                     "none, while stalled" % (other, worker), going_on, 15)
        log("during the stall: worker %s %s/s (was %.1f), worker %d %s/s; "
            "%s" % (other, row_of(s, other)["cells"][2], before[other],
                    worker, row_of(s, worker)["cells"][2], s["fetches"]))
        b.screenshot(os.path.join(outdir, "stall.png"))
        deaths_and_reloads(b, http, worker, pid, outdir)
        b.pump(0.2)
        if b.errors:
            raise Failure("console errors:\n  " + "\n  ".join(b.errors))
        conn.close()
    finally:
        b.close()
    log("ok, Chromium closed")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
