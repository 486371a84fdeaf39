//! Implicit (backward-Euler) dispersion within each reach, split from the explicit advection–decay step.
//!
//! After the advection–decay update has produced C* (mg/L), each reach with n cells solves
//!
//!   V_i·C_i − Δt·D_{i−½}·(C_{i−1} − C_i) − Δt·D_{i+½}·(C_{i+1} − C_i) = V_i·C*_i          (g)
//!
//! with V_i the cell volume (m³), D the dispersive conductances of the explicit scheme (m³/s,
//! `Coeffs::d_face`) and D = 0 on the reach's two end faces (no dispersive flux crosses a node). The matrix
//! A = diag(V) + Δt·L (L the weighted path Laplacian) is tridiagonal, symmetric and strictly diagonally
//! dominant with non-positive off-diagonals: an M-matrix. Hence (i) Gaussian elimination needs no pivoting
//! (Thomas algorithm; every pivot is at least V_i); (ii) A⁻¹ ≥ 0 and A·1 = V, so C = A⁻¹(V∘C*) is a weighted
//! average of the C*_j with non-negative weights summing to 1 — positive, no new extrema, for any Δt;
//! (iii) the column sums of L vanish, so Σ V_i·C_i = Σ V_i·C*_i (mass is conserved to round-off and the
//! ledger needs no entry). Decay is one factor per reach, so it commutes with this within-reach step.
//!
//! The elimination depends on Δt, D and V only, not on the pollutant or the concentrations, so it is
//! factored once per flow period and step length ([`Factors::refresh`]) and every pollutant and step then
//! runs only the two substitution sweeps, with positive coefficients:
//!
//!   m_i = V_i + g_i + g_{i+1} − g_i·w_{i−1},  w_i = g_{i+1}/m_i,  s_i = V_i/m_i,  e_i = g_i/m_i   (g = Δt·D)
//!   forward  y_i = s_i·C*_i + e_i·y_{i−1};    backward  C_i = y_i + w_i·C_{i+1}.
//!
//! Each reach is solved by the same operations whichever thread runs it, so the result does not depend on
//! the number of threads.
//!
//! Reference: Patankar, S.V. (1980) *Numerical Heat Transfer and Fluid Flow*, §4.2 (the tridiagonal-matrix
//! algorithm) and §4.3 (the fully implicit scheme's positivity); Varga, R.S. (1962) *Matrix Iterative
//! Analysis*, §3.5 (M-matrices).

use super::layout::{Coeffs, Layout};
use crate::network::Network;

/// The factored backward-Euler dispersion operator of every reach, for one flow period and step length.
/// Arrays in extended indexing (ghost slots unused).
#[derive(Debug, Clone, Default)]
pub(crate) struct Factors {
    /// Step length the factors are for, s (NaN: not factored).
    dt_s: f64,
    /// V_i/m_i (dimensionless).
    s: Vec<f64>,
    /// g_i/m_i, the weight of the previous forward value (dimensionless).
    e: Vec<f64>,
    /// g_{i+1}/m_i, the weight of the next cell in the back substitution (dimensionless).
    w: Vec<f64>,
}

impl Factors {
    /// Buffers for `n_ext` extended slots, not yet factored.
    pub fn new(n_ext: usize) -> Factors {
        Factors {
            dt_s: f64::NAN,
            s: vec![1.0; n_ext],
            e: vec![0.0; n_ext],
            w: vec![0.0; n_ext],
        }
    }

    /// Forget the factorisation (the coefficients changed).
    pub fn invalidate(&mut self) {
        self.dt_s = f64::NAN;
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.s.capacity() + self.e.capacity() + self.w.capacity()) * std::mem::size_of::<f64>()
    }

    /// Factor the operator of every reach for step `dt` unless it already is, to 1e-12 relative
    /// (no allocation). The steps of one output interval are equal up to a rounding error of the division
    /// that makes them; refactoring for every such ulp would cost a division per cell per step, while
    /// using the factors of a step 1e-12 longer or shorter changes nothing that matters: they still define
    /// an M-matrix with A·1 = V, i.e. a conservative, positive backward-Euler step of that length.
    pub fn refresh(&mut self, net: &Network, lay: &Layout, co: &Coeffs, dt: f64) {
        if (dt - self.dt_s).abs() <= 1e-12 * dt {
            return;
        }
        self.dt_s = dt;
        for r in 0..net.n_reaches {
            let n = net.n_cells_of(r);
            let b = lay.base[r];
            let f0 = net.first_face[r];
            let d = &co.d_face[f0..f0 + n + 1];
            let v = &co.vol[b..b + n];
            let (s, e, w) = (
                &mut self.s[b..b + n],
                &mut self.e[b..b + n],
                &mut self.w[b..b + n],
            );
            // the end faces carry no dispersion (d[0] = d[n] = 0 in `Coeffs::fill`)
            let mut w_prev = 0.0;
            for i in 0..n {
                let gl = if i == 0 { 0.0 } else { dt * d[i] };
                let gr = if i + 1 == n { 0.0 } else { dt * d[i + 1] };
                let m = v[i] + gl + gr - gl * w_prev;
                let inv = 1.0 / m;
                s[i] = v[i] * inv;
                e[i] = gl * inv;
                w[i] = gr * inv;
                w_prev = w[i];
            }
        }
    }
}

/// Solve the reaches of layout ranks `lay.group_rank[g0] .. lay.group_rank[g1]` in place; `c` holds the
/// extended slots from `offset` on. With `parallel`, the groups are split in halves recursively with
/// `rayon::join` (the split points are reach boundaries, so no reach is shared).
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_groups(
    net: &Network,
    lay: &Layout,
    f: &Factors,
    disp: &[f64],
    c: &mut [f64],
    offset: usize,
    g0: usize,
    g1: usize,
    parallel: bool,
) {
    if parallel && g1 - g0 > 1 {
        let mid = (g0 + g1) / 2;
        let split = lay.group_start(mid) - offset;
        let (a, b) = c.split_at_mut(split);
        rayon::join(
            || solve_groups(net, lay, f, disp, a, offset, g0, mid, true),
            || solve_groups(net, lay, f, disp, b, offset + split, mid, g1, true),
        );
        return;
    }
    for rank in lay.group_rank[g0]..lay.group_rank[g1] {
        let r = lay.order[rank];
        let n = net.n_cells_of(r);
        if n < 2 || disp[r] <= 0.0 {
            continue;
        }
        let b = lay.base[r];
        solve_reach(
            &mut c[b - offset..b - offset + n],
            &f.s[b..b + n],
            &f.e[b..b + n],
            &f.w[b..b + n],
        );
    }
}

/// The two substitution sweeps of one reach (see the module docs), in place.
#[inline]
fn solve_reach(c: &mut [f64], s: &[f64], e: &[f64], w: &[f64]) {
    let n = c.len();
    let (s, e, w) = (&s[..n], &e[..n], &w[..n]);
    let mut y = 0.0;
    for i in 0..n {
        y = s[i] * c[i] + e[i] * y;
        c[i] = y;
    }
    let mut x = c[n - 1];
    for i in (0..n - 1).rev() {
        x = c[i] + w[i] * x;
        c[i] = x;
    }
}
