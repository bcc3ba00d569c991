#!/usr/bin/env python3
"""The learner's dashboard in a real browser (docs/monitoring.md).

Starts a short CartPole `proxima train` run (2 actors; the local cluster
turns the dashboard on, on 127.0.0.1), waits until the learner has trained
and both actors are connected, then loads the page in headless Chromium
(Debian's `chromium`) twice:
  * --dump-dom after a few seconds of the page's own polling: the page must
    have read /api/status and /api/metrics (its <body> counters), filled the
    actor table (>= 1 row, each actor named), drawn its charts, shown no
    "cannot read the learner" banner and recorded no error; Chromium's log
    must hold no console message (the page writes none of its own);
  * --screenshot: a PNG of the page (to a temporary file, or to --screenshot
    PATH, e.g. docs/images/dashboard.png).
`proxima train` must also have printed the dashboard's URL. Then a
`proxima-learner` with bearer tokens: the page opened as /#token=TOKEN (a
monitor token) reads its data, and opened without shows the learner's 401.

Exit status 0: pass; 1: fail; 77: skipped because chromium is not installed
(ctest SKIP_RETURN_CODE) -- except with CI=true, where that is a failure.
Uses only the standard library (Debian's /usr/bin/python3).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-background-networking",
                  "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def fail(msg):
    print("dashboard_browser_test: FAIL: " + msg, flush=True)
    sys.exit(1)


def chromium(args, timeout=40):
    return subprocess.run([shutil.which("chromium")] + CHROMIUM_FLAGS + args,
                          capture_output=True, text=True, timeout=timeout)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def wait_for_training(run_dir, deadline, train):
    """The dashboard's address once the learner has updated and 2 actors are up."""
    addr_file = os.path.join(run_dir, "dashboard.addr")
    address, last = None, None
    while time.time() < deadline:
        if train.poll() is not None:
            fail("proxima train exited early with %s" % train.returncode)
        if address is None and os.path.exists(addr_file):
            address = open(addr_file).read().strip() or None
        if address is not None:
            try:
                last = get_json("http://%s/api/status" % address)
                if int(last["updates"]) >= 3 and last["actors_connected"] >= 2:
                    return address, last
            except OSError:
                pass
        time.sleep(0.3)
    fail("no trained learner with 2 actors in time; last status: %s" % last)


def check_dom(dom, status):
    body = re.search(r"<body([^>]*)>", dom)
    if not body:
        fail("no <body> in the dumped DOM")
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    if int(attrs.get("status-polls", "0")) < 1:
        fail("the page never read /api/status: %s" % attrs)
    if int(attrs.get("updates", "0")) < 1:
        fail("the page read no update from /api/metrics: %s" % attrs)
    if attrs.get("errors") != "0":
        errors = re.search(r'<pre id="errors">(.*?)</pre>', dom, re.S)
        fail("the page recorded errors: %s" % (errors.group(1) if errors else attrs))
    table = re.search(r'<table id="actors">.*?<tbody>(.*?)</tbody>', dom, re.S)
    if not table:
        fail("no actor table")
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    if len(rows) < 1:
        fail("the actor table has no row")
    names = {a["name"] for a in status["actors"]}
    shown = {re.sub(r"<.*?>", "", r.split("</td>")[0]) for r in rows}
    if not shown <= names or not shown:
        fail("actor rows %s are not the learner's actors %s" % (shown, names))
    if 'id="banner" style="display: block' in dom:
        fail("the page shows its 'cannot read the learner' banner")
    if dom.count("<polyline") < 3:
        fail("fewer than 3 chart lines drawn")
    return attrs, len(rows)


