//! Sparse symmetric positive definite solves for the looped solver: a minimum-degree fill-reducing order and
//! an LDLᵀ factorisation with a fixed symbolic structure.
//!
//! The node-continuity matrix of a river network is a weighted graph Laplacian with the fixed-level nodes
//! removed: symmetric, positive definite, and — for near-tree plain networks — almost a tree. Eliminating
//! nodes in minimum-degree order (Tinney scheme 2, 1967; George & Liu, *Computer Solution of Large Sparse
//! Positive Definite Systems*, 1981, ch. 5) eliminates the leaves of a tree with no fill at all, so the
//! factor of a tree has exactly n − 1 off-diagonal entries and a few hundred loops add only a little fill.
//!
//! The factorisation is A = L·D·Lᵀ (L unit lower triangular, D diagonal) computed row by row ("up-looking")
//! with the elimination tree: the pattern of row k of L is the set of nodes reached from the entries of
//! column k of the upper triangle of A by walking up the elimination tree (Davis, *Direct Methods for Sparse
//! Linear Systems*, SIAM 2006, §4.1 and §4.6; Liu 1990). The symbolic part (elimination tree and column
//! counts) is computed once per structure in O(nnz(L)); every numeric factorisation reuses it and allocates
//! nothing, so a Newton iteration can refactor its matrix cheaply.
//!
//! Why not `nalgebra_sparse::factorization::CscCholesky`: its symbolic factorisation clears and refills a
//! mark array of length n for every column (O(n²) work: about 10¹⁰ byte writes for a 100,000-node network),
//! which alone would exceed the one-second budget. The numeric algorithm here is the same Cholesky, in LDLᵀ
//! form to avoid square roots; a test checks it against `CscCholesky` on a small matrix.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A minimum-degree elimination order of the undirected graph given in CSR form (`adj_start`, `adj`;
/// self-entries and duplicates are allowed and ignored). Returns `order` with `order[k]` = the node
/// eliminated k-th. Ties are broken by the lowest node index, so the order is deterministic.
///
/// This is the plain (explicit elimination graph) minimum-degree algorithm: eliminating node v joins all of
/// v's remaining neighbours into a clique. It is fast when the fill is small, as on river networks.
pub fn minimum_degree_order(n: usize, adj_start: &[usize], adj: &[usize]) -> Vec<usize> {
    // The original neighbours stay in one flat array (sorted, deduplicated per node, self-entries
    // dropped); fill edges go to a per-node overflow list, which allocates only for nodes that get fill.
    let mut start = Vec::with_capacity(n + 1);
    let mut flat: Vec<u32> = Vec::with_capacity(adj.len());
    start.push(0usize);
    for i in 0..n {
        let s0 = flat.len();
        flat.extend(
            adj[adj_start[i]..adj_start[i + 1]]
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| j as u32),
        );
        flat[s0..].sort_unstable();
        let mut w = s0;
        for r in s0..flat.len() {
            if r == s0 || flat[r] != flat[w - 1] {
                flat[w] = flat[r];
                w += 1;
            }
        }
        flat.truncate(w);
        start.push(flat.len());
    }
    let mut extra: Vec<Vec<u32>> = (0..n).map(|_| Vec::new()).collect();
    let mut deg: Vec<usize> = (0..n).map(|i| start[i + 1] - start[i]).collect();
    let mut done = vec![false; n];
    let mut heap: BinaryHeap<Reverse<(usize, usize)>> =
        (0..n).map(|i| Reverse((deg[i], i))).collect();
    let mut order = Vec::with_capacity(n);
    let mut nv: Vec<u32> = Vec::new();
    while let Some(Reverse((d, v))) = heap.pop() {
        if done[v] || d != deg[v] {
            continue; // stale entry
        }
        done[v] = true;
        order.push(v);
        nv.clear();
        nv.extend(
            flat[start[v]..start[v + 1]]
                .iter()
                .chain(extra[v].iter())
                .copied()
                .filter(|&x| !done[x as usize]),
        );
        extra[v] = Vec::new();
        for &a in &nv {
            deg[a as usize] -= 1; // v is gone
        }
        if nv.len() > 1 {
            for &a in &nv {
                let au = a as usize;
                for &b in &nv {
                    if b != a
                        && !flat[start[au]..start[au + 1]].contains(&b)
                        && !extra[au].contains(&b)
                    {
                        extra[au].push(b);
                        deg[au] += 1;
                    }
                }
            }
        }
        for &a in &nv {
            let a = a as usize;
            // drop eliminated entries from the overflow list now and then so scans stay short
            if extra[a].len() > 2 * deg[a] + 8 {
                extra[a].retain(|&x| !done[x as usize]);
            }
            heap.push(Reverse((deg[a], a)));
        }
    }
    order
}

