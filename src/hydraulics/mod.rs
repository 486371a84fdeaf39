//! Steady hydraulics: flow, depth and velocity in every cell, one steady field per flow period.
//!
//! Stage 3 of the pipeline (scenario → model → **hydraulics** → transport → assessment → report). The result
//! is a [`Hydraulics`]: one [`FlowField`] per flow period (DESIGN.md §2 "Hydraulics"). Transport reads the
//! fields and never changes them.
//!
//! Solvers: [`tree`] (flows by continuity, depths by a backwater march upstream from the held level) runs
//! when the network is a forest with exactly one outlet or held level per connected part; otherwise
//! [`looped`] (node levels by Newton iterations on node continuity, a sparse SPD solve per iteration with the
//! minimum-degree LDLᵀ of [`sparse`]). `HydraulicsOptions::force_looped` forces the looped solver.
//!
//! Sign conventions: a face flow is positive from the reach's `from` node towards its `to` node. Within a reach
//! `face_flow[i+1] = face_flow[i] + cell_lateral[i]` holds exactly by construction, where `cell_lateral` is the
//! water added to the cell by outfalls minus what withdrawals along the reach take. At node `n`,
//!
//!   Σ_{reaches in} Q_to-face − Σ_{reaches out} Q_from-face + node_inject − node_exchange = residual ≈ 0,
//!
//! where `node_inject` is inflow minus node withdrawals and `node_exchange` is what leaves the network there
//! through a held level or a free outfall (negative when a tidal river pushes water in).

pub mod looped;
mod period;
pub mod plausible;
pub mod sparse;
pub mod tree;
pub mod unsteady;

use crate::model::Model;
use crate::network::Network;
use std::collections::HashMap;

/// One steady flow field (one flow period).
#[derive(Debug, Clone)]
pub struct FlowField {
    /// Period start, seconds since scenario start.
    pub t_start_s: f64,
    /// Period end, seconds since scenario start.
    pub t_end_s: f64,
    /// Water level at each node, m.
    pub node_level_m: Vec<f64>,
    /// Signed flow at every face (`Network::faces_of`), m³/s.
    pub face_flow_m3s: Vec<f64>,
    /// Water depth at each cell centre, m.
    pub cell_depth_m: Vec<f64>,
    /// Flow area at each cell centre, m².
    pub cell_area_m2: Vec<f64>,
    /// Top width at each cell centre, m.
    pub cell_width_m: Vec<f64>,
    /// Signed mean velocity in each cell (mean of its two face flows over its area), m/s.
    pub cell_velocity_ms: Vec<f64>,
    /// Water added to each cell by outfalls minus withdrawals along reaches, m³/s.
    pub cell_lateral_m3s: Vec<f64>,
    /// Net water injected at each node by inflows minus node withdrawals, m³/s.
    pub node_inject_m3s: Vec<f64>,
    /// Water leaving the network at each node through a held level or free outfall, m³/s (negative: entering).
    pub node_exchange_m3s: Vec<f64>,
    /// Continuity residual at each node, m³/s (see the module docs).
    pub node_residual_m3s: Vec<f64>,
    /// Storage nodes: pond volume, m³ (0 elsewhere).
    pub node_volume_m3: Vec<f64>,
    /// Largest |residual| divided by the largest flow through any node (0 on a dry network).
    pub continuity_relative: f64,
    /// Iterations the looped solver took (0 for a tree).
    pub iterations: usize,
}

impl FlowField {
    /// Reach means `[flow_m3s, velocity_ms, depth_m, travel_time_s]` of reach `r`.
    ///
    /// Cells of a reach have equal length, so length-weighted means are plain means: the flow is the mean of
    /// the cell flows (each the mean of its two faces), the depth the mean cell depth, the velocity the signed
    /// mean flow over the mean area, and the travel time Σ Δx/|u| over the cells (infinite where water stands
    /// still).
    pub fn reach_means(&self, net: &Network, r: usize) -> [f64; 4] {
        let cells = net.cells_of(r);
        let faces = net.faces_of(r);
        let n = cells.len() as f64;
        let (mut q_sum, mut a_sum, mut y_sum, mut tt) = (0.0, 0.0, 0.0, 0.0);
        for (k, c) in cells.enumerate() {
            q_sum += 0.5
                * (self.face_flow_m3s[faces.start + k] + self.face_flow_m3s[faces.start + k + 1]);
            a_sum += self.cell_area_m2[c];
            y_sum += self.cell_depth_m[c];
            let u = self.cell_velocity_ms[c].abs();
            tt += if u > 0.0 {
                net.cell_dx_m[c] / u
            } else {
                f64::INFINITY
            };
        }
        let (q, a, y) = (q_sum / n, a_sum / n, y_sum / n);
        let v = if a > 0.0 { q / a } else { 0.0 };
        [q, v, y, tt]
    }
}

