#!/usr/bin/env python3
"""rivsim's unsteady hydraulics against SWMM 5 dynamic wave on the peers' 10,000-link tree with a tidal outlet
(issue 13, "Performance": at least 50× faster at the accuracy of tidal_network.py, SWMM at the step its
stability needs).

THE PROBLEM. `shared/peers/treegen.py --links N` (seed 12345): a random binary tree of N links of 1000 m,
0.1 m³/s entering at every headwater, each link a wide rectangle (width 20 × its normal depth, Manning n = 0.03)
whose bed slope makes normal depth carry the link's flow at 0.3 m/s, bed offsets at the junctions so that the
water surfaces meet (a headwater link 0.13 m deep ends up to 9 m above the bed of the 9.1 m deep outlet link).
Here the outlet, instead of a normal-depth outfall, is a semi-diurnal tide above the outlet link's
normal-depth level y0: Z(t) = y0 + L + A + A·sin(2πt/T), A = 0.75 m, T = 12.42 h, low water L = 0.75 m above y0
(--low-water-m), sampled every 5 minutes (linear between samples in both engines). 5 days, hourly output.

Why above y0: with a tide around y0 (--low-water-m -0.75), low water falls 0.75 m below the normal-depth level;
the levels of junctions on the lower main stem then drop below the downstream beds of shallow tributaries
perched on them (0.1–0.3 m below at N30, N67, N91), i.e. those tributaries end in a free overfall, which SWMM
treats as a free outfall (critical or normal depth at the conduit end) and rivsim's unsteady solver, which ties
every reach end to its node's level, cannot represent (README.md, "Peer tree with a tide").

- SWMM 5.2 (swmm-toolkit): treegen's own .inp (one conduit per link, RECT_OPEN, junction initial depths at
  normal depth, conduit initial flows at the design flows), switched to DYNWAVE with the options of
  swmm_dw.py (full inertia, normal-flow limit only for Fr ≥ 1, no lengthening), the outfall N0 made a
  TIMESERIES outfall on the tide, the pollutant removed (hydraulics only), results kept for the compared nodes
  and links only.
- rivsim: `rivsim generate --peer-tree tree_N.down.i32` (the same tree, sections, beds, offsets and inflows;
  100 m cells), the outlet given the tide as `level_series`, `hydraulics = "unsteady"` with its default 5-minute
  step and θ = 0.65, starting from the steady solution. `rivsim hydraulics` writes every node and reach at
  every hour.

Compared: the flow of the outlet link and of links up the main stem, and the levels of the nodes at their
upstream ends, hourly after a 1-day spin-up (both engines start near the steady state; SWMM's start is treegen's
normal depths, rivsim's its steady solution).

Timing (whole processes, several runs, the machine shared with other work): see README.md.
"""
import argparse
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swmm_dw as sw  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
M2_S = 12.42 * 3600.0
DAY = 86400.0


def peers_dir(a):
    return a.peers_dir or os.path.join(REPO, "..", "shared", "peers")


def tree(a):
    sys.path.insert(0, peers_dir(a))
    import treegen
    base = treegen.ensure(a.links, a.workdir)
    down_link, is_leaf, meta = treegen.load_tree(a.links, a.workdir)
    y0 = treegen.swmm_geom(treegen.Q0 * (meta["headwaters"]))[0]
    return base, down_link, is_leaf, y0


def tide_points(y0, amp, end_s, mean_m):
    return [(300.0 * k, y0 + mean_m + amp * math.sin(2.0 * math.pi * 300.0 * k / M2_S))
            for k in range(int(end_s / 300.0) + 1)]


def tide_mean(a):
    """The tide's mean above y0: low water --low-water-m above y0, plus A."""
    return a.low_water_m + a.amp


def main_stem(down_link, is_leaf, depths):
    """Links up the main stem (at each junction the branch with more headwaters) at the given depths from the
    outlet (0 = the outlet link), and one headwater link of the stem's end."""
    n = len(down_link)
    nhw = [0] * n
    for j in range(n - 1, -1, -1):
        if is_leaf[j + 1]:
            nhw[j] += 1
        if down_link[j] >= 0:
            nhw[down_link[j]] += nhw[j]
    children = {}
    for j in range(n):
        children.setdefault(down_link[j], []).append(j)
    stem = [0]
    while stem[-1] in children:
        stem.append(max(children[stem[-1]], key=lambda c: nhw[c]))
    return [stem[d] for d in depths if d < len(stem)] + [stem[-1]]


