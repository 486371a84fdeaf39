//! Static layout of the transport state and the per-period coefficients.
//!
//! Concentrations live in an *extended* array: the cells of each reach, in the network's cell order, with one
//! ghost slot before and after every reach (`[ghost_from, cell 0, …, cell n−1, ghost_to]`). The ghosts hold
//! the mixed concentration of the end nodes, so the limiter's far-upwind value across a junction is the node's
//! mixed concentration and the hot loop needs no special cases. Per-cell coefficients (volume and its inverse)
//! use the same extended indexing; per-face coefficients (flow, dispersive conductance) use the network's face
//! indexing (`Network::faces_of`).

use super::kernel::Span;
use super::options::TransportError;
use crate::hydraulics::FlowField;
use crate::model::{Discharge, Model, NodeKind, Place, Series};
use crate::network::Network;

/// Seconds per day.
pub(crate) const DAY_S: f64 = 86_400.0;

/// A source of mass into one cell.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SourceKind {
    /// An outfall discharging water with a concentration (index into `Model::outfalls`).
    OutfallFlow(usize),
    /// An outfall discharging mass only (index into `Model::outfalls`).
    OutfallLoad(usize),
    /// A share of a line load (index into `Model::line_loads`, share of its total in this cell).
    Line(usize, f64),
    /// Internal release over the bed: reach index and the cell's bed area, m².
    Release(usize, f64),
}

/// A source and the extended index of its cell.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    pub ext: usize,
    pub reach: usize,
    pub kind: SourceKind,
}

/// Static layout, built once per simulation.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Length of the extended arrays.
    pub n_ext: usize,
    /// Extended index of cell 0 of each reach.
    pub base: Vec<usize>,
    /// Reaches in layout order (`Network::reach_order`).
    pub order: Vec<usize>,
    /// Layout rank of each reach (the inverse of `order`).
    pub rank: Vec<usize>,
    /// Cells per work chunk.
    pub chunk: usize,
    /// First layout rank touching each chunk.
    pub chunk_first_rank: Vec<usize>,
    /// Cells and faces of each reach by layout rank (what the kernel reads).
    pub span: Vec<Span>,
    /// The ghost slots of one-cell reaches with the node whose value they take (set after the node pass,
    /// which reads them as far-upwind values).
    pub late_ghosts: Vec<(usize, usize)>,
    /// Batches of whole reaches for the parallel implicit dispersion solve: batch b holds the layout ranks
    /// `batch_rank[b] .. batch_rank[b + 1]` (about `chunk` cells each; the last entry is the number of
    /// reaches). The extended slots of a batch are `batch_start(b) .. batch_start(b + 1)`.
    pub batch_rank: Vec<usize>,
    /// The order the node pass visits the nodes in (see `Layout::new`), and each node's position in it.
    pub node_seq: Vec<usize>,
    pub node_pos: Vec<usize>,
    /// Reach ends at each node (CSR over the positions of `node_seq`): (reach, `true` = the reach's
    /// to-end); node n's ends are `node_end[node_end_start[node_pos[n]]..node_end_start[node_pos[n] + 1]]`
    /// ([`Layout::end_range`]).
    pub node_end_start: Vec<usize>,
    pub node_end: Vec<(usize, bool)>,
    /// Inflows at each node (CSR over the positions of `node_seq`, indices into `Model::inflows`).
    pub node_inflow_start: Vec<usize>,
    pub node_inflow: Vec<usize>,
    /// Withdrawals at each node (CSR, indices into `Model::withdrawals`).
    pub node_withdraw_start: Vec<usize>,
    pub node_withdraw: Vec<usize>,
    /// Withdrawals along reaches: (extended cell index, withdrawal index).
    pub cell_withdrawals: Vec<(usize, usize)>,
    /// Mass sources in cells.
    pub sources: Vec<Source>,
    /// Storage nodes.
    pub is_storage: Vec<bool>,
    /// Decay of a storage node per pollutant, 1/day: the mean over the reaches that touch it.
    pub node_decay_per_day: Vec<Vec<f64>>,
}

