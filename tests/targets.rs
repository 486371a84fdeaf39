//! GB 3838 assessment: classification at every limit, zones by both methods, monthly sampling, kilometres
//! per class, zone validation, output shapes.
//!
//! Models and run results are built by hand; expected values come from the standard's table (typed in here
//! independently of the crate's embedded copy) and from hand calculations shown next to each assertion.

use chrono::NaiveDate;
use rivsim::model::*;
use rivsim::targets::assess::{assessed_parameters, monthly_sample_indices, sample_indices};
use rivsim::targets::gb3838::limits;
use rivsim::targets::rivers::km_per_class_at_each_time;
use rivsim::targets::tables::{monthly_csv, zones_csv};
use rivsim::targets::*;
use rivsim::transport::RunResults;

const DAY: f64 = 86400.0;

// ---------------------------------------------------------------- builders

fn node(id: &str, x: f64, y: f64) -> Node {
    Node {
        id: id.into(),
        kind: NodeKind::Junction,
        xy: Some((x, y)),
        level_m: None,
        bed_m: None,
        concentration: vec![],
        area_m2: None,
    }
}

fn reach(id: &str, from: usize, to: usize, length_m: f64, np: usize) -> Reach {
    Reach {
        id: id.into(),
        from,
        to,
        length_m,
        section: Section::Rectangle { width_m: 10.0 },
        bed_up_m: 0.0,
        bed_down_m: 0.0,
        manning_n: 0.03,
        dispersion_m2s: 0.0,
        decay_per_day: vec![0.0; np],
        release_g_m2_day: vec![0.0; np],
        cell_length_m: 100.0,
        water_body: WaterBody::River,
        zone: None,
        jurisdiction: None,
        level: None,
        river: None,
        geometry: vec![],
    }
}

fn zone(id: &str, target: u8, method: ComplianceMethod, sections: Vec<usize>) -> Zone {
    Zone {
        id: id.into(),
        target,
        parameters: vec![],
        method,
        threshold: 0.8,
        sections,
        sampling: Sampling::Outputs,
        sampling_day: 15,
    }
}

fn section(id: &str, reach: usize, at_m: f64) -> SectionPoint {
    SectionPoint {
        id: id.into(),
        reach,
        at_m,
    }
}

