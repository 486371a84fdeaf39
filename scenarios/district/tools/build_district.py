#!/usr/bin/env python3
"""How the synthetic district scenario's files were made (kept for the record; the files are the truth).

Writes ../network/nodes.csv, ../network/reaches.csv, ../ts/*.csv and ../scenario.toml from the tables below,
then runs a small steady looped check of the hydraulics (node levels; Q = K*sign(dh)*sqrt(|dh|/L),
K = A*R^(2/3)/n with conveyances frozen per Picard iteration; outfall flows lumped at each reach's downstream
node) and prints per-reach flow, depth and velocity so the design ranges (velocities of a few cm/s, depths
1.5-3.5 m, widths 8-40 m) can be checked. Pure Python, no packages. Run: python3 build_district.py [--check]
"""
import math
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
POLS = ["COD", "NH3N", "TP", "CODMn", "BOD5"]

# ---------------------------------------------------------------- nodes: id, kind, x, y
NODES = [
    ("HT", "boundary", 0, 6000),        # Hengli River enters from the upstream high-tech zone
    ("M1", "junction", 1200, 6100),     # district boundary on the Hengli River
    ("M2", "junction", 3600, 6300),     # Beigang joins
    ("M3", "junction", 6200, 6000),     # Nanyu joins; Houhe splits off
    ("M4", "junction", 8400, 5900),     # Zhongheng cross channel
    ("M5", "junction", 10800, 6100),    # Houhe rejoins; Xiaotang joins
    ("M6", "junction", 13200, 5800),    # Shatang joins
    ("M7", "junction", 15800, 5900),    # village river joins; WWTP upstream
    ("M8", "junction", 18200, 5600),    # village river joins
    ("EAST", "outlet", 20300, 5500),    # East sluice to the tidal Dapu River
    ("H1", "junction", 7300, 7000),     # Houhe (back river)
    ("H2", "junction", 9600, 7100),
    ("B0", "boundary", 3000, 10500),    # Beigang head
    ("B1", "junction", 3400, 8200),
    ("V1", "boundary", 1500, 8800),     # village river heads
    ("N0", "boundary", 5200, 1200),     # Nanyu head
    ("N1", "junction", 5800, 3600),
    ("V2", "boundary", 7500, 2500),
    ("X0", "boundary", 11800, 10000),   # Xiaotang head
    ("X1", "junction", 11200, 8300),
    ("V3", "boundary", 13500, 8800),
    ("S0", "boundary", 14500, 1000),    # Shatang head
    ("S1", "junction", 13800, 3400),
    ("V4", "boundary", 16500, 2800),
    ("K1", "junction", 9800, 3300),     # Nanheng meets Zhagang
    ("V5", "boundary", 16500, 8200),
    ("V6", "boundary", 8500, 1800),
    ("V7", "boundary", 18500, 3500),
]
# the South sluice and its channel are written inline in scenario.toml (to show CSV and inline together)
SOUTH = ("SOUTH", "outlet", 10000, 800)
LEVELS = {"EAST": 2.30, "SOUTH": 2.32}
TIDAL = {"COD": 16.0, "NH3N": 0.9, "TP": 0.16, "CODMn": 5.0, "BOD5": 3.5}

# ---------------------------------------------------------------- reaches
# id, from, to, bottom width, side slope, bed_up, bed_down, n, E, river, zone, jurisdiction, level, village
R = []


def reach(rid, a, b, w, z, bu, bd, n, e, river, zone, jur, lvl, village=False):
    R.append(dict(id=rid, frm=a, to=b, w=w, z=z, bu=bu, bd=bd, n=n, e=e, river=river, zone=zone,
                  jur=jur, lvl=lvl, village=village))


