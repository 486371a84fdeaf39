//! One time step of one pollutant, in a fixed order of stages:
//!
//! 1. **decay factors**: the half-step factors h = exp(−k·θ^(T−20)·Δt/2) of every reach (Strang splitting:
//!    the transport step sits between two half-steps of decay), recomputed only when Δt or θ changed;
//! 2. **node pass** (`nodes.rs`): every node mixes what flows into it and fixes the mass flux through both
//!    end faces of every reach and the ghost values the limiter reads;
//! 3. **kernel** (`kernel.rs`): every cell's explicit advection–dispersion–decay update, over fixed-size
//!    chunks of cells (in parallel or in order: the same bits);
//! 4. **sources**: outfalls, line loads and bed release enter at mid-step, decayed for half a step;
//! 5. **withdrawals**: a cell withdrawal takes its flow's share of the cell's water, never more than the
//!    cell holds;
//! 6. **dispersion** (`implicit.rs`): when dispersion is implicit, the backward-Euler step of every reach
//!    (it conserves Σ V·C, so the ledger needs no entry);
//!
//! then the new state becomes the current one. The ledger books what enters (inflows, outlet water,
//! sources), leaves (outlets, withdrawals) and decays, in grams. A [`Follower`] (none for a plain run) is
//! handed the state before the step, may work beside stages 2–5, and is handed the faces' κ and shares
//! and the old state after them; it runs stage 6 for the run. Nothing here allocates, hashes or does I/O.

use super::follower::{Follower, Step};
use super::implicit::{Factors, solve_batches};
use super::kernel::{StepData, step_chunk};
use super::layout::{
    Coeffs, ConstConc, DAY_S, Layout, PeriodFlows, source_held_until, source_rate, temp_factor,
};
use super::nodes::{NodeStep, node_pass};
use super::options::TransportOptions;
use super::results::{DECAY, IN, OUT};
use crate::model::Model;
use crate::network::Network;
use rayon::prelude::*;
use std::sync::atomic::AtomicU64;

/// What every pollutant's step reads.
pub(super) struct StepCx<'s> {
    pub model: &'s Model,
    pub net: &'s Network,
    pub lay: &'s Layout,
    pub co: &'s Coeffs,
    pub flows: &'s PeriodFlows,
    /// E/Δx² per reach as the explicit kernel sees it (zeros when dispersion is implicit).
    pub disp: &'s [f64],
    /// E/Δx² per reach (the true values).
    pub disp_coef: &'s [f64],
    /// `disp` by layout rank (what the kernel reads).
    pub disp_rank: &'s [f64],
    /// The factored implicit dispersion operator, when dispersion is implicit.
    pub implicit: Option<&'s Factors>,
    /// The flow period in force.
    pub period: usize,
}

