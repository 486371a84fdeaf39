//! Tagged runs: the concentration contributed by each of several source groups, carried with the total
//! run's own fluxes and limiter choices (source apportionment, and the linear responses behind project
//! ranking; DESIGN.md §2 "Linearity").
//!
//! With the flows fixed, every step of the dynamic scheme is linear in the concentrations *except* the
//! limiter: the face value C_f = C_U + ½(1 − ν)·φ(r)·(C_D − C_U) has φ depending on the ratio r of the
//! concentration differences, and the withdrawal never takes more than a cell holds. A tagged run freezes
//! those choices at the total's. At every face the total's limiter is expressed as a weight κ,
//! C_f = C_U + κ·(C_D − C_U) (`kernel::face_weight`), and each group crosses the face with the same κ:
//! C_f,g = C_U,g + κ·(C_D,g − C_U,g); a cell withdrawal takes from each group the share of its
//! concentration that it takes from the total. Everything else — the Strang-split decay factors, the
//! complete mixing at nodes by flow shares, the exact pond integration, the backward-Euler dispersion — is
//! linear already and is applied to each group as to the total. So each group obeys a *linear* scheme whose
//! coefficients are the total run's, and when the groups' sources add up to the total's (and their initial
//! states to its initial state) the groups add up to the total at every step, to round-off
//! (Σ_g C_f,g = C_U + κ·(C_D − C_U) exactly in exact arithmetic).
//!
//! What a group is: a [`Model`] on the same network (nodes, reaches, withdrawals and pollutants as the
//! total's) whose sources — outfalls, line loads, bed release, inflows and their concentrations, water
//! entering at outlets — and initial state are the group's. The flows are the total's throughout (the
//! hydraulics are never re-solved): water a group model adds or removes (an outfall's flow, an extra
//! inflow) changes only the mass it brings, Q_g·C_g. With the default steady initial state each group
//! starts from its own steady state, which the upwind steady solver makes a linear function of the
//! sources, so the initial states add up too.
//!
//! A group's concentration can dip a hair below zero where the total's limiter steepens a front that is
//! not the group's own (κ is chosen for the total, not for each group); the groups still add up exactly.
//!
//! Cost: per step and pollutant, one pass over the faces computes κ from the total (as the kernel does)
//! and turns it into the two flux weights of each face; each group then costs a few multiply–adds per
//! cell, with its state stored group after group (`[g·n_ext + slot]`).

use super::implicit::{Factors, solve_groups};
use super::kernel::face_weight;
use super::layout::{
    Coeffs, DAY_S, Layout, PeriodFlows, inflow_conc, outlet_conc, source_rate,
};
use super::simulation::ConstConc;
use super::{RunResults, TransportError, TransportOptions};
use crate::hydraulics::Hydraulics;
use crate::model::{InitialState, Model};
use crate::network::Network;

/// What a tagged run produces: the total run and, at the same output times, each group's concentrations.
#[derive(Debug, Clone)]
pub struct TaggedResults {
    /// The total run (the leader whose fluxes and limiter choices the groups share).
    pub total: RunResults,
    /// Number of groups.
    pub n_groups: usize,
    /// Section concentration of each group, mg/L: `[time][(section * n_pollutants + pollutant) * n_groups
    /// + group]`.
    pub section_conc: Vec<Vec<f64>>,
    /// Reach-mean concentration of each group, mg/L: `[time][(reach * n_pollutants + pollutant) *
    /// n_groups + group]`.
    pub reach_conc: Vec<Vec<f64>>,
}

impl TaggedResults {
    /// Concentration of group `g` at section `s` for pollutant `p` at output `i`, mg/L.
    pub fn section(&self, i: usize, s: usize, p: usize, g: usize) -> f64 {
        let np = self.total.pollutants.len();
        self.section_conc[i][(s * np + p) * self.n_groups + g]
    }

    /// Reach-mean concentration of group `g` in reach `r` for pollutant `p` at output `i`, mg/L.
    pub fn reach(&self, i: usize, r: usize, p: usize, g: usize) -> f64 {
        let np = self.total.pollutants.len();
        self.reach_conc[i][(r * np + p) * self.n_groups + g]
    }

