//! The node system of one Newton iteration: continuity at every node whose level is free, in the level
//! corrections ΔZ of the nodes alone.
//!
//! At a free node i with storage area A_s (a storage node's `area_m2`; 0 elsewhere, since the reach's boxes
//! hold all of the channel's water), over a step of Δt with weight θ,
//!
//!   A_s·(Z_i − Z°_i)/Δt = Σ_ends s·[θ·Q_end + (1 − θ)·Q°_end] + Σ_structures s·Q_s + Q_in − W_i − Q_out,
//!
//! where s = +1 at a reach's or structure's `to` end and −1 at its `from` end, Q_in the inflows, W_i the
//! withdrawals (with their suction cut) and Q_out a free outfall's rating. Structures are fully implicit: a
//! gate that shuts at a step passes nothing during it. Every term is linear in the corrections about the
//! iterate (the reach ends through their condensed relations, the rest by their slopes), which gives one
//! row per free node: a matrix with the pattern of the node adjacency and unsymmetric values. Nodes with a
//! held level (an outlet's tide, a junction holding a level) are not unknowns: their correction is known and
//! moves to the right-hand side.
//!
//! The matrix is factorised by [`Ldu`] in a minimum-degree order computed once; the structure never changes
//! during a run (a shut gate keeps its entries, with value 0), so only the numeric factorisation runs at
//! each iteration. Diagonal values are kept in the `upper` array only (where [`Ldu::factor`] reads them).

use crate::hydraulics::sparse::{Ldu, minimum_degree_order};

const NONE: usize = usize::MAX;

/// The factorised node system.
#[derive(Debug, Clone)]
pub struct NodeSystem {
    /// Each node's position among the unknowns, NONE for a held level.
    pos: Vec<usize>,
    /// The node at each position.
    node_at: Vec<usize>,
    /// The value index of each position's diagonal.
    diag: Vec<usize>,
    /// For each link, the value index of its pair of off-diagonal entries (NONE when an end is held or the
    /// link joins a node to itself).
    slots: Vec<usize>,
    /// For each link between two distinct free nodes, where its four entries sit in the value arrays:
    /// (from, from), (from, to), (to, from), (to, to), each as an index into `upper` (< nnz) or `lower`
    /// (≥ nnz, offset by nnz); NONE otherwise.
    quads: Vec<[usize; 4]>,
    ldu: Ldu,
    upper: Vec<f64>,
    lower: Vec<f64>,
    rhs: Vec<f64>,
}

impl NodeSystem {
    /// The structure for `n_nodes` nodes, `held[i]` for the nodes whose level is given, and `links` as
    /// (from, to) node pairs (reaches and structures, in the order the assembly will name them).
    pub fn new(n_nodes: usize, held: &[bool], links: &[(usize, usize)]) -> NodeSystem {
        let free: Vec<usize> = (0..n_nodes).filter(|&i| !held[i]).collect();
        let mut pre = vec![NONE; n_nodes];
        for (k, &i) in free.iter().enumerate() {
            pre[i] = k;
        }
        let nf = free.len();
        let coupled = |&(a, b): &(usize, usize)| a != b && pre[a] != NONE && pre[b] != NONE;
        let mut deg = vec![0usize; nf + 1];
        for l in links.iter().filter(|l| coupled(l)) {
            deg[pre[l.0] + 1] += 1;
            deg[pre[l.1] + 1] += 1;
        }
        for i in 0..nf {
            deg[i + 1] += deg[i];
        }
        let mut fill = deg.clone();
        let mut adj = vec![0usize; deg[nf]];
        for l in links.iter().filter(|l| coupled(l)) {
            let (a, b) = (pre[l.0], pre[l.1]);
            adj[fill[a]] = b;
            fill[a] += 1;
            adj[fill[b]] = a;
            fill[b] += 1;
        }
        let order = minimum_degree_order(nf, &deg, &adj);
        let node_at: Vec<usize> = order.iter().map(|&k| free[k]).collect();
        let mut pos = vec![NONE; n_nodes];
        for (k, &i) in node_at.iter().enumerate() {
            pos[i] = k;
        }
        // the upper pattern by columns: the diagonal and, for each coupled link, (min, max) in column max
        let mut rows: Vec<Vec<usize>> = (0..nf).map(|k| vec![k]).collect();
        for l in links.iter().filter(|l| coupled(l)) {
            let (a, b) = (pos[l.0], pos[l.1]);
            rows[a.max(b)].push(a.min(b));
        }
        let (mut ap, mut ai) = (Vec::with_capacity(nf + 1), Vec::new());
        ap.push(0);
        for col in &mut rows {
            col.sort_unstable();
            col.dedup();
            ai.extend_from_slice(col);
            ap.push(ai.len());
        }
        let find = |row: usize, col: usize| {
            ap[col] + ai[ap[col]..ap[col + 1]].binary_search(&row).unwrap_or(0)
        };
        let diag: Vec<usize> = (0..nf).map(|k| find(k, k)).collect();
        let slots: Vec<usize> = links
            .iter()
            .map(|l| {
                if coupled(l) {
                    let (a, b) = (pos[l.0], pos[l.1]);
                    find(a.min(b), a.max(b))
                } else {
                    NONE
                }
            })
            .collect();
        let nnz = ai.len();
        let quads = links
            .iter()
            .zip(&slots)
            .map(|(l, &p)| {
                if p == NONE {
                    return [NONE; 4];
                }
                let (kf, kt) = (pos[l.0], pos[l.1]);
                // A[kf][kt] is the upper value when kf comes first, else the lower one
                let (ft, tf) = if kf < kt { (p, nnz + p) } else { (nnz + p, p) };
                [diag[kf], ft, tf, diag[kt]]
            })
            .collect();
        NodeSystem {
            pos,
            node_at,
            diag,
            slots,
            quads,
            ldu: Ldu::new(nf, ap, ai),
            upper: vec![0.0; nnz],
            lower: vec![0.0; nnz],
            rhs: vec![0.0; nf],
        }
    }

