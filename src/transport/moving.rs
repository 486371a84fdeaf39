//! Transport on unsteady flow: pollutants carried on the water of each unsteady hydraulic step.
//!
//! **Volumes and fluxes.** A step of the unsteady solver ([`StepFlows`]) gives, for every cell j of a reach
//! (the Preissmann box between points j and j + 1), its volume V° = Δx·(A°_j + A°_j+1)/2 at the start and V
//! at the end, and every face passes F = θ·Q + (1 − θ)·Q° during the step, so that
//! V − V° = Δt·(F_j − F_j+1 + q_lat − w) to round-off. Transport uses exactly these: within the step the
//! fluxes are constant and the volume changes linearly, V_b = V_a + h·(F_j − F_j+1 + q_lat − w) over a
//! sub-step h, so a uniform concentration stays uniform and no mass is made by the moving water.
//!
//! **A sub-step** of length h, for one pollutant, in finite-volume mass form (mass M = V·C, g):
//!
//!   M_b = V_a·C_a + h·(G_j − G_j+1) + h·S − h·w·C_a,        C_b = M_b / V_b,
//!
//! with the face mass flux G = F·C_f − D·(C_right − C_left) (g/s), the face value C_f upwinded by the sign
//! of F and corrected by the flux-limited Lax–Wendroff term C_f = C_U + ½·(1 − ν)·φ(r)·(C_D − C_U),
//! ν = |F|·h/V_b,U, r = (C_U − C_UU)/(C_D − C_U), φ the monotonized-central limiter max(0, min(2r, (1 + r)/2,
//! 2)) (van Leer 1977), and D = E·Ā/Δx the dispersive conductance of an interior face (m³/s; Ā the point's
//! mean stored area over the step). Writing the update as C_b = C_a + (h/V_b)·[Σ_in F·(C_f − C_a)
//! − Σ_out F·(C_f − C_a) + Σ D·(C_nb − C_a) + S − q_lat·C_a] and using φ ≤ 2 and φ ≤ 2r, every bracket term
//! is a non-negative multiple (at most 1 per unit of F) of a difference to a neighbour, so C_b is a convex
//! combination of C_a, its neighbours and the inflowing values — positive and free of new extrema — when
//!
//!   h·(Σ|F| + Σ D + q_lat + w) ≤ min(V°, V)           (the Courant limit relative to the new volume),
//!
//! which also keeps V_b > 0. Each hydraulic step is split into the fewest equal sub-steps meeting this with
//! a safety factor of 0.9 in every cell and pond.
//!
//! **Nodes.** A junction holds no water (the boxes hold the channel's water; its hydraulic continuity has
//! no storage), so its concentration C_n is that of a mixing point of zero volume: what flows in (reach
//! ends at their end cell's value, inflows at their concentration, structures at their upstream node's
//! value, water entering at a held level at the boundary's concentration) plus the dispersive exchange with
//! the end cells of its reaches balances what flows out,
//!
//!   C_n = (Σ_in Q·C + Σ_k D_k·C_k) / (Σ_out Q + Σ_k D_k),
//!
//! and the outflows (reach ends, withdrawals, free outfalls, structures, water leaving at a held level) carry
//! C_n. **Junction dispersion**: D_k = 2·E_k·Ā_k/Δx_k is the conductance between the end cell's centre and
//! the node, half a cell away, on every reach end at a node where two or more reaches meet and whose level
//! is free; Σ_k D_k·(C_n − C_k) = Σ_in Q·C − C_n·Σ_out Q, so the node stores nothing and conserves mass, and
//! between two equal reaches the series conductance D_k/2 = E·A/Δx is that of an interior face: a dead-end
//! branch exchanges with the trunk by diffusion. Outlets and held levels keep the Danckwerts condition (no
//! dispersive flux across the boundary). Structures are visited after the node upstream of them (in flow
//! order within the step); a cycle of structures between junctions takes the last sub-step's value of the
//! node closing it. A storage node (pond) with a free level is a mixed volume V_n = A_s·(Z − bed) updated
//! like a cell, its outflows carrying its value at the start of the sub-step.
//!
//! **Decay** is exact and split symmetrically around the sub-step (factors exp(−k·θ^(T−20)·h/2) before and
//! after; sources enter between the halves); the ledger books exactly the mass the factors remove.
//!
//! **Ledger** (grams, per pollutant): in (inflows, water entering at held levels, outfalls, line loads,
//! release), out (water leaving at held levels and free outfalls, withdrawals), decayed, and the change of
//! Σ V·C over cells and ponds. A cell whose new volume would not be positive (not met with the solver's
//! positive stored areas) is emptied and its mass booked as `volume_change_kg` (negative).
//!
//! References: Sweby, P.K. (1984) SIAM J. Numer. Anal. 21(5), 995–1011; van Leer, B. (1977) J. Comput.
//! Phys. 23, 276–299; Cunge, Holly & Verwey (1980) *Practical Aspects of Computational River Hydraulics*
//! (the Preissmann box whose volumes these are).