    /// The largest |Σ_g C_g − C| / max(|C|, floor) over every section, pollutant and output time: how
    /// closely the groups add up to the total (meaningful when the groups' sources partition the total's).
    /// `floor_mg_l` keeps near-zero totals from inflating the ratio.
    pub fn max_sum_gap(&self, floor_mg_l: f64) -> f64 {
        let ng = self.n_groups;
        let mut worst = 0.0f64;
        for (i, row) in self.total.section_conc.iter().enumerate() {
            for (k, &c) in row.iter().enumerate() {
                let sum: f64 = self.section_conc[i][k * ng..(k + 1) * ng].iter().sum();
                worst = worst.max((sum - c).abs() / c.abs().max(floor_mg_l));
            }
        }
        worst
    }
}

/// Run `model` (the total) and carry each group of `groups` along with it (see the module docs).
///
/// Every group model must have the same nodes, reaches, withdrawals and pollutants as `model`; the network
/// and the flow fields `hyd` are the total's. When the groups' sources add up to the total's, the groups
/// add up to the total.
pub fn run_tagged(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
) -> Result<TaggedResults, TransportError> {
    let mut sim = super::Simulation::with_groups(model, net, hyd, opts, groups)?;
    while sim.step()? {}
    Ok(sim.finish_tagged())
}

/// The static data of the groups: their models, their layouts (sources and inflow lists) and their flows
/// per period (only the sources' own flows are read: outfall and inflow flows).
pub(super) struct Groups<'a> {
    pub models: &'a [Model],
    pub lays: Vec<Layout>,
    pub flows: Vec<Vec<PeriodFlows>>,
}

impl<'a> Groups<'a> {
    /// Check that every group fits the total, and gather its layout and flows.
    pub fn new(
        model: &Model,
        net: &Network,
        hyd: &Hydraulics,
        chunk: usize,
        models: &'a [Model],
    ) -> Result<Groups<'a>, TransportError> {
        for (g, m) in models.iter().enumerate() {
            let bad = |what: String| TransportError::BadGroup { group: g, what };
            if m.nodes.len() != model.nodes.len() || m.reaches.len() != model.reaches.len() {
                return Err(bad(format!(
                    "{} nodes and {} reaches; the total has {} and {} (a group must share the network)",
                    m.nodes.len(),
                    m.reaches.len(),
                    model.nodes.len(),
                    model.reaches.len()
                )));
            }
            if m.pollutants != model.pollutants {
                return Err(bad(format!(
                    "pollutants {:?}; the total has {:?}",
                    m.pollutants, model.pollutants
                )));
            }
            if m.withdrawals.len() != model.withdrawals.len() {
                return Err(bad(format!(
                    "{} withdrawals; the total has {} (the flows are held at the total's)",
                    m.withdrawals.len(),
                    model.withdrawals.len()
                )));
            }
        }
        let lays: Vec<Layout> = models.iter().map(|m| Layout::new(m, net, chunk)).collect();
        let flows = models
            .iter()
            .map(|m| hyd.periods.iter().map(|f| PeriodFlows::new(m, f)).collect())
            .collect();
        Ok(Groups {
            models,
            lays,
            flows,
        })
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }
}

/// The groups' state and scratch for one pollutant.
pub(super) struct TagLane {
    /// Concentrations, mg/L, group after group: `[g·n_ext + slot]`.
    pub conc: Vec<f64>,
    pub conc_new: Vec<f64>,
    /// Mixed node concentrations, `[g·n_nodes + node]`.
    pub node_c: Vec<f64>,
    /// End-face mass fluxes, `[g·2·n_reaches + slot]`, g/s (entering fluxes divided by the decay factor, as
    /// the total's).
    pub bflux: Vec<f64>,
    /// Inflow and outlet concentrations per group (constants resolved once).
    inflow_c: Vec<ConstConc>,
    outlet_c: Vec<ConstConc>,
    /// Flux weights of every face: F = wl·C_left + wr·C_right (interior faces only), m³/s.
    wl: Vec<f64>,
    wr: Vec<f64>,
    /// Weight κ of every reach end at a node (`Coeffs::ends` order) for water flowing into the node.
    kappa_end: Vec<f64>,
    /// Mixing rate per group at the node being mixed, g/s (scratch).
    rate: Vec<f64>,
}