impl<'s> StepCx<'s> {
    /// The step of pollutant `p` of length `dt`, with midpoint `t_mid`, temperature factor `theta` and
    /// half-step decay factors `half`, as its stages and a follower read it.
    fn step(&self, p: usize, dt: f64, t_mid: f64, theta: f64, half: &'s [f64]) -> Step<'s> {
        Step {
            net: self.net,
            lay: self.lay,
            co: self.co,
            period: self.period,
            p,
            dt,
            t_mid,
            theta,
            explicit_disp: self.implicit.is_none(),
            disp: self.disp,
            disp_true: self.disp_coef,
            half,
        }
    }
}

/// The state and scratch of one pollutant, and what follows it.
pub(super) struct Lane<F> {
    /// Concentrations, extended indexing (cells and two ghost slots per reach), mg/L.
    pub conc: Vec<f64>,
    pub conc_new: Vec<f64>,
    /// Mixed concentration per node (the state of storage nodes), mg/L.
    pub node_c: Vec<f64>,
    /// Mass flux through the two end faces of every reach, g/s (see `nodes::node_pass`).
    pub bflux: Vec<f64>,
    /// Half-step decay factor h = exp(−kΔt/2) and 1 − h, by layout rank (the order the kernel reads them
    /// in; reach r's are at `Layout::rank[r]`).
    pub decay: Vec<f64>,
    pub decay_loss: Vec<f64>,
    /// Decay rate k per reach, 1/s.
    pub k_per_s: Vec<f64>,
    /// The bits of (Δt, θ) that `decay` and `decay_loss` were computed for (`None`: not yet computed).
    pub decay_for: Option<(u64, u64)>,
    /// Inflow concentrations, mg/L, per inflow (constants resolved once).
    pub inflow_c: ConstConc,
    /// Concentration of water entering at each node from outside, mg/L, per node (constants resolved once).
    pub outlet_c: ConstConc,
    /// Decayed mass per chunk of cells, g.
    pub partial: Vec<f64>,
    /// Ledger: in, out, decayed, volume change, g.
    pub ledger_g: [f64; 4],
    /// A non-finite value appeared in the last step.
    pub failed: bool,
    /// Share of each cell withdrawal's demand that the last step could take (≤ 1 when a cell ran dry).
    pub withdraw_frac: Vec<f64>,
    /// Ledger entries of the node pass per chunk of nodes, g.
    pub node_partial: Vec<[f64; 4]>,
    /// Per source of the layout: its mass rate (g/s) and the time up to which it holds (most series are
    /// step tables), valid for the flow period `src_period`.
    pub src_rate: Vec<(f64, f64)>,
    pub src_period: usize,
    /// Each interior face's limiter weight κ and share C_f/C_U from this step's kernel, as f64 bits at
    /// `[2f]`, `[2f + 1]` (network face f; `kernel::StepData::parts`), when the follower reads them.
    pub face_parts: Vec<AtomicU64>,
    /// What is carried along with this pollutant.
    pub follower: F,
}

/// One step of length `dt` from time `t` of pollutant `p` (stages in the module docs), the kernel's
/// chunks in parallel when `parallel`. Sets `lane.failed` on a non-finite value (the state is then not
/// swapped).
pub(super) fn advance<F: Follower>(
    cx: &StepCx,
    p: usize,
    lane: &mut Lane<F>,
    t: f64,
    dt: f64,
    parallel: bool,
) {
    let t_mid = t + 0.5 * dt;
    let theta = temp_factor(cx.model, p, t_mid);
    // 1. decay factors
    refresh_decay(lane, cx.lay, theta, dt);
    let Lane {
        conc,
        conc_new,
        node_c,
        bflux,
        decay,
        decay_loss,
        inflow_c,
        outlet_c,
        partial,
        ledger_g,
        failed,
        withdraw_frac,
        node_partial,
        src_rate,
        src_period,
        face_parts,
        follower,
        ..
    } = lane;
    let (decay, decay_loss): (&[f64], &[f64]) = (decay, decay_loss);
    let step = cx.step(p, dt, t_mid, theta, decay);
    follower.before(&step, conc, node_c);
    let decayed = follower.beside(&step, || {
        // 2. node pass
        let nodes = NodeStep {
            step: &step,
            model: cx.model,
            flows: cx.flows,
            inflow_c,
            outlet_c,
        };
        node_pass(
            &nodes,
            conc,
            node_c,
            bflux,
            node_partial,
            ledger_g,
            parallel,
        );
        // 3. kernel
        let kernel = kernel_data(cx, &step, conc, bflux, decay_loss, face_parts);
        let decayed = cells(&kernel, cx.lay.chunk, conc_new, partial, parallel);
        ledger_g[DECAY] += decayed;
        // 4. sources
        let cache = (src_rate.as_mut_slice(), src_period);
        add_sources(cx, &step, cache, decay_loss, conc_new, ledger_g);
        // 5. withdrawals
        take_withdrawals(cx, dt, conc, conc_new, withdraw_frac, ledger_g);
        decayed
    });
    if !(decayed.is_finite() && ledger_g[IN].is_finite()) {
        *failed = true;
        return;
    }
    // 6. dispersion (run by the follower, beside its own work)
    let disperse = || implicit_dispersion(cx, conc_new, parallel);
    follower.after(
        &step,
        conc,
        withdraw_frac,
        face_parts,
        cx.implicit,
        disperse,
    );
    std::mem::swap(conc, conc_new);
}

/// What the kernel reads of the step: the old state `c` (ghosts set by the node pass), the end-face
/// fluxes, the decay factors, and where to leave the faces' κ and shares (`face_parts`, when not empty).
fn kernel_data<'s>(
    cx: &StepCx<'s>,
    step: &Step<'s>,
    c: &'s [f64],
    bflux: &'s [f64],
    decay_loss: &'s [f64],
    face_parts: &'s [AtomicU64],
) -> StepData<'s> {
    StepData {
        c,
        q: &cx.co.q_face,
        disp: cx.disp_rank,
        inv_vol: &cx.co.inv_vol,
        bflux,
        decay: step.half,
        decay_loss,
        span: &cx.lay.span,
        chunk_first_rank: &cx.lay.chunk_first_rank,
        dt: step.dt,
        parts: (!face_parts.is_empty()).then_some(face_parts),
    }
}

/// Stage 6: the backward-Euler dispersion of every reach on the new state `c`, when dispersion is
/// implicit (whole batches of reaches in parallel when `parallel`).
fn implicit_dispersion(cx: &StepCx, c: &mut [f64], parallel: bool) {
    if let Some(f) = cx.implicit {
        let batches = cx.lay.batch_rank.len() - 1;
        let (net, lay, co) = (cx.net, cx.lay, cx.co);
        solve_batches(net, lay, co, f, cx.disp_coef, c, 0, 0, batches, parallel);
    }
}