use super::layout::{
    DAY_S, Layout, PeriodFlows, inflow_conc, outlet_conc, source_rate, temp_factor,
};
use super::{MassBalance, RunResults, TransportError};
use crate::hydraulics::unsteady::StepFlows;
use crate::model::{Discharge, Model, NodeKind};
use crate::network::Network;

/// Safety factor on the positivity limit of a sub-step.
const SAFETY: f64 = 0.9;
/// Ledger slots, g.
const IN: usize = 0;
const OUT: usize = 1;
const DECAY: usize = 2;
const VOLUME: usize = 3;

/// One pollutant's state.
struct Lane {
    /// Concentration per global cell, mg/L = g/m³.
    conc: Vec<f64>,
    /// Concentration per node (a pond's content, a junction's mixed value), mg/L.
    node_c: Vec<f64>,
    /// Decay rate per reach, 1/s at 20 °C.
    k_per_s: Vec<f64>,
    /// Ledger: in, out, decayed, volume change, g.
    ledger_g: [f64; 4],
}

/// Transport carried along an unsteady hydraulic run, one hydraulic step at a time.
pub struct Moving<'m> {
    model: &'m Model,
    net: &'m Network,
    lay: Layout,
    lanes: Vec<Lane>,
    /// Inflow, withdrawal and outfall flows of the current hydraulic step (what `source_rate` reads).
    flows: PeriodFlows,
    /// Per face: F (m³/s) and the dispersive conductance D (m³/s; at a reach's end faces, the node's).
    flux: Vec<f64>,
    disp: Vec<f64>,
    /// Per cell: volume at the start and the end of the current step, and of the current sub-step, m³.
    vol0: Vec<f64>,
    vol1: Vec<f64>,
    vol_a: Vec<f64>,
    vol_b: Vec<f64>,
    /// Per cell: net water inflow during the step (faces, outfalls, withdrawals), m³/s.
    net_in: Vec<f64>,
    /// Per node: volume at the start and end of the step (ponds with a free level), m³.
    node_vol0: Vec<f64>,
    node_vol1: Vec<f64>,
    /// Each node takes dispersion across it (a free level where two or more reaches meet).
    dispersive: Vec<bool>,
    /// Pond: a storage node with a free level.
    pond: Vec<bool>,
    /// Scratch: new concentrations, node values of this sub-step, the node visit order.
    c_new: Vec<f64>,
    node_new: Vec<f64>,
    node_done: Vec<bool>,
    next_decay_change: usize,
    t_s: f64,
    mass0_g: Vec<f64>,
    results: RunResults,
    /// Sub-steps taken, and the largest number in one hydraulic step.
    steps: usize,
    most_substeps: usize,
}

