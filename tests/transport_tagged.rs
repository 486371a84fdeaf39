//! Tagged runs (src/transport/tagged.rs): source groups carried with the total run's fluxes and limiter
//! choices add up to the total; a group equal to the whole model reproduces it; and each group is close to
//! a separate run of that group alone on the same flows.

mod transport_util;

use rivsim::model::*;
use rivsim::transport::{
    DispersionMode, TaggedResults, TransportOptions, group_layout, run, run_tagged,
    run_tagged_in_order,
};
use transport_util::*;

/// Which source a group keeps.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    Inflow,
    Outfall(usize),
    Line,
    Release,
    OutletWater,
}

const ALL: [Keep; 6] = [
    Keep::Inflow,
    Keep::Outfall(0),
    Keep::Outfall(1),
    Keep::Line,
    Keep::Release,
    Keep::OutletWater,
];

/// The model with every source but `keep` carrying no mass (flows untouched).
fn group_model(m: &Model, keep: Keep) -> Model {
    let mut g = m.clone();
    let zero = |v: &mut Vec<Series>| v.iter_mut().for_each(|s| *s = Series::Const(0.0));
    if keep != Keep::Inflow {
        g.inflows
            .iter_mut()
            .for_each(|i| zero(&mut i.concentration));
    }
    for (k, o) in g.outfalls.iter_mut().enumerate() {
        if keep != Keep::Outfall(k) {
            match &mut o.discharge {
                Discharge::Flow { concentration, .. } => zero(concentration),
                Discharge::Load { kg_per_day } => zero(kg_per_day),
            }
        }
    }
    if keep != Keep::Line {
        g.line_loads
            .iter_mut()
            .for_each(|l| zero(&mut l.kg_per_day));
    }
    if keep != Keep::Release {
        g.reaches
            .iter_mut()
            .for_each(|r| r.release_g_m2_day.iter_mut().for_each(|x| *x = 0.0));
    }
    if keep != Keep::OutletWater {
        g.nodes.iter_mut().for_each(|n| zero(&mut n.concentration));
    }
    g
}

/// The largest |Σ_g C_g − C| / max(C, 1e-6 mg/L) over sections and reach means.
fn sum_gap(t: &TaggedResults) -> f64 {
    let ng = t.n_groups;
    let mut worst: f64 = 0.0;
    for (totals, groups) in [
        (&t.total.section_conc, &t.section_conc),
        (&t.total.reach_conc, &t.reach_conc),
    ] {
        for (i, row) in totals.iter().enumerate() {
            for (k, &c) in row.iter().enumerate() {
                let s: f64 = groups[i][k * ng..(k + 1) * ng].iter().sum();
                worst = worst.max((s - c).abs() / c.abs().max(1e-6));
            }
        }
    }
    worst
}

/// On the looped network — a pond, a reversing cross link, a tide entering at an outlet, withdrawals at a
/// node and along a reach, a temperature series, a period change with new depths — six groups (one per
/// source) add up to the total at every section, every reach and every output time. The tagged scheme is
/// the total's with the limiter frozen, so the gap is round-off: over ~2,000 steps of sums of ~1–300 mg/L
/// terms, 1e-9 relative (the contract in the issue) is a thousand times looser than what is seen (≤ 1e-12).
#[test]
fn groups_add_up_to_the_total_explicit_implicit_and_steady() {
    let (m, net, hyd) = looped();
    let m = with_sections(m);
    let groups: Vec<Model> = ALL.iter().map(|&k| group_model(&m, k)).collect();
    for mode in [DispersionMode::Explicit, DispersionMode::Implicit] {
        let opts = TransportOptions {
            dispersion: mode,
            ..opts()
        };
        let t = run_tagged(&m, &net, &hyd, &opts, &groups).unwrap();
        let gap = sum_gap(&t);
        println!("{mode:?}: sum gap {gap:e}");
        assert!(gap < 1e-9, "{mode:?}: groups miss the total by {gap:e}");
        // no group goes negative: the face water is shared so that no group leaves a cell faster than
        // it is there (`tagged::split`); −1e-12 of the largest value allows round-off only
        let top = t
            .section_conc
            .iter()
            .chain(&t.reach_conc)
            .flatten()
            .fold(0.0f64, |a, &b| a.max(b));
        let low = t
            .section_conc
            .iter()
            .chain(&t.reach_conc)
            .flatten()
            .fold(0.0f64, |a, &b| a.min(b));
        println!("{mode:?}: lowest group value {low:e} (largest {top:e})");
        assert!(low >= -1e-12 * top, "{mode:?}: a group went to {low:e}");
        // the total of a tagged run is the plain run, bit for bit
        let plain = run(&m, &net, &hyd, &opts).unwrap();
        assert_eq!(bits(&plain), bits(&t.total), "{mode:?}");
    }
    let mut ms = m.clone();
    ms.sim.mode = Mode::Steady;
    let gs: Vec<Model> = groups
        .iter()
        .map(|g| {
            let mut g = g.clone();
            g.sim.mode = Mode::Steady;
            g
        })
        .collect();
    let t = run_tagged(&ms, &net, &hyd, &opts(), &gs).unwrap();
    let gap = sum_gap(&t);
    assert!(gap < 1e-9, "steady mode: groups miss the total by {gap:e}");
}