def deepen(txt, z_top):
    """Raise treegen's junction depths (4 × normal depth) and conduit heights (3 × normal depth) to at least
    `z_top` (1 m above high water): the tide backs water up far above the normal depths of the lower tree's
    small tributaries, and SWMM would otherwise flood those junctions and lose the water (ALLOW_PONDING NO)."""
    sec = lambda name: re.search(r"\[%s\]\n;[^\n]*\n(.*?)\n\n" % name, txt, re.S)
    elev = {}
    lines = []
    for ln in sec("JUNCTIONS").group(1).splitlines():
        f = ln.split()
        elev[f[0]] = float(f[1])
        f[2] = "%.4f" % max(float(f[2]), z_top - float(f[1]))
        lines.append(" ".join(f))
    txt = txt.replace(sec("JUNCTIONS").group(1), "\n".join(lines))
    elev["N0"] = 0.0
    low = {}
    for ln in sec("CONDUITS").group(1).splitlines():
        f = ln.split()
        low[f[0]] = min(elev[f[1]] + float(f[5]), elev[f[2]] + float(f[6]))
    lines = []
    for ln in sec("XSECTIONS").group(1).splitlines():
        f = ln.split()
        f[2] = "%.6f" % max(float(f[2]), z_top - low[f[0]])
        lines.append(" ".join(f))
    return txt.replace(sec("XSECTIONS").group(1), "\n".join(lines))


def write_swmm(base, a, y0, links, nodes):
    end_s = a.days * DAY
    txt = open(base + ".swmm.inp").read()
    opts = sw.options_block(end_s, a.swmm_step, 3600, variable_step=a.swmm_variable, head_tol=a.swmm_head_tol,
                            max_trials=a.swmm_trials)
    txt = re.sub(r"\[OPTIONS\].*?\n\n", opts, txt, flags=re.S)
    txt = txt.replace("LINK_OFFSETS ELEVATION", "LINK_OFFSETS DEPTH")
    txt = re.sub(r"^N0 0 NORMAL NO$", "N0 0 TIMESERIES TIDE NO", txt, flags=re.M)
    txt = re.sub(r"\[POLLUTANTS\].*?\n\n", "", txt, flags=re.S)
    txt = re.sub(r"^N\d+ P1 .*\n", "", txt, flags=re.M)
    txt = re.sub(r"\[REPORT\].*", "", txt, flags=re.S)
    txt = deepen(txt, y0 + tide_mean(a) + a.amp + 1.0)
    txt += "\n[TIMESERIES]\n;Name Date Time Value\n" + sw.timeseries_block("TIDE", tide_points(y0, a.amp, end_s, tide_mean(a)))
    txt += "\n[REPORT]\nINPUT NO\nCONTROLS NO\nSUBCATCHMENTS NONE\nNODES %s\nLINKS %s\n" % (
        " ".join(nodes), " ".join(links))
    inp = os.path.join(a.workdir, "tree_%d.dynwave.s%g.v%g.inp" % (a.links, a.swmm_step, a.swmm_variable))
    with open(inp, "w") as f:
        f.write(txt)
    return inp


