#!/usr/bin/env python3
"""rivsim side by side with EPANET (and optionally SWMM) on the same generated river tree.

For every N in --links:
  1. shared/peers/treegen.py writes the tree (tree_N.down.i32, the EPANET/SWMM inputs and tree_N.meta.json with
     the analytic plug-flow outlet value);
  2. `rivsim generate --peer-tree tree_N.down.i32` writes a rivsim scenario of exactly that tree (1000 m links,
     0.3 m/s, 0.1 m3/s at 10 mg/L per headwater, k = 0.5/day, no dispersion, 5 days, hourly output);
  3. `rivsim run --no-plots --threads T` runs under /usr/bin/time -v for every T in --threads;
  4. shared/peers/epanet_tree.py (quality step 5 min, hydraulic step 1 h, 5 days) runs under /usr/bin/time -v,
     or its cached record is reused (WORKDIR/cache/epanet_N.json; EPANET needs minutes at 100,000 links);
  5. optionally shared/peers/swmm_tree.py (kinematic wave) for the sizes in --swmm-links, cached likewise.
Then it prints markdown tables: wall and CPU seconds, solver-only seconds, speed-ups against EPANET, the outlet
concentration at the last output hour and its error against the analytic plug-flow value, and peak RSS.

What is timed (be careful when reading the speed-ups):
  * "wall" is the whole process: rivsim = parse the scenario files + hydraulics + transport + assessment + writing
    sections.csv/reaches.csv/zones.csv/monthly.csv/summary.json (reaches.csv holds every reach every hour);
    EPANET = Python start + parse the .inp + hydraulics + quality, no output files (the script samples the outlet
    hourly through the toolkit).
  * "solver" is rivsim's printed hydraulics + transport time against EPANET's t_hyd + t_qual (both without input
    parsing and output writing).
  * "CPU" is user + system seconds of the process; on a shared, loaded machine it is steadier than wall time.

The analytic value is the flow-weighted plug-flow outlet concentration of treegen.py (`analytic_design.plug`).
rivsim's section sits 10 m above the outlet, but a section beyond the last cell centre reports the last cell's
value, i.e. the concentration half a cell (50 m) upstream; the column "vs sampled-point analytic" corrects the
analytic value to that point (factor exp(k * 50 m / V), +0.096%).

Usage (from the repository root, after `cargo build --release`):
  python3 benches/peers/compare.py                              # 1000 10000 100000 links, threads 1 and 2
  python3 benches/peers/compare.py --links 1000 10000 --swmm-links 1000 10000
  python3 benches/peers/compare.py --links 100000 --epanet-background   # EPANET runs beside rivsim
Standard library only, plus the PyPI packages owa-epanet and swmm-toolkit (installed with pip if missing).
"""
import argparse
import csv
import datetime
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_PEERS = os.path.normpath(os.path.join(REPO, "..", "shared", "peers"))
if not os.path.isdir(DEFAULT_PEERS):
    DEFAULT_PEERS = "/work/shared/peers"

LAST_CELL_OFFSET_M = 50.0  # last cell centre (100 m cells) lies 50 m above the outlet node


# ---------------------------------------------------------------- helpers
def ensure_package(module, pip_name):
    """Import `module`, pip-installing `pip_name` first if it is missing (CI machines are fresh)."""
    try:
        __import__(module)
    except ImportError:
        print("installing %s ..." % pip_name, file=sys.stderr, flush=True)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", pip_name])
        __import__(module)


def parse_time_v(txt):
    """Wall, user, sys seconds, CPU% and peak RSS (MiB) from GNU time -v output."""
    def grab(pat, conv=float):
        m = re.search(pat, txt)
        return conv(m.group(1)) if m else None
    wall = None
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", txt)
    if m:
        wall = 0.0
        for part in m.group(1).split(":"):
            wall = wall * 60 + float(part)
    rss_kb = grab(r"Maximum resident set size \(kbytes\): (\d+)", int)
    return {
        "wall_s": wall,
        "user_s": grab(r"User time \(seconds\): (\S+)"),
        "sys_s": grab(r"System time \(seconds\): (\S+)"),
        "cpu_pct": grab(r"Percent of CPU this job got: (\d+)%", int),
        "maxrss_mib": rss_kb / 1024.0 if rss_kb is not None else None,
        "exit": grab(r"Exit status: (\d+)", int),
    }


