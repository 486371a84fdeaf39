//! Responses (`transport::run_responses`): each group carried as its difference from the total, with the
//! total's fluxes and limiter choices. Checked against the same groups carried whole by `run_tagged` minus
//! the total, for exact zeros where a group changes nothing, and for the same bits on any number of
//! threads and in any layout.

mod transport_util;

use rivsim::model::*;
use rivsim::transport::{
    DispersionMode, ResponseState, TaggedResults, TransportOptions, response_layout,
    run_response_tree, run_responses, run_responses_in_order, run_tagged,
};
use transport_util::*;

const DAY: f64 = 86_400.0;

/// The looped network with five sections.
fn looped_with_sections() -> (
    Model,
    rivsim::network::Network,
    rivsim::hydraulics::Hydraulics,
) {
    let (m, net, hyd) = looped();
    (with_sections(m), net, hyd)
}

/// Variants of the looped model, each changing one kind of source the way a project would (the flows are
/// the total's throughout), and one changing nothing.
fn variants(m: &Model) -> Vec<(&'static str, Model)> {
    let mut v = Vec::new();
    // the outfall with water on R3: COD cut from 250 to 100 mg/L (NH3N unchanged)
    let mut g = m.clone();
    if let Discharge::Flow { concentration, .. } = &mut g.outfalls[0].discharge {
        concentration[0] = Series::Const(100.0);
    }
    v.push(("outfall COD cut", g));
    // the mass load on R2: 50 → 10 kg/day of COD from day 1 (a project finishing inside the run)
    let mut g = m.clone();
    if let Discharge::Load { kg_per_day } = &mut g.outfalls[1].discharge {
        kg_per_day[0] = Series::Table {
            times_s: vec![0.0, DAY],
            values: vec![50.0, 10.0],
            linear: false,
        };
    }
    v.push(("load cut from day 1", g));
    // the line load on R4 at 30%
    let mut g = m.clone();
    g.line_loads[0].kg_per_day = vec![Series::Const(6.0), Series::Const(0.6)];
    v.push(("line load at 30%", g));
    // the boundary inflow cleaner (a neighbour's works)
    let mut g = m.clone();
    g.inflows[0].concentration[0] = Series::Table {
        times_s: vec![0.0, DAY, 3.0 * DAY],
        values: vec![20.0, 15.0, 8.0],
        linear: true,
    };
    v.push(("boundary inflow cleaner", g));
    // the tide entering at O cleaner
    let mut g = m.clone();
    g.nodes[4].concentration = vec![Series::Const(1.0), Series::Const(0.05)];
    v.push(("outlet water cleaner", g));
    // dredging R1: bed release 0.5 → 0.1 g/m²/day of COD
    let mut g = m.clone();
    g.reaches[0].release_g_m2_day = vec![0.1, 0.05];
    v.push(("bed release cut", g));
    // a new outfall on R6 (its water is not added: the flows are held)
    let mut g = m.clone();
    g.outfalls.push(Outfall {
        id: "P3".into(),
        reach: 5,
        at_m: 500.0,
        discharge: Discharge::Flow {
            flow_m3s: Series::Const(0.05),
            concentration: vec![Series::Const(80.0), Series::Const(8.0)],
        },
        kind: OutfallKind::Sewage,
        group: "new".into(),
    });
    v.push(("new outfall", g));
    v.push(("unchanged", m.clone()));
    v
}

/// Every group value of a tagged or response run, as bits.
fn group_bits(t: &TaggedResults) -> Vec<u64> {
    t.section_conc
        .iter()
        .chain(&t.reach_conc)
        .flatten()
        .map(|x| x.to_bits())
        .collect()
}

