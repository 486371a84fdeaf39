//! What the tree and looped solvers share: a period's inputs (series means over [t0, t1)), the depth at a
//! free outfall, and the assembly of a [`FlowField`] from node levels, face flows and cell depths.
//!
//! Inputs: inflows and node withdrawals inject at nodes; outfalls with a flow and withdrawals along a reach
//! add (remove) water in the cell that contains their position; mass-only loads add no water.
//!
//! Free outfall (an outlet without a held level): the depth at the outlet end of a reach is Manning's normal
//! depth y_n of the flow leaving there, K(y_n) = |Q|/sqrt(S0), but never below the critical depth y_c
//! (Q²T = gA³), which is the control at a free overfall; on a flat or adverse bed no normal depth exists and
//! y_c is used (Chow 1959, §9-1 and §10-1).

use super::{FlowField, HydraulicsError};
use crate::model::{Discharge, Model, NodeKind, Place, Section};
use crate::network::{CELLS_PER_TASK, Network};
use rayon::prelude::*;

/// A period's water inputs and boundary levels.
pub(crate) struct PeriodInputs {
    /// Inflows minus node withdrawals, m³/s.
    pub node_inject_m3s: Vec<f64>,
    /// Outfall flows minus withdrawals along reaches, per cell, m³/s.
    pub cell_lateral_m3s: Vec<f64>,
    /// Sum of `cell_lateral_m3s` over each reach's cells, m³/s.
    pub reach_lateral_m3s: Vec<f64>,
    /// Held level of each node (period mean), m.
    pub held_level_m: Vec<Option<f64>>,
    /// `true` for an outlet without a held level.
    pub free_outfall: Vec<bool>,
}

