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

/// An LDU factorisation A = L·D·U of a square matrix with a *symmetric pattern* but unsymmetric values (L unit
/// lower triangular, D diagonal, U unit upper triangular), with no pivoting beyond the fill-reducing order the
/// caller has already applied.
///
/// The node system of unsteady network flow has the pattern of the network's node adjacency (a reach or a
/// structure joins two nodes both ways) but values that differ across the diagonal (the condensed reach
/// relations are not symmetric). The pattern of U is then the transpose of the pattern of L, so both share
/// one elimination tree and one row structure: row k of L and column k of U are found by the same walk up
/// the tree as in [`Ldl`], and two sparse triangular solves give their values (Davis 2006, §4.1 and §6.1,
/// "up-looking" LU for a symmetric pattern). Without pivoting the factorisation is stable when the matrix is
/// diagonally dominant, which a node system with storage is (the caller checks each pivot, [`Ldu::factor`]).
///
/// The structure is given as the upper triangle of the pattern, diagonal included, by columns (`ap`, `ai`
/// as in [`Ldl`]); values come as two arrays aligned with `ai`: `upper[p]` = A\[i,k\] and `lower[p]` =
/// A\[k,i\] for the entry p = (i, k) of column k (the diagonal A\[k,k\] is read from `upper`).
#[derive(Debug, Clone)]
pub struct Ldu {
    n: usize,
    ap: Vec<usize>,
    ai: Vec<usize>,
    parent: Vec<usize>,
    lp: Vec<usize>,
    lnz: Vec<usize>,
    li: Vec<usize>,
    /// Column j of L below the diagonal (rows `li`).
    lx: Vec<f64>,
    /// Row j of U right of the diagonal (columns `li`: the same pattern).
    ux: Vec<f64>,
    d: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    pattern: Vec<usize>,
    flag: Vec<usize>,
}

impl Ldu {
    /// Symbolic analysis of the structure (upper triangle with diagonal, by columns). Panics only on a
    /// malformed structure (a programming error, never user input).
    pub fn new(n: usize, ap: Vec<usize>, ai: Vec<usize>) -> Ldu {
        let sym = Ldl::new(n, ap, ai);
        let nnz = sym.lp[n];
        Ldu {
            n,
            ap: sym.ap,
            ai: sym.ai,
            parent: sym.parent,
            lp: sym.lp,
            lnz: sym.lnz,
            li: vec![0; nnz],
            lx: vec![0.0; nnz],
            ux: vec![0.0; nnz],
            d: vec![0.0; n],
            x: vec![0.0; n],
            y: vec![0.0; n],
            pattern: vec![0; n],
            flag: sym.flag,
        }
    }

    /// Order of the matrix.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of off-diagonal entries of L (equal to those of U).
    pub fn nnz_l(&self) -> usize {
        self.lp[self.n]
    }

    /// Numeric factorisation for the values `upper` and `lower` (aligned with the structure's `ai`, see
    /// [`Ldu`]). Allocates nothing. `Err(k)` when the pivot of column k is not finite or not larger than
    /// `1e-14` times the largest magnitude of A's entries in column k above it and row k left of it (the
    /// matrix is singular, or too far from diagonal dominance to be factorised without pivoting).
    pub fn factor(&mut self, upper: &[f64], lower: &[f64]) -> Result<(), usize> {
        let n = self.n;
        for k in 0..n {
            let top = self.pattern_of(k, upper, lower);
            let (mut dk, mut scale) = (0.0, 0.0f64);
            for p in self.ap[k]..self.ap[k + 1] {
                if self.ai[p] == k {
                    dk = upper[p];
                    scale = scale.max(dk.abs());
                } else {
                    scale = scale.max(upper[p].abs()).max(lower[p].abs());
                }
            }
            // x: column k of U·D (solve L·x = A[0..k, k]); y: row k of D·L (solve Uᵀ·y = A[k, 0..k])
            for t in top..n {
                let j = self.pattern[t];
                let (xj, yj) = (self.x[j], self.y[j]);
                self.x[j] = 0.0;
                self.y[j] = 0.0;
                let p2 = self.lp[j] + self.lnz[j];
                for p in self.lp[j]..p2 {
                    let i = self.li[p];
                    self.x[i] -= self.lx[p] * xj;
                    self.y[i] -= self.ux[p] * yj;
                }
                let dj = self.d[j];
                dk -= xj * yj / dj;
                self.li[p2] = k;
                self.lx[p2] = yj / dj;
                self.ux[p2] = xj / dj;
                self.lnz[j] += 1;
            }
            if !(dk.is_finite() && dk.abs() > 1e-14 * scale) {
                return Err(k);
            }
            self.d[k] = dk;
        }
        Ok(())
    }

