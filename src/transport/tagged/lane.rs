//! One pollutant's groups: their state side by side in blocks of four (one 256-bit vector), the sources,
//! inflows and withdrawals they meet in the order the passes meet them, which blocks are active in each
//! reach, their initial state and their values at the outputs.

use super::groups::Groups;
use crate::model::InitialState;
use crate::network::Network;
use crate::transport::follower::Start;
use crate::transport::layout::{ConstConc, Layout, flatten, locate};
use crate::transport::options::TransportError;
use crate::transport::steady;

/// Groups per block: the groups are stored and updated four at a time (one 256-bit vector of f64).
pub(super) const W: usize = 4;
/// Four groups' values.
pub(super) type B = [f64; W];

/// The groups' state and scratch for one pollutant. Every per-slot array holds the groups side by side,
/// in blocks of [`W`] (`[slot·nb + block][lane]`, group g = W·block + lane; the groups beyond `ng` that
/// pad the last block stay 0), so each operation of the scheme runs over a contiguous row of fixed-size
/// blocks: the compiler turns it into whole-vector arithmetic, and the tridiagonal sweeps, a chain of
/// dependent operations per group, overlap across groups.
pub(super) struct TagLane {
    /// Number of groups, and of blocks per slot.
    pub(super) ng: usize,
    pub(super) nb: usize,
    /// Carrying responses (`Groups::relative`): the split then judges each group by total + response.
    pub(super) relative: bool,
    /// Concentrations, mg/L: `[slot·nb + block]` (extended slots).
    pub(super) conc: Vec<B>,
    pub(super) conc_new: Vec<B>,
    /// Mixed node concentrations, `[node·nb + block]`.
    pub(super) node_c: Vec<B>,
    /// End-face mass fluxes, `[(2·rank + end)·nb + block]` (the reach's layout rank), g/s (entering fluxes divided by the decay
    /// factor, as the total's).
    pub(super) bflux: Vec<B>,
    /// Inflow and outlet concentrations per model (`Groups::model`; constants resolved once).
    pub(super) inflow_c: Vec<ConstConc>,
    pub(super) outlet_c: Vec<ConstConc>,
    /// Scratch for the two halves of the reaches (see `cells_generic`).
    pub(super) scratch: [FaceScratch; 2],
    /// A row of scratch blocks: the node mixing rates.
    pub(super) rate: Vec<B>,
    /// The groups' inflows at each node that bring this pollutant (concentration not the constant 0), as
    /// (group, model, inflow index) in group order (`Groups::inflows_of`; model `ng`, the total's, is
    /// subtracted): CSR over the node-pass positions (`node_in_start`).
    pub(super) node_in: Vec<(u32, u32, u32)>,
    pub(super) node_in_start: Vec<usize>,
    /// For responses: the groups whose outlet water differs from the total's at each node-pass position
    /// (CSR, `node_out_start`).
    pub(super) node_out: Vec<u32>,
    pub(super) node_out_start: Vec<usize>,
    /// Per node-pass position: the blocks of the groups with an inflow that brings something, or water of
    /// their own entering at the node (an outlet), there.
    pub(super) node_src_mask: Vec<u64>,
    /// The groups' cell sources of this pollutant (series not the constant 0), in the order the cell pass
    /// meets them: by reach layout rank, cell, group, and the group's own source order; CSR by rank
    /// (`src_start`).
    pub(super) src: Vec<SrcEv>,
    pub(super) src_start: Vec<usize>,
    /// Parallel to `src`: the source's mass rate (g/s) and the time up to which it holds (the series are
    /// mostly step tables: re-evaluating every one of them at every step was a third of a ranking's tagged
    /// runs), valid for the flow period `cache_period`; and this step's concentration increment, mg/L.
    pub(super) src_cache: Vec<(f64, f64)>,
    pub(super) src_inc: Vec<f64>,
    pub(super) cache_period: usize,
    /// The cell withdrawals as (cell within its reach, index into `Layout::cell_withdrawals`), by reach
    /// layout rank and cell; CSR by rank (`wd_start`).
    pub(super) wd: Vec<(u32, u32)>,
    pub(super) wd_start: Vec<usize>,
    /// Per reach, the blocks that may be non-zero in its cells, one bit per block (all of them when there
    /// are more than 64 blocks): every other block has been exactly 0 there since the start (no group of
    /// it started there, has a source there or has flowed in), and the scheme keeps zeros zero, so the cell
    /// update, the face weights and the implicit sweeps skip those blocks without changing a bit. The set
    /// only grows: with the initial state, with the groups' sources, and as a block's flux first crosses
    /// one of the reach's end faces.
    pub(super) act: Vec<u64>,
}