def stop(process):
    """SIGINT (`proxima train` then stops its learner and actors in order),
    SIGKILL to the process group after 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def check_token_fragment(bin_dir, tmp):
    """A learner with bearer tokens: the page opened as /#token=MONITOR_TOKEN
    reads its data; opened without, it shows the 401 in its banner."""
    run_dir = os.path.join(tmp, "token-run")
    env = dict(os.environ, PROXIMA_AUTH_TOKENS="monitor:dash-monitor-token,actor:dash-actor-token")
    learner = subprocess.Popen(
        [os.path.join(bin_dir, "proxima-learner"), "--env", "CartPole-v1", "--listen",
         "127.0.0.1:0", "--dashboard-listen", "127.0.0.1:0", "--run-dir", run_dir, "--quiet",
         "--checkpoint-every-seconds", "0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        addr_file = os.path.join(run_dir, "learner.addr")  # written after dashboard.addr
        deadline = time.time() + 30
        while not os.path.exists(addr_file):
            if learner.poll() is not None or time.time() > deadline:
                fail("the learner with tokens did not start")
            time.sleep(0.2)
        url = "http://%s/" % open(os.path.join(run_dir, "dashboard.addr")).read().strip()
        ok = chromium(["--virtual-time-budget=2000", "--dump-dom", url + "#token=dash-monitor-token"])
        body = re.search(r"<body([^>]*)>", ok.stdout)
        if not body or 'data-status-polls="0"' in body.group(1) or 'data-errors="0"' not in body.group(1):
            fail("with #token= the page did not read the learner: %s" % (body and body.group(1)))
        refused = chromium(["--virtual-time-budget=2000", "--dump-dom", url])
        if 'data-status-polls="0"' not in refused.stdout or "HTTP 401" not in refused.stdout:
            fail("without a token the page should show the learner's 401")
    finally:
        stop(learner)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="the build's bin/ (proxima, proxima-learner, ...)")
    ap.add_argument("--screenshot", help="where to write the PNG [a temporary file]")
    args = ap.parse_args()
    if shutil.which("chromium") is None:
        if os.environ.get("CI") == "true":
            fail("chromium is not installed (deploy/install-deps.sh installs it); CI=true, "
                 "cannot skip")
        print("dashboard_browser_test: SKIP: chromium is not installed "
              "(apt-get install chromium, or deploy/install-deps.sh)")
        return 77
    proxima = os.path.join(args.bin, "proxima")
    if not os.access(proxima, os.X_OK):
        fail("no %s (build the proxima, proxima-learner and proxima-actor targets)" % proxima)
    started = time.time()
    tmp = tempfile.mkdtemp(prefix="dashboard_browser_")
    run_dir = os.path.join(tmp, "run")
    log_path = os.path.join(tmp, "train.log")
    with open(log_path, "w") as log:
        train = subprocess.Popen(
            [proxima, "train", "--env", "CartPole-v1", "--actors", "2",
             "--total-steps", "10000000", "--run-dir", run_dir, "--checkpoint-every-seconds", "0"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        address, status = wait_for_training(run_dir, time.time() + 40, train)
        ready = time.time() - started
        url = "http://%s/" % address
        printed = open(log_path).read()
        if "dashboard at " + url not in printed:
            fail("proxima train did not print the dashboard URL %s:\n%s" % (url, printed[-2000:]))
        # 4 s of virtual time: the page polls every 1.5 s.
        dump = chromium(["--virtual-time-budget=4000", "--dump-dom", url])
        if dump.returncode != 0:
            fail("chromium --dump-dom exited %d: %s" % (dump.returncode, dump.stderr[-2000:]))
        console = [l for l in dump.stderr.splitlines() if ":CONSOLE" in l]
        if console:
            fail("console messages:\n" + "\n".join(console))
        attrs, rows = check_dom(dump.stdout, get_json(url + "api/status"))
        shot = args.screenshot or os.path.join(tmp, "dashboard.png")
        taken = chromium(["--virtual-time-budget=4000", "--window-size=1400,1040",
                          "--screenshot=" + os.path.abspath(shot), url])
        if taken.returncode != 0 or not os.path.exists(shot):
            fail("chromium --screenshot failed: %s" % taken.stderr[-2000:])
        with open(shot, "rb") as f:
            png = f.read()
        if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 20000:
            fail("the screenshot is not a plausible PNG (%d bytes)" % len(png))
        stop(train)  # before the next learner: two would share this machine's cores
        browsed = time.time() - started
        check_token_fragment(args.bin, tmp)
        print("dashboard_browser_test: PASS: %s polls=%s updates=%s actor rows=%d, screenshot "
              "%s (%d bytes); cluster ready after %.1f s, page checked after %.1f s, tokens checked "
              "after %.1f s" % (url, attrs["status-polls"], attrs["updates"], rows, shot, len(png),
                                ready, browsed, time.time() - started), flush=True)
        return 0
    finally:
        stop(train)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
