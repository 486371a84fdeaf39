//! Scenario loading and validation (DESIGN.md §6): a valid scenario gives the right model numbers, and each
//! class of mistake is reported with its item and field, all at once.
//!
//! Numbers compared exactly are either copied from the file or the result of one or two floating-point
//! operations whose exact result is the hand value (e.g. 0.0002 × 3000 = 0.6 to within 1 ulp), so they are
//! compared with a tolerance of 1e-12 (relative or absolute as noted) that allows that one rounding.

mod support;

use rivsim::model::*;
use rivsim::scenario::{Problem, load};
use std::path::{Path, PathBuf};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/scenario")
        .join(p)
}

fn close(a: f64, b: f64) -> bool {
    // one or two roundings of numbers of order 1–1e6: 1e-12 relative is ample and still catches any slip
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn konst(s: &Series) -> f64 {
    match s {
        Series::Const(v) => *v,
        other => panic!("expected a constant, got {other:?}"),
    }
}

#[test]
fn tiny_scenario_builds_the_expected_model() {
    let m = load(&data("tiny/scenario.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.title, "Tiny test network");
    assert_eq!(m.pollutants, ["COD", "NH3N", "TP"]);
    // 2025-01-01 → 2025-01-11T00:00 is 10 days
    assert_eq!(m.sim.end_s, 864_000.0);
    assert_eq!(m.sim.time_step_s, Some(300.0));
    assert_eq!(m.sim.output_interval_s, 3600.0);
    assert_eq!(m.sim.warmup_s, 172_800.0);
    assert_eq!(m.sim.mode, Mode::Dynamic);
    assert_eq!(m.sim.start.to_string(), "2025-01-01 00:00:00");
    assert_eq!(m.initial, InitialState::Values(vec![20.0, 0.0, 0.0]));

    let ids: Vec<&str> = m.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["U", "T", "J", "O"]);
    assert_eq!(
        m.nodes[2].kind,
        NodeKind::Junction,
        "kind defaults to junction"
    );
    assert_eq!(m.nodes[0].xy, Some((0.0, 0.0)));
    assert_eq!(m.nodes[3].level_m, Some(Series::Const(1.2)));
    let oc: Vec<f64> = m.nodes[3].concentration.iter().map(konst).collect();
    assert_eq!(oc, [15.0, 0.0, 0.0]);

    let (r1, r2, r3) = (&m.reaches[0], &m.reaches[1], &m.reaches[2]);
    assert_eq!(
        (r1.from, r1.to, r2.from, r2.to, r3.from, r3.to),
        (0, 2, 2, 3, 1, 2)
    );
    // bed levels by hand: outlet O at 0.0; J = 0 + 0.0002·3000 = 0.6; U = 0.6 + 0.0001·5000 = 1.1
    assert!(
        close(r2.bed_down_m, 0.0) && close(r2.bed_up_m, 0.6),
        "R2 {} {}",
        r2.bed_up_m,
        r2.bed_down_m
    );
    assert!(
        close(r1.bed_down_m, 0.6) && close(r1.bed_up_m, 1.1),
        "R1 {} {}",
        r1.bed_up_m,
        r1.bed_down_m
    );
    assert_eq!(
        (r3.bed_up_m, r3.bed_down_m),
        (3.0, 2.5),
        "explicit levels kept"
    );
    // defaults applied where the reach is silent, replaced whole where it speaks
    assert_eq!(
        r1.section,
        Section::Trapezoid {
            bottom_width_m: 20.0,
            side_slope: 2.0
        }
    );
    assert_eq!(r3.section, Section::Rectangle { width_m: 8.0 });
    assert_eq!(
        (r1.manning_n, r2.manning_n, r3.manning_n),
        (0.03, 0.025, 0.03)
    );
    assert_eq!(r1.decay_per_day, [0.2, 0.15, 0.0]);
    assert_eq!(
        r3.decay_per_day,
        [0.0, 0.0, 0.05],
        "the default decay table is replaced, not merged"
    );
    assert_eq!(r2.release_g_m2_day, [0.0, 0.0, 0.02]);
    assert_eq!(r1.release_g_m2_day, [0.0, 0.0, 0.0]);
    assert_eq!((r1.cell_length_m, r2.cell_length_m), (100.0, 250.0));
    assert_eq!(r1.dispersion_m2s, 5.0);
    assert_eq!(
        (r1.water_body, r3.water_body),
        (WaterBody::River, WaterBody::Lake)
    );
    assert_eq!(r1.zone, Some(0));
    assert_eq!(r2.zone, None);
    assert_eq!(r1.jurisdiction.as_deref(), Some("Town A"));
    assert_eq!(r1.level, Some(ChiefLevel::District));
    assert_eq!(r1.river.as_deref(), Some("Main"));

    // inflow U: a step series, times in seconds since start (2.5 d = 216000 s, 5 d = 432000 s)
    let u = &m.inflows[0];
    assert_eq!(u.node, 0);
    assert_eq!(
        u.flow_m3s,
        Series::Table {
            times_s: vec![0.0, 216_000.0, 432_000.0],
            values: vec![2.0, 2.5, 1.5],
            linear: false
        }
    );
    assert_eq!(
        u.concentration.iter().map(konst).collect::<Vec<_>>(),
        [30.0, 2.5, 0.35]
    );
    assert_eq!(u.group, "upstream: high-tech zone");
    // inflow T: constant flow, COD and TP from a linear series, NH3N constant; group defaults to the node id
    let t = &m.inflows[1];
    assert_eq!(t.flow_m3s, Series::Const(0.5));
    assert_eq!(
        t.concentration[0],
        Series::Table {
            times_s: vec![0.0, 86_400.0],
            values: vec![40.0, 50.0],
            linear: true
        }
    );
    assert_eq!(t.concentration[1], Series::Const(1.0));
    assert_eq!(
        t.concentration[2],
        Series::Table {
            times_s: vec![0.0, 86_400.0],
            values: vec![0.5, 0.4],
            linear: true
        }
    );
    assert_eq!(t.group, "T");

    assert_eq!(
        m.withdrawals[0].place,
        Place::Reach {
            reach: 1,
            at_m: 100.0
        }
    );
    assert_eq!(m.withdrawals[1].place, Place::Node(2));
    assert_eq!(konst(&m.withdrawals[1].flow_m3s), 0.05);

    let p1 = &m.outfalls[0];
    assert_eq!(
        (p1.reach, p1.at_m, p1.kind, p1.group.as_str()),
        (0, 1500.0, OutfallKind::Sewage, "sewage")
    );
    match &p1.discharge {
        Discharge::Flow {
            flow_m3s,
            concentration,
        } => {
            assert_eq!(konst(flow_m3s), 0.05);
            assert_eq!(
                concentration.iter().map(konst).collect::<Vec<_>>(),
                [250.0, 30.0, 4.0]
            );
        }
        other => panic!("{other:?}"),
    }
    let p2 = &m.outfalls[1];
    assert_eq!(
        (p2.reach, p2.at_m, p2.kind, p2.group.as_str()),
        (1, 0.0, OutfallKind::Industrial, "Mill")
    );
    match &p2.discharge {
        Discharge::Load { kg_per_day } => assert_eq!(
            kg_per_day.iter().map(konst).collect::<Vec<_>>(),
            [80.0, 0.0, 0.0]
        ),
        other => panic!("{other:?}"),
    }

    let l1 = &m.line_loads[0];
    assert_eq!(
        (l1.reach, l1.from_m, l1.to_m, l1.group.as_str()),
        (0, 1000.0, 5000.0, "L1"),
        "to_m defaults to the length"
    );
    assert_eq!(
        l1.kg_per_day.iter().map(konst).collect::<Vec<_>>(),
        [0.0, 5.0, 0.0]
    );

    let (z1, z2) = (&m.zones[0], &m.zones[1]);
    assert_eq!(
        (z1.target, z1.method, z1.threshold),
        (4, ComplianceMethod::Frequency, 0.9)
    );
    assert_eq!(
        (z1.parameters.clone(), z1.sections.clone()),
        (vec![0, 1], vec![0])
    );
    assert_eq!(
        (z2.target, z2.method, z2.threshold),
        (3, ComplianceMethod::AnnualMean, 0.8)
    );
    assert!(z2.parameters.is_empty() && z2.sections.is_empty());
    assert_eq!(
        (
            m.sections[0].id.as_str(),
            m.sections[0].reach,
            m.sections[0].at_m
        ),
        ("S1", 1, 2500.0)
    );

    let temp = m.temperature.as_ref().expect("temperature");
    assert_eq!(
        temp.water_c,
        Series::Table {
            times_s: vec![0.0, 864_000.0],
            values: vec![12.0, 14.0],
            linear: true
        }
    );
    assert_eq!(temp.theta, [1.047, 1.0, 1.0]);
}

#[test]
fn network_from_csv_and_geojson() {
    let m = load(&data("files/scenario.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        m.sim.start.to_string(),
        "2025-06-01 00:00:00",
        "a TOML date literal works too"
    );
    assert_eq!(m.sim.end_s, 86_400.0);
    assert_eq!(m.title, "scenario", "title defaults to the file stem");
    let ids: Vec<&str> = m.reaches.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "G1"]);
    assert_eq!(m.nodes[2].kind, NodeKind::Storage);
    assert_eq!(m.nodes[2].area_m2, Some(2500.0));
    assert_eq!(m.nodes[3].bed_m, Some(-0.5));
    assert_eq!(m.nodes[3].level_m, Some(Series::Const(1.0)));
    assert_eq!(m.nodes[1].xy, Some((1000.0, 0.0)));
    let (r1, r2, g1) = (&m.reaches[0], &m.reaches[1], &m.reaches[2]);
    assert_eq!(
        r1.section,
        Section::Trapezoid {
            bottom_width_m: 12.0,
            side_slope: 1.5
        }
    );
    assert_eq!(r2.section, Section::Rectangle { width_m: 10.0 });
    assert_eq!((r1.manning_n, r2.manning_n), (0.03, 0.028));
    assert_eq!(r1.decay_per_day, [0.3, 0.0]);
    assert_eq!(r2.decay_per_day, [0.0, 0.1]);
    // GeoJSON polyline (1000,500)→(1300,900)→(1000,900): 500 m + 300 m
    assert!(close(g1.length_m, 800.0), "{}", g1.length_m);
    assert_eq!(
        g1.geometry,
        [(1000.0, 500.0), (1300.0, 900.0), (1000.0, 900.0)]
    );
    assert_eq!(g1.river.as_deref(), Some("Pond creek"));
    // beds: D at its bed_m −0.5; R2 flat (no slope given) so B = −0.5; A = −0.5 + 0.0002·1000 = −0.3;
    // C = −0.5 + 0.001·800 = 0.3
    assert!(close(r2.bed_up_m, -0.5) && close(r2.bed_down_m, -0.5));
    assert!(
        close(r1.bed_up_m, -0.3) && close(r1.bed_down_m, -0.5),
        "{} {}",
        r1.bed_up_m,
        r1.bed_down_m
    );
    assert!(
        close(g1.bed_up_m, 0.3) && close(g1.bed_down_m, -0.5),
        "{} {}",
        g1.bed_up_m,
        g1.bed_down_m
    );
    // inflows, outfalls, sections and withdrawals from CSV (extension); empty cells are absent keys
    let a = &m.inflows[0];
    assert_eq!(
        (a.node, a.flow_m3s.clone(), a.group.as_str()),
        (0, Series::Const(1.0), "A")
    );
    assert_eq!(
        a.concentration.iter().map(konst).collect::<Vec<_>>(),
        [25.0, 0.3]
    );
    let (p1, p2) = (&m.outfalls[0], &m.outfalls[1]);
    assert_eq!(
        (p1.reach, p1.at_m, p1.kind, p1.group.as_str()),
        (0, 250.0, OutfallKind::Sewage, "sewage")
    );
    match &p1.discharge {
        Discharge::Flow {
            flow_m3s,
            concentration,
        } => {
            assert_eq!(konst(flow_m3s), 0.02);
            assert_eq!(
                concentration.iter().map(konst).collect::<Vec<_>>(),
                [300.0, 0.0]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (p2.reach, p2.at_m, p2.kind, p2.group.as_str()),
        (2, 800.0, OutfallKind::Rural, "village")
    );
    match &p2.discharge {
        Discharge::Load { kg_per_day } => assert_eq!(
            kg_per_day.iter().map(konst).collect::<Vec<_>>(),
            [12.5, 0.4]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (
            m.sections[0].id.as_str(),
            m.sections[0].reach,
            m.sections[0].at_m
        ),
        ("S1", 1, 1500.0)
    );
    assert_eq!(
        m.withdrawals[0].place,
        Place::Reach {
            reach: 1,
            at_m: 750.0
        }
    );
}

// ---------------------------------------------------------------- error classes

const BASE: &str = support::one_reach!();

/// Write `toml` (and extra files) into a fresh directory and load it; return the problems.
fn problems_with(toml: &str, files: &[(&str, &str)]) -> Vec<Problem> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let path = dir.path().join("s.toml");
    std::fs::write(&path, toml).unwrap();
    match load(&path) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    }
}

fn problems(toml: &str) -> Vec<Problem> {
    problems_with(toml, &[])
}

/// The problem with this item and field, or a panic listing what was found.
fn find<'a>(ps: &'a [Problem], item: &str, field: &str) -> &'a Problem {
    ps.iter()
        .find(|p| p.item == item && p.field == field)
        .unwrap_or_else(|| panic!("no problem for {item} / {field}; found:\n{}", list(ps)))
}

