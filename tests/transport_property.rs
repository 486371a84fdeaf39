//! Property tests on random trees: with no decay, every concentration stays within the range of the inflow
//! and initial concentrations (a discrete maximum principle: the limited scheme, the mixing at nodes and the
//! explicit dispersion within its step limit are all convex combinations), and the ledger closes.

mod transport_util;

use proptest::prelude::*;
use rivsim::model::*;
use rivsim::network::Network;
use rivsim::transport::{run, steady_state};
use transport_util::*;

/// A random tree: reach i ≥ 1 joins the upstream end of reach `parent[i] < i`; reach 0 ends at the outlet.
/// Leaves get inflows. Reaches listed in `flip` are described against the flow (nominal direction from the
/// downstream node to the upstream one), so their face flows are negative.
fn random_tree(
    parents: &[usize],
    lens: &[f64],
    es: &[f64],
    qs: &[f64],
    cs: &[f64],
    flip: &[bool],
    c0: f64,
) -> (Model, Network, rivsim::hydraulics::Hydraulics) {
    let n = parents.len();
    let mut has_child = vec![false; n];
    for &p in parents.iter().skip(1) {
        has_child[p] = true;
    }
    let mut nodes = vec![node("O", NodeKind::Outlet)];
    for (i, &c) in has_child.iter().enumerate() {
        nodes.push(node(
            &format!("N{i}"),
            if c {
                NodeKind::Junction
            } else {
                NodeKind::Boundary
            },
        ));
    }
    let mut specs = Vec::new();
    for i in 0..n {
        let down = if i == 0 { 0 } else { parents[i] + 1 };
        let (from, to) = if flip[i] {
            (down, i + 1)
        } else {
            (i + 1, down)
        };
        specs.push(r("R", from, to, lens[i], 10.0, 100.0, es[i], 0.0));
    }
    let mut m = model(&["X"], nodes, &specs, 2.0 * 86_400.0, 43_200.0);
    let mut q = vec![0.0; n];
    let mut k = 0;
    for i in (0..n).rev() {
        if !has_child[i] {
            m.inflows
                .push(inflow(i + 1, qs[k % qs.len()], &[cs[k % cs.len()]]));
            q[i] += qs[k % qs.len()];
            k += 1;
        }
        if i > 0 {
            let p = parents[i];
            q[p] += q[i];
        }
    }
    m.initial = InitialState::Values(vec![c0]);
    let net = Network::build(&m);
    let q_from: Vec<f64> = (0..n).map(|i| if flip[i] { -q[i] } else { q[i] }).collect();
    let f = field(&m, &net, &q_from, &vec![1.0; n], 0.0, 2.0 * 86_400.0, 0.0);
    (m, net, hyd(vec![f]))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    /// Tolerance: 1e-12 relative to the largest concentration (round-off of the convex combinations).
    #[test]
    fn no_reaction_stays_within_inflow_range(
        seed_parents in proptest::collection::vec(0usize..1000, 2..8),
        lens in proptest::collection::vec(200.0f64..3000.0, 8),
        es in proptest::collection::vec(0.0f64..20.0, 8),
        qs in proptest::collection::vec(0.05f64..3.0, 1..5),
        cs in proptest::collection::vec(0.0f64..50.0, 1..5),
        flip in proptest::collection::vec(any::<bool>(), 8),
        c0 in 0.0f64..50.0,
    ) {
        let parents: Vec<usize> = seed_parents
            .iter()
            .enumerate()
            .map(|(i, &s)| if i == 0 { 0 } else { s % i })
            .collect();
        let (m, net, hy) = random_tree(&parents, &lens, &es, &qs, &cs, &flip, c0);
        let lo = cs.iter().cloned().fold(c0, f64::min);
        let hi = cs.iter().cloned().fold(c0, f64::max);
        let tol = 1e-12 * hi.max(1.0);
        let res = run(&m, &net, &hy, &opts()).unwrap();
        for c in res.final_cell_conc[0].iter().chain(res.reach_conc.iter().flatten()) {
            prop_assert!(*c >= lo - tol && *c <= hi + tol, "{} outside [{}, {}]", c, lo, hi);
        }
        prop_assert!(res.mass_balance[0].relative_error < 1e-12, "{:?}", res.mass_balance[0]);
        let st = steady_state(&m, &net, &hy.periods[0], 0, 0.0, &opts()).unwrap();
        let lo_in = cs.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi_in = cs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        for c in &st.cell_conc[0] {
            prop_assert!(*c >= lo_in - tol && *c <= hi_in + tol, "steady {} outside [{}, {}]", c, lo_in, hi_in);
        }
    }
}
