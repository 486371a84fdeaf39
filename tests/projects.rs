//! Projects: validation, the transformed model (`projects::apply`) checked by hand, and `rivsim compare` end
//! to end on a small scenario.
//!
//! Tolerances: the transformed series are products and sums of a handful of given numbers, so values are
//! compared to 1e-12 relative (a few rounding errors of f64 arithmetic, far below any physical meaning); the
//! "bit for bit" tests compare exact bits.

mod support;

use rivsim::model::{Discharge, Model, OutfallKind};
use rivsim::pipeline;
use rivsim::projects::{self, Selection};
use rivsim::scenario;
use std::path::Path;

const DAY: f64 = 86_400.0;

/// Two reaches U → J → O (3 km each), one inflow, four outfalls, a sewer to a plant. `{extra}` is appended.
fn text(extra: &str) -> String {
    format!(
        concat!(
            r#"
title = "projects test"
cost_unit = "million CNY"

[simulation]
start = "2025-01-01"
end = "2025-01-11"
output_interval = "1d"
pollutants = ["COD", "NH3N", "TP"]
mode = "steady"

[defaults]
manning_n = 0.03
dispersion_m2s = 5.0
decay_per_day = {{ COD = 0.2, NH3N = 0.1, TP = 0.05 }}
cell_length_m = 500.0

"#,
            support::u_j_o_nodes!(),
            r#"
[[reaches]]
id = "R1"
from = "U"
to = "J"
length_m = 3000.0
section = {{ shape = "rectangle", width_m = 10.0 }}
bed_up_m = 0.0
bed_down_m = -0.2
zone = "Z1"
release_g_m2_day = {{ TP = 0.02 }}

[[reaches]]
id = "R2"
from = "J"
to = "O"
length_m = 3000.0
section = {{ shape = "rectangle", width_m = 12.0 }}
bed_up_m = -0.2
bed_down_m = -0.4
zone = "Z2"

[[inflows]]
node = "U"
flow_m3s = 1.0
concentration = {{ COD = 40.0, NH3N = 2.5, TP = 0.4 }}

[[outfalls]]
id = "P1"
reach = "R1"
at_m = 1000.0
flow_m3s = 0.05
concentration = {{ COD = 250.0, NH3N = 30.0, TP = 4.0 }}
kind = "sewage"
group = "town"

[[outfalls]]
id = "P2"
reach = "R1"
at_m = 2000.0
flow_m3s = 0.04
concentration = {{ COD = 200.0, NH3N = 20.0, TP = 3.0 }}
kind = "sewage"
group = "town"

[[outfalls]]
id = "RDW"
reach = "R2"
at_m = 500.0
flow_m3s = 0.02
concentration = {{ COD = 120.0, NH3N = 10.0, TP = 1.5 }}
kind = "rain_dry_weather"

[[outfalls]]
id = "V1"
reach = "R2"
at_m = 1500.0
load_kg_per_day = {{ COD = 100.0, NH3N = 10.0, TP = 1.0 }}
kind = "rural"
group = "villages"

[[zones]]
id = "Z1"
target = "IV"

[[zones]]
id = "Z2"
target = "IV"

[[sections]]
id = "S1"
reach = "R1"
at_m = 2900.0

[[sections]]
id = "S2"
reach = "R2"
at_m = 2900.0

[[plants]]
id = "WWTP"
capacity_m3s = 1.0
effluent = {{ COD = 50.0, NH3N = 5.0, TP = 0.5 }}
discharge = {{ reach = "R2", at_m = 2500.0 }}

{extra}
"#
        ),
        extra = extra
    )
}

fn load(extra: &str) -> Model {
    match scenario::load_str(&text(extra), Path::new("/tmp/projects-test/scenario.toml")) {
        Ok(m) => m,
        Err(e) => panic!("scenario should load: {e}"),
    }
}

fn problems(extra: &str) -> Vec<scenario::Problem> {
    match scenario::load_str(&text(extra), Path::new("/tmp/projects-test/scenario.toml")) {
        Ok(_) => panic!("scenario should be refused"),
        Err(e) => e.problems,
    }
}

fn outfall<'a>(m: &'a Model, id: &str) -> Option<&'a rivsim::model::Outfall> {
    m.outfalls.iter().find(|o| o.id == id)
}

fn flow(m: &Model, id: &str, t: f64) -> f64 {
    match outfall(m, id).map(|o| &o.discharge) {
        Some(Discharge::Flow { flow_m3s, .. }) => flow_m3s.at(t),
        Some(Discharge::Load { .. }) => panic!("{id} is a load"),
        None => 0.0,
    }
}

fn conc(m: &Model, id: &str, p: usize, t: f64) -> f64 {
    match outfall(m, id).map(|o| &o.discharge) {
        Some(Discharge::Flow { concentration, .. }) => concentration[p].at(t),
        _ => panic!("{id}: no flow outfall"),
    }
}

fn load_kg(m: &Model, id: &str, p: usize, t: f64) -> f64 {
    match outfall(m, id).map(|o| &o.discharge) {
        Some(Discharge::Load { kg_per_day }) => kg_per_day[p].at(t),
        Some(_) => panic!("{id}: not a load"),
        None => 0.0,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300) || (a - b).abs() < 1e-15
}

macro_rules! assert_close {
    ($a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        assert!(close(a, b), "{} = {a}, expected {b}", stringify!($a));
    }};
}

const SEWER_TO_PLANT: &str = r#"
[[sewers]]
id = "trunk"
capacity_m3s = 1.0
overflow = { reach = "R1", at_m = 2500.0 }
to_plant = "WWTP"
"#;

fn intercept(finish: &str, extra_keys: &str) -> String {
    format!(
        r#"{SEWER_TO_PLANT}
[[projects]]
id = "PJ1"
name = "Intercept P1"
kind = "intercept"
cost = 12.5
start = "2024-12-01"
finish = "{finish}"
outfalls = ["P1"]
efficiency = 1.0
sewer = "trunk"
{extra_keys}
"#
    )
}

/// Hydraulics and transport of a model, as `rivsim run` does them.
fn run(m: &Model) -> rivsim::transport::RunResults {
    let p = pipeline::Prepared {
        net: rivsim::network::Network::build(m),
        model: m.clone(),
    };
    let hyd = pipeline::hydraulics(&p).unwrap();
    pipeline::simulate(&p, &hyd, false).unwrap()
}

fn bits(v: &[Vec<f64>]) -> Vec<u64> {
    v.iter().flatten().map(|x| x.to_bits()).collect()
}

#[test]
fn nothing_selected_is_the_model_unchanged() {
    let m = load(&intercept("2025-01-04", ""));
    let none = projects::apply(&m, &Selection::none(&m)).unwrap();
    assert_eq!(format!("{none:?}"), format!("{m:?}"));
    let without = projects::apply(&m, &Selection::without(&m, &["PJ1".into()]).unwrap()).unwrap();
    assert_eq!(format!("{without:?}"), format!("{m:?}"));
}