fn list(ps: &[Problem]) -> String {
    ps.iter().map(|p| format!("  {p}\n")).collect()
}

#[test]
fn base_is_valid() {
    assert!(problems(BASE).is_empty(), "{}", list(&problems(BASE)));
}

#[test]
fn unknown_key_lists_valid_keys_with_line() {
    let ps = problems(&BASE.replace("length_m = 1000.0", "length_m = 1000.0\nmanning = 0.03"));
    let p = find(&ps, "reach R1", "manning");
    assert!(
        p.expected.contains("manning_n") && p.expected.contains("length_m"),
        "{p}"
    );
    // the key is on line 27 of BASE (which starts with an empty line)
    let line = BASE
        .replace("length_m = 1000.0", "length_m = 1000.0\nmanning = 0.03")
        .lines()
        .position(|l| l.starts_with("manning ="))
        .unwrap()
        + 1;
    assert_eq!(p.line, Some(line));
    let ps = problems(&format!("{BASE}\n[simulaton]\nx = 1\n"));
    let p = find(&ps, "scenario", "simulaton");
    assert!(p.expected.contains("simulation"), "{p}");
}

#[test]
fn syntax_error_has_line() {
    let text = format!("{BASE}\n[[reaches]\nid = \"R2\"\n");
    let ps = problems(&text);
    assert_eq!(ps[0].item, "TOML syntax");
    let line = text.lines().position(|l| l == "[[reaches]").unwrap() + 1;
    assert_eq!(ps[0].line, Some(line), "{}", list(&ps));
}