/// The date and time of a period start, for messages: `2025-03-01 00:00` (seconds after the scenario start as
/// calendar time, so that a warning can be found in the inputs).
pub(crate) fn when(model: &Model, t0_s: f64) -> String {
    let ms = (t0_s * 1000.0).round().clamp(-9.0e15, 9.0e15) as i64;
    model
        .sim
        .start
        .checked_add_signed(chrono::TimeDelta::milliseconds(ms))
        .unwrap_or(model.sim.start)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

impl PeriodInputs {
    /// Means of every series over `[t0_s, t1_s)`.
    pub fn new(model: &Model, net: &Network, t0_s: f64, t1_s: f64) -> PeriodInputs {
        let mut node_inject_m3s = vec![0.0; net.n_nodes];
        for i in &model.inflows {
            node_inject_m3s[i.node] += i.flow_m3s.mean(t0_s, t1_s);
        }
        let mut cell_lateral_m3s = vec![0.0; net.n_cells];
        for w in &model.withdrawals {
            let q = w.flow_m3s.mean(t0_s, t1_s);
            match w.place {
                Place::Node(n) => node_inject_m3s[n] -= q,
                Place::Reach { reach, at_m } => cell_lateral_m3s[net.cell_at(reach, at_m)] -= q,
            }
        }
        for o in &model.outfalls {
            if let Discharge::Flow { flow_m3s, .. } = &o.discharge {
                cell_lateral_m3s[net.cell_at(o.reach, o.at_m)] += flow_m3s.mean(t0_s, t1_s);
            }
        }
        let reach_lateral_m3s = (0..net.n_reaches)
            .map(|r| net.cells_of(r).map(|c| cell_lateral_m3s[c]).sum())
            .collect();
        let held_level_m = model
            .nodes
            .iter()
            .map(|n| n.level_m.as_ref().map(|s| s.mean(t0_s, t1_s)))
            .collect();
        let free_outfall = model
            .nodes
            .iter()
            .map(|n| n.kind == NodeKind::Outlet && n.level_m.is_none())
            .collect();
        PeriodInputs {
            node_inject_m3s,
            cell_lateral_m3s,
            reach_lateral_m3s,
            held_level_m,
            free_outfall,
        }
    }
}

/// The bits of every flow and level input of a period (series means over `[t0_s, t1_s)`), in model order: two
/// periods with equal keys have identical steady solutions.
pub(crate) fn input_key(model: &Model, t0_s: f64, t1_s: f64) -> Vec<u64> {
    let mut key = Vec::with_capacity(
        model.inflows.len() + model.withdrawals.len() + model.outfalls.len() + model.nodes.len(),
    );
    for i in &model.inflows {
        key.push(i.flow_m3s.mean(t0_s, t1_s).to_bits());
    }
    for w in &model.withdrawals {
        key.push(w.flow_m3s.mean(t0_s, t1_s).to_bits());
    }
    for o in &model.outfalls {
        if let Discharge::Flow { flow_m3s, .. } = &o.discharge {
            key.push(flow_m3s.mean(t0_s, t1_s).to_bits());
        }
    }
    for n in &model.nodes {
        if let Some(l) = &n.level_m {
            key.push(l.mean(t0_s, t1_s).to_bits());
        }
    }
    key
}

/// Bed level of reach `r` at its end touching node `n` (the from end if both ends are `n`), m.
pub(crate) fn end_bed_m(model: &Model, r: usize, n: usize) -> f64 {
    let reach = &model.reaches[r];
    if reach.from == n {
        reach.bed_up_m
    } else {
        reach.bed_down_m
    }
}

/// Bed level of a node: its own `bed_m`, else the lowest end bed of the reaches touching it, else 0.
pub(crate) fn node_bed_m(model: &Model, net: &Network, n: usize) -> f64 {
    if let Some(b) = model.nodes[n].bed_m {
        return b;
    }
    let mut b = f64::INFINITY;
    for &r in net.out_of(n).iter().chain(net.into(n)) {
        b = b.min(end_bed_m(model, r, n));
    }
    if b.is_finite() { b } else { 0.0 }
}

/// Level at a free outfall `n`, m: the highest of bed + boundary depth over the reaches ending there, given
/// the flow leaving through each reach's outlet end (`outflow(r)`, m³/s). Sets `*critical` when a critical
/// depth was used because no normal depth exists (flat or adverse bed).
pub(crate) fn free_outfall_level_m(
    model: &Model,
    net: &Network,
    n: usize,
    min_depth_m: f64,
    outflow: impl Fn(usize) -> f64,
    critical: &mut bool,
) -> f64 {
    let mut level = f64::NEG_INFINITY;
    for &r in net.out_of(n).iter().chain(net.into(n)) {
        let reach = &model.reaches[r];
        let q = outflow(r).abs();
        // bed slope falling towards n
        let slope = if reach.to == n {
            (reach.bed_up_m - reach.bed_down_m) / reach.length_m
        } else {
            (reach.bed_down_m - reach.bed_up_m) / reach.length_m
        };
        let yc = reach.section.critical_depth_m(q);
        let y = match reach.section.normal_depth_m(q, reach.manning_n, slope) {
            Some(yn) => yn.max(yc),
            None => {
                if q > 0.0 {
                    *critical = true;
                }
                yc
            }
        };
        level = level.max(end_bed_m(model, r, n) + y.max(min_depth_m));
    }
    if level.is_finite() {
        level
    } else {
        node_bed_m(model, net, n) + min_depth_m
    }
}

/// Reaches where something was clamped, turned into a bounded list of warnings.
pub(crate) struct ReachFlags {
    flagged: Vec<bool>,
    count: usize,
}

impl ReachFlags {
    pub fn new(n_reaches: usize) -> ReachFlags {
        ReachFlags {
            flagged: vec![false; n_reaches],
            count: 0,
        }
    }

    pub fn set(&mut self, r: usize) {
        if !self.flagged[r] {
            self.flagged[r] = true;
            self.count += 1;
        }
    }

    /// Push one warning naming up to 10 reaches (`what` says what happened to them).
    pub fn warn(&self, model: &Model, t0_s: f64, what: &str, warnings: &mut Vec<String>) {
        if self.count == 0 {
            return;
        }
        let names: Vec<&str> = self
            .flagged
            .iter()
            .enumerate()
            .filter(|(_, f)| **f)
            .take(10)
            .map(|(r, _)| model.reaches[r].id.as_str())
            .collect();
        let more = if self.count > names.len() {
            format!(" and {} more", self.count - names.len())
        } else {
            String::new()
        };
        warnings.push(format!(
            "hydraulics, period starting {}: {what} in reach(es) {}{more}",
            when(model, t0_s),
            names.join(", ")
        ));
    }
}

/// Accumulate face flows of one reach from its first face: `faces[0] = q0`,
/// `faces[i+1] = faces[i] + lateral[i]` (the in-reach continuity identity, exact by construction).
#[inline]
pub(crate) fn accumulate_faces(faces: &mut [f64], lateral: &[f64], q0: f64) {
    faces[0] = q0;
    for i in 0..lateral.len() {
        faces[i + 1] = faces[i] + lateral[i];
    }
}

/// Sum of what enters node `n` through its reaches plus its injection (before any exchange), m³/s, and the
/// flow passing through it (the larger of what enters and what leaves).
#[inline]
pub(crate) fn node_balance(
    net: &Network,
    inp: &PeriodInputs,
    face: &[f64],
    n: usize,
) -> (f64, f64) {
    let mut sum = inp.node_inject_m3s[n];
    let (mut pos, mut neg) = (sum.max(0.0), (-sum).max(0.0));
    for &r in net.into(n) {
        let q = face[net.first_face[r] + net.reach_n_cells[r]];
        sum += q;
        if q > 0.0 { pos += q } else { neg -= q }
    }
    for &r in net.out_of(n) {
        let q = face[net.first_face[r]];
        sum -= q;
        if q > 0.0 { neg += q } else { pos -= q }
    }
    (sum, pos.max(neg))
}

/// Build the [`FlowField`]: areas, widths, velocities, exchanges at `boundary` nodes (held level or free
/// outfall: what leaves there, by continuity), residuals, pond volumes; checks every number is finite.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    model: &Model,
    net: &Network,
    inp: PeriodInputs,
    t0_s: f64,
    t1_s: f64,
    node_level_m: Vec<f64>,
    face_flow_m3s: Vec<f64>,
    cell_depth_m: Vec<f64>,
    boundary: &[bool],
    iterations: usize,
) -> Result<FlowField, HydraulicsError> {
    let non_finite = |what: &str, place: String| HydraulicsError::NonFinite {
        what: what.to_string(),
        place,
        t_start_s: t0_s,
    };
    for (n, h) in node_level_m.iter().enumerate() {
        if !h.is_finite() {
            return Err(non_finite(
                "water level",
                format!("node {}", model.nodes[n].id),
            ));
        }
    }
    // the first non-finite flow or depth, in reach order (the same error whatever the thread count)
    for r in 0..net.n_reaches {
        let f0 = net.first_face[r];
        for (i, c) in net.cells_of(r).enumerate() {
            let (qa, qb, y) = (
                face_flow_m3s[f0 + i],
                face_flow_m3s[f0 + i + 1],
                cell_depth_m[c],
            );
            if !(qa.is_finite() && qb.is_finite()) {
                return Err(non_finite("flow", format!("reach {}", model.reaches[r].id)));
            }
            if !y.is_finite() {
                return Err(non_finite(
                    "depth",
                    format!("reach {}", model.reaches[r].id),
                ));
            }
        }
    }
    // per-cell geometry: each cell's values depend on that cell's inputs only, so the split across threads
    // cannot change a bit
    let mut cell_area_m2 = vec![0.0; net.n_cells];
    let mut cell_width_m = vec![0.0; net.n_cells];
    let mut cell_velocity_ms = vec![0.0; net.n_cells];
    cell_area_m2
        .par_iter_mut()
        .zip(cell_width_m.par_iter_mut())
        .zip(cell_velocity_ms.par_iter_mut())
        .enumerate()
        .with_min_len(CELLS_PER_TASK)
        .for_each(|(c, ((area, width), velocity))| {
            let r = net.cell_reach[c] as usize;
            let section = &model.reaches[r].section;
            let f = net.first_face[r] + (c - net.first_cell[r]);
            let (qa, qb, y) = (face_flow_m3s[f], face_flow_m3s[f + 1], cell_depth_m[c]);
            let a = section.area_m2(y);
            *area = a;
            *width = section.top_width_m(y);
            *velocity = if a > 0.0 { 0.5 * (qa + qb) / a } else { 0.0 };
        });
    let mut node_exchange_m3s = vec![0.0; net.n_nodes];
    let mut node_residual_m3s = vec![0.0; net.n_nodes];
    let mut node_volume_m3 = vec![0.0; net.n_nodes];
    let (mut worst, mut through_max) = (0.0f64, 0.0f64);
    for n in 0..net.n_nodes {
        let (sum, through) = node_balance(net, &inp, &face_flow_m3s, n);
        if boundary[n] {
            node_exchange_m3s[n] = sum;
        }
        // the module docs' identity: in − out + inject − exchange
        let res = sum - node_exchange_m3s[n];
        node_residual_m3s[n] = res;
        worst = worst.max(res.abs());
        through_max = through_max.max(through);
        let node = &model.nodes[n];
        if node.kind == NodeKind::Storage {
            let bed = node_bed_m(model, net, n);
            node_volume_m3[n] = node.area_m2.unwrap_or(0.0) * (node_level_m[n] - bed).max(0.0);
        }
    }
    let continuity_relative = if through_max > 0.0 {
        worst / through_max
    } else {
        0.0
    };
    Ok(FlowField {
        t_start_s: t0_s,
        t_end_s: t1_s,
        node_level_m,
        face_flow_m3s,
        cell_depth_m,
        cell_area_m2,
        cell_width_m,
        cell_velocity_ms,
        cell_lateral_m3s: inp.cell_lateral_m3s,
        node_inject_m3s: inp.node_inject_m3s,
        node_exchange_m3s,
        node_residual_m3s,
        node_volume_m3,
        continuity_relative,
        iterations,
    })
}

