//! The hot loop: one explicit advection–dispersion–decay step over a chunk of cells.
//!
//! For each reach segment in the chunk the loop walks the cells in order, computing the flux through the
//! right face of each cell (the left face's flux is carried over from the previous cell), so every face flux
//! is computed once. Per cell it streams the old concentration, the face flow and the inverse volume, and
//! writes the new concentration: 32 bytes per cell-step (40 with the write-allocate read of the output
//! line), stride 1. The dispersive conductance is rebuilt from the inverse volumes (one division) rather than
//! read, since the loop is memory-bound.
//!
//! Face value (flow Q > 0; mirrored for Q < 0): C_f = C_U + ½(1 − ν)·φ·(C_D − C_U) with ν = Q·Δt/V_U and the
//! bounded MC limiter of [`face_value`]; face flux F = Q·C_f + D·(C_left − C_right) with
//! D = (E/Δx²)·2/(1/V_left + 1/V_right). Update with Strang splitting of the decay:
//! C** = h·(C + Δt/V·(F_left − F_right)), C_new = h·C**,
//! h = exp(−k·Δt/2) the exact half-step factor. (Decaying a full step after transport would age the water
//! entering a reach by a whole step in its first step, shifting a plug-flow profile by half a cell.)
//!
//! When the run's follower asks for them (`StepData::parts`, `follower.rs`), the same loop also leaves each
//! interior face's limiter weight κ and share C_f/C_U, in a path of its own so that the plain run's loop is
//! unchanged.

use std::sync::atomic::{AtomicU64, Ordering};

/// The smaller of two numbers without NaN handling (a NaN is caught by the ledger check after the step), so
/// the comparison compiles to one packed `min` instruction.
#[inline(always)]
fn min2(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// Limited face value for upwind `u`, far-upwind `uu`, downwind `d`, Courant number `nu` and diffusion
/// number `dsum` = Δt·ΣD/V of the upwind cell: u + ½(1 − ν)·φ·(d − u) with the MC central choice
/// φ = (1 + r)/2 (r = (u − uu)/(d − u)) bounded by φ ≤ 2 and by the Courant-aware bound
/// φ ≤ 2r·(1 − ν − dsum)/(ν(1 − ν)) (with 1/ν replaced by a lower bound, see below) (Roe & Baines' region, Leonard's ULTIMATE idea, reduced by the
/// explicit dispersion so that Harten's condition ν(1 + ½(1 − ν)(φ/r − φ′)) + dsum ≤ 1 holds).
/// Under the step limit ν(2 − ν) + dsum ≤ 1 this bound is never tighter than MC's φ ≤ 2r, so the scheme is
/// TVD (with dispersion: positive and free of new extrema) and keeps more of a peak than plain MC at
/// Courant numbers below 1. The upper bound stays at φ ≤ 2 rather than ULTIMATE's 2/(1 − ν): at 2/(1 − ν)
/// the face takes the downwind value and a steady state is no longer reached (the cell's value freezes).
#[inline(always)]
pub(crate) fn face_value(uu: f64, u: f64, d: f64, nu: f64, dsum: f64) -> f64 {
    let (c, dd) = correction(uu, u, d, nu, dsum);
    u + c.copysign(dd)
}

/// The face value and the limiter's choice as a weight: (C_f, κ) with C_f = [`face_value`] = u + κ·(d − u),
/// 0 ≤ κ ≤ 1 − ν (what a follower needs to share the face's water out, `tagged/split.rs`).
#[inline(always)]
pub(crate) fn face_parts(uu: f64, u: f64, d: f64, nu: f64, dsum: f64) -> (f64, f64) {
    let (c, dd) = correction(uu, u, d, nu, dsum);
    let kappa = if c > 0.0 { c / dd.abs() } else { 0.0 };
    (u + c.copysign(dd), kappa)
}

/// The magnitude of the limited correction ½(1 − ν)·φ·|d − u| of [`face_value`], and d − u.
#[inline(always)]
fn correction(uu: f64, u: f64, d: f64, nu: f64, dsum: f64) -> (f64, f64) {
    let du = u - uu;
    let dd = d - u;
    let a = du.abs();
    let b = dd.abs();
    let w = 1.0 - nu;
    // the correction ½(1 − ν)φ|d − u|, bounded. 1/ν is replaced by its lower bound 1 + w + w² + w³ + w⁴
    // (the geometric series of 1/(1 − w), cut after five terms): a slightly tighter, still valid bound
    // without a division in the hot loop (at ν = ½ it allows 1.94/ν·… of the 2/ν·…; at ν ≥ 0.8 all of it)
    let inv_nu_low = 1.0 + w * (1.0 + w * (1.0 + w * (1.0 + w)));
    let courant = (w - dsum).max(0.0) * a * inv_nu_low;
    let c = min2(min2(courant, w * b), 0.25 * w * (a + b));
    let c = if du * dd > 0.0 { c } else { 0.0 };
    (c, dd)
}

/// Where a reach's cells and faces lie, by layout rank (one record read per reach, in the order the kernel
/// walks them).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Span {
    /// Extended index of cell 0.
    pub base: usize,
    /// Cells.
    pub n: usize,
    /// First face.
    pub face: usize,
}