#[test]
fn a_project_switched_off_runs_bit_for_bit_as_the_baseline() {
    // the scenario with PJ1 run --without PJ1, against the same scenario without the [[projects]] entry
    let with = load(&intercept("2025-01-04", ""));
    let without_entry = load(SEWER_TO_PLANT);
    let sel = Selection::without(&with, &["PJ1".into()]).unwrap();
    let off = run(&projects::apply(&with, &sel).unwrap());
    let base = run(&without_entry);
    assert_eq!(bits(&off.section_conc), bits(&base.section_conc));
    assert_eq!(bits(&off.reach_conc), bits(&base.reach_conc));
    // and switched on it does change the water (P1 gone, the plant discharging downstream of S1)
    let on = run(&projects::apply(&with, &Selection::all(&with)).unwrap());
    assert_ne!(bits(&on.section_conc), bits(&base.section_conc));
}

/// Three projects on the base scenario: PJ1 (intercept P1 into the trunk to the plant, day 3), SEP (separate
/// RDW, day 5 with a 2-day ramp) and UP (the boundary's COD 40 → 20 from day 4, with a construction load).
fn three_projects() -> [&'static str; 3] {
    [
        r#"
[[projects]]
id = "PJ1"
kind = "intercept"
cost = 4.0
start = "2024-12-01"
finish = "2025-01-04"
outfalls = ["P1"]
sewer = "trunk"
"#,
        r#"
[[projects]]
id = "SEP"
kind = "separate"
cost = 2.0
start = "2025-01-02"
finish = "2025-01-06"
ramp = "2d"
outfalls = ["RDW"]
efficiency = 0.9
construction_load_kg_per_day = { COD = 30.0, TP = 0.2 }
construction_at = { reach = "R2", at_m = 600.0 }
"#,
        r#"
[[projects]]
id = "UP"
kind = "boundary_improvement"
cost = 9.0
start = "2025-01-01"
finish = "2025-01-05"
node = "U"
concentration = { COD = 20.0 }
"#,
    ]
}

#[test]
fn each_project_switched_off_equals_the_file_without_it_dynamic() {
    // dynamic mode (time stepping through every flow period). For each project P: `--without P` with the other
    // two on gives, bit for bit, the run of the file in which P's entry is deleted — sections, reach means and
    // the mass balance. And `--without` all three equals the file with none.
    let dynamic = |extra: &str| {
        let t = text(extra).replacen("mode = \"steady\"", "mode = \"dynamic\"", 1);
        load_text(&t).unwrap_or_else(|e| panic!("{e}"))
    };
    let ps = three_projects();
    let all = dynamic(&format!("{SEWER_TO_PLANT}{}{}{}", ps[0], ps[1], ps[2]));
    assert_eq!(all.sim.mode, rivsim::model::Mode::Dynamic);
    let ids = ["PJ1", "SEP", "UP"];
    let mb_bits = |r: &rivsim::transport::RunResults| -> Vec<u64> {
        r.mass_balance
            .iter()
            .flat_map(|m| [m.in_kg, m.out_kg, m.decayed_kg, m.storage_change_kg])
            .map(f64::to_bits)
            .collect()
    };
    let full = run(&projects::apply(&all, &Selection::all(&all)).unwrap());
    for (k, id) in ids.iter().enumerate() {
        let kept: String = (0..3).filter(|&j| j != k).map(|j| ps[j]).collect();
        let reduced = dynamic(&format!("{SEWER_TO_PLANT}{kept}"));
        let off = run(&projects::apply(
            &all,
            &Selection::without(&all, &[id.to_string()]).unwrap(),
        )
        .unwrap());
        let base = run(&projects::apply(&reduced, &Selection::all(&reduced)).unwrap());
        assert_eq!(bits(&off.section_conc), bits(&base.section_conc), "{id}");
        assert_eq!(bits(&off.reach_conc), bits(&base.reach_conc), "{id}");
        assert_eq!(mb_bits(&off), mb_bits(&base), "{id}");
        // and the project does something: switching it off changes the sections
        assert_ne!(bits(&off.section_conc), bits(&full.section_conc), "{id}");
    }
    let none = dynamic(SEWER_TO_PLANT);
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    let off = run(&projects::apply(&all, &Selection::without(&all, &ids).unwrap()).unwrap());
    let base = run(&none);
    assert_eq!(bits(&off.section_conc), bits(&base.section_conc));
    assert_eq!(mb_bits(&off), mb_bits(&base));
}

#[test]
fn intercept_to_plant_by_hand() {
    // finish 2025-01-04 = day 3. Before: P1 discharges 0.05 m³/s at 250/30/4 mg/L, the plant nothing.
    // After: P1 nothing; the plant treats 0.05 m³/s (capacity 1.0) at min(influent, effluent) = 50/5/0.5.
    let m = load(&intercept("2025-01-04", ""));
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    assert_close!(flow(&t, "P1", 1.0 * DAY), 0.05);
    assert_close!(flow(&t, "P1", 3.0 * DAY - 1.0), 0.05);
    assert_close!(flow(&t, "P1", 3.0 * DAY), 0.0);
    assert_close!(flow(&t, "P1", 9.0 * DAY), 0.0);
    assert_close!(flow(&t, "WWTP:effluent", 1.0 * DAY), 0.0);
    assert_close!(flow(&t, "WWTP:effluent", 3.0 * DAY), 0.05);
    for (p, c) in [(0, 50.0), (1, 5.0), (2, 0.5)] {
        assert_close!(conc(&t, "WWTP:effluent", p, 5.0 * DAY), c);
    }
    let eff = outfall(&t, "WWTP:effluent").unwrap();
    assert_eq!(eff.kind, OutfallKind::Wwtp);
    assert_eq!(eff.reach, 1);
    assert_eq!(eff.at_m, 2500.0);
    // capacity ample: nothing spills, nothing bypasses
    assert!(outfall(&t, "trunk:overflow").is_none());
    assert!(outfall(&t, "WWTP:bypass").is_none());
    // untouched outfalls keep their series bit for bit
    assert_eq!(
        format!("{:?}", outfall(&t, "P2")),
        format!("{:?}", outfall(&m, "P2"))
    );
    // water is conserved: P1 + effluent = 0.05 at every time
    for d in 0..10 {
        let s = d as f64 * DAY;
        assert_close!(flow(&t, "P1", s) + flow(&t, "WWTP:effluent", s), 0.05);
    }
}

const TO_PLANT: &str = "to_plant = \"WWTP\"";
const TO_R2: &str = "discharge = { reach = \"R2\", at_m = 100.0 }";