impl Layout {
    pub fn new(model: &Model, net: &Network, chunk: usize) -> Layout {
        let n_r = net.n_reaches;
        let order = net.reach_order.clone();
        let mut base = vec![0usize; n_r];
        for (s, &r) in order.iter().enumerate() {
            base[r] = net.first_cell[r] + 2 * s + 1;
        }
        let n_ext = net.n_cells + 2 * n_r;
        let chunk = chunk.max(16);
        let n_chunks = n_ext.div_ceil(chunk).max(1);
        let mut chunk_first_rank = vec![0usize; n_chunks];
        let mut s = 0usize;
        for (k, first) in chunk_first_rank.iter_mut().enumerate() {
            let lo = k * chunk;
            // the block of rank s spans [base − 1, base + n + 1)
            while s < n_r && base[order[s]] + net.reach_n_cells[order[s]] < lo {
                s += 1;
            }
            *first = s;
        }

        // whole reaches in layout order, cut into batches once a batch holds `chunk` cells
        let mut batch_rank = vec![0usize];
        let mut cells = 0usize;
        for (s, &r) in order.iter().enumerate() {
            if cells >= chunk {
                batch_rank.push(s);
                cells = 0;
            }
            cells += net.reach_n_cells[r];
        }
        batch_rank.push(n_r);

        let mut ends: Vec<Vec<(usize, bool)>> = vec![Vec::new(); net.n_nodes];
        for (r, reach) in model.reaches.iter().enumerate() {
            ends[reach.from].push((r, false));
            ends[reach.to].push((r, true));
        }
        // the order the node pass visits the nodes in: by the first cell slot among their reach ends, so
        // that consecutive nodes read and write cells close together (the reaches are laid out in flow
        // order); the ends are stored in that order too, so the per-node records stream
        let first_slot = |&(r, to_end): &(usize, bool)| {
            if to_end {
                base[r] + net.reach_n_cells[r] - 1
            } else {
                base[r]
            }
        };
        let mut node_seq: Vec<usize> = (0..net.n_nodes).collect();
        node_seq.sort_by_key(|&n| ends[n].iter().map(first_slot).min().unwrap_or(usize::MAX));
        let mut node_pos = vec![0usize; net.n_nodes];
        for (k, &n) in node_seq.iter().enumerate() {
            node_pos[n] = k;
        }
        let (node_end_start, node_end) = flatten(
            node_seq
                .iter()
                .map(|&n| std::mem::take(&mut ends[n]))
                .collect(),
        );
        let mut inf: Vec<Vec<usize>> = vec![Vec::new(); net.n_nodes];
        for (i, f) in model.inflows.iter().enumerate() {
            inf[f.node].push(i);
        }
        // in visit order too (the node pass reads them node after node)
        let (node_inflow_start, node_inflow) = flatten(
            node_seq
                .iter()
                .map(|&n| std::mem::take(&mut inf[n]))
                .collect(),
        );
        let mut wd: Vec<Vec<usize>> = vec![Vec::new(); net.n_nodes];
        let mut cell_withdrawals = Vec::new();
        for (i, w) in model.withdrawals.iter().enumerate() {
            match w.place {
                Place::Node(n) => wd[n].push(i),
                Place::Reach { reach, at_m } => {
                    let g = net.cell_at(reach, at_m);
                    cell_withdrawals.push((ext_of(net, &base, g), i));
                }
            }
        }
        let (node_withdraw_start, node_withdraw) = flatten(wd);

        let mut sources = Vec::new();
        for (i, o) in model.outfalls.iter().enumerate() {
            let ext = ext_of(net, &base, net.cell_at(o.reach, o.at_m));
            let kind = match o.discharge {
                Discharge::Flow { .. } => SourceKind::OutfallFlow(i),
                Discharge::Load { .. } => SourceKind::OutfallLoad(i),
            };
            sources.push(Source {
                ext,
                reach: o.reach,
                kind,
            });
        }
        for (i, l) in model.line_loads.iter().enumerate() {
            let (a, b) = if l.from_m <= l.to_m {
                (l.from_m, l.to_m)
            } else {
                (l.to_m, l.from_m)
            };
            let len = b - a;
            let dx = net.reach_dx_m[l.reach];
            for c in 0..net.n_cells_of(l.reach) {
                let (x0, x1) = (c as f64 * dx, (c + 1) as f64 * dx);
                let share = if len > 0.0 {
                    ((x1.min(b) - x0.max(a)).max(0.0)) / len
                } else if a >= x0 && (a < x1 || c + 1 == net.n_cells_of(l.reach)) {
                    1.0
                } else {
                    0.0
                };
                if share > 0.0 {
                    sources.push(Source {
                        ext: base[l.reach] + c,
                        reach: l.reach,
                        kind: SourceKind::Line(i, share),
                    });
                    if len <= 0.0 {
                        break;
                    }
                }
            }
        }
        for (r, reach) in model.reaches.iter().enumerate() {
            if reach.release_g_m2_day.iter().any(|&v| v != 0.0) {
                let bed = net.reach_dx_m[r] * reach.section.bed_width_m();
                for c in 0..net.n_cells_of(r) {
                    sources.push(Source {
                        ext: base[r] + c,
                        reach: r,
                        kind: SourceKind::Release(r, bed),
                    });
                }
            }
        }

        let np = model.pollutants.len();
        let is_storage: Vec<bool> = model
            .nodes
            .iter()
            .map(|n| n.kind == NodeKind::Storage)
            .collect();
        let mut node_decay_per_day = vec![vec![0.0; net.n_nodes]; np];
        for n in 0..net.n_nodes {
            let k = node_pos[n];
            let e = &node_end[node_end_start[k]..node_end_start[k + 1]];
            if e.is_empty() {
                continue;
            }
            for (p, nd) in node_decay_per_day.iter_mut().enumerate() {
                let sum: f64 = e
                    .iter()
                    .map(|&(r, _)| {
                        model.reaches[r]
                            .decay_per_day
                            .get(p)
                            .copied()
                            .unwrap_or(0.0)
                    })
                    .sum();
                nd[n] = sum / e.len() as f64;
            }
        }

        let span = order
            .iter()
            .map(|&r| Span {
                base: base[r],
                n: net.reach_n_cells[r],
                face: net.first_face[r],
            })
            .collect();
        let late_ghosts = (0..n_r)
            .filter(|&r| net.reach_n_cells[r] == 1)
            .flat_map(|r| {
                let reach = &model.reaches[r];
                [(base[r] - 1, reach.from), (base[r] + 1, reach.to)]
            })
            .collect();
        Layout {
            n_ext,
            base,
            rank: {
                let mut rank = vec![0usize; order.len()];
                for (k, &r) in order.iter().enumerate() {
                    rank[r] = k;
                }
                rank
            },
            chunk,
            chunk_first_rank,
            span,
            late_ghosts,
            order,
            batch_rank,
            node_seq,
            node_pos,
            node_end_start,
            node_end,
            node_inflow_start,
            node_inflow,
            node_withdraw_start,
            node_withdraw,
            cell_withdrawals,
            sources,
            is_storage,
            node_decay_per_day,
        }
    }