impl<'m> Moving<'m> {
    /// Set up transport at the start of the run with every concentration at `initial` (mg/L per pollutant
    /// per global cell, and per node); `volume_m3` the cells' volumes then (from the hydraulic state).
    pub fn new(
        model: &'m Model,
        net: &'m Network,
        cell_conc: Vec<Vec<f64>>,
        node_conc: Vec<Vec<f64>>,
    ) -> Moving<'m> {
        let lay = Layout::new(model, net, 8192);
        let np = model.pollutants.len();
        let lanes = (0..np)
            .map(|p| Lane {
                conc: cell_conc[p].clone(),
                node_c: node_conc[p].clone(),
                k_per_s: model
                    .reaches
                    .iter()
                    .map(|r| r.decay_per_day.get(p).copied().unwrap_or(0.0) / DAY_S)
                    .collect(),
                ledger_g: [0.0; 4],
            })
            .collect();
        let dispersive = (0..net.n_nodes)
            .map(|n| {
                let node = &model.nodes[n];
                node.kind != NodeKind::Outlet
                    && node.level_m.is_none()
                    && net.into(n).len() + net.out_of(n).len() >= 2
            })
            .collect();
        let pond = (0..net.n_nodes)
            .map(|n| model.nodes[n].kind == NodeKind::Storage && model.nodes[n].level_m.is_none())
            .collect();
        let (nc, nf, nn) = (net.n_cells, net.n_faces(), net.n_nodes);
        Moving {
            model,
            net,
            lay,
            lanes,
            flows: PeriodFlows {
                inflow_q: vec![0.0; model.inflows.len()],
                withdraw_q: vec![0.0; model.withdrawals.len()],
                outfall_q: vec![0.0; model.outfalls.len()],
            },
            flux: vec![0.0; nf],
            disp: vec![0.0; nf],
            vol0: vec![0.0; nc],
            vol1: vec![0.0; nc],
            vol_a: vec![0.0; nc],
            vol_b: vec![0.0; nc],
            net_in: vec![0.0; nc],
            node_vol0: vec![0.0; nn],
            node_vol1: vec![0.0; nn],
            dispersive,
            pond,
            c_new: vec![0.0; nc],
            node_new: vec![0.0; nn],
            node_done: vec![false; nn],
            next_decay_change: 0,
            t_s: 0.0,
            mass0_g: vec![0.0; np],
            results: RunResults {
                output_times_s: Vec::new(),
                pollutants: model.pollutants.clone(),
                section_conc: Vec::new(),
                reach_conc: Vec::new(),
                output_period: Vec::new(),
                mass_balance: Vec::new(),
                warnings: Vec::new(),
                steps: 0,
                mean_cell_conc: Vec::new(),
                final_cell_conc: Vec::new(),
            },
            steps: 0,
            most_substeps: 0,
        }
    }

    /// Take the cell and pond volumes of the hydraulic state `points` (stored areas, the face layout) and
    /// node levels as the volumes now, and the mass now as the initial mass of the ledger.
    pub fn start(&mut self, f: &StepFlows) {
        cell_volumes(self.net, f.new, &mut self.vol1);
        node_volumes(f, &self.pond, f.node_level_m, &mut self.node_vol1);
        for p in 0..self.lanes.len() {
            self.mass0_g[p] = self.mass_g(p);
        }
    }

    /// Seconds since the start reached.
    pub fn time_s(&self) -> f64 {
        self.t_s
    }

    /// Current concentration of pollutant `p` in global cell `g`, mg/L.
    pub fn cell_conc(&self, p: usize, g: usize) -> f64 {
        self.lanes[p].conc[g]
    }

    /// Current concentration of pollutant `p` at node `n`, mg/L.
    pub fn node_conc(&self, p: usize, n: usize) -> f64 {
        self.lanes[p].node_c[n]
    }

    /// Mass of pollutant `p` in cells and ponds now, kg.
    pub fn mass_kg(&self, p: usize) -> f64 {
        self.mass_g(p) / 1000.0
    }

    fn mass_g(&self, p: usize) -> f64 {
        let l = &self.lanes[p];
        let cells: f64 = self.vol1.iter().zip(&l.conc).map(|(v, c)| v * c).sum();
        let ponds: f64 = self
            .node_vol1
            .iter()
            .zip(&l.node_c)
            .map(|(v, c)| v * c)
            .sum();
        cells + ponds
    }

    /// Carry every pollutant over the hydraulic step `f` (which ended at `self.time_s() + f.dt_s`).
    pub fn advance(&mut self, f: &StepFlows) -> Result<(), TransportError> {
        let dt = f.dt_s;
        if dt <= 0.0 {
            return Ok(());
        }
        self.prepare(f);
        let n_sub = self.substeps(f);
        self.most_substeps = self.most_substeps.max(n_sub);
        let h = dt / n_sub as f64;
        let t_step = self.t_s;
        for k in 0..n_sub {
            let t_a = t_step + k as f64 * h;
            self.apply_decay_changes(t_a);
            self.vol_a.copy_from_slice(&self.vol_b);
            for c in 0..self.net.n_cells {
                self.vol_b[c] = self.vol_a[c] + h * self.net_in[c];
            }
            if k + 1 == n_sub {
                self.vol_b.copy_from_slice(&self.vol1);
            }
            for p in 0..self.lanes.len() {
                self.substep(f, p, t_a, h, k as f64 / n_sub as f64)?;
            }
            self.steps += 1;
        }
        self.t_s = t_step + dt;
        Ok(())
    }

    /// The step's fluxes, conductances, volumes and inputs.
    fn prepare(&mut self, f: &StepFlows) {
        let (model, net) = (self.model, self.net);
        let th = f.theta;
        for (k, (o, n)) in f.old.iter().zip(f.new).enumerate() {
            self.flux[k] = th * n.q + (1.0 - th) * o.q;
        }
        self.vol0.copy_from_slice(&self.vol1);
        cell_volumes(net, f.new, &mut self.vol1);
        self.vol_b.copy_from_slice(&self.vol0);
        self.node_vol0.copy_from_slice(&self.node_vol1);
        node_volumes(f, &self.pond, f.node_level_m, &mut self.node_vol1);
        for r in 0..net.n_reaches {
            let (faces, cells) = (net.faces_of(r), net.cells_of(r));
            let (dx, e) = (net.reach_dx_m[r], model.reaches[r].dispersion_m2s.max(0.0));
            let reach = &model.reaches[r];
            for p in faces.clone() {
                let area = 0.5 * (f.old[p].a + f.new[p].a);
                let end_node = if p == faces.start {
                    Some(reach.from)
                } else if p == faces.end - 1 {
                    Some(reach.to)
                } else {
                    None
                };
                self.disp[p] = match end_node {
                    None => e * area / dx,
                    Some(n) if self.dispersive[n] => 2.0 * e * area / dx,
                    Some(_) => 0.0,
                };
            }
            for (j, c) in cells.enumerate() {
                let p = faces.start + j;
                self.net_in[c] = self.flux[p] - self.flux[p + 1] + f.cell_lateral_m3s[c]
                    - f.cell_withdrawn_m3s[c];
            }
        }
        let t_mid = self.t_s + 0.5 * f.dt_s;
        for (q, i) in self.flows.inflow_q.iter_mut().zip(&model.inflows) {
            *q = i.flow_m3s.at(t_mid);
        }
        for (q, o) in self.flows.outfall_q.iter_mut().zip(&model.outfalls) {
            *q = match &o.discharge {
                Discharge::Flow { flow_m3s, .. } => flow_m3s.at(t_mid),
                Discharge::Load { .. } => 0.0,
            };
        }
    }

    /// The fewest equal sub-steps that keep h·(Σ|F| + ΣD + q_lat + w) ≤ 0.9·min(V°, V) in every cell and
    /// h·(Σ in + Σ out + ΣD) ≤ 0.9·min(V°, V) in every pond.
    fn substeps(&self, f: &StepFlows) -> usize {
        let net = self.net;
        let mut h_max = f64::INFINITY;
        for r in 0..net.n_reaches {
            let (faces, cells) = (net.faces_of(r), net.cells_of(r));
            for (j, c) in cells.enumerate() {
                let p = faces.start + j;
                let rate = self.flux[p].abs()
                    + self.flux[p + 1].abs()
                    + self.disp[p]
                    + self.disp[p + 1]
                    + f.cell_lateral_m3s[c].abs()
                    + f.cell_withdrawn_m3s[c];
                if rate > 0.0 {
                    h_max = h_max.min(SAFETY * self.vol0[c].min(self.vol1[c]) / rate);
                }
            }
        }
        for n in (0..net.n_nodes).filter(|&n| self.pond[n]) {
            let mut rate =
                f.node_inflow_m3s[n].abs() + f.node_withdrawn_m3s[n] + f.node_outfall_m3s[n];
            for_ends(net, n, |face, _, _| {
                rate += self.flux[face].abs() + self.disp[face]
            });
            for (k, s) in self.model.structures.iter().enumerate() {
                if s.from == n || s.to == n {
                    rate += f.structure_m3s[k].abs();
                }
            }
            if rate > 0.0 {
                h_max = h_max.min(SAFETY * self.node_vol0[n].min(self.node_vol1[n]) / rate);
            }
        }
        if h_max >= f.dt_s {
            1
        } else {
            (f.dt_s / h_max.max(f.dt_s * 1e-6)).ceil() as usize
        }
    }

    /// Apply the decay-rate changes due by `t_s`.
    fn apply_decay_changes(&mut self, t_s: f64) {
        let changes = &self.model.decay_changes;
        while let Some(c) = changes.get(self.next_decay_change)
            && c.t_s <= t_s
        {
            for (p, lane) in self.lanes.iter_mut().enumerate() {
                lane.k_per_s[c.reach] = c.decay_per_day.get(p).copied().unwrap_or(0.0) / DAY_S;
            }
            self.next_decay_change += 1;
        }
    }

    /// One sub-step [t_a, t_a + h] of pollutant `p`; `share` is how far into the hydraulic step it starts.
    fn substep(
        &mut self,
        f: &StepFlows,
        p: usize,
        t_a: f64,
        h: f64,
        share: f64,
    ) -> Result<(), TransportError> {
        let (model, net) = (self.model, self.net);
        let t_mid = t_a + 0.5 * h;
        let theta = temp_factor(model, p, t_mid);
        let lane = &mut self.lanes[p];
        // first half of the decay, cells
        for r in 0..net.n_reaches {
            let half = (-lane.k_per_s[r] * theta * 0.5 * h).exp();
            for c in net.cells_of(r) {
                lane.ledger_g[DECAY] += self.vol_a[c] * lane.conc[c] * (1.0 - half);
                lane.conc[c] *= half;
            }
        }
        self.nodes(f, p, t_mid, h, share);
        let lane = &mut self.lanes[p];
        // cells
        for r in 0..net.n_reaches {
            let (faces, cells) = (net.faces_of(r), net.cells_of(r));
            let reach = &model.reaches[r];
            let c0 = cells.start;
            let n = cells.len();
            let conc = &lane.conc[cells.clone()];
            let mut g_prev = {
                // the from-end face: node → cell when F > 0
                let (fl, d) = (self.flux[faces.start], self.disp[faces.start]);
                let cn = self.node_new[reach.from];
                let up = if fl >= 0.0 { cn } else { conc[0] };
                fl * up - d * (conc[0] - cn)
            };
            for j in 0..n {
                let face = faces.start + j + 1;
                let (fl, d) = (self.flux[face], self.disp[face]);
                let g_next = if j + 1 == n {
                    let cn = self.node_new[reach.to];
                    let up = if fl >= 0.0 { conc[j] } else { cn };
                    fl * up - d * (cn - conc[j])
                } else {
                    let cf = if fl >= 0.0 {
                        let uu = if j >= 1 { conc[j - 1] } else { conc[j] };
                        limited(conc[j], conc[j + 1], uu, fl * h / self.vol_b[c0 + j])
                    } else {
                        let uu = if j + 2 < n { conc[j + 2] } else { conc[j + 1] };
                        limited(conc[j + 1], conc[j], uu, -fl * h / self.vol_b[c0 + j + 1])
                    };
                    fl * cf - d * (conc[j + 1] - conc[j])
                };
                let c = c0 + j;
                let wd = f.cell_withdrawn_m3s[c] * conc[j];
                lane.ledger_g[OUT] += h * wd;
                let m = self.vol_a[c] * conc[j] + h * (g_prev - g_next - wd);
                self.c_new[c] = m;
                g_prev = g_next;
            }
        }
        // sources, into the mass, at mid-step
        for s in &self.lay.sources {
            let c = s.ext - self.lay.base[s.reach] + net.first_cell[s.reach];
            let rate = source_rate(model, &self.flows, s, p, t_mid);
            lane.ledger_g[IN] += h * rate;
            self.c_new[c] += h * rate;
        }
        // new concentrations and the second half of the decay
        for r in 0..net.n_reaches {
            let half = (-lane.k_per_s[r] * theta * 0.5 * h).exp();
            for c in net.cells_of(r) {
                let (m, v) = (self.c_new[c], self.vol_b[c]);
                let conc = if v > 0.0 {
                    m / v
                } else {
                    lane.ledger_g[VOLUME] -= m;
                    0.0
                };
                if !conc.is_finite() {
                    return Err(TransportError::NonFinite {
                        reach: model.reaches[r].id.clone(),
                        cell: c - net.first_cell[r],
                        global_cell: c,
                        pollutant: model.pollutants[p].clone(),
                        t_s: t_a + h,
                    });
                }
                lane.ledger_g[DECAY] += v.max(0.0) * conc * (1.0 - half);
                lane.conc[c] = conc * half;
            }
        }
        Ok(())
    }

    /// The node values of a sub-step of pollutant `p` into `node_new` (ponds: their value at the start),
    /// booking what enters and leaves the network at nodes, and the ponds' new content.
    fn nodes(&mut self, f: &StepFlows, p: usize, t_mid: f64, h: f64, share: f64) {
        let (model, net) = (self.model, self.net);
        self.node_done.fill(false);
        let lane = &mut self.lanes[p];
        for n in 0..net.n_nodes {
            if self.pond[n] {
                self.node_new[n] = lane.node_c[n];
                self.node_done[n] = true;
            }
        }
        // visit the nodes in passes: a node is ready once every node feeding it through a structure is
        let mut left = net.n_nodes;
        let mut force = false;
        while left > 0 {
            let mut progressed = false;
            for n in 0..net.n_nodes {
                if self.node_done[n] {
                    continue;
                }
                let ready = force
                    || model.structures.iter().enumerate().all(|(k, s)| {
                        let q = f.structure_m3s[k];
                        let src = if q > 0.0 && s.to == n {
                            Some(s.from)
                        } else if q < 0.0 && s.from == n {
                            Some(s.to)
                        } else {
                            None
                        };
                        src.is_none_or(|m| self.node_done[m])
                    });
                if !ready {
                    continue;
                }
                let b = node_balance(
                    model,
                    net,
                    f,
                    n,
                    p,
                    t_mid,
                    &self.flux,
                    &self.disp,
                    &lane.conc,
                    &self.node_new,
                    &self.flows,
                );
                if !self.pond[n] {
                    let den = b.out_w + b.sum_d;
                    self.node_new[n] = if den > 0.0 {
                        (b.in_m + b.sum_dc) / den
                    } else {
                        lane.node_c[n]
                    };
                }
                let cn = self.node_new[n];
                lane.ledger_g[IN] += h * b.boundary_in_m;
                lane.ledger_g[OUT] += h * b.boundary_out_w * cn;
                self.node_done[n] = true;
                left -= 1;
                progressed = true;
            }
            force = !progressed;
        }
        // ponds: explicit update of their content, decayed exactly
        for n in (0..net.n_nodes).filter(|&n| self.pond[n]) {
            let b = node_balance(
                model,
                net,
                f,
                n,
                p,
                t_mid,
                &self.flux,
                &self.disp,
                &lane.conc,
                &self.node_new,
                &self.flows,
            );
            lane.ledger_g[IN] += h * b.boundary_in_m;
            lane.ledger_g[OUT] += h * b.boundary_out_w * lane.node_c[n];
            let c0 = lane.node_c[n];
            let v0 = self.node_vol0[n] + share * (self.node_vol1[n] - self.node_vol0[n]);
            let v1 = v0 + h * (b.in_w - b.out_w);
            let m = v0 * c0 + h * (b.in_m - b.out_w * c0 + b.sum_dc - b.sum_d * c0);
            let theta = temp_factor(model, p, t_mid);
            let decay = (-self.lay.node_decay_per_day[p][n] / DAY_S * theta * h).exp();
            let c1 = if v1 > 0.0 { m / v1 } else { 0.0 };
            if v1 <= 0.0 {
                lane.ledger_g[VOLUME] -= m;
            }
            lane.ledger_g[DECAY] += v1.max(0.0) * c1 * (1.0 - decay);
            lane.node_c[n] = c1 * decay;
        }
        for n in (0..net.n_nodes).filter(|&n| !self.pond[n]) {
            lane.node_c[n] = self.node_new[n];
        }
    }

    /// Record the outputs at time `t_s` (the current state): section values, volume-weighted reach means,
    /// the means after the warm-up; `period` is the index of the hydraulic field kept for that time.
    pub fn record(&mut self, t_s: f64, period: usize) {
        let (model, net) = (self.model, self.net);
        let np = model.pollutants.len();
        let mut sec = Vec::with_capacity(model.sections.len() * np);
        for s in &model.sections {
            let (a, b, w) = net.section_weights(s.reach, s.at_m);
            for l in &self.lanes {
                sec.push((1.0 - w) * l.conc[a] + w * l.conc[b]);
            }
        }
        let mut rch = Vec::with_capacity(net.n_reaches * np);
        for r in 0..net.n_reaches {
            let cells = net.cells_of(r);
            let v = &self.vol1[cells.clone()];
            let vt: f64 = v.iter().sum();
            for l in &self.lanes {
                let m: f64 = v
                    .iter()
                    .zip(&l.conc[cells.clone()])
                    .map(|(v, c)| v * c)
                    .sum();
                rch.push(if vt > 0.0 { m / vt } else { 0.0 });
            }
        }
        let w = model.sim.warmup_s;
        if t_s >= w - 1e-9 * w.abs().max(1.0) {
            if self.results.mean_cell_conc.is_empty() {
                self.results.mean_cell_conc = vec![vec![0.0; net.n_cells]; np];
            }
            for (sum, l) in self.results.mean_cell_conc.iter_mut().zip(&self.lanes) {
                sum.iter_mut().zip(&l.conc).for_each(|(s, c)| *s += c);
            }
        }
        self.results.output_times_s.push(t_s);
        self.results.section_conc.push(sec);
        self.results.reach_conc.push(rch);
        self.results.output_period.push(period);
    }

    /// Close the ledger and hand back the results.
    pub fn finish(mut self) -> RunResults {
        let np = self.lanes.len();
        let mut mb = Vec::with_capacity(np);
        for p in 0..np {
            let l = self.lanes[p].ledger_g;
            let end = self.mass_g(p);
            let mut b = MassBalance {
                in_kg: l[IN] / 1000.0,
                out_kg: l[OUT] / 1000.0,
                decayed_kg: l[DECAY] / 1000.0,
                storage_change_kg: (end - self.mass0_g[p]) / 1000.0,
                volume_change_kg: l[VOLUME] / 1000.0,
                initial_mass_kg: self.mass0_g[p] / 1000.0,
                final_mass_kg: end / 1000.0,
                relative_error: 0.0,
            };
            b.close();
            mb.push(b);
        }
        self.results.mass_balance = mb;
        let w = self.model.sim.warmup_s;
        let n_mean = (self.results.output_times_s.iter())
            .filter(|&&t| t >= w - 1e-9 * w.abs().max(1.0))
            .count()
            .max(1);
        for row in &mut self.results.mean_cell_conc {
            row.iter_mut().for_each(|v| *v /= n_mean as f64);
        }
        self.results.final_cell_conc = self.lanes.iter().map(|l| l.conc.clone()).collect();
        self.results.steps = self.steps;
        if self.most_substeps > 1 {
            self.results.warnings.push(format!(
                "transport on unsteady flow: up to {} sub-steps in one hydraulic step (the positivity limit \
                 h·(Σ|F| + ΣD + inflow) ≤ 0.9·V)",
                self.most_substeps
            ));
        }
        self.results
    }
}

