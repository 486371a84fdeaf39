//! The groups' cell pass, reach by reach: the total's face values, κ and shares of the reach's faces, each
//! face's split among the groups, then for every active block one pass over the reach's cells (explicit
//! update, sources, withdrawals, the forward sweep of the implicit dispersion) and a pass back for the
//! backward sweep, while the reach's rows are in cache.

use super::assist;
use super::lane::{B, FaceScratch, SrcEv, TagLane, W, runs, span};
use super::split::split_parts;
use super::step::TagStep;
use crate::transport::implicit::Factors;
use crate::transport::kernel::face_parts;
use std::sync::atomic::Ordering;

/// `$f::<NB, F>(args…, p0)` for every pack of at most [`PACK`] blocks of the blocks `$lo..$hi` of a row
/// (`p0` the pack's first block), with the pack's length as the compile-time `NB`.
macro_rules! for_each_pack {
    ($lo:expr, $hi:expr, $F:ident, $f:ident($($arg:expr),*)) => {{
        let nb = $hi;
        let mut p0 = $lo;
        while p0 < nb {
            let len = (nb - p0).min(PACK);
            match len {
                1 => $f::<1, $F>($($arg,)* p0),
                2 => $f::<2, $F>($($arg,)* p0),
                3 => $f::<3, $F>($($arg,)* p0),
                4 => $f::<4, $F>($($arg,)* p0),
                5 => $f::<5, $F>($($arg,)* p0),
                6 => $f::<6, $F>($($arg,)* p0),
                7 => $f::<7, $F>($($arg,)* p0),
                _ => $f::<8, $F>($($arg,)* p0),
            }
            p0 += len;
        }
    }};
}

/// The groups' cell update, run after the total's kernel and before its state is swapped: `c` is the
/// total's old state as its kernel read it (ghosts set by its node pass), `withdraw_frac` the share of
/// each cell withdrawal's demand that the total could take. Advances every group with the sources of its
/// own model, swaps, and applies the implicit dispersion (`implicit`: the total's factors). `total` is the
/// total's own remaining work of the step (its implicit dispersion, on its new state): it runs with the
/// first half of the reaches, the two halves maybe on two threads (`assist::join`).
///
/// On x86-64 CPUs with AVX2 and FMA the per-reach work is compiled a second time for 256-bit vectors with
/// fused multiply–adds in the groups' per-cell arithmetic, and chosen at run time. (The groups need not repeat
/// the total's bits, only add up to it; a run gives the same bits on any number of threads, but group
/// values may differ between a CPU with FMA and one without: in the last bits, and locally by up to about
/// 0.1% where the split is at its bound, see the module docs.)
pub(super) fn cells(
    s: &TagStep,
    c: &[f64],
    withdraw_frac: &[f64],
    implicit: Option<&Factors>,
    t: &mut TagLane,
    total: &mut (dyn FnMut() + Send),
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return cells_generic::<true>(s, c, withdraw_frac, implicit, t, total);
    }
    cells_generic::<false>(s, c, withdraw_frac, implicit, t, total)
}

/// a·b + c, fused when `F` (only where the CPU has FMA: elsewhere `mul_add` is a slow library call).
#[inline(always)]
fn fmadd<const F: bool>(a: f64, b: f64, c: f64) -> f64 {
    if F { a.mul_add(b, c) } else { a * b + c }
}

