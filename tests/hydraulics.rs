//! Steady hydraulics against hand calculations, closed forms and independent integrations
//! (DESIGN.md §4 item 9). Models are built directly in Rust by the small builder below.

mod support;

use chrono::NaiveDate;
use rivsim::hydraulics::{self, FlowField, HydraulicsError, HydraulicsOptions};
use rivsim::model::*;
use rivsim::network::Network;

// ---------------------------------------------------------------- builder

struct B {
    m: Model,
}

impl B {
    fn new() -> B {
        B {
            m: Model {
                title: "test".into(),
                path: "test.toml".into(),
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
            },
        }
    }
    fn node(&mut self, id: &str, kind: NodeKind, level_m: Option<f64>) -> usize {
        self.m.nodes.push(Node {
            id: id.into(),
            kind,
            xy: None,
            level_m: level_m.map(Series::Const),
            bed_m: None,
            concentration: vec![],
            area_m2: None,
        });
        self.m.nodes.len() - 1
    }
    #[allow(clippy::too_many_arguments)]
    fn reach(
        &mut self,
        id: &str,
        from: usize,
        to: usize,
        length_m: f64,
        section: Section,
        bed_up_m: f64,
        bed_down_m: f64,
        manning_n: f64,
    ) -> usize {
        self.m.reaches.push(Reach {
            id: id.into(),
            from,
            to,
            length_m,
            section,
            bed_up_m,
            bed_down_m,
            manning_n,
            dispersion_m2s: 0.0,
            decay_per_day: vec![],
            release_g_m2_day: vec![],
            cell_length_m: 100.0,
            water_body: WaterBody::River,
            zone: None,
            jurisdiction: None,
            level: None,
            river: None,
            geometry: vec![],
        });
        self.m.reaches.len() - 1
    }
    fn inflow(&mut self, node: usize, q: f64) {
        self.m.inflows.push(Inflow {
            node,
            flow_m3s: Series::Const(q),
            concentration: vec![],
            group: "g".into(),
        });
    }
    fn outfall(&mut self, reach: usize, at_m: f64, q: f64) {
        self.m.outfalls.push(Outfall {
            id: format!("P{}", self.m.outfalls.len()),
            reach,
            at_m,
            discharge: Discharge::Flow {
                flow_m3s: Series::Const(q),
                concentration: vec![],
            },
            kind: OutfallKind::Sewage,
            group: "g".into(),
        });
    }
    fn withdraw(&mut self, place: Place, q: f64) {
        self.m.withdrawals.push(Withdrawal {
            place,
            flow_m3s: Series::Const(q),
        });
    }
    fn solve(&self, force_looped: bool) -> (Network, FlowField, Vec<String>) {
        let net = Network::build(&self.m);
        let opts = HydraulicsOptions {
            force_looped,
            ..Default::default()
        };
        let mut w = vec![];
        let f = hydraulics::solve_period(&self.m, &net, &opts, 0.0, 86400.0, &mut w)
            .unwrap_or_else(|e| panic!("solve failed: {e}"));
        check_continuity(&self.m, &net, &f);
        (net, f, w)
    }
}

fn rect(width_m: f64) -> Section {
    Section::Rectangle { width_m }
}

fn trap(b: f64, z: f64) -> Section {
    Section::Trapezoid {
        bottom_width_m: b,
        side_slope: z,
    }
}

/// Signed flow of reach `r` at its from-face and to-face.
fn ends(net: &Network, f: &FlowField, r: usize) -> (f64, f64) {
    let fc = net.faces_of(r);
    (f.face_flow_m3s[fc.start], f.face_flow_m3s[fc.end - 1])
}

/// The shared continuity check, recomputed independently of the solver:
/// - inside each reach face[i+1] == face[i] + lateral[i] exactly (it holds by construction);
/// - each cell's lateral equals the outfall flows minus withdrawals placed in it;
/// - at every node in − out + inject − exchange = residual, and |residual| ≤ 1e-12 × the largest flow through
///   a node (the solvers balance continuity to round-off: a double sum of O(10) terms carries about 1e-15
///   relative error, so 1e-12 leaves three orders of margin yet catches any real imbalance);
/// - the exchanges add up to the total water put in (global balance, same tolerance);
/// - depths positive, velocities = mean face flow / area.
fn check_continuity(m: &Model, net: &Network, f: &FlowField) {
    let mut lat = vec![0.0; net.n_cells];
    for o in &m.outfalls {
        if let Discharge::Flow { flow_m3s, .. } = &o.discharge {
            lat[net.cell_at(o.reach, o.at_m)] += flow_m3s.at(0.0);
        }
    }
    let mut inject = vec![0.0; net.n_nodes];
    for i in &m.inflows {
        inject[i.node] += i.flow_m3s.at(0.0);
    }
    for w in &m.withdrawals {
        match w.place {
            Place::Node(n) => inject[n] -= w.flow_m3s.at(0.0),
            Place::Reach { reach, at_m } => lat[net.cell_at(reach, at_m)] -= w.flow_m3s.at(0.0),
        }
    }
    for c in 0..net.n_cells {
        assert!((lat[c] - f.cell_lateral_m3s[c]).abs() <= 1e-15 * (1.0 + lat[c].abs()));
    }
    for n in 0..net.n_nodes {
        assert!((inject[n] - f.node_inject_m3s[n]).abs() <= 1e-15 * (1.0 + inject[n].abs()));
    }
    for r in 0..net.n_reaches {
        let fc = net.faces_of(r);
        for (i, c) in net.cells_of(r).enumerate() {
            assert_eq!(
                f.face_flow_m3s[fc.start + i + 1],
                f.face_flow_m3s[fc.start + i] + f.cell_lateral_m3s[c],
                "in-reach identity, reach {}",
                m.reaches[r].id
            );
            assert!(f.cell_depth_m[c] > 0.0);
            let v = 0.5 * (f.face_flow_m3s[fc.start + i] + f.face_flow_m3s[fc.start + i + 1])
                / f.cell_area_m2[c];
            assert!((v - f.cell_velocity_ms[c]).abs() <= 1e-14 * (1.0 + v.abs()));
        }
    }
    let mut through_max = 0.0f64;
    let mut res = vec![0.0; net.n_nodes];
    for n in 0..net.n_nodes {
        let mut s = inject[n] - f.node_exchange_m3s[n];
        let mut through = inject[n].abs();
        for r in 0..net.n_reaches {
            let (a, b) = ends(net, f, r);
            if m.reaches[r].to == n {
                s += b;
                through += b.abs();
            }
            if m.reaches[r].from == n {
                s -= a;
                through += a.abs();
            }
        }
        res[n] = s;
        through_max = through_max.max(0.5 * through);
    }
    let scale = through_max.max(1e-300);
    for n in 0..net.n_nodes {
        assert!(
            res[n].abs() <= 1e-12 * scale,
            "node {} residual {:e} (scale {scale})",
            m.nodes[n].id,
            res[n]
        );
        assert!((res[n] - f.node_residual_m3s[n]).abs() <= 1e-12 * scale);
    }
    assert!(f.continuity_relative <= 1e-12, "{}", f.continuity_relative);
    let total_in: f64 = inject.iter().sum::<f64>() + lat.iter().sum::<f64>();
    let total_out: f64 = f.node_exchange_m3s.iter().sum();
    assert!((total_in - total_out).abs() <= 1e-12 * scale);
}