HL, HT_Z = "Hengli River", "High-tech Zone"
T = ["Meilin", "Hexiang", "Songtang", "Qianfeng", "Liyuan", "Dongbang"]
reach("HL01", "HT", "M1", 22.0, 2.0, -0.30, -0.32, 0.028, 15.0, HL, "", HT_Z, "district")
reach("HL02", "M1", "M2", 22.0, 2.0, -0.32, -0.37, 0.028, 15.0, HL, "Z-HL-UP", "Meilin", "district")
reach("HL03", "M2", "M3", 24.0, 2.0, -0.37, -0.42, 0.028, 15.0, HL, "Z-HL-UP", "Hexiang", "district")
reach("HL04", "M3", "M4", 24.0, 2.0, -0.42, -0.46, 0.028, 15.0, HL, "Z-HL-MID", "Hexiang", "district")
reach("HL05", "M4", "M5", 24.0, 2.0, -0.46, -0.51, 0.028, 15.0, HL, "Z-HL-MID", "Songtang", "district")
reach("HL06", "M5", "M6", 26.0, 2.0, -0.51, -0.56, 0.028, 18.0, HL, "Z-HL-MID", "Qianfeng", "district")
reach("HL07", "M6", "M7", 28.0, 2.0, -0.56, -0.61, 0.028, 18.0, HL, "Z-HL-LOW", "Liyuan", "district")
reach("HL08", "M7", "M8", 28.0, 2.0, -0.61, -0.66, 0.028, 20.0, HL, "Z-HL-LOW", "Dongbang", "district")
reach("HL09", "M8", "EAST", 28.0, 2.0, -0.66, -0.70, 0.028, 20.0, HL, "Z-HL-LOW", "Dongbang", "district")
reach("HH01", "M3", "H1", 12.0, 1.5, -0.10, -0.12, 0.030, 8.0, "Houhe", "Z-NORTH", "Hexiang", "town")
reach("HH02", "H1", "H2", 12.0, 1.5, -0.12, -0.16, 0.030, 8.0, "Houhe", "Z-NORTH", "Songtang", "town")
reach("HH03", "H2", "M5", 12.0, 1.5, -0.16, -0.20, 0.030, 8.0, "Houhe", "Z-NORTH", "Songtang", "town")
reach("ZH01", "H1", "M4", 10.0, 1.5, -0.10, -0.15, 0.030, 8.0, "Zhongheng Canal", "Z-NORTH", "Songtang", "town")
reach("BG01", "B0", "B1", 10.0, 1.5, 0.10, 0.00, 0.030, 10.0, "Beigang", "Z-NORTH", "Meilin", "town")
reach("BG02", "B1", "M2", 12.0, 1.5, 0.00, -0.20, 0.030, 10.0, "Beigang", "Z-NORTH", "Meilin", "town")
reach("NY01", "N0", "N1", 14.0, 1.5, 0.00, -0.10, 0.030, 10.0, "Nanyu", "Z-NANYU", "Hexiang", "town")
reach("NY02", "N1", "M3", 14.0, 1.5, -0.10, -0.25, 0.030, 10.0, "Nanyu", "Z-NANYU", "Hexiang", "town")
reach("XT01", "X0", "X1", 10.0, 1.5, 0.10, 0.00, 0.030, 10.0, "Xiaotang", "Z-NORTH", "Qianfeng", "town")
reach("XT02", "X1", "M5", 12.0, 1.5, 0.00, -0.20, 0.030, 10.0, "Xiaotang", "Z-NORTH", "Qianfeng", "town")
reach("ST01", "S0", "S1", 12.0, 1.5, 0.00, -0.10, 0.030, 10.0, "Shatang", "Z-SOUTH", "Liyuan", "town")
reach("ST02", "S1", "M6", 12.0, 1.5, -0.10, -0.30, 0.030, 10.0, "Shatang", "Z-SOUTH", "Liyuan", "town")
reach("NH01", "N1", "K1", 10.0, 1.5, -0.10, -0.05, 0.032, 8.0, "Nanheng Canal", "Z-SOUTH", "Songtang", "town")
reach("NH02", "K1", "S1", 10.0, 1.5, -0.05, -0.10, 0.032, 8.0, "Nanheng Canal", "Z-SOUTH", "Qianfeng", "town")
reach("VR01", "V1", "B1", 5.0, 1.0, 0.60, 0.40, 0.035, 5.0, "Xiwan Village River", "", "Meilin", "village", True)
reach("VR02", "V2", "N1", 5.0, 1.0, 0.60, 0.40, 0.035, 5.0, "Tangjia Village River", "", "Hexiang", "village", True)
reach("VR03", "V3", "X1", 5.0, 1.0, 0.60, 0.40, 0.035, 5.0, "Lujia Village River", "", "Qianfeng", "village", True)
reach("VR04", "V4", "S1", 6.0, 1.0, 0.60, 0.40, 0.035, 5.0, "Shenjia Village River", "", "Liyuan", "village", True)
reach("VR05", "V5", "M7", 6.0, 1.0, 0.60, 0.30, 0.035, 5.0, "Beizhuang Village River", "", "Liyuan", "village", True)
reach("VR06", "V6", "K1", 5.0, 1.0, 0.60, 0.40, 0.035, 5.0, "Zhoujia Village River", "", "Songtang", "village", True)
reach("VR07", "V7", "M8", 6.0, 1.0, 0.60, 0.30, 0.035, 5.0, "Nanzhuang Village River", "", "Dongbang", "village", True)
ZHAGANG = dict(id="ZG01", frm="K1", to="SOUTH", w=12.0, z=1.5, bu=-0.05, bd=-0.30, n=0.030, e=8.0,
               river="Zhagang", zone="Z-SOUTH", jur="Songtang", lvl="town", village=False)