/// Every cell's volume from the points' stored areas: Δx·(A_j + A_j+1)/2, m³.
fn cell_volumes(net: &Network, pts: &[crate::hydraulics::unsteady::Point], vol: &mut [f64]) {
    for r in 0..net.n_reaches {
        let (faces, dx) = (net.faces_of(r), net.reach_dx_m[r]);
        for (j, c) in net.cells_of(r).enumerate() {
            let p = faces.start + j;
            vol[c] = dx * 0.5 * (pts[p].a + pts[p + 1].a);
        }
    }
}

/// Every pond's volume A_s·(Z − bed) at levels `z`, m³ (0 for other nodes).
fn node_volumes(f: &StepFlows, pond: &[bool], z: &[f64], vol: &mut [f64]) {
    for n in 0..vol.len() {
        vol[n] = if pond[n] {
            f.node_area_m2[n] * (z[n] - f.node_bed_m[n])
        } else {
            0.0
        };
    }
}

/// Call `visit(face, cell, into_node)` for every reach end at node `n`: the end face, the end cell and
/// whether positive F flows into the node.
fn for_ends(net: &Network, n: usize, mut visit: impl FnMut(usize, usize, bool)) {
    for &r in net.into(n) {
        visit(net.faces_of(r).end - 1, net.cells_of(r).end - 1, true);
    }
    for &r in net.out_of(n) {
        visit(net.faces_of(r).start, net.cells_of(r).start, false);
    }
}