#[test]
fn duplicate_ids() {
    let ps = problems(&format!(
        "{BASE}\n[[nodes]]\nid = \"A\"\n\n[[reaches]]\nid = \"R1\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 5.0\n"
    ));
    let p = find(&ps, "node A", "id");
    assert!(p.expected.contains("already used at"), "{p}");
    find(&ps, "reach R1", "id");
    let extra = "\n[[zones]]\nid = \"Z\"\ntarget = \"II\"\n[[zones]]\nid = \"Z\"\ntarget = \"II\"\n[[sections]]\nid = \"S\"\nreach = \"R1\"\nat_m = 1.0\n[[sections]]\nid = \"S\"\nreach = \"R1\"\nat_m = 2.0\n[[outfalls]]\nid = \"P\"\nreach = \"R1\"\nat_m = 1.0\nkind = \"sewage\"\nload_kg_per_day = { COD = 1.0 }\n[[outfalls]]\nid = \"P\"\nreach = \"R1\"\nat_m = 1.0\nkind = \"sewage\"\nload_kg_per_day = { COD = 1.0 }\n";
    let ps = problems(&format!("{BASE}{extra}"));
    find(&ps, "zone Z", "id");
    find(&ps, "section S", "id");
    find(&ps, "outfall P", "id");
    assert_eq!(ps.len(), 3, "{}", list(&ps));
}