/// Looped solutions obey the reach law at the solved levels:
/// Q_mid = K(ȳ)·sign(Δh)·sqrt(|Δh|/L), ȳ the mean end depth (floored at 0.01 m), where
/// Q_mid = (from-face + to-face)/2. The iteration stops at a relative flow change of 1e-10, so the law holds to
/// about that; 1e-7 relative (of the largest flow) leaves margin for the round-off of millimetre head
/// differences (1e-16 m on a level of metres is 1e-13 of a 1 mm drop, amplified by dQ/dΔh = Q/(2Δh)).
fn check_head_law(m: &Model, net: &Network, f: &FlowField) {
    let qmax = (0..net.n_reaches)
        .map(|r| ends(net, f, r).0.abs().max(ends(net, f, r).1.abs()))
        .fold(0.0, f64::max);
    for (r, reach) in m.reaches.iter().enumerate() {
        let (a, b) = ends(net, f, r);
        let q_mid = 0.5 * (a + b);
        let (ha, hb) = (f.node_level_m[reach.from], f.node_level_m[reach.to]);
        let y = 0.5 * ((ha - reach.bed_up_m).max(0.01) + (hb - reach.bed_down_m).max(0.01));
        let k = reach.section.conveyance_m3s(y, reach.manning_n);
        let s = (ha - hb) / reach.length_m;
        let q_law = if s.abs() >= hydraulics::looped::LINEAR_BELOW_GRADIENT {
            k * s.signum() * s.abs().sqrt()
        } else {
            k * s / hydraulics::looped::LINEAR_BELOW_GRADIENT.sqrt()
        };
        assert!(
            (q_law - q_mid).abs() <= 1e-7 * qmax,
            "reach {}: law {q_law} vs solved {q_mid}",
            reach.id
        );
    }
}

// ---------------------------------------------------------------- tests

/// Manning normal depth in a trapezoid, by hand: b = 10 m, banks 2:1, n = 0.03, S0 = 1e-4, y = 2 m:
///   A = (b + z·y)·y = (10 + 4)·2 = 28 m²
///   P = b + 2·y·sqrt(1 + z²) = 10 + 4·sqrt(5) = 18.94427191 m
///   R = A/P = 1.478019326 m, R^(2/3) = 1.297537969
///   Q = A·R^(2/3)·sqrt(S0)/n = 28 · 1.297537969 · 0.01 / 0.03 = 12.11035438 m³/s.
/// So the normal depth of Q = 12.11035438 m³/s must be 2 m. The hand values carry 10 significant digits, so a
/// depth error of 1e-8 m (5e-9 relative; dy/dQ ≈ y/(1.5·Q) here) is the stated tolerance.
/// The tree solver on a 5 km reach of that slope ending in a free outfall must then carry exactly the normal
/// depth everywhere (uniform flow: dy/ds = 0 at y_n), to the same tolerance.
#[test]
fn manning_normal_depth_trapezoid_hand_calculation() {
    let sec = trap(10.0, 2.0);
    let q = 12.11035438;
    let yn = sec.normal_depth_m(q, 0.03, 1e-4).unwrap();
    assert!((yn - 2.0).abs() < 1e-8, "yn = {yn}");
    assert!(sec.normal_depth_m(q, 0.03, 0.0).is_none());

    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let d = b.node("D", NodeKind::Outlet, None);
    b.reach("R", u, d, 5000.0, sec, 10.5, 10.0, 0.03);
    b.inflow(u, q);
    let (_, f, _) = b.solve(false);
    for &y in &f.cell_depth_m {
        assert!((y - 2.0).abs() < 1e-8, "depth {y}");
    }
    assert!((f.node_level_m[d] - 12.0).abs() < 1e-8);
    assert!((f.node_level_m[u] - 12.5).abs() < 1e-8);
    assert!((f.node_exchange_m3s[d] - q).abs() < 1e-12);
}

/// Independent fine-step RK4 integration of dy/dx = (S0 − Sf)/(1 − Fr²) upstream over `length_m` from depth
/// `y0` in a rectangle (own formulas for A, P, T, independent of the library).
fn rk4_backwater_rect(
    width: f64,
    n: f64,
    q: f64,
    s0: f64,
    y0: f64,
    length_m: f64,
    steps: usize,
) -> impl Fn(f64) -> f64 {
    let f = move |y: f64| {
        let a = width * y;
        let r = a / (width + 2.0 * y);
        let sf = (q * n).powi(2) / (a * a * r.powf(4.0 / 3.0));
        let fr2 = q * q * width / (9.80665 * a * a * a);
        (s0 - sf) / (1.0 - fr2)
    };
    let h = length_m / steps as f64;
    let mut ys = vec![y0];
    let mut y = y0;
    for _ in 0..steps {
        // distance upstream: dy/d(upstream) = −dy/ds
        let k1 = -f(y);
        let k2 = -f(y + 0.5 * h * k1);
        let k3 = -f(y + 0.5 * h * k2);
        let k4 = -f(y + h * k3);
        y += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        ys.push(y);
    }
    move |dist_up: f64| {
        let s = dist_up / h;
        let i = (s.floor() as usize).min(steps - 1);
        let w = s - i as f64;
        ys[i] * (1.0 - w) + ys[i + 1] * w
    }
}