/// P1 (0.05 m³/s, 250/30/4 mg/L) intercepted from day 3 into a trunk of the given capacity (and base flow) that
/// delivers to `dest` (`TO_PLANT` or `TO_R2`); the transformed model.
fn overflow_case(capacity: f64, base: Option<f64>, dest: &str) -> Model {
    let base_keys = base
        .map(|b| format!("base_flow_m3s = {b:?}\nbase_concentration = {{ COD = 300.0, NH3N = 25.0, TP = 3.5 }}"))
        .unwrap_or_default();
    let extra = format!(
        r#"
[[sewers]]
id = "trunk"
capacity_m3s = {capacity:?}
overflow = {{ reach = "R1", at_m = 2500.0 }}
{dest}
{base_keys}

[[projects]]
id = "PJ1"
kind = "intercept"
cost = 1.0
start = "2025-01-02"
finish = "2025-01-04"
outfalls = ["P1"]
sewer = "trunk"
"#
    );
    let m = load(&extra);
    projects::apply(&m, &Selection::all(&m)).unwrap()
}

#[test]
fn overflow_exactly_at_capacity() {
    // flow = capacity: nothing spills (no overflow outfall at all), the plant takes all 0.05 m³/s
    let t = overflow_case(0.05, None, TO_PLANT);
    assert!(outfall(&t, "trunk:overflow").is_none());
    assert_close!(flow(&t, "WWTP:effluent", 5.0 * DAY), 0.05);
    // capacity 0.05 − δ: exactly δ spills at the overflow point with the collected concentration
    let delta = 0.001;
    let t = overflow_case(0.05 - delta, None, TO_PLANT);
    let o = outfall(&t, "trunk:overflow").unwrap();
    assert_eq!(o.kind, OutfallKind::Overflow);
    assert_eq!((o.reach, o.at_m), (0, 2500.0));
    // (0.05 − (0.05 − δ)) carries two roundings: within 1e-15 absolute of δ
    assert!((flow(&t, "trunk:overflow", 5.0 * DAY) - delta).abs() < 1e-15);
    assert_eq!(flow(&t, "trunk:overflow", 1.0 * DAY), 0.0);
    assert_close!(conc(&t, "trunk:overflow", 0, 5.0 * DAY), 250.0);
    assert_close!(flow(&t, "WWTP:effluent", 5.0 * DAY), 0.05 - delta);
}

#[test]
fn overflow_one_ulp_above_capacity_conserves_water_and_mass() {
    // capacity = the largest f64 below 0.05: the collected 0.05 m³/s is one ulp above it. 0.05 lies in
    // [2^-5, 2^-4), so one ulp is 2^-57 ≈ 6.9e-18 m³/s, and q − cap is exact (Sterbenz: the operands are within a
    // factor 2), so the overflow is exactly that ulp and the rest exactly the capacity.
    let cap = f64::from_bits(0.05f64.to_bits() - 1);
    let ulp = 2f64.powi(-57);
    assert_eq!(0.05 - cap, ulp);
    for dest in [TO_PLANT, TO_R2] {
        let t = overflow_case(cap, None, dest);
        let rest_id = if dest == TO_PLANT {
            "WWTP:effluent"
        } else {
            "trunk:discharge"
        };
        assert_eq!(
            flow(&t, "trunk:overflow", 1.0 * DAY),
            0.0,
            "before the finish"
        );
        assert_eq!(flow(&t, "trunk:overflow", 5.0 * DAY), ulp);
        assert_eq!(flow(&t, rest_id, 5.0 * DAY), cap);
        // water: P1's 0.05 m³/s is now overflow + the rest, exactly (ulp + cap = 0.05 in f64), at every time
        for d in 0..10 {
            let s = d as f64 * DAY;
            assert_eq!(
                flow(&t, "P1", s) + flow(&t, "trunk:overflow", s) + flow(&t, rest_id, s),
                0.05,
                "day {d}"
            );
        }
        // the overflow carries the collected concentration (250/30/4 mg/L, the sewer's only source: C_s =
        // (0.05·C)/0.05, two roundings, hence 1e-12 relative via assert_close)
        for (p, c) in [(0, 250.0), (1, 30.0), (2, 4.0)] {
            assert_close!(conc(&t, "trunk:overflow", p, 5.0 * DAY), c);
        }
    }
    // mass through an untreated sewer: overflow + discharge carry P1's 0.05·C g/s. Each side is a product and a
    // sum of f64s (at most four roundings of 2^-53), so 1e-15 relative.
    let t = overflow_case(cap, None, TO_R2);
    for (p, c) in [(0, 250.0), (1, 30.0), (2, 4.0)] {
        let s = 5.0 * DAY;
        let m = flow(&t, "trunk:overflow", s) * conc(&t, "trunk:overflow", p, s)
            + flow(&t, "trunk:discharge", s) * conc(&t, "trunk:discharge", p, s);
        assert!(
            (m - 0.05 * c).abs() <= 1e-15 * 0.05 * c,
            "pollutant {p}: {m}"
        );
    }
    // exactly at capacity (both destinations): no overflow outfall is created at all, the rest carries 0.05
    for dest in [TO_PLANT, TO_R2] {
        let t = overflow_case(0.05, None, dest);
        assert!(outfall(&t, "trunk:overflow").is_none());
    }
    // end to end: one ulp of overflow is a continuous change. The runs at and one ulp above capacity move
    // 6.9e-18 m³/s of sewage (≈ 1e-16 of the river's flow), so their section concentrations agree to 1e-12
    // relative (the steady solver's own iteration stops far below that and both runs take the same path), and
    // each run's mass balance closes to 1e-9 relative.
    let at = run(&overflow_case(0.05, None, TO_PLANT));
    let above = run(&overflow_case(cap, None, TO_PLANT));
    for (x, y) in at
        .section_conc
        .iter()
        .flatten()
        .zip(above.section_conc.iter().flatten())
    {
        assert!((x - y).abs() <= 1e-12 * x.abs(), "{x} vs {y}");
    }
    for r in [&at, &above] {
        for mb in &r.mass_balance {
            assert!(mb.relative_error.abs() < 1e-9, "{mb:?}");
        }
    }
}

#[test]
fn a_full_trunk_only_spills_more() {
    // the trunk already carries its capacity 0.3 m³/s (base flow): intercepting P1 (0.05) adds 0.05 to the
    // overflow and nothing to the plant. Overflow concentration: (0.3·300 + 0.05·250)/0.35 for COD.
    let t = overflow_case(0.3, Some(0.3), TO_PLANT);
    assert_close!(flow(&t, "WWTP:effluent", 1.0 * DAY), 0.3);
    assert_close!(flow(&t, "WWTP:effluent", 5.0 * DAY), 0.3);
    assert_eq!(flow(&t, "trunk:overflow", 1.0 * DAY), 0.0);
    assert!((flow(&t, "trunk:overflow", 5.0 * DAY) - 0.05).abs() < 1e-15);
    assert_close!(
        conc(&t, "trunk:overflow", 0, 5.0 * DAY),
        (0.3 * 300.0 + 0.05 * 250.0) / 0.35
    );
    // P1 gone from the river, but the same 0.05 m³/s reaches it untreated at the overflow point
    assert_close!(flow(&t, "P1", 5.0 * DAY), 0.0);
}

