"""Helpers shared by tidal_network.py and tidal_tree.py: SWMM 5 dynamic-wave input, runs and results, rivsim's
unsteady outputs, and the comparison statistics.

SWMM is driven through PyPI `swmm-toolkit` (`pip install swmm-toolkit`); nothing of SWMM is in this repository.
All SWMM files are written in SI units (FLOW_UNITS CMS: metres, m³/s).

SWMM options chosen for a like-for-like dynamic-wave run (SWMM 5.2 User's Manual, [OPTIONS]):
- INERTIAL_DAMPING NONE: full local and convective inertia (the default PARTIAL drops them as the Froude
  number rises; rivsim keeps both);
- NORMAL_FLOW_LIMITED FROUDE: flow is capped at normal flow only where Fr ≥ 1 (never here). The default BOTH
  also caps it when the water-surface slope is below the bed slope, which a tide reverses for hours;
- LENGTHENING_STEP 0: no artificial lengthening of short conduits;
- SKIP_STEADY_STATE NO: every routing step is computed;
- fixed routing step (VARIABLE_STEP 0) unless a variable step is asked for; MAX_TRIALS / HEAD_TOLERANCE as
  given (HEAD_TOLERANCE is in metres in SI);
- no entry/exit/average losses, no seepage, no evaporation (there is no [LOSSES] section).
"""
import csv
import datetime as dt
import json
import math
import os
import re
import subprocess
import time

START = dt.datetime(2020, 1, 1)