/// A chain of reaches R0, R1, … between nodes N0, N1, … along the x axis, starting 2025-01-01.
fn model(pollutants: &[&str], lengths_m: &[f64], end_s: f64, interval_s: f64) -> Model {
    let np = pollutants.len();
    let mut x = 0.0;
    let mut nodes = vec![node("N0", 0.0, 0.0)];
    let mut reaches = vec![];
    for (i, &l) in lengths_m.iter().enumerate() {
        x += l;
        nodes.push(node(&format!("N{}", i + 1), x, 0.0));
        reaches.push(reach(&format!("R{i}"), i, i + 1, l, np));
    }
    Model {
        title: "test".into(),
        path: "test.toml".into(),
        // dynamic, no warm-up, the step from the Courant limit (the defaults)
        sim: Simulation {
            start: NaiveDate::from_ymd_opt(2025, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            end_s,
            output_interval_s: interval_s,
            ..Model::default().sim
        },
        pollutants: pollutants.iter().map(|s| s.to_string()).collect(),
        nodes,
        reaches,
        ..Default::default()
    }
}

/// Results with every section and reach value from closures f(time index, section/reach, pollutant).
fn results(
    m: &Model,
    sec: impl Fn(usize, usize, usize) -> f64,
    rch: impl Fn(usize, usize, usize) -> f64,
) -> RunResults {
    let np = m.pollutants.len();
    let nt = (m.sim.end_s / m.sim.output_interval_s).round() as usize + 1;
    let times: Vec<f64> = (0..nt)
        .map(|i| i as f64 * m.sim.output_interval_s)
        .collect();
    let section_conc = (0..nt)
        .map(|i| {
            (0..m.sections.len() * np)
                .map(|k| sec(i, k / np, k % np))
                .collect()
        })
        .collect();
    let reach_conc = (0..nt)
        .map(|i| {
            (0..m.reaches.len() * np)
                .map(|k| rch(i, k / np, k % np))
                .collect()
        })
        .collect();
    RunResults {
        mean_cell_conc: Vec::new(),
        output_times_s: times,
        pollutants: m.pollutants.clone(),
        section_conc,
        reach_conc,
        output_period: vec![0; nt],
        mass_balance: vec![Default::default(); np],
        warnings: vec![],
        steps: 0,
        final_cell_conc: vec![],
    }
}

// ---------------------------------------------------------------- classification

/// GB 3838-2002 Table 1, typed in from the standard (independent of the embedded CSV).
fn standard() -> Vec<(Param, WaterBody, bool, [f64; 5])> {
    use Param::*;
    use WaterBody::*;
    vec![
        (DO, River, true, [7.5, 6.0, 5.0, 3.0, 2.0]),
        (DO, Lake, true, [7.5, 6.0, 5.0, 3.0, 2.0]),
        (CODMn, River, false, [2.0, 4.0, 6.0, 10.0, 15.0]),
        (COD, River, false, [15.0, 15.0, 20.0, 30.0, 40.0]),
        (BOD5, River, false, [3.0, 3.0, 4.0, 6.0, 10.0]),
        (NH3N, River, false, [0.15, 0.5, 1.0, 1.5, 2.0]),
        (NH3N, Lake, false, [0.15, 0.5, 1.0, 1.5, 2.0]),
        (TP, River, false, [0.02, 0.1, 0.2, 0.3, 0.4]),
        (TP, Lake, false, [0.01, 0.025, 0.05, 0.1, 0.2]),
        (TN, Lake, false, [0.2, 0.5, 1.0, 1.5, 2.0]),
    ]
}

#[test]
fn embedded_limits_match_the_standard() {
    for (p, body, is_min, l) in standard() {
        let got = limits(p, body);
        assert_eq!(got.mg_l, l, "{p} {body:?}");
        assert_eq!(got.direction == gb3838::Direction::Min, is_min, "{p}");
    }
}

#[test]
fn classification_at_and_around_every_limit() {
    // For limit L_k of class k: at L_k and at L_k·(1 ± 1e-12) (round-off, well inside the 1e-9 tolerance)
    // the value meets class k, and gets the best class sharing that limit (the COD/BOD5 I–II tie gives I).
    // At L_k·(1 + 1e-6) (max) or L_k·(1 − 1e-6) (DO), 1000× beyond the tolerance, it fails class k and gets
    // the next class whose limit differs, or V+ after V.
    for (p, body, is_min, l) in standard() {
        for k in 0..5 {
            let at = Class::ALL[l.iter().position(|&x| x == l[k]).unwrap()];
            assert!(at.index() <= k);
            for v in [l[k], l[k] * (1.0 + 1e-12), l[k] * (1.0 - 1e-12)] {
                assert_eq!(classify(p, body, v), at, "{p} {body:?} class {k} value {v}");
            }
            let beyond = if is_min {
                l[k] * (1.0 - 1e-6)
            } else {
                l[k] * (1.0 + 1e-6)
            };
            let next = (k + 1..5)
                .find(|&j| l[j] != l[k])
                .map_or(Class::VPlus, |j| Class::ALL[j]);
            assert_eq!(
                classify(p, body, beyond),
                next,
                "{p} {body:?} beyond class {k}"
            );
            // the better side stays in class k (or better)
            let inside = if is_min {
                l[k] * (1.0 + 1e-6)
            } else {
                l[k] * (1.0 - 1e-6)
            };
            assert!(
                classify(p, body, inside) <= at,
                "{p} {body:?} inside class {k}"
            );
        }
    }
}

#[test]
fn equal_limits_give_the_better_class() {
    assert_eq!(classify(Param::COD, WaterBody::River, 15.0), Class::I);
    assert_eq!(classify(Param::COD, WaterBody::River, 10.0), Class::I);
    assert_eq!(classify(Param::COD, WaterBody::River, 15.5), Class::III);
    assert_eq!(classify(Param::BOD5, WaterBody::River, 3.0), Class::I);
    assert_eq!(classify(Param::BOD5, WaterBody::River, 3.2), Class::III);
}

#[test]
fn dissolved_oxygen_is_a_minimum() {
    let c = |v| classify(Param::DO, WaterBody::River, v);
    assert_eq!(c(9.0), Class::I);
    assert_eq!(c(7.5), Class::I);
    assert_eq!(c(7.4), Class::II);
    assert_eq!(c(5.5), Class::III);
    assert_eq!(c(2.5), Class::V);
    assert_eq!(c(1.9), Class::VPlus);
    assert_eq!(c(0.0), Class::VPlus);
    // no exceedance multiple for a minimum
    let l = limits(Param::DO, WaterBody::River);
    assert_eq!(l.exceedance_multiple(1.0, Class::III), None);
}

#[test]
fn total_phosphorus_river_versus_lake() {
    assert_eq!(classify(Param::TP, WaterBody::River, 0.15), Class::III);
    assert_eq!(classify(Param::TP, WaterBody::Lake, 0.15), Class::V);
    assert_eq!(classify(Param::TP, WaterBody::River, 0.05), Class::II);
    assert_eq!(classify(Param::TP, WaterBody::Lake, 0.05), Class::III);
    assert_eq!(classify(Param::TP, WaterBody::River, 0.25), Class::IV);
    assert_eq!(classify(Param::TP, WaterBody::Lake, 0.25), Class::VPlus);
    // exceedance multiple of DESIGN.md §7's example: 0.45 against IV's 0.3 → 0.45/0.3 − 1 = 0.5
    let e = limits(Param::TP, WaterBody::River)
        .exceedance_multiple(0.45, Class::IV)
        .unwrap();
    assert!((e - 0.5).abs() < 1e-12, "{e}"); // two roundings of decimal inputs
}

#[test]
fn default_parameters_follow_the_water_body_and_skip_custom_pollutants() {
    let m = model(&["COD", "TN", "E_coli", "TP"], &[1000.0], DAY, DAY);
    let names = |body| -> Vec<String> {
        assessed_parameters(&m, &[], body)
            .into_iter()
            .map(|(p, _)| m.pollutants[p].clone())
            .collect()
    };
    assert_eq!(names(WaterBody::River), ["COD", "TP"]);
    assert_eq!(names(WaterBody::Lake), ["COD", "TN", "TP"]);
    // a zone that asks for TN on a river gets it, with the lake limits
    let tn = assessed_parameters(&m, &[1], WaterBody::River);
    assert_eq!(tn.len(), 1);
    assert_eq!(tn[0].1.mg_l, [0.2, 0.5, 1.0, 1.5, 2.0]);
}

#[test]
fn class_names_and_order() {
    let names: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["I", "II", "III", "IV", "V", "V+"]);
    assert!(Class::VPlus > Class::V && Class::I < Class::II);
    assert_eq!(serde_json::to_string(&Class::VPlus).unwrap(), "\"V+\"");
    assert_eq!(Class::from_target(3), Some(Class::III));
    assert_eq!(Class::from_target(6), None);
}