impl TagLane {
    pub fn new(groups: &Groups, net: &Network, lay: &Layout, p: usize) -> TagLane {
        let ng = groups.len();
        TagLane {
            conc: vec![0.0; ng * lay.n_ext],
            conc_new: vec![0.0; ng * lay.n_ext],
            node_c: vec![0.0; ng * net.n_nodes],
            bflux: vec![0.0; ng * 2 * net.n_reaches],
            inflow_c: groups
                .models
                .iter()
                .map(|m| ConstConc::new(m.inflows.iter().map(|i| i.concentration.get(p))))
                .collect(),
            outlet_c: groups
                .models
                .iter()
                .map(|m| ConstConc::new(m.nodes.iter().map(|n| n.concentration.get(p))))
                .collect(),
            wl: vec![0.0; net.n_faces()],
            wr: vec![0.0; net.n_faces()],
            kappa_end: vec![0.0; lay.node_end.len()],
            rate: vec![0.0; ng],
        }
    }

    /// Set the groups' initial state from their models' `InitialState` (the steady state of the current
    /// period is solved per group).
    #[allow(clippy::too_many_arguments)]
    pub fn initialise(
        &mut self,
        groups: &Groups,
        net: &Network,
        lay: &Layout,
        co: &Coeffs,
        period: usize,
        t_s: f64,
        p: usize,
        max_sweeps: usize,
        steady: bool,
    ) -> Result<(), TransportError> {
        let (ne, nn) = (lay.n_ext, net.n_nodes);
        for g in 0..groups.len() {
            let m = &groups.models[g];
            let c = &mut self.conc[g * ne..(g + 1) * ne];
            let nc = &mut self.node_c[g * nn..(g + 1) * nn];
            c.fill(0.0);
            nc.fill(0.0);
            match (steady, &m.initial) {
                (true, _) | (false, InitialState::Steady) => super::steady::solve_layout(
                    m,
                    net,
                    &groups.lays[g],
                    co,
                    &groups.flows[g][period],
                    period,
                    t_s,
                    p,
                    max_sweeps,
                    c,
                    nc,
                )?,
                (false, InitialState::Zero) => {}
                (false, InitialState::Values(v)) => {
                    let val = v.get(p).copied().unwrap_or(0.0);
                    for r in 0..net.n_reaches {
                        let b = lay.base[r];
                        c[b..b + net.n_cells_of(r)].fill(val);
                    }
                    nc.fill(val);
                }
            }
        }
        Ok(())
    }

    /// Section and reach-mean concentrations of every group, appended to `sec` (`[(s·np + p)·ng + g]`
    /// layout is the caller's: this pushes group after group for one section or reach at a time).
    pub fn section_values(&self, ne: usize, ea: usize, eb: usize, w: f64, out: &mut [f64]) {
        for (g, o) in out.iter_mut().enumerate() {
            let c = &self.conc[g * ne..(g + 1) * ne];
            *o = (1.0 - w) * c[ea] + w * c[eb];
        }
    }

    /// Volume-weighted mean of every group over the slots `b..b + n` (`vol` their volumes, `vt` the sum).
    pub fn reach_values(&self, ne: usize, b: usize, vol: &[f64], vt: f64, out: &mut [f64]) {
        for (g, o) in out.iter_mut().enumerate() {
            let c = &self.conc[g * ne + b..g * ne + b + vol.len()];
            let m: f64 = vol.iter().zip(c).map(|(v, c)| v * c).sum();
            *o = if vt > 0.0 { m / vt } else { 0.0 };
        }
    }
}

/// What a group step reads of the total's step.
pub(super) struct TagStep<'s> {
    pub net: &'s Network,
    pub lay: &'s Layout,
    pub co: &'s Coeffs,
    pub groups: &'s Groups<'s>,
    pub period: usize,
    pub p: usize,
    pub dt: f64,
    pub t_mid: f64,
    pub theta: f64,
    /// Explicit dispersion in this step (the limiter leaves room for it, and the face fluxes carry it).
    pub explicit_disp: bool,
    /// E/Δx² per reach as the explicit kernel sees it.
    pub disp: &'s [f64],
    /// Half-step decay factors per reach.
    pub half: &'s [f64],
}