VILLAGE_DECAY = {"COD": 0.12, "NH3N": 0.10, "TP": 0.02, "CODMn": 0.10, "BOD5": 0.15}

XY = {n[0]: (n[2], n[3]) for n in NODES}
XY[SOUTH[0]] = (SOUTH[2], SOUTH[3])


def length(r):
    (x0, y0), (x1, y1) = XY[r["frm"]], XY[r["to"]]
    return float(round(math.hypot(x1 - x0, y1 - y0) / 10.0) * 10.0)


for r in R + [ZHAGANG]:
    r["L"] = length(r)
LEN = {r["id"]: r["L"] for r in R + [ZHAGANG]}

# ---------------------------------------------------------------- inflows (besides the high-tech series)
HEADS = {  # node: (flow m3/s, {conc}, group)
    "B0": (0.35, {"COD": 26.0, "NH3N": 1.3, "TP": 0.26, "CODMn": 7.5, "BOD5": 5.0}, "upstream: north"),
    "N0": (0.45, {"COD": 16.0, "NH3N": 0.7, "TP": 0.15, "CODMn": 5.0, "BOD5": 3.5}, "upstream: south"),
    "X0": (0.25, {"COD": 24.0, "NH3N": 1.2, "TP": 0.22, "CODMn": 7.0, "BOD5": 4.5}, "upstream: north"),
    "S0": (0.35, {"COD": 20.0, "NH3N": 0.9, "TP": 0.20, "CODMn": 6.0, "BOD5": 4.0}, "upstream: south"),
}
FIELD = {"COD": 30.0, "NH3N": 1.5, "TP": 0.30, "CODMn": 8.0, "BOD5": 6.0}
for v, q in [("V1", 0.03), ("V2", 0.03), ("V3", 0.02), ("V4", 0.04), ("V5", 0.03), ("V6", 0.02), ("V7", 0.03)]:
    HEADS[v] = (q, FIELD, "villages: field drainage")
# high-tech zone inflow: monthly flow (m3/s) and quality (worse than class V: COD > 40, NH3-N > 2, TP > 0.4)
HT_FLOW = [1.8, 1.7, 2.0, 2.3, 2.6, 3.2, 3.6, 3.4, 2.9, 2.4, 2.1, 1.9]
HT_COD = [52, 50, 48, 46, 44, 42, 40.5, 41, 43, 45, 47, 50]
HT_NH3N = [4.6, 4.4, 4.0, 3.6, 3.3, 3.0, 2.6, 2.7, 3.0, 3.4, 3.9, 4.3]
HT_TP = [0.68, 0.66, 0.62, 0.60, 0.58, 0.56, 0.52, 0.54, 0.57, 0.60, 0.63, 0.66]
WATER_C = [7.0, 8.0, 12.0, 17.0, 22.0, 26.0, 29.5, 30.0, 26.5, 21.0, 15.0, 9.5]
THETA = {"COD": 1.047, "NH3N": 1.08, "TP": 1.02, "CODMn": 1.047, "BOD5": 1.047}
WITHDRAW = ("N1", 0.05)  # Hexiang irrigation pumping station