#[test]
fn reach_to_missing_node_and_from_equals_to() {
    let ps = problems(&BASE.replace("to = \"B\"", "to = \"X\""));
    let p = find(&ps, "reach R1", "to");
    assert_eq!(p.value, "X");
    let ps = problems(&BASE.replace("to = \"B\"", "to = \"A\""));
    let p = find(&ps, "reach R1", "to");
    assert!(p.expected.contains("other than `from`"), "{p}");
}

#[test]
fn lengths_widths_slopes_manning() {
    for (bad, field) in [
        ("length_m = 0.0", "length_m"),
        ("length_m = -5.0", "length_m"),
        ("length_m = nan", "length_m"),
        ("length_m = inf", "length_m"),
        ("length_m = 1e400", "length_m"),
    ] {
        let ps = problems(&BASE.replace("length_m = 1000.0", bad));
        let p = find(&ps, "reach R1", field);
        assert!(
            p.expected.contains("> 0") || p.expected.contains("finite number"),
            "{bad}: {p}"
        );
    }
    let ps = problems(&BASE.replace("width_m = 10.0", "width_m = -1.0"));
    assert_eq!(find(&ps, "[defaults]", "section.width_m").value, "-1");
    let ps = problems(&BASE.replace(
        "length_m = 1000.0",
        "length_m = 1000.0\nsection = { shape = \"trapezoid\", bottom_width_m = 5.0, side_slope = -2.0 }",
    ));
    find(&ps, "reach R1", "section.side_slope");
    for n in ["0.0", "0.25", "-0.01"] {
        let ps = problems(&BASE.replace("manning_n = 0.03", &format!("manning_n = {n}")));
        let p = find(&ps, "[defaults]", "manning_n");
        assert!(p.expected.contains("(0, 0.2]"), "{p}");
    }
    // a reach's own manning_n is checked on the reach; 0.2 itself is allowed
    let ps = problems(&BASE.replace("length_m = 1000.0", "length_m = 1000.0\nmanning_n = 0.2"));
    assert!(ps.is_empty(), "{}", list(&ps));
}

#[test]
fn positions_outside_the_reach_even_when_the_reach_has_another_error() {
    let extra = r#"
[[outfalls]]
id = "P1"
reach = "R1"
at_m = 1500.0
flow_m3s = 0.1
kind = "sewage"

[[sections]]
id = "S1"
reach = "R1"
at_m = -1.0

[[withdrawals]]
reach = "R1"
at_m = 1000.5
flow_m3s = 0.1

[[line_loads]]
id = "L1"
reach = "R1"
from_m = 200.0
to_m = 2000.0
load_kg_per_day = { COD = 1.0 }
"#;
    // the reach also has a bad Manning n: the position checks still run
    let text = format!(
        "{}{extra}",
        BASE.replace("length_m = 1000.0", "length_m = 1000.0\nmanning_n = 5.0")
    );
    let ps = problems(&text);
    find(&ps, "reach R1", "manning_n");
    let p = find(&ps, "outfall P1", "at_m");
    assert!(p.expected.contains("0 to 1000 m"), "{p}");
    find(&ps, "section S1", "at_m");
    find(&ps, "withdrawal #1", "at_m");
    find(&ps, "line load L1", "to_m");
    assert_eq!(ps.len(), 5, "{}", list(&ps));
}

#[test]
fn no_outlet_and_cut_off_parts() {
    let ps = problems(&BASE.replace("kind = \"outlet\"\nlevel_m = 1.0", "kind = \"junction\""));
    let p = find(&ps, "network", "");
    assert!(p.expected.contains("outlet"), "{p}");
    let extra = "\n[[nodes]]\nid = \"C\"\n[[nodes]]\nid = \"D\"\n[[reaches]]\nid = \"R9\"\nfrom = \"C\"\nto = \"D\"\nlength_m = 10.0\n";
    let ps = problems(&format!("{BASE}{extra}"));
    let p = find(&ps, "node C", "");
    assert!(
        p.expected.contains("cut off")
            && p.expected.contains("C, D")
            && p.expected.contains("no held level"),
        "{p}"
    );
    assert_eq!(ps.len(), 1, "{}", list(&ps));
}

#[test]
fn boundary_without_inflow_and_inflow_at_unknown_node() {
    let ps = problems(&BASE.replace("node = \"A\"", "node = \"Q\""));
    assert_eq!(find(&ps, "inflow #1 (node Q)", "node").value, "Q");
    find(&ps, "node A", "kind");
}

#[test]
fn unknown_pollutants_name_the_declared_ones() {
    let ps = problems(&BASE.replace(
        "flow_m3s = 1.0",
        "flow_m3s = 1.0\nconcentration = { COD = 1.0, BOD = 2.0 }",
    ));
    let p = find(&ps, "inflow #1 (node A)", "concentration");
    assert_eq!(p.value, "BOD");
    assert!(p.expected.contains("COD, TP"), "{p}");
    let ps = problems(&BASE.replace(
        "length_m = 1000.0",
        "length_m = 1000.0\ndecay_per_day = { NH3N = 0.1 }\nrelease_g_m2_day = { XX = 0.1 }",
    ));
    assert_eq!(find(&ps, "reach R1", "decay_per_day").value, "NH3N");
    assert_eq!(find(&ps, "reach R1", "release_g_m2_day").value, "XX");
}