/// A flat-bed network held by its outlet level (no normal depth exists): a 20 km, 20 m wide rectangular
/// channel, n = 0.03, Q = 20 m³/s, bed at 0, outlet held at 2.0 m, drawn in two reaches (10 km each, the
/// upper one drawn AGAINST the flow so its flows are negative). The depth must rise upstream (the H2 curve
/// on a horizontal bed) and match an independent RK4 integration with 200,000 steps (0.1 m) at every cell
/// centre. Both integrations are fourth order, with steps of 25 m and 0.1 m on a profile whose length scale
/// is y/Sf ≈ 2/1.1e-4 ≈ 18 km, so the RK4 truncation error is below 1e-11 m; 1e-9 m is the stated tolerance
/// (the linear interpolation of the reference between 0.1 m steps adds under 1e-11 m).
#[test]
fn flat_bed_backwater_matches_independent_rk4() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let j = b.node("J", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(2.0));
    let r_up = b.reach("Rup", j, u, 10_000.0, rect(20.0), 0.0, 0.0, 0.03); // drawn upstream
    let r_dn = b.reach("Rdn", j, d, 10_000.0, rect(20.0), 0.0, 0.0, 0.03);
    b.inflow(u, 20.0);
    let (net, f, _) = b.solve(false);
    assert!(ends(&net, &f, r_up).0 == -20.0 && ends(&net, &f, r_up).1 == -20.0);
    assert_eq!(ends(&net, &f, r_dn).0, 20.0);
    let reference = rk4_backwater_rect(20.0, 0.03, 20.0, 0.0, 2.0, 20_000.0, 200_000);
    for c in 0..net.n_cells {
        let r = net.cell_reach[c] as usize;
        let x = net.cell_x_m[c];
        let dist_up = if r == r_dn {
            10_000.0 - x
        } else {
            10_000.0 + x
        };
        let y_ref = reference(dist_up);
        assert!(
            (f.cell_depth_m[c] - y_ref).abs() < 1e-9,
            "cell {c}: {} vs {y_ref}",
            f.cell_depth_m[c]
        );
    }
    // the rise is real: about 1.06 m over 20 km here (v ≈ 0.5 m/s at the outlet)
    let rise = f.node_level_m[u] - 2.0;
    assert!(rise > 1.0 && rise < 1.1, "rise {rise}");
    assert!((f.node_level_m[u] - reference(20_000.0)).abs() < 1e-9);
    assert!(f.node_level_m[j] > 2.0 && f.node_level_m[j] < f.node_level_m[u]);
}

/// A tree with a lateral outfall and a withdrawal along a reach and at a node: flows by hand.
/// A (inflow 3) → J ← B (inflow 2), J → D (level 1.5); outfall 0.4 at 250 m on AJ; withdrawal 0.3 at 700 m
/// on JD; withdrawal 0.5 at node J. Expected: AJ carries 3 then 3.4 (after the outfall's cell); JD carries
/// 3.4 + 2 − 0.5 = 4.9 then 4.6 after the withdrawal's cell; D lets out 4.6. Additions of a few decimals:
/// exact to 1e-12.
#[test]
fn tree_flows_by_continuity_with_laterals() {
    let mut b = B::new();
    let a = b.node("A", NodeKind::Boundary, None);
    let bb = b.node("B", NodeKind::Boundary, None);
    let j = b.node("J", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(1.5));
    let aj = b.reach("AJ", a, j, 1000.0, rect(10.0), 0.2, 0.1, 0.03);
    let bj = b.reach("BJ", bb, j, 800.0, trap(5.0, 1.5), 0.3, 0.1, 0.03);
    let jd = b.reach("JD", j, d, 1500.0, rect(15.0), 0.1, 0.0, 0.03);
    b.inflow(a, 3.0);
    b.inflow(bb, 2.0);
    b.outfall(aj, 250.0, 0.4);
    b.withdraw(
        Place::Reach {
            reach: jd,
            at_m: 700.0,
        },
        0.3,
    );
    b.withdraw(Place::Node(j), 0.5);
    let (net, f, _) = b.solve(false);
    let faces = |r: usize| f.face_flow_m3s[net.faces_of(r)].to_vec();
    let fa = faces(aj);
    assert!((fa[0] - 3.0).abs() < 1e-12 && (fa[2] - 3.0).abs() < 1e-12);
    assert!((fa[3] - 3.4).abs() < 1e-12 && (fa[10] - 3.4).abs() < 1e-12);
    assert!(faces(bj).iter().all(|q| (q - 2.0).abs() < 1e-12));
    let fj = faces(jd);
    assert!((fj[0] - 4.9).abs() < 1e-12 && (fj[7] - 4.9).abs() < 1e-12);
    assert!((fj[8] - 4.6).abs() < 1e-12 && (fj[15] - 4.6).abs() < 1e-12);
    assert!((f.node_exchange_m3s[d] - 4.6).abs() < 1e-12);
    // levels: a single level at the junction, rising upstream
    assert!(f.node_level_m[j] > 1.5 && f.node_level_m[a] > f.node_level_m[j]);
}