# ---------------------------------------------------------------- outfalls
# (reach, fraction along, kind, flow m3/s, group or None); concentrations drawn below per kind
OUT = [
    ("HL02", 0.25, "industrial", 0.012, None), ("HL02", 0.55, "sewage", 0.015, None),
    ("HL02", 0.80, "rain_dry_weather", 0.006, None), ("HL03", 0.20, "sewage", 0.020, None),
    ("HL03", 0.45, "industrial", 0.008, None), ("HL03", 0.70, "rain_dry_weather", 0.010, None),
    ("HL04", 0.30, "overflow", 0.040, "trunk sewer overflow"), ("HL04", 0.65, "sewage", 0.012, None),
    ("HL05", 0.15, "rain_dry_weather", 0.008, None), ("HL05", 0.50, "industrial", 0.020, None),
    ("HL05", 0.85, "sewage", 0.010, None), ("HL06", 0.25, "sewage", 0.018, None),
    ("HL06", 0.60, "rain_dry_weather", 0.005, None), ("HL07", 0.20, "industrial", 0.015, None),
    ("HL07", 0.50, "wwtp", 0.30, "Liyuan WWTP"), ("HL07", 0.75, "rain_dry_weather", 0.012, None),
    ("HL08", 0.30, "sewage", 0.025, None), ("HL08", 0.70, "overflow", 0.030, "trunk sewer overflow"),
    ("HL09", 0.40, "rain_dry_weather", 0.007, None), ("HL09", 0.75, "industrial", 0.006, None),
    ("HH01", 0.50, "sewage", 0.008, None), ("HH02", 0.40, "rain_dry_weather", 0.004, None),
    ("HH03", 0.60, "industrial", 0.005, None), ("ZH01", 0.50, "rain_dry_weather", 0.003, None),
    ("BG01", 0.40, "rural", 0.004, None), ("BG02", 0.50, "sewage", 0.010, None),
    ("NY01", 0.50, "rural", 0.005, None), ("NY02", 0.35, "rain_dry_weather", 0.006, None),
    ("XT01", 0.30, "sewage", 0.015, "university"), ("XT01", 0.70, "sewage", 0.012, "university"),
    ("XT02", 0.20, "sewage", 0.010, "university"), ("XT02", 0.60, "rain_dry_weather", 0.008, "university"),
    ("ST01", 0.50, "rural", 0.004, None), ("ST02", 0.40, "industrial", 0.010, None),
    ("NH01", 0.50, "rural", 0.003, None), ("NH02", 0.50, "sewage", 0.006, None),
    ("VR01", 0.40, "rural", 0.003, None), ("VR02", 0.50, "rural", 0.002, None),
    ("VR03", 0.40, "rural", 0.003, None), ("VR04", 0.60, "rural", 0.004, None),
    ("VR05", 0.50, "rural", 0.003, None), ("VR06", 0.50, "rural", 0.002, None),
    ("VR07", 0.50, "rural", 0.003, None), ("ZG01", 0.30, "rain_dry_weather", 0.004, None),
    ("HL06", 0.85, "wwtp", 0.05, "Qianfeng WWTP"),
]
RANGES = {  # COD, NH3N, TP (mg/L); CODMn and BOD5 follow COD
    "sewage": ((200, 350), (25, 40), (3.0, 5.0)),
    "industrial": ((100, 300), (5, 25), (0.5, 3.0)),
    "rain_dry_weather": ((80, 180), (8, 20), (1.0, 2.5)),
    "rural": ((150, 280), (20, 40), (2.5, 4.5)),
    "overflow": ((180, 300), (20, 35), (2.5, 4.0)),
}
WWTP = {"Liyuan WWTP": {"COD": 50.0, "NH3N": 5.0, "TP": 0.5, "CODMn": 15.0, "BOD5": 10.0},   # GB 18918 1A
        "Qianfeng WWTP": {"COD": 60.0, "NH3N": 8.0, "TP": 1.0, "CODMn": 18.0, "BOD5": 20.0}}  # GB 18918 1B


