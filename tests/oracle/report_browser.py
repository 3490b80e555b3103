"""Loads a run's report.html in headless chromium and checks it against the run's Parquet.

Usage: report_browser.py CHROMIUM RUN_DIR OUT_DIR

Drives chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: fds 3 and 4,
NUL-separated JSON), with the standard library only, so nothing but Debian's chromium is
needed. Checks, with the Parquet files read independently by pyarrow:
- the page loads with no console error, no uncaught exception, no log entry of level error
  and no request other than file: or data: URLs;
- the top-ranked cluster's section is present, and its rank, risk, group, account and member
  counts (data-* attributes and the visible table cells) equal clusters.parquet and
  cluster_members.parquet; the sections come in rank order, at most 25;
- the flagged counts of the summary equal the score tables.
Writes OUT_DIR/report-top.png (the first screen) and OUT_DIR/report-cluster.png (the top
cluster's section) and prints a JSON summary. Exits 1 listing every mismatch.
"""
import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

chromium, run, out = sys.argv[1], Path(sys.argv[2]).resolve(), Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
page = run / "report.html"
problems = []

# ---- the expected figures, from Parquet
clusters = pq.read_table(run / "clusters.parquet").to_pylist()
members = pq.read_table(run / "cluster_members.parquet", columns=["cluster_id"]).column("cluster_id").to_pylist()
clusters.sort(key=lambda c: (c["rank"], c["cluster_id"]))
top = clusters[0] if clusters else None
flagged = {k: int(pc.sum(pq.read_table(run / f"{k}_scores.parquet", columns=["flagged"]).column("flagged").cast("int64")).as_py() or 0)
           for k in ("group", "account")}

# ---- chromium on a pipe
r_chrome, w_ours = os.pipe()
r_ours, w_chrome = os.pipe()


def child_fds():
    # Copies above 10 first, so neither lands on 3 or 4; dup2 onto 3 and 4 makes them
    # inheritable (a plain os.dup would leave close-on-exec set).
    a, b = fcntl.fcntl(r_chrome, fcntl.F_DUPFD, 10), fcntl.fcntl(w_chrome, fcntl.F_DUPFD, 10)
    os.dup2(a, 3)
    os.dup2(b, 4)


profile = out / "chromium-profile"
log = open(out / "chromium-stderr.txt", "wb")
proc = subprocess.Popen(
    [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
     "--disable-background-networking", "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
    stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False, preexec_fn=child_fds)
os.close(r_chrome)
os.close(w_chrome)
deadline = time.monotonic() + 90
buf, next_id, events = b"", 0, []


def recv():
    global buf
    while b"\0" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([r_ours], [], [], left)[0]:
            raise SystemExit("timed out waiting for chromium (see chromium-stderr.txt)")
        chunk = os.read(r_ours, 1 << 20)
        if not chunk:
            raise SystemExit("chromium closed the pipe (see chromium-stderr.txt)")
        buf += chunk
    msg, buf = buf.split(b"\0", 1)
    return json.loads(msg)


def send(method, params=None, session=None):
    global next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(w_ours, json.dumps(msg).encode() + b"\0")
    while True:
        r = recv()
        if r.get("id") == next_id:
            if "error" in r:
                raise SystemExit(f"{method}: {r['error']}")
            return r.get("result", {})
        events.append(r)


def wait_for(method):
    for i, e in enumerate(events):
        if e.get("method") == method:
            return events.pop(i)
    while True:
        r = recv()
        if r.get("method") == method:
            return r
        events.append(r)


def screenshot(path, clip=None):
    params = {"format": "png", "captureBeyondViewport": clip is not None}
    if clip:
        params["clip"] = clip
    data = base64.b64decode(send("Page.captureScreenshot", params, session)["data"])
    path.write_bytes(data)
    return len(data)


try:
    target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        send(f"{domain}.enable", {}, session)
    send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False}, session)
    send("Page.navigate", {"url": page.as_uri()}, session)
    wait_for("Page.loadEventFired")
    dom = send("Runtime.evaluate", {"returnByValue": True, "expression": """(() => {
        const q = (s) => document.querySelector(s);
        const secs = [...document.querySelectorAll('section.cluster')];
        const first = secs[0];
        const out = {title: document.title, sections: secs.map(s => ({...s.dataset})),
                     summary: {...(q('#summary') || {dataset: {}}).dataset}, top: null};
        if (first) {
            const id = first.dataset.clusterId;
            const row = q('#cluster-row-' + id);
            const cell = (c) => row && row.querySelector('td.' + c) ? row.querySelector('td.' + c).textContent.trim() : null;
            const r = first.getBoundingClientRect();
            out.top = {id, data: {...first.dataset},
                       member_rows: first.querySelectorAll('table[id^=members-] tbody tr').length,
                       graph_nodes: first.querySelectorAll('svg.graph g.node').length,
                       timeline_rows: first.querySelectorAll('svg.timeline g[data-event]').length,
                       row: row ? {rank: cell('rank'), risk: cell('risk'), groups: cell('n-groups'), accounts: cell('n-accounts'), link: !!row.querySelector('a[href="#cluster-' + id + '"]')} : null,
                       rect: {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}};
        }
        return out;
    })()"""}, session)["result"]["value"]
    time.sleep(0.5)  # late console messages
    send("Runtime.evaluate", {"expression": "1"}, session)  # drains pending events
    shots = {"report-top.png": screenshot(out / "report-top.png")}
    if dom["top"]:
        rect = dom["top"]["rect"]
        shots["report-cluster.png"] = screenshot(out / "report-cluster.png", {**rect, "height": min(rect["height"], 4000), "scale": 1})
    try:
        send("Browser.close")
    except SystemExit:
        pass