/// Two-path loop: U (inflow 8 m³/s) to D (held at 2.0 m) by path 1 = U→A→D (two 2 km reaches, 20 m wide)
/// and path 2 = U→B→D (two 3 km reaches, 12 m wide, n = 0.035). Both paths drop the same head, so each carries
/// Q_i = sqrt(ΔH / Σ_path L/K²): the flow split equals the ratio of the path conveyances
/// 1/sqrt(Σ L/K²), K of each reach at its solved mean depth. Tolerance 1e-8 relative: the iteration stops at
/// a flow change of 1e-10 relative, and the head differences (centimetres) carry round-off of ~1e-14.
#[test]
fn two_path_loop_splits_by_conveyance() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let a = b.node("A", NodeKind::Junction, None);
    let bb = b.node("B", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(2.0));
    let r1 = b.reach("UA", u, a, 2000.0, rect(20.0), 0.2, 0.1, 0.03);
    let r2 = b.reach("AD", a, d, 2000.0, rect(20.0), 0.1, 0.0, 0.03);
    let r3 = b.reach("UB", u, bb, 3000.0, rect(12.0), 0.2, 0.1, 0.035);
    let r4 = b.reach("BD", bb, d, 3000.0, rect(12.0), 0.1, 0.0, 0.035);
    b.inflow(u, 8.0);
    let (net, f, _) = b.solve(false);
    check_head_law(&b.m, &net, &f);
    let resist = |r: usize| {
        let reach = &b.m.reaches[r];
        let y = 0.5
            * ((f.node_level_m[reach.from] - reach.bed_up_m)
                + (f.node_level_m[reach.to] - reach.bed_down_m));
        reach.length_m / reach.section.conveyance_m3s(y, reach.manning_n).powi(2)
    };
    let c1 = 1.0 / (resist(r1) + resist(r2)).sqrt();
    let c2 = 1.0 / (resist(r3) + resist(r4)).sqrt();
    let q1 = ends(&net, &f, r1).0;
    let q2 = ends(&net, &f, r3).0;
    let expected1 = 8.0 * c1 / (c1 + c2);
    let err = (q1 - expected1).abs() / expected1;
    assert!(err < 1e-8, "split error {err:e}: {q1} vs {expected1}");
    assert!((q1 + q2 - 8.0).abs() < 1e-12);
    assert!(q1 > q2 && q2 > 0.0);
    eprintln!(
        "two-path split relative error {err:e}, iterations {}",
        f.iterations
    );
}

/// Two parallel reaches between the same nodes, with millimetre and micrometre head differences: 4 and
/// 0.3 m³/s through a 30 m and a 10 m wide reach of 1 km on a flat bed at 2 m depth (drops of about 0.9 mm
/// and 5 µm). Equal Δh and L, so Q1/Q2 = K1/K2 at the common mean depth. Tolerance 1e-8 relative (see the
/// two-path test).
#[test]
fn parallel_reaches_split_by_conveyance_with_millimetre_heads() {
    for (q, lo, hi) in [(4.0, 1e-4, 1e-2), (0.3, 1e-6, 1e-5)] {
        parallel_case(q, lo, hi);
    }
}

fn parallel_case(q: f64, lo: f64, hi: f64) {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let d = b.node("D", NodeKind::Outlet, Some(2.0));
    let r1 = b.reach("P1", u, d, 1000.0, rect(30.0), 0.0, 0.0, 0.03);
    let r2 = b.reach("P2", u, d, 1000.0, trap(10.0, 1.0), 0.0, 0.0, 0.025);
    b.inflow(u, q);
    let (net, f, _) = b.solve(false);
    check_head_law(&b.m, &net, &f);
    let dh = f.node_level_m[u] - 2.0;
    assert!(dh > lo && dh < hi, "head drop {dh}");
    let y = 0.5 * (f.node_level_m[u] + 2.0);
    let k1 = rect(30.0).conveyance_m3s(y, 0.03);
    let k2 = trap(10.0, 1.0).conveyance_m3s(y, 0.025);
    let (q1, q2) = (ends(&net, &f, r1).0, ends(&net, &f, r2).0);
    let err = (q1 / q2 - k1 / k2).abs() / (k1 / k2);
    assert!(err < 1e-8, "split ratio error {err:e}");
    assert!((q1 + q2 - q).abs() < 1e-13 * q);
}

/// A looped network where one reach flows against its nominal direction: U → A → D and U → D, plus a reach
/// drawn from D to A. Water from A must reach D through it, so its solved flow is negative; the head law
/// holds at the solved levels (with the sign of Δh) and continuity holds at every node.
#[test]
fn looped_reach_against_its_nominal_direction() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let a = b.node("A", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(1.8));
    b.reach("UA", u, a, 1500.0, rect(25.0), 0.3, 0.2, 0.03);
    b.reach("UD", u, d, 4000.0, rect(8.0), 0.3, 0.0, 0.03);
    let da = b.reach("DA", d, a, 1500.0, rect(20.0), 0.0, 0.2, 0.03);
    b.outfall(da, 750.0, 0.2);
    b.inflow(u, 5.0);
    let (net, f, _) = b.solve(false);
    check_head_law(&b.m, &net, &f);
    let (qa, qb) = ends(&net, &f, da);
    assert!(qa < 0.0 && qb < 0.0, "flows {qa} {qb}");
    assert!(f.node_level_m[a] > f.node_level_m[d]);
    assert!((f.node_exchange_m3s[d] - 5.2).abs() < 1e-12);
}

/// A dead-end reach carries no flow and its level is flat: a loop with a 2 km branch to a dead end E that
/// has no inflow. In the looped solver the dead end's flow is 0 to round-off (≤ 1e-12 of the throughput:
/// the linear law there gives Q ∝ Δh, and Δh is 0 to round-off) and E's level equals its junction's to
/// 1e-9 m; the tree solver on the tree part gives exactly 0.
#[test]
fn dead_end_reach_has_zero_flow() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let a = b.node("A", NodeKind::Junction, None);
    let e = b.node("E", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(2.0));
    b.reach("UA", u, a, 1000.0, rect(10.0), 0.1, 0.05, 0.03);
    b.reach("UA2", u, a, 1200.0, rect(8.0), 0.1, 0.05, 0.03);
    let ae = b.reach("AE", a, e, 2000.0, rect(6.0), 0.05, 0.0, 0.03);
    b.reach("AD", a, d, 1000.0, rect(12.0), 0.05, 0.0, 0.03);
    b.inflow(u, 2.0);
    let (net, f, _) = b.solve(false);
    check_head_law(&b.m, &net, &f);
    let (q0, q1) = ends(&net, &f, ae);
    assert!(
        q0.abs() < 1e-12 * 2.0 && q1.abs() < 1e-12 * 2.0,
        "{q0} {q1}"
    );
    assert!((f.node_level_m[e] - f.node_level_m[a]).abs() < 1e-9);

    // tree version: drop the parallel reach
    let mut t = B::new();
    let u = t.node("U", NodeKind::Boundary, None);
    let a = t.node("A", NodeKind::Junction, None);
    let e = t.node("E", NodeKind::Junction, None);
    let d = t.node("D", NodeKind::Outlet, Some(2.0));
    t.reach("UA", u, a, 1000.0, rect(10.0), 0.1, 0.05, 0.03);
    let ae = t.reach("AE", a, e, 2000.0, rect(6.0), 0.05, 0.0, 0.03);
    t.reach("AD", a, d, 1000.0, rect(12.0), 0.05, 0.0, 0.03);
    t.inflow(u, 2.0);
    let (net, f, _) = t.solve(false);
    assert_eq!(f.iterations, 0, "tree solver used");
    assert!(f.face_flow_m3s[net.faces_of(ae)].iter().all(|&q| q == 0.0));
    assert!((f.node_level_m[e] - f.node_level_m[a]).abs() < 1e-12);
}