#[test]
fn ramp_fraction_mid_ramp() {
    // finish day 3, ramp 4 days: daily steps hold the mean of the linear ramp over each day,
    // f = 0.125, 0.375, 0.625, 0.875, then 1. P1 keeps (1 − f)·0.05.
    let steps = [
        (2.5, 0.0),
        (3.5, 0.125),
        (4.5, 0.375),
        (5.0, 0.625),
        (6.9, 0.875),
        (7.0, 1.0),
        (9.0, 1.0),
    ];
    intercept_ramp("2025-01-04", "4d", &steps);
    // the time integral over the ramp equals the linear ramp's: ∫ f dt over 4 days = 2 days
    assert_close!(ramp_integral(3, 4, 3..7), 2.0);
}

/// PJ1 (intercept P1 into the plant) finishing on `finish` with a `ramp`: at each (day, f) of `steps`, P1 keeps
/// (1 − f)·0.05 m³/s and the plant treats f·0.05 (1e-12 relative: one product each). The transformed model.
fn intercept_ramp(finish: &str, ramp: &str, steps: &[(f64, f64)]) -> Model {
    let m = load(&intercept(finish, &format!("ramp = \"{ramp}\"")));
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    for &(day, f) in steps {
        assert_close!(flow(&t, "P1", day * DAY), 0.05 * (1.0 - f));
        assert_close!(flow(&t, "WWTP:effluent", day * DAY), 0.05 * f);
    }
    t
}

/// Σ f over the daily steps `days` of a ramp from `finish_day` over `ramp_days`, in days.
fn ramp_integral(finish_day: u32, ramp_days: u32, days: std::ops::Range<u32>) -> f64 {
    let (finish, ramp) = (finish_day as f64 * DAY, ramp_days as f64 * DAY);
    days.map(|d| projects::effect_fraction(finish, ramp, d as f64 * DAY))
        .sum()
}

#[test]
fn dates_at_the_boundaries_of_the_period() {
    // finish == start of the simulation: in effect from t = 0
    let m = load(&intercept("2025-01-01", ""));
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    assert_close!(flow(&t, "P1", 0.0), 0.0);
    assert_close!(flow(&t, "WWTP:effluent", 0.0), 0.05);
    // finished before the start: likewise
    let m = load(&intercept("2024-12-15", ""));
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    assert_close!(flow(&t, "P1", 0.0), 0.0);
    // finish == end (2025-01-11) or after it: no effect anywhere in the period
    for finish in ["2025-01-11", "2026-06-01"] {
        let m = load(&intercept(finish, ""));
        let t = projects::apply(&m, &Selection::all(&m)).unwrap();
        for d in 0..=10 {
            assert_close!(flow(&t, "P1", d as f64 * DAY - 1.0), 0.05);
        }
        // … including the last output time, the end itself (a finish at the end never acts)
        assert_close!(flow(&t, "P1", t.sim.end_s), 0.05);
        assert!(outfall(&t, "WWTP:effluent").is_none());
    }
}

/// Every breakpoint of every series of the model's outfalls, inflows and line loads.
fn all_breakpoints(m: &Model) -> Vec<f64> {
    let mut v = Vec::new();
    for o in &m.outfalls {
        match &o.discharge {
            Discharge::Flow {
                flow_m3s,
                concentration,
            } => {
                v.extend_from_slice(flow_m3s.breakpoints());
                concentration
                    .iter()
                    .for_each(|c| v.extend_from_slice(c.breakpoints()));
            }
            Discharge::Load { kg_per_day } => kg_per_day
                .iter()
                .for_each(|c| v.extend_from_slice(c.breakpoints())),
        }
    }
    for i in &m.inflows {
        v.extend_from_slice(i.flow_m3s.breakpoints());
        i.concentration
            .iter()
            .for_each(|c| v.extend_from_slice(c.breakpoints()));
    }
    for l in &m.line_loads {
        l.kg_per_day
            .iter()
            .for_each(|c| v.extend_from_slice(c.breakpoints()));
    }
    v
}

/// PJC closes RDW from `finish`, with 20 kg/day COD of construction load at R2 1000 m from `start`.
fn close_rdw_with_construction(start: &str, finish: &str) -> String {
    format!(
        r#"
[[projects]]
id = "PJC"
kind = "close_outfall"
cost = 2.0
start = "{start}"
finish = "{finish}"
outfalls = ["RDW"]
construction_load_kg_per_day = {{ COD = 20.0 }}
construction_at = {{ reach = "R2", at_m = 1000.0 }}
"#
    )
}

#[test]
fn start_before_the_period_and_a_ramp_crossing_the_end() {
    // start 2024-12-20 (12 days before the period), finish day 2, construction load 20 kg/day COD: the load is
    // on from t = 0 (its start is clipped to the period) until day 2, then off; the outfall closes at day 2
    let m = load(&close_rdw_with_construction("2024-12-20", "2025-01-03"));
    assert_eq!(m.projects[0].start_s, -12.0 * DAY);
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    assert_eq!(load_kg(&t, "PJC:construction", 0, 0.0), 20.0);
    assert_eq!(load_kg(&t, "PJC:construction", 0, 2.0 * DAY - 1.0), 20.0);
    assert_eq!(load_kg(&t, "PJC:construction", 0, 2.0 * DAY), 0.0);
    assert_close!(flow(&t, "RDW", 2.0 * DAY - 1.0), 0.02);
    assert_eq!(flow(&t, "RDW", 2.0 * DAY), 0.0);
    // start and finish both before the period: the effect from t = 0 and no construction outfall at all
    let m = load(&close_rdw_with_construction("2024-12-20", "2024-12-25"));
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    assert!(outfall(&t, "PJC:construction").is_none());
    assert_eq!(flow(&t, "RDW", 0.0), 0.0);

    // a 5-day ramp from day 8 crosses the end (day 10): the steps inside the period hold the daily means
    // f = 0.1 (day 8–9) and 0.3 (day 9–10); the steps beyond the end (0.5, 0.7, 0.9, then 1) are never
    // reached. P1 keeps (1 − f)·0.05 and the plant gets f·0.05.
    let steps = [
        (7.9, 0.0),
        (8.0, 0.1),
        (8.9, 0.1),
        (9.0, 0.3),
        (9.99, 0.3),
        (10.0, 0.3),
    ];
    let t = intercept_ramp("2025-01-09", "5d", &steps);
    // the effect integrated over the period equals the linear ramp's, ∫_8^10 (t − 8)/5 dt = 0.4 day
    assert_close!(ramp_integral(8, 5, 8..10), 0.4);
    // no breakpoint of the transformed model lies at or beyond the end (the grid is clipped to the period)
    let end = t.sim.end_s;
    assert!(all_breakpoints(&t).iter().all(|&b| b < end));
    // and it runs: the last output (the end) is in the 0.3 step; the mass balance closes (1e-9 relative)
    let r = run(&t);
    assert_eq!(*r.output_times_s.last().unwrap(), end);
    for mb in &r.mass_balance {
        assert!(mb.relative_error.abs() < 1e-9, "{mb:?}");
    }
}