// ---------------------------------------------------------------- zones

/// Two series of NH3N (target III, limit 1.0 mg/L), ten daily samples each, where the methods disagree:
/// A = seven 0.5 then three 1.6: mean (3.5 + 4.8)/10 = 0.83 → III, meets by annual mean; 7/10 = 0.7 < 0.8 fails
///     by frequency;
/// B = nine 0.5 then one 6.0: mean (4.5 + 6)/10 = 1.05 → IV, fails by annual mean; 9/10 = 0.9 ≥ 0.8 meets by
///     frequency.
/// A warm-up of one day hides a first sample of 50 mg/L (it would fail everything).
fn disagreeing() -> (Model, RunResults) {
    let mut m = model(&["NH3N"], &[1000.0, 1000.0], 10.0 * DAY, DAY);
    m.sim.warmup_s = DAY;
    m.sections = vec![section("SA", 0, 500.0), section("SB", 1, 500.0)];
    m.zones = vec![
        zone("A-mean", 3, ComplianceMethod::AnnualMean, vec![0]),
        zone("A-freq", 3, ComplianceMethod::Frequency, vec![0]),
        zone("B-mean", 3, ComplianceMethod::AnnualMean, vec![1]),
        zone("B-freq", 3, ComplianceMethod::Frequency, vec![1]),
    ];
    let a = [50.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.6, 1.6, 1.6];
    let b = [50.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 6.0];
    let r = results(
        &m,
        |i, s, _| if s == 0 { a[i] } else { b[i] },
        |_, _, _| 0.1,
    );
    (m, r)
}

