//! Shared helpers for the transport tests: models built directly in Rust, flow fields with exact continuity,
//! the ledger check, and erfc.
#![allow(dead_code)]

#[path = "../support/mod.rs"]
pub mod support;

use chrono::NaiveDate;
use rivsim::hydraulics::{FlowField, Hydraulics};
use rivsim::model::*;
use rivsim::network::Network;
use rivsim::transport::{RunResults, Simulation as Sim, TransportOptions, run};
use std::path::PathBuf;

/// Seconds per day.
const DAY: f64 = 86_400.0;

/// A reach description for [`model`]: (id, from, to, length m, width m, cell length m, E m²/s, decay 1/day).
pub struct R {
    pub id: &'static str,
    pub from: usize,
    pub to: usize,
    pub length_m: f64,
    pub width_m: f64,
    pub dx_m: f64,
    pub e_m2s: f64,
    pub k_per_day: f64,
}

#[allow(clippy::too_many_arguments)]
pub fn r(
    id: &'static str,
    from: usize,
    to: usize,
    length_m: f64,
    width_m: f64,
    dx_m: f64,
    e_m2s: f64,
    k_per_day: f64,
) -> R {
    R {
        id,
        from,
        to,
        length_m,
        width_m,
        dx_m,
        e_m2s,
        k_per_day,
    }
}

pub fn node(id: &str, kind: NodeKind) -> Node {
    Node {
        id: id.into(),
        kind,
        xy: None,
        level_m: None,
        bed_m: None,
        concentration: Vec::new(),
        area_m2: None,
    }
}

/// A model with one pollutant per name; every reach rectangular; decay the same for every pollutant.
pub fn model(
    pollutants: &[&str],
    nodes: Vec<Node>,
    reaches: &[R],
    end_s: f64,
    interval_s: f64,
) -> Model {
    let np = pollutants.len();
    Model {
        title: "test".into(),
        path: PathBuf::from("test.toml"),
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
        reaches: reaches
            .iter()
            .map(|x| Reach {
                id: x.id.into(),
                from: x.from,
                to: x.to,
                length_m: x.length_m,
                section: Section::Rectangle { width_m: x.width_m },
                bed_up_m: 0.0,
                bed_down_m: 0.0,
                manning_n: 0.03,
                dispersion_m2s: x.e_m2s,
                decay_per_day: vec![x.k_per_day; np],
                release_g_m2_day: vec![0.0; np],
                cell_length_m: x.dx_m,
                water_body: WaterBody::River,
                zone: None,
                jurisdiction: None,
                level: None,
                river: None,
                geometry: Vec::new(),
            })
            .collect(),
        ..Default::default()
    }
}

pub fn inflow(node: usize, q: f64, conc: &[f64]) -> Inflow {
    Inflow {
        node,
        flow_m3s: Series::Const(q),
        concentration: conc.iter().map(|&c| Series::Const(c)).collect(),
        group: "in".into(),
    }
}

