//! What a run hands, step by step, to something carried along on its own fluxes: a [`Follower`].
//!
//! A follower of one pollutant's run sees, at every step, the run's state before the step (the cells with
//! the ghost values of the last node pass, the node mixes, the half-step decay factors), may do work of its
//! own beside the run's node pass, kernel, sources and withdrawals, and then sees the run's old state as
//! its kernel read it, the share of each cell withdrawal's demand the run could take, and each interior
//! face's limiter weight κ and share C_f/C_U as the kernel made them (when it asks for them). It never
//! changes the run's state: a run with a follower gives the same bits as one without.
//!
//! A plain run has no follower ([`Alone`], every hook empty and inlined away). Source apportionment and
//! the responses behind project ranking follow runs (`transport/tagged/`).

use super::implicit::Factors;
use super::layout::{Coeffs, Layout};
use super::options::TransportError;
use crate::network::Network;
use std::sync::atomic::AtomicU64;

/// The step as a follower reads it.
pub(crate) struct Step<'s> {
    pub net: &'s Network,
    pub lay: &'s Layout,
    pub co: &'s Coeffs,
    /// The flow period in force and the pollutant.
    pub period: usize,
    pub p: usize,
    /// Step, s; its midpoint, s since start; the temperature factor θ^(T−20) there.
    pub dt: f64,
    pub t_mid: f64,
    pub theta: f64,
    /// Explicit dispersion in this step (the limiter leaves room for it, and the face fluxes carry it).
    pub explicit_disp: bool,
    /// E/Δx² per reach as the explicit kernel sees it (zeros when dispersion is implicit).
    pub disp: &'s [f64],
    /// E/Δx² per reach (the true values, for the implicit dispersion).
    pub disp_true: &'s [f64],
    /// Half-step decay factors by layout rank.
    pub half: &'s [f64],
}

/// Where a follower starts from (its initial state), at time `t_s` of flow period `period`.
pub(crate) struct Start<'s> {
    pub net: &'s Network,
    pub lay: &'s Layout,
    pub co: &'s Coeffs,
    pub period: usize,
    pub t_s: f64,
    pub p: usize,
    /// Sweeps allowed to the steady solver.
    pub max_sweeps: usize,
}

/// Something carried along with one pollutant's run (see the module docs).
pub(crate) trait Follower: Send {
    /// The follower's state at an output time, for another run to go on from.
    type State: Send + Sync;

    /// Whether it reads each interior face's κ and share from the kernel (`kernel::StepData::parts`).
    fn reads_face_parts(&self) -> bool;

    /// Whether it reads the implicit sweeps' coefficients (`Factors::coefficients`).
    fn reads_sweeps(&self) -> bool;

    /// Whether its work per step is large enough to be worth the thread pool even on a small network.
    fn busy(&self) -> bool;

    /// Values it records per section and per reach at an output time (0: none).
    fn width(&self) -> usize;

    /// Set its initial state (`steady`: the steady state of the period in force at `cx.t_s`).
    fn start(&mut self, cx: &Start, steady: bool) -> Result<(), TransportError>;

    /// A step begins: `c` and `node_c` are the run's cells (ghosts as the last node pass set them) and node
    /// mixes before it. The follower works on them now, or keeps a copy to work on in [`Follower::beside`].
    fn before(&mut self, step: &Step, c: &[f64], node_c: &[f64]);

    /// Run `rest` (the run's node pass, kernel, sources and withdrawals; it returns the mass decayed in the
    /// cells) on this thread, and whatever the follower kept from [`Follower::before`] beside it.
    fn beside(&mut self, step: &Step, rest: impl FnOnce() -> f64 + Send) -> f64;

    /// The run's kernel, sources and withdrawals are done: `c` is the old state as the kernel read it,
    /// `withdrawn` the share of each cell withdrawal's demand the run could take, `faces` each interior
    /// face's κ and share (empty unless asked for), `implicit` the dispersion factors when dispersion is
    /// implicit. `disperse` is the run's own remaining work (its implicit dispersion); the follower runs it,
    /// beside its own work if it can.
    fn after(
        &mut self,
        step: &Step,
        c: &[f64],
        withdrawn: &[f64],
        faces: &[AtomicU64],
        implicit: Option<&Factors>,
        disperse: impl FnMut() + Send,
    );

    /// Its values at a section between slots `ea` and `eb` (weight `w` on `eb`), into `out` (`width()`).
    fn section_values(&self, ea: usize, eb: usize, w: f64, out: &mut [f64]);

    /// Its volume-weighted means over slots `b..b + vol.len()` (`vt` the summed volume), into `out`.
    fn reach_values(&self, b: usize, vol: &[f64], vt: f64, out: &mut [f64]);

    /// Its state now.
    fn state(&self) -> Self::State;

    /// Whether `st` has its shape.
    fn fits(&self, st: &Self::State) -> bool;

    /// Take the state `st` (of its shape).
    fn set_state(&mut self, st: &Self::State);
}

/// No follower: a plain run.
pub(crate) struct Alone;

impl Follower for Alone {
    type State = ();

    #[inline(always)]
    fn reads_face_parts(&self) -> bool {
        false
    }

    #[inline(always)]
    fn reads_sweeps(&self) -> bool {
        false
    }

    #[inline(always)]
    fn busy(&self) -> bool {
        false
    }

    #[inline(always)]
    fn width(&self) -> usize {
        0
    }

    #[inline(always)]
    fn start(&mut self, _: &Start, _: bool) -> Result<(), TransportError> {
        Ok(())
    }

    #[inline(always)]
    fn before(&mut self, _: &Step, _: &[f64], _: &[f64]) {}

    #[inline(always)]
    fn beside(&mut self, _: &Step, rest: impl FnOnce() -> f64 + Send) -> f64 {
        rest()
    }

    #[inline(always)]
    fn after(
        &mut self,
        _: &Step,
        _: &[f64],
        _: &[f64],
        _: &[AtomicU64],
        _: Option<&Factors>,
        mut disperse: impl FnMut() + Send,
    ) {
        disperse()
    }

    #[inline(always)]
    fn section_values(&self, _: usize, _: usize, _: f64, _: &mut [f64]) {}

    #[inline(always)]
    fn reach_values(&self, _: usize, _: &[f64], _: f64, _: &mut [f64]) {}

    #[inline(always)]
    fn state(&self) {}

    #[inline(always)]
    fn fits(&self, _: &()) -> bool {
        true
    }

    #[inline(always)]
    fn set_state(&mut self, _: &()) {}
}