def hms(seconds):
    s = int(round(seconds))
    return "%d:%02d:%02d" % (s // 3600, (s % 3600) // 60, s % 60)


def swmm_date(seconds):
    t = START + dt.timedelta(seconds=seconds)
    return t.strftime("%m/%d/%Y"), t.strftime("%H:%M:%S")


def options_block(end_s, routing_step_s, report_step_s, variable_step=0.0, head_tol=0.0005, max_trials=20,
                  min_surfarea=1.167, threads=1):
    d_end, t_end = swmm_date(end_s)
    return (
        "[OPTIONS]\n"
        "FLOW_UNITS CMS\nINFILTRATION HORTON\nFLOW_ROUTING DYNWAVE\nLINK_OFFSETS ELEVATION\nMIN_SLOPE 0\n"
        "ALLOW_PONDING NO\nSKIP_STEADY_STATE NO\n"
        "START_DATE 01/01/2020\nSTART_TIME 00:00:00\nREPORT_START_DATE 01/01/2020\nREPORT_START_TIME 00:00:00\n"
        "END_DATE %s\nEND_TIME %s\n"
        "SWEEP_START 01/01\nSWEEP_END 12/31\nDRY_DAYS 0\nREPORT_STEP %s\nWET_STEP 00:05:00\nDRY_STEP 01:00:00\n"
        "ROUTING_STEP %g\nRULE_STEP 00:00:00\n"
        "INERTIAL_DAMPING NONE\nNORMAL_FLOW_LIMITED FROUDE\nFORCE_MAIN_EQUATION H-W\n"
        "VARIABLE_STEP %g\nLENGTHENING_STEP 0\nMIN_SURFAREA %g\nMAX_TRIALS %d\nHEAD_TOLERANCE %g\n"
        "SYS_FLOW_TOL 5\nLAT_FLOW_TOL 5\nMINIMUM_STEP 0.5\nTHREADS %d\nSURCHARGE_METHOD EXTRAN\n\n"
        % (d_end, t_end, hms(report_step_s), routing_step_s, variable_step, min_surfarea, max_trials, head_tol,
           threads)
    )


def timeseries_block(name, points):
    """A SWMM [TIMESERIES] entry (linear interpolation between points) from (seconds, value) pairs."""
    lines = []
    for t, v in points:
        d, h = swmm_date(t)
        lines.append("%s %s %s %.6f" % (name, d, h, v))
    return "\n".join(lines) + "\n"


def run_swmm(inp, want_nodes, want_links, reuse=False):
    """Run SWMM on `inp` (writing .rpt and .out beside it) and read the series of the named nodes (head, m)
    and links (flow, m³/s) at the report times from the binary output. Returns a dict, also kept beside the
    input as .results.json; with `reuse`, that file is read instead when it exists (SWMM runs take minutes)."""
    cache = inp[:-4] + ".results.json"
    if reuse and os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    res = _run_swmm(inp, want_nodes, want_links)
    dump(cache, res)
    return res


def _run_swmm(inp, want_nodes, want_links):
    from swmm.toolkit import output, shared_enum as se, solver

    rpt, out = inp[:-4] + ".rpt", inp[:-4] + ".out"
    t0 = time.perf_counter()
    solver.swmm_open(inp, rpt, out)
    solver.swmm_start(1)
    while solver.swmm_stride(86400) > 0:
        pass
    solver.swmm_end()
    solver.swmm_report()
    solver.swmm_close()
    wall = time.perf_counter() - t0
    h = output.init()
    output.open(h, out)
    n_periods = output.get_times(h, se.Time.NUM_PERIODS)
    step = output.get_times(h, se.Time.REPORT_STEP)
    sizes = output.get_proj_size(h)   # subcatchments, nodes, links, pollutants
    node_idx = {output.get_elem_name(h, se.ElementType.NODE, i): i for i in range(sizes[1])}
    link_idx = {output.get_elem_name(h, se.ElementType.LINK, i): i for i in range(sizes[2])}
    times = [step * (k + 1) for k in range(n_periods)]   # SWMM reports from the first report step on
    nodes = {n: list(output.get_node_series(h, node_idx[n], se.NodeAttribute.HYDRAULIC_HEAD, 0, n_periods - 1))
             for n in want_nodes}
    links = {l: list(output.get_link_series(h, link_idx[l], se.LinkAttribute.FLOW_RATE, 0, n_periods - 1))
             for l in want_links}
    output.close(h)
    return {"times_s": times, "nodes": nodes, "links": links, "wall_s": wall, "report": read_report(rpt)}


def read_report(rpt):
    """Continuity errors and routing-step statistics from a SWMM report file."""
    txt = open(rpt, errors="replace").read()
    res = {}
    m = re.search(r"Flow Routing Continuity.*?Continuity Error \(%\) \.+\s+(-?[\d.]+)", txt, re.S)
    if m:
        res["flow_continuity_error_pct"] = float(m.group(1))
    for key, pat in [("min_step_s", r"Minimum Time Step\s+:\s+([\d.]+)"),
                     ("avg_step_s", r"Average Time Step\s+:\s+([\d.]+)"),
                     ("max_step_s", r"Maximum Time Step\s+:\s+([\d.]+)"),
                     ("pct_steady", r"Percent in Steady State\s+:\s+([\d.]+)"),
                     ("avg_iterations", r"Average Iterations per Step\s+:\s+([\d.]+)"),
                     ("pct_not_converging", r"Percent Not Converging\s+:\s+([\d.]+)")]:
        m = re.search(pat, txt)
        if m:
            res[key] = float(m.group(1))
    m = re.search(r"Highest Flow Instability Indexes\s*\*+\s*(.*?)\n\s*\n", txt, re.S)
    if m:
        res["flow_instability"] = " ".join(m.group(1).split())
    errs = re.findall(r"ERROR \d+:.*", txt)
    if errs:
        res["errors"] = errs
    warns = re.findall(r"WARNING \d+:.*", txt)
    if warns:
        res["warnings"] = warns[:5]
    return res


def parse_time(value, start=START):
    """rivsim writes times as date-times; a bare number is read as seconds since the start."""
    try:
        return float(value)
    except ValueError:
        v = value.replace("T", " ")
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            try:
                return (dt.datetime.strptime(v, fmt) - start).total_seconds()
            except ValueError:
                pass
        raise


def read_rivsim_csv(path, key, value, start=START, only=None):
    """{item: [(t_s, value)]} from one of rivsim's long CSV files (time,<key>,...)."""
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            k = row[key]
            if only is not None and k not in only:
                continue
            out.setdefault(k, []).append((parse_time(row["time"], start), float(row[value])))
    return out


def at_times(series, times, tol=1.0):
    """The values of a [(t, v)] series at the given times (each must be present within `tol` s)."""
    d = {round(t / tol): v for t, v in series}
    return [d.get(round(t / tol)) for t in times]


def compare(name, t, a, b, t_from):
    """Max and RMS of a − b over t ≥ t_from, and the peak |a|, |b| there."""
    pairs = [(x, y) for tt, x, y in zip(t, a, b) if tt >= t_from and x is not None and y is not None]
    if not pairs:
        raise SystemExit("no common times for %s" % name)
    d = [x - y for x, y in pairs]
    return {
        "max_abs": max(abs(v) for v in d),
        "rms": math.sqrt(sum(v * v for v in d) / len(d)),
        "mean": sum(d) / len(d),
        "peak_a": max(abs(x) for x, _ in pairs),
        "peak_b": max(abs(y) for _, y in pairs),
        "n": len(pairs),
    }


def rivsim_binary(args_rivsim, repo):
    if args_rivsim:
        return args_rivsim
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target"))
    return os.path.join(target, "release", "rivsim")


def run_rivsim_hydraulics(binary, scenario, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.perf_counter()
    p = subprocess.run([binary, "hydraulics", scenario, "--out", out_dir], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit("rivsim hydraulics failed (%d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
    return {"wall_s": wall, "stdout": p.stdout.strip()}


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
