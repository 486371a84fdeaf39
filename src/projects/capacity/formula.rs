//! The one-dimensional formula of GB/T 25173-2010 (水域纳污能力计算规程) for a zone's main reach, computed
//! beside the network model's capacity so that users see both.
//!
//! A river reach in plug flow with first-order decay: water enters its upstream end at C₀ (mg/L) with flow
//! Q₀ (m³/s); the zone's outfalls on the reach are lumped at one point x (m) upstream of the control section,
//! at distance L − x from the upstream end; below the point the flow is Q (Q₀ plus the outfalls' water).
//! Mixing at the point and decay on both stretches give at the control section
//!
//!   C(L) = [Q₀·C₀·e^(−k(L−x)/u) + W]/Q · e^(−kx/u),
//!
//! and setting C(L) to the target C_s gives the allowable load (g/s; ×86.4 for kg/day)
//!
//!   W = C_s·Q·e^(kx/u) − C₀·Q₀·e^(−k(L−x)/u),
//!
//! which with Q = Q₀ is (C_s − C₀·e^(−kL/u))·Q·e^(kx/u). k is the pollutant's decay rate at the design water
//! temperature (1/s), u the mean velocity of the stretch (u = L / travel time, so that e^(−kL/u) is the decay
//! over the true travel time). The standard's own text could not be consulted; this is the form that applied
//! studies quote from it (the lumped-outfall form, with distances x₁ = x and x₂ = L − x in km and
//! k/(86.4·u)), and its derivation above is the classical steady plug-flow solution (Chapra 1997, *Surface
//! Water-Quality Modeling*, lecture 9).
//!
//! Inputs from the design state (`design.rs`): the main reach is the reach of the control section that limits
//! the network capacity (or the zone's first control section); its upstream end is the end the design flow
//! comes from; C₀ the steady concentration at that end's node with the zone's own sources removed (what
//! arrives from upstream); x the load-weighted mean distance of the zone's own outfalls and line loads on the
//! stretch (a line load at the middle of its part of the stretch), or L/2 when none lie on it (the
//! standard's midpoint lumping).

use super::{CapacityError, KG_D_PER_G_S, Sources};
use crate::hydraulics::Hydraulics;
use crate::model::{Discharge, Model};
use crate::network::Network;
use crate::transport::{TransportOptions, steady_state};

/// The formula's inputs and result for one zone and pollutant.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FormulaInputs {
    /// The main reach's id.
    pub reach: String,
    /// Stretch length from the upstream end to the control section, m.
    pub length_m: f64,
    /// Distance of the lumped load upstream of the control section, m.
    pub load_distance_m: f64,
    /// Flow entering the stretch, m³/s.
    pub inflow_m3s: f64,
    /// Flow at the control section, m³/s.
    pub section_flow_m3s: f64,
    /// Mean velocity (length over travel time), m/s.
    pub velocity_ms: f64,
    /// Decay rate at the design temperature, 1/day.
    pub decay_per_day: f64,
    /// Concentration entering the stretch without the zone's own sources, mg/L.
    pub c0_mg_l: f64,
    /// Target, mg/L.
    pub target_mg_l: f64,
    /// Allowable load, kg/day (0 when the water entering already uses it up).
    pub capacity_kg_d: f64,
}

/// W (kg/day) of the formula for the inputs of `f` (its `capacity_kg_d` is not read), not floored at 0.
pub fn allowable_kg_d(f: &FormulaInputs) -> f64 {
    let k = f.decay_per_day / 86_400.0;
    let (u, x) = (f.velocity_ms, f.load_distance_m);
    (f.target_mg_l * f.section_flow_m3s * (k * x / u).exp()
        - f.c0_mg_l * f.inflow_m3s * (-k * (f.length_m - x) / u).exp())
        * KG_D_PER_G_S
}

/// What the formula needs from the design state: the flow field and, per zone, the node concentrations
/// without the zone's own sources.
pub struct Context<'a> {
    net: &'a Network,
    hyd: &'a Hydraulics,
    /// `[zone][pollutant][node]`.
    background_node: Vec<Vec<Vec<f64>>>,
}

impl<'a> Context<'a> {
    /// One steady solve per zone of the design model without the zone's own sources.
    pub fn new(
        dm: &Model,
        net: &'a Network,
        hyd: &'a Hydraulics,
        src: &Sources,
    ) -> Result<Context<'a>, CapacityError> {
        let field = &hyd.periods[0];
        let opts = TransportOptions::default();
        let background_node = (0..dm.zones.len())
            .map(|z| {
                let m = src.model_with(dm, &|a| src.atoms[a].zone != Some(z), true);
                steady_state(&m, net, field, 0, 0.0, &opts).map(|s| s.node_conc)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Context {
            net,
            hyd,
            background_node,
        })
    }