/// The groups' state of one pollutant at a time (`Simulation::resume_point`): their concentrations, end
/// fluxes and activity.
pub(super) struct TagState {
    relative: bool,
    ng: usize,
    conc: Vec<B>,
    node_c: Vec<B>,
    bflux: Vec<B>,
    act: Vec<u64>,
}

/// A group's cell source as the cell pass meets it.
#[derive(Debug, Clone, Copy)]
pub(super) struct SrcEv {
    /// The cell within its reach.
    pub(super) cell: u32,
    /// The group, the model whose source it is (`Groups::model`: the group's own, or for a response
    /// the total's, subtracted), and the source's index in that model's `Layout::sources`.
    pub(super) g: u32,
    pub(super) m: u32,
    pub(super) k: u32,
    /// The source's reach, its layout rank and its cell's extended index.
    pub(super) reach: u32,
    pub(super) rank: u32,
    pub(super) ext: u32,
}

/// The bit of block `blk` in an activity mask (every bit when masks cannot tell blocks apart).
#[inline(always)]
pub(super) fn bit(blk: usize) -> u64 {
    if blk < 64 { 1 << blk } else { u64::MAX }
}

/// The runs of consecutive active blocks of `mask` among `nb` blocks, as (first, end).
pub(super) fn runs(mask: u64, nb: usize) -> impl Iterator<Item = (usize, usize)> {
    let mut rest = if nb > 64 {
        0
    } else if nb == 64 {
        mask
    } else {
        mask & ((1u64 << nb) - 1)
    };
    let mut whole = nb > 64 && mask != 0;
    std::iter::from_fn(move || {
        if whole {
            whole = false;
            return Some((0, nb));
        }
        if rest == 0 {
            return None;
        }
        let lo = rest.trailing_zeros() as usize;
        let len = (rest >> lo).trailing_ones() as usize;
        rest &= !(((1u128 << (lo + len)) - 1) as u64);
        Some((lo, lo + len))
    })
}

/// The blocks from the first to the last active one of `mask`, as (first, end); empty when none is.
#[inline(always)]
pub(super) fn span(mask: u64, nb: usize) -> (usize, usize) {
    if mask == 0 {
        (0, 0)
    } else if nb > 64 {
        (0, nb)
    } else {
        (
            mask.trailing_zeros() as usize,
            (64 - mask.leading_zeros() as usize).min(nb),
        )
    }
}

/// Group g's value in a row of blocks.
#[inline(always)]
pub(super) fn at(row: &[B], g: usize) -> f64 {
    row[g / W][g % W]
}

/// Group g's value in a row of blocks, mutable.
#[inline(always)]
pub(super) fn at_mut(row: &mut [B], g: usize) -> &mut f64 {
    &mut row[g / W][g % W]
}