/// Tree and looped solvers on the same tree. Flows are fixed by continuity on a tree, so they agree to
/// round-off (1e-12). Levels differ by discretisation: the tree solver integrates the full GVF equation
/// (velocity head included, K at the local depth), the looped one uses Manning between nodes with K at the
/// mean end depth and no velocity head. The velocity-head term is Fr² ≈ 1e-4 of the friction term here and
/// the conveyance varies by ~1% along a reach, so node levels agree to ~1% of the friction head drop; the
/// tolerance is 2% of the total head drop above the outlet level (a few tenths of a millimetre).
#[test]
fn tree_and_looped_solvers_agree_on_a_tree() {
    let mut b = B::new();
    let a = b.node("A", NodeKind::Boundary, None);
    let c = b.node("C", NodeKind::Boundary, None);
    let j = b.node("J", NodeKind::Junction, None);
    let k = b.node("K", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(2.5));
    b.reach("AJ", a, j, 3000.0, rect(15.0), 0.6, 0.3, 0.03);
    b.reach("CJ", c, j, 2000.0, trap(8.0, 2.0), 0.5, 0.3, 0.03);
    let jk = b.reach("JK", j, k, 4000.0, rect(25.0), 0.3, 0.1, 0.03);
    b.reach("DK", d, k, 2500.0, rect(30.0), 0.0, 0.1, 0.03); // drawn against the flow
    b.outfall(jk, 1234.0, 0.15);
    b.inflow(a, 4.0);
    b.inflow(c, 1.5);
    let (_, ft, _) = b.solve(false);
    let (_, fl, _) = b.solve(true);
    assert_eq!(ft.iterations, 0);
    assert!(fl.iterations > 0);
    for (x, y) in ft.face_flow_m3s.iter().zip(&fl.face_flow_m3s) {
        assert!((x - y).abs() <= 1e-12 * 5.65, "{x} vs {y}");
    }
    let drop = ft.node_level_m[a] - 2.5;
    assert!(drop > 1e-3, "drop {drop}");
    let mut worst = 0.0f64;
    for n in 0..5 {
        worst = worst.max((ft.node_level_m[n] - fl.node_level_m[n]).abs());
    }
    assert!(
        worst <= 0.02 * drop,
        "level difference {worst} vs drop {drop}"
    );
    eprintln!("tree vs looped: worst level difference {worst:e} m of a drop {drop:e} m");
}

/// A part of the network without any held level or outlet is an error naming its nodes.
#[test]
fn component_without_fixed_level_errors() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let d = b.node("D", NodeKind::Outlet, Some(1.0));
    b.reach("R", u, d, 1000.0, rect(10.0), 0.0, 0.0, 0.03);
    let x = b.node("X1", NodeKind::Boundary, None);
    let y = b.node("Y1", NodeKind::Junction, None);
    b.reach("RX", x, y, 1000.0, rect(10.0), 0.0, 0.0, 0.03);
    b.reach("RX2", x, y, 900.0, rect(10.0), 0.0, 0.0, 0.03);
    b.inflow(x, 1.0);
    let net = Network::build(&b.m);
    let mut w = vec![];
    let err = hydraulics::solve_period(&b.m, &net, &Default::default(), 0.0, 1.0, &mut w)
        .expect_err("must fail");
    match &err {
        HydraulicsError::NoFixedLevel { nodes, .. } => {
            assert!(nodes.contains("X1") && nodes.contains("Y1") && !nodes.contains('U'));
        }
        e => panic!("wrong error {e}"),
    }
    assert!(err.to_string().contains("X1"));
}

/// A free outfall in a looped network sits at bed + normal depth of what it lets out: two parallel reaches of
/// slope 1e-4 into a free outlet. The outlet level is set by the normal depth of the larger reach's outflow
/// (the highest boundary level), checked against `Section::normal_depth_m` to 1e-9 m (converged iteration).
#[test]
fn looped_free_outfall_at_normal_depth() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let d = b.node("D", NodeKind::Outlet, None);
    let r1 = b.reach("R1", u, d, 2000.0, rect(10.0), 1.2, 1.0, 0.03);
    let r2 = b.reach("R2", u, d, 2000.0, rect(10.0), 1.2, 1.0, 0.03);
    b.inflow(u, 6.0);
    let (net, f, _) = b.solve(false);
    let (q1, q2) = (ends(&net, &f, r1).1, ends(&net, &f, r2).1);
    assert!((q1 - 3.0).abs() < 1e-9 && (q2 - 3.0).abs() < 1e-9);
    let yn = rect(10.0).normal_depth_m(3.0, 0.03, 1e-4).unwrap();
    assert!((f.node_level_m[d] - (1.0 + yn)).abs() < 1e-9);
    assert!((f.node_exchange_m3s[d] - 6.0).abs() < 1e-12);
}

/// Every flow period gets its own field: an inflow that steps from 1 to 3 m³/s at 12 h gives two periods with
/// the period means as flows.
#[test]
fn one_field_per_flow_period() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let d = b.node("D", NodeKind::Outlet, Some(1.0));
    let r = b.reach("R", u, d, 1000.0, rect(10.0), 0.1, 0.0, 0.03);
    b.m.inflows.push(Inflow {
        node: u,
        flow_m3s: Series::Table {
            times_s: vec![0.0, 43200.0],
            values: vec![1.0, 3.0],
            linear: false,
        },
        concentration: vec![],
        group: "g".into(),
    });
    let net = Network::build(&b.m);
    let h = hydraulics::solve(&b.m, &net, &Default::default()).unwrap();
    assert_eq!(h.periods.len(), 2);
    assert_eq!(ends(&net, &h.periods[0], r).0, 1.0);
    assert_eq!(ends(&net, &h.periods[1], r).0, 3.0);
    assert_eq!(h.period_at(50000.0), 1);
}