def jur_of(rid):
    for r in R + [ZHAGANG]:
        if r["id"] == rid:
            return r["jur"]
    raise KeyError(rid)


def outfalls():
    rng = random.Random(2025)
    res = []
    for k, (rid, f, kind, q, group) in enumerate(OUT):
        if kind == "wwtp":
            c = dict(WWTP[group])
        else:
            (c0, c1), (n0, n1), (p0, p1) = RANGES[kind]
            cod = round(rng.uniform(c0, c1), 1)
            c = {"COD": cod, "NH3N": round(rng.uniform(n0, n1), 1), "TP": round(rng.uniform(p0, p1), 2),
                 "CODMn": round(0.3 * cod, 1), "BOD5": round(0.45 * cod, 1)}
        if group is None:
            group = "%s %s" % (jur_of(rid), kind.replace("_", " "))
        res.append(dict(id="P%02d" % (k + 1), reach=rid, at=round(f * LEN[rid], 1), kind=kind, q=q, c=c,
                        group=group))
    return res


# ---------------------------------------------------------------- writers
def fnum(v):
    return repr(float(v))


def conc(c):
    return "{ " + ", ".join("%s = %s" % (p, fnum(c[p])) for p in POLS) + " }"


def write_csvs():
    os.makedirs(os.path.join(ROOT, "network"), exist_ok=True)
    os.makedirs(os.path.join(ROOT, "ts"), exist_ok=True)
    with open(os.path.join(ROOT, "network", "nodes.csv"), "w") as f:
        f.write("id,kind,x,y,level_m," + ",".join("concentration." + p for p in POLS) + "\n")
        for nid, kind, x, y in NODES:
            lvl = fnum(LEVELS[nid]) if nid in LEVELS else ""
            cs = [fnum(TIDAL[p]) if kind == "outlet" else "" for p in POLS]
            f.write(",".join([nid, kind, fnum(x), fnum(y), lvl] + cs) + "\n")
    with open(os.path.join(ROOT, "network", "reaches.csv"), "w") as f:
        f.write("id,from,to,length_m,section.shape,section.bottom_width_m,section.side_slope,bed_up_m,bed_down_m,"
                "manning_n,dispersion_m2s," + ",".join("decay_per_day." + p for p in POLS)
                + ",water_body,zone,jurisdiction,level,river\n")
        for r in R:
            dec = [fnum(VILLAGE_DECAY[p]) if r["village"] else "" for p in POLS]
            f.write(",".join([r["id"], r["frm"], r["to"], fnum(r["L"]), "trapezoid", fnum(r["w"]), fnum(r["z"]),
                              fnum(r["bu"]), fnum(r["bd"]), fnum(r["n"]), fnum(r["e"])] + dec
                             + ["river", r["zone"], r["jur"], r["lvl"], r["river"]]) + "\n")
    with open(os.path.join(ROOT, "ts", "hightech_flow.csv"), "w") as f:
        f.write("time,flow_m3s\n")
        for m, q in enumerate(HT_FLOW):
            f.write("2025-%02d-01T00:00:00,%s\n" % (m + 1, fnum(q)))
    with open(os.path.join(ROOT, "ts", "hightech_quality.csv"), "w") as f:
        f.write("time," + ",".join(POLS) + "\n")
        for m in range(12):
            cod = HT_COD[m]
            f.write("2025-%02d-01T00:00:00,%s\n" % (m + 1, ",".join(fnum(v) for v in [
                cod, HT_NH3N[m], HT_TP[m], round(cod / 3.5, 1), round(cod * 0.22, 1)])))
    with open(os.path.join(ROOT, "ts", "water_temperature.csv"), "w") as f:
        f.write("time,water_c\n")
        for m, t in enumerate(WATER_C):
            f.write("2025-%02d-01T00:00:00,%s\n" % (m + 1, fnum(t)))