/// The groups' node pass, run **before** the total's (it reads the total's old node concentrations and
/// cells to find the limiter weights of the faces entering each node): mixes every node for every group
/// and sets the groups' end-face fluxes. Mirrors `simulation::node_pass` operation for operation, with the
/// total's κ in place of its limiter.
pub(super) fn node_pass(s: &TagStep, c: &[f64], node_c: &[f64], t: &mut TagLane) {
    let (lay, co, net) = (s.lay, s.co, s.net);
    let ng = s.groups.len();
    let (ne, nn, nb) = (lay.n_ext, net.n_nodes, 2 * net.n_reaches);
    let dt = s.dt;
    for n in 0..nn {
        let cn = node_c[n];
        let (e0, e1) = (lay.node_end_start[n], lay.node_end_start[n + 1]);
        let ends = &co.ends[e0..e1];
        for (k, e) in ends.iter().enumerate() {
            if e.into > 0.0 {
                let nu = e.into * dt * e.inv_vol_iu;
                let dsum = if s.explicit_disp {
                    e.d_sum * dt * e.inv_vol_iu
                } else {
                    0.0
                };
                t.kappa_end[e0 + k] = face_weight(c[e.uu], c[e.iu], cn, nu, dsum);
            }
        }
        let ex = co.exchange[n];
        let qout = co.node_q_out[n];
        let qin = co.node_q_in[n];
        let v = co.node_vol[n];
        let storage = lay.is_storage[n] && v > 0.0;
        for g in 0..ng {
            let gc = &t.conc[g * ne..(g + 1) * ne];
            let cn_g = t.node_c[g * nn + n];
            let mut rate = 0.0;
            for (k, e) in ends.iter().enumerate() {
                if e.into > 0.0 {
                    let u = gc[e.iu];
                    let fv = u + t.kappa_end[e0 + k] * (cn_g - u);
                    rate += s.half[e.reach] * e.into * fv;
                    t.bflux[g * nb + e.slot] = e.q * fv;
                }
            }
            let m = &s.groups.models[g];
            let glay = &s.groups.lays[g];
            let gflows = &s.groups.flows[g][s.period];
            let mut ext_in = 0.0;
            for &i in glay.inflows(n) {
                let ci = if t.inflow_c[g].table[i] {
                    inflow_conc(m, i, s.p, s.t_mid)
                } else {
                    t.inflow_c[g].value[i]
                };
                ext_in += gflows.inflow_q[i] * ci;
            }
            if ex < 0.0 {
                let co_n = if t.outlet_c[g].table[n] {
                    outlet_conc(m, n, s.p, s.t_mid)
                } else {
                    t.outlet_c[g].value[n]
                };
                ext_in += -ex * co_n;
            }
            rate += ext_in;
            t.rate[g] = rate;
        }
        for g in 0..ng {
            let rate = t.rate[g];
            let cn_g = t.node_c[g * nn + n];
            let mval = if storage {
                let k = lay.node_decay_per_day[s.p][n] / DAY_S * s.theta;
                let sink = qout + k * v;
                let c_new = if sink > 0.0 {
                    let lam = sink / v;
                    let c_eq = rate / sink;
                    let one_minus_e = -(-lam * dt).exp_m1();
                    let integral = c_eq * dt + (cn_g - c_eq) * one_minus_e / lam;
                    let c_new = cn_g + (rate * dt - sink * integral) / v;
                    t.rate[g] = integral / dt;
                    c_new
                } else {
                    t.rate[g] = cn_g + 0.5 * rate * dt / v;
                    cn_g + rate * dt / v
                };
                t.node_c[g * nn + n] = c_new;
                t.rate[g]
            } else {
                if qin > 0.0 {
                    t.node_c[g * nn + n] = rate / qin;
                }
                if qout > 0.0 { rate / qout } else { 0.0 }
            };
            for e in ends {
                if e.into <= 0.0 {
                    t.bflux[g * nb + e.slot] = e.q * mval / s.half[e.reach];
                }
            }
        }
    }
}

