//! Source apportionment (`rivsim apportion`, src/apportion.rs): the groups add up to the total, each group
//! matches a run of that group alone on the same hydraulics, a hand-checkable two-load reach, the output
//! files' contract, the `--by` variants and a bad `--by` value.

mod support;

use rivsim::apportion::{self, GroupBy, SourceGroups};
use rivsim::model::Discharge;
use rivsim::network::Network;
use rivsim::pipeline::{self, ApportionOptions, Prepared};
use rivsim::transport::{self, TransportOptions};
use std::path::Path;
use support::{assert_exit_ok, repo, rivsim};

fn prepared(text: &str) -> Prepared {
    let model = rivsim::scenario::load_str(text, Path::new("apportion-test.toml"))
        .unwrap_or_else(|e| panic!("test scenario is valid: {e}"));
    let net = Network::build(&model);
    Prepared { model, net }
}

/// A small looped-free network with every kind of source: two boundary inflows (two jurisdictions upstream),
/// a flow outfall, a mass-only outfall, a line load, bed release, an outlet with a concentration, and a
/// given initial state of 40 mg/L COD that the clean inflows flush out — a front passing every section, where
/// the limiter works hardest.
fn network_scenario(initial: &str) -> String {
    format!(
        r#"
title = "apportion test network"
[simulation]
start = "2025-01-01"
end = "2025-01-03"
output_interval = "1h"
warmup = "6h"
pollutants = ["COD", "NH3N", "TP"]
[initial]
{initial}
[defaults]
manning_n = 0.03
dispersion_m2s = 2.0
decay_per_day = {{ COD = 0.3, NH3N = 0.2, TP = 0.05 }}
cell_length_m = 100.0
[[nodes]]
id = "N"
kind = "boundary"
[[nodes]]
id = "S"
kind = "boundary"
[[nodes]]
id = "J"
kind = "junction"
[[nodes]]
id = "O"
kind = "outlet"
level_m = 2.0
concentration = {{ COD = 12.0 }}
[[reaches]]
id = "RN"
from = "N"
to = "J"
length_m = 2000.0
section = {{ shape = "rectangle", width_m = 12.0 }}
bed_up_m = -0.2
bed_down_m = -0.3
jurisdiction = "Town A"
zone = "ZA"
[[reaches]]
id = "RS"
from = "S"
to = "J"
length_m = 1500.0
section = {{ shape = "rectangle", width_m = 8.0 }}
bed_up_m = -0.2
bed_down_m = -0.3
jurisdiction = "Town B"
release_g_m2_day = {{ TP = 0.05 }}
[[reaches]]
id = "RJ"
from = "J"
to = "O"
length_m = 3000.0
section = {{ shape = "trapezoid", bottom_width_m = 15.0, side_slope = 2.0 }}
bed_up_m = -0.3
bed_down_m = -0.5
jurisdiction = "Town B"
zone = "ZB"
[[inflows]]
node = "N"
flow_m3s = 1.2
concentration = {{ COD = 10.0, NH3N = 0.5, TP = 0.1 }}
group = "upstream: high-tech zone"
[[inflows]]
node = "S"
flow_m3s = 0.6
concentration = {{ COD = 15.0, NH3N = 1.0, TP = 0.2 }}
[[outfalls]]
id = "P1"
reach = "RN"
at_m = 800.0
flow_m3s = 0.05
concentration = {{ COD = 200.0, NH3N = 25.0, TP = 3.0 }}
kind = "sewage"
group = "Town A sewage"
[[outfalls]]
id = "P2"
reach = "RJ"
at_m = 1200.0
load_kg_per_day = {{ COD = 300.0, NH3N = 20.0, TP = 2.0 }}
kind = "industrial"
[[outfalls]]
id = "P3"
reach = "RJ"
at_m = 2000.0
flow_m3s = 0.02
concentration = {{ COD = 120.0, NH3N = 15.0, TP = 1.5 }}
kind = "sewage"
[[line_loads]]
id = "L1"
reach = "RS"
from_m = 200.0
to_m = 1200.0
load_kg_per_day = {{ COD = 50.0, NH3N = 5.0, TP = 0.5 }}
group = "villages"
[[zones]]
id = "ZA"
target = "III"
[[zones]]
id = "ZB"
target = "IV"
[[sections]]
id = "SN"
reach = "RN"
at_m = 1900.0
[[sections]]
id = "SJ"
reach = "RJ"
at_m = 500.0
[[sections]]
id = "SO"
reach = "RJ"
at_m = 2800.0
"#
    )
}