ZONES = [  # id, target, method, parameters or None, comment
    ("Z-HL-UP", "IV", "annual_mean", None, "Hengli River, Meilin and Hexiang (district boundary to the Nanyu mouth)"),
    ("Z-HL-MID", "IV", "frequency", None, "Hengli River, Hexiang to Qianfeng (the looped middle reach)"),
    ("Z-HL-LOW", "IV", "annual_mean", None, "Hengli River, Liyuan and Dongbang, down to the East sluice"),
    ("Z-NORTH", "IV", "annual_mean", ["CODMn", "NH3N", "TP"], "Beigang, Houhe, Zhongheng Canal and Xiaotang"),
    ("Z-NANYU", "III", "frequency", ["CODMn", "NH3N", "TP"], "Nanyu: landscape river, target III"),
    ("Z-SOUTH", "III", "annual_mean", None, "Shatang, Nanheng Canal and Zhagang (to the South sluice)"),
]
SECTIONS = [  # id, reach, position (fraction or metres from the end when negative), comment
    ("SEC01", "HL01", -20.0, "cross-boundary section: high-tech zone -> Meilin (no zone)"),
    ("SEC02", "HL02", 0.9, "Meilin, Hengli River"),
    ("SEC03", "HL05", 0.9, "Songtang, Hengli River above the Houhe mouth"),
    ("SEC04", "HL06", 0.5, "Qianfeng, Hengli River"),
    ("SEC05", "HL07", 0.9, "Liyuan, Hengli River below the WWTP"),
    ("SEC06", "HL09", -100.0, "East sluice, where the Hengli River leaves the district"),
    ("SEC07", "XT02", 0.9, "Xiaotang below the university area"),
    ("SEC08", "HH02", 0.5, "Houhe, Songtang"),
    ("SEC09", "NY02", 0.8, "Nanyu above its mouth"),
    ("SEC10", "ST02", 0.8, "Shatang above its mouth"),
]