#[test]
fn time_series_problems_name_file_and_line() {
    let toml = BASE.replace("flow_m3s = 1.0", "flow_series = \"ts/q.csv\"");
    let csv = "time,flow_m3s\n2025-01-01,1\n2025-01-01T06:00,2\n2025-01-01T03:00,2\n2025-01-01T03:00,2\nnoon,3\n2025-01-02,nan\n2025-01-03,-1\n";
    let ps = problems_with(&toml, &[("ts/q.csv", csv)]);
    let at = |line: usize| {
        ps.iter()
            .find(|p| p.line == Some(line) && p.file.ends_with("ts/q.csv"))
            .unwrap_or_else(|| panic!("no problem on line {line}:\n{}", list(&ps)))
    };
    assert!(
        at(4).expected.contains("earlier than the one on line 3"),
        "{}",
        at(4)
    );
    assert!(at(5).expected.contains("duplicate"), "{}", at(5));
    assert_eq!(
        (at(6).field.as_str(), at(6).value.as_str()),
        ("time", "noon")
    );
    assert_eq!(at(7).field, "flow_m3s");
    assert!(at(8).expected.contains("≥ 0"), "negative flow: {}", at(8));
    // an unknown column, and a missing column
    let ps = problems_with(&toml, &[("ts/q.csv", "time,flow\n2025-01-01,1\n")]);
    assert_eq!(find(&ps, "inflow #1 (node A)", "column").value, "flow");
    let ps = problems_with(&toml, &[("ts/q.csv", "time,COD\n2025-01-01,1\n")]);
    assert!(
        find(&ps, "inflow #1 (node A)", "flow_series")
            .expected
            .contains("column `flow_m3s`")
    );
    // a missing file
    let ps = problems(&toml);
    assert!(ps[0].expected.contains("does not exist"), "{}", list(&ps));
}

#[test]
fn network_csv_unknown_column_and_bad_cell() {
    let toml = BASE.replace(
        "[[reaches]]\nid = \"R1\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 1000.0\n",
        "[network]\nreaches_csv = \"r.csv\"\n",
    );
    let csv = "id,from,to,length_m,manning,section.shape,section.width_m\nR1,A,B,1000,0.03,rectangle,wide\n";
    let ps = problems_with(&toml, &[("r.csv", csv)]);
    let p = find(&ps, "reaches CSV", "column");
    assert_eq!((p.value.as_str(), p.line), ("manning", Some(1)));
    assert!(p.expected.contains("manning_n"), "{p}");
    let p = find(&ps, "reach R1", "section.width_m");
    assert_eq!((p.value.as_str(), p.line), ("wide", Some(2)));
    assert!(p.file.ends_with("r.csv"));
}

#[test]
fn simulation_times() {
    let ps = problems(&BASE.replace("end = \"2025-01-02\"", "end = \"2024-12-31\""));
    find(&ps, "[simulation]", "end");
    let ps = problems(&BASE.replace("end = \"2025-01-02\"", "end = \"2025-01-01\""));
    find(&ps, "[simulation]", "end");
    let ps = problems(&BASE.replace("output_interval = \"1h\"", "output_interval = \"0s\""));
    find(&ps, "[simulation]", "output_interval");
    let ps = problems(&BASE.replace(
        "output_interval = \"1h\"",
        "output_interval = \"1h\"\nwarmup = \"1d\"",
    ));
    find(&ps, "[simulation]", "warmup");
    let ps = problems(&BASE.replace("output_interval = \"1h\"", "output_interval = \"1 hour\""));
    assert!(
        find(&ps, "[simulation]", "output_interval")
            .expected
            .contains("s, min, h or d")
    );
    let ps = problems(&BASE.replace("start = \"2025-01-01\"", "start = \"2025-02-30\""));
    find(&ps, "[simulation]", "start");
}

#[test]
fn unknown_enum_values_list_the_valid_ones() {
    let cases = [
        (
            "kind = \"outlet\"",
            "kind = \"sea\"",
            "node B",
            "kind",
            "junction, boundary, outlet, storage",
        ),
        (
            "width_m = 10.0 }",
            "width_m = 10.0, shape = \"round\" }",
            "",
            "",
            "",
        ),
        (
            "pollutants = [\"COD\", \"TP\"]",
            "pollutants = [\"COD\", \"TP\"]\nmode = \"fast\"",
            "[simulation]",
            "mode",
            "dynamic, steady",
        ),
        (
            "length_m = 1000.0",
            "length_m = 1000.0\nwater_body = \"sea\"",
            "reach R1",
            "water_body",
            "river, lake",
        ),
        (
            "length_m = 1000.0",
            "length_m = 1000.0\nlevel = \"county\"",
            "reach R1",
            "level",
            "district, town, village",
        ),
    ];
    for (from, to, item, field, valid) in cases {
        if item.is_empty() {
            continue; // duplicate key `shape` is a TOML error, covered elsewhere
        }
        let ps = problems(&BASE.replace(from, to));
        let p = find(&ps, item, field);
        assert!(p.expected.contains(valid), "{p}");
    }
    let ps = problems(&BASE.replace("shape = \"rectangle\"", "shape = \"round\""));
    assert!(
        find(&ps, "[defaults]", "section.shape")
            .expected
            .contains("rectangle, trapezoid, table")
    );
    let zone = "\n[[zones]]\nid = \"Z\"\ntarget = \"VI\"\nmethod = \"median\"\nthreshold = 1.5\n";
    let ps = problems(&format!("{BASE}{zone}"));
    assert!(
        find(&ps, "zone Z", "target")
            .expected
            .contains("\"I\", \"II\", \"III\", \"IV\", \"V\"")
    );
    assert!(
        find(&ps, "zone Z", "method")
            .expected
            .contains("\"annual_mean\" (default) or \"frequency\"")
    );
    assert!(find(&ps, "zone Z", "threshold").expected.contains("(0, 1]"));
    let of = "\n[[outfalls]]\nid = \"P\"\nreach = \"R1\"\nat_m = 1.0\nkind = \"storm\"\nload_kg_per_day = { COD = 1.0 }\n";
    let ps = problems(&format!("{BASE}{of}"));
    assert!(
        find(&ps, "outfall P", "kind")
            .expected
            .contains("rain_dry_weather")
    );
}