/// A steady flow field over `[t0, t1)`: `q_from[r]` is the flow at the from-face of reach r (signed), the
/// faces inside a reach add the model's outfall flows and subtract its withdrawals along the reach; depth
/// `depth[r]` on the rectangle. Exchange at outlet nodes takes up the imbalance; everywhere else continuity
/// must hold (asserted to 1e-12 m³/s). Storage nodes get `area_m2 × pond_depth_m` as volume.
pub fn field(
    m: &Model,
    net: &Network,
    q_from: &[f64],
    depth: &[f64],
    t0: f64,
    t1: f64,
    pond_depth_m: f64,
) -> FlowField {
    let mut lateral = vec![0.0; net.n_cells];
    for o in &m.outfalls {
        if let Discharge::Flow { flow_m3s, .. } = &o.discharge {
            lateral[net.cell_at(o.reach, o.at_m)] += flow_m3s.mean(t0, t1);
        }
    }
    let mut inject = vec![0.0; net.n_nodes];
    for i in &m.inflows {
        inject[i.node] += i.flow_m3s.mean(t0, t1);
    }
    for w in &m.withdrawals {
        match w.place {
            Place::Node(n) => inject[n] -= w.flow_m3s.mean(t0, t1),
            Place::Reach { reach, at_m } => {
                lateral[net.cell_at(reach, at_m)] -= w.flow_m3s.mean(t0, t1)
            }
        }
    }
    let mut face = vec![0.0; net.n_faces()];
    let mut area = vec![0.0; net.n_cells];
    let mut width = vec![0.0; net.n_cells];
    let mut dep = vec![0.0; net.n_cells];
    let mut vel = vec![0.0; net.n_cells];
    for (ri, reach) in m.reaches.iter().enumerate() {
        let w = match reach.section {
            Section::Rectangle { width_m } => width_m,
            _ => unreachable!(),
        };
        let f0 = net.first_face[ri];
        face[f0] = q_from[ri];
        for (j, g) in net.cells_of(ri).enumerate() {
            face[f0 + j + 1] = face[f0 + j] + lateral[g];
            area[g] = w * depth[ri];
            width[g] = w;
            dep[g] = depth[ri];
            vel[g] = 0.5 * (face[f0 + j] + face[f0 + j + 1]) / area[g];
        }
    }
    let mut exchange = vec![0.0; net.n_nodes];
    let mut residual = vec![0.0; net.n_nodes];
    let mut volume = vec![0.0; net.n_nodes];
    for n in 0..net.n_nodes {
        let mut bal = inject[n];
        for &ri in net.into(n) {
            bal += face[net.first_face[ri] + net.n_cells_of(ri)];
        }
        for &ri in net.out_of(n) {
            bal -= face[net.first_face[ri]];
        }
        if m.nodes[n].kind == NodeKind::Outlet {
            exchange[n] = bal;
        } else {
            assert!(bal.abs() < 1e-12, "continuity at node {n}: {bal}");
            residual[n] = bal;
        }
        if m.nodes[n].kind == NodeKind::Storage {
            volume[n] = m.nodes[n].area_m2.unwrap_or(0.0) * pond_depth_m;
        }
    }
    FlowField {
        t_start_s: t0,
        t_end_s: t1,
        node_level_m: vec![0.0; net.n_nodes],
        face_flow_m3s: face,
        cell_depth_m: dep,
        cell_area_m2: area,
        cell_width_m: width,
        cell_velocity_ms: vel,
        cell_lateral_m3s: lateral,
        node_inject_m3s: inject,
        node_exchange_m3s: exchange,
        node_residual_m3s: residual,
        node_volume_m3: volume,
        continuity_relative: 0.0,
        iterations: 0,
    }
}

pub fn hyd(periods: Vec<FlowField>) -> Hydraulics {
    Hydraulics {
        periods,
        warnings: Vec::new(),
    }
}

pub fn opts() -> TransportOptions {
    TransportOptions::default()
}

/// Every pollutant's ledger closes to `tol` (relative).
pub fn assert_ledger(res: &RunResults, tol: f64) {
    for (p, mb) in res.mass_balance.iter().enumerate() {
        assert!(
            mb.relative_error <= tol,
            "pollutant {}: ledger {:?} does not close to {tol}",
            res.pollutants[p],
            mb
        );
    }
}