finally:
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()

# ---- console and network
for e in events:
    m, p = e.get("method"), e.get("params", {})
    if m == "Runtime.exceptionThrown":
        problems.append(f"uncaught exception: {p['exceptionDetails'].get('text')}")
    elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
        problems.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
    elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
        problems.append(f"log {p['entry']['level']} ({p['entry'].get('source')}): {p['entry'].get('text')}")
    elif m == "Network.requestWillBeSent":
        url = p["request"]["url"]
        if not (url.startswith("file:") or url.startswith("data:")):
            problems.append(f"network request to {url}")

# ---- the page against the Parquet
if top is None:
    problems.append("clusters.parquet has no rows: nothing to compare")
elif dom["top"] is None:
    problems.append("no cluster section on the page")
else:
    t, cid = dom["top"], top["cluster_id"]
    n_members = sum(1 for c in members if c == cid)
    if t["id"] != str(cid):
        problems.append(f"first section is cluster {t['id']}, clusters.parquet ranks {cid} first")
    d = t["data"]
    expect = {"rank": top["rank"], "nGroups": top["n_groups"], "nAccounts": top["n_accounts"], "members": n_members,
              "hashMatches": top["hash_matches"], "childSafetyReports": top["child_safety_reports"]}
    for k, v in expect.items():
        if d.get(k) != str(v):
            problems.append(f"section data-{k} = {d.get(k)!r}, Parquet says {v}")
    if float(d.get("risk", "nan")) != top["risk_score"]:
        problems.append(f"section data-risk = {d.get('risk')!r}, clusters.parquet risk_score = {top['risk_score']!r}")
    if t["member_rows"] != min(100, n_members):
        problems.append(f"member table has {t['member_rows']} rows, cluster has {n_members} members")
    row = t["row"]
    if row is None:
        problems.append("no row for the top cluster in the ranked table")
    else:
        want = {"rank": str(top["rank"]), "risk": f"{top['risk_score']:.3f}", "groups": f"{top['n_groups']:,}", "accounts": f"{top['n_accounts']:,}"}
        for k, v in want.items():
            if row[k] != v:
                problems.append(f"ranked table {k} cell {row[k]!r}, expected {v!r}")
        if not row["link"]:
            problems.append("ranked table row does not link to the section")
    if t["graph_nodes"] != min(200, n_members):
        problems.append(f"graph has {t['graph_nodes']} nodes, expected {min(200, n_members)}")
ranks = [int(s["rank"]) for s in dom["sections"]]
expected_ranks = [c["rank"] for c in clusters[:25]]
if ranks != expected_ranks:
    problems.append(f"sections in rank order {ranks}, expected {expected_ranks}")
for k in ("group", "account"):
    got = dom["summary"].get(f"{k}sFlagged")
    if got != str(flagged[k]):
        problems.append(f"summary says {got} {k}s flagged, {k}_scores.parquet has {flagged[k]}")
for name, size in shots.items():
    data = (out / name).read_bytes()
    if size == 0 or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        problems.append(f"{name} is not a PNG")

print(json.dumps({"problems": problems, "screenshots": shots, "top": dom["top"], "sections": len(dom["sections"]), "title": dom["title"]}, indent=1))
sys.exit(1 if problems else 0)
