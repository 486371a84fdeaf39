//! Projects every district has: rural treatment and closure of line loads (a group names its line loads too),
//! a sewer's capacity raised, and `rivsim rank --without` / `--only`.
//!
//! Tolerances: the transformed series are products of a handful of given numbers, compared to 1e-12 relative
//! (a few roundings of f64 arithmetic).

mod support;

use rivsim::model::{Discharge, Model};
use rivsim::projects::{self, Selection};
use rivsim::scenario;
use std::path::Path;
use support::{assert_exit_ok, repo, rivsim};

const DAY: f64 = 86_400.0;

/// One reach U → O (4 km), a village outfall and a village line load in group "villages", a sewage outfall
/// P1 of 0.5 m³/s intercepted into a sewer of 0.2 m³/s that overflows at 1 km; `{extra}` appended.
fn load(extra: &str) -> Result<Model, scenario::ScenarioError> {
    let text = format!(
        r#"
title = "district projects"
[simulation]
start = "2025-01-01"
end = "2025-01-21"
output_interval = "1d"
pollutants = ["COD", "NH3N"]
mode = "steady"

[defaults]
manning_n = 0.03
cell_length_m = 500.0

[[nodes]]
id = "U"
kind = "boundary"

[[nodes]]
id = "O"
kind = "outlet"
level_m = 2.0

[[reaches]]
id = "R1"
from = "U"
to = "O"
length_m = 4000.0
section = {{ shape = "rectangle", width_m = 10.0 }}
bed_up_m = 0.0
bed_down_m = -0.4

[[inflows]]
node = "U"
flow_m3s = 1.0
concentration = {{ COD = 20.0, NH3N = 1.0 }}

[[outfalls]]
id = "V1"
reach = "R1"
at_m = 1500.0
load_kg_per_day = {{ COD = 100.0, NH3N = 10.0 }}
kind = "rural"
group = "villages"

[[outfalls]]
id = "P1"
reach = "R1"
at_m = 500.0
flow_m3s = 0.5
concentration = {{ COD = 200.0, NH3N = 20.0 }}
kind = "sewage"

[[line_loads]]
id = "L1"
reach = "R1"
from_m = 2000.0
to_m = 4000.0
load_kg_per_day = {{ COD = 60.0, NH3N = 6.0 }}
group = "villages"

[[sewers]]
id = "trunk"
capacity_m3s = 0.2
overflow = {{ reach = "R1", at_m = 1000.0 }}
discharge = {{ reach = "R1", at_m = 3900.0 }}

[[projects]]
id = "PJ-INT"
kind = "intercept"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"
outfalls = ["P1"]
sewer = "trunk"
{extra}
"#
    );
    scenario::load_str(&text, Path::new("/tmp/projects-office/scenario.toml"))
}

fn kg(m: &Model, line: &str, p: usize, t_s: f64) -> f64 {
    m.line_loads
        .iter()
        .find(|l| l.id == line)
        .unwrap()
        .kg_per_day[p]
        .at(t_s)
}

fn outfall_flow(m: &Model, id: &str, t_s: f64) -> f64 {
    match &m.outfalls.iter().find(|o| o.id == id).map(|o| &o.discharge) {
        Some(Discharge::Flow { flow_m3s, .. }) => flow_m3s.at(t_s),
        Some(Discharge::Load { .. }) => panic!("{id} is a load"),
        None => 0.0, // a derived outfall that never flows is not created
    }
}

#[test]
fn rural_treatment_of_a_group_cuts_its_line_loads_too() {
    let m = load(
        r#"
[[projects]]
id = "PJ-RT"
kind = "rural_treatment"
cost = 2.0
start = "2025-01-01"
finish = "2025-01-06"
group = "villages"
reduction = { COD = 0.6, NH3N = 0.5 }
"#,
    )
    .unwrap();
    let a = projects::apply(&m, &Selection::all(&m)).unwrap();
    // before the finish the load is whole; after it the reduction applies: 60 × (1 − 0.6), 6 × (1 − 0.5)
    assert_eq!(kg(&a, "L1", 0, 2.0 * DAY), 60.0);
    assert!((kg(&a, "L1", 0, 10.0 * DAY) - 60.0 * 0.4).abs() < 1e-12 * 60.0);
    assert!((kg(&a, "L1", 1, 10.0 * DAY) - 6.0 * 0.5).abs() < 1e-12 * 6.0);
    // the group's outfall is cut as before
    match &a.outfalls.iter().find(|o| o.id == "V1").unwrap().discharge {
        Discharge::Load { kg_per_day } => {
            assert!((kg_per_day[0].at(10.0 * DAY) - 40.0).abs() < 1e-12 * 100.0)
        }
        _ => panic!(),
    }
    // without the project the line load is untouched
    let none = projects::apply(&m, &Selection::none(&m)).unwrap();
    assert_eq!(kg(&none, "L1", 0, 10.0 * DAY), 60.0);
}

