#!/usr/bin/env python3
"""How the tidal variant of the district was made from scenario.toml (the files are the truth).

Writes ../tidal.toml, ../network/nodes_tidal.csv and ../ts/dapu_tide.csv:

- the Dapu River outside the two sluices becomes a tide: a harmonic series at 15-minute points for 2025 (a
  level series held linearly between the points), on the district's vertical datum;
- the East and South sluice nodes become the inner sides of two gated sluices (flap gates, drained by a rule
  that reads a gauge upstream), with the tidal river as two outlet nodes DAPU_E and DAPU_S beyond them;
- a pump station beside the East sluice lifts water out when the tide shuts the sluices for long;
- hydraulics are unsteady (5-minute steps), starting from still water at 2.25 m.

The tide (estimates for the Zhenhai coast at the mouth of the Yongjiang, Ningbo; not station data):
- tide type: semidiurnal; mean range about 1.75 m (regional literature, as remembered, not checked against a
  station table); the constituent amplitudes below give a mean range of 2 x M2 = 1.80 m, springs
  2 x (M2 + S2) = 2.54 m and neaps 2 x (M2 - S2) = 1.06 m;
- mean sea level: about 0.25 m above the 1985 national height datum (East China Sea coast, 20-26 cm);
- datum: the district's levels are on a local datum 0.95 m above the 1985 datum, so that its normal inner level
  of 2.30 m is the 1.35 m normal level of Ningbo plain rivers (the Yao River's normal level); the mean tide is then
  at 1.20 m, springs reach about 2.6 m and fall to about -0.1 m;
- phases are invented (only their differences matter for a synthetic year).
Replace TIDE with a station's harmonic constants (or a measured level series) for a real place.
Run: python3 make_tidal.py
"""
import datetime
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MEAN_M = 1.20
# (name, period in hours, amplitude m, phase deg)
TIDE = [
    ("M2", 12.4206012, 0.90, 0.0),
    ("S2", 12.0, 0.37, 30.0),
    ("N2", 12.65834751, 0.15, -20.0),
    ("K1", 23.93447213, 0.30, 200.0),
    ("O1", 25.81934171, 0.20, 180.0),
    ("M4", 6.210300601, 0.06, 60.0),
]
START = datetime.datetime(2025, 1, 1)
DAYS = 366  # a day beyond the run's year
STEP_MIN = 15


def tide(t_s):
    z = MEAN_M
    for _, period_h, amp, phase in TIDE:
        z += amp * math.cos(2.0 * math.pi * t_s / (period_h * 3600.0) - math.radians(phase))
    return z


def write_tide():
    rows = ["time,level_m"]
    n = DAYS * 24 * 60 // STEP_MIN
    for k in range(n + 1):
        t = START + datetime.timedelta(minutes=STEP_MIN * k)
        rows.append("%s,%.4f" % (t.strftime("%Y-%m-%dT%H:%M"), tide(k * STEP_MIN * 60.0)))
    with open(os.path.join(ROOT, "ts", "dapu_tide.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def write_nodes():
    with open(os.path.join(ROOT, "network", "nodes.csv")) as f:
        lines = f.read().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] == "EAST":
            # the inner side of the East sluice: a junction; its level and the tidal water move to DAPU_E
            cells = [cells[0], "junction", cells[2], cells[3]] + [""] * (len(cells) - 4)
        out.append(",".join(cells))
    with open(os.path.join(ROOT, "network", "nodes_tidal.csv"), "w") as f:
        f.write("\n".join(out) + "\n")


TIDAL_WATER = 'concentration = { COD = 16.0, NH3N = 0.9, TP = 0.16, CODMn = 5.0, BOD5 = 3.5 }'

STRUCTURES = """
# ---- the tidal Dapu River beyond the sluices, the sluices and the pump station (tools/make_tidal.py) ----

[[nodes]]
id = "DAPU_E"
kind = "outlet"
x = 20700.0
y = 5450.0
level_series = "ts/dapu_tide.csv"
interpolate = "linear"
%(water)s   # tidal Dapu River water

[[nodes]]
id = "DAPU_S"
kind = "outlet"
x = 10000.0
y = 400.0
level_series = "ts/dapu_tide.csv"
interpolate = "linear"
%(water)s

[[structures]]   # East sluice: 4 bays of 4 m, a tide (flap) gate drained at ebb by the level at M8
id = "EAST_SLUICE"
kind = "sluice"
from = "EAST"
to = "DAPU_E"
sill_m = -0.80
width_m = 16.0
opening_m = 3.0
one_way = true
rule = { open_above_m = 2.30, close_below_m = 2.20, margin_m = 0.05, node = "M8" }

[[structures]]   # South sluice: 2 bays of 4 m, drained at ebb by the level at K1
id = "SOUTH_SLUICE"
kind = "sluice"
from = "SOUTH"
to = "DAPU_S"
sill_m = -0.50
width_m = 8.0
opening_m = 2.5
one_way = true
rule = { open_above_m = 2.30, close_below_m = 2.20, margin_m = 0.05, node = "K1" }

[[structures]]   # East pump station: lifts water out when the tide keeps the sluices shut and M8 rises
id = "EAST_PUMPS"
kind = "pump"
from = "EAST"
to = "DAPU_E"
capacity_m3s = 8.0
rule = { on_above_m = 2.55, off_below_m = 2.40, node = "M8" }
""" % {"water": TIDAL_WATER}


def write_toml():
    with open(os.path.join(ROOT, "scenario.toml")) as f:
        text = f.read()
    replace = [
        ('title = "District plain network: Hengli River and its tributaries (synthetic)"',
         'title = "District plain network, tidal: Hengli River and its tributaries (synthetic)"'),
        ('mode = "dynamic"\n',
         'mode = "dynamic"\nhydraulics = "unsteady"      # Saint-Venant with the tide, the sluices and the pumps\n'
         'hydraulic_step = "5min"\n'),
        ('[initial]\nstate = "steady"\n',
         '[initial]\nstate = "steady"\nlevel_m = 2.25               # still water at the start\n'),
        ('nodes_csv = "network/nodes.csv"', 'nodes_csv = "network/nodes_tidal.csv"'),
    ]
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    # the South sluice node becomes the inner side of the sluice
    start = text.index('id = "SOUTH"')
    end = text.index("[[reaches]]", start)
    south = text[start:end]
    inner = "\n".join(
        line for line in south.splitlines()
        if not line.startswith(("level_m", "concentration"))
    ).replace('kind = "outlet"', 'kind = "junction"') + "\n\n"
    text = text[:start] + inner + text[end:]
    header = ("# Generated by tools/make_tidal.py from scenario.toml: the same district with the tidal Dapu River,\n"
              "# its two sluices and a pump station. Edit scenario.toml and re-run the tool.\n")
    with open(os.path.join(ROOT, "tidal.toml"), "w") as f:
        f.write(header + text.rstrip("\n") + "\n" + STRUCTURES)


def main():
    write_tide()
    write_nodes()
    write_toml()


if __name__ == "__main__":
    main()