/// Steady fields for every flow period of a run. Periods whose inputs (every flow and level series' mean)
/// equal an earlier period's share its solution (solved once, copied with the new times).
#[derive(Debug, Clone)]
pub struct Hydraulics {
    /// One field per flow period, in time order; `periods[0].t_start_s == 0`.
    pub periods: Vec<FlowField>,
    /// Notes for the run summary (e.g. a level below the bed clamped, a solver fallback).
    pub warnings: Vec<String>,
}

impl Hydraulics {
    /// Index of the period that holds time `t_s`.
    pub fn period_at(&self, t_s: f64) -> usize {
        self.periods
            .partition_point(|p| p.t_start_s <= t_s)
            .saturating_sub(1)
    }
}

/// A hydraulic failure while running (the input was valid).
#[derive(Debug, thiserror::Error)]
pub enum HydraulicsError {
    /// The looped iteration did not converge.
    #[error(
        "looped hydraulics did not converge in {iterations} iterations (period starting at {t_start_s} s): \
         largest continuity residual {residual_m3s:e} m³/s at node(s) {nodes}"
    )]
    NotConverged {
        /// Period start.
        t_start_s: f64,
        /// Iterations done.
        iterations: usize,
        /// Worst residual.
        residual_m3s: f64,
        /// The worst nodes, by id.
        nodes: String,
    },
    /// A part of the network has no held level and no free outfall.
    #[error("no fixed level in the part of the network containing node(s) {nodes}: {hint}")]
    NoFixedLevel {
        /// Some node ids of the part.
        nodes: String,
        /// What to do.
        hint: String,
    },
    /// The unsteady node system could not be factorised at a node (no storage and nothing that ties its
    /// level: a junction joined only by shut structures or pumps).
    #[error(
        "unsteady hydraulics: the level of node {node} is not determined at {t_s} s after the start (no \
         storage area and no open link ties it): give it `kind = \"storage\"` with `area_m2`, or connect it \
         by a reach"
    )]
    Singular {
        /// Node id.
        node: String,
        /// Seconds since the start.
        t_s: f64,
    },
    /// A number became NaN or infinite.
    #[error("non-finite {what} at {place} (period starting at {t_start_s} s)")]
    NonFinite {
        /// Quantity.
        what: String,
        /// Node or reach id.
        place: String,
        /// Period start.
        t_start_s: f64,
    },
}

/// Solver settings.
#[derive(Debug, Clone)]
pub struct HydraulicsOptions {
    /// Force the looped solver even on a tree.
    pub force_looped: bool,
    /// Maximum looped iterations.
    pub max_iterations: usize,
    /// Smallest depth used in conveyances, m (a dry reach keeps a trickle of conveyance).
    pub min_depth_m: f64,
}

impl Default for HydraulicsOptions {
    fn default() -> Self {
        HydraulicsOptions {
            force_looped: false,
            max_iterations: 200,
            min_depth_m: 0.01,
        }
    }
}

/// Solve every flow period of the model.
pub fn solve(
    model: &Model,
    net: &Network,
    opts: &HydraulicsOptions,
) -> Result<Hydraulics, HydraulicsError> {
    let starts = model.flow_period_starts();
    let mut periods: Vec<FlowField> = Vec::with_capacity(starts.len());
    // each distinct input key and the first period that had it (hashed: a series of a million rows makes
    // as many periods, and a linear search among them would be quadratic)
    let mut solved: HashMap<Vec<u64>, usize> = HashMap::new();
    let mut warnings = Vec::new();
    // depths, speeds and travel times no plain river has: warnings naming the reaches
    let mut plausibility = plausible::Plausibility::new(net.n_reaches);
    for (k, &t0) in starts.iter().enumerate() {
        let t1 = starts.get(k + 1).copied().unwrap_or(model.sim.end_s);
        // a period whose inputs equal an earlier one's (bit for bit) reuses its field
        let key = period::input_key(model, t0, t1);
        if let Some(&j) = solved.get(&key) {
            let mut field = periods[j].clone();
            field.t_start_s = t0;
            field.t_end_s = t1;
            periods.push(field);
        } else {
            let field = solve_period(model, net, opts, t0, t1, &mut warnings)?;
            plausibility.check(net, &field);
            solved.insert(key, periods.len());
            periods.push(field);
        }
    }
    plausibility.warnings(model, &mut warnings);
    Ok(Hydraulics { periods, warnings })
}

/// Solve one flow period `[t0_s, t1_s)`: the series are averaged over it.
pub fn solve_period(
    model: &Model,
    net: &Network,
    opts: &HydraulicsOptions,
    t0_s: f64,
    t1_s: f64,
    warnings: &mut Vec<String>,
) -> Result<FlowField, HydraulicsError> {
    if net.is_forest && !opts.force_looped && tree::applies(model, net) {
        tree::solve(model, net, opts, t0_s, t1_s, warnings)
    } else {
        looped::solve(model, net, opts, t0_s, t1_s, warnings)
    }
}