/// Each response against the same group carried whole (`run_tagged`) minus the total, for explicit and
/// implicit dispersion. Both carry the group with the total's fluxes and the same split rule, so they differ
/// by round-off — the response is not the difference of two values of up to a few hundred mg/L, but is
/// carried directly — plus what the split's choice of β can move where it sits at its bound (the groups
/// that bind β are not the same: a response run does not look at the groups that equal the total). The
/// tolerance, 1e-9 of the pollutant's largest total concentration at the sections, is far above round-off
/// (about 1e-14 here) and far below any difference that would matter; the measured figure is printed.
#[test]
fn responses_are_the_groups_carried_whole_minus_the_total() {
    let (m, net, hyd) = looped_with_sections();
    let vs = variants(&m);
    let groups: Vec<Model> = vs.iter().map(|(_, g)| g.clone()).collect();
    let (np, ns, ng) = (m.pollutants.len(), m.sections.len(), groups.len());
    for mode in [DispersionMode::Explicit, DispersionMode::Implicit] {
        let o = TransportOptions {
            dispersion: mode,
            ..opts()
        };
        let whole = run_tagged(&m, &net, &hyd, &o, &groups).unwrap();
        let resp = run_responses(&m, &net, &hyd, &o, &groups).unwrap();
        assert!(resp.relative && !whole.relative);
        // the total is the same run either way
        assert_eq!(bits(&whole.total), bits(&resp.total), "{mode:?}");
        let scale: Vec<f64> = (0..np)
            .map(|p| {
                whole
                    .total
                    .section_conc
                    .iter()
                    .flat_map(|row| (0..ns).map(move |s| row[s * np + p]))
                    .fold(0.0, f64::max)
            })
            .collect();
        let mut worst: f64 = 0.0;
        let mut largest: f64 = 0.0;
        for (i, row) in whole.total.section_conc.iter().enumerate() {
            for s in 0..ns {
                for p in 0..np {
                    for g in 0..ng {
                        let expect = whole.section(i, s, p, g) - row[s * np + p];
                        let got = resp.section(i, s, p, g);
                        worst = worst.max((got - expect).abs() / scale[p]);
                        largest = largest.max(got.abs() / scale[p]);
                    }
                }
            }
        }
        println!(
            "{mode:?}: responses vs whole − total: {worst:e} of the section maximum (responses reach {largest:.3} of it)"
        );
        assert!(worst < 1e-9, "{mode:?}: {worst:e}");
        // the responses are not trivially small: the test would see a wrong one
        assert!(largest > 0.05, "{mode:?}: {largest}");
    }
}

/// Where a group changes nothing its response is exactly 0, not round-off: the unchanged group
/// everywhere; the outfall's COD cut for NH3N (a pollutant it does not change); the load cut from day 1
/// at every output before day 1; the outfall's COD cut on R3 in R1, upstream of it (J1's water comes from
/// R1 alone, and dispersion across a node exchanges with the node's mixed water, so nothing of R3 reaches
/// J1 or R1; R2, which leaves J1 too, is reached at its far end through the pond J2); and the new outfall
/// on R6 everywhere but R6 (R6 runs from J3 to the outlet O2 in both periods).
#[test]
fn a_response_is_exactly_zero_where_nothing_it_changes_has_reached() {
    let (m, net, hyd) = looped_with_sections();
    let vs = variants(&m);
    let groups: Vec<Model> = vs.iter().map(|(_, g)| g.clone()).collect();
    let (np, nr, ng) = (m.pollutants.len(), m.reaches.len(), groups.len());
    let name = |g: usize| vs[g].0;
    let find = |n: &str| vs.iter().position(|(x, _)| *x == n).unwrap();
    let (unchanged, outfall, late, new) = (
        find("unchanged"),
        find("outfall COD cut"),
        find("load cut from day 1"),
        find("new outfall"),
    );
    for mode in [DispersionMode::Explicit, DispersionMode::Implicit] {
        let o = TransportOptions {
            dispersion: mode,
            ..opts()
        };
        let t = run_responses(&m, &net, &hyd, &o, &groups).unwrap();
        let times = &t.total.output_times_s;
        for i in 0..times.len() {
            for r in 0..nr {
                for p in 0..np {
                    assert_eq!(t.reach(i, r, p, unchanged).to_bits(), 0, "{mode:?}");
                    assert_eq!(t.reach(i, r, 1, outfall).to_bits(), 0, "{mode:?}");
                    if times[i] < DAY {
                        assert_eq!(
                            t.reach(i, r, p, late).to_bits(),
                            0,
                            "{mode:?} t {}",
                            times[i]
                        );
                    }
                }
            }
            assert_eq!(t.reach(i, 0, 0, outfall).to_bits(), 0, "{mode:?}");
            for r in 0..5 {
                for p in 0..np {
                    assert_eq!(t.reach(i, r, p, new).to_bits(), 0, "{mode:?}: R{}", r + 1);
                }
            }
        }
        // and every other response is somewhere not 0
        for g in (0..ng).filter(|&g| g != unchanged) {
            let any = (0..times.len()).any(|i| (0..nr).any(|r| t.reach(i, r, 0, g) != 0.0));
            assert!(any, "{mode:?}: {} has no response", name(g));
        }
    }
}

