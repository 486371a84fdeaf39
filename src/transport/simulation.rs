//! The dynamic solver: a [`Simulation`] that can be started, stepped and finished.
//!
//! One step, per pollutant: (1) the node pass mixes what flows into every node and fixes the mass flux
//! through both end faces of every reach (and the ghost values the limiter reads); (2) the cell kernel
//! advances every cell in parallel over fixed-size chunks; (3) sources and withdrawals are applied; (4) the
//! ledger is updated. Nothing in the step allocates, hashes or does I/O; the per-face and per-cell coefficients
//! are recomputed in place only when the flow period changes.

use super::kernel::{StepData, face_value, step_chunk};
use super::layout::{
    Coeffs, DAY_S, Layout, PeriodFlows, end_face, inflow_conc, outlet_conc, source_rate,
    temp_factor,
};
use super::steady;
use super::{MassBalance, RunResults, TransportError, TransportOptions};
use crate::hydraulics::Hydraulics;
use crate::model::{InitialState, Mode, Model};
use crate::network::Network;
use rayon::prelude::*;

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
    /// Concentrations per pollutant, extended indexing, mg/L.
    conc: Vec<Vec<f64>>,
    conc_new: Vec<Vec<f64>>,
    /// Mixed concentration per pollutant per node (the state of storage nodes), mg/L.
    node_c: Vec<Vec<f64>>,
    bflux: Vec<f64>,
    decay: Vec<f64>,
    partial: Vec<f64>,
    t_s: f64,
    output_times: Vec<f64>,
    next_out: usize,
    ledger_g: Vec<[f64; 4]>,
    mass0_g: Vec<f64>,
    results: RunResults,
    warned_substep: bool,
    done: bool,
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
        let mut sim = Simulation {
            model,
            net,
            hyd,
            opts: opts.clone(),
            conc: vec![vec![0.0; lay.n_ext]; np],
            conc_new: vec![vec![0.0; lay.n_ext]; np],
            node_c: vec![vec![0.0; net.n_nodes]; np],
            bflux: vec![0.0; 2 * net.n_reaches],
            decay: vec![1.0; net.n_reaches],
            partial: vec![0.0; n_chunks],
            lay,
            flows,
            co,
            period: 0,
            t_s: 0.0,
            output_times,
            next_out: 0,
            ledger_g: vec![[0.0; 4]; np],
            mass0_g: vec![0.0; np],
            results: RunResults {
                output_times_s: Vec::new(),
                pollutants: model.pollutants.clone(),
                section_conc: Vec::new(),
                reach_conc: Vec::new(),
                output_period: Vec::new(),
                mass_balance: Vec::new(),
                warnings: hyd.warnings.clone(),
                steps: 0,
                final_cell_conc: Vec::new(),
            },
            warned_substep: false,
            done: false,
        };

        match (&model.sim.mode, &model.initial) {
            (Mode::Steady, _) => {}
            (_, InitialState::Steady) => sim.solve_steady_into_state(0.0)?,
            (_, InitialState::Zero) => {}
            (_, InitialState::Values(v)) => {
                for p in 0..np {
                    let val = v.get(p).copied().unwrap_or(0.0);
                    for r in 0..net.n_reaches {
                        let b = sim.lay.base[r];
                        sim.conc[p][b..b + net.n_cells_of(r)].fill(val);
                    }
                    sim.node_c[p].fill(val);
                }
            }
        }
        if model.sim.mode == Mode::Dynamic {
            for p in 0..np {
                sim.mass0_g[p] = sim.total_mass_g(p);
            }
        }
        Ok(sim)
    }

    /// Replace the initial concentration of pollutant `p` in global cell `g` (mg/L), e.g. to start from a
    /// pulse. Only before the first [`Simulation::step`]: returns `false` (and changes nothing) once stepping
    /// has begun, or for an index out of range.
    pub fn set_initial_cell_conc(&mut self, p: usize, g: usize, conc_mg_l: f64) -> bool {
        if self.next_out > 0
            || self.done
            || p >= self.conc.len()
            || g >= self.net.n_cells
            || self.model.sim.mode == Mode::Steady
        {
            return false;
        }
        let e = self.lay.ext(self.net, g);
        self.conc[p][e] = conc_mg_l;
        true
    }

    /// Time reached, seconds since start.
    pub fn time_s(&self) -> f64 {
        self.t_s
    }

    /// Current concentration of pollutant `p` in global cell `g`, mg/L.
    pub fn cell_conc(&self, p: usize, g: usize) -> f64 {
        self.conc[p][self.lay.ext(self.net, g)]
    }

    /// Current mixed concentration of pollutant `p` at node `n` (the state of a storage node), mg/L.
    pub fn node_conc(&self, p: usize, n: usize) -> f64 {
        self.node_c[p][n]
    }

    /// Mass of pollutant `p` in the network now (cells and ponds), kg.
    pub fn mass_kg(&self, p: usize) -> f64 {
        self.total_mass_g(p) / 1000.0
    }

    /// The stable time step of the current flow period, s (safety factor included).
    pub fn stable_dt_s(&self) -> f64 {
        self.co.dt_stable_s
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
        if let Some(next) = self.hyd.periods.get(self.period + 1) {
            if next.t_start_s > self.t_s && next.t_start_s < target {
                target = next.t_start_s;
            }
        }
        let remaining = target - self.t_s;
        let stable = self.co.dt_stable_s;
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
        // the same 1e-12 relative tolerance as the step count above: a step that equals the stable step up to
        // round-off (velocities from the normal-depth solve differ from their design value in the last bits) is
        // not split, so that the safety factor is not paid twice
        let n_sub = if dt > stable * (1.0 + 1e-12) {
            (dt / stable * (1.0 - 1e-12)).ceil() as usize
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
                let l = self.ledger_g[p];
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
                let l = self.ledger_g[p];
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
        let net = self.net;
        self.results.final_cell_conc = (0..np)
            .map(|p| (0..net.n_cells).map(|g| self.cell_conc(p, g)).collect())
            .collect();
        self.results
    }

    fn total_mass_g(&self, p: usize) -> f64 {
        let mut m = 0.0;
        let c = &self.conc[p];
        for (v, x) in self.co.vol.iter().zip(c.iter()) {
            m += v * x;
        }
        for n in 0..self.net.n_nodes {
            if self.lay.is_storage[n] {
                m += self.co.node_vol[n] * self.node_c[p][n];
            }
        }
        m
    }

    fn switch_period(&mut self, k: usize) -> Result<(), TransportError> {
        let np = self.model.pollutants.len();
        let before: Vec<f64> = (0..np).map(|p| self.total_mass_g(p)).collect();
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
        for (p, b) in before.iter().enumerate() {
            let after = self.total_mass_g(p);
            self.ledger_g[p][VOLUME] += after - b;
        }
        Ok(())
    }

    fn solve_steady_into_state(&mut self, t_s: f64) -> Result<(), TransportError> {
        for p in 0..self.model.pollutants.len() {
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
                &mut self.conc[p],
                &mut self.node_c[p],
            )?;
        }
        Ok(())
    }

    fn step_steady(&mut self) -> Result<bool, TransportError> {
        let i = self.next_out;
        let t = self.output_times[i];
        let k = self.hyd.period_at(t);
        if k != self.period || i == 0 {
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
        }
        self.solve_steady_into_state(t)?;
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
                &self.conc[p],
                &self.node_c[p],
            );
            self.ledger_g[p][IN] += rates[0] * span;
            self.ledger_g[p][OUT] += rates[1] * span;
            self.ledger_g[p][DECAY] += rates[2] * span;
        }
        self.t_s = t;
        self.record_output();
        self.next_out += 1;
        if self.next_out >= self.output_times.len() {
            self.done = true;
        }
        Ok(!self.done)
    }

    /// One explicit step of length `dt` from time `t`, every pollutant.
    fn advance(&mut self, t: f64, dt: f64) -> Result<(), TransportError> {
        let model = self.model;
        let net = self.net;
        let t_mid = t + 0.5 * dt;
        let flows = &self.flows[self.period];
        for p in 0..model.pollutants.len() {
            let theta = temp_factor(model, p, t_mid);
            for (r, f) in self.decay.iter_mut().enumerate() {
                let k = model.reaches[r]
                    .decay_per_day
                    .get(p)
                    .copied()
                    .unwrap_or(0.0)
                    / DAY_S;
                // clamped so that dividing by it (node pass) stays finite
                *f = (-0.5 * k * theta * dt).exp().max(1e-150);
            }
            let led = &mut self.ledger_g[p];
            node_pass(
                model,
                net,
                &self.lay,
                &self.co,
                flows,
                p,
                dt,
                t_mid,
                theta,
                &self.decay,
                &mut self.conc[p],
                &mut self.node_c[p],
                &mut self.bflux,
                led,
            );
            let data = StepData {
                c: &self.conc[p],
                q: &self.co.q_face,
                d: &self.co.d_face,
                vol: &self.co.vol,
                inv_vol: &self.co.inv_vol,
                bflux: &self.bflux,
                decay: &self.decay,
                base: &self.lay.base,
                first_face: &net.first_face,
                n_cells: &net.reach_n_cells,
                order: &self.lay.order,
                chunk_first_rank: &self.lay.chunk_first_rank,
                dt,
            };
            let chunk = self.lay.chunk;
            self.conc_new[p]
                .par_chunks_mut(chunk)
                .zip(self.partial.par_iter_mut())
                .enumerate()
                .for_each(|(k, (out, part))| *part = step_chunk(&data, k, chunk, out));
            let mut decayed = 0.0;
            for &x in &self.partial {
                decayed += x;
            }
            led[DECAY] += decayed;
            if !decayed.is_finite() {
                return Err(self.non_finite(p, t + dt));
            }
            // sources and withdrawals
            let cn = &mut self.conc_new[p];
            let co = &self.co;
            for s in &self.lay.sources {
                // entering at mid-step, a source's mass decays for half a step
                let m = source_rate(model, flows, s, p, t_mid) * dt;
                let h = self.decay[s.reach];
                cn[s.ext] += h * m * co.inv_vol[s.ext];
                led[IN] += m;
                led[DECAY] += (1.0 - h) * m;
            }
            for (i, &(ext, _)) in self.lay.cell_withdrawals.iter().enumerate() {
                let want = co.cell_withdraw_q[i] * self.conc[p][ext] * dt;
                let have = cn[ext] * co.vol[ext];
                let take = want.min(have).max(0.0);
                cn[ext] -= take * co.inv_vol[ext];
                led[OUT] += take;
            }
            if !led[IN].is_finite() {
                return Err(self.non_finite(p, t + dt));
            }
            std::mem::swap(&mut self.conc[p], &mut self.conc_new[p]);
        }
        Ok(())
    }

    fn non_finite(&self, p: usize, t_s: f64) -> TransportError {
        let net = self.net;
        let (mut global_cell, mut reach, mut cell) = (0, 0, 0);
        'outer: for r in 0..net.n_reaches {
            let b = self.lay.base[r];
            for j in 0..net.n_cells_of(r) {
                if !self.conc_new[p][b + j].is_finite() || !self.conc[p][b + j].is_finite() {
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

    fn record_output(&mut self) {
        let model = self.model;
        let net = self.net;
        let np = model.pollutants.len();
        let mut sec = Vec::with_capacity(model.sections.len() * np);
        for s in &model.sections {
            let (a, b, w) = net.section_weights(s.reach, s.at_m);
            let (ea, eb) = (self.lay.ext(net, a), self.lay.ext(net, b));
            for p in 0..np {
                sec.push((1.0 - w) * self.conc[p][ea] + w * self.conc[p][eb]);
            }
        }
        let mut rch = Vec::with_capacity(net.n_reaches * np);
        for r in 0..net.n_reaches {
            let b = self.lay.base[r];
            let n = net.n_cells_of(r);
            let v = &self.co.vol[b..b + n];
            let vt: f64 = v.iter().sum();
            for p in 0..np {
                let c = &self.conc[p][b..b + n];
                let m: f64 = v.iter().zip(c).map(|(v, c)| v * c).sum();
                rch.push(if vt > 0.0 { m / vt } else { 0.0 });
            }
        }
        let t = self.output_times[self.next_out];
        self.results.output_times_s.push(t);
        self.results.section_conc.push(sec);
        self.results.reach_conc.push(rch);
        self.results.output_period.push(self.period);
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

/// Mix every node for pollutant `p` over a step of `dt` seconds: the mass flux through both end faces of every
/// reach (`bflux`, g/s, positive from→to), the nodes' mixed concentrations and pond states, the ghost values,
/// and the ledger entries of the nodes (inflows, water entering at outlets, water leaving, pond decay).
#[allow(clippy::too_many_arguments)]
fn node_pass(
    model: &Model,
    net: &Network,
    lay: &Layout,
    co: &Coeffs,
    flows: &PeriodFlows,
    p: usize,
    dt: f64,
    t_mid: f64,
    theta: f64,
    half: &[f64],
    c: &mut [f64],
    node_c: &mut [f64],
    bflux: &mut [f64],
    led: &mut [f64; 4],
) {
    for n in 0..net.n_nodes {
        let cn = node_c[n];
        let mut rate = 0.0;
        for &(r, to_end) in lay.ends(n) {
            let (face, into) = end_face(net, r, to_end, &co.q_face);
            if into > 0.0 {
                let nr = net.n_cells_of(r);
                let b = lay.base[r];
                // the far-upwind neighbour of a one-cell reach is the other end's ghost
                let (u, uu, iu) = if to_end {
                    (c[b + nr - 1], c[b + nr - 2], b + nr - 1)
                } else {
                    (c[b], c[b + 1], b)
                };
                let nu = into * dt * co.inv_vol[iu];
                let fv = face_value(uu, u, cn, nu);
                // the water leaves the reach after half a step of decay (Strang splitting)
                rate += half[r] * into * fv;
                bflux[2 * r + to_end as usize] = co.q_face[face] * fv;
            }
        }
        let mut ext_in = 0.0;
        for &i in lay.inflows(n) {
            ext_in += flows.inflow_q[i] * inflow_conc(model, i, p, t_mid);
        }
        let ex = co.exchange[n];
        if ex < 0.0 {
            ext_in += -ex * outlet_conc(model, n, p, t_mid);
        }
        led[IN] += ext_in * dt;
        rate += ext_in;
        let qout = co.node_q_out[n];
        let leave = co.node_q_leave[n];
        let v = co.node_vol[n];
        // concentration carried by the water leaving the node during the step
        let m = if lay.is_storage[n] && v > 0.0 {
            let k = lay.node_decay_per_day[p][n] / DAY_S * theta;
            let sink = qout + k * v;
            let (c_new, integral) = if sink > 0.0 {
                let lam = sink / v;
                let c_eq = rate / sink;
                let one_minus_e = -(-lam * dt).exp_m1();
                let integral = c_eq * dt + (cn - c_eq) * one_minus_e / lam;
                (cn + (rate * dt - sink * integral) / v, integral)
            } else {
                (cn + rate * dt / v, cn * dt + 0.5 * rate * dt * dt / v)
            };
            node_c[n] = c_new;
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
            let qin = co.node_q_in[n];
            if qin > 0.0 {
                node_c[n] = rate / qin;
            }
            m
        };
        led[OUT] += leave * m * dt;
        for &(r, to_end) in lay.ends(n) {
            let (face, into) = end_face(net, r, to_end, &co.q_face);
            if into <= 0.0 {
                // the kernel multiplies by h again: hand in the entering flux divided by h
                bflux[2 * r + to_end as usize] = co.q_face[face] * m / half[r];
            }
        }
    }
    for n in 0..net.n_nodes {
        let cn = node_c[n];
        for &(r, to_end) in lay.ends(n) {
            let b = lay.base[r];
            let g = if to_end { b + net.n_cells_of(r) } else { b - 1 };
            c[g] = cn;
        }
    }
}