/// One group that is the whole model follows the total (the same linear scheme with the same κ), and a
/// group with every source doubled is twice the total: linearity, to round-off (1e-10 relative).
#[test]
fn a_group_equal_to_the_model_is_the_total_and_scales() {
    let (m, net, hyd) = looped();
    let m = with_sections(m);
    let mut double = m.clone();
    let twice = |v: &mut Vec<Series>| {
        v.iter_mut().for_each(|s| {
            if let Series::Const(c) = s {
                *c *= 2.0
            } else if let Series::Table { values, .. } = s {
                values.iter_mut().for_each(|x| *x *= 2.0)
            }
        })
    };
    double
        .inflows
        .iter_mut()
        .for_each(|i| twice(&mut i.concentration));
    for o in &mut double.outfalls {
        match &mut o.discharge {
            Discharge::Flow { concentration, .. } => twice(concentration),
            Discharge::Load { kg_per_day } => twice(kg_per_day),
        }
    }
    double
        .line_loads
        .iter_mut()
        .for_each(|l| twice(&mut l.kg_per_day));
    double
        .reaches
        .iter_mut()
        .for_each(|r| r.release_g_m2_day.iter_mut().for_each(|x| *x *= 2.0));
    double
        .nodes
        .iter_mut()
        .for_each(|n| twice(&mut n.concentration));
    let t = run_tagged(&m, &net, &hyd, &opts(), &[m.clone(), double]).unwrap();
    let mut worst: f64 = 0.0;
    for (i, row) in t.total.section_conc.iter().enumerate() {
        for (k, &c) in row.iter().enumerate() {
            let (a, b) = (t.section_conc[i][2 * k], t.section_conc[i][2 * k + 1]);
            worst = worst.max((a - c).abs() / c.max(1e-6));
            worst = worst.max((b - 2.0 * c).abs() / (2.0 * c).max(1e-6));
        }
    }
    println!("identity/doubling gap {worst:e}");
    assert!(worst < 1e-10, "worst relative gap {worst:e}");
}

/// Each group against a separate run of that group alone on the same flows. They differ only where the
/// limiter's choice for the group alone differs from the total's (the limited scheme is nonlinear): at
/// smooth profiles both are second order and close. The tolerance, 2% of the largest total concentration
/// of that pollutant at the sections, is what the limiter may move a steep front by a fraction of a cell;
/// the measured figure is printed and is well inside it.
#[test]
fn each_group_is_close_to_a_separate_run_of_it_alone() {
    let (m, net, hyd) = looped();
    let m = with_sections(m);
    let groups: Vec<Model> = ALL.iter().map(|&k| group_model(&m, k)).collect();
    let t = run_tagged(&m, &net, &hyd, &opts(), &groups).unwrap();
    let np = m.pollutants.len();
    let ns = m.sections.len();
    let scale: Vec<f64> = (0..np)
        .map(|p| {
            let mut mx: f64 = 0.0;
            for row in &t.total.section_conc {
                for s in 0..ns {
                    mx = mx.max(row[s * np + p]);
                }
            }
            mx
        })
        .collect();
    let mut worst: f64 = 0.0;
    for (g, gm) in groups.iter().enumerate() {
        let alone = run(gm, &net, &hyd, &opts()).unwrap();
        for (i, row) in alone.section_conc.iter().enumerate() {
            for s in 0..ns {
                for p in 0..np {
                    let d = (row[s * np + p] - t.section(i, s, p, g)).abs() / scale[p];
                    worst = worst.max(d);
                }
            }
        }
    }
    println!("largest gap tagged vs alone: {worst:e} of the section maximum");
    assert!(worst < 0.02, "tagged vs alone: {worst:e}");
}