/// [`cells`] for `F` = the CPU has AVX2 and FMA (the per-cell arithmetic then enters through
/// [`reach_range_on`], compiled for them).
fn cells_generic<const F: bool>(
    s: &TagStep,
    c: &[f64],
    withdraw_frac: &[f64],
    implicit: Option<&Factors>,
    t: &mut TagLane,
    total: &mut (dyn FnMut() + Send),
) {
    let (lay, net) = (s.lay, s.net);
    let nb = t.nb;
    // reach by reach: the face weights, then every active block's explicit update, sources, withdrawals
    // and implicit dispersion in one pass over the reach's rows while they are in cache. Each reach's
    // work is its own, so the reaches are cut in two halves of about equal work, given to `rayon::join`:
    // a thread with nothing else to do takes the second half (the results do not depend on it).
    // the work measure: cells × active blocks, in tenths; the total's own remaining work (`total`: its
    // implicit dispersion, which runs with the first half) weighs about 0.3 of a block per cell
    let nr = net.n_reaches;
    let work = |k: usize| {
        let r = lay.order[k];
        let (lo, hi) = span(t.act[r], nb);
        10 * net.n_cells_of(r) * (hi - lo)
    };
    let extra = if implicit.is_some() {
        3 * net.n_cells
    } else {
        0
    };
    let total_work = extra + (0..nr).map(work).sum::<usize>();
    let (mut cut, mut acc) = (0, extra);
    while cut < nr && 2 * acc < total_work {
        acc += work(cut);
        cut += 1;
    }
    let TagLane {
        conc,
        conc_new,
        bflux,
        src,
        src_start,
        src_inc,
        wd,
        wd_start,
        act,
        scratch,
        ..
    } = t;
    let ctx = Cells {
        s,
        c,
        withdraw_frac,
        implicit,
        nb,
        conc,
        bflux,
        src,
        src_start,
        src_inc,
        wd,
        wd_start,
        act,
        relative: t.relative,
        sweep_coef: implicit.map_or(&[][..], |f| f.coefficients()),
    };
    let [sc0, sc1] = scratch;
    if cut > 0 && cut < nr {
        // the second half's slots start at the left ghost of its first reach
        let split = (lay.base[lay.order[cut]] - 1) * nb;
        let (a, b) = conc_new.split_at_mut(split);
        let first = || {
            total();
            reach_range_on::<F>(&ctx, 0, cut, a, 0, sc0)
        };
        let second = || reach_range_on::<F>(&ctx, cut, nr, b, split, sc1);
        assist::join(first, second);
    } else {
        total();
        reach_range_on::<F>(&ctx, 0, nr, conc_new, 0, sc0);
    }
    std::mem::swap(&mut t.conc, &mut t.conc_new);
}

/// [`reach_range`], entered with `F` (the CPU has AVX2 and FMA) through a function compiled for them (the
/// caller is not: it may also be a closure that another thread runs, and closures do not inherit target
/// features).
#[inline(always)]
fn reach_range_on<const F: bool>(
    cx: &Cells,
    k0: usize,
    k1: usize,
    out: &mut [B],
    out0: usize,
    sc: &mut FaceScratch,
) {
    #[cfg(target_arch = "x86_64")]
    if F {
        // SAFETY: `F` is set only by `cells`, and only once it has checked that the CPU supports AVX2 and
        // FMA
        unsafe { reach_range_avx2_fma(cx, k0, k1, out, out0, sc) };
        return;
    }
    reach_range::<F>(cx, k0, k1, out, out0, sc)
}

/// [`reach_range`] compiled with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn reach_range_avx2_fma(
    cx: &Cells,
    k0: usize,
    k1: usize,
    out: &mut [B],
    out0: usize,
    sc: &mut FaceScratch,
) {
    reach_range::<true>(cx, k0, k1, out, out0, sc)
}

/// What the cell pass of a step reads.
struct Cells<'a, 's> {
    s: &'a TagStep<'s>,
    /// The total's old state (ghosts set) and the share each cell withdrawal could take.
    c: &'a [f64],
    withdraw_frac: &'a [f64],
    implicit: Option<&'a Factors>,
    /// The groups' old state, end fluxes, sources, withdrawals and activity (see [`TagLane`]).
    nb: usize,
    conc: &'a [B],
    bflux: &'a [B],
    src: &'a [SrcEv],
    src_start: &'a [usize],
    src_inc: &'a [f64],
    wd: &'a [(u32, u32)],
    wd_start: &'a [usize],
    act: &'a [u64],
    /// Carrying responses (`TagLane::relative`).
    relative: bool,
    /// The implicit sweeps' coefficients (`Factors::coefficients`; empty without implicit dispersion).
    sweep_coef: &'a [[f64; 3]],
}

