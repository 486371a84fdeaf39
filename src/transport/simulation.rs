//! The dynamic solver: a [`Simulation`] that can be started, stepped and finished.
//!
//! One step, per pollutant: (1) the node pass mixes what flows into every node and fixes the mass flux
//! through both end faces of every reach (and the ghost values the limiter reads); (2) the cell kernel
//! advances every cell in parallel over fixed-size chunks; (3) sources and withdrawals are applied; (4) the
//! ledger is updated; (5) with implicit dispersion, the backward-Euler dispersion step of every reach
//! (`implicit.rs`; it conserves mass, so the ledger is already complete). Nothing in the step allocates, hashes or does I/O; the per-face and per-cell coefficients
//! are recomputed in place only when the flow period changes.

use super::assist;
use super::implicit::{Factors, solve_groups};
use super::kernel::{StepData, face_value, step_chunk};
use super::layout::{
    Coeffs, DAY_S, Layout, PeriodFlows, inflow_conc, outlet_conc, source_held_until, source_rate,
    temp_factor,
};
use super::steady;
use super::tagged::{self, Groups, TagLane, TagStep, TaggedResults};
use super::{DispersionMode, MassBalance, RunResults, TransportError, TransportOptions};
use crate::hydraulics::Hydraulics;
use crate::model::{InitialState, Mode, Model, Series};
use crate::network::Network;
use rayon::prelude::*;
use std::sync::atomic::AtomicU64;

/// Ledger slots, grams.
const IN: usize = 0;
const OUT: usize = 1;
const DECAY: usize = 2;
const VOLUME: usize = 3;

/// A transport run that can be stepped (start with [`Simulation::new`], advance with [`Simulation::step`],
/// collect with [`Simulation::finish`]). It holds references to the model, network and flow fields and owns
/// only its state and scratch buffers, so any number of simulations can run side by side in threads.
pub struct Simulation<'a> {
    model: &'a Model,
    net: &'a Network,
    hyd: &'a Hydraulics,
    opts: TransportOptions,
    lay: Layout,
    flows: Vec<PeriodFlows>,
    co: Coeffs,
    period: usize,
    /// State and scratch of every pollutant.
    lanes: Vec<Lane>,
    /// E/Δx² per reach, 1/s.
    disp_coef: Vec<f64>,
    /// `disp_coef` by layout rank.
    disp_rank: Vec<f64>,
    /// Zeros, one per reach: the kernel's dispersion coefficients when dispersion is implicit.
    zero_disp: Vec<f64>,
    /// Dispersion is solved implicitly in the current flow period (see [`DispersionMode`]).
    implicit: bool,
    /// The factored implicit dispersion operator (refreshed when the step length or the period changes).
    factors: Factors,
    t_s: f64,
    output_times: Vec<f64>,
    next_out: usize,
    mass0_g: Vec<f64>,
    mass_before_g: Vec<f64>,
    results: RunResults,
    warned_substep: bool,
    done: bool,
    /// The next entry of `Model::decay_changes` to apply.
    next_decay_change: usize,
    /// The source groups carried along (a tagged run; `None` for a plain run).
    groups: Option<Groups<'a>>,
    /// Group concentrations at the output times (see [`TaggedResults`]).
    tag_section: Vec<Vec<f64>>,
    tag_reach: Vec<Vec<f64>>,
    /// Set up to carry responses (`tagged::run_responses`), even with no group.
    responses: bool,
}