/// The LDLᵀ solver against nalgebra-sparse's Cholesky on a small weighted Laplacian with two grounded nodes
/// (an independent implementation): solutions agree to 1e-12 relative (both are backward stable; the
/// matrix's condition number is below 1e3).
#[test]
fn ldl_matches_nalgebra_sparse_cholesky() {
    use nalgebra_sparse::{CooMatrix, CscMatrix, factorization::CscCholesky};
    use rivsim::hydraulics::sparse::{Ldl, minimum_degree_order};
    let n = 30;
    // a ring with chords, weights from a simple deterministic sequence
    let mut edges = vec![];
    for i in 0..n {
        edges.push((i, (i + 1) % n, 1.0 + (i % 7) as f64));
        if i % 5 == 0 {
            edges.push((i, (i + 11) % n, 0.5 + (i % 3) as f64));
        }
    }
    let mut dense = vec![vec![0.0; n]; n];
    for &(a, b, w) in &edges {
        dense[a][a] += w;
        dense[b][b] += w;
        dense[a][b] -= w;
        dense[b][a] -= w;
    }
    dense[0][0] += 2.0;
    dense[17][17] += 1.0;
    // ordering
    let mut adj_start = vec![0];
    let mut adj = vec![];
    for row in dense.iter() {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                adj.push(j);
            }
        }
        adj_start.push(adj.len());
    }
    let order = minimum_degree_order(n, &adj_start, &adj);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    let mut inv = vec![0; n];
    for (k, &o) in order.iter().enumerate() {
        inv[o] = k;
    }
    let mut ap = vec![0];
    let mut ai = vec![];
    let mut ax = vec![];
    for k in 0..n {
        for (i, &o) in order.iter().enumerate().take(k + 1) {
            let v = dense[o][order[k]];
            if v != 0.0 {
                ai.push(i);
                ax.push(v);
            }
        }
        ap.push(ai.len());
    }
    let mut ldl = Ldl::new(n, ap, ai);
    ldl.factor(&ax).unwrap();
    let rhs: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let mut x = vec![0.0; n];
    for i in 0..n {
        x[inv[i]] = rhs[i];
    }
    ldl.solve_in_place(&mut x);
    let mut coo = CooMatrix::new(n, n);
    for (i, row) in dense.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                coo.push(i, j, v);
            }
        }
    }
    let chol = CscCholesky::factor(&CscMatrix::from(&coo)).unwrap();
    let xr = chol.solve(&nalgebra::DMatrix::from_column_slice(n, 1, &rhs));
    let scale = xr.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for i in 0..n {
        assert!((x[inv[i]] - xr[i]).abs() <= 1e-12 * scale);
    }
    // a path graph (a tree) ordered by minimum degree has no fill: n − 1 entries in L
    let m = 50;
    let mut adj_start = vec![0];
    let mut adj = vec![];
    for i in 0..m {
        if i > 0 {
            adj.push(i - 1);
        }
        if i + 1 < m {
            adj.push(i + 1);
        }
        adj_start.push(adj.len());
    }
    let order = minimum_degree_order(m, &adj_start, &adj);
    let mut inv = vec![0; m];
    for (k, &o) in order.iter().enumerate() {
        inv[o] = k;
    }
    let mut cols: Vec<Vec<usize>> = vec![vec![]; m];
    for i in 0..m {
        cols[inv[i]].push(inv[i]);
        if i + 1 < m {
            let (a, b) = (inv[i].min(inv[i + 1]), inv[i].max(inv[i + 1]));
            cols[b].push(a);
        }
    }
    let mut ap = vec![0];
    let mut ai = vec![];
    for c in cols {
        ai.extend(c);
        ap.push(ai.len());
    }
    let ldl = Ldl::new(m, ap, ai);
    assert_eq!(ldl.nnz_l(), m - 1);
}

/// A free outfall on a flat bed has no normal depth: the control is the critical depth, which for a
/// rectangle is closed form, y_c = (q²/g)^(1/3) with q = Q/b. Q = 12 m³/s, b = 6 m: q = 2 m²/s,
/// y_c = (4/9.80665)^(1/3) = 0.741795 m. The bisection is converged to 1e-14 relative; 1e-9 m tolerance.
/// Upstream the level rises (the flow is subcritical above the brink) and a warning says critical depth
/// was used.
#[test]
fn free_outfall_on_flat_bed_uses_critical_depth() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let d = b.node("D", NodeKind::Outlet, None);
    b.reach("R", u, d, 2000.0, rect(6.0), 0.0, 0.0, 0.03);
    b.inflow(u, 12.0);
    let (_, f, w) = b.solve(false);
    let yc = (4.0f64 / 9.80665).cbrt();
    assert!(
        (f.node_level_m[d] - yc).abs() < 1e-9,
        "{}",
        f.node_level_m[d]
    );
    assert!(f.node_level_m[u] > yc + 0.1);
    assert!(w.iter().any(|s| s.contains("critical depth")));
}

/// A storage node's volume is its area times the depth of water over its bed: a pond P (10,000 m², bed
/// −1.5 m) between a river and an outlet held at 1.2 m, with no flow: the level is flat at 1.2 m, so the
/// volume is 10,000 × 2.7 = 27,000 m³ (exact to round-off; 1e-9 relative).
#[test]
fn storage_node_volume() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Junction, None);
    let p = b.node("P", NodeKind::Storage, None);
    b.m.nodes[p].area_m2 = Some(10_000.0);
    b.m.nodes[p].bed_m = Some(-1.5);
    let d = b.node("D", NodeKind::Outlet, Some(1.2));
    b.reach("UP", u, p, 500.0, rect(5.0), 0.0, 0.0, 0.03);
    b.reach("PD", p, d, 500.0, rect(5.0), 0.0, 0.0, 0.03);
    for force in [false, true] {
        let (_, f, _) = b.solve(force);
        assert!((f.node_level_m[p] - 1.2).abs() < 1e-12);
        assert!((f.node_volume_m3[p] - 27_000.0).abs() < 1e-9 * 27_000.0);
        assert_eq!(f.node_volume_m3[u], 0.0);
    }
}