    /// First extended slot of implicit-solve batch `b` (the ghost before its first reach), for
    /// `b ≤ number of batches` (the end of the last batch is `n_ext`).
    pub fn batch_start(&self, b: usize) -> usize {
        match self.order.get(self.batch_rank[b]) {
            Some(&r) => self.base[r] - 1,
            None => self.n_ext,
        }
    }

    /// Reach ends at node `n`.
    pub fn ends(&self, n: usize) -> &[(usize, bool)] {
        let (a, b) = self.end_range(n);
        &self.node_end[a..b]
    }

    /// The range of node `n`'s reach ends in `node_end` (and in `Coeffs::ends`).
    pub fn end_range(&self, n: usize) -> (usize, usize) {
        let k = self.node_pos[n];
        (self.node_end_start[k], self.node_end_start[k + 1])
    }

    /// Inflows at node `n`.
    pub fn inflows(&self, n: usize) -> &[usize] {
        self.inflows_at(self.node_pos[n])
    }

    /// Inflows at the node of position `k` in `node_seq`.
    pub fn inflows_at(&self, k: usize) -> &[usize] {
        &self.node_inflow[self.node_inflow_start[k]..self.node_inflow_start[k + 1]]
    }

    /// Withdrawals at node `n`.
    pub fn withdrawals(&self, n: usize) -> &[usize] {
        &self.node_withdraw[self.node_withdraw_start[n]..self.node_withdraw_start[n + 1]]
    }

    /// Extended index of global cell `g`.
    pub fn ext(&self, net: &Network, g: usize) -> usize {
        ext_of(net, &self.base, g)
    }
}

fn ext_of(net: &Network, base: &[usize], g: usize) -> usize {
    let r = net.cell_reach[g] as usize;
    base[r] + (g - net.first_cell[r])
}