impl<'a> Simulation<'a> {
    /// Set up a run: the layout, the first period's coefficients, the initial state (the model's
    /// `InitialState`), and the output at time 0.
    pub fn new(
        model: &'a Model,
        net: &'a Network,
        hyd: &'a Hydraulics,
        opts: &TransportOptions,
    ) -> Result<Simulation<'a>, TransportError> {
        Simulation::with_groups(model, net, hyd, opts, &[])
    }

    /// Set up a tagged run: as [`Simulation::new`], with the source groups `groups` carried along with the
    /// total's fluxes and limiter choices (see `tagged.rs`; collect with [`Simulation::finish_tagged`]).
    /// With no groups this is a plain run.
    pub fn with_groups(
        model: &'a Model,
        net: &'a Network,
        hyd: &'a Hydraulics,
        opts: &TransportOptions,
        group_models: &'a [Model],
    ) -> Result<Simulation<'a>, TransportError> {
        Simulation::tagged(model, net, hyd, opts, group_models, false)
    }

    /// [`Simulation::with_groups`], the groups carried as themselves (`relative` false) or as their
    /// responses, their differences from the total (`relative` true; see `tagged::run_responses`).
    pub(crate) fn tagged(
        model: &'a Model,
        net: &'a Network,
        hyd: &'a Hydraulics,
        opts: &TransportOptions,
        group_models: &'a [Model],
        relative: bool,
    ) -> Result<Simulation<'a>, TransportError> {
        if !(opts.safety > 0.0 && opts.safety <= 1.0) {
            return Err(TransportError::BadOption {
                option: "safety",
                value: opts.safety.to_string(),
                expected: "a factor in (0, 1]",
            });
        }
        if opts.chunk_cells == 0 {
            return Err(TransportError::BadOption {
                option: "chunk_cells",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        if hyd.periods.is_empty() {
            return Err(TransportError::BadFlowField {
                period: 0,
                what: "no flow periods; at least one is needed".into(),
            });
        }
        if let Some(dt) = model.sim.time_step_s
            && !(dt.is_finite() && dt > 0.0)
        {
            return Err(TransportError::BadOption {
                option: "time_step_s",
                value: dt.to_string(),
                expected: "a positive time step",
            });
        }
        let np = model.pollutants.len();
        let lay = Layout::new(model, net, opts.chunk_cells);
        let groups = if group_models.is_empty() {
            None
        } else {
            Some(Groups::new(
                model,
                net,
                hyd,
                opts.chunk_cells,
                group_models,
                relative,
            )?)
        };
        let flows: Vec<PeriodFlows> = hyd
            .periods
            .iter()
            .map(|f| PeriodFlows::new(model, f))
            .collect();
        let mut co = Coeffs::default();
        co.fill(model, net, &lay, &hyd.periods[0], &flows[0], 0, opts.safety)?;

        let end = model.sim.end_s.max(0.0);
        let iv = model.sim.output_interval_s;
        let mut output_times = vec![0.0];
        if iv > 0.0 && iv.is_finite() {
            let mut k = 1usize;
            loop {
                let t = k as f64 * iv;
                if t >= end * (1.0 - 1e-12) {
                    break;
                }
                output_times.push(t);
                k += 1;
            }
        }
        if end > 0.0 {
            output_times.push(end);
        }

        let n_chunks = lay.chunk_first_rank.len();
        let n_out = output_times.len();
        // E/Δx² per reach, 1/s
        let disp_coef: Vec<f64> = (0..net.n_reaches)
            .map(|r| {
                model.reaches[r].dispersion_m2s.max(0.0) / (net.reach_dx_m[r] * net.reach_dx_m[r])
            })
            .collect();
        let mut sim = Simulation {
            model,
            net,
            hyd,
            opts: opts.clone(),
            lanes: (0..np)
                .map(|p| Lane {
                    k_per_s: model
                        .reaches
                        .iter()
                        .map(|r| r.decay_per_day.get(p).copied().unwrap_or(0.0) / DAY_S)
                        .collect(),
                    decay_for: None,
                    inflow_c: ConstConc::new(model.inflows.iter().map(|i| i.concentration.get(p))),
                    outlet_c: ConstConc::new(model.nodes.iter().map(|n| n.concentration.get(p))),
                    conc: vec![0.0; lay.n_ext],
                    conc_new: vec![0.0; lay.n_ext],
                    node_c: vec![0.0; net.n_nodes],
                    bflux: vec![0.0; 2 * net.n_reaches],
                    decay: vec![1.0; net.n_reaches],
                    decay_loss: vec![0.0; net.n_reaches],
                    partial: vec![0.0; n_chunks],
                    ledger_g: [0.0; 4],
                    failed: false,
                    withdraw_frac: vec![0.0; lay.cell_withdrawals.len()],
                    node_partial: vec![
                        [0.0; 4];
                        net.n_nodes.div_ceil(opts.chunk_nodes.max(1)).max(1)
                    ],
                    tags: groups.as_ref().map(|g| TagLane::new(g, net, &lay, p)),
                    src_rate: vec![(0.0, f64::NEG_INFINITY); lay.sources.len()],
                    src_period: usize::MAX,
                    snap: Snapshot::default(),
                    face_parts: if groups.is_some() {
                        (0..2 * net.n_faces()).map(|_| AtomicU64::new(0)).collect()
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
            disp_rank: lay.order.iter().map(|&r| disp_coef[r]).collect(),
            disp_coef,
            zero_disp: vec![0.0; net.n_reaches],
            implicit: false,
            factors: Factors::new(groups.is_some()),
            lay,
            flows,
            co,
            period: 0,
            t_s: 0.0,
            output_times,
            next_out: 0,
            mass0_g: vec![0.0; np],
            mass_before_g: vec![0.0; np],
            results: RunResults {
                // the outer lists are sized once; each output row is one allocation of its own
                output_times_s: Vec::with_capacity(n_out),
                pollutants: model.pollutants.clone(),
                section_conc: Vec::with_capacity(n_out),
                reach_conc: Vec::with_capacity(n_out),
                output_period: Vec::with_capacity(n_out),
                mass_balance: Vec::new(),
                warnings: Vec::new(),
                steps: 0,
                mean_cell_conc: Vec::new(),
                final_cell_conc: Vec::new(),
            },
            warned_substep: false,
            done: false,
            next_decay_change: 0,
            groups,
            tag_section: Vec::new(),
            tag_reach: Vec::new(),
            responses: relative,
        };
        sim.implicit = use_implicit(sim.opts.dispersion, &sim.co);

        match (&model.sim.mode, &model.initial) {
            (Mode::Steady, _) => {}
            (_, InitialState::Steady) => sim.solve_steady_into_state(0.0)?,
            (_, InitialState::Zero) => {}
            (_, InitialState::Values(v)) => {
                for p in 0..np {
                    let val = v.get(p).copied().unwrap_or(0.0);
                    for r in 0..net.n_reaches {
                        let b = sim.lay.base[r];
                        sim.lanes[p].conc[b..b + net.n_cells_of(r)].fill(val);
                    }
                    sim.lanes[p].node_c.fill(val);
                }
            }
        }
        if model.sim.mode == Mode::Dynamic {
            for p in 0..np {
                sim.mass0_g[p] = sim.total_mass_g(p);
            }
            sim.initialise_groups(0.0, false)?;
        }
        sim.check_dead_ends();
        Ok(sim)
    }

    /// Replace the initial concentration of pollutant `p` in global cell `g` (mg/L), e.g. to start from a
    /// pulse. (In a tagged run this changes the total only: the groups keep their own initial states.) Only before the first [`Simulation::step`]: returns `false` (and changes nothing) once stepping
    /// has begun, or for an index out of range.
    pub fn set_initial_cell_conc(&mut self, p: usize, g: usize, conc_mg_l: f64) -> bool {
        if self.next_out > 0
            || self.done
            || p >= self.lanes.len()
            || g >= self.net.n_cells
            || self.model.sim.mode == Mode::Steady
        {
            return false;
        }
        let e = self.lay.ext(self.net, g);
        self.lanes[p].conc[e] = conc_mg_l;
        true
    }

    /// Time reached, seconds since start.
    pub fn time_s(&self) -> f64 {
        self.t_s
    }

    /// The output times, seconds since start.
    pub(crate) fn output_times(&self) -> &[f64] {
        &self.output_times
    }

    /// The run's state now (concentrations, the groups' states, the mass ledger and the outputs so far),
    /// for another run to go on from ([`Simulation::resume`]).
    pub(crate) fn resume_point(&self) -> ResumePoint {
        ResumePoint {
            t_s: self.t_s,
            next_out: self.next_out,
            done: self.done,
            warned_substep: self.warned_substep,
            mass0_g: self.mass0_g.clone(),
            lanes: self
                .lanes
                .iter()
                .map(|l| LaneState {
                    conc: l.conc.clone(),
                    node_c: l.node_c.clone(),
                    bflux: l.bflux.clone(),
                    ledger_g: l.ledger_g,
                    tags: l.tags.as_ref().map(TagLane::state),
                })
                .collect(),
            results: RunResults {
                output_times_s: self.results.output_times_s.clone(),
                pollutants: self.results.pollutants.clone(),
                section_conc: self.results.section_conc.clone(),
                reach_conc: self.results.reach_conc.clone(),
                output_period: self.results.output_period.clone(),
                mass_balance: Vec::new(),
                warnings: self.results.warnings.clone(),
                steps: self.results.steps,
                mean_cell_conc: self.results.mean_cell_conc.clone(),
                final_cell_conc: Vec::new(),
            },
            tag_section: self.tag_section.clone(),
            tag_reach: self.tag_reach.clone(),
        }
    }

    /// Go on from `rp`, the state of a run of another model at an output time: this run's own model,
    /// flows and groups from then on, that run's state and outputs up to then. For a model and flows that
    /// agree with that run's up to `rp`'s time — a scenario with a project that acts only later — the
    /// result is that of a run from the start, without stepping the common part again (to round-off and
    /// the step sequence: the two runs' flow periods may be cut differently before then, with the same
    /// flows). The mass ledger goes on from that run's. Refused, with nothing changed, unless the two runs
    /// have the same pollutants, output times, kind and number of groups and layout, this one is dynamic
    /// and has not begun (then only a failure to make this run's coefficients, which leaves it unusable,
    /// can stop it).
    pub(crate) fn resume(&mut self, rp: &ResumePoint) -> Result<(), TransportError> {
        let bad = |what: &str| TransportError::BadOption {
            option: "resume",
            value: what.to_string(),
            expected: "a state of a run with the same pollutants, output times and groups, taken at an \
                       output time, resumed before the first step",
        };
        if self.next_out > 0 || self.done || self.model.sim.mode == Mode::Steady {
            return Err(bad("this run has begun, or is steady"));
        }
        if rp.lanes.len() != self.lanes.len()
            || rp.results.pollutants != self.results.pollutants
            || rp.next_out == 0
            || rp.next_out > self.output_times.len()
            || rp.results.output_times_s.as_slice() != &self.output_times[..rp.next_out]
        {
            return Err(bad("the outputs do not match"));
        }
        for (l, s) in self.lanes.iter().zip(&rp.lanes) {
            let tags_fit = match (&l.tags, &s.tags) {
                (Some(t), Some(st)) => t.fits(st),
                (None, None) => true,
                _ => false,
            };
            if l.conc.len() != s.conc.len()
                || l.node_c.len() != s.node_c.len()
                || l.bflux.len() != s.bflux.len()
                || !tags_fit
            {
                return Err(bad("the state does not fit this run's layout or groups"));
            }
        }
        let t = rp.t_s;
        // the period in force just before t (the other run's volumes there are this run's): the next step
        // switches to the one starting at t, if any, and books the volume change as a period change does
        let k = self
            .hyd
            .periods
            .partition_point(|p| p.t_start_s < t)
            .saturating_sub(1);
        self.enter_period(k)?;
        for (l, s) in self.lanes.iter_mut().zip(&rp.lanes) {
            l.conc.copy_from_slice(&s.conc);
            l.node_c.copy_from_slice(&s.node_c);
            l.bflux.copy_from_slice(&s.bflux);
            l.ledger_g = s.ledger_g;
            l.decay_for = None;
            l.src_period = usize::MAX;
            if let (Some(tl), Some(ts)) = (l.tags.as_mut(), &s.tags) {
                tl.set_state(ts);
            }
        }
        self.t_s = t;
        self.next_out = rp.next_out;
        self.done = rp.done;
        self.warned_substep = rp.warned_substep;
        self.mass0_g.copy_from_slice(&rp.mass0_g);
        // this run's decay changes are applied afresh from the first: every one before t takes effect at
        // the next step (`advance`), as it had in the other run
        self.next_decay_change = 0;
        let mut results = rp.results.clone();
        // the outputs' flow periods in this run's numbering (as `record_output` books them)
        results.output_period = results
            .output_times_s
            .iter()
            .map(|&ti| self.hyd.period_at(ti))
            .collect();
        results.pollutants = self.results.pollutants.clone();
        self.results = results;
        self.tag_section = rp.tag_section.clone();
        self.tag_reach = rp.tag_reach.clone();
        Ok(())
    }

    /// Current concentration of pollutant `p` in global cell `g`, mg/L.
    pub fn cell_conc(&self, p: usize, g: usize) -> f64 {
        self.lanes[p].conc[self.lay.ext(self.net, g)]
    }

    /// Current mixed concentration of pollutant `p` at node `n` (the state of a storage node), mg/L.
    pub fn node_conc(&self, p: usize, n: usize) -> f64 {
        self.lanes[p].node_c[n]
    }

    /// Mass of pollutant `p` in the network now (cells and ponds), kg.
    pub fn mass_kg(&self, p: usize) -> f64 {
        self.total_mass_g(p) / 1000.0
    }

    /// Bytes held by the solver's per-cell and per-face arrays: per pollutant the old and new
    /// concentrations (16 B per cell), shared by all pollutants the face flows, dispersive conductances,
    /// volumes and inverse volumes (32 B per cell); plus small per-node and per-reach arrays (among them the
    /// node pass's per-period reach-end records, 32 B per reach end).
    pub fn state_bytes(&self) -> usize {
        let f = std::mem::size_of::<f64>();
        let per_pollutant: usize = self
            .lanes
            .iter()
            .map(|l| {
                (l.conc.capacity()
                    + l.conc_new.capacity()
                    + l.node_c.capacity()
                    + l.bflux.capacity()
                    + l.decay.capacity()
                    + l.decay_loss.capacity()
                    + l.partial.capacity()
                    + l.k_per_s.capacity()
                    + l.inflow_c.value.capacity()
                    + l.outlet_c.value.capacity())
                    * f
                    + l.inflow_c.table.capacity()
                    + l.outlet_c.table.capacity()
            })
            .sum();
        let shared = (self.co.q_face.capacity()
            + self.co.d_face.capacity()
            + self.co.vol.capacity()
            + self.co.inv_vol.capacity()
            + self.co.node_q_in.capacity()
            + self.co.node_q_out.capacity()
            + self.co.node_q_leave.capacity()
            + self.co.node_vol.capacity()
            + self.co.exchange.capacity()
            + self.disp_coef.capacity()
            + self.disp_rank.capacity()
            + self.zero_disp.capacity())
            * f;
        let ends = self.co.ends.capacity() * std::mem::size_of::<super::layout::EndRec>();
        per_pollutant + shared + ends + self.factors.bytes()
    }

    /// The stable time step of the current flow period, s (safety factor included): the Courant limit
    /// alone when dispersion is implicit, else the Courant and diffusion limits.
    pub fn stable_dt_s(&self) -> f64 {
        if self.implicit {
            self.co.dt_advective_s
        } else {
            self.co.dt_stable_s
        }
    }

    /// Whether dispersion is solved implicitly in the current flow period ([`DispersionMode::Auto`]
    /// decides per period; see the module docs).
    pub fn implicit_dispersion(&self) -> bool {
        self.implicit
    }

    /// Advance by one time step (in steady mode: to the next output time). Returns `Ok(false)` once the end
    /// of the run has been reached.
    pub fn step(&mut self) -> Result<bool, TransportError> {
        if self.done {
            return Ok(false);
        }
        if self.model.sim.mode == Mode::Steady {
            return self.step_steady();
        }
        if self.next_out == 0 {
            // the output at time 0 (and the initial mass) are taken at the first step, so an initial state
            // can still be set
            for p in 0..self.model.pollutants.len() {
                self.mass0_g[p] = self.total_mass_g(p);
            }
            self.record_output();
            self.next_out = 1;
            if self.output_times.len() <= 1 {
                self.done = true;
                return Ok(false);
            }
        }
        // period in force at the current time
        let k = self.hyd.period_at(self.t_s);
        if k != self.period {
            self.switch_period(k)?;
        }
        let mut target = self.output_times[self.next_out];
        if let Some(next) = self.hyd.periods.get(self.period + 1)
            && next.t_start_s > self.t_s
            && next.t_start_s < target
        {
            target = next.t_start_s;
        }
        let remaining = target - self.t_s;
        let stable = self.stable_dt_s();
        let (dt, land) = match self.model.sim.time_step_s {
            Some(fixed) => {
                if fixed >= remaining * (1.0 - 1e-12) {
                    (remaining, true)
                } else {
                    (fixed, false)
                }
            }
            None => {
                let n = (remaining / stable * (1.0 - 1e-12)).ceil().max(1.0);
                if n <= 1.0 {
                    (remaining, true)
                } else {
                    (remaining / n, false)
                }
            }
        };
        // only a user-fixed step can exceed the stable one (the automatic step is at most a rounding error
        // above it, which the safety factor covers)
        let n_sub = if self.model.sim.time_step_s.is_some() && dt > stable * (1.0 + 1e-9) {
            (dt / stable).ceil() as usize
        } else {
            1
        };
        if n_sub > 1 && !self.warned_substep {
            self.warned_substep = true;
            self.results.warnings.push(format!(
                "transport: the time step {dt} s exceeds the stable step {stable:.6} s of flow period {} \
                 (Courant/diffusion limit); each step is split into {n_sub} sub-steps where needed",
                self.period
            ));
        }
        let sub = dt / n_sub as f64;
        let mut t = self.t_s;
        for _ in 0..n_sub {
            self.advance(t, sub)?;
            t += sub;
            self.results.steps += 1;
        }
        self.t_s = if land { target } else { self.t_s + dt };
        if land && target == self.output_times[self.next_out] {
            self.record_output();
            self.next_out += 1;
            if self.next_out >= self.output_times.len() {
                self.done = true;
            }
        }
        Ok(!self.done)
    }

    /// Finish the run: close the mass ledger and hand back the results.
    pub fn finish(mut self) -> RunResults {
        let np = self.model.pollutants.len();
        if self.model.sim.mode == Mode::Dynamic {
            let mut mb = Vec::with_capacity(np);
            for p in 0..np {
                let l = self.lanes[p].ledger_g;
                let end = self.total_mass_g(p);
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
        } else {
            let mut mb = Vec::with_capacity(np);
            for p in 0..np {
                let l = self.lanes[p].ledger_g;
                let mut b = MassBalance {
                    in_kg: l[IN] / 1000.0,
                    out_kg: l[OUT] / 1000.0,
                    decayed_kg: l[DECAY] / 1000.0,
                    ..Default::default()
                };
                b.close();
                mb.push(b);
            }
            self.results.mass_balance = mb;
        }
        let w = self.model.sim.warmup_s;
        let n_mean = self
            .results
            .output_times_s
            .iter()
            .filter(|&&t| t >= w - 1e-9 * w.abs().max(1.0))
            .count();
        for row in &mut self.results.mean_cell_conc {
            row.iter_mut().for_each(|v| *v /= n_mean.max(1) as f64);
        }
        let net = self.net;
        self.results.final_cell_conc = (0..np)
            .map(|p| (0..net.n_cells).map(|g| self.cell_conc(p, g)).collect())
            .collect();
        self.results
    }

    /// Finish a tagged run ([`Simulation::with_groups`]): the total's results and the groups'
    /// concentrations at the output times.
    pub fn finish_tagged(mut self) -> TaggedResults {
        let n_groups = self.groups.as_ref().map_or(0, |g| g.len());
        let (mut section_conc, mut reach_conc) = (
            std::mem::take(&mut self.tag_section),
            std::mem::take(&mut self.tag_reach),
        );
        let relative = self.responses;
        let total = self.finish();
        if n_groups == 0 {
            // a run without groups steps as a plain run and records no group values: an empty row per
            // output time, the shape of the results for any number of groups
            section_conc = vec![Vec::new(); total.output_times_s.len()];
            reach_conc = vec![Vec::new(); total.output_times_s.len()];
        }
        TaggedResults {
            total,
            n_groups,
            section_conc,
            reach_conc,
            relative,
        }
    }

    /// Set every group's initial state (`steady`: the steady state of the current period at `t_s`, as in
    /// steady mode; otherwise from each group model's `InitialState`).
    fn initialise_groups(&mut self, t_s: f64, steady: bool) -> Result<(), TransportError> {
        let Some(groups) = &self.groups else {
            return Ok(());
        };
        for (p, lane) in self.lanes.iter_mut().enumerate() {
            if let Some(t) = lane.tags.as_mut() {
                t.initialise(
                    groups,
                    self.net,
                    &self.lay,
                    &self.co,
                    self.period,
                    t_s,
                    p,
                    self.opts.steady_max_sweeps,
                    steady,
                )?;
            }
        }
        Ok(())
    }

    fn total_mass_g(&self, p: usize) -> f64 {
        let mut m = 0.0;
        let c = &self.lanes[p].conc;
        for (v, x) in self.co.vol.iter().zip(c.iter()) {
            m += v * x;
        }
        for n in 0..self.net.n_nodes {
            if self.lay.is_storage[n] {
                m += self.co.node_vol[n] * self.lanes[p].node_c[n];
            }
        }
        m
    }

    /// Make flow period `k` the current one: its coefficients, whether its dispersion is implicit, and
    /// the implicit factors to be made afresh.
    fn enter_period(&mut self, k: usize) -> Result<(), TransportError> {
        self.co.fill(
            self.model,
            self.net,
            &self.lay,
            &self.hyd.periods[k],
            &self.flows[k],
            k,
            self.opts.safety,
        )?;
        self.period = k;
        self.implicit = use_implicit(self.opts.dispersion, &self.co);
        self.factors.invalidate();
        Ok(())
    }

    fn switch_period(&mut self, k: usize) -> Result<(), TransportError> {
        let np = self.model.pollutants.len();
        for p in 0..np {
            self.mass_before_g[p] = self.total_mass_g(p);
        }
        self.enter_period(k)?;
        for p in 0..np {
            let after = self.total_mass_g(p);
            self.lanes[p].ledger_g[VOLUME] += after - self.mass_before_g[p];
        }
        self.check_dead_ends();
        Ok(())
    }

    /// Warn (once per period) about junctions that receive water but let none leave: a continuity defect in
    /// the flow field. The mass reaching them is booked as leaving the network there.
    fn check_dead_ends(&mut self) {
        for n in 0..self.net.n_nodes {
            let storage = self.lay.is_storage[n] && self.co.node_vol[n] > 0.0;
            if !storage && self.co.node_q_in[n] > 0.0 && self.co.node_q_out[n] <= 0.0 {
                self.results.warnings.push(format!(
                    "transport: node {} receives {:e} m³/s but no water leaves it in flow period {} \
                     (continuity defect in the flow field); the mass reaching it is booked as leaving the \
                     network there",
                    self.model.nodes[n].id, self.co.node_q_in[n], self.period
                ));
            }
        }
    }

    fn solve_steady_into_state(&mut self, t_s: f64) -> Result<(), TransportError> {
        for (p, lane) in self.lanes.iter_mut().enumerate() {
            steady::solve_layout(
                self.model,
                self.net,
                &self.lay,
                &self.co,
                &self.flows[self.period],
                self.period,
                t_s,
                p,
                self.opts.steady_max_sweeps,
                &mut lane.conc,
                &mut lane.node_c,
            )?;
        }
        Ok(())
    }

    fn step_steady(&mut self) -> Result<bool, TransportError> {
        let i = self.next_out;
        let t = self.output_times[i];
        let k = self.hyd.period_at(t);
        if k != self.period || i == 0 {
            self.enter_period(k)?;
        }
        self.solve_steady_into_state(t)?;
        self.initialise_groups(t, true)?;
        let span = match self.output_times.get(i + 1) {
            Some(&t1) => t1 - t,
            None => 0.0,
        };
        for p in 0..self.model.pollutants.len() {
            let rates = steady::rates_g_s(
                self.model,
                self.net,
                &self.lay,
                &self.co,
                &self.flows[self.period],
                t,
                p,
                &self.lanes[p].conc,
                &self.lanes[p].node_c,
            );
            self.lanes[p].ledger_g[IN] += rates[0] * span;
            self.lanes[p].ledger_g[OUT] += rates[1] * span;
            self.lanes[p].ledger_g[DECAY] += rates[2] * span;
        }
        self.t_s = t;
        self.record_output();
        self.next_out += 1;
        if self.next_out >= self.output_times.len() {
            self.done = true;
        }
        Ok(!self.done)
    }

    /// One step of length `dt` from time `t`, every pollutant. A small run (at most
    /// `TransportOptions::serial_cell_lanes` cells × pollutants) runs on the calling thread alone: there a step is tens of microseconds of work, and
    /// waking the pool costs as much as it saves. With several pollutants on a network too small to fill the
    /// threads with cell chunks, the pollutants run in parallel (each serially over its chunks); otherwise
    /// they run one after another, each parallel over its chunks. Either way a pollutant's result does not
    /// depend on the split, so the bits do not change with the number of threads.
    fn advance(&mut self, t: f64, dt: f64) -> Result<(), TransportError> {
        // decay-rate changes take effect from the step whose midpoint passes them (within half a step)
        let changes = &self.model.decay_changes;
        while let Some(c) = changes.get(self.next_decay_change)
            && c.t_s <= t + 0.5 * dt
        {
            for (p, lane) in self.lanes.iter_mut().enumerate() {
                lane.k_per_s[c.reach] = c.decay_per_day.get(p).copied().unwrap_or(0.0) / DAY_S;
                lane.decay_for = None;
            }
            self.next_decay_change += 1;
        }
        if self.implicit {
            self.factors.refresh(self.net, &self.lay, &self.co, dt);
        }
        let ctx = Ctx {
            model: self.model,
            net: self.net,
            lay: &self.lay,
            co: &self.co,
            flows: &self.flows[self.period],
            disp: if self.implicit {
                &self.zero_disp
            } else {
                &self.disp_coef
            },
            disp_coef: &self.disp_coef,
            disp_rank: if self.implicit {
                &self.zero_disp
            } else {
                &self.disp_rank
            },
            implicit: if self.implicit {
                Some(&self.factors)
            } else {
                None
            },
            groups: self.groups.as_ref(),
            period: self.period,
        };
        let n_chunks = self.lay.chunk_first_rank.len();
        let by_pollutant = self.lanes.len() > 1 && n_chunks < 4 * rayon::current_num_threads();
        // a tagged run carries many groups per pollutant: worth the pool even on a small network
        let small = steps_alone(self.net, self.lanes.len(), &self.opts);
        let one_thread = rayon::current_num_threads() == 1;
        if one_thread || (small && !(self.groups.is_some() && self.lanes.len() > 1)) {
            for (p, lane) in self.lanes.iter_mut().enumerate() {
                advance_lane(&ctx, p, lane, t, dt, false);
            }
        } else if by_pollutant {
            self.lanes
                .par_iter_mut()
                .enumerate()
                .for_each(|(p, lane)| advance_lane(&ctx, p, lane, t, dt, false));
        } else {
            for (p, lane) in self.lanes.iter_mut().enumerate() {
                advance_lane(&ctx, p, lane, t, dt, true);
            }
        }
        // report the first pollutant (in model order) that went wrong
        if let Some(p) = self.lanes.iter().position(|l| l.failed) {
            return Err(self.non_finite(p, t + dt));
        }
        Ok(())
    }

    fn non_finite(&self, p: usize, t_s: f64) -> TransportError {
        let net = self.net;
        let (mut global_cell, mut reach, mut cell) = (0, 0, 0);
        'outer: for r in 0..net.n_reaches {
            let b = self.lay.base[r];
            for j in 0..net.n_cells_of(r) {
                if !self.lanes[p].conc_new[b + j].is_finite()
                    || !self.lanes[p].conc[b + j].is_finite()
                {
                    global_cell = net.first_cell[r] + j;
                    reach = r;
                    cell = j;
                    break 'outer;
                }
            }
        }
        TransportError::NonFinite {
            reach: self.model.reaches[reach].id.clone(),
            cell,
            global_cell,
            pollutant: self.model.pollutants[p].clone(),
            t_s,
        }
    }

    /// Add the cell concentrations at output time `t` to the sums of [`RunResults::mean_cell_conc`] when `t`
    /// is after the warm-up (divided by the count in [`Simulation::finish`]).
    fn add_cell_means(&mut self, t: f64) {
        let w = self.model.sim.warmup_s;
        if t < w - 1e-9 * w.abs().max(1.0) {
            return;
        }
        let (np, nc) = (self.model.pollutants.len(), self.net.n_cells);
        if self.results.mean_cell_conc.is_empty() {
            self.results.mean_cell_conc = vec![vec![0.0; nc]; np];
        }
        for p in 0..np {
            for g in 0..nc {
                let c = self.cell_conc(p, g);
                self.results.mean_cell_conc[p][g] += c;
            }
        }
    }

    fn record_output(&mut self) {
        let model = self.model;
        let net = self.net;
        let np = model.pollutants.len();
        let mut sec = Vec::with_capacity(model.sections.len() * np);
        for s in &model.sections {
            let (a, b, w) = net.section_weights(s.reach, s.at_m);
            let (ea, eb) = (self.lay.ext(net, a), self.lay.ext(net, b));
            for p in 0..np {
                sec.push((1.0 - w) * self.lanes[p].conc[ea] + w * self.lanes[p].conc[eb]);
            }
        }
        let mut rch = Vec::with_capacity(net.n_reaches * np);
        for r in 0..net.n_reaches {
            let b = self.lay.base[r];
            let n = net.n_cells_of(r);
            let v = &self.co.vol[b..b + n];
            let vt: f64 = v.iter().sum();
            for p in 0..np {
                let c = &self.lanes[p].conc[b..b + n];
                let m: f64 = v.iter().zip(c).map(|(v, c)| v * c).sum();
                rch.push(if vt > 0.0 { m / vt } else { 0.0 });
            }
        }
        if let Some(groups) = &self.groups {
            let ng = groups.len();
            let mut sec = vec![0.0; model.sections.len() * np * ng];
            for (si, s) in model.sections.iter().enumerate() {
                let (a, b, w) = net.section_weights(s.reach, s.at_m);
                let (ea, eb) = (self.lay.ext(net, a), self.lay.ext(net, b));
                for p in 0..np {
                    let k = (si * np + p) * ng;
                    if let Some(t) = &self.lanes[p].tags {
                        t.section_values(ea, eb, w, &mut sec[k..k + ng]);
                    }
                }
            }
            let mut rch = vec![0.0; net.n_reaches * np * ng];
            for r in 0..net.n_reaches {
                let b = self.lay.base[r];
                let v = &self.co.vol[b..b + net.n_cells_of(r)];
                let vt: f64 = v.iter().sum();
                for p in 0..np {
                    let k = (r * np + p) * ng;
                    if let Some(t) = &self.lanes[p].tags {
                        t.reach_values(b, v, vt, &mut rch[k..k + ng]);
                    }
                }
            }
            self.tag_section.push(sec);
            self.tag_reach.push(rch);
        }
        let t = self.output_times[self.next_out];
        self.add_cell_means(t);
        self.results.output_times_s.push(t);
        self.results.section_conc.push(sec);
        self.results.reach_conc.push(rch);
        self.results.output_period.push(self.hyd.period_at(t));
    }
}

/// The state and scratch of one pollutant.
struct Lane {
    /// Concentrations, extended indexing, mg/L.
    conc: Vec<f64>,
    conc_new: Vec<f64>,
    /// Mixed concentration per node (the state of storage nodes), mg/L.
    node_c: Vec<f64>,
    /// Mass flux through the two end faces of every reach, g/s (see `node_pass`).
    bflux: Vec<f64>,
    /// Half-step decay factor h = exp(−kΔt/2) and 1 − h, by layout rank (the order the kernel reads them in;
    /// reach r's are at `Layout::rank[r]`).
    decay: Vec<f64>,
    decay_loss: Vec<f64>,
    /// Decay rate k per reach, 1/s (the model's 1/day over 86,400 s).
    k_per_s: Vec<f64>,
    /// The bits of (Δt, θ) that `decay` and `decay_loss` were computed for (`None`: not yet computed).
    decay_for: Option<(u64, u64)>,
    /// Inflow concentrations, mg/L, per inflow (constants resolved once).
    inflow_c: ConstConc,
    /// Concentration of water entering at each node from outside, mg/L, per node (constants resolved once).
    outlet_c: ConstConc,
    /// Decayed mass per chunk, g.
    partial: Vec<f64>,
    /// Ledger: in, out, decayed, volume change, g.
    ledger_g: [f64; 4],
    /// A non-finite value appeared in the last step.
    failed: bool,
    /// Share of each cell withdrawal's demand that the last step could take (≤ 1 when a cell ran dry).
    withdraw_frac: Vec<f64>,
    /// Ledger entries of the node pass per chunk of nodes, g.
    node_partial: Vec<[f64; 4]>,
    /// The source groups' state, in a tagged run.
    tags: Option<TagLane>,
    /// Per source of the layout: its mass rate (g/s) and the time up to which it holds (most series are
    /// step tables), valid for the flow period `src_period`.
    src_rate: Vec<(f64, f64)>,
    src_period: usize,
    /// A copy of the old state for the groups' node pass when it runs beside the total's (tagged runs).
    snap: Snapshot,
    /// Tagged runs: each interior face's limiter weight κ and share C_f/C_U from this step's kernel, as f64
    /// bits at `[2f]`, `[2f + 1]` (network face f; `kernel::StepData::parts`); empty in a plain run.
    face_parts: Vec<AtomicU64>,
}

/// A run's state at an output time ([`Simulation::resume_point`]).
pub(crate) struct ResumePoint {
    t_s: f64,
    next_out: usize,
    done: bool,
    warned_substep: bool,
    mass0_g: Vec<f64>,
    lanes: Vec<LaneState>,
    results: RunResults,
    tag_section: Vec<Vec<f64>>,
    tag_reach: Vec<Vec<f64>>,
}

/// One pollutant's state in a [`ResumePoint`].
struct LaneState {
    conc: Vec<f64>,
    node_c: Vec<f64>,
    bflux: Vec<f64>,
    ledger_g: [f64; 4],
    tags: Option<tagged::TagState>,
}

/// The total's old cells, node concentrations and half-step decay factors, as a tagged step's node pass
/// reads them.
#[derive(Default)]
struct Snapshot {
    c: Vec<f64>,
    nc: Vec<f64>,
    half: Vec<f64>,
}

/// Concentrations of a list of series for one pollutant: a constant's value stored densely, so only table
/// series are evaluated per step (a missing series is the constant 0).
pub(super) struct ConstConc {
    /// The constant value, mg/L (0 for a table series).
    pub value: Vec<f64>,
    /// `true` where the series is a table and must be evaluated at the time.
    pub table: Vec<bool>,
}

impl ConstConc {
    pub(super) fn new<'m>(series: impl Iterator<Item = Option<&'m Series>>) -> ConstConc {
        let (mut value, mut table) = (Vec::new(), Vec::new());
        for s in series {
            let (v, t) = match s {
                None => (0.0, false),
                Some(Series::Const(v)) => (*v, false),
                Some(_) => (0.0, true),
            };
            value.push(v);
            table.push(t);
        }
        ConstConc { value, table }
    }

    /// Item `i`'s concentration: the constant, or `eval()` for a table series.
    #[inline(always)]
    pub(super) fn at(&self, i: usize, eval: impl FnOnce() -> f64) -> f64 {
        if self.table[i] { eval() } else { self.value[i] }
    }
}

/// What every pollutant's step reads.
struct Ctx<'s> {
    model: &'s Model,
    net: &'s Network,
    lay: &'s Layout,
    co: &'s Coeffs,
    flows: &'s PeriodFlows,
    /// E/Δx² per reach as the explicit kernel sees it (zeros when dispersion is implicit).
    disp: &'s [f64],
    /// E/Δx² per reach (the true values).
    disp_coef: &'s [f64],
    /// `disp` by layout rank (what the kernel reads).
    disp_rank: &'s [f64],
    /// The factored implicit dispersion operator, when dispersion is implicit.
    implicit: Option<&'s Factors>,
    /// The source groups of a tagged run.
    groups: Option<&'s Groups<'s>>,
    /// The flow period in force.
    period: usize,
}

/// One step of one pollutant: node pass, cell kernel (over the chunks in parallel or in order), sources,
/// withdrawals, ledger. Sets `lane.failed` on a non-finite value (the state is then not swapped).
fn advance_lane(ctx: &Ctx, p: usize, lane: &mut Lane, t: f64, dt: f64, parallel: bool) {
    let (model, net, co) = (ctx.model, ctx.net, ctx.co);
    let t_mid = t + 0.5 * dt;
    let theta = temp_factor(model, p, t_mid);
    // the factors depend only on k, θ and Δt: recomputed only when Δt or θ changed (bit for bit)
    let key = (dt.to_bits(), theta.to_bits());
    if lane.decay_for != Some(key) {
        for ((f, loss), &r) in lane
            .decay
            .iter_mut()
            .zip(lane.decay_loss.iter_mut())
            .zip(ctx.lay.order.iter())
        {
            let x = 0.5 * lane.k_per_s[r] * theta * dt;
            // clamped so that dividing by it (node pass) stays finite
            *f = (-x).exp().max(1e-150);
            // 1.0 − h is exact for h ≥ ½ (Sterbenz): the ledger books exactly what the factor h removes
            // (−expm1(−x) would be closer to the true 1 − e^−x but differ from 1 − h by an ulp, a bias
            // repeated every step)
            *loss = 1.0 - *f;
        }
        lane.decay_for = Some(key);
    }
    // the groups' view of this step, with the half-step decay factors `half` and the faces' κ and shares
    // `parts` (read only by the cell pass)
    macro_rules! mk_step {
        ($half:expr, $parts:expr) => {
            ctx.groups.map(|groups| TagStep {
                net,
                lay: ctx.lay,
                co,
                groups,
                period: ctx.period,
                p,
                dt,
                t_mid,
                theta,
                explicit_disp: ctx.implicit.is_none(),
                disp: ctx.disp,
                disp_true: ctx.disp_coef,
                half: $half,
                parts: $parts,
            })
        };
    }
    // the groups' node pass reads the total's old state; with a thread to help (see `assist`) it runs on
    // a copy of that state beside the total's node pass, kernel and sources, else before them
    let overlap = lane.tags.is_some() && assist::has_helpers();
    // the faces' κ and shares the kernel leaves for the groups (empty in a plain run), out of the lane while
    // the total's part borrows it
    let parts = std::mem::take(&mut lane.face_parts);
    let decayed = if overlap {
        let mut snap = std::mem::take(&mut lane.snap);
        let mut tags = lane.tags.take();
        snap.c.clear();
        snap.c.extend_from_slice(&lane.conc);
        snap.nc.clear();
        snap.nc.extend_from_slice(&lane.node_c);
        snap.half.clear();
        snap.half.extend_from_slice(&lane.decay);
        let ts = mk_step!(&snap.half, &[]);
        let mut decayed = 0.0;
        assist::join(
            || decayed = total_part(ctx, p, lane, &parts, t_mid, theta, dt, parallel),
            || {
                if let (Some(ts), Some(tags)) = (&ts, tags.as_mut()) {
                    tagged::node_pass(ts, &snap.c, &snap.nc, tags)
                }
            },
        );
        lane.tags = tags;
        lane.snap = snap;
        decayed
    } else {
        if let (Some(ts), Some(tags)) = (&mk_step!(&lane.decay, &[]), lane.tags.as_mut()) {
            tagged::node_pass(ts, &lane.conc, &lane.node_c, tags);
        }
        total_part(ctx, p, lane, &parts, t_mid, theta, dt, parallel)
    };
    lane.face_parts = parts;
    let led = &lane.ledger_g;
    if !(decayed.is_finite() && led[IN].is_finite()) {
        lane.failed = true;
        return;
    }
    // implicit dispersion within each reach: conserves Σ V·C, so the ledger is unchanged
    let implicit_of = |f: &Factors, c: &mut [f64]| {
        let n_groups = ctx.lay.group_rank.len() - 1;
        solve_groups(
            net,
            ctx.lay,
            co,
            f,
            ctx.disp_coef,
            c,
            0,
            0,
            n_groups,
            parallel,
        )
    };
    let tag_step = mk_step!(&lane.decay, &lane.face_parts);
    if let (Some(ts), Some(tags)) = (&tag_step, lane.tags.as_mut()) {
        // the groups' cell pass reads the old state; the total's implicit dispersion works on the new one
        // meanwhile (the groups' pass hands it to whichever thread does its first half)
        let new = &mut lane.conc_new;
        let mut total = || {
            if let Some(f) = ctx.implicit {
                implicit_of(f, new)
            }
        };
        tagged::cells(
            ts,
            &lane.conc,
            &lane.withdraw_frac,
            ctx.implicit,
            tags,
            &mut total,
        );
        std::mem::swap(&mut lane.conc, &mut lane.conc_new);
    } else {
        std::mem::swap(&mut lane.conc, &mut lane.conc_new);
        if let Some(f) = ctx.implicit {
            implicit_of(f, &mut lane.conc);
        }
    }
}

/// Whether a run of `pollutants` on `net` is small enough to step on one thread, without the pool
/// (`TransportOptions::serial_cell_lanes`: cell slots, two ghosts per reach included, × pollutants).
pub(super) fn steps_alone(net: &Network, pollutants: usize, opts: &TransportOptions) -> bool {
    (net.n_cells + 2 * net.n_reaches) * pollutants <= opts.serial_cell_lanes
}

/// The total's part of a step of one pollutant: node pass, cell kernel, sources and withdrawals, with the
/// ledger; returns the mass decayed in the cells, g (non-finite on a failed step). In a tagged run the
/// kernel also leaves each interior face's κ and share in `parts` for the groups (`kernel::StepData`).
#[allow(clippy::too_many_arguments)]
fn total_part(
    ctx: &Ctx,
    p: usize,
    lane: &mut Lane,
    parts: &[AtomicU64],
    t_mid: f64,
    theta: f64,
    dt: f64,
    parallel: bool,
) -> f64 {
    let (model, net, co) = (ctx.model, ctx.net, ctx.co);
    let led = &mut lane.ledger_g;
    let ns = NodeStep {
        model,
        lay: ctx.lay,
        co,
        flows: ctx.flows,
        p,
        dt,
        t_mid,
        theta,
        explicit_disp: ctx.implicit.is_none(),
        inflow_c: &lane.inflow_c,
        outlet_c: &lane.outlet_c,
        half: &lane.decay,
    };
    node_pass(
        &ns,
        net,
        &mut lane.conc,
        &mut lane.node_c,
        &mut lane.bflux,
        &mut lane.node_partial,
        led,
        parallel,
    );
    let data = StepData {
        c: &lane.conc,
        q: &co.q_face,
        disp: ctx.disp_rank,
        inv_vol: &co.inv_vol,
        bflux: &lane.bflux,
        decay: &lane.decay,
        decay_loss: &lane.decay_loss,
        span: &ctx.lay.span,
        chunk_first_rank: &ctx.lay.chunk_first_rank,
        dt,
        parts: (!parts.is_empty()).then_some(parts),
    };
    let chunk = ctx.lay.chunk;
    if parallel {
        lane.conc_new
            .par_chunks_mut(chunk)
            .zip(lane.partial.par_iter_mut())
            .enumerate()
            .for_each(|(k, (out, part))| *part = step_chunk(&data, k, chunk, out));
    } else {
        lane.conc_new
            .chunks_mut(chunk)
            .zip(lane.partial.iter_mut())
            .enumerate()
            .for_each(|(k, (out, part))| *part = step_chunk(&data, k, chunk, out));
    }
    let mut decayed = 0.0;
    for &x in &lane.partial {
        decayed += x;
    }
    led[DECAY] += decayed;
    // sources and withdrawals
    let cn = &mut lane.conc_new;
    if lane.src_period != ctx.period {
        lane.src_rate.fill((0.0, f64::NEG_INFINITY));
        lane.src_period = ctx.period;
    }
    for (s, cache) in ctx.lay.sources.iter().zip(&mut lane.src_rate) {
        // entering at mid-step, a source's mass decays for half a step
        let rate = if t_mid < cache.1 {
            cache.0
        } else {
            let r = source_rate(model, ctx.flows, s, p, t_mid);
            *cache = (r, source_held_until(model, s, p, t_mid));
            r
        };
        let m = rate * dt;
        let rank = ctx.lay.rank[s.reach];
        let h = lane.decay[rank];
        cn[s.ext] += h * m * co.inv_vol[s.ext];
        led[IN] += m;
        led[DECAY] += lane.decay_loss[rank] * m;
    }
    for (i, &(ext, _)) in ctx.lay.cell_withdrawals.iter().enumerate() {
        let want = co.cell_withdraw_q[i] * lane.conc[ext] * dt;
        let have = cn[ext] * co.vol[ext];
        let take = want.min(have).max(0.0);
        cn[ext] -= take * co.inv_vol[ext];
        led[OUT] += take;
        lane.withdraw_frac[i] = if want > 0.0 { take / want } else { 0.0 };
    }
    decayed
}

/// Whether to solve dispersion implicitly with the coefficients `co`: as asked, or under
/// [`DispersionMode::Auto`] when the explicit diffusion limit cuts the stable step below half of the
/// advective one (which includes a network where nothing moves but dispersion acts).
fn use_implicit(mode: DispersionMode, co: &Coeffs) -> bool {
    match mode {
        DispersionMode::Explicit => false,
        DispersionMode::Implicit => true,
        DispersionMode::Auto => co.dt_stable_s < 0.5 * co.dt_advective_s,
    }
}

/// Run the whole period: `Simulation::new`, `step` until the end, `finish`.
pub fn run(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
) -> Result<RunResults, TransportError> {
    let mut sim = Simulation::new(model, net, hyd, opts)?;
    while sim.step()? {}
    Ok(sim.finish())
}

/// One step of a pond (a completely mixed volume `v`, m³) holding `cn` mg/L, with the inflowing mass rate
/// `rate` (g/s) held over the step and the sink `sink` = Q_out + k·V (m³/s): the exact solution of
/// V·dC/dt = rate − sink·C (module docs, "Nodes"). Returns the new concentration and ∫C dt over the step
/// (the water leaving carries its mean, ∫C dt / Δt).
#[inline(always)]
pub(super) fn pond_step(cn: f64, rate: f64, sink: f64, v: f64, dt: f64) -> (f64, f64) {
    Pond::new(sink, v, dt).step(cn, rate)
}

/// The part of [`pond_step`] that does not depend on the concentrations (one exponential per pond and
/// step, however many source groups share it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Pond {
    sink: f64,
    v: f64,
    dt: f64,
    /// sink/V, 1/s, and 1 − e^(−λΔt).
    lam: f64,
    one_minus_e: f64,
}

impl Pond {
    #[inline(always)]
    pub(super) fn new(sink: f64, v: f64, dt: f64) -> Pond {
        let (lam, one_minus_e) = if sink > 0.0 {
            let lam = sink / v;
            (lam, -(-lam * dt).exp_m1())
        } else {
            (0.0, 0.0)
        };
        Pond {
            sink,
            v,
            dt,
            lam,
            one_minus_e,
        }
    }

    /// [`pond_step`] for concentration `cn` and inflowing mass rate `rate`.
    #[inline(always)]
    pub(super) fn step(&self, cn: f64, rate: f64) -> (f64, f64) {
        let (sink, v, dt) = (self.sink, self.v, self.dt);
        if sink > 0.0 {
            let c_eq = rate / sink;
            let integral = c_eq * dt + (cn - c_eq) * self.one_minus_e / self.lam;
            (cn + (rate * dt - sink * integral) / v, integral)
        } else {
            (cn + rate * dt / v, cn * dt + 0.5 * rate * dt * dt / v)
        }
    }
}

/// How many reach-end records ahead the node pass asks for the cells it will read.
const PREFETCH_ENDS: usize = 16;
/// How many nodes ahead the node pass asks for their mixed state.
const PREFETCH_NODES: usize = 6;

/// Hint the processor to load `v[i]` into the cache (nothing happens for an index out of range, or on
/// another architecture).
#[inline(always)]
fn prefetch(v: &[f64], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = v.get(i) {
        // SAFETY: a prefetch is a hint that never faults and reads nothing into the program; the pointer is
        // to a live element of `v` anyway
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (x as *const f64).cast::<i8>(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}

/// A column that the node pass's chunks write to concurrently, each at indices no other chunk touches
/// (a node's mixed concentration; the boundary flux and ghost slot of a reach end, which belongs to
/// exactly one node).
#[derive(Clone, Copy)]
struct Scatter {
    ptr: *mut f64,
    len: usize,
}

// SAFETY: the chunks of one pass write disjoint index sets (see `Scatter`), and the borrow the pointer was
// made from outlives the pass, so sharing the pointer between threads cannot race.
unsafe impl Send for Scatter {}
// SAFETY: as for `Send`.
unsafe impl Sync for Scatter {}

impl Scatter {
    fn new(v: &mut [f64]) -> Scatter {
        Scatter {
            ptr: v.as_mut_ptr(),
            len: v.len(),
        }
    }

    /// Hint the processor to load index `i` (nothing for an index out of range; never faults).
    #[inline(always)]
    fn prefetch(self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if i < self.len {
            // SAFETY: the address is inside the column (checked); a prefetch reads nothing into the
            // program and cannot fault
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    self.ptr.add(i).cast::<i8>().cast_const(),
                )
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = i;
    }

    /// # Safety
    /// No other thread writes index `i` during the pass.
    #[inline(always)]
    unsafe fn get(self, i: usize) -> f64 {
        assert!(i < self.len);
        // SAFETY: in bounds (checked), and not written concurrently (the caller's promise)
        unsafe { *self.ptr.add(i) }
    }

    /// # Safety
    /// No other thread reads or writes index `i` during the pass.
    #[inline(always)]
    unsafe fn set(self, i: usize, v: f64) {
        assert!(i < self.len);
        // SAFETY: in bounds (checked), and touched by this thread alone (the caller's promise)
        unsafe { *self.ptr.add(i) = v }
    }
}

/// What the node pass reads of one pollutant's step besides the state.
struct NodeStep<'s> {
    model: &'s Model,
    lay: &'s Layout,
    co: &'s Coeffs,
    flows: &'s PeriodFlows,
    /// Pollutant.
    p: usize,
    /// Step, s; its midpoint, s since start; the temperature factor θ^(T−20) there.
    dt: f64,
    t_mid: f64,
    theta: f64,
    /// Explicit dispersion in this step (the limiter leaves it room).
    explicit_disp: bool,
    /// Inflow and outlet concentrations (constants resolved once).
    inflow_c: &'s ConstConc,
    outlet_c: &'s ConstConc,
    /// Half-step decay factor per layout rank.
    half: &'s [f64],
}

/// The columns the node pass writes.
#[derive(Clone, Copy)]
struct NodeOut {
    node_c: Scatter,
    bflux: Scatter,
    /// The concentrations: the pass reads cells and writes ghost slots, disjoint sets.
    c: Scatter,
}

/// Mix every node for pollutant `p` over a step of `dt` seconds: the mass flux through both end faces of every
/// reach (`bflux`, g/s, positive from→to), the nodes' mixed concentrations and pond states, the ghost values,
/// and the ledger entries of the nodes (inflows, water entering at outlets, water leaving, pond decay).
///
/// The nodes are independent of each other within a pass (each reads the cells next to it and its own
/// mixed state, and writes its own reach ends), so they run in fixed chunks of
/// `TransportOptions::chunk_nodes` nodes, in parallel when `parallel`; the ledger is summed per chunk, then
/// over the chunks in order, so the bits do not depend on the number of threads. Each node writes the ghost
/// slots of its reach ends as it goes (no node reads them), except those of one-cell reaches, which are
/// the far-upwind values of the node at the other end: they are set after the pass
/// (`Layout::late_ghosts`).
#[allow(clippy::too_many_arguments)]
fn node_pass(
    ns: &NodeStep,
    net: &Network,
    c: &mut [f64],
    node_c: &mut [f64],
    bflux: &mut [f64],
    partial: &mut [[f64; 4]],
    led: &mut [f64; 4],
    parallel: bool,
) {
    let lay = ns.lay;
    let nn = net.n_nodes;
    let per = nn.div_ceil(partial.len()).max(1);
    let out = NodeOut {
        node_c: Scatter::new(node_c),
        bflux: Scatter::new(bflux),
        c: Scatter::new(c),
    };
    {
        let chunk = |k: usize, part: &mut [f64; 4]| {
            let range = (k * per).min(nn)..nn.min((k + 1) * per);
            *part = node_chunk(ns, out, range);
        };
        if parallel && partial.len() > 1 {
            partial
                .par_iter_mut()
                .enumerate()
                .for_each(|(k, part)| chunk(k, part));
        } else {
            for (k, part) in partial.iter_mut().enumerate() {
                chunk(k, part);
            }
        }
    }
    for part in partial.iter() {
        for (l, x) in led.iter_mut().zip(part) {
            *l += x;
        }
    }
    // the ghosts of one-cell reaches, which the pass read as far-upwind values: set now that it is over
    for &(ghost, n) in &lay.late_ghosts {
        c[ghost] = node_c[n];
    }
}

/// The nodes at positions `range` of `Layout::node_seq` (see [`node_pass`]). Returns their ledger
/// entries, g.
#[inline(always)]
fn node_chunk(ns: &NodeStep, out: NodeOut, range: std::ops::Range<usize>) -> [f64; 4] {
    let NodeStep {
        model,
        lay,
        co,
        flows,
        p,
        dt,
        t_mid,
        theta,
        explicit_disp,
        inflow_c,
        outlet_c,
        half,
    } = *ns;
    let mut led = [0.0f64; 4];
    for k in range {
        let nrec = &co.nodes[k];
        let n = nrec.node;
        // SAFETY: node n belongs to this chunk alone (see `node_pass`)
        let cn = unsafe { out.node_c.get(n) };
        let mut rate = 0.0;
        // this node's reach ends, gathered per flow period in `Layout::node_seq` order (`Coeffs::ends`)
        let (e0, e1) = (lay.node_end_start[k], lay.node_end_start[k + 1]);
        let ends = &co.ends[e0..e1];
        // the cells and factors a few nodes ahead are scattered over the state: ask for them early so their
        // loads overlap this node's arithmetic (a hint only; no value changes)
        for a in co
            .ends
            .get(e0 + PREFETCH_ENDS..e1 + PREFETCH_ENDS)
            .unwrap_or(&[])
        {
            out.c.prefetch(a.iu());
            out.c.prefetch(a.uu());
            prefetch(half, a.rank());
        }
        // and the mixed state of the node a few positions ahead
        if let Some(a) = co.nodes.get(k + PREFETCH_NODES) {
            out.node_c.prefetch(a.node);
        }
        for e in ends {
            let into = e.into();
            if into > 0.0 {
                // the far-upwind neighbour of a one-cell reach is the other end's ghost
                // SAFETY: cells (and the ghosts of one-cell reaches) are not written during the pass
                let (u, uu) = unsafe { (out.c.get(e.iu()), out.c.get(e.uu())) };
                let nu = into * dt * e.inv_vol_iu;
                // the limiter leaves room for the explicit dispersion only when there is one
                let dsum = if explicit_disp {
                    e.d_sum * dt * e.inv_vol_iu
                } else {
                    0.0
                };
                let fv = face_value(uu, u, cn, nu, dsum);
                // the water leaves the reach after half a step of decay (Strang splitting)
                rate += half[e.rank()] * into * fv;
                // SAFETY: the slot of a reach end belongs to its node alone
                unsafe { out.bflux.set(e.slot as usize, e.q * fv) };
            }
        }
        let mut ext_in = 0.0;
        for &i in lay.inflows_at(k) {
            let ci = inflow_c.at(i, || inflow_conc(model, i, p, t_mid));
            ext_in += flows.inflow_q[i] * ci;
        }
        let ex = nrec.exchange;
        if ex < 0.0 {
            let co_n = outlet_c.at(n, || outlet_conc(model, n, p, t_mid));
            ext_in += -ex * co_n;
        }
        led[IN] += ext_in * dt;
        rate += ext_in;
        let qout = nrec.q_out;
        let leave = nrec.leave;
        let v = nrec.vol;
        // concentration carried by the water leaving the node during the step
        let mut c_node = cn;
        let m = if nrec.pond {
            let k = lay.node_decay_per_day[p][n] / DAY_S * theta;
            let (c_new, integral) = pond_step(cn, rate, qout + k * v, v, dt);
            c_node = c_new;
            led[DECAY] += k * v * integral;
            integral / dt
        } else {
            let m = if qout > 0.0 {
                rate / qout
            } else {
                // nothing can leave: what flows in is lost from the ledger as `out` (continuity broken)
                led[OUT] += rate * dt;
                0.0
            };
            let qin = nrec.q_in;
            if qin > 0.0 {
                c_node = rate / qin;
            }
            m
        };
        // SAFETY: node n belongs to this chunk alone
        unsafe { out.node_c.set(n, c_node) };
        led[OUT] += leave * m * dt;
        for e in ends {
            if e.into() <= 0.0 {
                // the kernel multiplies by h again: hand in the entering flux divided by h
                // SAFETY: as above
                unsafe { out.bflux.set(e.slot as usize, e.q * m / half[e.rank()]) };
            }
            if !e.one_cell() {
                // SAFETY: a ghost slot belongs to one reach end, a reach end to one node, and no node reads
                // the ghosts of reaches of more than one cell
                unsafe { out.c.set(e.ghost(), c_node) };
            }
        }
    }
    led
}