/// The same bits on 1 and 2 threads (with and without helping threads, explicit and implicit
/// dispersion), and whatever the layout: as `response_layout` orders the groups, as given, and reversed.
#[test]
fn responses_are_bit_identical_on_any_threads_and_layout() {
    let (m, net, hyd) = looped_with_sections();
    let groups: Vec<Model> = variants(&m).into_iter().map(|(_, g)| g).collect();
    let ng = groups.len();
    let laid = response_layout(&m, &net, &hyd, &opts(), &groups).unwrap();
    let mut sorted = laid.clone();
    sorted.sort();
    assert_eq!(sorted, (0..ng).collect::<Vec<_>>());
    for dispersion in [DispersionMode::Explicit, DispersionMode::Implicit] {
        for whole_pool in [true, false] {
            let o = TransportOptions {
                dispersion,
                whole_pool,
                ..opts()
            };
            let on = |threads: usize, perm: &[usize]| {
                support::in_pool(threads, || {
                    group_bits(&run_responses_in_order(&m, &net, &hyd, &o, &groups, perm).unwrap())
                })
            };
            let one = on(1, &laid);
            assert!(!one.is_empty());
            let given: Vec<usize> = (0..ng).collect();
            let reversed: Vec<usize> = (0..ng).rev().collect();
            for perm in [&laid, &given, &reversed] {
                assert_eq!(one, on(2, perm), "{dispersion:?}, whole_pool {whole_pool}");
            }
            assert_eq!(one, on(1, &reversed), "{dispersion:?}");
        }
    }
}

/// `s` with what a project acting from day 2 changes: the outfall on R3 cut to 100 mg/L of COD from day 2
/// and a decay change on R6 from day 2.5.
fn acting_from_day_2(s: &Model) -> Model {
    let mut m = s.clone();
    if let Discharge::Flow { concentration, .. } = &mut m.outfalls[0].discharge {
        let before = concentration[0].at(0.0);
        concentration[0] = Series::Table {
            times_s: vec![0.0, 2.0 * DAY],
            values: vec![before, 100.0],
            linear: false,
        };
    }
    m.decay_changes.push(DecayChange {
        reach: 5,
        t_s: 2.5 * DAY,
        decay_per_day: vec![0.6, 0.4],
    });
    m
}