/// Lists of items as one CSR: `start[k]..start[k + 1]` are list k's items.
pub(super) fn flatten<T: Copy>(lists: Vec<Vec<T>>) -> (Vec<usize>, Vec<T>) {
    let mut start = Vec::with_capacity(lists.len() + 1);
    let mut items = Vec::new();
    start.push(0);
    for l in lists {
        items.extend(l);
        start.push(items.len());
    }
    (start, items)
}

/// The flows of one period that transport reads from the model (series averaged over the period, as the
/// hydraulics does), one per model item.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeriodFlows {
    pub inflow_q: Vec<f64>,
    pub withdraw_q: Vec<f64>,
    pub outfall_q: Vec<f64>,
}

impl PeriodFlows {
    pub fn new(model: &Model, field: &FlowField) -> PeriodFlows {
        let (t0, t1) = (field.t_start_s, field.t_end_s);
        PeriodFlows {
            inflow_q: model
                .inflows
                .iter()
                .map(|i| i.flow_m3s.mean(t0, t1))
                .collect(),
            withdraw_q: model
                .withdrawals
                .iter()
                .map(|w| w.flow_m3s.mean(t0, t1).max(0.0))
                .collect(),
            outfall_q: model
                .outfalls
                .iter()
                .map(|o| match &o.discharge {
                    Discharge::Flow { flow_m3s, .. } => flow_m3s.mean(t0, t1).max(0.0),
                    Discharge::Load { .. } => 0.0,
                })
                .collect(),
        }
    }
}

/// Coefficients of one flow period, recomputed in place when the period changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Coeffs {
    /// Face flow, m³/s (network face indexing).
    pub q_face: Vec<f64>,
    /// Dispersive conductance E·V_face/Δx², m³/s, V_face the harmonic mean of the two cell volumes (0 on
    /// the two end faces of every reach).
    pub d_face: Vec<f64>,
    /// Cell volume, m³ (extended indexing; 0 in ghost slots).
    pub vol: Vec<f64>,
    /// 1 / cell volume, 1/m³ (extended; 0 in ghost slots).
    pub inv_vol: Vec<f64>,
    /// Water leaving each node: outgoing faces + node withdrawals + outflow exchange, m³/s.
    pub node_q_out: Vec<f64>,
    /// Water entering each node: incoming faces + inflows + inflow exchange, m³/s.
    pub node_q_in: Vec<f64>,
    /// Node withdrawals + outflow exchange (water leaving the network at the node), m³/s.
    pub node_q_leave: Vec<f64>,
    /// Pond volume, m³ (storage nodes; 0 elsewhere).
    pub node_vol: Vec<f64>,
    /// Exchange at each node, m³/s (positive: leaving).
    pub exchange: Vec<f64>,
    /// Largest stable time step with explicit dispersion (Courant and diffusion limits), s (safety factor
    /// included; ∞ when nothing moves).
    pub dt_stable_s: f64,
    /// Largest stable time step of the advection alone (Courant limit; dispersion implicit), s (safety factor
    /// included; ∞ when nothing moves).
    pub dt_advective_s: f64,
    /// Cell withdrawal flows, m³/s, parallel to `Layout::cell_withdrawals`.
    pub cell_withdraw_q: Vec<f64>,
    /// One record per reach end at a node, in the order of `Layout::node_end` (so `Layout::ends(n)` of node
    /// `n` is `ends[node_end_start[n]..node_end_start[n + 1]]`): what the node pass reads, gathered once per
    /// flow period so the per-step pass streams it instead of chasing `first_face` → `q_face`.
    pub ends: Vec<EndRec>,
    /// One record per node in `Layout::node_seq` order: the node pass's per-node data, streamed.
    pub nodes: Vec<NodeRec>,
}

/// The per-period data of one node for the node pass (see [`Coeffs::nodes`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NodeRec {
    /// The node.
    pub node: usize,
    /// Water leaving, entering, and leaving the network at the node, m³/s (`Coeffs::node_q_out`, …).
    pub q_out: f64,
    pub q_in: f64,
    pub leave: f64,
    /// Pond volume, m³, and whether the node is a pond with water (a storage node with volume > 0).
    pub vol: f64,
    pub pond: bool,
    /// Exchange at the node, m³/s (positive: leaving).
    pub exchange: f64,
}