def write_rivsim(base, a, y0, binary):
    folder = os.path.join(a.workdir, "rivsim_tidal_%d" % a.links)
    subprocess.run([binary, "generate", "--peer-tree", base + ".down.i32", "--out", folder], check=True,
                   capture_output=True)
    start = sw.dt.datetime(2025, 1, 1)
    os.makedirs(os.path.join(folder, "ts"), exist_ok=True)
    with open(os.path.join(folder, "ts", "tide.csv"), "w") as f:
        f.write("time,level_m\n")
        for t, z in tide_points(y0, a.amp, a.days * DAY, tide_mean(a)):
            f.write("%s,%.6f\n" % ((start + sw.dt.timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M:%S"), z))
    nodes = os.path.join(folder, "network", "nodes.csv")
    rows = open(nodes).read().splitlines()
    out = [rows[0] + ",level_series,interpolate"]
    for r in rows[1:]:
        if r.startswith("N0,"):
            held = float(r.split(",")[4])
            if abs(held - y0) > 1e-6:
                raise SystemExit("rivsim's outlet level %g differs from treegen's normal depth %g" % (held, y0))
            out.append(",".join(r.split(",")[:4]) + ",,ts/tide.csv,linear")
        else:
            out.append(r + ",,")
    with open(nodes, "w") as f:
        f.write("\n".join(out) + "\n")
    scen = os.path.join(folder, "scenario.toml")
    txt = open(scen).read()
    txt = txt.replace('mode = "dynamic"\n', 'mode = "dynamic"\nhydraulics = "unsteady"\nhydraulic_step = "%gs"\n'
                      'theta = %g\n' % (a.step, a.theta), 1)
    with open(scen, "w") as f:
        f.write(txt)
    return scen, start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--links", type=int, default=10000)
    ap.add_argument("--workdir", default="/tmp/peers_runs")
    ap.add_argument("--peers-dir", help="shared/peers (default: ../shared/peers next to the repository)")
    ap.add_argument("--rivsim", help="rivsim binary (default: $CARGO_TARGET_DIR or target/, release)")
    ap.add_argument("--days", type=float, default=5.0)
    ap.add_argument("--spinup-days", type=float, default=1.0)
    ap.add_argument("--amp", type=float, default=0.75, help="tidal amplitude, m")
    ap.add_argument("--low-water-m", type=float, default=0.75,
                    help="low water above the outlet link's normal-depth level y0, m (−A: a tide around y0)")
    ap.add_argument("--step", type=float, default=300.0, help="rivsim hydraulic step, s")
    ap.add_argument("--theta", type=float, default=0.65)
    ap.add_argument("--swmm-step", type=float, default=10.0, help="SWMM routing step, s")
    ap.add_argument("--swmm-variable", type=float, default=0.0, help="SWMM VARIABLE_STEP (0: fixed step)")
    ap.add_argument("--swmm-head-tol", type=float, default=0.0005)
    ap.add_argument("--swmm-trials", type=int, default=20)
    ap.add_argument("--write-only", action="store_true", help="write both models, run nothing (for timing)")
    ap.add_argument("--reuse-swmm", action="store_true", help="reuse SWMM's results of an earlier run of the same input")
    ap.add_argument("--skip-rivsim", action="store_true", help="reuse rivsim's outputs of an earlier run")
    ap.add_argument("--json-out")
    a = ap.parse_args()

    binary = sw.rivsim_binary(a.rivsim, REPO)
    base, down_link, is_leaf, y0 = tree(a)
    stem = main_stem(down_link, is_leaf, [0, 1, 3, 6, 10, 15])
    links = ["L%d" % j for j in stem]
    nodes = ["N0"] + ["N%d" % (j + 1) for j in stem]
    inp = write_swmm(base, a, y0, links, nodes)
    scen, start = write_rivsim(base, a, y0, binary)
    rout = os.path.join(a.workdir, "rivsim_tidal_%d_out_s%g" % (a.links, a.step))
    print("SWMM input %s\nrivsim scenario %s\nrivsim output %s" % (inp, scen, rout))
    if a.write_only:
        return

    if a.skip_rivsim:
        riv = {"wall_s": float("nan"), "stdout": "(outputs of an earlier run)"}
    else:
        riv = sw.run_rivsim_hydraulics(binary, scen, rout)
    print("rivsim: %.2f s wall; %s" % (riv["wall_s"], riv["stdout"]))
    res = sw.run_swmm(inp, nodes, links, reuse=a.reuse_swmm)
    print("SWMM: %.2f s wall; %s" % (res["wall_s"], res["report"]))

    times = res["times_s"]
    r_lvl = sw.read_rivsim_csv(os.path.join(rout, "nodes.csv"), "node", "level_m", start, set(nodes))
    r_q = sw.read_rivsim_csv(os.path.join(rout, "reaches.csv"), "reach", "flow_m3s", start, set(links))
    rows = []
    for n in nodes:
        rows.append(("level", n, sw.compare(n, times, sw.at_times(r_lvl[n], times), res["nodes"][n],
                                            a.spinup_days * DAY)))
    for l in links:
        rows.append(("flow", l, sw.compare(l, times, sw.at_times(r_q[l], times), res["links"][l],
                                           a.spinup_days * DAY)))
    peak_net = max(c["peak_b"] for k, _, c in rows if k == "flow")
    print("| quantity | item | max abs(rivsim − SWMM) | RMS | mean | peak abs rivsim / SWMM | max diff / own peak |"
          " max diff / outlet peak |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for kind, item, c in rows:
        peak = max(c["peak_a"], c["peak_b"])
        rel = rel_net = ""
        if kind == "flow":
            rel = "%.2f%%" % (100.0 * c["max_abs"] / peak)
            rel_net = "%.2f%%" % (100.0 * c["max_abs"] / peak_net)
        print("| %s | %s | %.4f | %.4f | %+.4f | %.3f / %.3f | %s | %s |" % (
            kind, item, c["max_abs"], c["rms"], c["mean"], c["peak_a"], c["peak_b"], rel, rel_net))
    sw.dump(a.json_out or os.path.join(a.workdir, "tidal_tree_%d_s%g.json" % (a.links, a.swmm_step)),
            {"args": vars(a), "swmm": {"wall_s": res["wall_s"], "report": res["report"], "inp": inp},
             "rivsim": riv, "rows": [{"quantity": k, "item": i, **c} for k, i, c in rows],
             "series": {"times_s": times, "swmm_levels": res["nodes"], "swmm_flows": res["links"],
                        "rivsim_levels": {n: sw.at_times(r_lvl[n], times) for n in nodes},
                        "rivsim_flows": {l: sw.at_times(r_q[l], times) for l in links}}})


if __name__ == "__main__":
    main()