#[test]
fn construction_load_only_between_start_and_finish() {
    // start day 2, finish day 5: 20 kg/day COD at R2 1000 m during [2, 5) days, zero outside
    let m = load(&close_rdw_with_construction("2025-01-03", "2025-01-06"));
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    let id = "PJC:construction";
    assert_eq!(load_kg(&t, id, 0, 1.0 * DAY), 0.0);
    assert_eq!(load_kg(&t, id, 0, 2.0 * DAY - 1.0), 0.0);
    assert_eq!(load_kg(&t, id, 0, 2.0 * DAY), 20.0);
    assert_eq!(load_kg(&t, id, 0, 4.9 * DAY), 20.0);
    assert_eq!(load_kg(&t, id, 0, 5.0 * DAY), 0.0);
    assert_eq!(load_kg(&t, id, 1, 3.0 * DAY), 0.0);
    // and the outfall closes at finish
    assert_close!(flow(&t, "RDW", 4.9 * DAY), 0.02);
    assert_close!(flow(&t, "RDW", 5.0 * DAY), 0.0);
}

#[test]
fn other_kinds_by_hand() {
    let extra = r#"
[[projects]]
id = "SEP"
kind = "separate"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-03"
outfalls = ["RDW"]
efficiency = 0.8

[[projects]]
id = "RUR"
kind = "rural_treatment"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-03"
group = "villages"
reduction = { COD = 0.6, NH3N = 0.5 }

[[projects]]
id = "DIV"
kind = "diversion"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-03"
node = "J"
flow_m3s = 0.5
concentration = { COD = 10.0, NH3N = 0.3, TP = 0.05 }

[[projects]]
id = "UP"
kind = "boundary_improvement"
cost = 0.0
start = "2025-01-01"
finish = "2025-01-05"
node = "U"
concentration = { COD = 20.0 }

[[projects]]
id = "DRG"
kind = "dredging"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-03"
reaches = ["R1"]
release_g_m2_day = { TP = 0.005 }

[[projects]]
id = "DRK"
kind = "dredging"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-03"
ramp = "2d"
reaches = ["R1"]
decay_per_day = { COD = 0.05 }
"#;
    let m = load(extra);
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    let (before, after) = (1.0 * DAY, 5.0 * DAY);
    // separate: 0.02 → 0.2·0.02
    assert_close!(flow(&t, "RDW", before), 0.02);
    assert_close!(flow(&t, "RDW", after), 0.02 * 0.2);
    // rural: 100 → 40 kg/day COD, 10 → 5 NH3N, TP unchanged
    assert_close!(load_kg(&t, "V1", 0, after), 40.0);
    assert_close!(load_kg(&t, "V1", 1, after), 5.0);
    assert_close!(load_kg(&t, "V1", 2, after), 1.0);
    assert_close!(load_kg(&t, "V1", 0, before), 100.0);
    // diversion: a new inflow at J
    let div = t
        .inflows
        .iter()
        .find(|i| i.group == "diversion DIV")
        .unwrap();
    assert_eq!(t.nodes[div.node].id, "J");
    assert_eq!(div.flow_m3s.at(before), 0.0);
    assert_close!(div.flow_m3s.at(after), 0.5);
    // boundary improvement from day 4: COD 40 → 20, others unchanged
    assert_close!(t.inflows[0].concentration[0].at(3.9 * DAY), 40.0);
    assert_close!(t.inflows[0].concentration[0].at(4.0 * DAY), 20.0);
    assert_close!(t.inflows[0].concentration[1].at(4.0 * DAY), 2.5);
    // dredging: R1's release 0.02 g/m²/day TP over 3000 m × 10 m = 0.6 kg/day, then 0.15 kg/day,
    // as a line load over the whole reach; the reach's own release set to zero
    assert_eq!(t.reaches[0].release_g_m2_day, vec![0.0; 3]);
    let ll = t.line_loads.iter().find(|l| l.id == "R1:release").unwrap();
    assert_eq!((ll.reach, ll.from_m, ll.to_m), (0, 0.0, 3000.0));
    assert_close!(ll.kg_per_day[2].at(before), 0.6);
    assert_close!(ll.kg_per_day[2].at(after), 0.15);
    assert_eq!(ll.kg_per_day[0].at(after), 0.0);
    // dredging's decay: COD k0 → 0.05 1/day over a 2-day ramp from day 2 in daily steps holding the
    // ramp's mean (¼ then ¾ of the way), other pollutants unchanged, nothing before day 2
    let k0 = m.reaches[0].decay_per_day[0];
    assert!(
        t.decay_changes
            .iter()
            .all(|c| c.reach == 0 && c.t_s >= 2.0 * DAY)
    );
    assert_eq!(t.decay_per_day_at(0, 0, before), k0);
    assert_close!(t.decay_per_day_at(0, 0, 2.5 * DAY), k0 + 0.25 * (0.05 - k0));
    assert_close!(t.decay_per_day_at(0, 0, 3.5 * DAY), k0 + 0.75 * (0.05 - k0));
    assert_close!(t.decay_per_day_at(0, 0, after), 0.05);
    assert_eq!(
        t.decay_per_day_at(0, 1, after),
        m.reaches[0].decay_per_day[1]
    );
}

#[test]
fn dredging_as_line_load_matches_the_release_it_replaces() {
    // A dredging project that finishes after the end leaves the release as it was, but moved to a line load:
    // the transport must give the same concentrations (same mass per cell; 1e-9 relative: a different sum
    // order of the same source terms).
    let extra = r#"
[[projects]]
id = "DRG"
kind = "dredging"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-03"
reaches = ["R1"]
release_g_m2_day = { TP = 0.02 }
"#;
    let m = load(extra);
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    assert!(t.line_loads.iter().any(|l| l.id == "R1:release"));
    let (a, b) = (run(&m), run(&t));
    for (x, y) in a
        .section_conc
        .iter()
        .flatten()
        .zip(b.section_conc.iter().flatten())
    {
        assert!((x - y).abs() <= 1e-9 * x.abs().max(1e-12), "{x} vs {y}");
    }
}

fn has(ps: &[scenario::Problem], item: &str, field: &str) -> bool {
    ps.iter().any(|p| p.item == item && p.field == field)
}