/// An LDLᵀ factorisation of a symmetric positive definite matrix whose upper triangle (diagonal included)
/// is given in compressed-column form: column k holds rows i ≤ k at `ap[k]..ap[k+1]` of `ai`.
#[derive(Debug, Clone)]
pub struct Ldl {
    n: usize,
    ap: Vec<usize>,
    ai: Vec<usize>,
    parent: Vec<usize>,
    lp: Vec<usize>,
    lnz: Vec<usize>,
    li: Vec<usize>,
    lx: Vec<f64>,
    d: Vec<f64>,
    y: Vec<f64>,
    pattern: Vec<usize>,
    flag: Vec<usize>,
}

const NONE: usize = usize::MAX;

impl Ldl {
    /// Symbolic analysis of the structure (`ap`, `ai` as described on [`Ldl`]); `ai` rows of a column need not
    /// be sorted. Panics only on a malformed structure (a programming error, never user input).
    pub fn new(n: usize, ap: Vec<usize>, ai: Vec<usize>) -> Ldl {
        assert_eq!(ap.len(), n + 1, "column pointers");
        let mut parent = vec![NONE; n];
        let mut flag = vec![NONE; n];
        let mut lnz = vec![0usize; n];
        for k in 0..n {
            flag[k] = k;
            for &i0 in &ai[ap[k]..ap[k + 1]] {
                let mut i = i0;
                if i < k {
                    while flag[i] != k {
                        if parent[i] == NONE {
                            parent[i] = k;
                        }
                        lnz[i] += 1;
                        flag[i] = k;
                        i = parent[i];
                    }
                }
            }
        }
        let mut lp = vec![0usize; n + 1];
        for k in 0..n {
            lp[k + 1] = lp[k] + lnz[k];
        }
        let nnz = lp[n];
        Ldl {
            n,
            ap,
            ai,
            parent,
            lp,
            lnz,
            li: vec![0; nnz],
            lx: vec![0.0; nnz],
            d: vec![0.0; n],
            y: vec![0.0; n],
            pattern: vec![0; n],
            flag,
        }
    }

    /// Order of the matrix.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of off-diagonal entries of L (the fill of a tree is zero: n − 1 entries for a connected tree).
    pub fn nnz_l(&self) -> usize {
        self.lp[self.n]
    }

    /// Numeric factorisation for values `ax` (aligned with `ai`). Allocates nothing. `Err(k)` if the pivot of
    /// column k is not positive (the matrix is not positive definite).
    #[allow(clippy::needless_range_loop)] // index arithmetic on several arrays at once
    pub fn factor(&mut self, ax: &[f64]) -> Result<(), usize> {
        let n = self.n;
        for k in 0..n {
            self.y[k] = 0.0;
            let mut top = n;
            self.flag[k] = k;
            self.lnz[k] = 0;
            for p in self.ap[k]..self.ap[k + 1] {
                let mut i = self.ai[p];
                if i > k {
                    continue;
                }
                self.y[i] += ax[p];
                let mut len = 0;
                while self.flag[i] != k {
                    self.pattern[len] = i;
                    len += 1;
                    self.flag[i] = k;
                    i = self.parent[i];
                }
                while len > 0 {
                    top -= 1;
                    len -= 1;
                    self.pattern[top] = self.pattern[len];
                }
            }
            self.d[k] = self.y[k];
            self.y[k] = 0.0;
            for t in top..n {
                let i = self.pattern[t];
                let yi = self.y[i];
                self.y[i] = 0.0;
                let p2 = self.lp[i] + self.lnz[i];
                for p in self.lp[i]..p2 {
                    self.y[self.li[p]] -= self.lx[p] * yi;
                }
                let l_ki = yi / self.d[i];
                self.d[k] -= l_ki * yi;
                self.li[p2] = k;
                self.lx[p2] = l_ki;
                self.lnz[i] += 1;
            }
            // a NaN pivot also fails here
            if self.d[k] <= 0.0 || self.d[k].is_nan() {
                return Err(k);
            }
        }
        Ok(())
    }

    /// Solve A·x = b in place (`x` holds b on entry). Call after a successful [`Ldl::factor`].
    #[allow(clippy::needless_range_loop)]
    pub fn solve_in_place(&self, x: &mut [f64]) {
        let n = self.n;
        for j in 0..n {
            let xj = x[j];
            for p in self.lp[j]..self.lp[j + 1] {
                x[self.li[p]] -= self.lx[p] * xj;
            }
        }
        for j in 0..n {
            x[j] /= self.d[j];
        }
        for j in (0..n).rev() {
            let mut s = x[j];
            for p in self.lp[j]..self.lp[j + 1] {
                s -= self.lx[p] * x[self.li[p]];
            }
            x[j] = s;
        }
    }
}
