//! Shared helpers for the transport tests: models built directly in Rust, flow fields with exact continuity,
//! the ledger check, and erfc.
#![allow(dead_code)]

use chrono::NaiveDate;
use rivsim::hydraulics::{FlowField, Hydraulics};
use rivsim::model::*;
use rivsim::network::Network;
use rivsim::transport::{RunResults, TransportOptions};
use std::path::PathBuf;

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
        sim: Simulation {
            start: NaiveDate::from_ymd_opt(2025, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            end_s,
            time_step_s: None,
            output_interval_s: interval_s,
            warmup_s: 0.0,
            mode: Mode::Dynamic,
        },
        pollutants: pollutants.iter().map(|s| s.to_string()).collect(),
        initial: InitialState::Zero,
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
        inflows: Vec::new(),
        withdrawals: Vec::new(),
        outfalls: Vec::new(),
        line_loads: Vec::new(),
        zones: Vec::new(),
        sections: Vec::new(),
        temperature: None,
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
