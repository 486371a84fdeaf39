//! Unsteady hydraulics through the scenario file and the command line: the keys of DESIGN.md §9 and their
//! validation, `rivsim hydraulics` and its files, a polder drained by a rule-operated sluice (verification
//! item 7) and the volume balance of a tidal year with gates and pumps (item 6), recomputed from the files.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::f64::consts::PI;
use std::path::Path;
use support::{assert_exit_ok, rivsim};

const M2_S: f64 = 44_714.16;
const S2_S: f64 = 43_200.0;

/// A tide CSV at 15-minute points: `mean + a2·sin(ω_M2 t) + s2·sin(ω_S2 t)` over `days`.
fn write_tide(path: &Path, days: f64, mean: f64, a2: f64, s2: f64) {
    let mut s = String::from("time,level_m\n");
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let n = (days * 96.0) as i64;
    for k in 0..=n {
        let t = k as f64 * 900.0;
        let z = mean + a2 * (2.0 * PI * t / M2_S).sin() + s2 * (2.0 * PI * t / S2_S).sin();
        let when = start + chrono::Duration::seconds(k * 900);
        s.push_str(&format!("{},{z}\n", when.format("%Y-%m-%dT%H:%M:%S")));
    }
    std::fs::write(path, s).unwrap();
}

/// Rows of a CSV file as maps from column name to text.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?}", row[key]))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every problem of the unsteady keys and `[[structures]]` is reported at once, naming the item and field,
/// with exit code 2: θ out of range, a hydraulic step of 0, an unknown node, a structure between a node and
/// itself, a drainage rule whose `close_below_m` is above its `open_above_m`, a pump without capacity, a
/// schedule without its column, a rule on a weir, a schedule and a rule together, a pump rule on a sluice.
#[test]
fn unsteady_keys_and_structures_are_checked_all_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gate.csv"),
        "time,flow_m3s\n2025-01-01T00:00:00,1.0\n",
    )
    .unwrap();
    let text = r#"
[simulation]
start = "2025-01-01"
end = "2025-01-02"
output_interval = "1h"
pollutants = []
hydraulics = "unsteady"
hydraulic_step = "0s"
theta = 0.4

[[nodes]]
id = "A"
kind = "boundary"

[[nodes]]
id = "B"
kind = "outlet"
level_m = 1.0

[[reaches]]
id = "R1"
from = "A"
to = "B"
length_m = 1000.0
section = { shape = "rectangle", width_m = 10.0 }
manning_n = 0.03

[[inflows]]
node = "A"
flow_m3s = 1.0

[[structures]]
id = "S1"
kind = "sluice"
from = "A"
to = "NOWHERE"
sill_m = 0.0
width_m = 5.0

[[structures]]
id = "S2"
kind = "sluice"
from = "A"
to = "A"
sill_m = 0.0
width_m = 5.0

[[structures]]
id = "S3"
kind = "sluice"
from = "A"
to = "B"
sill_m = 0.0
width_m = 5.0
rule = { open_above_m = 1.0, close_below_m = 1.5 }

[[structures]]
id = "S4"
kind = "pump"
from = "A"
to = "B"

[[structures]]
id = "S5"
kind = "sluice"
from = "A"
to = "B"
sill_m = 0.0
width_m = 5.0
schedule = "gate.csv"

[[structures]]
id = "S6"
kind = "weir"
from = "A"
to = "B"
sill_m = 0.5
width_m = 5.0
rule = { open_above_m = 1.2, close_below_m = 1.0 }

[[structures]]
id = "S7"
kind = "sluice"
from = "A"
to = "B"
sill_m = 0.0
width_m = 5.0
schedule = "gate.csv"
rule = { open_above_m = 1.2, close_below_m = 1.0 }