/// The per-period data of one reach end at a node (see [`Coeffs::ends`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EndRec {
    /// Slot of this end in the per-pollutant boundary-flux array: 2·(layout rank of the reach) + (1 at the
    /// to-end), so the kernel reads them in order.
    pub slot: u32,
    /// Extended index of the reach's cell at this end (the upwind cell when water flows into the node), in
    /// the low 31 bits; the top bit is set when the reach has one cell (see [`EndRec::one_cell`]).
    iu_flag: u32,
    /// Face flow at this end, m³/s, positive from→to (network sign).
    pub q: f64,
    /// 1 / volume of cell `iu`, 1/m³.
    pub inv_vol_iu: f64,
    /// Sum of the dispersive conductances of the two faces of cell `iu`, m³/s.
    pub d_sum: f64,
}

// 32 bytes: the node pass streams these every step (a smaller record is less memory traffic); what can be
// derived from the slot is derived
impl EndRec {
    /// This end is the reach's to-end.
    #[inline(always)]
    pub fn is_to_end(&self) -> bool {
        self.slot & 1 == 1
    }

    /// Extended index of the reach's cell at this end.
    #[inline(always)]
    pub fn iu(&self) -> usize {
        (self.iu_flag & !ONE_CELL) as usize
    }

    /// The reach has one cell: its ghosts are the far-upwind values of the node pass at its other end, so
    /// they are set after the pass (`Layout::late_ghosts`), not by the node while others may read them.
    #[inline(always)]
    pub fn one_cell(&self) -> bool {
        self.iu_flag & ONE_CELL != 0
    }

    /// Extended index of the ghost slot beyond this end.
    #[inline(always)]
    pub fn ghost(&self) -> usize {
        if self.is_to_end() {
            self.iu() + 1
        } else {
            self.iu() - 1
        }
    }

    /// Layout rank of the reach.
    #[inline(always)]
    pub fn rank(&self) -> usize {
        (self.slot >> 1) as usize
    }

    /// Flow into the node through this end, m³/s (±`q`).
    #[inline(always)]
    pub fn into(&self) -> f64 {
        if self.is_to_end() { self.q } else { -self.q }
    }

    /// Extended index of the next cell inwards (the far-upwind value; a ghost for a one-cell reach).
    #[inline(always)]
    pub fn uu(&self) -> usize {
        if self.is_to_end() {
            self.iu() - 1
        } else {
            self.iu() + 1
        }
    }
}

impl Coeffs {
    /// The reach of the cell with the smallest stable step of these coefficients (`advective_only`: the
    /// Courant limit alone, as with implicit dispersion); for messages.
    pub fn limiting_reach(&self, net: &Network, lay: &Layout, advective_only: bool) -> usize {
        let mut best = (f64::INFINITY, 0);
        for r in 0..net.n_reaches {
            let f0 = net.first_face[r];
            let b = lay.base[r];
            for j in 0..net.n_cells_of(r) {
                let (ql, qr) = (self.q_face[f0 + j], self.q_face[f0 + j + 1]);
                let a = (qr.max(0.0) + (-ql).max(0.0)) * self.inv_vol[b + j];
                let d = if advective_only {
                    0.0
                } else {
                    (self.d_face[f0 + j] + self.d_face[f0 + j + 1]) * self.inv_vol[b + j]
                };
                let dt = stable_dt(a, d);
                if dt < best.0 {
                    best = (dt, r);
                }
            }
        }
        best.1
    }
}

/// The flag bit of `EndRec::iu_flag`.
const ONE_CELL: u32 = 1 << 31;