/// Everything one step reads. The per-reach inputs are indexed by layout rank, so the kernel reads them in
/// order instead of jumping through reach numbers (which on a large network made each reach's first few
/// loads cache misses).
pub(crate) struct StepData<'a> {
    /// Old concentrations, extended indexing (ghosts set to the node concentrations).
    pub c: &'a [f64],
    /// Face flows.
    pub q: &'a [f64],
    /// E/Δx² per rank, 1/s (the dispersive conductance of a face is this times the harmonic-mean volume).
    pub disp: &'a [f64],
    /// Inverse cell volumes (extended).
    pub inv_vol: &'a [f64],
    /// Mass flux through the from-face (index 2k) and to-face (2k + 1) of the reach of layout rank k, g/s,
    /// from the node pass.
    pub bflux: &'a [f64],
    /// Half-step decay factor exp(−k·Δt/2) per rank.
    pub decay: &'a [f64],
    /// 1 − h per rank.
    pub decay_loss: &'a [f64],
    /// Cells and faces per rank.
    pub span: &'a [Span],
    /// First layout rank touching each chunk.
    pub chunk_first_rank: &'a [usize],
    /// Step, s.
    pub dt: f64,
    /// Where to leave the limiter's weight κ and the share C_f/C_U of every interior face (network face f:
    /// `[2f]` and `[2f + 1]`, as f64 bits) for the run's follower, when it reads them: the same numbers it
    /// would compute from the same state, made once.
    pub parts: Option<&'a [AtomicU64]>,
}

/// Advance chunk `k` (extended indices `k·len .. k·len + out.len()`, `len` the chunk size) into `out`.
/// Returns the mass decayed in the chunk, g. Ghost slots in `out` are left alone.
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors and chosen at run
/// time. The arithmetic is the same operation by operation (Rust never contracts a·b + c into an FMA
/// unless asked), so both versions give the same bits.
pub(crate) fn step_chunk(s: &StepData, k: usize, chunk: usize, out: &mut [f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above; that is the only requirement of
            // `step_chunk_avx2`.
            return unsafe {
                if s.parts.is_some() {
                    step_chunk_avx2::<true>(s, k, chunk, out)
                } else {
                    step_chunk_avx2::<false>(s, k, chunk, out)
                }
            };
        }
    }
    if s.parts.is_some() {
        step_chunk_generic::<true>(s, k, chunk, out)
    } else {
        step_chunk_generic::<false>(s, k, chunk, out)
    }
}

/// [`step_chunk_generic`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_chunk_avx2<const PARTS: bool>(
    s: &StepData,
    k: usize,
    chunk: usize,
    out: &mut [f64],
) -> f64 {
    step_chunk_generic::<PARTS>(s, k, chunk, out)
}

/// [`step_chunk`]; `PARTS`: `s.parts` is given (kept out of the plain run's code).
#[inline(always)]
fn step_chunk_generic<const PARTS: bool>(
    s: &StepData,
    k: usize,
    chunk: usize,
    out: &mut [f64],
) -> f64 {
    if PARTS {
        // a block's faces' κ and shares before they are stored (see `faces`)
        let mut pbuf = [0.0f64; 2 * BUF];
        chunk_with(s, k, chunk, out, Some(&mut pbuf))
    } else {
        chunk_with(s, k, chunk, out, None)
    }
}

/// [`step_chunk_generic`] with the scratch for the faces' parts, if asked for.
#[inline(always)]
fn chunk_with(
    s: &StepData,
    k: usize,
    chunk: usize,
    out: &mut [f64],
    mut pbuf: Option<&mut [f64; 2 * BUF]>,
) -> f64 {
    let lo = k * chunk;
    let hi = lo + out.len();
    let mut decayed = 0.0;
    // the face fluxes of a block of cells: zeroed once here, not once per reach (every entry that is read was
    // written first in the same block, so the bits do not depend on what an earlier block left)
    let mut buf = [0.0f64; BUF];
    let mut rank = s.chunk_first_rank[k];
    while rank < s.span.len() {
        let Span { base: b, n, .. } = s.span[rank];
        if b >= hi {
            break;
        }
        let jlo = lo.max(b) - b;
        let jhi = hi.min(b + n).saturating_sub(b);
        if jlo < jhi {
            let o = &mut out[b + jlo - lo..b + jhi - lo];
            let mass = segment(s, rank, jlo, jhi, o, &mut buf, pbuf.as_deref_mut());
            decayed += s.decay_loss[rank] * mass;
        }
        rank += 1;
    }
    decayed
}