#[test]
fn frequency_and_annual_mean_disagree_as_computed_by_hand() {
    let (m, r) = disagreeing();
    assert_eq!(sample_indices(&m, &r), (1..=10).collect::<Vec<_>>());
    let a = assess(&m, &r).unwrap();
    let z = |id: &str| a.zones.iter().find(|z| z.id == id).unwrap();
    // exact comparisons: 7/10, 9/10 and the 0/1 rates are computed from small integers
    assert_eq!(z("A-mean").compliant, Some(true));
    assert_eq!(z("A-mean").compliance_rate, 1.0);
    assert_eq!(z("A-mean").class, Some(Class::III));
    assert_eq!(z("A-freq").compliant, Some(false));
    assert_eq!(z("A-freq").compliance_rate, 0.7);
    assert_eq!(z("A-freq").samples, 10);
    assert_eq!(z("B-mean").compliant, Some(false));
    assert_eq!(z("B-mean").compliance_rate, 0.0);
    assert_eq!(z("B-mean").class, Some(Class::IV));
    assert_eq!(z("B-freq").compliant, Some(true));
    assert_eq!(z("B-freq").compliance_rate, 0.9);

    // section SB fails its target III on the period mean 1.05: multiple 1.05/1.0 − 1 = 0.05
    // (sum of ten decimals: allow 1e-12)
    let sb = &a.sections[1];
    assert_eq!(sb.class, Some(Class::IV));
    assert_eq!(sb.zone.as_deref(), Some("B-mean"));
    assert_eq!(sb.failing.len(), 1);
    assert!((sb.failing[0].value - 1.05).abs() < 1e-12);
    assert_eq!(sb.failing[0].limit, 1.0);
    assert!((sb.failing[0].exceedance_multiple.unwrap() - 0.05).abs() < 1e-12);
    assert_eq!(sb.failing_class_iii.len(), 1);

    // the JSON keys of DESIGN.md §7, with §11's `year` ("run": the whole run) and the sample count
    assert_eq!(
        serde_json::to_string(&a.zones[3]).unwrap(),
        r#"{"id":"B-freq","year":"run","target":"III","method":"frequency","class":"IV","compliant":true,"compliance_rate":0.9,"samples":10}"#
    );
}

#[test]
fn a_zone_complies_only_if_every_section_does() {
    // one zone on both sections of `disagreeing`: frequency rates 0.7 and 0.9 → rate 0.7 (worst section), not
    // compliant; class = worst period-mean class = IV (SB).
    let (mut m, r) = disagreeing();
    m.zones = vec![zone("Z", 3, ComplianceMethod::Frequency, vec![])];
    m.reaches[0].zone = Some(0);
    m.reaches[1].zone = Some(0);
    let a = assess(&m, &r).unwrap();
    assert_eq!(a.zones[0].sites.len(), 2);
    assert_eq!(a.zones[0].compliance_rate, 0.7);
    assert_eq!(a.zones[0].compliant, Some(false));
    assert_eq!(a.zones[0].class, Some(Class::IV));
    // threshold 0.7: SA's 7/10 = 0.7 now meets it exactly → compliant
    m.zones[0].threshold = 0.7;
    let a = assess(&m, &r).unwrap();
    assert_eq!(a.zones[0].compliant, Some(true));
}

#[test]
fn monthly_sampling_picks_the_sampling_day() {
    // daily output from 2025-01-01 for 59 days (to 2025-03-01): samples on 15 Jan (index 14) and 15 Feb
    // (index 45); 15 Mar is past the end. Day 31 in February falls back to 28 Feb (index 58).
    let mut m = model(&["NH3N"], &[1000.0], 59.0 * DAY, DAY);
    m.sections = vec![section("S", 0, 500.0)];
    assert_eq!(
        monthly_sample_indices(&m, &results(&m, |_, _, _| 0.0, |_, _, _| 0.0), 15),
        [14, 45]
    );
    assert_eq!(
        monthly_sample_indices(&m, &results(&m, |_, _, _| 0.0, |_, _, _| 0.0), 31),
        [30, 58]
    );

    // values: 3.0 (V+) every day except 0.4 (II) on the sampling days. Monthly sampling sees only the good
    // days: compliant with rate 1; every-output sampling sees the bad mean.
    let r = results(
        &m,
        |i, _, _| if i == 14 || i == 45 { 0.4 } else { 3.0 },
        |_, _, _| 0.0,
    );
    let mut z = zone("Z", 3, ComplianceMethod::Frequency, vec![0]);
    z.sampling = Sampling::Monthly;
    m.zones = vec![z, zone("Zall", 3, ComplianceMethod::Frequency, vec![0])];
    let a = assess(&m, &r).unwrap();
    assert_eq!(a.zones[0].samples, 2);
    assert_eq!(a.zones[0].compliant, Some(true));
    assert_eq!(a.zones[0].compliance_rate, 1.0);
    assert_eq!(a.zones[0].class, Some(Class::II));
    // all outputs: 2 of 60 samples meet
    assert_eq!(a.zones[1].samples, 60);
    assert_eq!(a.zones[1].compliance_rate, 2.0 / 60.0);
    assert_eq!(a.zones[1].compliant, Some(false));
}