impl Coeffs {
    /// Fill the coefficients for `field` (period index `k`), reusing the buffers.
    #[allow(clippy::too_many_arguments)]
    pub fn fill(
        &mut self,
        model: &Model,
        net: &Network,
        lay: &Layout,
        field: &FlowField,
        flows: &PeriodFlows,
        k: usize,
        safety: f64,
    ) -> Result<(), TransportError> {
        check_field(net, field, k)?;
        if lay.n_ext + 2 > ONE_CELL as usize {
            return Err(TransportError::BadFlowField {
                period: k,
                what: format!(
                    "the network has {} cells and reach ends; the transport indexes at most {} (split the \
                     scenario or use longer cells)",
                    lay.n_ext,
                    ONE_CELL - 2
                ),
            });
        }
        let nf = net.n_faces();
        self.q_face.resize(nf, 0.0);
        self.d_face.resize(nf, 0.0);
        self.vol.resize(lay.n_ext, 0.0);
        self.inv_vol.resize(lay.n_ext, 0.0);
        self.q_face.copy_from_slice(&field.face_flow_m3s);
        self.vol.iter_mut().for_each(|v| *v = 0.0);
        self.inv_vol.iter_mut().for_each(|v| *v = 0.0);
        for r in 0..net.n_reaches {
            let n = net.n_cells_of(r);
            let dx = net.reach_dx_m[r];
            let e = model.reaches[r].dispersion_m2s.max(0.0);
            let g0 = net.first_cell[r];
            let f0 = net.first_face[r];
            let b = lay.base[r];
            for j in 0..n {
                let a = field.cell_area_m2[g0 + j];
                if !(a.is_finite() && a > 0.0) {
                    return Err(TransportError::BadFlowField {
                        period: k,
                        what: format!(
                            "cell {j} of reach {} has flow area {a} m²; a positive finite area is needed",
                            model.reaches[r].id
                        ),
                    });
                }
                self.vol[b + j] = a * dx;
                self.inv_vol[b + j] = 1.0 / (a * dx);
            }
            self.d_face[f0] = 0.0;
            self.d_face[f0 + n] = 0.0;
            for j in 1..n {
                // E·V_face/Δx² with V_face the harmonic mean of the two cell volumes — the form the kernel
                // evaluates from the inverse volumes, so it needs no face array of its own
                self.d_face[f0 + j] =
                    e / (dx * dx) * 2.0 / (self.inv_vol[b + j - 1] + self.inv_vol[b + j]);
            }
        }
        self.cell_withdraw_q.clear();
        self.cell_withdraw_q.extend(
            lay.cell_withdrawals
                .iter()
                .map(|&(_, w)| flows.withdraw_q[w]),
        );

        // nodes
        let nn = net.n_nodes;
        for v in [
            &mut self.node_q_out,
            &mut self.node_q_in,
            &mut self.node_q_leave,
            &mut self.node_vol,
            &mut self.exchange,
        ] {
            v.clear();
            v.resize(nn, 0.0);
        }
        for n in 0..nn {
            let (mut qin, mut qout) = (0.0, 0.0);
            for &(r, to_end) in lay.ends(n) {
                let (_, into) = end_face(net, r, to_end, &self.q_face);
                if into > 0.0 {
                    qin += into;
                } else {
                    qout -= into;
                }
            }
            for &i in lay.inflows(n) {
                qin += flows.inflow_q[i];
            }
            let mut leave = 0.0;
            for &w in lay.withdrawals(n) {
                leave += flows.withdraw_q[w];
            }
            let ex = field.node_exchange_m3s[n];
            if ex > 0.0 {
                leave += ex;
            } else {
                qin -= ex;
            }
            self.exchange[n] = ex;
            self.node_q_in[n] = qin;
            self.node_q_out[n] = qout + leave;
            self.node_q_leave[n] = leave;
            if lay.is_storage[n] {
                let v = field.node_volume_m3[n];
                if !(v.is_finite() && v >= 0.0) {
                    return Err(TransportError::BadFlowField {
                        period: k,
                        what: format!(
                            "storage node {} has volume {v} m³; a finite volume ≥ 0 is needed",
                            model.nodes[n].id
                        ),
                    });
                }
                self.node_vol[n] = v;
            }
        }

        // stable steps, with and without the explicit dispersion
        let mut dt = f64::INFINITY;
        let mut dt_adv = f64::INFINITY;
        for r in 0..net.n_reaches {
            let n = net.n_cells_of(r);
            let f0 = net.first_face[r];
            let b = lay.base[r];
            for j in 0..n {
                let (ql, qr) = (self.q_face[f0 + j], self.q_face[f0 + j + 1]);
                let out = qr.max(0.0) + (-ql).max(0.0);
                let a = out * self.inv_vol[b + j];
                let d = (self.d_face[f0 + j] + self.d_face[f0 + j + 1]) * self.inv_vol[b + j];
                dt = dt.min(stable_dt(a, d));
                dt_adv = dt_adv.min(stable_dt(a, 0.0));
            }
        }
        for (i, &(ext, _)) in lay.cell_withdrawals.iter().enumerate() {
            // a withdrawal adds to the water leaving its cell: check that cell again with it included
            let q = self.cell_withdraw_q[i];
            if q > 0.0 {
                let (r, j) = locate(lay, ext);
                let f0 = net.first_face[r];
                let (ql, qr) = (self.q_face[f0 + j], self.q_face[f0 + j + 1]);
                let mut out = qr.max(0.0) + (-ql).max(0.0);
                for (i2, &(e2, _)) in lay.cell_withdrawals.iter().enumerate() {
                    if e2 == ext {
                        out += self.cell_withdraw_q[i2];
                    }
                }
                let a = out * self.inv_vol[ext];
                let d = (self.d_face[f0 + j] + self.d_face[f0 + j + 1]) * self.inv_vol[ext];
                dt = dt.min(stable_dt(a, d));
                dt_adv = dt_adv.min(stable_dt(a, 0.0));
            }
        }
        self.dt_stable_s = safety * dt;
        self.dt_advective_s = safety * dt_adv;

        // the node pass's per-node and per-end records, in visit order
        self.nodes.clear();
        for &n in &lay.node_seq {
            self.nodes.push(NodeRec {
                node: n,
                q_out: self.node_q_out[n],
                q_in: self.node_q_in[n],
                leave: self.node_q_leave[n],
                vol: self.node_vol[n],
                pond: lay.is_storage[n] && self.node_vol[n] > 0.0,
                exchange: self.exchange[n],
            });
        }
        self.ends.clear();
        for &n in &lay.node_seq {
            for &(r, to_end) in lay.ends(n) {
                let face = end_face(net, r, to_end, &self.q_face).0;
                let nr = net.n_cells_of(r);
                let b = lay.base[r];
                let iu = if to_end { b + nr - 1 } else { b };
                let f0 = net.first_face[r];
                let j = iu - b;
                // indices fit in 31 bits (checked above)
                self.ends.push(EndRec {
                    slot: (2 * lay.rank[r] + to_end as usize) as u32,
                    iu_flag: iu as u32 | if nr == 1 { ONE_CELL } else { 0 },
                    q: self.q_face[face],
                    inv_vol_iu: self.inv_vol[iu],
                    d_sum: self.d_face[f0 + j] + self.d_face[f0 + j + 1],
                });
            }
        }
        Ok(())
    }
}