/// The cell pass over the reaches of layout ranks `k0 .. k1`, writing the new state into `out`, the
/// slice of the groups' new state that starts at block row `out0` (`slot·nb + block`) and holds every
/// slot of those reaches.
#[inline(always)]
fn reach_range<const F: bool>(
    cx: &Cells,
    k0: usize,
    k1: usize,
    out: &mut [B],
    out0: usize,
    sc: &mut FaceScratch,
) {
    let (s, c) = (cx.s, cx.c);
    let (lay, co, net) = (s.lay, s.co, s.net);
    let nb = cx.nb;
    for (k, &r) in lay.order.iter().enumerate().take(k1).skip(k0) {
        // the face weights look at every block from the first to the last active one (the zero blocks
        // between cannot bind the split)
        let (lo, hi) = span(cx.act[r], nb);
        if lo >= hi {
            continue;
        }
        let n = net.n_cells_of(r);
        let b = lay.base[r];
        let f0 = net.first_face[r];
        // the flux weights of the interior faces, from the total's state (as `kernel::interior_fluxes`):
        // first the total's face values, limiter weights and shares, face by face without a branch (so
        // they run several faces to a vector), then each face's split among the groups
        total_faces(s, c, r, sc);
        for j in 1..n {
            let f = f0 + j;
            let q = j - 1;
            let qq = co.q_face[f];
            let pos = qq >= 0.0;
            let (iu, id) = if pos {
                (b + j - 1, b + j)
            } else {
                (b + j, b + j - 1)
            };
            // group g's face value wu·u_g + wd·dn_g; the dispersive flux d·(left − right) is linear
            let (ug, dg) = (
                &cx.conc[iu * nb + lo..iu * nb + hi],
                &cx.conc[id * nb + lo..id * nb + hi],
            );
            let (share, kappa, nu, dsum) = (sc.share[q], sc.kappa[q], sc.nu[q], sc.dsum[q]);
            let (wu, wd) = if cx.relative {
                split_parts::<true>(share, kappa, nu, dsum, c[iu], c[id], ug, dg)
            } else {
                split_parts::<false>(share, kappa, nu, dsum, 0.0, 0.0, ug, dg)
            };
            let d = sc.d[q];
            if pos {
                sc.wl[j] = qq * wu + d;
                sc.wr[j] = qq * wd - d;
            } else {
                sc.wl[j] = qq * wd + d;
                sc.wr[j] = qq * wu - d;
            }
        }
        let sweep = cx.implicit.filter(|_| n >= 2 && s.disp_true[r] > 0.0);
        // a pack of at most `PACK` blocks at a time: the row length is then known at compile time, so the
        // per-cell loops over the groups unroll into straight vector code
        for (lo, hi) in runs(cx.act[r], nb) {
            for_each_pack!(lo, hi, F, pack_reach(cx, sc, out, out0, sweep, r, k));
        }
    }
}

/// Fill `out` for the interior faces of reach `r` from the total's old state `c` (extended slots, ghosts
/// set): the same arithmetic as `kernel::interior_fluxes` and [`split`], written without branches.
#[inline(always)]
fn total_faces(s: &TagStep, c: &[f64], r: usize, out: &mut FaceScratch) {
    let (co, net) = (s.co, s.net);
    let n = net.n_cells_of(r);
    if n < 2 {
        return;
    }
    let m = n - 1;
    let b = s.lay.base[r];
    let f0 = net.first_face[r];
    let dt = s.dt;
    let e_dx2 = s.disp[r];
    // c[b − 1 ..= b + n]: the cells and the two ghosts; face j (1 ≤ j < n) sees cw[j − 1 ..= j + 2]
    let cw = &c[b - 1..b + n + 1];
    let iv = &co.inv_vol[b..b + n];
    let qf = &co.q_face[f0 + 1..f0 + n];
    let (nu_o, dsum_o, d_o, kappa_o, share_o) = (
        &mut out.nu[..m],
        &mut out.dsum[..m],
        &mut out.d[..m],
        &mut out.kappa[..m],
        &mut out.share[..m],
    );
    if !s.parts.is_empty() {
        // κ and the share as the total's kernel made them this step (the same arithmetic as `one_face`'s)
        let parts = &s.parts[2 * (f0 + 1)..2 * (f0 + n)];
        for (q, kv) in parts.chunks_exact(2).enumerate() {
            kappa_o[q] = f64::from_bits(kv[0].load(Ordering::Relaxed));
            share_o[q] = f64::from_bits(kv[1].load(Ordering::Relaxed));
        }
        if e_dx2 > 0.0 {
            for q in 0..m {
                (nu_o[q], dsum_o[q], d_o[q]) =
                    face_numbers::<true>(qf[q], iv[q], iv[q + 1], dt, e_dx2);
            }
        } else {
            for q in 0..m {
                (nu_o[q], dsum_o[q], d_o[q]) =
                    face_numbers::<false>(qf[q], iv[q], iv[q + 1], dt, e_dx2);
            }
        }
        return;
    }
    // the dispersion test is per reach: two loops, each free of it
    if e_dx2 > 0.0 {
        for q in 0..m {
            (nu_o[q], dsum_o[q], d_o[q], kappa_o[q], share_o[q]) =
                one_face::<true>(qf[q], &cw[q..q + 4], iv[q], iv[q + 1], dt, e_dx2);
        }
    } else {
        for q in 0..m {
            (nu_o[q], dsum_o[q], d_o[q], kappa_o[q], share_o[q]) =
                one_face::<false>(qf[q], &cw[q..q + 4], iv[q], iv[q + 1], dt, e_dx2);
        }
    }
}