#[test]
fn negative_flow_and_concentration() {
    let ps = problems(&BASE.replace(
        "flow_m3s = 1.0",
        "flow_m3s = -1.0\nconcentration = { COD = -3.0 }",
    ));
    assert_eq!(find(&ps, "inflow #1 (node A)", "flow_m3s").value, "-1");
    assert_eq!(
        find(&ps, "inflow #1 (node A)", "concentration.COD").value,
        "-3"
    );
}

#[test]
fn references_to_unknown_reaches_sections_zones() {
    let extra = "\n[[sections]]\nid = \"S1\"\nreach = \"R7\"\nat_m = 1.0\n[[zones]]\nid = \"Z\"\ntarget = \"III\"\nsections = [\"S9\"]\n";
    let ps = problems(&format!(
        "{}{extra}",
        BASE.replace("length_m = 1000.0", "length_m = 1000.0\nzone = \"Z5\"")
    ));
    assert_eq!(find(&ps, "section S1", "reach").value, "R7");
    assert_eq!(find(&ps, "zone Z", "sections").value, "S9");
    assert_eq!(find(&ps, "reach R1", "zone").value, "Z5");
}

#[test]
fn storage_needs_area() {
    let extra = "\n[[nodes]]\nid = \"P\"\nkind = \"storage\"\n[[reaches]]\nid = \"R2\"\nfrom = \"P\"\nto = \"B\"\nlength_m = 10.0\n";
    let ps = problems(&format!("{BASE}{extra}"));
    find(&ps, "node P", "area_m2");
    let ps = problems(&format!(
        "{BASE}{}",
        extra.replace("kind = \"storage\"", "kind = \"storage\"\narea_m2 = 0.0")
    ));
    find(&ps, "node P", "area_m2");
}

#[test]
fn broken_item_is_not_reported_again_as_unknown() {
    // R1 cannot be read (a string length); the outfall naming R1 must not add "unknown reach"
    let extra = "\n[[outfalls]]\nid = \"P\"\nreach = \"R1\"\nat_m = 1.0\nkind = \"sewage\"\nload_kg_per_day = { COD = 1.0 }\n";
    let ps = problems(&format!(
        "{}{extra}",
        BASE.replace("length_m = 1000.0", "length_m = \"long\"")
    ));
    let p = find(&ps, "reach R1", "length_m");
    assert!(
        p.expected.contains("invalid type") && p.expected.contains("expected a number"),
        "{p}"
    );
    assert_eq!(ps.len(), 1, "{}", list(&ps));
}

#[test]
fn many_errors_reported_at_once() {
    let text = r#"
[simulation]
start = "2025-01-05"
end = "2025-01-01"
output_interval = "-1h"
pollutants = ["COD", "COD"]
mode = "quick"

[[nodes]]
id = "A"
kind = "boundary"

[[nodes]]
id = "A"
kind = "outlet"

[[nodes]]
id = "S"
kind = "storage"

[[reaches]]
id = "R1"
from = "A"
to = "Z"
length_m = -10.0
manning_n = 0.5
section = { shape = "rectangle", width_m = 0.0 }

[[outfalls]]
id = "P1"
reach = "R2"
at_m = 5.0
flow_m3s = -0.1
kind = "sewage"

[[zones]]
id = "Z1"
target = "VII"
"#;
    let ps = problems(text);
    let expect = [
        ("[simulation]", "end"),
        ("[simulation]", "output_interval"),
        ("[simulation]", "pollutants"),
        ("[simulation]", "mode"),
        ("node A", "id"),
        ("node S", "area_m2"),
        ("node A", "kind"),
        ("reach R1", "to"),
        ("reach R1", "length_m"),
        ("reach R1", "manning_n"),
        ("reach R1", "section.width_m"),
        ("outfall P1", "reach"),
        ("outfall P1", "flow_m3s"),
        ("zone Z1", "target"),
    ];
    for (item, field) in expect {
        let p = find(&ps, item, field);
        assert!(p.line.is_some(), "inline items know their line: {p}");
    }
    assert_eq!(ps.len(), expect.len(), "{}", list(&ps));
}

#[test]
fn a_bad_default_is_reported_once_not_per_reach() {
    let extra = "\n[[reaches]]\nid = \"R2\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 500.0\n";
    let ps = problems(&format!(
        "{}{extra}",
        BASE.replace("manning_n = 0.03", "manning_n = 0.9")
    ));
    assert_eq!(find(&ps, "[defaults]", "manning_n").value, "0.9");
    assert_eq!(ps.len(), 1, "{}", list(&ps));
}