/// Cells per block: the face fluxes of a block are computed into a stack buffer by one branch-free loop
/// (which the compiler vectorises), then the cells are updated by a second one.
const BLOCK: usize = 512;
/// Length of the face buffer.
const BUF: usize = BLOCK + 1;

/// Cells `jlo..jhi` of the reach of layout rank `rank` in blocks of at most [`BLOCK`] cells; `out[j − jlo]`
/// receives cell j. Returns Σ V·(C + C**), g (see [`cells`]).
#[inline(always)]
fn segment(
    s: &StepData,
    rank: usize,
    jlo: usize,
    jhi: usize,
    out: &mut [f64],
    buf: &mut [f64; BUF],
    mut pbuf: Option<&mut [f64; 2 * BUF]>,
) -> f64 {
    let mut mass = 0.0;
    let mut a = jlo;
    while a < jhi {
        let e = (a + BLOCK).min(jhi);
        faces(s, rank, a, e, &mut buf[..e - a + 1], pbuf.as_deref_mut());
        mass += cells(s, rank, a, e, &buf[..], &mut out[a - jlo..e - jlo]);
        a = e;
    }
    mass
}

/// Fluxes through faces `a ..= e` of the reach of layout rank `rank` into `buf[0 ..= e − a]`, g/s: the
/// interior faces (1 ..= n − 1) from the limited face values and the dispersion, the end faces from the
/// node pass. With `pbuf` (a follower reads them) the interior faces' κ and shares go to `s.parts` too, through
/// `pbuf` (computed in the same vector loop, then stored; a face on a chunk boundary is stored by both
/// chunks, with the same bits).
#[inline(always)]
fn faces(
    s: &StepData,
    rank: usize,
    a: usize,
    e: usize,
    buf: &mut [f64],
    pbuf: Option<&mut [f64; 2 * BUF]>,
) {
    let Span {
        base: b,
        n,
        face: f0,
    } = s.span[rank];
    // local views: cl[j + 1] = cell j, cl[0] = from ghost, cl[n + 1] = to ghost
    let cl = &s.c[b - 1..b + n + 1];
    let q = &s.q[f0..f0 + n + 1];
    let e_dx2 = s.disp[rank];
    let iv = &s.inv_vol[b..b + n];
    let (fa, fb) = (a.max(1), e.min(n - 1));
    if fa <= fb {
        let o = &mut buf[fa - a..fb - a + 1];
        match (pbuf, s.parts) {
            (Some(pb), Some(parts)) => {
                let len = fb - fa + 1;
                let (kb, sb) = pb.split_at_mut(BUF);
                let (kb, sb) = (&mut kb[..len], &mut sb[..len]);
                interior::<true>(cl, q, e_dx2, iv, s.dt, fa, fb, o, kb, sb);
                let first = 2 * (f0 + fa);
                for (i, (kappa, share)) in kb.iter().zip(sb.iter()).enumerate() {
                    parts[first + 2 * i].store(kappa.to_bits(), Ordering::Relaxed);
                    parts[first + 2 * i + 1].store(share.to_bits(), Ordering::Relaxed);
                }
            }
            _ => interior::<false>(cl, q, e_dx2, iv, s.dt, fa, fb, o, &mut [], &mut []),
        }
    }
    if a == 0 {
        buf[0] = s.bflux[2 * rank];
    }
    if e == n {
        buf[e - a] = s.bflux[2 * rank + 1];
    }
}

/// Update cells `a..e` of the reach of layout rank `rank` from the face fluxes `buf[0 ..= e − a]` into
/// `out[0..e − a]`. Returns Σ V·(C + C**), g: the masses that the two half-step decays act on (Strang
/// splitting: C** = h·C + Δt/V·h·(F_l − F_r), C_new = h·C**, h = exp(−kΔt/2); the fluxes are linear in C, so
/// the interior fluxes of h·C are h times those of C, and the node pass hands in boundary fluxes already
/// divided by h). Σ V·C** is summed as Σ V·C_new / h.
#[inline(always)]
fn cells(s: &StepData, rank: usize, a: usize, e: usize, buf: &[f64], out: &mut [f64]) -> f64 {
    let b = s.span[rank].base;
    let (dt, h) = (s.dt, s.decay[rank]);
    let len = e - a;
    let c0 = &s.c[b + a..b + e];
    let ivs = &s.inv_vol[b + a..b + e];
    let o = &mut out[..len];
    let fl = &buf[..len];
    let fr = &buf[1..len + 1];
    for i in 0..len {
        // h·(h·x), not (h·h)·x: the rounding of a precomputed h² would bias every cell the same way every
        // step, a drift the ledger would see
        o[i] = h * (h * (c0[i] + dt * ivs[i] * (fl[i] - fr[i])));
    }
    mass_sum(c0, o, ivs, 1.0 / h)
}

