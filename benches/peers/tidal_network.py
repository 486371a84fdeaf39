#!/usr/bin/env python3
"""rivsim's unsteady hydraulics beside SWMM 5 dynamic wave on one small tidal looped network with a gated sluice
and a weir (issue 13, verification item 8).

THE NETWORK (levels in metres above mean sea level; beds fall 1 cm per km, i.e. bed slope 1e-5; Manning
n = 0.03; trapezoids with 2:1 banks; depths 2-3 m):

    UP --R_UP 1.5 km--> W1 ==WEIR==> W2 --R_W 1.5 km--> A ==R_MAIN 3 km (20 m)==> B --R_SEA 2 km--> SEA (tide)
    (6 m3/s)                                              \\==R_SIDE 3.5 km (12 m)=//
    P2 --R_POL 2.5 km--> P1 ==SLUICE==> B
    (1 m3/s)

- SEA: the outlet, a semi-diurnal tide Z = A·sin(2πt/T), A = 0.8 m, T = 12.42 h (M2), as a level series
  sampled every 5 minutes (linear in between, in both engines).
- UP: 6 m³/s enters a 1.5 km pool (bed −2.0 m) held by a transverse weir (crest 0.3 m, width 12 m) into the
  tidal river: free at low water, drowned (Villemonte) around high water.
- A–B: a loop of two parallel channels, 3 km (bottom 20 m) and 3.5 km (bottom 12 m).
- P2–P1: a polder channel fed by 1 m³/s, drained into B through a gated sluice (sill −2.5 m, width 4 m, gate
  opening 0.8 m when open) that a schedule opens for 5 hours around every low water and shuts otherwise.
- Still water at 0.0 m everywhere at the start; 4 days; the first 2 days are spin-up and not compared.

DISCRETISATION. SWMM has one cross-section and one momentum equation per conduit, its storage in the nodes;
each reach is therefore cut into conduits of at most --dx metres (default 250 m) joined by junctions on the bed
line, and rivsim uses cells of the same length (cell_length_m = --dx). Same sections (SWMM TRAPEZOIDAL, max
depth 6 m, far above any level), same n, same lengths, same beds (junction inverts on the bed line, conduit
offsets at the bed, so no drops), no losses. Junction max depths 8 m (never surcharged).

STRUCTURE LAWS AND THE COEFFICIENT MAPPING (rivsim: DESIGN.md §9 and src/hydraulics/unsteady/structure.rs;
SWMM: link.c of SWMM 5.2 and the SWMM Reference Manual Vol. II, ch. 7):
- Weir. rivsim: Q = C·B·√(2g)·h_u^1.5 · (1 − (h_d/h_u)^1.5)^0.385 (h over the crest; Villemonte for
  h_d > 0), C = 0.385. SWMM TRANSVERSE weir in SI units: Q = Cw·L·h^1.5 with the same Villemonte factor
  (exponent 1.5, power 0.385) when the downstream level is above the crest. So Cw = C·√(2g) = 0.385 × 4.42945
  = 1.70534 m^½/s, L = B, no end contractions (Cw·(L − 0.1·n·h)), no flap gate, a weir opening 2.0 m high
  (never reached, so SWMM's surcharged-weir orifice law never applies). The laws are then identical except
  for |Δh| < 1 cm, where rivsim's is linear in Δh (structure::LINEAR_BAND_M) and SWMM's is not.
- Sluice (gated orifice). rivsim, gate opening e below the upstream level (h_u ≥ 1.25·e): free
  (h_d ≤ e) Q = μ·B·e·√(2g(h_u − e/2)); drowned (h_d ≥ 1.1·e) Q = μ·B·e·√(2g(h_u − h_d)); linear blend in
  between. SWMM SIDE orifice, RECT_CLOSED of height e_full and width B, setting s: opening e = s·e_full,
  area a = B·e, Q = Cd·a·√(2g·H) with H = h1 − (crest + e/2) while the downstream level is below the
  opening's mid-height and H = h1 − h2 above it. So Cd = μ = 0.6, e_full = 0.8 m, width B. The two laws
  agree for a drowned gate (h_d ≥ 1.1·e) and for a free jet below mid-opening (h_d ≤ e/2); they differ for
  e/2 < h_d < 1.1·e (SWMM switches to the drowned law at mid-opening, rivsim at the gate's lip with a 10%
  blend) and when the upstream level is below 1.25·e above the sill (rivsim's weir/orifice blend; SWMM's
  own weir law below the lip, whose coefficient is Cd/√2 = 0.424 instead of 0.385). This network keeps the
  gate drowned on both sides whenever it is open (sill at the bed, 2.5 m below mean sea level, e = 0.8 m,
  lowest level about −1.0 m, so h_d ≥ 1.5 m ≥ 1.1·e), where both engines apply Q = 0.6·B·e·√(2gΔh). SWMM's
  gate is moved by time rules (ORIFICE SETTING 1 / 0, no opening rate), rivsim's by a schedule of opening_m
  (0.8 / 0) with the same switch times, multiples of 5 minutes.
- SWMM gives every orifice and weir an "equivalent length" of max(200 m, 2·Δt·√(g·D)) whose surface
  (B × 200 m) it adds to the end nodes' storage; rivsim's structures hold no water. That is 2400 m² at the
  weir and 800 m² at the sluice, a few per cent of the adjoining channels' surface (e.g. R_UP: about 30,000
  m²). It is reported, not compensated.

RUNNING: see README.md ("Unsteady: tidal looped network"). The script writes both models into --workdir, runs
SWMM (swmm-toolkit) and `rivsim hydraulics`, prints the comparison table (Markdown) and writes JSON.
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swmm_dw as sw  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
G = 9.80665          # SWMM's gravity is 32.2 ft/s² = 9.8146 m/s²; rivsim's √(2g) constant is for 9.81
M2_S = 12.42 * 3600.0
TIDE_AMP_M = 0.8
DAY = 86400.0

# nodes: id -> (bed m, kind)
NODES = {
    "UP": (-1.985, "boundary"), "W1": (-2.0, "junction"), "W2": (-2.935, "junction"),
    "A": (-2.95, "junction"), "B": (-2.98, "junction"), "SEA": (-3.0, "outlet"),
    "P2": (-2.475, "boundary"), "P1": (-2.5, "junction"),
}
# reaches: id, from, to, length m, bottom width m, side slope
REACHES = [
    ("R_UP", "UP", "W1", 1500.0, 15.0, 2.0),
    ("R_W", "W2", "A", 1500.0, 20.0, 2.0),
    ("R_MAIN", "A", "B", 3000.0, 20.0, 2.0),
    ("R_SIDE", "A", "B", 3500.0, 12.0, 2.0),
    ("R_SEA", "B", "SEA", 2000.0, 25.0, 2.0),
    ("R_POL", "P2", "P1", 2500.0, 15.0, 2.0),
]
INFLOWS = {"UP": 6.0, "P2": 1.0}
WEIR = {"id": "WEIR", "from": "W1", "to": "W2", "crest_m": 0.3, "width_m": 12.0, "C": 0.385, "height_m": 2.0}
SLUICE = {"id": "SLUICE", "from": "P1", "to": "B", "sill_m": -2.5, "width_m": 4.0, "opening_m": 0.8,
          "mu": 0.6, "open_before_low_h": 2.5, "open_after_low_h": 1.0}
MANNING_N = 0.03
INITIAL_LEVEL_M = 0.0


def tide(t_s):
    return TIDE_AMP_M * math.sin(2.0 * math.pi * t_s / M2_S)


def gate_schedule(end_s):
    """(t_s, opening m) switch points: open from 2.5 h before each low water (t = 3T/4 + kT) to 1 h after it,
    while the river is below the polder, switch times rounded to 5 minutes."""
    pts = [(0.0, 0.0)]
    k = 0
    while True:
        low = (0.75 + k) * M2_S
        t_open = round((low - 3600.0 * SLUICE["open_before_low_h"]) / 300.0) * 300.0
        t_shut = round((low + 3600.0 * SLUICE["open_after_low_h"]) / 300.0) * 300.0
        if t_open >= end_s:
            break
        pts.append((t_open, SLUICE["opening_m"]))
        pts.append((t_shut, 0.0))
        k += 1
    return pts


def pieces(length_m, dx_m):
    return max(1, int(math.ceil(length_m / dx_m - 1e-9)))


def write_swmm(path, a):
    end_s = a.days * DAY
    lines = [sw.options_block(end_s, a.swmm_step, a.output_s, variable_step=a.swmm_variable,
                              head_tol=a.swmm_head_tol, max_trials=a.swmm_trials)]
    junctions, conduits, xsects = [], [], []
    for nid, (bed, kind) in NODES.items():
        if kind != "outlet":
            junctions.append((nid, bed))
    for rid, fr, to, length, b, z in REACHES:
        n = pieces(length, a.dx)
        b0, b1 = NODES[fr][0], NODES[to][0]
        names = [fr] + ["%s_%d" % (rid, k) for k in range(1, n)] + [to]
        beds = [b0 + (b1 - b0) * k / n for k in range(n + 1)]
        for k in range(1, n):
            junctions.append((names[k], beds[k]))
        for k in range(n):
            cid = "%s.%d" % (rid, k + 1)
            conduits.append("%s %s %s %.3f %.4f %.6f %.6f 0 0" % (cid, names[k], names[k + 1], length / n, MANNING_N,
                                                                   beds[k], beds[k + 1]))
            xsects.append("%s TRAPEZOIDAL 6.0 %.3f %.3f %.3f 1" % (cid, b, z, z))
    lines.append("[JUNCTIONS]\n;Name Elev MaxDepth InitDepth SurDepth Aponded\n")
    for nid, bed in junctions:
        lines.append("%s %.6f 8.0 %.6f 0 0\n" % (nid, bed, max(0.0, INITIAL_LEVEL_M - bed)))
    lines.append("\n[OUTFALLS]\n;Name Elev Type Series Gated\nSEA %.6f TIMESERIES TIDE NO\n\n" % NODES["SEA"][0])
    lines.append("[CONDUITS]\n;Name From To Length Roughness InOffset OutOffset InitFlow MaxFlow\n")
    lines.append("\n".join(conduits) + "\n\n")
    s, w = SLUICE, WEIR
    lines.append("[ORIFICES]\n;Name From To Type Offset Qcoeff Gated CloseTime\n")
    lines.append("%s %s %s SIDE %.6f %.6f NO 0\n\n" % (s["id"], s["from"], s["to"], s["sill_m"], s["mu"]))
    lines.append("[WEIRS]\n;Name From To Type CrestHt Qcoeff Gated EndCon EndCoeff Surcharge\n")
    cw = w["C"] * math.sqrt(2.0 * 9.81)
    lines.append("%s %s %s TRANSVERSE %.6f %.6f NO 0 0 NO\n\n" % (w["id"], w["from"], w["to"], w["crest_m"], cw))
    lines.append("[XSECTIONS]\n;Link Shape Geom1 Geom2 Geom3 Geom4 Barrels\n")
    lines.append("\n".join(xsects) + "\n")
    lines.append("%s RECT_CLOSED %.6f %.6f 0 0\n" % (s["id"], s["opening_m"], s["width_m"]))
    lines.append("%s RECT_OPEN %.6f %.6f 0 0\n\n" % (w["id"], w["height_m"], w["width_m"]))
    lines.append("[INFLOWS]\n;Node Constituent TimeSeries Type Mfactor Sfactor Baseline Pattern\n")
    for nid, q in INFLOWS.items():
        lines.append('%s FLOW "" FLOW 1.0 1.0 %.6f\n' % (nid, q))
    lines.append("\n[CONTROLS]\n")
    lines.append("RULE GATE_SHUT\nIF SIMULATION TIME >= 0\nTHEN ORIFICE %s SETTING = 0\nPRIORITY 1\n\n" % s["id"])
    sched = gate_schedule(end_s)
    k = 0
    for (t0, e0), (t1, _) in zip(sched, sched[1:] + [(end_s + 3600.0, 0.0)]):
        if e0 > 0.0:
            k += 1
            lines.append("RULE GATE_OPEN_%d\nIF SIMULATION TIME >= %.6f\nAND SIMULATION TIME < %.6f\n"
                         "THEN ORIFICE %s SETTING = 1\nPRIORITY 5\n\n" % (k, t0 / 3600.0, t1 / 3600.0, s["id"]))
    lines.append("[TIMESERIES]\n;Name Date Time Value\n")
    n_tide = int(end_s / 300.0) + 1
    lines.append(sw.timeseries_block("TIDE", [(300.0 * k, tide(300.0 * k)) for k in range(n_tide)]))
    lines.append("\n[REPORT]\nINPUT NO\nCONTROLS NO\nNODES ALL\nLINKS ALL\n")
    with open(path, "w") as f:
        f.write("[TITLE]\ntidal looped network with a sluice and a weir (rivsim benches/peers)\n\n")
        f.write("".join(lines))


def write_rivsim(folder, a):
    end_s = a.days * DAY
    os.makedirs(os.path.join(folder, "ts"), exist_ok=True)
    t0 = sw.START
    with open(os.path.join(folder, "ts", "tide.csv"), "w") as f:
        f.write("time,level_m\n")
        for k in range(int(end_s / 300.0) + 1):
            f.write("%s,%.6f\n" % ((t0 + sw.dt.timedelta(seconds=300 * k)).strftime("%Y-%m-%d %H:%M:%S"),
                                   tide(300.0 * k)))
    with open(os.path.join(folder, "ts", "gate.csv"), "w") as f:
        f.write("time,opening_m\n")
        for t, e in gate_schedule(end_s):
            f.write("%s,%g\n" % ((t0 + sw.dt.timedelta(seconds=t)).strftime("%Y-%m-%d %H:%M:%S"), e))
    end = (t0 + sw.dt.timedelta(seconds=end_s)).strftime("%Y-%m-%d %H:%M:%S")
    out = ["title = \"Tidal looped network with a sluice and a weir (SWMM comparison)\"\n\n[simulation]\n",
           "start = \"2020-01-01\"\nend = \"%s\"\noutput_interval = \"%dmin\"\nmode = \"dynamic\"\npollutants = []\n" % (end, a.output_s // 60),
           "hydraulics = \"unsteady\"\nhydraulic_step = \"%gs\"\ntheta = %g\n\n" % (a.step, a.theta),
           "[initial]\nlevel_m = %g\n\n" % INITIAL_LEVEL_M,
           "[defaults]\nmanning_n = %g\ncell_length_m = %g\ndispersion_m2s = 0.0\n\n" % (MANNING_N, a.dx)]
    for nid, (bed, kind) in NODES.items():
        out.append("[[nodes]]\nid = \"%s\"\nkind = \"%s\"\nbed_m = %g\n" % (nid, kind, bed))
        if kind == "outlet":
            out.append("level_series = \"ts/tide.csv\"\ninterpolate = \"linear\"\n")
        out.append("\n")
    for rid, fr, to, length, b, z in REACHES:
        out.append("[[reaches]]\nid = \"%s\"\nfrom = \"%s\"\nto = \"%s\"\nlength_m = %g\n" % (rid, fr, to, length))
        out.append("section = { shape = \"trapezoid\", bottom_width_m = %g, side_slope = %g }\n" % (b, z))
        out.append("bed_up_m = %g\nbed_down_m = %g\n\n" % (NODES[fr][0], NODES[to][0]))
    for nid, q in INFLOWS.items():
        out.append("[[inflows]]\nnode = \"%s\"\nflow_m3s = %g\n\n" % (nid, q))
    s, w = SLUICE, WEIR
    out.append("[[structures]]\nid = \"%s\"\nkind = \"sluice\"\nfrom = \"%s\"\nto = \"%s\"\nsill_m = %g\n"
               "width_m = %g\nopening_m = %g\ndischarge_coefficient = %g\nschedule = \"ts/gate.csv\"\n\n"
               % (s["id"], s["from"], s["to"], s["sill_m"], s["width_m"], s["opening_m"], s["mu"]))
    out.append("[[structures]]\nid = \"%s\"\nkind = \"weir\"\nfrom = \"%s\"\nto = \"%s\"\nsill_m = %g\n"
               "width_m = %g\ndischarge_coefficient = %g\n" % (w["id"], w["from"], w["to"], w["crest_m"],
                                                                w["width_m"], w["C"]))
    with open(os.path.join(folder, "scenario.toml"), "w") as f:
        f.write("".join(out))
    return os.path.join(folder, "scenario.toml")


def swmm_reach_flows(res, a):
    """Length-weighted mean of each reach's conduit flows (rivsim reports reach means of its cells)."""
    flows = {}
    for rid, _, _, length, _, _ in REACHES:
        n = pieces(length, a.dx)
        series = [res["links"]["%s.%d" % (rid, k + 1)] for k in range(n)]
        flows[rid] = [sum(col) / n for col in zip(*series)]
    flows[SLUICE["id"]] = res["links"][SLUICE["id"]]
    flows[WEIR["id"]] = res["links"][WEIR["id"]]
    return flows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/peers_runs/tidal")
    ap.add_argument("--rivsim", help="rivsim binary (default: $CARGO_TARGET_DIR or target/, release)")
    ap.add_argument("--days", type=float, default=4.0)
    ap.add_argument("--spinup-days", type=float, default=2.0)
    ap.add_argument("--dx", type=float, default=250.0, help="SWMM conduit and rivsim cell length, m")
    ap.add_argument("--step", type=float, default=300.0, help="rivsim hydraulic step, s")
    ap.add_argument("--theta", type=float, default=0.65)
    ap.add_argument("--output-s", type=int, default=900, help="output / report interval, s")
    ap.add_argument("--swmm-step", type=float, default=5.0, help="SWMM routing step, s")
    ap.add_argument("--swmm-variable", type=float, default=0.0, help="SWMM VARIABLE_STEP (0: fixed step)")
    ap.add_argument("--swmm-head-tol", type=float, default=0.0005, help="SWMM HEAD_TOLERANCE, m")
    ap.add_argument("--swmm-trials", type=int, default=20, help="SWMM MAX_TRIALS")
    ap.add_argument("--reuse-swmm", action="store_true", help="reuse SWMM's results of an earlier run of the same input")
    ap.add_argument("--tag", default="", help="suffix of the run folder")
    ap.add_argument("--json-out")
    a = ap.parse_args()

    os.makedirs(a.workdir, exist_ok=True)
    tag = "dx%g_s%g%s" % (a.dx, a.swmm_step, a.tag)
    inp = os.path.join(a.workdir, "swmm_%s.inp" % tag)
    write_swmm(inp, a)
    scen = write_rivsim(os.path.join(a.workdir, "rivsim_dx%g" % a.dx), a)
    rout = os.path.join(a.workdir, "rivsim_out_dx%g_t%g_th%g" % (a.dx, a.step, a.theta))

    riv = sw.run_rivsim_hydraulics(sw.rivsim_binary(a.rivsim, REPO), scen, rout)

    names = list(NODES)
    links = ["%s.%d" % (r[0], k + 1) for r in REACHES for k in range(pieces(r[3], a.dx))] + [SLUICE["id"], WEIR["id"]]
    res = sw.run_swmm(inp, names, links, reuse=a.reuse_swmm)
    times = res["times_s"]
    t_from = a.spinup_days * DAY

    r_lvl = sw.read_rivsim_csv(os.path.join(rout, "nodes.csv"), "node", "level_m")
    r_q = sw.read_rivsim_csv(os.path.join(rout, "reaches.csv"), "reach", "flow_m3s")
    r_q.update(sw.read_rivsim_csv(os.path.join(rout, "structures.csv"), "structure", "flow_m3s"))
    s_q = swmm_reach_flows(res, a)

    rows = []
    for n in names:
        c = sw.compare(n, times, sw.at_times(r_lvl[n], times), res["nodes"][n], t_from)
        rows.append(("level", n, c))
    for rid in [r[0] for r in REACHES] + [SLUICE["id"], WEIR["id"]]:
        c = sw.compare(rid, times, sw.at_times(r_q[rid], times), s_q[rid], t_from)
        rows.append(("flow", rid, c))

    print("SWMM: routing step %g s (variable %g), %.2f s wall, report %s; rivsim: %s" % (
        a.swmm_step, a.swmm_variable, res["wall_s"], res["report"], riv.get("stdout")))
    peak_net = max(max(c["peak_a"], c["peak_b"]) for k, _, c in rows if k == "flow")
    print("| quantity | item | max abs(rivsim − SWMM) | RMS | mean | peak abs rivsim / SWMM | max diff / own peak |"
          " max diff / network peak | n |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, item, c in rows:
        peak = max(c["peak_a"], c["peak_b"])
        rel = rel_net = ""
        if kind == "flow":
            rel = "%.2f%%" % (100.0 * c["max_abs"] / peak if peak > 0 else 0.0)
            rel_net = "%.2f%%" % (100.0 * c["max_abs"] / peak_net)
        unit = "m" if kind == "level" else "m³/s"
        print("| %s | %s | %.4f %s | %.4f | %+.4f | %.3f / %.3f | %s | %s | %d |" % (
            kind, item, c["max_abs"], unit, c["rms"], c["mean"], c["peak_a"], c["peak_b"], rel, rel_net, c["n"]))
    out = {"args": vars(a), "swmm": {"wall_s": res["wall_s"], "report": res["report"]}, "rivsim": riv,
           "rows": [{"quantity": k, "item": i, **c} for k, i, c in rows],
           "series": {"times_s": times,
                      "swmm_levels": res["nodes"], "swmm_flows": s_q,
                      "rivsim_levels": {n: sw.at_times(r_lvl[n], times) for n in names},
                      "rivsim_flows": {k: sw.at_times(v, times) for k, v in r_q.items()}}}
    sw.dump(a.json_out or os.path.join(a.workdir, "compare_%s.json" % tag), out)


if __name__ == "__main__":
    main()