#[test]
fn either_or_keys() {
    let extra = "\n[[withdrawals]]\nnode = \"A\"\nreach = \"R1\"\nat_m = 1.0\nflow_m3s = 0.1\n\n[[outfalls]]\nid = \"P\"\nreach = \"R1\"\nat_m = 1.0\nkind = \"sewage\"\nflow_m3s = 0.1\nload_kg_per_day = { COD = 1.0 }\n";
    let text = format!(
        "{}{extra}",
        BASE.replace(
            "flow_m3s = 1.0",
            "flow_m3s = 1.0\nflow_series = \"q.csv\"\ninterpolate = \"cubic\""
        )
    );
    let ps = problems_with(&text, &[("q.csv", "time,flow_m3s\n2025-01-01,1\n")]);
    find(&ps, "withdrawal #1", "reach");
    find(&ps, "outfall P", "load_kg_per_day");
    find(&ps, "inflow #1 (node A)", "flow_series");
    assert!(
        find(&ps, "inflow #1 (node A)", "interpolate")
            .expected
            .contains("step, linear")
    );
    assert_eq!(ps.len(), 4, "{}", list(&ps));
    let both_beds = BASE.replace(
        "length_m = 1000.0",
        "length_m = 1000.0\nbed_slope = 0.001\nbed_up_m = 2.0",
    );
    assert!(
        find(&problems(&both_beds), "reach R1", "bed_slope")
            .expected
            .contains("not both")
    );
    let half = BASE.replace("length_m = 1000.0", "length_m = 1000.0\nbed_up_m = 2.0");
    find(&problems(&half), "reach R1", "bed_down_m");
}

#[test]
fn tabulated_section() {
    let good = BASE.replace(
        "length_m = 1000.0",
        "length_m = 1000.0\nsection = { shape = \"table\", depths_m = [0.0, 1.0, 2.5], widths_m = [4.0, 10.0, 16.0] }",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, good).unwrap();
    let m = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        m.reaches[0].section,
        Section::Table {
            depth_m: vec![0.0, 1.0, 2.5],
            width_m: vec![4.0, 10.0, 16.0]
        }
    );
    let bad = BASE.replace(
        "length_m = 1000.0",
        "length_m = 1000.0\nsection = { shape = \"table\", depths_m = [0.5, 0.4], widths_m = [4.0, 3.0] }",
    );
    let ps = problems(&bad);
    find(&ps, "reach R1", "section.depths_m");
    find(&ps, "reach R1", "section.widths_m");
    let mixed = BASE.replace("width_m = 10.0 }", "width_m = 10.0, side_slope = 1.0 }");
    assert!(
        find(&problems(&mixed), "[defaults]", "section.side_slope")
            .expected
            .contains("not a key of shape rectangle")
    );
}

#[test]
fn bed_levels_propagate_against_the_nominal_direction_and_from_bed_m() {
    // X ← R2 ← O: R2 runs from the outlet O (invert 0) to X with S = 0.001 over 400 m, so
    // invert(X) = 0 − 0.001·400 = −0.4 and R2 runs 0.0 → −0.4 (an adverse bed seen from O).
    // A (boundary) → R1 → O, flat, gives invert(A) = 0.
    // Y has bed_m = 5.0; R3 from Y to X has explicit levels and does not move X.
    let extra = "\n[[nodes]]\nid = \"X\"\n[[nodes]]\nid = \"Y\"\nbed_m = 5.0\n[[reaches]]\nid = \"R2\"\nfrom = \"B\"\nto = \"X\"\nlength_m = 400.0\nbed_slope = 0.001\n[[reaches]]\nid = \"R3\"\nfrom = \"X\"\nto = \"Y\"\nlength_m = 100.0\nbed_up_m = 7.0\nbed_down_m = 6.0\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, format!("{BASE}{extra}")).unwrap();
    let m = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let r = |id: &str| m.reaches.iter().find(|r| r.id == id).unwrap();
    assert_eq!(
        (r("R1").bed_up_m, r("R1").bed_down_m),
        (0.0, 0.0),
        "no slope given: flat, at the outlet's 0"
    );
    assert!(
        close(r("R2").bed_up_m, 0.0) && close(r("R2").bed_down_m, -0.4),
        "{:?}",
        (r("R2").bed_up_m, r("R2").bed_down_m)
    );
    assert_eq!((r("R3").bed_up_m, r("R3").bed_down_m), (7.0, 6.0));
}

#[test]
fn initial_and_temperature_tables() {
    let t = "\n[initial]\nstate = \"values\"\nconcentration = { COD = 5.0, XX = 1.0 }\n[temperature]\ntheta = { COD = 0.0 }\n";
    let ps = problems(&format!("{BASE}{t}"));
    assert_eq!(find(&ps, "[initial]", "concentration").value, "XX");
    find(&ps, "[temperature]", "theta.COD");
    find(&ps, "[temperature]", "water_c");
    let ps = problems(&format!("{BASE}\n[initial]\nstate = \"warm\"\n"));
    assert!(
        find(&ps, "[initial]", "state")
            .expected
            .contains("steady, zero, values")
    );
    let ps = problems(&BASE.replace(
        "start = \"2025-01-01\"",
        "start = 2025-01-01T00:00:00+08:00",
    ));
    find(&ps, "[simulation]", "start");
}

#[test]
fn problem_display_names_file_line_item_field_value() {
    let ps = problems(&BASE.replace("length_m = 1000.0", "length_m = -1.0"));
    let text = ps[0].to_string();
    let line = BASE
        .lines()
        .position(|l| l.starts_with("length_m"))
        .unwrap()
        + 1;
    assert!(
        text.ends_with(&format!(
            "s.toml:{line}: reach R1, field `length_m` = -1: a finite number > 0"
        )),
        "{text}"
    );
}