/// A face's Courant number ν, diffusion number and dispersive conductance D (m³/s), as [`one_face`] and
/// the kernel make them: flow `qq`, the inverse volumes of its two cells; `DISP` whether E/Δx² (`e_dx2`) is
/// not 0.
#[inline(always)]
fn face_numbers<const DISP: bool>(
    qq: f64,
    iv_l: f64,
    iv_r: f64,
    dt: f64,
    e_dx2: f64,
) -> (f64, f64, f64) {
    let ivu = if qq >= 0.0 { iv_l } else { iv_r };
    let nu = qq.abs() * dt * ivu;
    let (d, dsum) = if DISP {
        let d = e_dx2 * 2.0 / (iv_l + iv_r);
        (d, 2.0 * d * dt * ivu)
    } else {
        (0.0, 0.0)
    };
    (nu, dsum, d)
}

/// One face of [`total_faces`]: flow `qq`, the four concentrations around it `cw` (the face between
/// `cw[1]` and `cw[2]`), the inverse volumes of its two cells; `DISP` whether E/Δx² (`e_dx2`) is not 0.
#[inline(always)]
fn one_face<const DISP: bool>(
    qq: f64,
    cw: &[f64],
    iv_l: f64,
    iv_r: f64,
    dt: f64,
    e_dx2: f64,
) -> (f64, f64, f64, f64, f64) {
    let (left, right) = (cw[1], cw[2]);
    let pos = qq >= 0.0;
    let u = if pos { left } else { right };
    let dn = if pos { right } else { left };
    let uu = if pos { cw[0] } else { cw[3] };
    let (nu, dsum, d) = face_numbers::<DISP>(qq, iv_l, iv_r, dt, e_dx2);
    let (fv, kappa) = face_parts(uu, u, dn, nu, dsum);
    let share = if u > 0.0 { fv / u } else { 0.0 };
    (nu, dsum, d, kappa, share)
}

/// Blocks per pack (32 groups).
const PACK: usize = 8;

/// Blocks `p0 .. p0 + NB` of slot `i`'s row.
#[inline(always)]
fn row<const NB: usize>(v: &[B], nb: usize, i: usize, p0: usize) -> &[B; NB] {
    v[i * nb + p0..]
        .first_chunk::<NB>()
        .expect("a row holds the pack")
}

