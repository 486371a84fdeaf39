//! Property tests on random networks: flow order, continuity, signs and depths of the steady hydraulics.

use chrono::NaiveDate;
use proptest::prelude::*;
use rivsim::hydraulics::{self, FlowField, HydraulicsOptions};
use rivsim::model::*;
use rivsim::network::Network;

fn empty_model() -> Model {
    Model {
        title: "prop".into(),
        path: "prop.toml".into(),
        // the default day with hourly output, steady, from 2025-01-01
        sim: Simulation {
            start: NaiveDate::from_ymd_opt(2025, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            mode: Mode::Steady,
            hydraulics: FlowModel::Steady,
            ..Model::default().sim
        },
        ..Default::default()
    }
}

fn node(id: String, kind: NodeKind, level: Option<f64>) -> Node {
    Node {
        id,
        kind,
        xy: None,
        level_m: level.map(Series::Const),
        bed_m: None,
        concentration: vec![],
        area_m2: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn reach(id: String, from: usize, to: usize, len: f64, w: f64, z: f64, bu: f64, bd: f64) -> Reach {
    Reach {
        id,
        from,
        to,
        length_m: len,
        section: if z == 0.0 {
            Section::Rectangle { width_m: w }
        } else {
            Section::Trapezoid {
                bottom_width_m: w,
                side_slope: z,
            }
        },
        bed_up_m: bu,
        bed_down_m: bd,
        manning_n: 0.03,
        dispersion_m2s: 0.0,
        decay_per_day: vec![],
        release_g_m2_day: vec![],
        cell_length_m: 250.0,
        water_body: WaterBody::River,
        zone: None,
        jurisdiction: None,
        level: None,
        river: None,
        geometry: vec![],
    }
}

/// One random reach description: (parent seed, length, width, side slope, bed slope, inflow, outfall flow,
/// outfall position share).
type Spec = (u32, f64, f64, f64, f64, f64, f64, f64);

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<u32>(),
        100.0..3000.0f64,
        5.0..40.0f64,
        prop_oneof![Just(0.0), 0.5..3.0f64],
        0.0..5e-4f64,
        prop_oneof![Just(0.0), 0.0..5.0f64],
        prop_oneof![Just(0.0), 0.0..0.5f64],
        0.0..1.0f64,
    )
}

/// A random tree: node 0 is the outlet (held at bed + `depth0`, or a free outfall when `depth0` is None);
/// node i ≥ 1 drains by a reach drawn downstream to a random earlier node; beds rise upstream.
fn tree_model(specs: &[Spec], depth0: Option<f64>) -> Model {
    let mut m = empty_model();
    m.nodes.push(node(
        "N0".into(),
        NodeKind::Outlet,
        depth0.map(|d| -1.0 + d),
    ));
    let mut bed = vec![-1.0];
    for (k, s) in specs.iter().enumerate() {
        let i = k + 1;
        let p = (s.0 as usize) % i;
        m.nodes
            .push(node(format!("N{i}"), NodeKind::Junction, None));
        let b = bed[p] + s.4 * s.1 + if depth0.is_none() { 1e-4 * s.1 } else { 0.0 };
        bed.push(b);
        m.reaches
            .push(reach(format!("R{i}"), i, p, s.1, s.2, s.3, b, bed[p]));
        if s.5 > 0.0 {
            m.inflows.push(Inflow {
                node: i,
                flow_m3s: Series::Const(s.5),
                concentration: vec![],
                group: "g".into(),
            });
        }
        if s.6 > 0.0 {
            m.outfalls.push(Outfall {
                id: format!("P{i}"),
                reach: k,
                at_m: s.7 * s.1,
                discharge: Discharge::Flow {
                    flow_m3s: Series::Const(s.6),
                    concentration: vec![],
                },
                kind: OutfallKind::Sewage,
                group: "g".into(),
            });
        }
    }
    m
}

/// Continuity recomputed from the field: |in − out + inject − exchange| ≤ 1e-12 × the largest flow through a
/// node at every node (round-off of a few additions is ~1e-16 relative), and the in-reach identity exactly.
fn continuity_ok(m: &Model, net: &Network, f: &FlowField) -> Result<(), TestCaseError> {
    let mut through = 0.0f64;
    let mut res = f.node_inject_m3s.clone();
    for n in 0..net.n_nodes {
        res[n] -= f.node_exchange_m3s[n];
        through = through.max(f.node_inject_m3s[n].abs());
    }
    for (r, reach) in m.reaches.iter().enumerate() {
        let fc = net.faces_of(r);
        let (a, b) = (f.face_flow_m3s[fc.start], f.face_flow_m3s[fc.end - 1]);
        res[reach.to] += b;
        res[reach.from] -= a;
        through = through.max(a.abs()).max(b.abs());
        for (i, c) in net.cells_of(r).enumerate() {
            prop_assert_eq!(
                f.face_flow_m3s[fc.start + i + 1],
                f.face_flow_m3s[fc.start + i] + f.cell_lateral_m3s[c]
            );
        }
    }
    for v in res {
        prop_assert!(v.abs() <= 1e-12 * through.max(1e-300), "residual {v:e}");
    }
    prop_assert!(f.continuity_relative <= 1e-12);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random trees, reaches drawn downstream, non-negative inflows and outfalls: the flow order is
    /// topological, continuity holds, every face flow is ≥ 0, depths are positive and finite.
    #[test]
    fn random_trees(specs in prop::collection::vec(spec(), 1..40),
                    held in prop::option::of(0.5..4.0f64)) {
        let m = tree_model(&specs, held);
        let net = Network::build(&m);
        prop_assert!(net.nominal_acyclic && net.is_forest);
        // topological: each reach comes after every reach entering its from-node
        let mut pos = vec![0; net.n_reaches];
        for (k, &r) in net.reach_order.iter().enumerate() {
            pos[r] = k;
        }
        for (r, reach) in m.reaches.iter().enumerate() {
            for &up in Network::into(&net, reach.from) {
                prop_assert!(pos[up] < pos[r]);
            }
        }
        let opts = HydraulicsOptions::default();
        let mut w = vec![];
        let f = hydraulics::solve_period(&m, &net, &opts, 0.0, 1.0, &mut w).unwrap();
        prop_assert_eq!(f.iterations, 0); // the tree solver ran
        continuity_ok(&m, &net, &f)?;
        for &q in &f.face_flow_m3s {
            prop_assert!(q >= 0.0);
        }
        for &y in &f.cell_depth_m {
            prop_assert!(y.is_finite() && y >= opts.min_depth_m);
        }
        // the outlet lets out everything that came in
        let total: f64 = f.node_inject_m3s.iter().sum::<f64>() + f.cell_lateral_m3s.iter().sum::<f64>();
        prop_assert!((f.node_exchange_m3s[0] - total).abs() <= 1e-12 * total.max(1e-300));
    }

    /// The same trees plus random extra reaches (loops, either direction), solved by the looped solver: it
    /// converges, continuity holds to round-off, and where inflows are positive the outlet takes them all.
    #[test]
    fn random_looped_networks(specs in prop::collection::vec(spec(), 2..30),
                              extra in prop::collection::vec((any::<u32>(), any::<u32>(), 200.0..2000.0f64), 1..6),
                              held in 0.5..4.0f64) {
        let mut m = tree_model(&specs, Some(held));
        let n = m.nodes.len();
        for (k, &(a, b, len)) in extra.iter().enumerate() {
            let (a, b) = ((a as usize) % n, (b as usize) % n);
            if a == b {
                continue;
            }
            let r = reach(format!("X{k}"), a, b, len, 8.0, 1.0, -1.0, -1.0);
            m.reaches.push(r);
        }
        let net = Network::build(&m);
        let opts = HydraulicsOptions { force_looped: true, ..Default::default() };
        let mut w = vec![];
        let f = hydraulics::solve_period(&m, &net, &opts, 0.0, 1.0, &mut w)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        continuity_ok(&m, &net, &f)?;
        for &y in &f.cell_depth_m {
            prop_assert!(y.is_finite() && y >= opts.min_depth_m);
        }
    }
}