/// The largest Δt with a·Δt·(2 − a·Δt) + d·Δt ≤ 1 (a: outflow rate Q_out/V, d: ΣD/V, both 1/s).
/// For d = 0 this is 1/a (Courant 1); for a = 0 it is 1/d.
pub(crate) fn stable_dt(a: f64, d: f64) -> f64 {
    if a <= 0.0 {
        return if d > 0.0 { 1.0 / d } else { f64::INFINITY };
    }
    // smallest root of a²Δt² − (2a + d)Δt + 1 = 0, in the cancellation-free form 2/(B + sqrt(B² − 4a²))
    let bq = 2.0 * a + d;
    let disc = (bq * bq - 4.0 * a * a).max(0.0);
    2.0 / (bq + disc.sqrt())
}

/// The face of reach `r` at its from-end (`to_end = false`) or to-end, and the flow *into the node* there.
pub(crate) fn end_face(net: &Network, r: usize, to_end: bool, q_face: &[f64]) -> (usize, f64) {
    if to_end {
        let f = net.first_face[r] + net.n_cells_of(r);
        (f, q_face[f])
    } else {
        let f = net.first_face[r];
        (f, -q_face[f])
    }
}

/// Reach and local cell of an extended index that is a cell.
pub(crate) fn locate(lay: &Layout, ext: usize) -> (usize, usize) {
    // the bases increase with the layout rank: binary search
    let s = lay.order.partition_point(|&r| lay.base[r] <= ext);
    let r = lay.order[s.saturating_sub(1)];
    (r, ext - lay.base[r])
}