#[test]
fn every_validation_problem_is_reported_at_once() {
    let extra = r#"
[[sewers]]
id = "trunk"
capacity_m3s = -1.0
overflow = { reach = "NOPE", at_m = 10.0 }

[[sewers]]
id = "trunk"
capacity_m3s = 1.0
overflow = { reach = "R1", at_m = 10.0 }
to_plant = "WWTP"
discharge = { reach = "R1", at_m = 20.0 }

[[sewers]]
id = "s3"
capacity_m3s = 1.0
overflow = { reach = "R1", at_m = 10.0 }
to_plant = "NOPLANT"

[[projects]]
id = "PJ1"
kind = "intercept"
cost = -5.0
start = "2025-06-01"
finish = "2025-03-01"
outfalls = ["P1", "PX"]
efficiency = 1.5
sewer = "nosewer"
construction_load_kg_per_day = { COD = 10.0 }

[[projects]]
id = "PJ2"
kind = "teleport"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"

[[projects]]
id = "PJ2"
kind = "separate"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"
outfalls = ["P1"]

[[projects]]
id = "PJ4"
kind = "rural_treatment"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"
group = "nogroup"
reduction = { COD = 1.2 }

[[projects]]
id = "PJ5"
kind = "diversion"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"
node = "NONODE"
flow_m3s = 1.0

[[projects]]
id = "PJ6"
kind = "dredging"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"
reaches = ["R9"]
decay_per_day = { COD = 0.1 }

[[projects]]
id = "PJ7"
kind = "plant"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-02"
plant = "WWTP"
capacity_m3s = -2.0
node = "J"

[[alternatives]]
id = "late"
delay = { PJ1 = "two years", PJZ = "30d" }
without = ["PJQ"]
"#;
    let ps = problems(extra);
    let show: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
    let show = show.join("\n");
    let expect = [
        ("sewer trunk", "capacity_m3s"),    // negative capacity
        ("sewer trunk", "overflow.reach"),  // unknown reach
        ("sewer trunk", "to_plant"),        // neither destination (first) …
        ("sewer trunk", "id"),              // duplicate id
        ("sewer trunk", "discharge"),       // … both destinations (second)
        ("sewer s3", "to_plant"),           // unknown plant
        ("project PJ1", "cost"),            // negative cost
        ("project PJ1", "finish"),          // finish before start
        ("project PJ1", "outfalls"),        // unknown outfall PX
        ("project PJ1", "efficiency"),      // outside [0, 1]
        ("project PJ1", "sewer"),           // unknown sewer
        ("project PJ1", "construction_at"), // construction load without a place
        ("project PJ2", "kind"),            // unknown kind
        ("project PJ2", "id"),              // duplicate project id
        ("project PJ2", "outfalls"),        // separate on a sewage outfall
        ("project PJ4", "group"),           // unknown group
        ("project PJ4", "reduction.COD"),   // reduction outside [0, 1]
        ("project PJ5", "node"),            // unknown node
        ("project PJ6", "reaches"),         // unknown reach
        ("project PJ7", "capacity_m3s"),    // negative capacity
        ("project PJ7", "node"),            // a key foreign to the kind
        ("alternative late", "delay.PJ1"),  // unparsable duration
        ("alternative late", "delay.PJZ"),  // unknown project
        ("alternative late", "without"),    // unknown project
    ];
    for (item, field) in expect {
        assert!(
            has(&ps, item, field),
            "missing problem {item} / {field} in:\n{show}"
        );
    }
    // every problem names the file and says what would be valid; the unknown kind lists the valid kinds
    assert!(
        ps.iter()
            .all(|p| p.file == Path::new("/tmp/projects-test/scenario.toml")
                && !p.expected.is_empty())
    );
    let kind = ps
        .iter()
        .find(|p| p.item == "project PJ2" && p.field == "kind")
        .unwrap();
    assert_eq!(kind.value, "teleport");
    for k in rivsim::model::ProjectKind::NAMES {
        assert!(kind.expected.contains(k), "{}", kind.expected);
    }
    let eff = ps
        .iter()
        .find(|p| p.item == "project PJ1" && p.field == "efficiency")
        .unwrap();
    assert_eq!(eff.value, "1.5");
    assert!(eff.line.is_some());
    // an unknown key is refused by serde with the list of valid keys
    let ps = problems("[[projects]]\nid = \"X\"\ncolour = \"red\"\n");
    assert!(
        ps.iter()
            .any(|p| p.field == "colour" && p.expected.contains("kind")),
        "{ps:?}"
    );
}

#[test]
fn selections_from_the_command_line() {
    let m = load(&intercept("2025-01-04", ""));
    assert!(Selection::without(&m, &["PJX".into()]).is_err());
    let e = Selection::only(&m, &["PJX".into()]).unwrap_err();
    assert!(e.problems[0].expected.contains("PJ1"));
    assert_eq!(
        Selection::only(&m, &["PJ1".into()]).unwrap(),
        Selection::all(&m)
    );
}

#[test]
fn alternative_delay_shifts_the_dates() {
    let extra = format!(
        "{}\n[[alternatives]]\nid = \"late\"\nname = \"two days late\"\ndelay = {{ PJ1 = \"2d\" }}\n",
        intercept("2025-01-04", "")
    );
    let m = load(&extra);
    assert_eq!(m.alternatives[0].delay_s, vec![(0, 2.0 * DAY)]);
    let t = projects::apply(&m, &Selection::alternative(&m, &m.alternatives[0])).unwrap();
    assert_close!(flow(&t, "P1", 4.9 * DAY), 0.05);
    assert_close!(flow(&t, "P1", 5.0 * DAY), 0.0);
}