#[test]
fn a_missing_network_file_is_one_problem_not_a_cascade() {
    // the reaches name nodes that would be in the missing file: no "unknown node", no "no outlet"
    let toml = BASE.replace("[[nodes]]\nid = \"A\"\nkind = \"boundary\"\n\n[[nodes]]\nid = \"B\"\nkind = \"outlet\"\nlevel_m = 1.0\n", "[network]\nnodes_csv = \"missing.csv\"\n");
    assert_ne!(toml, BASE);
    let ps = problems(&toml);
    assert_eq!(ps.len(), 1, "{}", list(&ps));
    assert!(
        ps[0].file.ends_with("missing.csv") && ps[0].expected.contains("does not exist"),
        "{}",
        list(&ps)
    );
}

#[test]
fn problems_come_in_file_order() {
    let text = BASE
        .replace("length_m = 1000.0", "length_m = -1.0")
        .replace("end = \"2025-01-02\"", "end = \"2024-01-02\"")
        .replace("flow_m3s = 1.0", "flow_m3s = -1.0");
    let ps = problems(&text);
    let lines: Vec<usize> = ps.iter().map(|p| p.line.unwrap()).collect();
    assert_eq!(ps.len(), 3, "{}", list(&ps));
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
}

#[test]
fn item_csv_problems_name_file_row_and_field() {
    let toml = format!("{BASE}\n[network]\noutfalls_csv = \"o.csv\"\ninflows_csv = \"i.csv\"\n");
    let ps = problems_with(
        &toml,
        &[
            (
                "o.csv",
                "id,reach,at_m,kind,load_kg_per_day.COD,load_kg_per_day.NH3N\nP1,R1,2000,sewage,5,1\n",
            ),
            ("i.csv", "node,flow_m3s,concentration.COD\nA,-1,x\n"),
        ],
    );
    let p = find(&ps, "outfall P1", "at_m");
    assert_eq!((p.line, p.file.ends_with("o.csv")), (Some(2), true));
    assert_eq!(find(&ps, "outfall P1", "load_kg_per_day").value, "NH3N");
    let p = find(&ps, "inflow #1 (node A)", "concentration.COD");
    assert!(p.expected.contains("`x` is not a number"), "{p}");
}

#[test]
fn geojson_structure_problems() {
    let toml = BASE.replace(
        "[[reaches]]\nid = \"R1\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 1000.0\n",
        "[network]\nreaches_geojson = \"g.json\"\n",
    );
    let gj = r#"{ "type": "FeatureCollection", "features": [
        { "type": "Feature", "properties": { "id": "R1", "from": "A", "to": "B" },
          "geometry": { "type": "Point", "coordinates": [0, 0] } },
        { "type": "Feature", "properties": { "id": "R2", "from": "A", "to": "B" },
          "geometry": { "type": "LineString", "coordinates": [[0, 0], [1, "x"]] } },
        { "type": "Feature", "properties": { "id": "R3", "from": "A", "to": "B", "manning": 0.03 },
          "geometry": { "type": "LineString", "coordinates": [[0, 0], [3, 4]] } },
        { "type": "Feature", "properties": { "id": "R4", "from": "A", "to": "B" },
          "geometry": { "type": "LineString", "coordinates": [[2, 2], [2, 2]] } } ] }"#;
    let ps = problems_with(&toml, &[("g.json", gj)]);
    assert_eq!(
        find(&ps, "reach R1 (feature #1)", "geometry.type").value,
        "Point"
    );
    find(&ps, "reach R2 (feature #2)", "geometry.coordinates[1]");
    assert!(
        find(&ps, "reach R3 (feature #3)", "manning")
            .expected
            .contains("manning_n")
    );
    // a zero-length polyline without length_m
    find(&ps, "reach R4", "geometry.coordinates");
    assert_eq!(ps.len(), 4, "{}", list(&ps));
    let ps = problems_with(&toml, &[("g.json", r#"{ "type": "Feature" }"#)]);
    assert_eq!(
        find(&ps, "reaches GeoJSON", "type").expected,
        "\"FeatureCollection\""
    );
}

#[test]
fn csv_header_problems() {
    let toml = BASE.replace(
        "[[reaches]]\nid = \"R1\"\nfrom = \"A\"\nto = \"B\"\nlength_m = 1000.0\n",
        "[network]\nreaches_csv = \"r.csv\"\n",
    );
    let csv = "id,from,to,length_m,length_m,,a.b.c,section,decay_per_day.COD,decay_per_day,river.name\nR1,A,B,10,10,,1,x,0.1,0.2,n\n";
    let ps = problems_with(&toml, &[("r.csv", csv)]);
    let cols: Vec<&str> = ps
        .iter()
        .filter(|p| p.field == "column")
        .map(|p| p.value.as_str())
        .collect();
    for c in [
        "length_m",
        "",
        "a.b.c",
        "section",
        "decay_per_day",
        "river.name",
    ] {
        assert!(
            cols.contains(&c),
            "column {c:?} not reported: {}",
            list(&ps)
        );
    }
    assert!(ps.iter().all(|p| p.line == Some(1) || p.field != "column"));
}

#[test]
fn pollutant_names() {
    for (bad, says) in [
        ("[\"COD\", \"flow_m3s\"]", "column names"),
        ("[\"COD\", \"a,b\"]", "without commas"),
        ("[\"COD\", \" TP\"]", "surrounding spaces"),
        ("[\"COD\", \"\"]", "non-empty"),
    ] {
        let ps = problems(&BASE.replace("[\"COD\", \"TP\"]", bad));
        assert!(
            find(&ps, "[simulation]", "pollutants")
                .expected
                .contains(says),
            "{bad}: {}",
            list(&ps)
        );
    }
    // no pollutants at all is a valid (hydraulics-only) scenario
    assert!(problems(&BASE.replace("[\"COD\", \"TP\"]", "[]")).is_empty());
}