/// A zone with no sample in its period is not assessed: neither compliant nor failing (`compliant` null in
/// `summary.json`, empty in `zones.csv`, not counted among the zones judged). Before, it was reported as
/// failing (`"compliant": false`, counted in "zones compliant 0/1"). Monthly sampling on day 20 of a run
/// from 1 to 11 January has no sample.
#[test]
fn a_zone_with_no_sample_is_not_assessed_rather_than_failing() {
    let mut m = model(&["NH3N"], &[1000.0], 10.0 * DAY, DAY);
    m.sections = vec![section("S", 0, 500.0)];
    let r = results(&m, |_, _, _| 3.0, |_, _, _| 0.0);
    let mut z = zone("Z", 3, ComplianceMethod::Frequency, vec![0]);
    z.sampling = Sampling::Monthly;
    z.sampling_day = 20;
    m.zones = vec![z, zone("Zall", 3, ComplianceMethod::Frequency, vec![0])];
    let a = assess(&m, &r).unwrap();
    assert_eq!(a.zones[0].samples, 0);
    assert_eq!(a.zones[0].class, None);
    assert_eq!(a.zones[0].compliant, None);
    // the zone judged on every output fails (3.0 mg/L NH3N is worse than V): it is counted, the other not
    assert_eq!(a.zones[1].compliant, Some(false));
    assert_eq!(compliant_count(a.zones.iter()), (0, 1));
    let json = serde_json::to_string(&a.zones[0]).unwrap();
    assert!(json.contains(r#""class":null,"compliant":null"#), "{json}");
    assert!(
        a.warnings
            .iter()
            .any(|w| w.contains("zone Z: no sample") && w.contains("not assessed")),
        "{:?}",
        a.warnings
    );
    let csv = zones_csv(&a);
    let row = csv.lines().find(|l| l.starts_with("Z,,")).unwrap();
    assert!(row.ends_with(",,,0,"), "{row}");
}

#[test]
fn monthly_table_by_calendar_month() {
    // Jan: NH3N 0.4 (II), Feb: 1.2 (IV), 1 Mar: 0.1 (I). Target III by annual mean.
    let mut m = model(&["NH3N", "TP"], &[1000.0], 59.0 * DAY, DAY);
    m.sections = vec![section("S", 0, 500.0), section("Free", 0, 900.0)];
    m.zones = vec![zone("Z", 3, ComplianceMethod::AnnualMean, vec![0])];
    let r = results(
        &m,
        |i, _, p| match (p, i) {
            (1, _) => 0.05,
            (_, 0..=30) => 0.4,
            (_, 31..=58) => 1.2,
            _ => 0.1,
        },
        |_, _, _| 0.0,
    );
    let a = assess(&m, &r).unwrap();
    let rows: Vec<_> = a
        .monthly
        .iter()
        .filter(|r| r.zone.is_some() && r.section.is_some())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].month.to_string(), "2025-01");
    assert_eq!(
        (rows[0].samples, rows[0].class, rows[0].compliant),
        (31, Some(Class::II), true)
    );
    assert_eq!(
        (rows[1].samples, rows[1].class, rows[1].compliant),
        (28, Some(Class::IV), false)
    );
    assert_eq!(rows[1].main_pollutants, ["NH3N"]);
    // 1 Mar: NH3N 0.1 is class I but TP 0.05 is class II on a river
    assert_eq!((rows[2].samples, rows[2].class), (1, Some(Class::II)));
    // the section in no zone gets rows too, against class III
    let free: Vec<_> = a.monthly.iter().filter(|r| r.zone.is_none()).collect();
    assert_eq!(free.len(), 3);
    assert_eq!(free[1].target, Class::III);
    let csv = monthly_csv(&a, &m.pollutants);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "zone,section,month,samples,target,class,compliant,compliance_rate,main_pollutants,NH3N,TP"
    );
    // the zone's own row has no concentrations
    assert!(
        lines.contains(&"Z,,2025-02,28,III,IV,false,0,NH3N,,"),
        "{csv}"
    );
    // the section's month means: January's 31 samples are NH3N 0.4, February's 28 are 1.2, TP 0.05 in
    // both; summing n equal terms and dividing by n rounds a few times: 1e-15 absolute covers it
    for (month, n, nh3n) in [("2025-01", "31", 0.4), ("2025-02", "28", 1.2)] {
        let row: Vec<&str> = lines
            .iter()
            .find(|l| l.starts_with(&format!("Z,S,{month},")))
            .unwrap()
            .split(',')
            .collect();
        assert_eq!(row[3], n);
        assert!(
            (row[9].parse::<f64>().unwrap() - nh3n).abs() < 1e-15,
            "{csv}"
        );
        assert!(
            (row[10].parse::<f64>().unwrap() - 0.05).abs() < 1e-15,
            "{csv}"
        );
    }
    assert_eq!(lines.len(), 1 + 3 * 2 + 3);
}