/// Complementary error function, |relative error| < 1.2e-7 (Chebyshev fit, Press et al., Numerical Recipes
/// §6.2), written as exp(a)·erfc(z) to avoid overflow in products of a large exponential and a tiny erfc.
pub fn exp_erfc(a: f64, z: f64) -> f64 {
    let x = z.abs();
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -1.26551223
        + t * (1.00002368
            + t * (0.37409196
                + t * (0.09678418
                    + t * (-0.18628806
                        + t * (0.27886807
                            + t * (-1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    let v = t * (a - x * x + poly).exp();
    if z >= 0.0 { v } else { 2.0 * a.exp() - v }
}

pub fn erfc(z: f64) -> f64 {
    exp_erfc(0.0, z)
}

/// U → J1, J1 → J2 (J2 a pond), J1 → J3, J2 → J3 (the cross link), J2 → O, J3 → O2.
/// Period 1 (day 0–2): inflow 3 m³/s at U; the cross link runs *against* its nominal direction (J3 → J2,
/// −0.5 m³/s); all water leaves at O and O2. Period 2 (day 2–4): inflow 1 m³/s; the tide pushes 1 m³/s *in*
/// at O (carrying the outlet's concentration), the cross link turns round (+1.3 m³/s), depths change (so the
/// cell volumes change and the ledger books the volume term). Sources: an outfall with water on R3, a mass
/// load on R2, a line load on R4, bed release on R1, withdrawals at J3 and on R6, a temperature series with
/// θ ≠ 1.
pub fn looped() -> (Model, Network, Hydraulics) {
    let mut pond = node("J2", NodeKind::Storage);
    pond.area_m2 = Some(20_000.0);
    let mut o = node("O", NodeKind::Outlet);
    o.concentration = vec![Series::Const(5.0), Series::Const(0.2)];
    let mut m = model(
        &["COD", "NH3N"],
        vec![
            node("U", NodeKind::Boundary),
            node("J1", NodeKind::Junction),
            pond,
            node("J3", NodeKind::Junction),
            o,
            node("O2", NodeKind::Outlet),
        ],
        &[
            r("R1", 0, 1, 2_000.0, 15.0, 100.0, 5.0, 0.2),
            r("R2", 1, 2, 1_500.0, 10.0, 100.0, 2.0, 0.1),
            r("R3", 1, 3, 2_500.0, 12.0, 100.0, 0.0, 0.3),
            r("R4", 2, 3, 800.0, 8.0, 100.0, 1.0, 0.2),
            r("R5", 2, 4, 1_200.0, 10.0, 100.0, 3.0, 0.0),
            r("R6", 3, 5, 3_000.0, 15.0, 150.0, 10.0, 0.25),
        ],
        4.0 * DAY,
        3_600.0,
    );
    m.inflows.push(Inflow {
        node: 0,
        flow_m3s: Series::Table {
            times_s: vec![0.0, 2.0 * DAY],
            values: vec![3.0, 1.0],
            linear: false,
        },
        concentration: vec![
            Series::Table {
                times_s: vec![0.0, DAY, 3.0 * DAY],
                values: vec![20.0, 40.0, 10.0],
                linear: true,
            },
            Series::Const(1.5),
        ],
        group: "up".into(),
    });
    m.outfalls.push(Outfall {
        id: "P1".into(),
        reach: 2,
        at_m: 300.0,
        discharge: Discharge::Flow {
            flow_m3s: Series::Const(0.1),
            concentration: vec![Series::Const(250.0), Series::Const(30.0)],
        },
        kind: OutfallKind::Sewage,
        group: "s".into(),
    });
    m.outfalls.push(Outfall {
        id: "P2".into(),
        reach: 1,
        at_m: 700.0,
        discharge: Discharge::Load {
            kg_per_day: vec![Series::Const(50.0), Series::Const(5.0)],
        },
        kind: OutfallKind::Industrial,
        group: "i".into(),
    });
    m.line_loads.push(LineLoad {
        id: "L1".into(),
        reach: 3,
        from_m: 150.0,
        to_m: 650.0,
        kg_per_day: vec![Series::Const(20.0), Series::Const(2.0)],
        group: "v".into(),
    });
    m.reaches[0].release_g_m2_day = vec![0.5, 0.05];
    m.withdrawals.push(Withdrawal {
        place: Place::Node(3),
        flow_m3s: Series::Const(0.1),
    });
    m.withdrawals.push(Withdrawal {
        place: Place::Reach {
            reach: 5,
            at_m: 1_500.0,
        },
        flow_m3s: Series::Const(0.05),
    });
    m.temperature = Some(Temperature {
        water_c: Series::Table {
            times_s: vec![0.0, 4.0 * DAY],
            values: vec![12.0, 24.0],
            linear: true,
        },
        theta: vec![1.047, 1.08],
    });
    m.initial = InitialState::Steady;
    let net = Network::build(&m);
    // from-face flows per reach (R3 and R6 gain/lose their lateral inside the reach)
    let p1 = field(
        &m,
        &net,
        &[3.0, 1.0, 2.0, -0.5, 1.5, 1.5],
        &[1.0, 1.2, 1.0, 0.8, 1.5, 1.3],
        0.0,
        2.0 * DAY,
        1.5,
    );
    let mut m1 = m.clone();
    m1.inflows[0].flow_m3s = Series::Const(1.0);
    let p2 = field(
        &m1,
        &net,
        &[1.0, 0.3, 0.7, 1.3, -1.0, 2.0],
        &[0.8, 1.0, 0.9, 0.9, 1.7, 1.4],
        2.0 * DAY,
        4.0 * DAY,
        1.8,
    );
    (m, net, hyd(vec![p1, p2]))
}

/// Every output value of a run as bits, for bit-for-bit comparisons.
pub fn bits(r: &RunResults) -> Vec<u64> {
    let mut v: Vec<u64> = Vec::new();
    for row in r.section_conc.iter().chain(r.reach_conc.iter()) {
        v.extend(row.iter().map(|x| x.to_bits()));
    }
    for row in &r.final_cell_conc {
        v.extend(row.iter().map(|x| x.to_bits()));
    }
    for mb in &r.mass_balance {
        v.extend([mb.in_kg, mb.out_kg, mb.decayed_kg, mb.storage_change_kg].map(f64::to_bits));
    }
    v
}

/// One reach U → O (boundary → outlet), flow `q` m³/s, inflow concentration `c_in`, rectangular `width` ×
/// `depth` m, cells of `dx` m, dispersion `e` m²/s, decay `k` 1/day.
#[allow(clippy::too_many_arguments)]
pub fn one_reach(
    length: f64,
    width: f64,
    depth: f64,
    dx: f64,
    e: f64,
    k: f64,
    q: f64,
    c_in: f64,
    end_s: f64,
    interval_s: f64,
) -> (Model, Network, Hydraulics) {
    let mut m = model(
        &["X"],
        vec![node("U", NodeKind::Boundary), node("O", NodeKind::Outlet)],
        &[r("R", 0, 1, length, width, dx, e, k)],
        end_s,
        interval_s,
    );
    m.inflows.push(inflow(0, q, &[c_in]));
    let net = Network::build(&m);
    let f = field(&m, &net, &[q], &[depth], 0.0, end_s, 0.0);
    (m, net, hyd(vec![f]))
}

/// Mass (g, from mg/L × m³), centroid (m) and variance (m²) of pollutant 0 along the cells.
pub struct Moments {
    pub mass: f64,
    pub mean_m: f64,
    pub var_m2: f64,
}

/// The instantaneous-pulse run of the moment tests on a [`one_reach`] model: a Gaussian of peak 100 mg/L
/// centred at `x0_s0_m.0` with standard deviation `x0_s0_m.1`, run to the end with `o`. Each cell holds
/// `area_m2 × dx_m` of water. Returns the moments before and after, the stable step (s) and the results.
pub fn run_gaussian_pulse(
    m: &Model,
    net: &Network,
    hy: &Hydraulics,
    o: &TransportOptions,
    area_m2: f64,
    dx_m: f64,
    x0_s0_m: (f64, f64),
) -> (Moments, Moments, f64, RunResults) {
    let (x0, s0) = x0_s0_m;
    let mut sim = Sim::new(m, net, hy, o).unwrap();
    let moments = |c: &dyn Fn(usize) -> f64| {
        let (mut m0, mut m1, mut m2) = (0.0, 0.0, 0.0);
        for g in 0..net.n_cells {
            let x = net.cell_x_m[g];
            let v = c(g);
            m0 += v;
            m1 += v * x;
            m2 += v * x * x;
        }
        let mean = m1 / m0;
        Moments {
            mass: m0 * area_m2 * dx_m,
            mean_m: mean,
            var_m2: m2 / m0 - mean * mean,
        }
    };
    for g in 0..net.n_cells {
        let x = net.cell_x_m[g];
        sim.set_initial_cell_conc(0, g, 100.0 * (-(x - x0).powi(2) / (2.0 * s0 * s0)).exp());
    }
    let before = moments(&|g| sim.cell_conc(0, g));
    let dt = sim.stable_dt_s();
    while sim.step().unwrap() {}
    let after = moments(&|g| sim.cell_conc(0, g));
    (before, after, dt, sim.finish())
}

/// The same run in a 1-thread and in a 2-thread rayon pool: (one, two).
pub fn run_one_and_two_threads(
    m: &Model,
    net: &Network,
    hy: &Hydraulics,
    o: &TransportOptions,
) -> (RunResults, RunResults) {
    let in_pool = |threads: usize| support::in_pool(threads, || run(m, net, hy, o).unwrap());
    (in_pool(1), in_pool(2))
}

/// `m` (the looped network of [`looped`]) with five sections: on R1, R3, R4, R5 and R6.
pub fn with_sections(mut m: Model) -> Model {
    for (i, (reach, at)) in [
        (0, 1_500.0),
        (2, 2_000.0),
        (3, 400.0),
        (4, 1_100.0),
        (5, 2_900.0),
    ]
    .into_iter()
    .enumerate()
    {
        m.sections.push(SectionPoint {
            id: format!("S{i}"),
            reach,
            at_m: at,
        });
    }
    m
}