[[structures]]
id = "S8"
kind = "sluice"
from = "A"
to = "B"
sill_m = 0.0
width_m = 5.0
rule = { on_above_m = 1.2, off_below_m = 1.0 }
"#;
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let out = rivsim().arg("validate").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for (item, field, what) in [
        ("[simulation]", "theta", "0.5 < θ ≤ 1"),
        ("[simulation]", "hydraulic_step", "a duration > 0"),
        ("structure S1", "to", "the id of a node"),
        ("structure S2", "to", "a node other than `from`"),
        ("structure S3", "close_below_m", "at or below open_above_m"),
        ("structure S4", "capacity_m3s", "required"),
        ("structure S5", "schedule", "a column `opening_m`"),
        ("structure S6", "rule", "no rule on a weir"),
        ("structure S7", "rule", "either a schedule or a rule"),
        ("structure S8", "rule", "on a sluice"),
    ] {
        let hit = err
            .lines()
            .any(|l| l.contains(item) && l.contains(field) && l.contains(what));
        assert!(hit, "no line with {item} / {field} / {what} in:\n{err}");
    }
}

/// The step and mode rules of unsteady hydraulics: a hydraulic step longer than the output interval,
/// `mode = "steady"`, and a transport step longer than the hydraulic step are each refused (exit 2); with
/// steady hydraulics, `[[structures]]` and `[initial] level_m` are refused too.
#[test]
fn unsteady_steps_and_modes_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let base = |sim: &str, extra: &str| {
        format!(
            r#"
[simulation]
start = "2025-01-01"
end = "2025-01-02"
output_interval = "1h"
pollutants = []
{sim}

[[nodes]]
id = "A"
kind = "boundary"

[[nodes]]
id = "B"
kind = "outlet"
level_m = 1.0

[[reaches]]
id = "R1"
from = "A"
to = "B"
length_m = 1000.0
section = {{ shape = "rectangle", width_m = 10.0 }}
manning_n = 0.03

[[inflows]]
node = "A"
flow_m3s = 1.0
{extra}"#
        )
    };
    let cases = [
        (
            base("hydraulics = \"unsteady\"\nhydraulic_step = \"2h\"", ""),
            "hydraulic_step",
            "no longer than output_interval",
        ),
        (
            base("hydraulics = \"unsteady\"\nmode = \"steady\"", ""),
            "mode",
            "mode = \"dynamic\"",
        ),
        (
            base(
                "hydraulics = \"unsteady\"\nhydraulic_step = \"5min\"\ntime_step = \"10min\"",
                "",
            ),
            "time_step",
            "no longer than hydraulic_step",
        ),
        (
            base(
                "",
                "[[structures]]\nid = \"W\"\nkind = \"weir\"\nfrom = \"A\"\nto = \"B\"\nsill_m = 0.0\nwidth_m = 3.0\n",
            ),
            "kind",
            "only with [simulation] hydraulics = \"unsteady\"",
        ),
        (
            base("", "[initial]\nlevel_m = 1.0\n"),
            "level_m",
            "only with [simulation] hydraulics = \"unsteady\"",
        ),
    ];
    for (k, (text, field, what)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{k}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = rivsim().arg("validate").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "case {k}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines().any(|l| l.contains(field) && l.contains(what)),
            "case {k}: no line with {field} / {what} in:\n{err}"
        );
    }
}