#[test]
fn zones_csv_rows() {
    let (m, r) = disagreeing();
    let csv = zones_csv(&assess(&m, &r).unwrap());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "zone,site,year,target,method,threshold,sampling,samples,parameters,class,compliant,compliance_rate,failing"
    );
    assert_eq!(
        lines[1],
        "A-mean,,run,III,annual_mean,0.8,outputs,10,NH3N,III,true,1,"
    );
    assert_eq!(
        lines[2],
        "A-mean,SA,run,III,annual_mean,0.8,outputs,10,NH3N,III,true,1,"
    );
    assert_eq!(
        lines[7],
        "B-freq,,run,III,frequency,0.8,outputs,10,NH3N,IV,true,0.9,NH3N"
    );
}

#[test]
fn a_zone_without_sections_is_assessed_on_its_reaches_with_a_warning() {
    let mut m = model(&["TP"], &[1000.0, 2000.0], 2.0 * DAY, DAY);
    m.zones = vec![zone("Z", 4, ComplianceMethod::AnnualMean, vec![])];
    m.reaches[1].zone = Some(0);
    let r = results(
        &m,
        |_, _, _| 0.0,
        |_, rr, _| if rr == 1 { 0.35 } else { 0.0 },
    );
    let a = assess(&m, &r).unwrap();
    assert_eq!(a.zones[0].class, Some(Class::V));
    assert_eq!(a.zones[0].compliant, Some(false));
    assert_eq!(a.zones[0].sites[0].site, "R1");
    assert_eq!(a.warnings.len(), 1);
    assert!(a.warnings[0].contains("zone Z"), "{:?}", a.warnings);
    assert_eq!(a.zones[0].failing[0].limit, 0.3);
}

#[test]
fn results_that_do_not_fit_the_model_are_an_error() {
    let (m, mut r) = disagreeing();
    r.section_conc[3].pop();
    let e = assess(&m, &r).unwrap_err();
    assert!(e.to_string().contains("section_conc[3]"), "{e}");
}

// ---------------------------------------------------------------- kilometres

#[test]
fn kilometres_per_class_by_hand() {
    // TP on a river: R0 1 km at 0.05 (II), R1 2.5 km at 0.25 (IV), R2 4 km at 0.5 (V+), R3 0.5 km alternating
    // 0.1 (II) and 0.5 (V+) at each of 4 outputs (mean 0.3 → IV).
    let mut m = model(
        &["TP", "Custom"],
        &[1000.0, 2500.0, 4000.0, 500.0],
        3.0 * DAY,
        DAY,
    );
    m.reaches[0].level = Some(ChiefLevel::District);
    m.reaches[1].level = Some(ChiefLevel::Town);
    m.reaches[2].level = Some(ChiefLevel::Town);
    m.reaches[2].jurisdiction = Some("Town A".into());
    let r = results(
        &m,
        |_, _, _| 0.0,
        |i, rr, _| match rr {
            0 => 0.05,
            1 => 0.25,
            2 => 0.5,
            _ => {
                if i % 2 == 0 {
                    0.1
                } else {
                    0.5
                }
            }
        },
    );
    let a = assess(&m, &r).unwrap();
    let pm = &a.rivers.period_mean;
    // exact: sums of lengths given in whole metres / 1000
    assert_eq!(pm.km.km, [0.0, 1.0, 0.0, 3.0, 0.0, 4.0]);
    assert_eq!(a.worse_than_v_km(), 4.0);
    assert_eq!(pm.by_level["town"].km, [0.0, 0.0, 0.0, 2.5, 0.0, 4.0]);
    assert_eq!(pm.by_level["unassigned"].km, [0.0, 0.0, 0.0, 0.5, 0.0, 0.0]);
    assert_eq!(
        pm.by_jurisdiction["Town A"].km,
        [0.0, 0.0, 0.0, 0.0, 0.0, 4.0]
    );
    assert_eq!(pm.share.get(Class::VPlus), 0.5);
    // time-weighted: R3's 0.5 km half II, half V+
    assert_eq!(
        a.rivers.time_weighted.km.km,
        [0.0, 1.25, 0.0, 2.5, 0.0, 4.25]
    );
    // worst month (one month here): the month mean equals the period mean
    assert_eq!(a.rivers.worst_month.km.km, pm.km.km);
    let json = serde_json::to_value(a.classes_km()).unwrap();
    assert_eq!(json["V+"], 4.0);
    assert_eq!(json.as_object().unwrap().len(), 6);
    let per_time = km_per_class_at_each_time(&m, &r).unwrap();
    assert_eq!(per_time[1].km, [0.0, 1.0, 0.0, 2.5, 0.0, 4.5]);
}