#[test]
fn compare_end_to_end() {
    let extra = format!(
        "{}\n[[alternatives]]\nid = \"late\"\ndelay = {{ PJ1 = \"5d\" }}\n",
        intercept("2025-01-04", "")
    );
    let m = load(&extra);
    let net = rivsim::network::Network::build(&m);
    let p = pipeline::Prepared { model: m, net };
    let dir = tempfile::tempdir().unwrap();
    let (outcomes, files) = pipeline::compare(&p, dir.path()).unwrap();
    assert_eq!(files.len(), 4);
    let names: Vec<&str> = outcomes.iter().map(|o| o.alternative.as_str()).collect();
    assert_eq!(names, ["baseline", "all", "late"]);
    let csv = std::fs::read_to_string(dir.path().join("compare.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    // DESIGN.md §11: the `year` column, `run` when the scenario assesses the whole run
    assert_eq!(
        lines[0],
        "alternative,zone,year,class,compliant,compliance_rate"
    );
    // 3 alternatives × 2 zones
    assert_eq!(lines.len(), 1 + 6);
    assert!(lines[1].starts_with("baseline,Z1,run,"));
    assert!(lines[2].starts_with("baseline,Z2,run,"));
    assert!(lines[5].starts_with("late,Z1,run,"));
    let km = std::fs::read_to_string(dir.path().join("compare_km.csv")).unwrap();
    let lines: Vec<&str> = km.lines().collect();
    assert_eq!(lines[0], "alternative,time,I,II,III,IV,V,V+");
    // 11 output times (day 0 … day 10) per alternative
    assert_eq!(lines.len(), 1 + 3 * 11);
    assert!(lines[1].starts_with("baseline,2025-01-01T00:00:00,"));
    // every row's kilometres add up to the 6 km of the network (both reaches are classified)
    for l in &lines[1..] {
        let total: f64 = l
            .split(',')
            .skip(2)
            .map(|x| x.parse::<f64>().unwrap())
            .sum();
        assert!((total - 6.0).abs() < 1e-12, "{l}");
    }
    // the baseline is the model without projects: same km as a direct run of it
    let base = &outcomes[0];
    let hyd = pipeline::hydraulics(&p).unwrap();
    let r = pipeline::simulate(&p, &hyd, false).unwrap();
    let direct = rivsim::targets::rivers::km_per_class_at_each_time(&p.model, &r).unwrap();
    assert_eq!(base.km, direct);
    // "late" equals "all" before the original finish (day 3) and "baseline" until the delayed one (day 8)
    let svg = std::fs::read_to_string(dir.path().join("compare_worse_than_v.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("late"));
    // in steady mode each output time is the steady state of its flow period, so "late" on day 5 equals the
    // baseline on day 5 and "all" on day 9 equals "late" on day 9
    let sec = |o: &projects::CompareOutcome, d: usize| o.km[d];
    assert_eq!(sec(&outcomes[2], 5), sec(&outcomes[0], 5));
    assert_eq!(sec(&outcomes[2], 9), sec(&outcomes[1], 9));
}

#[test]
fn command_line_compare_and_selection_flags() {
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("scenario.toml");
    std::fs::write(&scen, text(&intercept("2025-01-04", ""))).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let out = dir.path().join("cmp");
    rivsim_ok(&["compare", &path(&scen), "--out", &path(&out)]);
    for f in [
        "compare.csv",
        "compare_km.csv",
        "compare_worse_than_v.svg",
        "compare_worse_than_v.png",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // an unknown project id is an input error (exit code 2) naming the valid ids
    let o = rivsim_cmd(&[
        "run",
        &path(&scen),
        "--out",
        &path(&out),
        "--no-plots",
        "--only",
        "NOPE",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("PJ1"));
    // --without PJ1: the sections equal a run of the baseline (bit for bit in the CSV text)
    let run = |scenario: &Path, extra: &[&str], out: &Path| {
        let mut args = vec!["run".to_string(), path(scenario), "--out".into(), path(out)];
        args.push("--no-plots".into());
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rivsim_ok(&args);
        std::fs::read_to_string(out.join("sections.csv")).unwrap()
    };
    let without = run(&scen, &["--without", "PJ1"], &dir.path().join("a"));
    let only_none_file = dir.path().join("base.toml");
    std::fs::write(&only_none_file, text(SEWER_TO_PLANT)).unwrap();
    let base = run(&only_none_file, &[], &dir.path().join("b"));
    assert_eq!(without, base);
    let all = run(&scen, &[], &dir.path().join("c"));
    assert_ne!(all, base);
}

/// The rivsim binary run with `args`.
fn rivsim_cmd(args: &[&str]) -> std::process::Output {
    support::rivsim().args(args).output().unwrap()
}

/// The rivsim binary run with `args`, which must succeed (exit code 0; stderr shown otherwise).
fn rivsim_ok(args: &[&str]) {
    support::assert_exit_ok(&rivsim_cmd(args), &format!("{args:?}"));
}

#[test]
fn plant_bypass_then_expansion_and_sewer_discharge() {
    // P1 (0.05 m³/s) into a trunk to a plant with capacity 0.03: 0.03 treated at 50/5/0.5, 0.02 bypassed at
    // the influent 250/30/4 at the bypass point. The plant project raises capacity to 0.1 from day 6
    // (2025-01-07): everything treated. P2 into a second sewer that discharges untreated at R2 100 m.
    let extra = r#"
[[plants]]
id = "SMALL"
capacity_m3s = 0.03
effluent = { COD = 50.0, NH3N = 5.0 }
discharge = { reach = "R2", at_m = 2000.0 }
bypass = { reach = "R2", at_m = 200.0 }

[[sewers]]
id = "trunk"
capacity_m3s = 1.0
overflow = { reach = "R1", at_m = 2500.0 }
to_plant = "SMALL"

[[sewers]]
id = "pipe"
capacity_m3s = 1.0
overflow = { reach = "R1", at_m = 2500.0 }
discharge = { reach = "R2", at_m = 100.0 }

[[projects]]
id = "I1"
kind = "intercept"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-01"
outfalls = ["P1"]
sewer = "trunk"

[[projects]]
id = "I2"
kind = "intercept"
cost = 1.0
start = "2025-01-01"
finish = "2025-01-01"
outfalls = ["P2"]
efficiency = 0.5
sewer = "pipe"

[[projects]]
id = "UP"
kind = "plant"
cost = 3.0
start = "2025-01-02"
finish = "2025-01-07"
plant = "SMALL"
capacity_m3s = 0.1
"#;
    let m = load(extra);
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    let (before, after) = (2.0 * DAY, 7.0 * DAY);
    assert_close!(flow(&t, "SMALL:effluent", before), 0.03);
    assert_close!(flow(&t, "SMALL:bypass", before), 0.02);
    assert_close!(conc(&t, "SMALL:effluent", 0, before), 50.0);
    assert_close!(conc(&t, "SMALL:effluent", 1, before), 5.0);
    // TP is not named in the effluent: it leaves at its influent concentration
    assert_close!(conc(&t, "SMALL:effluent", 2, before), 4.0);
    assert_close!(conc(&t, "SMALL:bypass", 0, before), 250.0);
    let bp = outfall(&t, "SMALL:bypass").unwrap();
    assert_eq!(
        (bp.reach, bp.at_m, bp.kind),
        (1, 200.0, OutfallKind::Overflow)
    );
    assert_close!(flow(&t, "SMALL:effluent", after), 0.05);
    assert_close!(flow(&t, "SMALL:bypass", after), 0.0);
    // half of P2 (0.04) goes untreated to R2 at 100 m; P2 keeps the other half
    let d = outfall(&t, "pipe:discharge").unwrap();
    assert_eq!((d.reach, d.at_m, d.kind), (1, 100.0, OutfallKind::Sewage));
    assert_close!(flow(&t, "pipe:discharge", before), 0.02);
    assert_close!(conc(&t, "pipe:discharge", 0, before), 200.0);
    assert_close!(flow(&t, "P2", before), 0.02);
}

/// The scenario text with `effluent = { … }` of the plant WWTP replaced by `effluent = {effluent}`.
fn with_plant_effluent(effluent: &str, extra: &str) -> String {
    let base = text(extra);
    let old = "effluent = { COD = 50.0, NH3N = 5.0, TP = 0.5 }";
    assert!(base.contains(old));
    base.replacen(old, &format!("effluent = {effluent}"), 1)
}

fn load_text(t: &str) -> Result<Model, scenario::ScenarioError> {
    scenario::load_str(t, Path::new("/tmp/projects-test/scenario.toml"))
}

#[test]
fn plant_effluent_by_gb18918_class_name() {
    // effluent = "1A": GB 18918-2002 Table 1 class 1A (gb18918-2002-class1.csv, column class_1A):
    // COD 50, NH3N 5 (the warm-water limit, water above 12 °C), TP 0.5 mg/L. The test scenario simulates
    // COD, NH3N, TP, so all three are treated; the copy is exact (no arithmetic), hence assert_eq.
    let m = load_text(&with_plant_effluent("\"1A\"", &intercept("2025-01-04", ""))).unwrap();
    assert_eq!(m.plants[0].effluent, [Some(50.0), Some(5.0), Some(0.5)]);
    // P1 (250/30/4 mg/L, 0.05 m³/s) intercepted into the plant from day 3: it leaves at exactly the table
    // values, since the influent is above every limit (min(C_in, C_eff) = C_eff).
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    for (p, c) in [(0, 50.0), (1, 5.0), (2, 0.5)] {
        assert_eq!(conc(&t, "WWTP:effluent", p, 5.0 * DAY), c);
    }
    assert_close!(flow(&t, "WWTP:effluent", 5.0 * DAY), 0.05);
    // the cold-water and 1B columns: NH3N 8 (1A_cold), 1B: COD 60, NH3N 8, TP 1; 1B_cold: NH3N 15
    for (name, want) in [
        ("1A_cold", [50.0, 8.0, 0.5]),
        ("1B", [60.0, 8.0, 1.0]),
        ("1B_cold", [60.0, 15.0, 1.0]),
    ] {
        let m = load_text(&with_plant_effluent(&format!("\"{name}\""), "")).unwrap();
        assert_eq!(m.plants[0].effluent, want.map(Some), "{name}");
    }
}

#[test]
fn gb18918_class_covers_only_its_pollutants() {
    // a scenario simulating COD, BOD5, TN and CODMn: class 1A limits COD 50, BOD5 10, TN 15; CODMn is not
    // in GB 18918 and stays untreated (None: the plant passes it at its influent concentration)
    let t = with_plant_effluent("\"1A\"", "").replacen(
        "pollutants = [\"COD\", \"NH3N\", \"TP\"]",
        "pollutants = [\"COD\", \"BOD5\", \"TN\", \"CODMn\"]",
        1,
    );
    // the base text's per-pollutant tables name NH3N and TP: keep only their COD entries for this variant
    let t = only_cod_entries(&t.replace("release_g_m2_day = { TP = 0.02 }", ""));
    let m = load_text(&t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.pollutants, ["COD", "BOD5", "TN", "CODMn"]);
    assert_eq!(
        m.plants[0].effluent,
        [Some(50.0), Some(10.0), Some(15.0), None]
    );
}

/// Drop the NH3N and TP entries of the inline concentration / load tables of the base text.
fn only_cod_entries(t: &str) -> String {
    t.lines()
        .map(|l| {
            if let Some(open) = l.find("{ COD = ") {
                // keep only the COD entry
                let close = l[open..]
                    .find([',', '}'])
                    .map(|k| open + k)
                    .unwrap_or(l.len());
                format!("{} }}", &l[..close])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn plant_project_upgrades_to_a_class() {
    // the plant treats COD only (60 mg/L) until the upgrade to 1A finishes on day 6 (2025-01-07): then COD 50,
    // NH3N 5, TP 0.5 (before, NH3N and TP leave at the influent 30 and 4 mg/L)
    let extra = format!(
        "{}\n[[projects]]\nid = \"UP\"\nkind = \"plant\"\ncost = 3.0\nstart = \"2025-01-02\"\n\
         finish = \"2025-01-07\"\nplant = \"WWTP\"\neffluent = \"1A\"\n",
        intercept("2025-01-01", "")
    );
    let m = load_text(&with_plant_effluent("{ COD = 60.0 }", &extra)).unwrap();
    let t = projects::apply(&m, &Selection::all(&m)).unwrap();
    for (p, before, after) in [(0, 60.0, 50.0), (1, 30.0, 5.0), (2, 4.0, 0.5)] {
        assert_close!(conc(&t, "WWTP:effluent", p, 5.9 * DAY), before);
        assert_close!(conc(&t, "WWTP:effluent", p, 6.0 * DAY), after);
    }
}

#[test]
fn unknown_gb18918_class_is_a_validation_problem() {
    for bad in ["\"2\"", "\"1a\"", "\"class 1A\""] {
        let e = load_text(&with_plant_effluent(bad, "")).unwrap_err();
        let p = e
            .problems
            .iter()
            .find(|p| p.item == "plant WWTP" && p.field == "effluent")
            .unwrap_or_else(|| panic!("no effluent problem for {bad}: {e}"));
        assert_eq!(p.value, bad.trim_matches('"'));
        for name in ["1A", "1A_cold", "1B", "1B_cold"] {
            assert!(p.expected.contains(name), "{}", p.expected);
        }
        assert!(p.line.is_some());
    }
    // in a plant project too, and a wrong type (a number) says both spellings
    let extra = "[[projects]]\nid = \"UP\"\nkind = \"plant\"\ncost = 1.0\nstart = \"2025-01-02\"\n\
                 finish = \"2025-01-07\"\nplant = \"WWTP\"\neffluent = \"3\"\n";
    let ps = problems(extra);
    assert!(has(&ps, "project UP", "effluent"), "{ps:?}");
    let e = load_text(&with_plant_effluent("50.0", "")).unwrap_err();
    let p = e.problems.iter().find(|p| p.field == "effluent").unwrap();
    assert_eq!(p.value, "float");
    assert!(
        p.expected.contains("mg/L") && p.expected.contains("1A"),
        "{}",
        p.expected
    );
    // a class that limits none of the simulated pollutants (only a custom "X") would treat nothing: refused
    let t = only_cod_entries(
        &with_plant_effluent("\"1A\"", "")
            .replace("release_g_m2_day = { TP = 0.02 }", "")
            .replacen(
                "pollutants = [\"COD\", \"NH3N\", \"TP\"]",
                "pollutants = [\"X\"]",
                1,
            ),
    )
    .replace("{ COD = ", "{ X = ");
    let e = load_text(&t).unwrap_err();
    let p = e
        .problems
        .iter()
        .find(|p| p.field == "effluent")
        .unwrap_or_else(|| panic!("{e}"));
    assert_eq!(p.value, "1A");
    assert!(
        p.expected.contains("NH3N") && p.expected.contains("simulates X"),
        "{}",
        p.expected
    );
    // a table entry that is not a number is named by its pollutant
    let e = load_text(&with_plant_effluent("{ COD = \"fifty\" }", "")).unwrap_err();
    assert!(
        e.problems
            .iter()
            .any(|p| p.field == "effluent.COD" && p.value == "string"),
        "{e}"
    );
}