def write_toml(outs):
    L = []
    w = L.append
    w("""# =====================================================================================================
#  A district plain river network (SYNTHETIC: invented but plausible numbers; not a real place).
#  See README.md beside this file for the map, the zones and the sections.
#  Nodes and most reaches come from network/*.csv; the South sluice and its channel are written inline
#  below. Time series are in ts/. tools/build_district.py is how these files were made.
# =====================================================================================================

title = "District plain network: Hengli River and its tributaries (synthetic)"

[simulation]
start = "2025-01-01"
end = "2026-01-01"                   # one year
output_interval = "1d"
warmup = "30d"
pollutants = ["COD", "NH3N", "TP", "CODMn", "BOD5"]
mode = "dynamic"

[initial]
state = "steady"

[defaults]
manning_n = 0.03
dispersion_m2s = 10.0
decay_per_day = { COD = 0.15, NH3N = 0.15, TP = 0.03, CODMn = 0.12, BOD5 = 0.2 }   # at 20 C
cell_length_m = 100.0
water_body = "river"

# Decay rates follow the water temperature: k(T) = k20 * theta^(T - 20). Monthly mean water temperatures.
[temperature]
water_c_series = "ts/water_temperature.csv"
theta = { COD = 1.047, NH3N = 1.08, TP = 1.02, CODMn = 1.047, BOD5 = 1.047 }

[network]
nodes_csv = "network/nodes.csv"
reaches_csv = "network/reaches.csv"

# ---- the South sluice and its channel (inline, besides the CSV network) ----
""")
    w('[[nodes]]\nid = "SOUTH"\nkind = "outlet"\nx = %s\ny = %s\nlevel_m = %s   # held 2 cm above the East '
      'sluice: in the steady state tidal water enters here\nconcentration = %s   # tidal Dapu River water\n'
      % (fnum(SOUTH[2]), fnum(SOUTH[3]), fnum(LEVELS["SOUTH"]), conc(TIDAL)))
    r = ZHAGANG
    w('[[reaches]]\nid = "ZG01"\nfrom = "K1"\nto = "SOUTH"\nlength_m = %s\n'
      'section = { shape = "trapezoid", bottom_width_m = %s, side_slope = %s }\nbed_up_m = %s\nbed_down_m = %s\n'
      'manning_n = %s\ndispersion_m2s = %s\nzone = "Z-SOUTH"\njurisdiction = "Songtang"\nlevel = "town"\n'
      'river = "Zhagang"\n' % (fnum(r["L"]), fnum(r["w"]), fnum(r["z"]), fnum(r["bu"]), fnum(r["bd"]),
                                fnum(r["n"]), fnum(r["e"])))
    w("# ---- inflows ----")
    w('[[inflows]]   # the Hengli River from the upstream high-tech zone: worse than class V all year\n'
      'node = "HT"\nflow_series = "ts/hightech_flow.csv"           # monthly steps (quasi-steady periods)\n'
      'concentration_series = "ts/hightech_quality.csv"\ngroup = "upstream: high-tech zone"\n')
    for node, (q, c, g) in HEADS.items():
        w('[[inflows]]\nnode = "%s"\nflow_m3s = %s\nconcentration = %s\ngroup = "%s"\n' % (node, fnum(q), conc(c), g))
    w('[[withdrawals]]   # Hexiang irrigation pumping station\nnode = "%s"\nflow_m3s = %s\n'
      % (WITHDRAW[0], fnum(WITHDRAW[1])))
    w("# ---- outfalls: %d point discharges (flows in m3/s, concentrations in mg/L) ----" % len(outs))
    for o in outs:
        w('[[outfalls]]\nid = "%s"\nreach = "%s"\nat_m = %s\nflow_m3s = %s\nconcentration = %s\nkind = "%s"\n'
          'group = "%s"\n' % (o["id"], o["reach"], fnum(o["at"]), fnum(o["q"]), conc(o["c"]), o["kind"], o["group"]))
    w('[[outfalls]]   # a pig farm: a mass load without water\nid = "P%02d"\nreach = "VR05"\nat_m = %s\n'
      'load_kg_per_day = { COD = 12.0, NH3N = 1.8, TP = 0.25, CODMn = 3.6, BOD5 = 5.4 }\nkind = "rural"\n'
      'group = "Liyuan livestock"\n' % (len(outs) + 1, fnum(round(0.3 * LEN["VR05"], 1))))
    w('# ---- diffuse load: farmland drainage along the Shenjia village river ----\n[[line_loads]]\nid = "LL1"\n'
      'reach = "VR04"\nfrom_m = 0.0\nto_m = %s\nload_kg_per_day = { COD = 15.0, NH3N = 1.5, TP = 0.3, CODMn = 4.5, '
      'BOD5 = 6.0 }\ngroup = "farmland runoff"\n' % fnum(LEN["VR04"]))
    w("# ---- water-function zones ----")
    for zid, tgt, meth, pars, com in ZONES:
        s = '[[zones]]   # %s\nid = "%s"\ntarget = "%s"\nmethod = "%s"\n' % (com, zid, tgt, meth)
        if pars:
            s += "parameters = [%s]\n" % ", ".join('"%s"' % p for p in pars)
        if meth == "frequency":
            s += "threshold = 0.8\n"
        w(s)
    w("# ---- monitoring / assessment sections ----")
    for sid, rid, pos, com in SECTIONS:
        at = LEN[rid] + pos if pos < 0 else round(pos * LEN[rid], 1)
        w('[[sections]]   # %s\nid = "%s"\nreach = "%s"\nat_m = %s\n' % (com, sid, rid, fnum(at)))
    with open(os.path.join(ROOT, "scenario.toml"), "w") as f:
        f.write("\n".join(L))


# ---------------------------------------------------------------- steady looped check
def area_perim(w, z, y):
    y = max(y, 1e-6)
    return (w + z * y) * y, w + 2 * y * math.sqrt(1 + z * z)