/// The face value of the flux-limited Lax–Wendroff scheme: upwind value `u`, downwind `d`, far upwind
/// `uu`, Courant number `nu` (see the module docs).
#[inline]
fn limited(u: f64, d: f64, uu: f64, nu: f64) -> f64 {
    let jump = d - u;
    if jump == 0.0 {
        return u;
    }
    let r = (u - uu) / jump;
    let phi = (2.0 * r).min(0.5 * (1.0 + r)).clamp(0.0, 2.0);
    u + 0.5 * (1.0 - nu.min(1.0)) * phi * jump
}

/// What flows through one node in a sub-step (m³/s and g/s).
struct NodeBalance {
    /// Water flowing in and its mass (reach ends, inflows, structures, held-level water entering).
    in_w: f64,
    in_m: f64,
    /// Water flowing out (reach ends, withdrawals, free outfalls, structures, held-level water leaving).
    out_w: f64,
    /// Σ D_k and Σ D_k·C_k over the reach ends (junction dispersion).
    sum_d: f64,
    sum_dc: f64,
    /// Mass entering the network here (inflows, held-level water entering), g/s.
    boundary_in_m: f64,
    /// Water leaving the network here (withdrawals, free outfalls, held-level water leaving), m³/s.
    boundary_out_w: f64,
}