    /// Zero the matrix and the right-hand side.
    pub fn clear(&mut self) {
        self.upper.fill(0.0);
        self.lower.fill(0.0);
        self.rhs.fill(0.0);
    }

    /// Add `v` to the right-hand side of node `i`'s row (ignored for a held node).
    #[inline]
    pub fn add_rhs(&mut self, i: usize, v: f64) {
        if let Some(&k) = self.pos.get(i).filter(|&&k| k != NONE) {
            self.rhs[k] += v;
        }
    }

    /// Add `v`·ΔZ_col to node `row`'s equation, `link` being the link that couples them (any link at `row`
    /// when `row == col`). A held `col` moves to the right-hand side with its known correction `dz[col]`.
    #[inline]
    pub fn add(&mut self, link: usize, row: usize, col: usize, v: f64, dz: &[f64]) {
        let kr = self.pos[row];
        if kr == NONE {
            return;
        }
        let kc = self.pos[col];
        if kc == NONE {
            self.rhs[kr] -= v * dz[col];
        } else if kr == kc {
            self.upper[self.diag[kr]] += v;
        } else {
            // A[kr][kc] is the stored upper value when kr comes first, else the lower one
            let p = self.slots[link];
            if kr < kc {
                self.upper[p] += v;
            } else {
                self.lower[p] += v;
            }
        }
    }

    /// Add a link's four coefficients `v` = (from, from), (from, to), (to, from), (to, to): `v[0]`·ΔZ_from +
    /// `v[1]`·ΔZ_to to the from node's equation, `v[2]`·ΔZ_from + `v[3]`·ΔZ_to to the to node's.
    #[inline]
    pub fn add_link(&mut self, link: usize, from: usize, to: usize, v: [f64; 4], dz: &[f64]) {
        let q = self.quads[link];
        if q[0] != NONE {
            // both ends free and distinct: straight into the values (the diagonal lives in `upper`)
            let nnz = self.upper.len();
            for (&p, &x) in q.iter().zip(&v) {
                if p < nnz {
                    self.upper[p] += x;
                } else {
                    self.lower[p - nnz] += x;
                }
            }
            return;
        }
        self.add(link, from, from, v[0], dz);
        self.add(link, from, to, v[1], dz);
        self.add(link, to, from, v[2], dz);
        self.add(link, to, to, v[3], dz);
    }

    /// Add `v` to node `i`'s diagonal (ignored for a held node).
    #[inline]
    pub fn add_diag(&mut self, i: usize, v: f64) {
        let k = self.pos[i];
        if k != NONE {
            self.upper[self.diag[k]] += v;
        }
    }

    /// Factorise and solve; writes ΔZ of every free node into `dz` (held nodes keep theirs). `Err(node)` names
    /// a node whose pivot vanished (no storage and nothing that ties its level).
    pub fn solve(&mut self, dz: &mut [f64]) -> Result<(), usize> {
        self.ldu
            .factor(&self.upper, &self.lower)
            .map_err(|k| self.node_at[k])?;
        self.ldu.solve_in_place(&mut self.rhs);
        for (k, &i) in self.node_at.iter().enumerate() {
            dz[i] = self.rhs[k];
        }
        Ok(())
    }
}