def busy_cpu_s():
    """Machine-wide busy CPU seconds so far (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def run_timed(cmd, cwd=None):
    """Run cmd under /usr/bin/time -v; return (stdout, time record incl. cores used by other processes)."""
    b0 = busy_cpu_s()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, cwd=cwd)
    b1 = busy_cpu_s()
    tv = parse_time_v(p.stderr)
    if p.returncode != 0:
        raise RuntimeError("command failed (exit %d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-3000:]))
    if b0 is not None and tv["wall_s"]:
        own = (tv["user_s"] or 0.0) + (tv["sys_s"] or 0.0)
        tv["other_cores"] = max(0.0, (b1 - b0 - own) / tv["wall_s"])
    return p.stdout, tv


def result_line(stdout):
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError("no RESULT line in:\n" + stdout[-2000:])


def engine_version(engine):
    """EPANET reports its version as an integer (20305 = 2.3.5); SWMM as a dotted string."""
    v = engine.split()[1]
    if v.isdigit() and len(v) == 5:
        n = int(v)
        return "%d.%d.%d" % (n // 10000, n // 100 % 100, n % 100)
    return v


def cpu_s(tv):
    return (tv["user_s"] or 0.0) + (tv["sys_s"] or 0.0)


# ---------------------------------------------------------------- peers (cached)
def peer_record(kind, n, args, rerun):
    """Run (or load from cache) one peer engine on tree N. kind: 'epanet' or 'swmm'."""
    cache_dir = os.path.join(args.workdir, "cache")
    os.makedirs(cache_dir, exist_ok=True)
    if kind == "epanet":
        path = os.path.join(cache_dir, "epanet_%d.json" % n)
        cmd = [sys.executable, os.path.join(args.peers_dir, "epanet_tree.py"), "--links", str(n),
               "--workdir", args.workdir, "--qstep", "300"]
    else:
        path = os.path.join(cache_dir, "swmm_%d_s%g.json" % (n, args.swmm_step))
        cmd = [sys.executable, os.path.join(args.peers_dir, "swmm_tree.py"), "--links", str(n),
               "--routing", "KINWAVE", "--step", str(args.swmm_step), "--workdir", args.workdir]
    if os.path.exists(path) and not rerun:
        with open(path) as f:
            rec = json.load(f)
        rec["cached"] = True
        return rec
    print("running %s on %d links ..." % (kind, n), file=sys.stderr, flush=True)
    stdout, tv = run_timed(cmd)
    rec = {"cmd": " ".join(cmd), "time_v": tv, "result": result_line(stdout),
           "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")}
    with open(path, "w") as f:
        json.dump(rec, f, indent=1)
    rec["cached"] = False
    return rec


# ---------------------------------------------------------------- rivsim
TIMINGS = re.compile(r"(\d+) transport steps; hydraulics ([\d.]+) s, transport ([\d.]+) s, report ([\d.]+) s")
CELLS = re.compile(r"(\d+) reaches, (\d+) cells")


def rivsim_scenario(n, args):
    tree = os.path.join(args.workdir, "tree_%d.down.i32" % n)
    sdir = os.path.join(args.workdir, "rivsim_%d" % n)
    scen = os.path.join(sdir, "scenario.toml")
    if not os.path.exists(scen) or os.path.getmtime(scen) < os.path.getmtime(tree):
        if os.path.isdir(sdir):
            shutil.rmtree(sdir)
        subprocess.run([args.rivsim, "generate", "--reaches", str(n), "--peer-tree", tree, "--out", sdir],
                       check=True, capture_output=True, text=True)
    return scen


def last_row(sections_csv):
    with open(sections_csv) as f:
        rows = list(csv.reader(f))
    return rows[-1]


def rivsim_record(n, threads, scen, args):
    out = os.path.join(args.workdir, "rivsim_%d_out_t%d" % (n, threads))
    cmd = [args.rivsim, "run", scen, "--out", out, "--no-plots", "--threads", str(threads)]
    stdout, tv = run_timed(cmd)
    m = TIMINGS.search(stdout)
    c = CELLS.search(stdout)
    if not m or not c:
        raise RuntimeError("unexpected rivsim output:\n" + stdout)
    steps, t_hyd, t_tr, t_rep = int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))
    row = last_row(os.path.join(out, "sections.csv"))
    with open(os.path.join(out, "sections.csv"), "rb") as f:
        sections_bytes = f.read()
    return {
        "cmd": " ".join(cmd), "time_v": tv, "threads": threads, "links": n,
        "cells": int(c.group(2)), "steps": steps,
        "t_hyd_s": t_hyd, "t_transport_s": t_tr, "t_report_s": t_rep,
        # what the CLI does not time: process start, reading and validating the scenario files, set-up
        "t_load_other_s": max(0.0, tv["wall_s"] - t_hyd - t_tr - t_rep),
        "last_time": row[0], "c_out": float(row[2]),
        "sections_sha": hashlib.sha256(sections_bytes).hexdigest(),
        "warnings": [ln.strip() for ln in stdout.splitlines() if "warning: transport" in ln],
    }


# ---------------------------------------------------------------- tables
def fmt(x, spec="%.2f"):
    return "–" if x is None else spec % x


def err_pct(c, ref):
    return None if c is None or ref is None else 100.0 * (c / ref - 1.0)


def tables(rows, meta):
    """rows: dicts with links, engine, wall, cpu, solver, c_out, rss, epanet (the EPANET row of that N)."""
    out = []
    out.append("| links | engine | wall s | CPU s | solver s | speed-up vs EPANET: wall / solver / CPU "
               "| outlet mg/L (hour 120) | vs analytic plug | vs sampled-point analytic | max RSS MiB |")
    out.append("|---:|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        ad = meta[r["links"]]["analytic_design"]
        e = r.get("epanet")
        if r["engine"].startswith("rivsim") and e:
            sp = "%s / %s / %s" % (fmt(e["wall"] / r["wall"], "%.1f×"), fmt(e["solver"] / r["solver"], "%.1f×"),
                                   fmt(e["cpu"] / r["cpu"], "%.1f×"))
        else:
            sp = ""
        sampled = None
        if r["engine"].startswith("rivsim"):
            sampled = ad["plug"] * math.exp(0.5 / 86400.0 * LAST_CELL_OFFSET_M / 0.3)
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            f"{r['links']:,}", r["engine"], fmt(r["wall"], "%.2f"), fmt(r["cpu"], "%.2f"),
            fmt(r["solver"], "%.2f"), sp, fmt(r["c_out"], "%.5f"),
            fmt(err_pct(r["c_out"], ad["plug"]), "%+.3f%%"),
            fmt(err_pct(r["c_out"], sampled), "%+.3f%%") if sampled else "", fmt(r["rss"], "%.0f")))
    return "\n".join(out)


def rivsim_split_table(recs):
    out = ["| links | threads | cells | steps | load + set-up s | hydraulics s | transport s | report s "
           "| cell-steps/s (transport) | CPU % | other cores busy |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in recs:
        tv = r["time_v"]
        out.append("| %s | %d | %s | %d | %.2f | %.2f | %.2f | %.2f | %s | %s | %s |" % (
            f"{r['links']:,}", r["threads"], f"{r['cells']:,}", r["steps"], r["t_load_other_s"], r["t_hyd_s"],
            r["t_transport_s"], r["t_report_s"],
            "%.3g" % (r["cells"] * r["steps"] / r["t_transport_s"]) if r["t_transport_s"] > 0 else "–",
            fmt(tv.get("cpu_pct"), "%d"), fmt(tv.get("other_cores"), "%.1f")))
    return "\n".join(out)


def peer_detail_table(peers):
    out = ["| links | engine | parse s | hydraulics s | quality/routing s | wall s | CPU s | CPU % "
           "| other cores busy | outlet | own-scheme analytic | cached from |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for kind, rec in peers:
        r, tv = rec["result"], rec["time_v"]
        ad = r["analytic_design"]
        if kind == "epanet":
            parts = (r["t_open_s"], r["t_hyd_s"], r["t_qual_s"])
            own = "%.5f (Euler plug, 5 min)" % ad["euler_plug"]
            name = "EPANET %s" % engine_version(r["engine"])
        else:
            parts = (r["t_open_s"], None, r["t_run_s"])
            own = "%.5f (CSTR cascade)" % ad["cstr"]
            name = "SWMM %s kinwave %gs" % (engine_version(r["engine"]), r["routing_step_s"])
        out.append("| %s | %s | %s | %s | %s | %.2f | %.2f | %s | %s | %.5f | %s | %s |" % (
            f"{r['links']:,}", name, fmt(parts[0]), fmt(parts[1]), fmt(parts[2]), tv["wall_s"], cpu_s(tv),
            fmt(tv.get("cpu_pct"), "%d"), fmt(tv.get("other_cores"), "%.1f"), r["c_out_final"], own,
            rec.get("date_utc", "?")))
    return "\n".join(out)


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--links", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--swmm-links", type=int, nargs="*", default=[],
                    help="also run SWMM (kinematic wave) at these sizes (e.g. 1000 10000)")
    ap.add_argument("--swmm-step", type=float, default=30.0, help="SWMM routing step, s")
    ap.add_argument("--peers-dir", default=DEFAULT_PEERS, help="folder with treegen.py, epanet_tree.py, swmm_tree.py")
    ap.add_argument("--workdir", default="/tmp/peers_runs")
    ap.add_argument("--rivsim", default=None, help="rivsim binary (default: $CARGO_TARGET_DIR or target/release)")
    ap.add_argument("--build", action="store_true", help="run `cargo build --release` first")
    ap.add_argument("--rerun-peers", action="store_true", help="ignore cached EPANET/SWMM records")
    ap.add_argument("--epanet-background", action="store_true",
                    help="run the uncached EPANET sizes in a background thread while rivsim runs (faster overall, "
                         "but the two then compete for the cores)")
    ap.add_argument("--json-out", default=None, help="also write every record to this JSON file")
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.peers_dir, "treegen.py")):
        sys.exit("treegen.py not found in %s (use --peers-dir)" % args.peers_dir)
    sys.path.insert(0, args.peers_dir)
    import treegen  # noqa: E402

    ensure_package("epanet.toolkit", "owa-epanet")
    if args.swmm_links:
        ensure_package("swmm.toolkit", "swmm-toolkit")
    if args.build:
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    if args.rivsim is None:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        args.rivsim = os.path.join(target, "release", "rivsim")
    if not os.path.exists(args.rivsim):
        sys.exit("%s not found: run `cargo build --release` (or pass --build / --rivsim)" % args.rivsim)
    os.makedirs(args.workdir, exist_ok=True)

    meta = {}
    for n in sorted(set(args.links) | set(args.swmm_links)):
        treegen.ensure(n, args.workdir)
        with open(os.path.join(args.workdir, "tree_%d.meta.json" % n)) as f:
            meta[n] = json.load(f)

    epanet = {}
    bg = None
    if args.epanet_background:
        def worker():
            for n in args.links:
                epanet[n] = peer_record("epanet", n, args, args.rerun_peers)
        bg = threading.Thread(target=worker, daemon=True)
        bg.start()

    riv = []
    for n in args.links:
        scen = rivsim_scenario(n, args)
        for t in args.threads:
            print("rivsim %d links, %d thread(s) ..." % (n, t), file=sys.stderr, flush=True)
            riv.append(rivsim_record(n, t, scen, args))
    if bg is not None:
        while bg.is_alive():
            bg.join(timeout=10)
    else:
        for n in args.links:
            epanet[n] = peer_record("epanet", n, args, args.rerun_peers)
    swmm = {n: peer_record("swmm", n, args, args.rerun_peers) for n in args.swmm_links}

    rows = []
    for n in sorted(set(args.links) | set(args.swmm_links)):
        e = None
        if n in epanet:
            r, tv = epanet[n]["result"], epanet[n]["time_v"]
            e = {"links": n, "engine": "EPANET %s, WQ 5 min" % engine_version(r["engine"]), "wall": tv["wall_s"],
                 "cpu": cpu_s(tv), "solver": r["t_hyd_s"] + r["t_qual_s"], "c_out": r["c_out_final"],
                 "rss": tv["maxrss_mib"]}
            rows.append(e)
        for rr in [x for x in riv if x["links"] == n]:
            tv = rr["time_v"]
            rows.append({"links": n, "engine": "rivsim, %d thread%s" % (rr["threads"], "s" if rr["threads"] > 1 else ""),
                         "wall": tv["wall_s"], "cpu": cpu_s(tv), "solver": rr["t_hyd_s"] + rr["t_transport_s"],
                         "c_out": rr["c_out"], "rss": tv["maxrss_mib"], "epanet": e})
        if n in swmm:
            r, tv = swmm[n]["result"], swmm[n]["time_v"]
            rows.append({"links": n, "engine": "SWMM %s kinwave %gs" % (engine_version(r["engine"]), r["routing_step_s"]),
                         "wall": tv["wall_s"], "cpu": cpu_s(tv), "solver": r["t_run_s"], "c_out": r["c_out_final"],
                         "rss": tv["maxrss_mib"]})

    # the same bits from every thread count
    identical = {}
    for n in args.links:
        shas = {x["sections_sha"] for x in riv if x["links"] == n}
        identical[n] = len(shas) == 1

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print("## Peer engines (%s, %s, %d cores)\n" % (now, platform.node() or "?", os.cpu_count() or 0))
    print(tables(rows, meta))
    print("\nrivsim stage split (wall seconds as printed by `rivsim run`; load = process wall − the three):\n")
    print(rivsim_split_table(riv))
    print("\nPeer engine detail:\n")
    peers = [("epanet", epanet[n]) for n in args.links] + [("swmm", swmm[n]) for n in args.swmm_links]
    print(peer_detail_table(peers))
    print("\nrivsim sections.csv identical across thread counts: %s" %
          ", ".join("%d links: %s" % (n, "yes" if ok else "NO") for n, ok in identical.items()))
    warns = sorted({w for x in riv for w in x["warnings"]})
    for w in warns:
        print("rivsim %s" % w)
    for n in sorted(meta):
        ad = meta[n]["analytic_design"]
        print("tree %d: %d headwaters, longest path %d links (%.3f days), analytic plug %.6f mg/L" % (
            n, ad["headwaters"], meta[n]["depth_links_max"], ad["max_travel_time_days"], ad["plug"]))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"rivsim": riv, "epanet": epanet, "swmm": swmm, "meta": meta, "date": now}, f, indent=1)


if __name__ == "__main__":
    t0 = time.time()
    main()
    print("\n(compare.py took %.0f s)" % (time.time() - t0), file=sys.stderr)