/// A group that does not fit the network is refused with a clear error.
#[test]
fn a_group_on_another_network_is_refused() {
    let (m, net, hyd) = looped();
    let mut g = m.clone();
    g.reaches.pop();
    let e = run_tagged(&m, &net, &hyd, &opts(), &[g]).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("group 0") && s.contains("reaches"), "{s}");
}

/// A tagged run gives the same bits on 1 and 2 threads (the pollutants are the parallel units; each
/// group's arithmetic does not depend on the split), through the pool (`serial_cell_lanes: 0`) and with
/// 2-node chunks so the node pass is split too.
#[test]
fn tagged_runs_are_bit_identical_on_one_and_two_threads() {
    let (m, net, hyd) = looped();
    let m = with_sections(m);
    let groups: Vec<Model> = ALL.iter().map(|&k| group_model(&m, k)).collect();
    let o = TransportOptions {
        serial_cell_lanes: 0,
        chunk_nodes: 2,
        chunk_cells: 16,
        ..opts()
    };
    let run_on = |threads: usize| {
        support::in_pool(threads, || run_tagged(&m, &net, &hyd, &o, &groups).unwrap())
    };
    let (a, b) = (run_on(1), run_on(2));
    let bits = |t: &TaggedResults| -> Vec<u64> {
        t.section_conc
            .iter()
            .chain(&t.reach_conc)
            .flatten()
            .map(|x| x.to_bits())
            .collect()
    };
    assert!(!bits(&a).is_empty());
    assert_eq!(bits(&a), bits(&b));
}

/// The same on the path a small run takes (each pollutant stepping on one thread, a thread with no
/// pollutant left helping another with half of each step: `TransportOptions::whole_pool`), and without it,
/// with explicit and with implicit dispersion (where the total's implicit solve runs beside the groups'
/// cell pass): the bits do not depend on which thread did what.
#[test]
fn tagged_runs_with_helping_threads_are_bit_identical_to_one_thread() {
    let (m, net, hyd) = looped();
    let m = with_sections(m);
    let groups: Vec<Model> = ALL.iter().map(|&k| group_model(&m, k)).collect();
    let bits = |t: &TaggedResults| -> Vec<u64> {
        t.section_conc
            .iter()
            .chain(&t.reach_conc)
            .chain(&t.total.section_conc)
            .chain(&t.total.reach_conc)
            .flatten()
            .map(|x| x.to_bits())
            .collect()
    };
    for dispersion in [DispersionMode::Explicit, DispersionMode::Implicit] {
        for whole_pool in [true, false] {
            let o = TransportOptions {
                dispersion,
                whole_pool,
                ..opts()
            };
            let run_on = |threads: usize| {
                support::in_pool(threads, || run_tagged(&m, &net, &hyd, &o, &groups).unwrap())
            };
            let one = bits(&run_on(1));
            assert!(!one.is_empty());
            // several times: which steps get help depends on timing
            for _ in 0..3 {
                assert_eq!(
                    one,
                    bits(&run_on(2)),
                    "{dispersion:?}, whole_pool {whole_pool}"
                );
            }
        }
    }
}

