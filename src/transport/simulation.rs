//! The dynamic solver: a [`Simulation`] that can be started, stepped and finished.
//!
//! [`Simulation::step`] chooses the next step (the stable step of the flow period in force, shortened to
//! land on output times and period starts; a user-fixed step larger than the stable one is cut into
//! sub-steps), switches flow periods (booking the mass a change of cell volumes adds), applies decay-rate
//! changes, advances every pollutant by one step (`step.rs`: node pass → kernel → sources → withdrawals →
//! dispersion) and records the outputs. In steady mode every output time is the steady state of its
//! period (`steady.rs`). The per-face and per-cell coefficients are recomputed in place only when the flow
//! period changes.
//!
//! The solver core, [`Solver`], carries a [`Follower`] per pollutant (see `follower.rs`); a
//! [`Simulation`] is a solver whose pollutants have none.

use super::follower::{Alone, Follower, Start};
use super::implicit::Factors;
use super::layout::{Coeffs, ConstConc, DAY_S, Layout, PeriodFlows};
use super::options::{DispersionMode, TransportError, TransportOptions};
use super::results::{DECAY, IN, MassBalance, OUT, RunResults, VOLUME};
use super::steady;
use super::step::{Lane, StepCx, advance, decay_per_s, steps_alone};
use crate::hydraulics::Hydraulics;
use crate::model::{InitialState, Mode, Model};
use crate::network::Network;
use rayon::prelude::*;
use std::sync::atomic::AtomicU64;

/// A transport run that can be stepped (start with [`Simulation::new`], advance with [`Simulation::step`],
/// collect with [`Simulation::finish`]). It holds references to the model, network and flow fields and owns
/// only its state and scratch buffers, so any number of simulations can run side by side in threads.
pub struct Simulation<'a> {
    solver: Solver<'a, Alone>,
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
        let solver = Solver::new(model, net, hyd, opts, |_, _| Alone)?;
        Ok(Simulation { solver })
    }

    /// Replace the initial concentration of pollutant `p` in global cell `g` (mg/L), e.g. to start from a
    /// pulse. Only before the first [`Simulation::step`]: returns `false` (and changes nothing) once
    /// stepping has begun, or for an index out of range.
    pub fn set_initial_cell_conc(&mut self, p: usize, g: usize, conc_mg_l: f64) -> bool {
        self.solver.set_initial_cell_conc(p, g, conc_mg_l)
    }

    /// Advance by one time step (in steady mode: to the next output time). Returns `Ok(false)` once the end
    /// of the run has been reached.
    pub fn step(&mut self) -> Result<bool, TransportError> {
        self.solver.step()
    }

    /// Finish the run: close the mass ledger and hand back the results.
    pub fn finish(self) -> RunResults {
        self.solver.finish().0
    }

    /// Time reached, seconds since start.
    pub fn time_s(&self) -> f64 {
        self.solver.t_s
    }

    /// Current concentration of pollutant `p` in global cell `g`, mg/L.
    pub fn cell_conc(&self, p: usize, g: usize) -> f64 {
        self.solver.cell_conc(p, g)
    }

    /// Current mixed concentration of pollutant `p` at node `n` (the state of a storage node), mg/L.
    pub fn node_conc(&self, p: usize, n: usize) -> f64 {
        self.solver.lanes[p].node_c[n]
    }

    /// Mass of pollutant `p` in the network now (cells and ponds), kg.
    pub fn mass_kg(&self, p: usize) -> f64 {
        self.solver.total_mass_g(p) / 1000.0
    }

    /// Bytes held by the solver's per-cell and per-face arrays: per pollutant the old and new
    /// concentrations (16 B per cell), shared by all pollutants the face flows, dispersive conductances,
    /// volumes and inverse volumes (32 B per cell); plus small per-node and per-reach arrays (among them the
    /// node pass's per-period reach-end records, 32 B per reach end).
    pub fn state_bytes(&self) -> usize {
        self.solver.state_bytes()
    }

    /// The stable time step of the current flow period, s (safety factor included): the Courant limit
    /// alone when dispersion is implicit, else the Courant and diffusion limits.
    pub fn stable_dt_s(&self) -> f64 {
        self.solver.stable_dt_s()
    }

    /// Whether dispersion is solved implicitly in the current flow period ([`DispersionMode::Auto`]
    /// decides per flow period; see the module docs).
    pub fn implicit_dispersion(&self) -> bool {
        self.solver.implicit
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

/// What the followers recorded at the output times: `width` values per section (and per reach) and
/// pollutant, `[time][(item * n_pollutants + pollutant) * width + value]`.
pub(crate) struct Followed {
    pub width: usize,
    pub section: Vec<Vec<f64>>,
    pub reach: Vec<Vec<f64>>,
}

/// The solver of a run whose pollutants each carry a follower `F` (see the module docs).
pub(crate) struct Solver<'a, F: Follower> {
    model: &'a Model,
    net: &'a Network,
    hyd: &'a Hydraulics,
    opts: TransportOptions,
    lay: Layout,
    flows: Vec<PeriodFlows>,
    co: Coeffs,
    period: usize,
    /// State and scratch of every pollutant, with its follower.
    lanes: Vec<Lane<F>>,
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
    followed: Followed,
    warned_substep: bool,
    done: bool,
    /// The next entry of `Model::decay_changes` to apply.
    next_decay_change: usize,
}