/// The half-step decay factors h = exp(−kθΔt/2) and 1 − h of every reach for step `dt` at temperature
/// factor `theta`, unless they are already those (they depend on k, θ and Δt only).
fn refresh_decay<F>(lane: &mut Lane<F>, lay: &Layout, theta: f64, dt: f64) {
    let key = (dt.to_bits(), theta.to_bits());
    if lane.decay_for == Some(key) {
        return;
    }
    for ((f, loss), &r) in lane
        .decay
        .iter_mut()
        .zip(lane.decay_loss.iter_mut())
        .zip(lay.order.iter())
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

/// The kernel over every chunk of cells into `out` (in parallel or in order); returns the mass decayed in
/// the cells, g, summed over the chunks in order.
fn cells(
    data: &StepData,
    chunk: usize,
    out: &mut [f64],
    partial: &mut [f64],
    parallel: bool,
) -> f64 {
    if parallel {
        out.par_chunks_mut(chunk)
            .zip(partial.par_iter_mut())
            .enumerate()
            .for_each(|(k, (out, part))| *part = step_chunk(data, k, chunk, out));
    } else {
        out.chunks_mut(chunk)
            .zip(partial.iter_mut())
            .enumerate()
            .for_each(|(k, (out, part))| *part = step_chunk(data, k, chunk, out));
    }
    let mut decayed = 0.0;
    for &x in partial.iter() {
        decayed += x;
    }
    decayed
}

/// Stage 4: every source's mass over the step, entering at mid-step and so decayed for half a step. A
/// source's rate is evaluated only when its series has moved on (`cache`: the rate and the time up to
/// which it holds).
fn add_sources(
    cx: &StepCx,
    step: &Step,
    (cache, cache_period): (&mut [(f64, f64)], &mut usize),
    decay_loss: &[f64],
    cn: &mut [f64],
    ledger_g: &mut [f64; 4],
) {
    // the flows, and with them the rates of outfalls with water, change with the period
    if *cache_period != cx.period {
        cache.fill((0.0, f64::NEG_INFINITY));
        *cache_period = cx.period;
    }
    let (p, t_mid, dt) = (step.p, step.t_mid, step.dt);
    for (s, cache) in cx.lay.sources.iter().zip(cache.iter_mut()) {
        let rate = if t_mid < cache.1 {
            cache.0
        } else {
            let r = source_rate(cx.model, cx.flows, s, p, t_mid);
            *cache = (r, source_held_until(cx.model, s, p, t_mid));
            r
        };
        let m = rate * dt;
        let rank = cx.lay.rank[s.reach];
        let h = step.half[rank];
        cn[s.ext] += h * m * cx.co.inv_vol[s.ext];
        ledger_g[IN] += m;
        ledger_g[DECAY] += decay_loss[rank] * m;
    }
}

/// Stage 5: each cell withdrawal takes Q_w·C·Δt of the old concentration C, at most what the cell holds
/// after the update; `withdraw_frac` keeps the share of the demand it could take.
fn take_withdrawals(
    cx: &StepCx,
    dt: f64,
    c: &[f64],
    cn: &mut [f64],
    withdraw_frac: &mut [f64],
    ledger_g: &mut [f64; 4],
) {
    let co = cx.co;
    for (i, &(ext, _)) in cx.lay.cell_withdrawals.iter().enumerate() {
        let want = co.cell_withdraw_q[i] * c[ext] * dt;
        let have = cn[ext] * co.vol[ext];
        let take = want.min(have).max(0.0);
        cn[ext] -= take * co.inv_vol[ext];
        ledger_g[OUT] += take;
        withdraw_frac[i] = if want > 0.0 { take / want } else { 0.0 };
    }
}

/// Whether a run of `pollutants` on `net` is small enough to step on one thread, without the pool
/// (`TransportOptions::serial_cell_lanes`: cell slots, two ghosts per reach included, × pollutants).
pub(super) fn steps_alone(net: &Network, pollutants: usize, opts: &TransportOptions) -> bool {
    (net.n_cells + 2 * net.n_reaches) * pollutants <= opts.serial_cell_lanes
}

/// The decay rate k of pollutant `p` per reach, 1/s, from the model's 1/day.
pub(super) fn decay_per_s(model: &Model, p: usize) -> Vec<f64> {
    model
        .reaches
        .iter()
        .map(|r| r.decay_per_day.get(p).copied().unwrap_or(0.0) / DAY_S)
        .collect()
}