/// One step of blocks `p0 .. p0 + NB` of reach `r` (layout rank `k`), into `conc_new`:
/// - the explicit update with the face fluxes F = wl·C_left + wr·C_right carried from cell to cell,
///   C* = h²·(C + Δt/V·(F_left − F_right));
/// - the groups' sources of each cell (mass entering at mid-step, decayed for half a step) and the cell
///   withdrawals, which take from each group the share of its concentration that they take from the total;
/// - with `sweep`, the implicit dispersion: the forward substitution with the total's factors
///   (`Factors::coefficients`) as the cells are produced, then the backward one — the same operations for
///   every group.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pack_reach<const NB: usize, const F: bool>(
    cx: &Cells,
    sc: &FaceScratch,
    out_rows: &mut [B],
    out0: usize,
    sweep: Option<&Factors>,
    r: usize,
    k: usize,
    p0: usize,
) {
    let s = cx.s;
    let (lay, co, net) = (s.lay, s.co, s.net);
    let nb = cx.nb;
    let dt = s.dt;
    let n = net.n_cells_of(r);
    let b = lay.base[r];
    let hh = s.half[k] * s.half[k];
    let coef = cx.sweep_coef;
    let srcs = &cx.src[cx.src_start[k]..cx.src_start[k + 1]];
    let incs = &cx.src_inc[cx.src_start[k]..cx.src_start[k + 1]];
    let wds = &cx.wd[cx.wd_start[k]..cx.wd_start[k + 1]];
    let withdraw_frac = cx.withdraw_frac;
    let (mut si, mut wi) = (0, 0);
    let (g_lo, g_hi) = (p0 * W, (p0 + NB) * W);
    let conc = cx.conc;
    let mut fl: [B; NB] = *row::<NB>(cx.bflux, nb, 2 * k, p0);
    let mut c0: [B; NB] = *row::<NB>(conc, nb, b, p0);
    let mut y = [[0.0; W]; NB];
    for j in 0..n {
        let i = b + j;
        let mut c1 = [[0.0; W]; NB];
        let fr = if j + 1 == n {
            *row::<NB>(cx.bflux, nb, 2 * k + 1, p0)
        } else {
            let (a, bw) = (sc.wl[j + 1], sc.wr[j + 1]);
            c1 = *row::<NB>(conc, nb, i + 1, p0);
            let mut fr = [[0.0; W]; NB];
            for q in 0..NB {
                for l in 0..W {
                    fr[q][l] = fmadd::<F>(a, c0[q][l], bw * c1[q][l]);
                }
            }
            fr
        };
        let kv = dt * co.inv_vol[i];
        let mut x = [[0.0; W]; NB];
        for q in 0..NB {
            for l in 0..W {
                x[q][l] = hh * fmadd::<F>(kv, fl[q][l] - fr[q][l], c0[q][l]);
            }
        }
        while si < srcs.len() && srcs[si].cell as usize == j {
            let g = srcs[si].g as usize;
            if (g_lo..g_hi).contains(&g) {
                x[g / W - p0][g % W] += incs[si];
            }
            si += 1;
        }
        while wi < wds.len() && wds[wi].0 as usize == j {
            let w = wds[wi].1 as usize;
            let f = withdraw_frac[w] * co.cell_withdraw_q[w] * dt * co.inv_vol[i];
            for q in 0..NB {
                for l in 0..W {
                    x[q][l] -= f * c0[q][l];
                }
            }
            wi += 1;
        }
        if sweep.is_some() {
            // y_i = (V_i·C*_i + g_i·y_{i−1})/m_i with the two factors taken once per period and step
            // (g_0 = 0): one multiply–add in the chain from cell to cell
            let [a, bw, _] = coef[i];
            for q in 0..NB {
                for l in 0..W {
                    y[q][l] = fmadd::<F>(bw, y[q][l], a * x[q][l]);
                }
            }
            x = y;
        }
        *out_rows[i * nb + p0 - out0..]
            .first_chunk_mut::<NB>()
            .expect("a row holds the pack") = x;
        fl = fr;
        c0 = c1;
    }
    if sweep.is_some() {
        // C_i = y_i + (g_{i+1}/m_i)·C_{i+1}
        let mut xn = y;
        for j in (0..n - 1).rev() {
            let i = b + j;
            let w = coef[i][2];
            let xr = out_rows[i * nb + p0 - out0..]
                .first_chunk_mut::<NB>()
                .expect("a row holds the pack");
            for q in 0..NB {
                for l in 0..W {
                    xr[q][l] = fmadd::<F>(w, xn[q][l], xr[q][l]);
                }
            }
            xn = *xr;
        }
    }
}