    /// Scatter column k's off-diagonal values into `x` (upper part) and `y` (the mirrored lower part), and
    /// put the rows reached in the elimination tree into `pattern[top..n]` in topological order. Returns
    /// `top`.
    fn pattern_of(&mut self, k: usize, upper: &[f64], lower: &[f64]) -> usize {
        let n = self.n;
        let mut top = n;
        self.flag[k] = k;
        self.lnz[k] = 0;
        self.x[k] = 0.0;
        self.y[k] = 0.0;
        for p in self.ap[k]..self.ap[k + 1] {
            let mut i = self.ai[p];
            if i >= k {
                continue;
            }
            self.x[i] += upper[p];
            self.y[i] += lower[p];
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
        top
    }

    /// Solve A·x = b in place (`x` holds b on entry). Call after a successful [`Ldu::factor`].
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
                s -= self.ux[p] * x[self.li[p]];
            }
            x[j] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Ldu, minimum_degree_order};

    /// A deterministic pseudo-random number in [0, 1) (a 64-bit LCG), so the test needs no crate.
    fn rand(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// LDU on a symmetric pattern with unsymmetric values against dense Gaussian elimination: a ring of 40
    /// nodes with chords (loops, so the factor has fill), values off the diagonal drawn independently on
    /// each side, the diagonal dominant as in a node system with storage. Solutions agree to 1e-12
    /// relative (both are backward stable on a well-conditioned matrix of order 40).
    #[test]
    fn ldu_solves_an_unsymmetric_matrix_with_symmetric_pattern() {
        let n = 40;
        let mut seed = 7u64;
        let mut edges: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
        edges.extend([(0, 20), (5, 33), (12, 27), (3, 9)]);
        let mut dense = vec![vec![0.0; n]; n];
        for &(a, b) in &edges {
            dense[a][b] = -0.2 - rand(&mut seed);
            dense[b][a] = -0.2 - rand(&mut seed);
        }
        for i in 0..n {
            let off: f64 = (0..n).filter(|&j| j != i).map(|j| dense[i][j].abs()).sum();
            dense[i][i] = off + 0.1 + rand(&mut seed);
        }
        // minimum-degree order, then the permuted matrix's upper pattern by columns
        let mut adj_start = vec![0usize; n + 1];
        let mut adj = Vec::new();
        for i in 0..n {
            for j in 0..n {
                if i != j && dense[i][j] != 0.0 {
                    adj.push(j);
                }
            }
            adj_start[i + 1] = adj.len();
        }
        let order = minimum_degree_order(n, &adj_start, &adj);
        let (mut ap, mut ai, mut up, mut lo) = (vec![0usize], Vec::new(), Vec::new(), Vec::new());
        for k in 0..n {
            for i in 0..=k {
                let (ri, ck) = (order[i], order[k]);
                if dense[ri][ck] != 0.0 || i == k {
                    ai.push(i);
                    up.push(dense[ri][ck]);
                    lo.push(dense[ck][ri]);
                }
            }
            ap.push(ai.len());
        }
        let mut ldu = Ldu::new(n, ap, ai);
        ldu.factor(&up, &lo).expect("dominant matrix factorises");
        assert!(ldu.nnz_l() >= n, "the loops give fill");
        let b: Vec<f64> = (0..n).map(|_| rand(&mut seed) - 0.5).collect();
        let mut x: Vec<f64> = order.iter().map(|&o| b[o]).collect();
        ldu.solve_in_place(&mut x);
        let mut sol = vec![0.0; n];
        for k in 0..n {
            sol[order[k]] = x[k];
        }
        // dense Gaussian elimination with partial pivoting
        let mut m = dense.clone();
        let mut rhs = b.clone();
        for c in 0..n {
            let piv = (c..n)
                .max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
                .unwrap();
            m.swap(c, piv);
            rhs.swap(c, piv);
            for r in c + 1..n {
                let f = m[r][c] / m[c][c];
                for k in c..n {
                    m[r][k] -= f * m[c][k];
                }
                rhs[r] -= f * rhs[c];
            }
        }
        let mut want = vec![0.0; n];
        for r in (0..n).rev() {
            let s: f64 = (r + 1..n).map(|k| m[r][k] * want[k]).sum();
            want[r] = (rhs[r] - s) / m[r][r];
        }
        let scale = want.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for i in 0..n {
            assert!(
                (sol[i] - want[i]).abs() <= 1e-12 * scale,
                "x[{i}] {} vs {}",
                sol[i],
                want[i]
            );
        }
    }

    /// A zero pivot is reported with its column, not divided by.
    #[test]
    fn ldu_reports_a_singular_matrix() {
        // [[1, 1], [1, 1]]: the second pivot is 0
        let mut ldu = Ldu::new(2, vec![0, 1, 3], vec![0, 0, 1]);
        assert_eq!(ldu.factor(&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.0]), Err(1));
    }
}