/// [`interior_fluxes`] with the dispersion test made once per call (each branch free of it).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn interior<const PARTS: bool>(
    cl: &[f64],
    q: &[f64],
    e_dx2: f64,
    iv: &[f64],
    dt: f64,
    fa: usize,
    fb: usize,
    out: &mut [f64],
    kappa_out: &mut [f64],
    share_out: &mut [f64],
) {
    if e_dx2 > 0.0 {
        interior_fluxes::<true, PARTS>(cl, q, e_dx2, iv, dt, fa, fb, out, kappa_out, share_out);
    } else {
        interior_fluxes::<false, PARTS>(cl, q, 0.0, iv, dt, fa, fb, out, kappa_out, share_out);
    }
}

/// Fluxes through the interior faces `fa ..= fb` of a reach into `out` (g/s); with `PARTS`, each face's
/// limiter weight κ into `kappa_out` and its share C_f/C_U into `share_out` (the face value and so the flux
/// are the same bits either way: [`face_parts`] and [`face_value`] share their arithmetic).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn interior_fluxes<const DISPERSION: bool, const PARTS: bool>(
    cl: &[f64],
    q: &[f64],
    e_dx2: f64,
    iv: &[f64],
    dt: f64,
    fa: usize,
    fb: usize,
    out: &mut [f64],
    kappa_out: &mut [f64],
    share_out: &mut [f64],
) {
    let len = fb - fa + 1;
    // face j lies between cell j − 1 (cl[j]) and cell j (cl[j + 1])
    let cm2 = &cl[fa - 1..fa - 1 + len];
    let cm1 = &cl[fa..fa + len];
    let cc = &cl[fa + 1..fa + 1 + len];
    let cp1 = &cl[fa + 2..fa + 2 + len];
    let qs = &q[fa..fa + len];
    let ivm = &iv[fa - 1..fa - 1 + len];
    let ivc = &iv[fa..fa + len];
    let out = &mut out[..len];
    let (kappa_out, share_out) = if PARTS {
        (&mut kappa_out[..len], &mut share_out[..len])
    } else {
        (kappa_out, share_out)
    };
    for i in 0..len {
        // load everything, then select: no data-dependent loads, so the loop vectorises
        let (qq, left, right, far_l, far_r) = (qs[i], cm1[i], cc[i], cm2[i], cp1[i]);
        let (iv_l, iv_r) = (ivm[i], ivc[i]);
        let pos = qq >= 0.0;
        let u = if pos { left } else { right };
        let dn = if pos { right } else { left };
        let uu = if pos { far_l } else { far_r };
        let ivu = if pos { iv_l } else { iv_r };
        let nu = qq.abs() * dt * ivu;
        // D = E·V_face/Δx², V_face the harmonic mean of the two volumes (as in `Coeffs::d_face`); the
        // upwind cell's diffusion number is taken as twice this face's
        let (d, dsum) = if DISPERSION {
            let d = e_dx2 * 2.0 / (iv_l + iv_r);
            (d, 2.0 * d * dt * ivu)
        } else {
            (0.0, 0.0)
        };
        let fv = if PARTS {
            let (fv, kappa) = face_parts(uu, u, dn, nu, dsum);
            kappa_out[i] = kappa;
            share_out[i] = if u > 0.0 { fv / u } else { 0.0 };
            fv
        } else {
            face_value(uu, u, dn, nu, dsum)
        };
        out[i] = if DISPERSION {
            qq * fv + d * (left - right)
        } else {
            qq * fv
        };
    }
}

/// Σ (c0 + o·g)/iv = Σ V·(C + C**) with four independent partial sums: one division per cell instead of a
/// read of the volume column (the kernel is memory-bound, the divider is idle).
#[inline(always)]
fn mass_sum(c0: &[f64], o: &[f64], iv: &[f64], g: f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let n4 = c0.len() / 4 * 4;
    let (c0, o, iv) = (&c0[..c0.len()], &o[..c0.len()], &iv[..c0.len()]);
    for i in (0..n4).step_by(4) {
        for k in 0..4 {
            acc[k] += (c0[i + k] + o[i + k] * g) / iv[i + k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in n4..c0.len() {
        s += (c0[i] + o[i] * g) / iv[i];
    }
    s
}