fn check_field(net: &Network, f: &FlowField, k: usize) -> Result<(), TransportError> {
    let checks = [
        ("face_flow_m3s", f.face_flow_m3s.len(), net.n_faces()),
        ("cell_area_m2", f.cell_area_m2.len(), net.n_cells),
        ("node_exchange_m3s", f.node_exchange_m3s.len(), net.n_nodes),
        ("node_volume_m3", f.node_volume_m3.len(), net.n_nodes),
    ];
    for (what, got, want) in checks {
        if got != want {
            return Err(TransportError::BadFlowField {
                period: k,
                what: format!("`{what}` has {got} entries; the network needs {want}"),
            });
        }
    }
    if let Some(i) = f.face_flow_m3s.iter().position(|q| !q.is_finite()) {
        return Err(TransportError::BadFlowField {
            period: k,
            what: format!(
                "face {i} has flow {}; a finite flow is needed",
                f.face_flow_m3s[i]
            ),
        });
    }
    Ok(())
}

/// Mass rate of a source in g/s for pollutant `p` at time `t_s`.
#[inline]
pub(crate) fn source_rate(
    model: &Model,
    flows: &PeriodFlows,
    s: &Source,
    p: usize,
    t_s: f64,
) -> f64 {
    match s.kind {
        SourceKind::OutfallFlow(i) => match &model.outfalls[i].discharge {
            Discharge::Flow { concentration, .. } => {
                flows.outfall_q[i] * concentration.get(p).map_or(0.0, |c| c.at(t_s))
            }
            Discharge::Load { .. } => 0.0,
        },
        SourceKind::OutfallLoad(i) => match &model.outfalls[i].discharge {
            Discharge::Load { kg_per_day } => {
                kg_per_day.get(p).map_or(0.0, |c| c.at(t_s)) * 1000.0 / DAY_S
            }
            Discharge::Flow { .. } => 0.0,
        },
        SourceKind::Line(i, share) => {
            model.line_loads[i]
                .kg_per_day
                .get(p)
                .map_or(0.0, |c| c.at(t_s))
                * share
                * 1000.0
                / DAY_S
        }
        SourceKind::Release(r, bed_m2) => {
            model.reaches[r]
                .release_g_m2_day
                .get(p)
                .copied()
                .unwrap_or(0.0)
                * bed_m2
                / DAY_S
        }
    }
}

/// The time up to which `source_rate` of `s` keeps its value at `t_s` within a flow period.
pub(crate) fn source_held_until(m: &Model, s: &Source, p: usize, t_s: f64) -> f64 {
    let held = |x: Option<&crate::model::Series>| x.map_or(f64::INFINITY, |x| x.held_until(t_s));
    match s.kind {
        SourceKind::OutfallFlow(i) | SourceKind::OutfallLoad(i) => {
            held(m.outfalls[i].discharge.mass_series().get(p))
        }
        SourceKind::Line(i, _) => held(m.line_loads[i].kg_per_day.get(p)),
        SourceKind::Release(..) => f64::INFINITY,
    }
}

/// Temperature factor θ^(T−20) for pollutant `p` at `t_s` (1 without a temperature series).
#[inline]
pub(crate) fn temp_factor(model: &Model, p: usize, t_s: f64) -> f64 {
    match &model.temperature {
        Some(t) => {
            let th = t.theta.get(p).copied().unwrap_or(1.0);
            if th == 1.0 {
                1.0
            } else {
                th.powf(t.water_c.at(t_s) - 20.0)
            }
        }
        None => 1.0,
    }
}

/// Concentration of water entering at outlet node `n` for pollutant `p`.
#[inline]
pub(crate) fn outlet_conc(model: &Model, n: usize, p: usize, t_s: f64) -> f64 {
    model.nodes[n]
        .concentration
        .get(p)
        .map_or(0.0, |c| c.at(t_s))
}

/// Inflow concentration of inflow `i`.
#[inline]
pub(crate) fn inflow_conc(model: &Model, i: usize, p: usize, t_s: f64) -> f64 {
    model.inflows[i]
        .concentration
        .get(p)
        .map_or(0.0, |c| c.at(t_s))
}

/// Concentrations of a list of series for one pollutant: a constant's value stored densely, so only table
/// series are evaluated per step (a missing series is the constant 0).
pub(crate) struct ConstConc {
    /// The constant value, mg/L (0 for a table series).
    pub value: Vec<f64>,
    /// `true` where the series is a table and must be evaluated at the time.
    pub table: Vec<bool>,
}

impl ConstConc {
    pub fn new<'m>(series: impl Iterator<Item = Option<&'m Series>>) -> ConstConc {
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
    pub fn at(&self, i: usize, eval: impl FnOnce() -> f64) -> f64 {
        if self.table[i] { eval() } else { self.value[i] }
    }
}