#[test]
fn kilometre_sums_equal_the_network_length() {
    // 37 reaches of irregular length with pseudo-random concentrations, levels and jurisdictions, one lake
    // reach and one zone that assesses only a custom pollutant-free set; every view must add up.
    let lengths: Vec<f64> = (0..37)
        .map(|i| 300.0 + 97.3 * ((i * 7919) % 53) as f64)
        .collect();
    let mut m = model(
        &["COD", "NH3N", "TP", "DO"],
        &lengths,
        62.0 * DAY,
        0.5 * DAY,
    );
    m.sim.warmup_s = 3.0 * DAY;
    for (i, r) in m.reaches.iter_mut().enumerate() {
        r.level = [
            None,
            Some(ChiefLevel::District),
            Some(ChiefLevel::Town),
            Some(ChiefLevel::Village),
        ][i % 4];
        r.jurisdiction = ["A", "B", "C"].get(i % 4).map(|s| s.to_string());
        if i == 5 {
            r.water_body = WaterBody::Lake;
        }
    }
    let hash = |i: usize, r: usize, p: usize| {
        ((i * 31 + r * 17 + p * 13) * 2654435761usize % 1000) as f64 / 1000.0
    };
    let scale = [45.0, 2.5, 0.5, 9.0];
    let res = results(&m, |_, _, _| 0.0, |i, r, p| scale[p] * hash(i, r, p));
    let a = assess(&m, &res).unwrap();
    let total: f64 = lengths.iter().sum::<f64>() / 1000.0;
    assert!((a.rivers.total_km - total).abs() < 1e-9);
    // tolerance: sums of ~40 fractions of kilometres in different orders, 1e-9 km is far below a metre
    for b in [
        &a.rivers.period_mean,
        &a.rivers.time_weighted,
        &a.rivers.worst_month,
    ] {
        assert!((b.km.total() + b.unclassified_km - total).abs() < 1e-9);
        assert_eq!(b.unclassified_km, 0.0);
        let lv: f64 = b.by_level.values().map(ClassKm::total).sum();
        let jv: f64 = b.by_jurisdiction.values().map(ClassKm::total).sum();
        assert!((lv - total).abs() < 1e-9 && (jv - total).abs() < 1e-9);
        assert!((b.share.total() - 1.0).abs() < 1e-12);
    }
    // the worst month is never better than the period mean, reach by reach, so its V+ km is at least as long
    assert!(a.rivers.worst_month.km.worse_than_v() >= a.rivers.period_mean.km.worse_than_v());
    for k in km_per_class_at_each_time(&m, &res).unwrap() {
        assert!((k.total() - total).abs() < 1e-9);
    }
}