/// Periods with the same inputs share one solution: an inflow of 1, 3, 1 m³/s (steps at 8 h and 16 h) gives
/// three periods; the third is the first one's field with its own times (bit-identical flows and levels).
#[test]
fn repeated_period_inputs_reuse_the_solution() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let a = b.node("A", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(1.0));
    b.reach("UA", u, a, 1000.0, rect(10.0), 0.1, 0.05, 0.03);
    b.reach("UA2", u, a, 1300.0, rect(7.0), 0.1, 0.05, 0.03);
    b.reach("AD", a, d, 1000.0, rect(10.0), 0.05, 0.0, 0.03);
    b.m.inflows.push(Inflow {
        node: u,
        flow_m3s: Series::Table {
            times_s: vec![0.0, 28800.0, 57600.0],
            values: vec![1.0, 3.0, 1.0],
            linear: false,
        },
        concentration: vec![],
        group: "g".into(),
    });
    let net = Network::build(&b.m);
    let h = hydraulics::solve(&b.m, &net, &Default::default()).unwrap();
    assert_eq!(h.periods.len(), 3);
    let (p0, p2) = (&h.periods[0], &h.periods[2]);
    assert_eq!(p0.face_flow_m3s, p2.face_flow_m3s);
    assert_eq!(p0.node_level_m, p2.node_level_m);
    assert_eq!((p2.t_start_s, p2.t_end_s), (57600.0, 86400.0));
    assert!((h.periods[1].node_exchange_m3s[d] - 3.0).abs() < 1e-12);
    assert!((p2.node_exchange_m3s[d] - 1.0).abs() < 1e-12);
}

/// An iteration budget too small to converge is a clear error naming nodes and a residual: the two-path loop
/// with one iteration (its first iterate solves the linear law, far from the square law's solution).
#[test]
fn not_converged_is_an_error_naming_nodes() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let a = b.node("A", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(2.0));
    b.reach("UA", u, a, 2000.0, rect(20.0), 0.2, 0.1, 0.03);
    b.reach("AD", a, d, 2000.0, rect(20.0), 0.1, 0.0, 0.03);
    b.reach("UD", u, d, 6000.0, rect(12.0), 0.2, 0.0, 0.035);
    b.inflow(u, 8.0);
    let net = Network::build(&b.m);
    let opts = HydraulicsOptions {
        max_iterations: 1,
        ..Default::default()
    };
    let mut w = vec![];
    match hydraulics::solve_period(&b.m, &net, &opts, 0.0, 1.0, &mut w) {
        Err(HydraulicsError::NotConverged {
            iterations,
            residual_m3s,
            nodes,
            ..
        }) => {
            assert_eq!(iterations, 1);
            assert!(residual_m3s > 1e-6);
            assert!(nodes.contains('U') || nodes.contains('A'), "{nodes}");
        }
        other => panic!("expected NotConverged, got {other:?}"),
    }
}

/// The bundled district scenario (a looped plain network with two held outlets and monthly flows): every
/// period converges, balances continuity to round-off (the shared check, 1e-12), obeys the reach law
/// (1e-7 of the largest flow, see `check_head_law`), and has the slow velocities of a plain network (below
/// 0.5 m/s everywhere).
#[test]
fn district_scenario_solves() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/district/scenario.toml");
    let m = rivsim::scenario::load(&path).expect("the bundled scenario loads");
    let net = Network::build(&m);
    assert!(!net.is_forest, "the district network has loops");
    let h = hydraulics::solve(&m, &net, &Default::default()).unwrap();
    assert!(!h.periods.is_empty());
    for f in &h.periods {
        let t = f.t_start_s;
        // the shared check uses the series' values at time 0: compare against the period means here
        let mut mm = m.clone();
        for i in &mut mm.inflows {
            i.flow_m3s = Series::Const(i.flow_m3s.mean(t, f.t_end_s));
        }
        for w in &mut mm.withdrawals {
            w.flow_m3s = Series::Const(w.flow_m3s.mean(t, f.t_end_s));
        }
        for o in &mut mm.outfalls {
            if let Discharge::Flow { flow_m3s, .. } = &mut o.discharge {
                *flow_m3s = Series::Const(flow_m3s.mean(t, f.t_end_s));
            }
        }
        check_continuity(&mm, &net, f);
        check_head_law(&mm, &net, f);
        assert!(f.cell_velocity_ms.iter().all(|v| v.abs() < 0.5));
    }
}

/// A dry dead-end reach whose bed rises above the held level: depths are floored at `min_depth_m` (never zero
/// or negative) and a warning names the reach; both solvers.
#[test]
fn depth_floor_warns_naming_the_reach() {
    let mut b = B::new();
    let u = b.node("U", NodeKind::Boundary, None);
    let j = b.node("J", NodeKind::Junction, None);
    let h = b.node("HILL", NodeKind::Junction, None);
    let d = b.node("D", NodeKind::Outlet, Some(1.0));
    b.reach("UJ", u, j, 1000.0, rect(10.0), 0.0, 0.0, 0.03);
    b.reach("JD", j, d, 1000.0, rect(10.0), 0.0, 0.0, 0.03);
    b.reach("UPHILL", h, j, 1000.0, rect(4.0), 3.0, 0.0, 0.03);
    b.inflow(u, 1.0);
    for force in [false, true] {
        let (net, f, w) = b.solve(force);
        let cells = net.cells_of(2);
        assert!(f.cell_depth_m[cells].iter().all(|&y| y >= 0.01));
        assert!(
            w.iter()
                .any(|s| s.contains("UPHILL") && s.contains("min_depth_m")),
            "{w:?}"
        );
    }
}