const VALUES_INITIAL: &str = r#"state = "values"
concentration = { COD = 40.0, NH3N = 3.0 }"#;

/// The contract of the tagged engine: at every output time, section and pollutant the groups add up to the
/// total run within 1e-9 relative (the engine carries every group with the total's own fluxes and limiter
/// choices, so only round-off separates them; 1e-9 leaves six orders of magnitude above f64 round-off for
/// sums over tens of thousands of steps). With the provisional `run_tagged` (separate group runs) this
/// fails by the limiter's nonlinearity (measured 3e-5 … 5e-3); it is the contract the real engine meets.
#[test]
fn groups_add_up_to_the_total_within_1e_9() {
    let p = prepared(&network_scenario(VALUES_INITIAL));
    let dir = tempfile::tempdir().unwrap();
    let o = pipeline::apportion(
        &p,
        dir.path(),
        &ApportionOptions {
            no_plots: true,
            ..Default::default()
        },
    )
    .unwrap();
    let a = &o.apportionment;
    assert!(
        a.max_relative_gap <= 1e-9,
        "groups vs total: largest relative gap {:e} at {:?}",
        a.max_relative_gap,
        a.max_gap_at
    );
    // the period means and the shares inherit it
    for m in &a.sections {
        for p in 0..a.pollutants.len() {
            let sum: f64 = m.group_mg_l[p].iter().sum();
            assert!((sum - m.total_mg_l[p]).abs() <= 1e-9 * m.total_mg_l[p].abs());
            let shares: f64 = (0..a.groups.len()).map(|g| m.share(p, g).unwrap()).sum();
            assert!((shares - 1.0).abs() <= 1e-9, "{} shares sum {shares}", m.id);
        }
    }
}

/// Each tagged group against a run of that group's model alone on the total's `Hydraulics`.
///
/// Tolerances: pointwise 2% of the section's largest total concentration of that pollutant over the run
/// (`TOL_POINT`); period means 0.5% of the section's total mean (`TOL_MEAN`). Why: a group alone makes its
/// own limiter choices, the tagged group the total's; the two differ only where the limiter is active (the
/// flushing front of the initial state, the foot of a load's jump). The size of that nonlinearity is measured
/// here, on the same case, as the superposition defect of the separate runs, |Σ_g C_g,alone − C_total|:
/// 2.6e-3 of the section maximum pointwise (4e-2 of the local value at the foot of a front, which is why the
/// pointwise scale is the section maximum, not the local value) and 5.2e-4 of the period means; on the
/// bundled district scenario 5e-3 pointwise and 1.6e-3 on the means. Since Σ_g (C_g,tagged − C_g,alone) is
/// minus that defect, a single group's difference is of the same order but may exceed it where the groups'
/// differences cancel: the tolerances are about eight to ten times the measured defect, and the test asserts
/// that the defect stays below a fifth of each tolerance, so that a scheme made more nonlinear fails here.
const TOL_POINT: f64 = 0.02;
const TOL_MEAN: f64 = 5e-3;

