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
//! The elimination depends on Δt, D and V only, not on the pollutant or the concentrations, so its pivots
//! are computed once per flow period and step length ([`Factors::refresh`]) and stored as 1/m_i (8 bytes
//! per cell, allocated only when a run uses the implicit path); every pollutant and step then runs only the
//! two substitution sweeps, with positive coefficients (g = Δt·D, g_0 = g_n = 0):
//!
//!   m_i = V_i + g_i + g_{i+1} − g_i·g_i/m_{i−1}
//!   forward  y_i = (V_i·C*_i + g_i·y_{i−1})/m_i;    backward  C_i = y_i + (g_{i+1}/m_i)·C_{i+1}.
//!
//! Each reach is solved by the same operations whichever thread runs it, so the result does not depend on
//! the number of threads.
//!
//! Reference: Patankar, S.V. (1980) *Numerical Heat Transfer and Fluid Flow*, §4.2 (the tridiagonal-matrix
//! algorithm) and §4.3 (the fully implicit scheme's positivity); Varga, R.S. (1962) *Matrix Iterative
//! Analysis*, §3.5 (M-matrices).

use super::layout::{Coeffs, Layout};
use crate::network::Network;

/// The factored backward-Euler dispersion operator of every reach, for one flow period and step length:
/// the inverse pivots 1/m_i in extended indexing (ghost slots unused).
#[derive(Debug, Clone, Default)]
pub(crate) struct Factors {
    /// Step length the factors are for, s (NaN: not factored).
    dt_s: f64,
    /// 1/m_i, 1/m³ (empty until first factored).
    inv_m: Vec<f64>,
    /// For a follower that carries many values per cell, the sweeps' coefficients per slot with the pivots
    /// folded in, (V_i/m_i, g_i/m_i, g_{i+1}/m_i), g = Δt·D and 0 at a reach's ends: the forward sweep is
    /// then y_i = (g_i/m_i)·y_{i−1} + (V_i/m_i)·C*_i, one multiply–add in the chain from cell to cell, the
    /// backward one C_i = y_i + (g_{i+1}/m_i)·C_{i+1} (`None`: not kept).
    coef: Option<Vec<[f64; 3]>>,
}

impl Factors {
    /// Not factored, nothing allocated; `coefficients`: keep the sweeps' coefficients too
    /// ([`Factors::coefficients`]).
    pub fn new(coefficients: bool) -> Factors {
        Factors {
            dt_s: f64::NAN,
            inv_m: Vec::new(),
            coef: coefficients.then(Vec::new),
        }
    }

    /// The sweeps' coefficients per slot (empty unless asked for at [`Factors::new`]).
    pub fn coefficients(&self) -> &[[f64; 3]] {
        self.coef.as_deref().unwrap_or(&[])
    }

    /// Forget the factorisation (the coefficients changed).
    pub fn invalidate(&mut self) {
        self.dt_s = f64::NAN;
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.inv_m.capacity() * std::mem::size_of::<f64>()
            + self
                .coef
                .as_ref()
                .map_or(0, |c| c.capacity() * std::mem::size_of::<[f64; 3]>())
    }

    /// Factor the operator of every reach for step `dt` unless it already is, to 1e-12 relative. The
    /// steps of one output interval are equal up to a rounding error of the division that makes them;
    /// refactoring for every such ulp would cost a division per cell per step, while using the pivots of a
    /// step 1e-12 longer or shorter changes nothing that matters: the sweeps use the step the pivots were
    /// made for (`dt_s`), so they still solve a conservative, positive backward-Euler step of that length.
    /// Allocates once, on the first call of a run.
    pub fn refresh(&mut self, net: &Network, lay: &Layout, co: &Coeffs, dt: f64) {
        if (dt - self.dt_s).abs() <= 1e-12 * dt {
            return;
        }
        self.dt_s = dt;
        self.inv_m.resize(lay.n_ext, 0.0);
        if let Some(c) = &mut self.coef {
            c.resize(lay.n_ext, [0.0; 3]);
        }
        for r in 0..net.n_reaches {
            let n = net.n_cells_of(r);
            let b = lay.base[r];
            let f0 = net.first_face[r];
            let d = &co.d_face[f0..f0 + n + 1];
            let v = &co.vol[b..b + n];
            let inv = &mut self.inv_m[b..b + n];
            // the end faces carry no dispersion (d[0] = d[n] = 0 in `Coeffs::fill`)
            let mut inv_prev = 0.0;
            for i in 0..n {
                let gl = if i == 0 { 0.0 } else { dt * d[i] };
                let gr = if i + 1 == n { 0.0 } else { dt * d[i + 1] };
                let m = v[i] + gl + gr - gl * (gl * inv_prev);
                inv[i] = 1.0 / m;
                inv_prev = inv[i];
                if let Some(c) = &mut self.coef {
                    c[b + i] = [v[i] * inv[i], gl * inv[i], gr * inv[i]];
                }
            }
        }
    }
}

/// Solve the reaches of layout ranks `lay.batch_rank[b0] .. lay.batch_rank[b1]` in place; `c` holds the
/// extended slots from `offset` on. With `parallel`, the batches are split in halves recursively with
/// `rayon::join` (the split points are reach boundaries, so no reach is shared).
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_batches(
    net: &Network,
    lay: &Layout,
    co: &Coeffs,
    f: &Factors,
    disp: &[f64],
    c: &mut [f64],
    offset: usize,
    b0: usize,
    b1: usize,
    parallel: bool,
) {
    if parallel && b1 - b0 > 1 {
        let mid = (b0 + b1) / 2;
        let split = lay.batch_start(mid) - offset;
        let (a, b) = c.split_at_mut(split);
        rayon::join(
            || solve_batches(net, lay, co, f, disp, a, offset, b0, mid, true),
            || solve_batches(net, lay, co, f, disp, b, offset + split, mid, b1, true),
        );
        return;
    }
    for rank in lay.batch_rank[b0]..lay.batch_rank[b1] {
        let r = lay.order[rank];
        let n = net.n_cells_of(r);
        if n < 2 || disp[r] <= 0.0 {
            continue;
        }
        let b = lay.base[r];
        let f0 = net.first_face[r];
        solve_reach(
            &mut c[b - offset..b - offset + n],
            &co.vol[b..b + n],
            &co.d_face[f0..f0 + n + 1],
            &f.inv_m[b..b + n],
            f.dt_s,
        );
    }
}

/// The two substitution sweeps of one reach (see the module docs), in place: `v` the cell volumes, `d`
/// the n + 1 face conductances (ends 0), `inv_m` the inverse pivots for step `dt`.
#[inline]
fn solve_reach(c: &mut [f64], v: &[f64], d: &[f64], inv_m: &[f64], dt: f64) {
    let n = c.len();
    let (v, d, inv_m) = (&v[..n], &d[..n + 1], &inv_m[..n]);
    let mut y = v[0] * c[0] * inv_m[0];
    c[0] = y;
    for i in 1..n {
        y = (v[i] * c[i] + dt * d[i] * y) * inv_m[i];
        c[i] = y;
    }
    let mut x = c[n - 1];
    for i in (0..n - 1).rev() {
        x = c[i] + dt * d[i + 1] * inv_m[i] * x;
        c[i] = x;
    }
}