/// The polder of [`a_polder_drains_by_its_rule`]: 1 m³/s into two 2 km reaches 20 m wide (bed −1.5 m),
/// drained through a 6 m sluice (opening 2 m, a flap) to a tide of ±1 m about 1 m, by the rule "open above
/// 1.2 m when the sea is lower by more than 5 cm; shut below 1.0 m or when the sea comes within 5 cm", the
/// rule reading the level of `watch`. Outputs every hydraulic step. Returns the output folder's
/// `nodes.csv`, `reaches.csv`, `structures.csv` and `summary.json`.
fn polder(dir: &Path, watch: &str) -> [std::path::PathBuf; 4] {
    write_tide(&dir.join("tide.csv"), 4.0, 1.0, 1.0, 0.0);
    let text = r#"
[simulation]
start = "2025-01-01"
end = "2025-01-04"
output_interval = "5min"
pollutants = []
hydraulics = "unsteady"
hydraulic_step = "5min"

[initial]
level_m = 1.1

[defaults]
manning_n = 0.03
section = { shape = "rectangle", width_m = 20.0 }

[[nodes]]
id = "IN"
kind = "boundary"

[[nodes]]
id = "P1"
kind = "junction"

[[nodes]]
id = "GATE"
kind = "junction"

[[nodes]]
id = "SEA"
kind = "outlet"
level_series = "tide.csv"
interpolate = "linear"

[[reaches]]
id = "R1"
from = "IN"
to = "P1"
length_m = 2000.0
bed_up_m = -1.5
bed_down_m = -1.5

[[reaches]]
id = "R2"
from = "P1"
to = "GATE"
length_m = 2000.0
bed_up_m = -1.5
bed_down_m = -1.5

[[inflows]]
node = "IN"
flow_m3s = 1.0

[[structures]]
id = "SLUICE"
kind = "sluice"
from = "GATE"
to = "SEA"
sill_m = -1.5
width_m = 6.0
opening_m = 2.0
one_way = true
rule = { open_above_m = 1.2, close_below_m = 1.0, margin_m = 0.05, node = "WATCH" }
"#
    .replace("WATCH", watch);
    let path = dir.join("polder.toml");
    std::fs::write(&path, text).unwrap();
    let out_dir = dir.join("out");
    let out = rivsim()
        .args(["hydraulics"])
        .arg(&path)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim hydraulics");
    ["nodes.csv", "reaches.csv", "structures.csv", "summary.json"].map(|f| out_dir.join(f))
}

/// Item 7: a polder drained to a tide by a rule-operated sluice whose rule reads the polder's middle node P1.
/// Each row of `structures.csv` is the setting of the step that ended then, decided from the levels of the
/// previous row, so the test applies the rule of DESIGN.md §9 to `nodes.csv` itself and asks
/// `structures.csv` to agree at every step. And per step the polder's water (recomputed from `reaches.csv`:
/// rectangles, volume = Σ length × width × mean depth) changes by exactly (inflow − sluice flow) × Δt,
/// so a shut gate passes nothing and the reported flow is the water that left (to 1e-9 of the stored
/// volume); the flap passes no reverse flow.
#[test]
fn a_polder_drains_by_its_rule() {
    let dir = tempfile::tempdir().unwrap();
    let [nodes, reaches, structures, _] = polder(dir.path(), "P1");
    let level_of = |id: &str| -> Vec<f64> {
        read_csv(&nodes)
            .iter()
            .filter(|r| r["node"] == id)
            .map(|r| num(r, "level_m"))
            .collect()
    };
    let (watch, sea) = (level_of("P1"), level_of("SEA"));
    let st = read_csv(&structures);
    assert_eq!(st.len(), watch.len());
    let open: Vec<bool> = st.iter().map(|r| r["state"] == "open").collect();
    let flow: Vec<f64> = st.iter().map(|r| num(r, "flow_m3s")).collect();
    let mut volume = vec![0.0; watch.len()];
    for (k, r) in read_csv(&reaches).iter().enumerate() {
        volume[k / 2] += 2000.0 * 20.0 * num(r, "depth_m");
    }
    let mut switches = 0;
    for k in 1..open.len() {
        let (zf, zt) = (watch[k - 1], sea[k - 1]);
        let want = if open[k - 1] {
            !(zf < 1.0 || zt >= zf - 0.05)
        } else {
            zf > 1.2 && zf > zt + 0.05
        };
        assert_eq!(
            open[k],
            want,
            "step {k}: levels {zf} / {zt}, was open {}",
            open[k - 1]
        );
        if open[k] {
            assert!(
                flow[k] >= 0.0,
                "step {k}: reverse flow {} through the flap",
                flow[k]
            );
        } else {
            assert_eq!(flow[k], 0.0, "step {k}: a shut gate passes {}", flow[k]);
        }
        let change = volume[k] - volume[k - 1];
        let want = (1.0 - flow[k]) * 300.0;
        assert!(
            (change - want).abs() <= 1e-9 * volume[k],
            "step {k}: the polder gained {change} m³, inflow minus sluice flow {want} m³"
        );
        switches += usize::from(open[k] != open[k - 1]);
    }
    assert!(switches >= 10, "the rule acted {switches} times");
}