    /// The formula for zone `z`, pollutant `p`, control section `s`, target `cs` (`None` when the flow at
    /// the section is still).
    pub fn inputs(
        &self,
        dm: &Model,
        src: &Sources,
        z: usize,
        p: usize,
        s: usize,
        cs: f64,
    ) -> Option<FormulaInputs> {
        let (net, field) = (self.net, &self.hyd.periods[0]);
        let sec = &dm.sections[s];
        let r = sec.reach;
        let reach = &dm.reaches[r];
        let c = net.cell_at(r, sec.at_m);
        let face = net.first_face[r] + (c - net.first_cell[r]);
        let q_sec = 0.5 * (field.face_flow_m3s[face] + field.face_flow_m3s[face + 1]);
        if q_sec == 0.0 || !q_sec.is_finite() {
            return None;
        }
        let down = q_sec > 0.0;
        // distance from the upstream end along the flow, for a position measured from the from-node
        let along = |at_m: f64| if down { at_m } else { reach.length_m - at_m };
        let l_m = along(sec.at_m);
        let (up_node, up_face) = if down {
            (reach.from, net.first_face[r])
        } else {
            (reach.to, net.first_face[r] + net.n_cells_of(r))
        };
        let q0 = field.face_flow_m3s[up_face].abs();
        // travel time over [0, l_m] along the flow, cell by cell
        let mut t_s = 0.0;
        for i in net.cells_of(r) {
            let (a, b) = (
                net.cell_x_m[i] - 0.5 * net.cell_dx_m[i],
                net.cell_x_m[i] + 0.5 * net.cell_dx_m[i],
            );
            let (a, b) = (along(a).min(along(b)), along(a).max(along(b)));
            let overlap = (b.min(l_m) - a.max(0.0)).max(0.0);
            if overlap > 0.0 {
                let u = field.cell_velocity_ms[i].abs();
                if u <= 0.0 {
                    return None;
                }
                t_s += overlap / u;
            }
        }
        let u = if t_s > 0.0 {
            l_m / t_s
        } else {
            field.cell_velocity_ms[c].abs()
        };
        let theta = dm
            .temperature
            .as_ref()
            .map_or(1.0, |t| t.theta[p].powf(t.water_c.at(0.0) - 20.0));
        let k = dm.decay_per_day_at(r, p, 0.0) * theta;
        // the zone's own loads on the stretch: (distance upstream of the section, kg/day)
        let mut loads: Vec<(f64, f64)> = Vec::new();
        for (o, &a) in dm.outfalls.iter().zip(&src.outfall_atom) {
            if o.reach == r && src.atoms[a].zone == Some(z) {
                let w = match &o.discharge {
                    Discharge::Flow {
                        flow_m3s,
                        concentration,
                    } => flow_m3s.at(0.0) * concentration[p].at(0.0) * KG_D_PER_G_S,
                    Discharge::Load { kg_per_day } => kg_per_day[p].at(0.0),
                };
                loads.push((l_m - along(o.at_m), w));
            }
        }
        for (ll, &a) in dm.line_loads.iter().zip(&src.line_atom) {
            if ll.reach == r && src.atoms[a].zone == Some(z) {
                loads.push((
                    l_m - along(0.5 * (ll.from_m + ll.to_m)),
                    ll.kg_per_day[p].at(0.0),
                ));
            }
        }
        loads.retain(|&(d, w)| d >= 0.0 && d <= l_m && w > 0.0);
        let w_sum: f64 = loads.iter().map(|l| l.1).sum();
        let x_m = if w_sum > 0.0 {
            loads.iter().map(|l| l.0 * l.1).sum::<f64>() / w_sum
        } else {
            0.5 * l_m
        };
        let mut f = FormulaInputs {
            reach: reach.id.clone(),
            length_m: l_m,
            load_distance_m: x_m,
            inflow_m3s: q0,
            section_flow_m3s: q_sec.abs(),
            velocity_ms: u,
            decay_per_day: k,
            c0_mg_l: self.background_node[z][p][up_node],
            target_mg_l: cs,
            capacity_kg_d: 0.0,
        };
        f.capacity_kg_d = allowable_kg_d(&f).max(0.0);
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    /// By hand: C_s 20, C₀ 10, Q 10 m³/s, k 0.2/day, u 0.1 m/s, L 10 km, x 4 km:
    /// kx/u = 0.2·4000/(0.1·86400) = 0.0925926; k(L−x)/u = 0.1388889;
    /// W = (20·e^0.0925926 − 10·e^−0.1388889)·10 g/s = (21.9403 − 8.7032)·10 = 132.371 g/s = 11,436.9 kg/day.
    #[test]
    fn by_hand() {
        let f = super::FormulaInputs {
            reach: "R".into(),
            length_m: 10_000.0,
            load_distance_m: 4_000.0,
            inflow_m3s: 10.0,
            section_flow_m3s: 10.0,
            velocity_ms: 0.1,
            decay_per_day: 0.2,
            c0_mg_l: 10.0,
            target_mg_l: 20.0,
            capacity_kg_d: 0.0,
        };
        let w = super::allowable_kg_d(&f);
        let a = 20.0 * (0.2f64 * 4000.0 / 8640.0).exp();
        let b = 10.0 * (-0.2f64 * 6000.0 / 8640.0).exp();
        assert!((w - (a - b) * 10.0 * 86.4).abs() < 1e-9 * w);
        assert!((w - 11_436.9).abs() < 0.5, "{w}");
    }
}