/// The groups' cell update, run after the total's kernel and before its state is swapped: `c` is the
/// total's old state as its kernel read it (ghosts set by its node pass), `withdraw_frac` the share of
/// each cell withdrawal's demand that the total could take. Advances every group into `t.conc_new` with
/// the sources of its own model, then swaps.
pub(super) fn cells(
    s: &TagStep,
    c: &[f64],
    withdraw_frac: &[f64],
    implicit: Option<(&Factors, &[f64])>,
    t: &mut TagLane,
) {
    let (lay, co, net) = (s.lay, s.co, s.net);
    let ng = s.groups.len();
    let (ne, nb) = (lay.n_ext, 2 * net.n_reaches);
    let dt = s.dt;
    // the flux weights of every interior face, from the total's state (as `kernel::interior_fluxes`)
    for r in 0..net.n_reaches {
        let n = net.n_cells_of(r);
        let b = lay.base[r];
        let f0 = net.first_face[r];
        let e_dx2 = s.disp[r];
        for j in 1..n {
            let f = f0 + j;
            let qq = co.q_face[f];
            let (left, right) = (c[b + j - 1], c[b + j]);
            let (iv_l, iv_r) = (co.inv_vol[b + j - 1], co.inv_vol[b + j]);
            let pos = qq >= 0.0;
            let (u, dn, uu, ivu) = if pos {
                (left, right, c[b + j - 2], iv_l)
            } else {
                (right, left, c[b + j + 1], iv_r)
            };
            let nu = qq.abs() * dt * ivu;
            let (d, dsum) = if e_dx2 > 0.0 {
                let d = e_dx2 * 2.0 / (iv_l + iv_r);
                (d, 2.0 * d * dt * ivu)
            } else {
                (0.0, 0.0)
            };
            let kappa = face_weight(uu, u, dn, nu, dsum);
            // F = q·(u + κ(dn − u)) + d·(left − right)
            if pos {
                t.wl[f] = qq * (1.0 - kappa) + d;
                t.wr[f] = qq * kappa - d;
            } else {
                t.wl[f] = qq * kappa + d;
                t.wr[f] = qq * (1.0 - kappa) - d;
            }
        }
    }
    for g in 0..ng {
        let gc = &t.conc[g * ne..(g + 1) * ne];
        let gn = &mut t.conc_new[g * ne..(g + 1) * ne];
        let bf = &t.bflux[g * nb..(g + 1) * nb];
        for r in 0..net.n_reaches {
            let n = net.n_cells_of(r);
            let b = lay.base[r];
            let f0 = net.first_face[r];
            let h = s.half[r];
            let mut fl = bf[2 * r];
            for j in 0..n {
                let fr = if j + 1 == n {
                    bf[2 * r + 1]
                } else {
                    t.wl[f0 + j + 1] * gc[b + j] + t.wr[f0 + j + 1] * gc[b + j + 1]
                };
                gn[b + j] = h * (h * (gc[b + j] + dt * co.inv_vol[b + j] * (fl - fr)));
                fl = fr;
            }
        }
        let m = &s.groups.models[g];
        let gflows = &s.groups.flows[g][s.period];
        for src in &s.groups.lays[g].sources {
            let mass = source_rate(m, gflows, src, s.p, s.t_mid) * dt;
            gn[src.ext] += s.half[src.reach] * mass * co.inv_vol[src.ext];
        }
        for (i, &(ext, _)) in lay.cell_withdrawals.iter().enumerate() {
            let take = withdraw_frac[i] * co.cell_withdraw_q[i] * gc[ext] * dt;
            gn[ext] -= take * co.inv_vol[ext];
        }
    }
    std::mem::swap(&mut t.conc, &mut t.conc_new);
    if let Some((f, disp_coef)) = implicit {
        let n_groups = lay.group_rank.len() - 1;
        for g in 0..ng {
            solve_groups(
                net,
                lay,
                co,
                f,
                disp_coef,
                &mut t.conc[g * ne..(g + 1) * ne],
                0,
                0,
                n_groups,
                false,
            );
        }
    }
}