#[test]
fn each_group_matches_its_run_alone_on_the_same_hydraulics() {
    let p = prepared(&network_scenario(VALUES_INITIAL));
    let hyd = pipeline::hydraulics(&p).unwrap();
    let groups = SourceGroups::of(&p.model, GroupBy::Group);
    let models = groups.models(&p.model);
    let opts = TransportOptions::default();
    let tagged = transport::run_tagged(&p.model, &p.net, &hyd, &opts, &models).unwrap();
    let alone: Vec<_> = models
        .iter()
        .map(|m| transport::run(m, &p.net, &hyd, &opts).unwrap())
        .collect();
    let np = p.model.pollutants.len();
    let ns = p.model.sections.len();
    let ng = groups.len();
    let total = &tagged.total;
    let nt = total.output_times_s.len();
    // the scale of each section and pollutant: its largest total concentration over the run
    let scale = |s: usize, k: usize| {
        (0..nt)
            .map(|i| total.section_conc[i][s * np + k])
            .fold(0.0_f64, f64::max)
    };
    let (mut worst, mut defect, mut defect_local) = (0.0_f64, 0.0_f64, 0.0_f64);
    for s in 0..ns {
        for k in 0..np {
            let c_max = scale(s, k);
            for i in 0..nt {
                let c = total.section_conc[i][s * np + k];
                let mut sum_alone = 0.0;
                for g in 0..ng {
                    let a = alone[g].section_conc[i][s * np + k];
                    sum_alone += a;
                    let d = (tagged.section(i, s, k, g) - a).abs();
                    assert!(
                        d <= TOL_POINT * c_max,
                        "group {} at section {s}, pollutant {k}, output {i}: tagged {} alone {a} total {c}",
                        groups.names[g],
                        tagged.section(i, s, k, g)
                    );
                    worst = worst.max(d / c_max);
                }
                defect = defect.max((sum_alone - c).abs() / c_max);
                if c > 0.0 {
                    defect_local = defect_local.max((sum_alone - c).abs() / c);
                }
            }
        }
    }
    eprintln!(
        "tagged vs alone: worst {worst:e} of the section maximum; superposition defect of the separate runs: \
         {defect:e} of the section maximum, {defect_local:e} of the local value"
    );
    assert!(
        defect <= TOL_POINT / 5.0,
        "the limiter's nonlinearity on this case: {defect:e}"
    );
    // period means
    let a = apportion::analyse(&p.model, &groups, &tagged).unwrap();
    let samples = &a.samples;
    let (mut mean_worst, mut mean_defect) = (0.0_f64, 0.0_f64);
    for (s, m) in a.sections.iter().enumerate() {
        for k in 0..np {
            let mut sum_alone = 0.0;
            for g in 0..ng {
                let alone_mean = samples
                    .iter()
                    .map(|&i| alone[g].section_conc[i][s * np + k])
                    .sum::<f64>()
                    / samples.len() as f64;
                sum_alone += alone_mean;
                mean_worst =
                    mean_worst.max((m.group_mg_l[k][g] - alone_mean).abs() / m.total_mg_l[k]);
                assert!(
                    (m.group_mg_l[k][g] - alone_mean).abs() <= TOL_MEAN * m.total_mg_l[k],
                    "{} {k} {}: {} vs {alone_mean}",
                    m.id,
                    groups.names[g],
                    m.group_mg_l[k][g]
                );
            }
            mean_defect = mean_defect.max((sum_alone - m.total_mg_l[k]).abs() / m.total_mg_l[k]);
        }
    }
    eprintln!(
        "period means: tagged vs alone {mean_worst:e}; superposition defect of the separate runs {mean_defect:e}"
    );
    assert!(mean_defect <= TOL_MEAN / 5.0, "{mean_defect:e}");
}