/// Cross-section geometry in a compact, branch-light form for inner loops: rectangles and trapezoids in
/// closed form (a rectangle is a trapezoid with z = 0), tabulated sections through [`Section`]'s methods.
/// (Rust's `cbrt` is a slow correctly-rounded software routine here; `powf` is the fast libm one.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geo {
    b: f64,
    z: f64,
    wall: f64,
    inv_n: f64,
    table: bool,
}

impl Geo {
    pub fn new(section: &Section, manning_n: f64) -> Geo {
        let (b, z, table) = match section {
            Section::Rectangle { width_m } => (*width_m, 0.0, false),
            Section::Trapezoid {
                bottom_width_m,
                side_slope,
            } => (*bottom_width_m, *side_slope, false),
            Section::Table { .. } => (0.0, 0.0, true),
        };
        Geo {
            b,
            z,
            wall: 2.0 * (1.0 + z * z).sqrt(),
            inv_n: 1.0 / manning_n,
            table,
        }
    }

    /// (area m², wetted perimeter m, top width m) at depth `y` (≥ 0).
    #[inline]
    pub fn apt(&self, section: &Section, y: f64) -> (f64, f64, f64) {
        if self.table {
            (
                section.area_m2(y),
                section.wetted_perimeter_m(y),
                section.top_width_m(y),
            )
        } else {
            (
                (self.b + self.z * y) * y,
                self.b + self.wall * y,
                self.b + 2.0 * self.z * y,
            )
        }
    }

    /// Manning conveyance A·R^(2/3)/n (m³/s) at depth `y` (≥ 0).
    #[inline]
    pub fn conveyance(&self, section: &Section, y: f64) -> f64 {
        let (a, p, _) = self.apt(section, y);
        if a <= 0.0 || p <= 0.0 {
            return 0.0;
        }
        let r = a / p;
        a * r.powf(2.0 / 3.0) * self.inv_n
    }

    /// 1/n.
    #[inline]
    pub fn inv_n(&self) -> f64 {
        self.inv_n
    }
}