/// A tree of response runs (`run_response_tree`): a state whose total and groups are another's until day
/// 2 goes on from that state's run at day 2 instead of stepping the first two days again. Its flows are
/// the same (so are its flow periods and steps), so it must give the very bits of its own run from the
/// start — totals, mass ledger and responses — and the first state its own; on 1 and 2 threads, with
/// explicit and implicit dispersion. A state said to agree only up to day 0 runs from the start.
#[test]
fn a_state_going_on_from_another_gives_the_bits_of_its_own_run() {
    let (m, net, hyd) = looped_with_sections();
    let groups: Vec<Model> = variants(&m).into_iter().map(|(_, g)| g).collect();
    let m1 = acting_from_day_2(&m);
    let groups1: Vec<Model> = groups.iter().map(acting_from_day_2).collect();
    let all_bits = |t: &TaggedResults| {
        let mut v = bits(&t.total);
        v.extend(group_bits(t));
        v
    };
    for dispersion in [DispersionMode::Explicit, DispersionMode::Implicit] {
        let o = TransportOptions {
            dispersion,
            ..opts()
        };
        // each state alone, laid out as the tree lays out every state (the first state's layout)
        let laid = response_layout(&m, &net, &hyd, &o, &groups).unwrap();
        let alone0 = run_responses_in_order(&m, &net, &hyd, &o, &groups, &laid).unwrap();
        let alone1 = run_responses_in_order(&m1, &net, &hyd, &o, &groups1, &laid).unwrap();
        assert_ne!(
            all_bits(&alone0),
            all_bits(&alone1),
            "the two states differ"
        );
        for (threads, agree_s) in [(1, 2.0 * DAY), (2, 2.0 * DAY), (2, 0.5 * 3_600.0)] {
            let states = [
                ResponseState {
                    model: &m,
                    hyd: &hyd,
                    groups: &groups,
                    from: None,
                },
                ResponseState {
                    model: &m1,
                    hyd: &hyd,
                    groups: &groups1,
                    from: Some((0, agree_s)),
                },
            ];
            let tree = support::in_pool(threads, || run_response_tree(&net, &o, &states).unwrap());
            assert_eq!(
                all_bits(&tree[0]),
                all_bits(&alone0),
                "{dispersion:?}, {threads} threads"
            );
            assert_eq!(
                all_bits(&tree[1]),
                all_bits(&alone1),
                "{dispersion:?}, {threads} threads"
            );
            assert!(tree[1].relative);
        }
        // the hand-over really happens: a state that differs from the start but is said to agree up to
        // day 2 has the first state's outputs up to day 2 (its own run's differ there), its own after
        let mut m2 = m.clone();
        if let Discharge::Flow { concentration, .. } = &mut m2.outfalls[0].discharge {
            concentration[0] = Series::Const(100.0);
        }
        let states = [
            ResponseState {
                model: &m,
                hyd: &hyd,
                groups: &groups,
                from: None,
            },
            ResponseState {
                model: &m2,
                hyd: &hyd,
                groups: &groups,
                from: Some((0, 2.0 * DAY)),
            },
        ];
        let tree = run_response_tree(&net, &o, &states).unwrap();
        let times = &tree[0].total.output_times_s;
        let handed = times.iter().filter(|&&t| t <= 2.0 * DAY).count();
        let (a, b) = (&tree[0].total.section_conc, &tree[1].total.section_conc);
        assert_eq!(a[..handed], b[..handed], "{dispersion:?}");
        assert_ne!(a[handed..], b[handed..], "{dispersion:?}");
        let own = run_responses(&m2, &net, &hyd, &o, &groups).unwrap();
        assert_ne!(own.total.section_conc[1], a[1], "{dispersion:?}");
    }
}

/// A state that goes on from a later state, or carries another number of groups, is refused.
#[test]
fn a_tree_of_states_that_does_not_fit_is_refused() {
    let (m, net, hyd) = looped_with_sections();
    let groups: Vec<Model> = variants(&m).into_iter().map(|(_, g)| g).collect();
    let state = |from| ResponseState {
        model: &m,
        hyd: &hyd,
        groups: &groups,
        from,
    };
    let e = run_response_tree(&net, &opts(), &[state(Some((1, DAY))), state(None)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("state 0") && e.contains("goes on from state 1"),
        "{e}"
    );
    let fewer = ResponseState {
        groups: &groups[..2],
        ..state(Some((0, DAY)))
    };
    let e = run_response_tree(&net, &opts(), &[state(None), fewer])
        .unwrap_err()
        .to_string();
    assert!(e.contains("state 1") && e.contains("2 groups"), "{e}");
}