/// Check the options and flow fields a run is asked for, before anything is built.
pub(crate) fn check_options(
    model: &Model,
    hyd: &Hydraulics,
    opts: &TransportOptions,
) -> Result<(), TransportError> {
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
    Ok(())
}

/// The output times, seconds since start: the start, every `interval` after it, and the end.
fn output_times(end_s: f64, interval_s: f64) -> Vec<f64> {
    let end = end_s.max(0.0);
    let mut times = vec![0.0];
    if interval_s > 0.0 && interval_s.is_finite() {
        let mut k = 1usize;
        loop {
            let t = k as f64 * interval_s;
            if t >= end * (1.0 - 1e-12) {
                break;
            }
            times.push(t);
            k += 1;
        }
    }
    if end > 0.0 {
        times.push(end);
    }
    times
}

impl<'a, F: Follower> Solver<'a, F> {
    /// Set up a run (see [`Simulation::new`]), pollutant `p` followed by `follow(p)`.
    pub fn new(
        model: &'a Model,
        net: &'a Network,
        hyd: &'a Hydraulics,
        opts: &TransportOptions,
        follow: impl FnMut(&Layout, usize) -> F,
    ) -> Result<Solver<'a, F>, TransportError> {
        check_options(model, hyd, opts)?;
        let lay = Layout::new(model, net, opts.chunk_cells);
        let flows: Vec<PeriodFlows> = hyd
            .periods
            .iter()
            .map(|f| PeriodFlows::new(model, f))
            .collect();
        let mut co = Coeffs::default();
        co.fill(model, net, &lay, &hyd.periods[0], &flows[0], 0, opts.safety)?;
        if model.sim.mode == Mode::Dynamic {
            check_step_budget(model, net, hyd, &lay, &flows, &co, opts)?;
        }
        let output_times = output_times(model.sim.end_s, model.sim.output_interval_s);
        let n_out = output_times.len();
        let lanes = Self::lanes(model, net, opts, &lay, follow);
        // E/Δx² per reach, 1/s
        let disp_coef: Vec<f64> = (0..net.n_reaches)
            .map(|r| {
                model.reaches[r].dispersion_m2s.max(0.0) / (net.reach_dx_m[r] * net.reach_dx_m[r])
            })
            .collect();
        let np = model.pollutants.len();
        let mut sim = Solver {
            model,
            net,
            hyd,
            opts: opts.clone(),
            disp_rank: lay.order.iter().map(|&r| disp_coef[r]).collect(),
            disp_coef,
            zero_disp: vec![0.0; net.n_reaches],
            implicit: false,
            factors: Factors::new(lanes.iter().any(|l| l.follower.reads_sweeps())),
            lanes,
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
            followed: Followed {
                width: 0,
                section: Vec::new(),
                reach: Vec::new(),
            },
            warned_substep: false,
            done: false,
            next_decay_change: 0,
        };
        sim.followed.width = sim.lanes.first().map_or(0, |l| l.follower.width());
        sim.implicit = use_implicit(sim.opts.dispersion, &sim.co);
        sim.set_initial_state()?;
        sim.check_dead_ends();
        Ok(sim)
    }

    /// Every pollutant's state and scratch, zero, with its follower.
    fn lanes(
        model: &Model,
        net: &Network,
        opts: &TransportOptions,
        lay: &Layout,
        mut follow: impl FnMut(&Layout, usize) -> F,
    ) -> Vec<Lane<F>> {
        let n_chunks = lay.chunk_first_rank.len();
        (0..model.pollutants.len())
            .map(|p| {
                let follower = follow(lay, p);
                let face_parts = if follower.reads_face_parts() {
                    (0..2 * net.n_faces()).map(|_| AtomicU64::new(0)).collect()
                } else {
                    Vec::new()
                };
                Lane {
                    k_per_s: decay_per_s(model, p),
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
                    src_rate: vec![(0.0, f64::NEG_INFINITY); lay.sources.len()],
                    src_period: usize::MAX,
                    face_parts,
                    follower,
                }
            })
            .collect()
    }

    /// The model's initial state (in steady mode nothing: every output is solved on its own), and the
    /// followers'.
    fn set_initial_state(&mut self) -> Result<(), TransportError> {
        let (model, net) = (self.model, self.net);
        match (&model.sim.mode, &model.initial) {
            (Mode::Steady, _) => return Ok(()),
            (_, InitialState::Steady) => self.solve_steady_into_state(0.0)?,
            (_, InitialState::Zero) => {}
            (_, InitialState::Values(v)) => {
                for (p, lane) in self.lanes.iter_mut().enumerate() {
                    let val = v.get(p).copied().unwrap_or(0.0);
                    for r in 0..net.n_reaches {
                        let b = self.lay.base[r];
                        lane.conc[b..b + net.n_cells_of(r)].fill(val);
                    }
                    lane.node_c.fill(val);
                }
            }
        }
        for p in 0..model.pollutants.len() {
            self.mass0_g[p] = self.total_mass_g(p);
        }
        self.start_followers(0.0, false)
    }

    /// See [`Simulation::set_initial_cell_conc`] (the followers keep their own initial states).
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
    pub fn output_times(&self) -> &[f64] {
        &self.output_times
    }

    /// Current concentration of pollutant `p` in global cell `g`, mg/L.
    fn cell_conc(&self, p: usize, g: usize) -> f64 {
        self.lanes[p].conc[self.lay.ext(self.net, g)]
    }

    /// See [`Simulation::state_bytes`].
    fn state_bytes(&self) -> usize {
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

    /// See [`Simulation::stable_dt_s`].
    fn stable_dt_s(&self) -> f64 {
        if self.implicit {
            self.co.dt_advective_s
        } else {
            self.co.dt_stable_s
        }
    }

    /// See [`Simulation::step`].
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
        let target = self.next_target();
        let (dt, land) = self.step_length(target);
        let stable = self.stable_dt_s();
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

    /// The time the next steps must land on: the next output time, or the next period's start if earlier.
    fn next_target(&self) -> f64 {
        let mut target = self.output_times[self.next_out];
        if let Some(next) = self.hyd.periods.get(self.period + 1)
            && next.t_start_s > self.t_s
            && next.t_start_s < target
        {
            target = next.t_start_s;
        }
        target
    }

    /// The next step's length towards `target`, and whether it lands there: the user's fixed step, or the
    /// stable step shortened so that a whole number of equal steps lands on the target.
    fn step_length(&self, target: f64) -> (f64, bool) {
        let remaining = target - self.t_s;
        match self.model.sim.time_step_s {
            Some(fixed) => {
                if fixed >= remaining * (1.0 - 1e-12) {
                    (remaining, true)
                } else {
                    (fixed, false)
                }
            }
            None => {
                let n = (remaining / self.stable_dt_s() * (1.0 - 1e-12))
                    .ceil()
                    .max(1.0);
                if n <= 1.0 {
                    (remaining, true)
                } else {
                    (remaining / n, false)
                }
            }
        }
    }

    /// Finish the run: close the mass ledger; the results and what the followers recorded.
    pub fn finish(mut self) -> (RunResults, Followed) {
        let np = self.model.pollutants.len();
        let dynamic = self.model.sim.mode == Mode::Dynamic;
        let mut mb = Vec::with_capacity(np);
        for p in 0..np {
            let l = self.lanes[p].ledger_g;
            let mut b = MassBalance {
                in_kg: l[IN] / 1000.0,
                out_kg: l[OUT] / 1000.0,
                decayed_kg: l[DECAY] / 1000.0,
                ..Default::default()
            };
            if dynamic {
                let end = self.total_mass_g(p);
                b.storage_change_kg = (end - self.mass0_g[p]) / 1000.0;
                b.volume_change_kg = l[VOLUME] / 1000.0;
                b.initial_mass_kg = self.mass0_g[p] / 1000.0;
                b.final_mass_kg = end / 1000.0;
            }
            b.close();
            mb.push(b);
        }
        self.results.mass_balance = mb;
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
        let mut followed = self.followed;
        if followed.width == 0 {
            // nothing followed: an empty row per output time, the shape of the results for any width
            followed.section = vec![Vec::new(); self.results.output_times_s.len()];
            followed.reach = vec![Vec::new(); self.results.output_times_s.len()];
        }
        (self.results, followed)
    }

    /// Set every follower's initial state (`steady`: the steady state of the current period at `t_s`).
    fn start_followers(&mut self, t_s: f64, steady: bool) -> Result<(), TransportError> {
        for (p, lane) in self.lanes.iter_mut().enumerate() {
            let cx = Start {
                net: self.net,
                lay: &self.lay,
                co: &self.co,
                period: self.period,
                t_s,
                p,
                max_sweeps: self.opts.steady_max_sweeps,
            };
            lane.follower.start(&cx, steady)?;
        }
        Ok(())
    }

    /// Mass of pollutant `p` in the network now (cells and ponds), g.
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

    /// Enter period `k` mid-run: the concentrations are kept, and the mass the new cell volumes add (or
    /// remove) is booked.
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

    /// The steady state of the current period at `t_s` into every pollutant's state.
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

    /// Steady mode: the next output time's steady state, and the ledger of its rates over the interval
    /// that follows.
    fn step_steady(&mut self) -> Result<bool, TransportError> {
        let i = self.next_out;
        let t = self.output_times[i];
        let k = self.hyd.period_at(t);
        if k != self.period || i == 0 {
            self.enter_period(k)?;
        }
        self.solve_steady_into_state(t)?;
        self.start_followers(t, true)?;
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

    /// Decay-rate changes take effect from the step whose midpoint passes them (within half a step).
    fn apply_decay_changes(&mut self, t: f64, dt: f64) {
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
    }

    /// One step of length `dt` from time `t`, every pollutant (`step::advance`). A small run (at most
    /// `TransportOptions::serial_cell_lanes` cells × pollutants) runs on the calling thread alone: there a
    /// step is tens of microseconds of work, and waking the pool costs as much as it saves. With several
    /// pollutants on a network too small to fill the threads with cell chunks, the pollutants run in
    /// parallel (each serially over its chunks); otherwise they run one after another, each parallel over
    /// its chunks. Either way a pollutant's result does not depend on the split, so the bits do not change
    /// with the number of threads.
    fn advance(&mut self, t: f64, dt: f64) -> Result<(), TransportError> {
        self.apply_decay_changes(t, dt);
        if self.implicit {
            self.factors.refresh(self.net, &self.lay, &self.co, dt);
        }
        let zeros = &self.zero_disp;
        let cx = StepCx {
            model: self.model,
            net: self.net,
            lay: &self.lay,
            co: &self.co,
            flows: &self.flows[self.period],
            disp: if self.implicit {
                zeros
            } else {
                &self.disp_coef
            },
            disp_coef: &self.disp_coef,
            disp_rank: if self.implicit {
                zeros
            } else {
                &self.disp_rank
            },
            implicit: self.implicit.then_some(&self.factors),
            period: self.period,
        };
        let n_chunks = self.lay.chunk_first_rank.len();
        let by_pollutant = self.lanes.len() > 1 && n_chunks < 4 * rayon::current_num_threads();
        // a busy follower makes the pool worth it even on a small network
        let small = steps_alone(self.net, self.lanes.len(), &self.opts);
        let busy = self.lanes.iter().any(|l| l.follower.busy());
        let one_thread = rayon::current_num_threads() == 1;
        if one_thread || (small && !(busy && self.lanes.len() > 1)) {
            for (p, lane) in self.lanes.iter_mut().enumerate() {
                advance(&cx, p, lane, t, dt, false);
            }
        } else if by_pollutant {
            self.lanes
                .par_iter_mut()
                .enumerate()
                .for_each(|(p, lane)| advance(&cx, p, lane, t, dt, false));
        } else {
            for (p, lane) in self.lanes.iter_mut().enumerate() {
                advance(&cx, p, lane, t, dt, true);
            }
        }
        // report the first pollutant (in model order) that went wrong
        if let Some(p) = self.lanes.iter().position(|l| l.failed) {
            return Err(self.non_finite(p, t + dt));
        }
        Ok(())
    }

    /// The error for pollutant `p`'s first non-finite cell.
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

    /// The outputs at the current output time: section values (interpolated between the two cells
    /// around the section) and reach means (volume-weighted), and the followers' own.
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
        if self.followed.width > 0 {
            self.record_followed();
        }
        let t = self.output_times[self.next_out];
        self.add_cell_means(t);
        self.results.output_times_s.push(t);
        self.results.section_conc.push(sec);
        self.results.reach_conc.push(rch);
        self.results.output_period.push(self.hyd.period_at(t));
    }

    /// The followers' values at the current output time (see [`Followed`]).
    fn record_followed(&mut self) {
        let (model, net) = (self.model, self.net);
        let np = model.pollutants.len();
        let w = self.followed.width;
        let mut sec = vec![0.0; model.sections.len() * np * w];
        for (si, s) in model.sections.iter().enumerate() {
            let (a, b, wt) = net.section_weights(s.reach, s.at_m);
            let (ea, eb) = (self.lay.ext(net, a), self.lay.ext(net, b));
            for p in 0..np {
                let k = (si * np + p) * w;
                (self.lanes[p].follower).section_values(ea, eb, wt, &mut sec[k..k + w]);
            }
        }
        let mut rch = vec![0.0; net.n_reaches * np * w];
        for r in 0..net.n_reaches {
            let b = self.lay.base[r];
            let v = &self.co.vol[b..b + net.n_cells_of(r)];
            let vt: f64 = v.iter().sum();
            for p in 0..np {
                let k = (r * np + p) * w;
                (self.lanes[p].follower).reach_values(b, v, vt, &mut rch[k..k + w]);
            }
        }
        self.followed.section.push(sec);
        self.followed.reach.push(rch);
    }
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

/// Refuse a dynamic run that would need more than `model.sim.max_steps` transport steps: per flow period, its
/// length over the step the run will take there (the stable step of its coefficients, Courant alone where
/// dispersion is implicit; a fixed `time_step` and the sub-steps it needs where it exceeds the stable one),
/// plus one step per output time. Costs one coefficient fill per period (`co` is period 0's), which the run
/// itself makes again when it enters each period.
#[allow(clippy::too_many_arguments)]
fn check_step_budget(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    lay: &Layout,
    flows: &[PeriodFlows],
    co: &Coeffs,
    opts: &TransportOptions,
) -> Result<(), TransportError> {
    let end = model.sim.end_s;
    let step = |c: &Coeffs| {
        if use_implicit(opts.dispersion, c) {
            c.dt_advective_s
        } else {
            c.dt_stable_s
        }
    };
    let mut scratch = Coeffs::default();
    // each output time ends a step
    let mut total = (end / model.sim.output_interval_s).ceil().max(0.0) + 1.0;
    let mut worst = (f64::INFINITY, 0usize);
    for (k, field) in hyd.periods.iter().enumerate() {
        let len = field.t_end_s.min(end) - field.t_start_s;
        if len.is_nan() || len <= 0.0 {
            continue;
        }
        let c = if k == 0 {
            co
        } else {
            scratch.fill(model, net, lay, field, &flows[k], k, opts.safety)?;
            &scratch
        };
        let stable = step(c);
        if stable < worst.0 {
            worst = (stable, k);
        }
        total += match model.sim.time_step_s {
            Some(fixed) => (len / fixed).ceil() * (fixed / stable).ceil().max(1.0),
            None => (len / stable).ceil(),
        };
    }
    if total <= model.sim.max_steps {
        return Ok(());
    }
    let (dt_s, k) = worst;
    let c = if k == 0 {
        co
    } else {
        scratch.fill(model, net, lay, &hyd.periods[k], &flows[k], k, opts.safety)?;
        &scratch
    };
    let r = c.limiting_reach(net, lay, use_implicit(opts.dispersion, c));
    Err(TransportError::TooManySteps {
        steps: total,
        limit: model.sim.max_steps,
        dt_s,
        period: k,
        reach: model.reaches[r].id.clone(),
    })
}

/// A run's state at an output time ([`Solver::resume_point`]).
pub(crate) struct ResumePoint<S> {
    t_s: f64,
    next_out: usize,
    done: bool,
    warned_substep: bool,
    mass0_g: Vec<f64>,
    lanes: Vec<LaneState<S>>,
    results: RunResults,
    followed_section: Vec<Vec<f64>>,
    followed_reach: Vec<Vec<f64>>,
}

/// One pollutant's state in a [`ResumePoint`], with its follower's.
struct LaneState<S> {
    conc: Vec<f64>,
    node_c: Vec<f64>,
    bflux: Vec<f64>,
    ledger_g: [f64; 4],
    follower: S,
}

impl<F: Follower> Solver<'_, F> {
    /// The run's state now (concentrations, the followers' states, the mass ledger and the outputs so
    /// far), for another run to go on from ([`Solver::resume`]).
    pub fn resume_point(&self) -> ResumePoint<F::State> {
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
                    follower: l.follower.state(),
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
            followed_section: self.followed.section.clone(),
            followed_reach: self.followed.reach.clone(),
        }
    }

    /// Go on from `rp`, the state of a run of another model at an output time: this run's own model,
    /// flows and followers from then on, that run's state and outputs up to then. For a model and flows
    /// that agree with that run's up to `rp`'s time — a scenario with a project that acts only later — the
    /// result is that of a run from the start, without stepping the common part again (to round-off and
    /// the step sequence: the two runs' flow periods may be cut differently before then, with the same
    /// flows). The mass ledger goes on from that run's. Refused, with nothing changed, unless the two runs
    /// have the same pollutants, output times and followers' shapes, this one is dynamic and has not
    /// begun (then only a failure to make this run's coefficients, which leaves it unusable, can stop it).
    pub fn resume(&mut self, rp: &ResumePoint<F::State>) -> Result<(), TransportError> {
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
            if l.conc.len() != s.conc.len()
                || l.node_c.len() != s.node_c.len()
                || l.bflux.len() != s.bflux.len()
                || !l.follower.fits(&s.follower)
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
            l.follower.set_state(&s.follower);
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
        self.followed.section = rp.followed_section.clone();
        self.followed.reach = rp.followed_reach.clone();
        Ok(())
    }
}