impl TagLane {
    pub fn new(groups: &Groups, net: &Network, lay: &Layout, p: usize) -> TagLane {
        let ng = groups.len();
        let nb = ng.div_ceil(W);
        let z = [0.0; W];
        let n_models = groups.lays.len();
        let models = || (0..n_models).map(|m| groups.model(m));
        let mut t = TagLane {
            ng,
            nb,
            relative: groups.relative,
            conc: vec![z; nb * lay.n_ext],
            conc_new: vec![z; nb * lay.n_ext],
            node_c: vec![z; nb * net.n_nodes],
            bflux: vec![z; nb * 2 * net.n_reaches],
            inflow_c: models()
                .map(|m| ConstConc::new(m.inflows.iter().map(|i| i.concentration.get(p))))
                .collect(),
            outlet_c: models()
                .map(|m| ConstConc::new(m.nodes.iter().map(|n| n.concentration.get(p))))
                .collect(),
            scratch: {
                let most = (0..net.n_reaches)
                    .map(|r| net.n_cells_of(r))
                    .max()
                    .unwrap_or(0);
                [FaceScratch::new(most), FaceScratch::new(most)]
            },
            rate: vec![z; nb],
            node_in: Vec::new(),
            node_in_start: Vec::new(),
            node_out: Vec::new(),
            node_out_start: Vec::new(),
            node_src_mask: Vec::new(),
            src: Vec::new(),
            src_start: Vec::new(),
            src_cache: Vec::new(),
            src_inc: Vec::new(),
            cache_period: usize::MAX,
            wd: Vec::new(),
            wd_start: Vec::new(),
            act: vec![0; net.n_reaches],
        };
        // the inflows that bring something, per node-pass position, in group order
        let mut node_in = vec![Vec::new(); lay.node_seq.len()];
        let mut node_out = vec![Vec::new(); lay.node_seq.len()];
        for (k, &n) in lay.node_seq.iter().enumerate() {
            let mut mask = 0;
            for g in 0..ng {
                for (m, i) in groups.inflows_of(g, k, p) {
                    node_in[k].push((g as u32, m as u32, i as u32));
                    mask |= bit(g / W);
                }
                if groups.outlet_differs(g, n, p) {
                    mask |= bit(g / W);
                    node_out[k].push(g as u32);
                }
            }
            t.node_src_mask.push(mask);
        }
        (t.node_in_start, t.node_in) = flatten(node_in);
        (t.node_out_start, t.node_out) = flatten(node_out);
        // the sources that bring something, per reach (by rank), sorted into the cell pass's order (a
        // stable sort keeps each group's own order within a cell, and a response's own sources before
        // the total's). A reach's activity takes a block in only once one of these first brings
        // something (`cells_generic`).
        let mut src = vec![Vec::new(); net.n_reaches];
        for g in 0..ng {
            for (m, k) in groups.sources_of(g, p) {
                let sr = &groups.lays[m].sources[k];
                src[lay.rank[sr.reach]].push(SrcEv {
                    cell: (sr.ext - lay.base[sr.reach]) as u32,
                    g: g as u32,
                    m: m as u32,
                    k: k as u32,
                    reach: sr.reach as u32,
                    rank: lay.rank[sr.reach] as u32,
                    ext: sr.ext as u32,
                });
            }
        }
        src.iter_mut()
            .for_each(|l| l.sort_by_key(|e| (e.cell, e.g)));
        (t.src_start, t.src) = flatten(src);
        t.src_cache = vec![(0.0, f64::NEG_INFINITY); t.src.len()];
        t.src_inc = vec![0.0; t.src.len()];
        // the cell withdrawals, likewise (each cell's in their own order)
        let mut wd = vec![Vec::new(); net.n_reaches];
        for (i, &(ext, _)) in lay.cell_withdrawals.iter().enumerate() {
            let (r, cell) = locate(lay, ext);
            wd[lay.rank[r]].push((cell as u32, i as u32));
        }
        wd.iter_mut().for_each(|l| l.sort_by_key(|&(cell, _)| cell));
        (t.wd_start, t.wd) = flatten(wd);
        t
    }

    /// The groups' state now.
    pub fn state(&self) -> TagState {
        TagState {
            relative: self.relative,
            ng: self.ng,
            conc: self.conc.clone(),
            node_c: self.node_c.clone(),
            bflux: self.bflux.clone(),
            act: self.act.clone(),
        }
    }

    /// Whether `st` has this lane's shape (kind and number of groups, slots).
    pub fn fits(&self, st: &TagState) -> bool {
        st.relative == self.relative
            && st.ng == self.ng
            && st.conc.len() == self.conc.len()
            && st.node_c.len() == self.node_c.len()
            && st.bflux.len() == self.bflux.len()
            && st.act.len() == self.act.len()
    }

    /// Take the state `st` (of this lane's shape: [`TagLane::fits`]); the source rates are evaluated
    /// afresh at the next step.
    pub fn set_state(&mut self, st: &TagState) {
        self.conc.copy_from_slice(&st.conc);
        self.node_c.copy_from_slice(&st.node_c);
        self.bflux.copy_from_slice(&st.bflux);
        self.act.copy_from_slice(&st.act);
        self.cache_period = usize::MAX;
    }