// ---------------------------------------------------------------- zone definitions

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn valid_zone_definitions_parse() {
    let pol = names(&["COD", "CODMn", "NH3N", "TP", "X"]);
    let p = names(&["three_factor"]);
    let f = parse_zone(
        &ZoneSpec {
            target: "IV",
            parameters: &p,
            method: Some("frequency"),
            threshold: Some(1.0),
            sampling: Some("monthly"),
            sampling_day: Some(10),
        },
        &pol,
    )
    .unwrap();
    assert_eq!(f.target, 4);
    assert_eq!(f.parameters, [1, 2, 3]);
    assert_eq!(f.method, ComplianceMethod::Frequency);
    assert_eq!(
        (f.threshold, f.sampling, f.sampling_day),
        (1.0, Sampling::Monthly, 10)
    );
    let d = parse_zone(
        &ZoneSpec {
            target: "II",
            ..Default::default()
        },
        &pol,
    )
    .unwrap();
    assert_eq!(d.parameters, Vec::<usize>::new());
    assert_eq!(
        (d.method, d.threshold, d.sampling_day),
        (ComplianceMethod::AnnualMean, 0.8, 15)
    );
}

#[test]
fn invalid_zone_definitions_give_every_problem() {
    let pol = names(&["COD", "NH3N"]);
    let p = names(&["COD", "Chlorophyll", "TP"]);
    let probs = validate_zone(
        &ZoneSpec {
            target: "VI",
            parameters: &p,
            method: Some("median"),
            threshold: Some(0.0),
            sampling: Some("weekly"),
            sampling_day: Some(0),
        },
        &pol,
    );
    let fields: Vec<&str> = probs.iter().map(|p| p.field).collect();
    assert_eq!(
        fields,
        [
            "target",
            "parameters",
            "parameters",
            "method",
            "threshold",
            "sampling",
            "sampling_day"
        ]
    );
    assert!(probs[1].value.contains("Chlorophyll") && probs[1].expected.contains("GB 3838"));
    assert!(probs[2].value.contains("TP") && probs[2].expected.contains("simulated"));
    for t in [1.5, -0.1, f64::NAN] {
        let pr = validate_zone(
            &ZoneSpec {
                target: "III",
                threshold: Some(t),
                ..Default::default()
            },
            &pol,
        );
        assert_eq!(pr.len(), 1, "{t}");
        assert_eq!(pr[0].field, "threshold");
    }
    let pr = validate_zone(
        &ZoneSpec {
            target: "V+",
            ..Default::default()
        },
        &pol,
    );
    assert_eq!(pr[0].field, "target");
    // a preset whose parameters are not simulated
    let two = names(&["two_factor"]);
    let pr = validate_zone(
        &ZoneSpec {
            target: "III",
            parameters: &two,
            ..Default::default()
        },
        &pol,
    );
    assert_eq!(pr.len(), 1);
    assert!(pr[0].value.contains("CODMn"));
}

#[test]
fn section_class_at_each_time_and_dissolved_oxygen_failing() {
    // DO and NH3N at one section, target III (DO ≥ 5, NH3N ≤ 1.0), three samples:
    //   t0: DO 6, NH3N 0.4 → worst(II, II) = II;  t1: DO 4, NH3N 0.4 → IV;  t2: DO 1, NH3N 2.5 → V+.
    // Period means: DO 11/3 = 3.67 (IV), NH3N 3.3/3 = 1.1 (IV) → IV; failing both, DO without a multiple.
    let mut m = model(&["DO", "NH3N"], &[1000.0], 2.0 * DAY, DAY);
    m.sections = vec![section("S", 0, 100.0)];
    m.zones = vec![zone("Z", 3, ComplianceMethod::AnnualMean, vec![0])];
    let v = [[6.0, 0.4], [4.0, 0.4], [1.0, 2.5]];
    let r = results(&m, |i, _, p| v[i][p], |_, _, _| 0.0);
    let a = assess(&m, &r).unwrap();
    let s = &a.sections[0];
    assert_eq!(
        s.sample_classes,
        [Some(Class::II), Some(Class::IV), Some(Class::VPlus)]
    );
    assert_eq!(s.class, Some(Class::IV));
    // most severe first: DO 5/3.667 = 1.36 beats NH3N 1.1/1.0 = 1.1
    let names: Vec<&str> = s.failing.iter().map(|f| f.parameter.as_str()).collect();
    assert_eq!(names, ["DO", "NH3N"]);
    assert_eq!(s.failing[0].exceedance_multiple, None);
    assert_eq!(s.failing[0].limit, 5.0);
    // NH3N: 1.1/1.0 − 1 = 0.1 (three decimals summed: 1e-12)
    assert!((s.failing[1].exceedance_multiple.unwrap() - 0.1).abs() < 1e-12);
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["class"], "IV");
    assert!(json["failing"][0]["exceedance_multiple"].is_null());
    assert_eq!(json["failing"][0]["parameter"], "DO");
}