def check(month):
    allr = R + [ZHAGANG]
    ids = [n[0] for n in NODES] + [SOUTH[0]]
    fixed = dict(LEVELS)
    unk = [n for n in ids if n not in fixed]
    ix = {n: i for i, n in enumerate(unk)}
    inflow = {n: 0.0 for n in ids}
    inflow["HT"] += HT_FLOW[month]
    for n, (q, _, _) in HEADS.items():
        inflow[n] += q
    inflow[WITHDRAW[0]] -= WITHDRAW[1]
    for o in outfalls():
        to = [r for r in allr if r["id"] == o["reach"]][0]["to"]
        inflow[to] += o["q"]
    h = {n: fixed.get(n, 2.4) for n in ids}
    for it in range(200):
        g = []
        for r in allr:
            ya = h[r["frm"]] - r["bu"]
            yb = h[r["to"]] - r["bd"]
            a, p = area_perim(r["w"], r["z"], 0.5 * (ya + yb))
            k = a * (a / p) ** (2 / 3) / r["n"]
            dh = abs(h[r["frm"]] - h[r["to"]])
            g.append(k / math.sqrt(r["L"] * max(dh, 1e-7)))
        n = len(unk)
        A = [[0.0] * n for _ in range(n)]
        b = [inflow[u] for u in unk]
        for r, gi in zip(allr, g):
            for s, t in ((r["frm"], r["to"]), (r["to"], r["frm"])):
                if s in ix:
                    A[ix[s]][ix[s]] += gi
                    if t in ix:
                        A[ix[s]][ix[t]] -= gi
                    else:
                        b[ix[s]] += gi * fixed[t]
        # Gauss elimination
        for c in range(n):
            piv = max(range(c, n), key=lambda i: abs(A[i][c]))
            A[c], A[piv], b[c], b[piv] = A[piv], A[c], b[piv], b[c]
            for i in range(c + 1, n):
                f = A[i][c] / A[c][c]
                if f:
                    for j in range(c, n):
                        A[i][j] -= f * A[c][j]
                    b[i] -= f * b[c]
        x = [0.0] * n
        for i in range(n - 1, -1, -1):
            x[i] = (b[i] - sum(A[i][j] * x[j] for j in range(i + 1, n))) / A[i][i]
        delta = max(abs(x[ix[u]] - h[u]) for u in unk)
        for u in unk:
            h[u] = 0.5 * h[u] + 0.5 * x[ix[u]]
        if delta < 1e-10:
            break
    rows = []
    for r in allr:
        ya = h[r["frm"]] - r["bu"]
        yb = h[r["to"]] - r["bd"]
        y = 0.5 * (ya + yb)
        a, p = area_perim(r["w"], r["z"], y)
        k = a * (a / p) ** (2 / 3) / r["n"]
        dh = h[r["frm"]] - h[r["to"]]
        q = k * math.copysign(math.sqrt(abs(dh) / r["L"]), dh)
        rows.append((r["id"], r["L"], q, min(ya, yb), max(ya, yb), q / a, r["w"] + 2 * r["z"] * y))
    return h, rows


def main():
    outs = outfalls()
    write_csvs()
    write_toml(outs)
    allr = R + [ZHAGANG]
    print("reaches %d, nodes %d, loops %d" % (len(allr), len(NODES) + 1, len(allr) - len(NODES) - 1 + 1))
    print("total length %.1f km, main river %.1f km, cells at 100 m: %d" % (
        sum(r["L"] for r in allr) / 1000, sum(r["L"] for r in R if r["river"] == HL) / 1000,
        sum(max(1, round(r["L"] / 100)) for r in allr)))
    kinds = {}
    for o in outs:
        kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
    kinds["rural (mass load)"] = 1
    print("outfalls", len(outs) + 1, kinds, "flow %.3f m3/s" % sum(o["q"] for o in outs))
    if "--check" in sys.argv:
        for month in (0, 6):
            h, rows = check(month)
            print("month %d: levels %s" % (month + 1, " ".join("%s=%.4f" % (k, v) for k, v in h.items())))
            for rid, L, q, y0, y1, v, top in rows:
                print("  %-5s L=%6.0f Q=%7.3f depth %.2f-%.2f v=%.4f top %.1f" % (rid, L, q, y0, y1, v, top))


if __name__ == "__main__":
    main()