/// Manning normal depth of a rectangle (bisection), m.
fn normal_depth_m(q_m3s: f64, width_m: f64, n: f64, slope: f64) -> f64 {
    let q_of = |y: f64| {
        let a = width_m * y;
        let r = a / (width_m + 2.0 * y);
        a * r.powf(2.0 / 3.0) * slope.sqrt() / n
    };
    let (mut lo, mut hi) = (1e-6, 50.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if q_of(mid) < q_m3s {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

/// One reach without dispersion, a normal-depth outfall (no held level), a clean-ish inflow and two
/// mass-only loads (no water, so the flow and the normal depth are the same everywhere). At steady state
/// each source's contribution at the section is W/Q·exp(−k·(x_s − x_j)/u) (for the inflow C_in·exp(−k·x_s/u)),
/// with u = Q/(b·y_n) from Manning — shares by hand.
#[test]
fn two_loads_on_one_reach_match_the_hand_shares() {
    // slope 1e-4: the bed falls 1 m over the 10 km reach
    let (q, b, n, slope) = (2.0, 10.0, 0.03, 1e-4);
    let k_per_day = 1.0;
    let (c_in, w1, w2) = (5.0, 400.0, 250.0); // mg/L, kg/day, kg/day
    let (x1, x2, xs) = (1025.0, 6025.0, 9025.0); // cell centres of the 50-m cells
    let text = format!(
        r#"
title = "two loads"
[simulation]
start = "2025-01-01"
end = "2025-01-05"
output_interval = "6h"
warmup = "3d"
pollutants = ["COD"]
[[nodes]]
id = "U"
kind = "boundary"
[[nodes]]
id = "D"
kind = "outlet"
[[reaches]]
id = "R"
from = "U"
to = "D"
length_m = 10000.0
section = {{ shape = "rectangle", width_m = {b} }}
bed_up_m = 0.0
bed_down_m = -1.0
manning_n = {n}
dispersion_m2s = 0.0
decay_per_day = {{ COD = {k_per_day} }}
cell_length_m = 50.0
[[inflows]]
node = "U"
flow_m3s = {q}
concentration = {{ COD = {c_in} }}
group = "upstream"
[[outfalls]]
id = "A"
reach = "R"
at_m = {x1}
load_kg_per_day = {{ COD = {w1} }}
kind = "industrial"
group = "A"
[[outfalls]]
id = "B"
reach = "R"
at_m = {x2}
load_kg_per_day = {{ COD = {w2} }}
kind = "sewage"
group = "B"
[[sections]]
id = "S"
reach = "R"
at_m = {xs}
"#
    );
    let p = prepared(&text);
    let hyd = pipeline::hydraulics(&p).unwrap();
    let y = normal_depth_m(q, b, n, slope);
    let depth = &hyd.periods[0].cell_depth_m;
    // the hydraulics hold the normal depth along the reach (tolerance: the solver's depth iteration, 1e-6)
    for &d in depth {
        assert!((d - y).abs() <= 1e-6 * y, "depth {d} vs normal depth {y}");
    }
    let u = q / (b * y);
    let k = k_per_day / 86_400.0;
    let w_to_mg_l = |w_kg_day: f64| w_kg_day * 1000.0 / 86_400.0 / q; // kg/day over Q → g/m³
    let by_hand = [
        c_in * (-k * xs / u).exp(),
        w_to_mg_l(w1) * (-k * (xs - x1) / u).exp(),
        w_to_mg_l(w2) * (-k * (xs - x2) / u).exp(),
    ];
    let total_by_hand: f64 = by_hand.iter().sum();

    let dir = tempfile::tempdir().unwrap();
    let o = pipeline::apportion(
        &p,
        dir.path(),
        &ApportionOptions {
            no_plots: true,
            ..Default::default()
        },
    )
    .unwrap();
    let a = &o.apportionment;
    assert_eq!(a.groups, ["upstream", "A", "B"]);
    let m = &a.sections[0];
    // Tolerance 3e-3 relative on each contribution and 1e-3 on the shares. A load enters a 50-m cell, so
    // its effective position is uncertain within half a cell: k·Δx/(2u) ≈ 2.9e-3 here (u ≈ 0.1 m/s) bounds
    // the change of exp(−k·x/u) from that. Measured: 1.13e-3 on both loads (the same systematic offset),
    // 9e-8 on the inflow, at most 2.8e-4 on the shares (ratios of such terms; the common offset cancels).
    for g in 0..3 {
        let rel = (m.group_mg_l[0][g] - by_hand[g]).abs() / by_hand[g];
        assert!(
            rel <= 3e-3,
            "{}: {} vs by hand {}",
            a.groups[g],
            m.group_mg_l[0][g],
            by_hand[g]
        );
        let share = m.share(0, g).unwrap();
        eprintln!(
            "{}: relative error {rel:e}, share error {:e}",
            a.groups[g],
            share - by_hand[g] / total_by_hand
        );
        assert!(
            (share - by_hand[g] / total_by_hand).abs() <= 1e-3,
            "{} share {share} vs {}",
            a.groups[g],
            by_hand[g] / total_by_hand
        );
    }
    // the decay makes the far load's share smaller than its load share: a check that the test can fail
    assert!(by_hand[1] / w_to_mg_l(w1) < by_hand[2] / w_to_mg_l(w2));
}

/// The output files: the exact §7 header, one row per section × pollutant × group in model / group order, the
/// share equal to mean / total; the zone and series tables; the plots; apportion.json last.
#[test]
fn output_files_follow_the_contract() {
    let p = prepared(&network_scenario(VALUES_INITIAL));
    let dir = tempfile::tempdir().unwrap();
    let o = pipeline::apportion(&p, dir.path(), &ApportionOptions::default()).unwrap();
    let a = &o.apportionment;
    let (ns, np, ng) = (3, 3, a.groups.len());
    let csv = std::fs::read_to_string(dir.path().join("apportion.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("section,pollutant,group,mean_mg_l,share")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), ns * np * ng);
    for (r, row) in rows.iter().enumerate() {
        let (s, k, g) = (r / (np * ng), (r / ng) % np, r % ng);
        assert_eq!(row[0], p.model.sections[s].id);
        assert_eq!(row[1], p.model.pollutants[k]);
        assert_eq!(row[2], a.groups[g]);
        let mean: f64 = row[3].parse().unwrap();
        let share: f64 = row[4].parse().unwrap();
        // full round-trip precision: the numbers read back to the same bits
        assert_eq!(mean.to_bits(), a.sections[s].group_mg_l[k][g].to_bits());
        assert_eq!(share, mean / a.sections[s].total_mg_l[k]);
    }
    let zones = std::fs::read_to_string(dir.path().join("apportion_zones.csv")).unwrap();
    assert!(zones.starts_with("zone,pollutant,group,mean_mg_l,share\n"));
    assert_eq!(zones.lines().count(), 1 + 2 * np * ng);
    // zone ZB's sites are SJ and SO (the sections on its reach): its mean is their plain mean
    let zb = a.zones.iter().find(|z| z.id == "ZB").unwrap();
    for k in 0..np {
        let want = 0.5 * (a.sections[1].total_mg_l[k] + a.sections[2].total_mg_l[k]);
        assert!((zb.total_mg_l[k] - want).abs() <= 1e-12 * want);
    }
    let series = std::fs::read_to_string(dir.path().join("apportion_series.csv")).unwrap();
    let nt = o.tagged.total.output_times_s.len();
    assert!(series.starts_with("time,section,pollutant,group,mg_l\n2025-01-01T00:00:00,SN,COD,"));
    assert_eq!(series.lines().count(), 1 + nt * ns * np * ng);
    for s in ["SN", "SJ", "SO"] {
        for ext in ["svg", "png"] {
            let f = dir.path().join(format!("apportion_{s}.{ext}"));
            assert!(
                std::fs::metadata(&f).unwrap().len() > 1000,
                "{}",
                f.display()
            );
        }
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("apportion.json")).unwrap()).unwrap();
    assert_eq!(json["by"], "group");
    assert_eq!(json["groups"].as_array().unwrap().len(), ng);
    assert_eq!(
        json["max_relative_gap"].as_f64().unwrap(),
        a.max_relative_gap
    );
    assert_eq!(
        o.files.last().unwrap().file_name().unwrap(),
        "apportion.json"
    );
    // no temporary file is left behind
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "left over: {name}");
    }
}

/// Each `--by` mode names its groups as documented and partitions the sources: in the group models every
/// source is switched on in exactly one model, with its own values, and flows are never touched.
#[test]
fn by_variants_name_and_partition_the_sources() {
    let p = prepared(&network_scenario(VALUES_INITIAL));
    let m = &p.model;
    let names = |by| SourceGroups::of(m, by).names;
    assert_eq!(
        names(GroupBy::Group),
        [
            "upstream: high-tech zone",
            "S",
            "Town A sewage",
            "industrial",
            "sewage",
            "villages",
            "internal release",
            "outlet water",
            "initial state"
        ]
    );
    assert_eq!(
        names(GroupBy::Jurisdiction),
        [
            "upstream: high-tech zone",
            "S",
            "Town A",
            "Town B",
            "internal release",
            "outlet water",
            "initial state"
        ]
    );
    assert_eq!(
        names(GroupBy::Kind),
        [
            "boundary inflow",
            "sewage",
            "industrial",
            "line load",
            "internal release",
            "outlet water",
            "initial state"
        ]
    );
    assert_eq!(
        names(GroupBy::Item),
        [
            "inflow N",
            "inflow S",
            "outfall P1",
            "outfall P2",
            "outfall P3",
            "line load L1",
            "release RS",
            "outlet O",
            "initial state"
        ]
    );
    // with the default steady initial state there is no initial-state group (it decomposes by itself)
    let steady = prepared(&network_scenario(r#"state = "steady""#));
    assert!(
        !SourceGroups::of(&steady.model, GroupBy::Group)
            .names
            .iter()
            .any(|n| n == "initial state")
    );
    assert_eq!(GroupBy::parse("kind").unwrap(), GroupBy::Kind);
    let err = GroupBy::parse("town").unwrap_err().to_string();
    assert!(
        err.contains("\"town\"") && err.contains("jurisdiction"),
        "{err}"
    );

    // --max-groups 3: the first two groups kept, the rest merged
    let merged = SourceGroups::of(m, GroupBy::Item).merge_tail(3);
    assert_eq!(merged.names, ["inflow N", "inflow S", "other sources"]);
    assert_eq!(merged.outfall, [2, 2, 2]);
    assert_eq!(merged.initial, Some(2));

    let mut all: Vec<SourceGroups> = [
        GroupBy::Group,
        GroupBy::Jurisdiction,
        GroupBy::Kind,
        GroupBy::Item,
    ]
    .into_iter()
    .map(|by| SourceGroups::of(m, by))
    .collect();
    all.push(merged);
    for groups in all {
        let by = groups.by;
        let models = groups.models(m);
        for (o, orig) in m.outfalls.iter().enumerate() {
            let mut on = 0;
            for gm in &models {
                match (&gm.outfalls[o].discharge, &orig.discharge) {
                    (
                        Discharge::Flow {
                            flow_m3s,
                            concentration,
                        },
                        Discharge::Flow {
                            flow_m3s: f0,
                            concentration: c0,
                        },
                    ) => {
                        assert_eq!(flow_m3s, f0, "flows are held");
                        if concentration == c0 {
                            on += 1;
                        } else {
                            assert!(concentration.iter().all(|c| c.at(0.0) == 0.0));
                        }
                    }
                    (Discharge::Load { kg_per_day }, Discharge::Load { kg_per_day: w0 }) => {
                        if kg_per_day == w0 {
                            on += 1;
                        } else {
                            assert!(kg_per_day.iter().all(|c| c.at(0.0) == 0.0));
                        }
                    }
                    _ => panic!("discharge type changed"),
                }
            }
            assert_eq!(
                on,
                1,
                "{by:?} ({} groups): outfall {} on in {on} group models",
                groups.len(),
                orig.id
            );
        }
        for (i, orig) in m.inflows.iter().enumerate() {
            let on = models
                .iter()
                .filter(|gm| gm.inflows[i].concentration == orig.concentration)
                .count();
            assert_eq!(on, 1, "{by:?}: inflow {i}");
            assert!(
                models
                    .iter()
                    .all(|gm| gm.inflows[i].flow_m3s == orig.flow_m3s)
            );
        }
        let release_on = models
            .iter()
            .filter(|gm| gm.reaches[1].release_g_m2_day == m.reaches[1].release_g_m2_day)
            .count();
        assert_eq!(release_on, 1);
        let outlet_on = models
            .iter()
            .filter(|gm| gm.nodes[3].concentration == m.nodes[3].concentration)
            .count();
        assert_eq!(outlet_on, 1);
        let initial_on = models.iter().filter(|gm| gm.initial == m.initial).count();
        assert_eq!(initial_on, 1);
    }
}

/// Items the projects create carry the groups the project transform gives them (the bundled district:
/// plants, a diversion, construction loads, dredged release as "internal release").
#[test]
fn project_items_carry_their_transform_groups() {
    let path = repo("scenarios/district/scenario.toml");
    let p = pipeline::prepare(&path).unwrap();
    let sel = pipeline::selection(&p, &[], &[]).unwrap();
    let q = pipeline::with_projects(&p, &sel).unwrap();
    let g = SourceGroups::of(&q.model, GroupBy::Group);
    for want in ["construction", "outlet water", "upstream: high-tech zone"] {
        assert!(g.names.iter().any(|n| n == want), "{want} in {:?}", g.names);
    }
    assert!(
        g.names.iter().any(|n| n.starts_with("plant ")),
        "{:?}",
        g.names
    );
    assert!(
        g.names.iter().any(|n| n.starts_with("diversion ")),
        "{:?}",
        g.names
    );
    // every derived outfall (id with a ':') has the group the transform set, never its kind's default
    for (o, &k) in q.model.outfalls.iter().zip(&g.outfall) {
        assert_eq!(g.names[k], o.group);
    }
    // without projects those groups do not exist
    let base = SourceGroups::of(&p.model, GroupBy::Group);
    assert!(!base.names.iter().any(|n| n == "construction"));
}

/// The command: the tutorial apportioned by kind exits 0 and writes its files; a bad `--by` value is a clear
/// error with exit code 2 (invalid input) and writes nothing.
#[test]
fn cli_apportion_and_bad_by() {
    let dir = tempfile::tempdir().unwrap();
    let tut = repo("scenarios/tutorial/scenario.toml");
    let out = rivsim()
        .args(["apportion", tut.to_str().unwrap(), "--by", "kind", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim apportion --by kind");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("largest relative gap"), "{stdout}");
    let csv = std::fs::read_to_string(dir.path().join("apportion.csv")).unwrap();
    assert!(csv.contains("\nS1,COD,boundary inflow,"), "{csv}");
    assert!(csv.contains("\nS1,COD,sewage,"), "{csv}");

    let bad = tempfile::tempdir().unwrap();
    let out = rivsim()
        .args(["apportion", tut.to_str().unwrap(), "--by", "town", "--out"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("town") && err.contains("jurisdiction"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(bad.path()).unwrap().count(), 0);

    // an unknown project in --without is invalid input too
    let out = rivsim()
        .args([
            "apportion",
            tut.to_str().unwrap(),
            "--without",
            "NOPE",
            "--out",
        ])
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