/// The flows through node `n` during a sub-step of pollutant `p` (see the module docs, "Nodes"); the nodes
/// upstream of its structures have their values in `node_new`.
#[allow(clippy::too_many_arguments)]
fn node_balance(
    model: &Model,
    net: &Network,
    f: &StepFlows,
    n: usize,
    p: usize,
    t_mid: f64,
    flux: &[f64],
    disp: &[f64],
    conc: &[f64],
    node_new: &[f64],
    flows: &PeriodFlows,
) -> NodeBalance {
    let mut b = NodeBalance {
        in_w: 0.0,
        in_m: 0.0,
        out_w: 0.0,
        sum_d: 0.0,
        sum_dc: 0.0,
        boundary_in_m: 0.0,
        boundary_out_w: 0.0,
    };
    for_ends(net, n, |face, cell, into| {
        let q = if into { flux[face] } else { -flux[face] };
        let c = conc[cell];
        if q > 0.0 {
            b.in_w += q;
            b.in_m += q * c;
        } else {
            b.out_w -= q;
        }
        b.sum_d += disp[face];
        b.sum_dc += disp[face] * c;
    });
    for (i, inflow) in model.inflows.iter().enumerate() {
        if inflow.node != n {
            continue;
        }
        let q = flows.inflow_q[i];
        if q >= 0.0 {
            let m = q * inflow_conc(model, i, p, t_mid);
            b.in_w += q;
            b.in_m += m;
            b.boundary_in_m += m;
        } else {
            b.out_w -= q;
            b.boundary_out_w -= q;
        }
    }
    let gone = f.node_withdrawn_m3s[n] + f.node_outfall_m3s[n];
    b.out_w += gone;
    b.boundary_out_w += gone;
    for (k, s) in model.structures.iter().enumerate() {
        let q = f.structure_m3s[k];
        let (q_in, other) = if s.to == n {
            (q, s.from)
        } else if s.from == n {
            (-q, s.to)
        } else {
            continue;
        };
        if q_in > 0.0 {
            b.in_w += q_in;
            b.in_m += q_in * node_new[other];
        } else {
            b.out_w -= q_in;
        }
    }
    if model.nodes[n].level_m.is_some() {
        // a held level: the remainder of the node's balance (its storage change included) enters or leaves
        let storage = f.node_area_m2[n] * (f.node_level_m[n] - f.node_level_old_m[n]) / f.dt_s;
        let e = b.in_w - b.out_w - storage;
        if e >= 0.0 {
            b.out_w += e;
            b.boundary_out_w += e;
        } else {
            let m = -e * outlet_conc(model, n, p, t_mid);
            b.in_w -= e;
            b.in_m += m;
            b.boundary_in_m += m;
        }
    }
    b
}
