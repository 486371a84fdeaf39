//! The node pass of a step: everything flowing into a node is mixed completely, and the mixed mass is handed
//! to the outgoing faces, withdrawals and outlet exchange in proportion to their flows.
//!
//! For each node: the water entering through each reach end carries the limited face value of the reach's
//! last cell (after half a step of decay, Strang splitting); boundary inflows enter as Q·C_in; water
//! entering at an outlet (negative exchange) carries the outlet's `concentration`. The mixed concentration
//! leaves through the outgoing faces, the withdrawals and the outlet, so mass is conserved exactly even when
//! the hydraulic continuity has a residual. The pass fixes the mass flux through both end faces of every
//! reach (`bflux`, the kernel's boundary fluxes) and the ghost values the limiter reads.
//!
//! Storage nodes (ponds) are completely mixed volumes integrated exactly over a step with the inflow held
//! constant: C(t+Δt) = C_eq + (C − C_eq)·e^(−λΔt), λ = Q_out/V + k, C_eq = R/(Q_out + kV) (R the inflowing
//! mass rate); the outflow faces carry the step-mean concentration so the ledger closes exactly
//! (Chapra 1997, ch. 9: the completely mixed reactor).

use super::follower::Step;
use super::kernel::face_value;
use super::layout::{ConstConc, DAY_S, PeriodFlows, inflow_conc, outlet_conc};
use super::results::{DECAY, IN, OUT};
use crate::model::Model;
use rayon::prelude::*;

/// One step of a pond (a completely mixed volume `v`, m³) holding `cn` mg/L, with the inflowing mass rate
/// `rate` (g/s) held over the step and the sink `sink` = Q_out + k·V (m³/s): the exact solution of
/// V·dC/dt = rate − sink·C (module docs, "Nodes"). Returns the new concentration and ∫C dt over the step
/// (the water leaving carries its mean, ∫C dt / Δt).
#[inline(always)]
pub(super) fn pond_step(cn: f64, rate: f64, sink: f64, v: f64, dt: f64) -> (f64, f64) {
    Pond::new(sink, v, dt).step(cn, rate)
}

/// The part of [`pond_step`] that does not depend on the concentrations (one exponential per pond and
/// step, however many values share it).
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
pub(super) struct NodeStep<'s> {
    /// The step (network, layout, coefficients, pollutant, times, decay factors).
    pub step: &'s Step<'s>,
    pub model: &'s Model,
    pub flows: &'s PeriodFlows,
    /// Inflow and outlet concentrations (constants resolved once).
    pub inflow_c: &'s ConstConc,
    pub outlet_c: &'s ConstConc,
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
pub(super) fn node_pass(
    ns: &NodeStep,
    c: &mut [f64],
    node_c: &mut [f64],
    bflux: &mut [f64],
    partial: &mut [[f64; 4]],
    led: &mut [f64; 4],
    parallel: bool,
) {
    let lay = ns.step.lay;
    let nn = ns.step.net.n_nodes;
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
        flows,
        inflow_c,
        outlet_c,
        ..
    } = *ns;
    let Step {
        lay,
        co,
        p,
        dt,
        t_mid,
        theta,
        explicit_disp,
        half,
        ..
    } = *ns.step;
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