/// The same polder with its rule reading the level at the gate itself: opening the gate draws the water
/// there down by half a metre at once (a negative surge, ≈ Q/(B·√(gh))), below the closing level, so the
/// rule shuts the gate again at the next step, and so on. The run says so in `summary.json`'s warnings.
#[test]
fn a_rule_reading_its_own_drawdown_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let [.., summary] = polder(dir.path(), "GATE");
    let warnings = json(&summary)["warnings"].to_string();
    assert!(
        warnings.contains("structure SLUICE") && warnings.contains("rule.node"),
        "{warnings}"
    );
}

/// A tidal network with a loop, a sluice with a drainage rule, a weir, a pump with a rule, a pond behind a
/// flap gate and a withdrawal, over a year of M2 + S2 tide at 15-minute steps. From the files alone:
/// the inflow term of the balance equals ∫Q dt of the input (1.5 m³/s for a year), and
/// in − out − (storage at the end − at the start) vanishes to 1e-9 of the water that passed through, the
/// storage being recomputed from `reaches.csv` (rectangles: volume = Σ length × width × mean depth) and
/// `nodes.csv` (the pond: area × (level − bed)), not read from the balance.
#[test]
fn a_tidal_year_with_gates_and_pumps_keeps_its_water() {
    let dir = tempfile::tempdir().unwrap();
    write_tide(&dir.path().join("tide.csv"), 366.0, 1.2, 0.9, 0.3);
    let text = r#"
[simulation]
start = "2025-01-01"
end = "2026-01-01"
output_interval = "1d"
pollutants = []
hydraulics = "unsteady"
hydraulic_step = "15min"

[initial]
level_m = 1.3

[defaults]
manning_n = 0.03
section = { shape = "rectangle", width_m = 15.0 }

[[nodes]]
id = "U"
kind = "boundary"

[[nodes]]
id = "A"
kind = "junction"

[[nodes]]
id = "B"
kind = "junction"

[[nodes]]
id = "C"
kind = "junction"

[[nodes]]
id = "POND"
kind = "storage"
area_m2 = 50000.0
bed_m = -1.0

[[nodes]]
id = "SEA"
kind = "outlet"
level_series = "tide.csv"
interpolate = "linear"

[[reaches]]
id = "R1"
from = "U"
to = "A"
length_m = 3000.0
bed_up_m = -1.0
bed_down_m = -1.2

[[reaches]]
id = "R2"
from = "A"
to = "B"
length_m = 2000.0
bed_up_m = -1.2
bed_down_m = -1.3

[[reaches]]
id = "R3"
from = "A"
to = "C"
length_m = 2500.0
bed_up_m = -1.2
bed_down_m = -1.3
section = { shape = "rectangle", width_m = 10.0 }

[[reaches]]
id = "R4"
from = "C"
to = "B"
length_m = 1000.0
bed_up_m = -1.3
bed_down_m = -1.3

[[inflows]]
node = "U"
flow_m3s = 1.5

[[withdrawals]]
reach = "R3"
at_m = 1200.0
flow_m3s = 0.1

[[structures]]
id = "SLUICE"
kind = "sluice"
from = "B"
to = "SEA"
sill_m = -1.3
width_m = 5.0
opening_m = 1.5
one_way = true
rule = { open_above_m = 1.4, close_below_m = 1.2, margin_m = 0.03 }

[[structures]]
id = "PUMP"
kind = "pump"
from = "B"
to = "SEA"
capacity_m3s = 2.0
rule = { on_above_m = 1.9, off_below_m = 1.6 }

[[structures]]
id = "WEIR"
kind = "weir"
from = "C"
to = "SEA"
sill_m = 1.8
width_m = 4.0
one_way = true

[[structures]]
id = "FLAP"
kind = "sluice"
from = "POND"
to = "A"
sill_m = -0.5
width_m = 2.0
opening_m = 1.0
one_way = true
"#;
    let path = dir.path().join("tidal.toml");
    std::fs::write(&path, text).unwrap();
    let out_dir = dir.path().join("out");
    let out = rivsim()
        .args(["hydraulics"])
        .arg(&path)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim hydraulics");
    let summary = json(&out_dir.join("summary.json"));
    let vb = &summary["volume_balance"];
    let t = &vb["terms"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let year_s = 365.0 * 86_400.0;
    assert!((f(&t["inflow_m3"]) - 1.5 * year_s).abs() <= 1e-9 * 1.5 * year_s);
    // storage from the files
    let widths: HashMap<&str, (f64, f64)> = [
        ("R1", (3000.0, 15.0)),
        ("R2", (2000.0, 15.0)),
        ("R3", (2500.0, 10.0)),
        ("R4", (1000.0, 15.0)),
    ]
    .into_iter()
    .collect();
    let reaches = read_csv(&out_dir.join("reaches.csv"));
    let nodes = read_csv(&out_dir.join("nodes.csv"));
    let stored_at = |time: &str| {
        let mut v = 0.0;
        for r in reaches.iter().filter(|r| r["time"] == time) {
            let (l, b) = widths[r["reach"].as_str()];
            v += l * b * num(r, "depth_m");
        }
        for n in nodes
            .iter()
            .filter(|n| n["time"] == time && n["node"] == "POND")
        {
            v += 50_000.0 * (num(n, "level_m") + 1.0);
        }
        v
    };
    let (first, last) = (&reaches[0]["time"], &reaches[reaches.len() - 1]["time"]);
    assert_eq!(last, "2026-01-01T00:00:00");
    let d_storage = stored_at(last) - stored_at(first);
    let (inn, out) = (
        f(&t["inflow_m3"]) + f(&t["outfall_water_m3"]) + f(&t["entering_at_held_levels_m3"]),
        f(&t["leaving_at_held_levels_m3"]) + f(&t["free_outfalls_m3"]) + f(&t["withdrawals_m3"]),
    );
    let through = inn.max(out);
    assert!(
        (inn - out - d_storage).abs() <= 1e-9 * through,
        "in {inn}, out {out}, storage change {d_storage}: error {}",
        inn - out - d_storage
    );
    assert!(
        f(&t["withdrawals_m3"]) > 0.9 * 0.1 * year_s,
        "the withdrawal took its water"
    );
    let st = read_csv(&out_dir.join("structures.csv"));
    let sluice_flow = st
        .iter()
        .filter(|r| r["structure"] == "SLUICE")
        .map(|r| num(r, "flow_m3s"))
        .fold(0.0f64, f64::max);
    assert!(
        sluice_flow > 0.5,
        "the sluice drained: largest sampled flow {sluice_flow}"
    );
}

/// `rivsim run` of a scenario with unsteady hydraulics carries the pollutants on it and writes its files;
/// `apportion` stops with exit code 2 and says why; `rivsim hydraulics` runs the hydraulics alone.
#[test]
fn run_with_unsteady_hydraulics_runs_and_apportion_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let text = concat!(support::one_reach!(), "\n").replace(
        "pollutants = [\"COD\", \"TP\"]",
        "pollutants = [\"COD\", \"TP\"]\nhydraulics = \"unsteady\"",
    );
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let out = rivsim()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--no-plots")
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim run");
    assert!(dir.path().join("out").join("summary.json").exists());
    let out = rivsim()
        .arg("apportion")
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("ap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unsteady") && err.contains("rivsim hydraulics"),
        "{err}"
    );
    let out = rivsim()
        .arg("hydraulics")
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("h"))
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim hydraulics");
    for f in ["reaches.csv", "nodes.csv", "summary.json"] {
        assert!(dir.path().join("h").join(f).exists(), "{f}");
    }
}