/// A group's numbers do not depend on which other groups share the run or where it sits among them: the
/// six source groups spread over five blocks of four among fourteen groups that bring nothing give every
/// source group the same bits as the six alone, and the empty groups stay exactly 0. (Every group's
/// arithmetic is its own lane's, and the shared face split only ever binds on a group that is present.)
/// This also exercises the skipping of blocks that are 0 in a reach (`TagLane::act`): the empty blocks
/// are never touched, and each source group's block becomes active reach by reach as its water arrives.
#[test]
fn group_order_and_empty_groups_change_no_bits() {
    let (m, net, hyd) = looped();
    let m = with_sections(m);
    let groups: Vec<Model> = ALL.iter().map(|&k| group_model(&m, k)).collect();
    let mut empty = group_model(&m, Keep::Inflow);
    empty.inflows.iter_mut().for_each(|i| {
        i.concentration
            .iter_mut()
            .for_each(|s| *s = Series::Const(0.0))
    });
    empty.initial = InitialState::Zero;
    // positions of the six in a row of twenty (blocks 0, 1, 2, 3, 4, 4; the rest empty)
    let at = [1usize, 6, 11, 12, 17, 19];
    let mut spread: Vec<Model> = (0..20).map(|_| empty.clone()).collect();
    for (g, &i) in at.iter().enumerate() {
        spread[i] = groups[g].clone();
    }
    for mode in [DispersionMode::Explicit, DispersionMode::Implicit] {
        let o = TransportOptions {
            dispersion: mode,
            ..opts()
        };
        // laid out as given (positions 1, 6, 11, … really are those blocks and lanes)
        let alone = run_tagged_in_order(&m, &net, &hyd, &o, &groups, &[0, 1, 2, 3, 4, 5]).unwrap();
        let identity: Vec<usize> = (0..20).collect();
        let mixed = run_tagged_in_order(&m, &net, &hyd, &o, &spread, &identity).unwrap();
        for (rows_a, rows_b) in [
            (&alone.section_conc, &mixed.section_conc),
            (&alone.reach_conc, &mixed.reach_conc),
        ] {
            for (ra, rb) in rows_a.iter().zip(rows_b) {
                let items = ra.len() / 6;
                for k in 0..items {
                    for (g, &i) in at.iter().enumerate() {
                        assert_eq!(
                            ra[k * 6 + g].to_bits(),
                            rb[k * 20 + i].to_bits(),
                            "{mode:?}"
                        );
                    }
                    for i in (0..20).filter(|i| !at.contains(i)) {
                        assert_eq!(rb[k * 20 + i], 0.0, "{mode:?}: empty group {i}");
                    }
                }
            }
        }
    }
}

/// Where the groups' mass can go on the looped network (read off `looped()`'s two flow periods): the line
/// load on R4 reaches R4, R5 and R6 (R4 flows J3 → J2 in the first period, and R5 leaves J2 towards O);
/// the outfall on R2 reaches R2 and, through the pond J2, the same three. So with four copies of each,
/// interleaved, the layout puts the four outfall groups (the larger footprint, and among equal additions
/// the one sharing most) in the first block and the four line-load groups in the second; a group with no
/// source goes last. Laid out that way or as given, every group's bits are the same.
#[test]
fn group_layout_packs_groups_by_where_they_reach_and_changes_no_bits() {
    let (m, net, hyd) = looped();
    let m = with_sections(m);
    let line = group_model(&m, Keep::Line);
    let outfall = group_model(&m, Keep::Outfall(1));
    let mut empty = group_model(&m, Keep::Line);
    empty.line_loads.clear();
    empty.initial = InitialState::Zero;
    let mut groups: Vec<Model> = Vec::new();
    groups.push(empty);
    for _ in 0..4 {
        groups.push(line.clone());
        groups.push(outfall.clone());
    }
    // 0 empty; 1, 3, 5, 7 line load; 2, 4, 6, 8 outfall
    let order = group_layout(&net, &hyd, &groups);
    assert_eq!(order, vec![2, 4, 6, 8, 1, 3, 5, 7, 0]);
    let as_given: Vec<usize> = (0..groups.len()).collect();
    for mode in [DispersionMode::Explicit, DispersionMode::Implicit] {
        let o = TransportOptions {
            dispersion: mode,
            ..opts()
        };
        let laid = run_tagged(&m, &net, &hyd, &o, &groups).unwrap();
        let given = run_tagged_in_order(&m, &net, &hyd, &o, &groups, &as_given).unwrap();
        for (a, b) in [
            (&laid.section_conc, &given.section_conc),
            (&laid.reach_conc, &given.reach_conc),
        ] {
            for (ra, rb) in a.iter().zip(b) {
                let ba: Vec<u64> = ra.iter().map(|x| x.to_bits()).collect();
                let bb: Vec<u64> = rb.iter().map(|x| x.to_bits()).collect();
                assert_eq!(ba, bb, "{mode:?}");
            }
        }
        // and the groups are what they say: the empty one stays 0, the copies agree with each other
        for row in &laid.reach_conc {
            for k in 0..row.len() / 9 {
                let g = &row[k * 9..k * 9 + 9];
                assert_eq!(g[0], 0.0);
                assert!(g[1] == g[3] && g[1] == g[5] && g[1] == g[7]);
                assert!(g[2] == g[4] && g[2] == g[6] && g[2] == g[8]);
            }
        }
    }
    // an order that is not a permutation is refused, not run
    let e = run_tagged_in_order(
        &m,
        &net,
        &hyd,
        &opts(),
        &groups,
        &[0, 0, 1, 2, 3, 4, 5, 6, 7],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a permutation"), "{e}");
}