    /// Set the groups' initial state from their models' `InitialState` (`steady`: the steady state of the
    /// period in force at `cx.t_s`, as in steady mode). The steady state is solved per group.
    pub fn initialise(
        &mut self,
        groups: &Groups,
        cx: &Start,
        steady: bool,
    ) -> Result<(), TransportError> {
        let Start {
            net,
            lay,
            co,
            period,
            t_s,
            p,
            max_sweeps,
        } = *cx;
        let (ne, nn, nb) = (lay.n_ext, net.n_nodes, self.nb);
        // model m's initial state (`Groups::model`) into `c` and `nc`
        let state_of = |m: usize, c: &mut [f64], nc: &mut [f64]| -> Result<(), TransportError> {
            let model = groups.model(m);
            c.fill(0.0);
            nc.fill(0.0);
            match (steady, &model.initial) {
                (true, _) | (false, InitialState::Steady) => steady::solve_layout(
                    model,
                    net,
                    &groups.lays[m],
                    co,
                    &groups.flows[m][period],
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
            Ok(())
        };
        let mut c = vec![0.0; ne];
        let mut nc = vec![0.0; nn];
        // a response starts from the difference of the two initial states
        let (mut cb, mut ncb) = (vec![0.0; ne], vec![0.0; nn]);
        if self.relative {
            state_of(self.ng, &mut cb, &mut ncb)?;
        }
        for g in 0..self.ng {
            state_of(g, &mut c, &mut nc)?;
            if self.relative {
                c.iter_mut().zip(&cb).for_each(|(x, b)| *x -= b);
                nc.iter_mut().zip(&ncb).for_each(|(x, b)| *x -= b);
            }
            for (i, &x) in c.iter().enumerate() {
                *at_mut(&mut self.conc[i * nb..(i + 1) * nb], g) = x;
            }
            for (i, &x) in nc.iter().enumerate() {
                *at_mut(&mut self.node_c[i * nb..(i + 1) * nb], g) = x;
            }
            for r in 0..net.n_reaches {
                let b = lay.base[r];
                if c[b..b + net.n_cells_of(r)].iter().any(|&x| x != 0.0) {
                    self.act[r] |= bit(g / W);
                }
            }
        }
        Ok(())
    }

    /// Every group's value at a section between slots `ea` and `eb` (weight `w` on `eb`), into `out`.
    pub fn section_values(&self, ea: usize, eb: usize, w: f64, out: &mut [f64]) {
        let nb = self.nb;
        let (a, b) = (
            &self.conc[ea * nb..(ea + 1) * nb],
            &self.conc[eb * nb..(eb + 1) * nb],
        );
        for (g, o) in out.iter_mut().enumerate().take(self.ng) {
            *o = (1.0 - w) * at(a, g) + w * at(b, g);
        }
    }

    /// Every group's volume-weighted mean over the slots `b..b + vol.len()` (`vt` the summed volume).
    pub fn reach_values(&self, b: usize, vol: &[f64], vt: f64, out: &mut [f64]) {
        let nb = self.nb;
        for (g, o) in out.iter_mut().enumerate().take(self.ng) {
            let mut m = 0.0;
            for (j, &v) in vol.iter().enumerate() {
                m += v * at(&self.conc[(b + j) * nb..(b + j + 1) * nb], g);
            }
            *o = if vt > 0.0 { m / vt } else { 0.0 };
        }
    }
}

/// The total's side of the interior faces of one reach (face j of the reach at index j − 1): Courant
/// number ν, diffusion number, dispersive conductance D (m³/s), limiter weight κ and the share C_f/C_U
/// of the upwind concentration the face carries.
#[derive(Default)]
pub(super) struct FaceScratch {
    /// The groups' flux weights of face j at index j: F = wl·C_left + wr·C_right, m³/s.
    pub wl: Vec<f64>,
    pub wr: Vec<f64>,
    pub nu: Vec<f64>,
    pub dsum: Vec<f64>,
    pub d: Vec<f64>,
    pub kappa: Vec<f64>,
    pub share: Vec<f64>,
}

impl FaceScratch {
    /// Room for reaches of up to `cells` cells.
    pub(super) fn new(cells: usize) -> FaceScratch {
        let v = vec![0.0; cells];
        FaceScratch {
            wl: v.clone(),
            wr: v.clone(),
            nu: v.clone(),
            dsum: v.clone(),
            d: v.clone(),
            kappa: v.clone(),
            share: v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{bit, runs, span};

    #[test]
    fn activity_runs_and_spans() {
        let all = |m: u64, nb: usize| runs(m, nb).collect::<Vec<_>>();
        // blocks 0, 1, 3, 4, 5 and 9 of 12: three runs, spanning 0..10 (hand-read from the bits)
        let m = bit(0) | bit(1) | bit(3) | bit(4) | bit(5) | bit(9);
        assert_eq!(all(m, 12), vec![(0, 2), (3, 6), (9, 10)]);
        assert_eq!(span(m, 12), (0, 10));
        // bits beyond the row are ignored by the runs; nothing active, nothing to do
        assert_eq!(all(bit(2) | bit(7), 5), vec![(2, 3)]);
        assert_eq!(all(0, 8), vec![]);
        assert_eq!(span(0, 8), (0, 0));
        // a full 64-block row is one run; above 64 blocks a mask cannot tell blocks apart: all or nothing
        assert_eq!(all(u64::MAX, 64), vec![(0, 64)]);
        assert_eq!(all(bit(63), 64), vec![(63, 64)]);
        assert_eq!(all(bit(70), 80), vec![(0, 80)]);
        assert_eq!(all(0, 80), vec![]);
        assert_eq!(span(bit(3), 80), (0, 80));
    }
}