#[test]
fn a_line_load_named_alone_and_a_closure() {
    let m = load(
        r#"
[[projects]]
id = "PJ-CL"
kind = "close_outfall"
cost = 2.0
start = "2025-01-01"
finish = "2025-01-06"
line_loads = ["L1"]
"#,
    )
    .unwrap();
    let a = projects::apply(&m, &Selection::all(&m)).unwrap();
    assert_eq!(kg(&a, "L1", 0, 2.0 * DAY), 60.0);
    assert_eq!(kg(&a, "L1", 0, 10.0 * DAY), 0.0);
    // an unknown line load names the defined ones
    let e = load(
        r#"
[[projects]]
id = "PJ-X"
kind = "rural_treatment"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"
line_loads = ["L9"]
reduction = 0.5
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("line_loads") && e.contains("L9") && e.contains("(L1)"),
        "{e}"
    );
}

#[test]
fn a_sewer_upgrade_stops_the_overflow_from_its_finish() {
    let m = load(
        r#"
[[projects]]
id = "PJ-UP"
kind = "sewer_upgrade"
cost = 5.0
start = "2025-01-05"
finish = "2025-01-11"
sewer = "trunk"
capacity_m3s = 0.6
"#,
    )
    .unwrap();
    let a = projects::apply(&m, &Selection::all(&m)).unwrap();
    // intercepted from day 1: 0.5 m³/s into a 0.2 m³/s sewer spills 0.3 m³/s until the upgrade is finished,
    // then nothing (0.5 < 0.6); the sewer's discharge carries the rest
    assert!((outfall_flow(&a, "trunk:overflow", 3.0 * DAY) - 0.3).abs() < 1e-12);
    assert_eq!(outfall_flow(&a, "trunk:overflow", 15.0 * DAY), 0.0);
    assert!((outfall_flow(&a, "trunk:discharge", 3.0 * DAY) - 0.2).abs() < 1e-12);
    assert!((outfall_flow(&a, "trunk:discharge", 15.0 * DAY) - 0.5).abs() < 1e-12);
    // a missing capacity and an unknown sewer are reported together
    let e = load(
        r#"
[[projects]]
id = "PJ-BAD"
kind = "sewer_upgrade"
cost = 5.0
start = "2025-01-05"
finish = "2025-01-11"
sewer = "nope"
"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("capacity_m3s") && e.contains("nope") && e.contains("trunk"),
        "{e}"
    );
}

#[test]
fn rank_without_and_only_choose_what_is_ranked() {
    let dir = tempfile::tempdir().unwrap();
    let scen = repo("scenarios/district/scenario.toml");
    let rank = |args: &[&str], out: &Path| {
        let o = rivsim()
            .args(["rank", "--no-check"])
            .arg(&scen)
            .arg("--out")
            .arg(out)
            .args(args)
            .output()
            .unwrap();
        assert_exit_ok(&o, "rivsim rank");
        let text = std::fs::read_to_string(out.join("rank.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let without = rank(&["--without", "PJ-HT"], &dir.path().join("a"));
    assert!(!without.contains(&"PJ-HT".to_string()), "{without:?}");
    assert_eq!(
        without.len(),
        8,
        "the district's nine projects less one: {without:?}"
    );
    let mut only = rank(&["--only", "PJ1,PJ2"], &dir.path().join("b"));
    only.sort();
    assert_eq!(only, ["PJ1", "PJ2"]);
    // an unknown id is invalid input
    let o = rivsim()
        .args(["rank", "--no-check", "--without", "PJ-NOPE"])
        .arg(&scen)
        .arg("--out")
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_plant_whose_effluent_leaves_the_network() {
    let extra = r#"
[[outfalls]]
id = "P2"
reach = "R1"
at_m = 2500.0
flow_m3s = 0.3
concentration = { COD = 250.0, NH3N = 25.0 }
kind = "sewage"

[[plants]]
id = "WW"
capacity_m3s = 1.0
effluent = { COD = 50.0, NH3N = 5.0 }
discharge_outside = true

[[sewers]]
id = "to-ww"
capacity_m3s = 1.0
overflow = { reach = "R1", at_m = 2600.0 }
to_plant = "WW"

[[projects]]
id = "PJ-P2"
kind = "intercept"
cost = 3.0
start = "2025-01-01"
finish = "2025-01-06"
outfalls = ["P2"]
sewer = "to-ww"
"#;
    let m = load(extra).unwrap();
    let a = projects::apply(&m, &Selection::all(&m)).unwrap();
    // P2's water goes to the plant from the finish on and, treated, leaves the model: no effluent outfall,
    // no bypass (1.0 m³/s capacity), no overflow
    assert!((outfall_flow(&a, "P2", 2.0 * DAY) - 0.3).abs() < 1e-12);
    assert_eq!(outfall_flow(&a, "P2", 10.0 * DAY), 0.0);
    for gone in ["WW:effluent", "WW:bypass", "to-ww:overflow"] {
        assert!(a.outfalls.iter().all(|o| o.id != gone), "{gone}");
    }
    // the same plant discharging into the reach would add an effluent outfall: the contrast
    let inside = load(&extra.replace(
        "discharge_outside = true",
        "discharge = { reach = \"R1\", at_m = 3500.0 }",
    ))
    .unwrap();
    let b = projects::apply(&inside, &Selection::all(&inside)).unwrap();
    assert!((outfall_flow(&b, "WW:effluent", 10.0 * DAY) - 0.3).abs() < 1e-12);
    // both keys at once is refused
    let e = load(&extra.replace(
        "discharge_outside = true",
        "discharge_outside = true\ndischarge = { reach = \"R1\", at_m = 3500.0 }",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("discharge_outside") && e.contains("not both"),
        "{e}"
    );
}