/// The parallel parts of loading and of the tree solver — item-CSV rows deserialized in parallel batches,
/// the backwater march run wave by wave (all reaches at one BFS depth from the outlet at once), the per-cell
/// geometry — give the same bits with 1 and 2 threads: every array of the flow field is compared with
/// `to_bits` (no tolerance: the work is split, never re-associated, so any difference is a bug), and the
/// loaded models are compared through their full `Debug` text (shortest round-trip floats, so bit-exact). The
/// generated tree (3000 links of 10 cells) has waves of hundreds of reaches, above the threshold where the
/// march goes parallel (asserted below), and CSV files of thousands of rows. The field also passes the shared
/// continuity check (round-off tolerance, see `check_continuity`).
#[test]
fn tree_solution_bit_identical_with_one_and_two_threads() {
    use rivsim::generate::{GenerateOptions, generate};
    let g = generate(&GenerateOptions::peer(3000, 11));
    let dir = tempfile::tempdir().unwrap();
    let path = g.write(dir.path()).unwrap();
    let run = |threads: usize| {
        support::in_pool(threads, || {
            let m = rivsim::scenario::load(&path).expect("the generated scenario loads");
            let net = Network::build(&m);
            let h = hydraulics::solve(&m, &net, &Default::default()).unwrap();
            (m, net, h)
        })
    };
    let (m1, net, h1) = run(1);
    let (m2, _, h2) = run(2);
    assert_eq!(format!("{m1:?}"), format!("{m2:?}"));
    assert!(net.is_forest && hydraulics::tree::applies(&m1, &net));

    // widest BFS level from the outlet, in cells: above the 256 cells from which a wave runs in parallel
    let cells_at_depth = cells_per_bfs_level(&m1, &net);
    assert!(*cells_at_depth.iter().max().unwrap() >= 256);

    assert_same_bits(&h1, &h2);
    for a in &h1.periods {
        check_continuity(&m1, &net, a);
    }
    assert_eq!(h1.warnings, h2.warnings);
}

/// A deep tree (node i drains to one of the 200 nodes before it: many BFS levels, narrow ones near the outlet
/// that are marched on the calling thread and wide ones that go parallel, both asserted), with outfalls and
/// withdrawals along reaches: the tree solution has the same bits with 1 and 2 threads (exact comparison, as
/// above) and passes the shared continuity check.
#[test]
fn deep_tree_bit_identical_with_one_and_two_threads() {
    let mut b = B::new();
    let mut state: u64 = 12345;
    let mut next = move || {
        // 64-bit LCG (Knuth's MMIX constants), top 31 bits
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let n_nodes = 4000;
    let mut bed = vec![-1.0; n_nodes];
    b.node("N0", NodeKind::Outlet, Some(2.0));
    for i in 1..n_nodes {
        b.node(&format!("N{i}"), NodeKind::Junction, None);
        let p = if i < 200 {
            next() % i
        } else {
            i - 1 - next() % 200
        };
        let len = 300.0 + (next() % 500) as f64;
        bed[i] = bed[p] + 1e-5 * len;
        let w = 8.0 + (next() % 30) as f64;
        let r = b.reach(
            &format!("R{i}"),
            i,
            p,
            len,
            trap(w, 1.5),
            bed[i],
            bed[p],
            0.03,
        );
        if i % 7 == 0 {
            b.outfall(r, 0.4 * len, 0.005);
        }
        if i % 11 == 0 {
            b.withdraw(
                Place::Reach {
                    reach: r,
                    at_m: 0.7 * len,
                },
                0.002,
            );
        }
        if i % 10 == 0 {
            b.inflow(i, 0.02);
        }
    }
    let run = |threads: usize| {
        support::in_pool(threads, || {
            let net = Network::build(&b.m);
            let h = hydraulics::solve(&b.m, &net, &Default::default()).unwrap();
            (net, h)
        })
    };
    let (net, h1) = run(1);
    let (_, h2) = run(2);
    assert!(net.is_forest && hydraulics::tree::applies(&b.m, &net));
    // both paths of the march: waves below 256 cells (calling thread) and above (parallel)
    let levels = cells_per_bfs_level(&b.m, &net);
    assert!(levels.iter().any(|&c| c > 0 && c < 256));
    assert!(levels.iter().any(|&c| c >= 256));
    assert_same_bits(&h1, &h2);
    for a in &h1.periods {
        check_continuity(&b.m, &net, a);
    }
}

/// Two hydraulic solutions agree bit for bit: every array of every flow period, the continuity residual and
/// the warnings.
fn assert_same_bits(h1: &hydraulics::Hydraulics, h2: &hydraulics::Hydraulics) {
    assert_eq!(h1.periods.len(), h2.periods.len());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
    for (a, b) in h1.periods.iter().zip(&h2.periods) {
        for (name, x, y) in [
            ("node_level_m", &a.node_level_m, &b.node_level_m),
            ("face_flow_m3s", &a.face_flow_m3s, &b.face_flow_m3s),
            ("cell_depth_m", &a.cell_depth_m, &b.cell_depth_m),
            ("cell_area_m2", &a.cell_area_m2, &b.cell_area_m2),
            ("cell_width_m", &a.cell_width_m, &b.cell_width_m),
            ("cell_velocity_ms", &a.cell_velocity_ms, &b.cell_velocity_ms),
            (
                "node_exchange_m3s",
                &a.node_exchange_m3s,
                &b.node_exchange_m3s,
            ),
            (
                "node_residual_m3s",
                &a.node_residual_m3s,
                &b.node_residual_m3s,
            ),
        ] {
            assert!(bits(x) == bits(y), "{name} differs between 1 and 2 threads");
        }
        assert_eq!(
            a.continuity_relative.to_bits(),
            b.continuity_relative.to_bits()
        );
    }
    assert_eq!(h1.warnings, h2.warnings);
}

/// Cells of the reaches reached at each BFS level from the outlets (index = level; the tree solver marches
/// one level at a time).
fn cells_per_bfs_level(m: &Model, net: &Network) -> Vec<usize> {
    let mut depth = vec![usize::MAX; net.n_nodes];
    let mut queue: Vec<usize> = (0..net.n_nodes)
        .filter(|&n| m.nodes[n].kind == NodeKind::Outlet)
        .collect();
    for &n in &queue {
        depth[n] = 0;
    }
    let mut cells_at_depth = vec![0usize; net.n_nodes];
    let mut head = 0;
    while head < queue.len() {
        let n = queue[head];
        head += 1;
        for &r in net.out_of(n).iter().chain(Network::into(net, n)) {
            let other = m.reaches[r].from + m.reaches[r].to - n;
            if depth[other] == usize::MAX {
                depth[other] = depth[n] + 1;
                cells_at_depth[depth[other]] += net.n_cells_of(r);
                queue.push(other);
            }
        }
    }
    cells_at_depth
}
