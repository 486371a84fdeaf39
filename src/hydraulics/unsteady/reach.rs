//! One reach of the unsteady solver: the Preissmann equations of its cells, condensed to two linear
//! relations between its end-node levels, and the back-substitution once those levels are known.
//!
//! **Points and boxes.** The computational points of a reach of n cells are its n + 1 faces (point 0 at the
//! `from` node, point n at the `to` node); each cell is one Preissmann box between two points. A point carries
//! a level Z (m), a discharge Q (m³/s, positive from `from` to `to`) and its stored flow area A (m²). The
//! end points share their node's level.
//!
//! **Equations of box j** (points j and j+1, length Δx, step Δt, weight θ; superscript o = start of the step,
//! no superscript = end; q_j the lateral inflow of the cell, m³/s):
//!
//! continuity  Δx/(2Δt)·(A_j + A_j+1 − A°_j − A°_j+1) + θ·(Q_j+1 − Q_j) + (1 − θ)·(Q°_j+1 − Q°_j) = q_j
//!
//! momentum    (Q_j + Q_j+1 − Q°_j − Q°_j+1)/(2Δt) + [θ·Δ(Q²/A) + (1 − θ)·Δ(Q²/A)°]/Δx
//!             + g·Ā·[θ·(Z_j+1 − Z_j) + (1 − θ)·(Z°_j+1 − Z°_j)]/Δx + g·Ā·[θ·S_f + (1 − θ)·S°_f] = 0
//!
//! with Ā = ½[θ(A_j + A_j+1) + (1 − θ)(A°_j + A°_j+1)] and the friction slope S_f = Q̄·|Q̄|/K̄²,
//! Q̄ = ½(Q_j + Q_j+1), which keeps its sign through reversal (Cunge, Holly & Verwey, *Practical Aspects of
//! Computational River Hydraulics*, 1980, ch. 3). K̄ is the conveyance at the box's mean depth at the start of
//! the step (held through the step's iterations; at a steady state it is exact). A withdrawal along the
//! cell takes its demand times the suction cut of [`super::structure::suction`] at the box's mean depth.
//!
//! **Newton form.** About the current iterate (Z*, Q*), with A = A(Z*) + T(Z*)·ΔZ, ∂(Q²/A) = 2u·ΔQ − u²T·ΔZ
//! and ∂(Q̄|Q̄|) = |Q̄*|·(ΔQ_j + ΔQ_j+1), each box gives two linear equations in (ΔZ_j, ΔQ_j, ΔZ_j+1, ΔQ_j+1)
//! whose right-hand sides are minus the residuals of the full nonlinear equations, so a converged iterate
//! solves them exactly. Solving the pair for the discharges,
//!
//!   ΔQ_j = a_j + b_j·ΔZ_j + c_j·ΔZ_j+1,     ΔQ_j+1 = a'_j + b'_j·ΔZ_j + c'_j·ΔZ_j+1,
//!
//! and asking the two boxes that meet at an interior point to agree on its discharge gives a tridiagonal
//! system in the interior levels,
//!
//!   b'_k−1·ΔZ_k−1 + (c'_k−1 − b_k)·ΔZ_k − c_k·ΔZ_k+1 = a_k − a'_k−1,   k = 1 … n−1,
//!
//! diagonally dominant for subcritical flow (every cell stores water). Thomas' algorithm with three
//! right-hand sides (the constant, the from-node level, the to-node level) gives every interior correction
//! as ΔZ_k = p_k + s_k·ΔZ_from + w_k·ΔZ_to, and so the reach's two end discharges as linear functions of its
//! two end-node levels — the "three-level" condensation of plain-network models (Li Yiping; Ji, *J. Hydraul.
//! Eng.* 124(3), 1998, SUPERLINK). Once the node system has given the node levels, [`update`] back-
//! substitutes every point.
//!
//! **Stored area.** The area a point carries into the next step is the linearised A(Z*) + T(Z*)·ΔZ of the
//! last iterate, the area the continuity equation used. Each box's volume change then equals Δt times its
//! net inflow to round-off, whatever the number of iterations, and the volume ledger closes exactly; the
//! level differs from the level that holds that area only by the second-order linearisation error, which
//! the next step's iterations absorb.

use super::shape::Shape;
use super::structure::{suction, suction_slope};

/// Gravity, m/s².
pub const G: f64 = 9.81;

/// A point's state.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point {
    /// Water level, m.
    pub z: f64,
    /// Discharge, m³/s, positive from the reach's `from` node to its `to` node.
    pub q: f64,
    /// Stored flow area, m².
    pub a: f64,
}

/// A point's scratch of one iteration: geometry at the iterate and the Thomas coefficients.
#[derive(Debug, Clone, Copy, Default)]
pub struct PointWork {
    /// A(Z*), m².
    a: f64,
    /// T(Z*), m.
    t: f64,
    /// u* = Q*/A(Z*), m/s.
    u: f64,
    /// ΔZ = p + s·ΔZ_from + w·ΔZ_to (during the forward sweep: the scaled right-hand sides).
    p: f64,
    s: f64,
    w: f64,
    /// The forward sweep's U_k/D'_k.
    e: f64,
}

/// A box's discharge relation ΔQ_j = a + b·ΔZ_j + c·ΔZ_j+1, its friction and its withdrawal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Box {
    a: f64,
    b: f64,
    c: f64,
    /// 1/K̄² of this step and of the previous one, (s/m³)².
    ik2: f64,
    ik2_old: f64,
    /// The parts of the box's residuals that depend on the old state alone (see [`begin`]).
    r1_old: f64,
    r2_old: f64,
    slope_old: f64,
    a_old: f64,
    /// Withdrawal at the iterate, m³/s, and its slope per metre of each point's level.
    wd: f64,
    dwd: f64,
    /// The withdrawal the last update used (linearised), m³/s.
    pub wd_used: f64,
}

/// A reach's end discharges as functions of its end-node levels: ΔQ_0 = up[0] + up[1]·ΔZ_from +
/// up[2]·ΔZ_to and ΔQ_n = down[0] + down[1]·ΔZ_from + down[2]·ΔZ_to, with the end discharges of the
/// iterate and of the old state; `last` is the last box's downstream relation (a', b', c') for the
/// back-substitution of ΔQ_n.
#[derive(Debug, Clone, Copy, Default)]
pub struct Condensed {
    /// Discharge at the `from` end.
    pub up: [f64; 3],
    /// Discharge at the `to` end.
    pub down: [f64; 3],
    /// (Q_0, Q_n) of the iterate, m³/s.
    pub q: [f64; 2],
    /// (Q°_0, Q°_n) of the old state, m³/s.
    pub q_old: [f64; 2],
    last: [f64; 3],
}

/// How a reach's ends meet their nodes in a step.
///
/// An end is *tied* when its level is its node's. It *falls freely* when the node's level is below the
/// level of critical flow at the end (its bed plus the critical depth of the end's discharge, found as
/// Q²·T/(g·A³) ≥ 1 at the node's level): a tributary perched on a river that the ebb has drawn below its
/// mouth, or a channel over a tide that has fallen below its bed. The node then cannot hold the end up;
/// the end passes critical flow Q = √(g·A³/T) at its own level, and its node only receives that flow (the
/// free overfall of SWMM's conduits and HEC-RAS's reaches). The choice is made at the start of each step from
/// the state then; the two conditions meet at critical depth, so the switch is continuous.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Ends {
    /// Both end levels are their nodes' levels.
    #[default]
    Tied,
    /// The `to` end falls freely into its node, flow leaving downstream: ΔZ_n = m0 + m1·ΔZ_from.
    FreeDown { m0: f64, m1: f64 },
    /// The `from` end falls freely into its node, flow leaving upstream: ΔZ_0 = k0 + k1·ΔZ_to.
    FreeUp { k0: f64, k1: f64 },
}

/// Whether an end with discharge `q_m3s` leaving the reach falls freely into a node whose level stands
/// `depth_m` above the end's bed: the node's level is below the bed, or would make the end's flow critical
/// or faster (Q²·T ≥ g·A³).
pub fn falls_freely(shape: &Shape, depth_m: f64, q_m3s: f64) -> bool {
    if depth_m <= shape.dry_depth_m() {
        return true;
    }
    let (a, t) = shape.area_width(depth_m);
    q_m3s * q_m3s * t >= G * a * a * a
}

/// Critical flow √(g·A³/T) at depth `y_m` (m³/s) and its slope per metre of level.
pub fn critical_flow(shape: &Shape, y_m: f64) -> (f64, f64) {
    let q = |y: f64| {
        let (a, t) = shape.area_width(y);
        (G * a * a * a / t).sqrt()
    };
    const EPS: f64 = 1e-6;
    (q(y_m), (q(y_m + EPS) - q(y_m - EPS)) / (2.0 * EPS))
}

/// Tie a freely falling end into the condensed relations `c`, given the end's depth `y_m` and discharge
/// `q_m3s` of the iterate: the end's condition (its discharge is the critical flow at its level, linearised)
/// gives its level correction in terms of the other end's, which is substituted into both relations, so
/// that neither depends on the free end's node. Returns the map of the free end's level correction.
pub fn free_end(mode: Ends, shape: &Shape, y_m: f64, q_m3s: f64, c: &mut Condensed) -> Ends {
    let (up, down) = (c.up, c.down);
    match mode {
        Ends::Tied => Ends::Tied,
        Ends::FreeDown { .. } => {
            // q_n + ΔQ_n = Qc + Qc'·ΔZ_n with ΔQ_n = d0 + d1·ΔZ_0 + d2·ΔZ_n
            let (qc, dqc) = critical_flow(shape, y_m);
            let den = down[2] - dqc;
            let (m0, m1) = ((qc - q_m3s - down[0]) / den, -down[1] / den);
            c.up = [up[0] + up[2] * m0, up[1] + up[2] * m1, 0.0];
            c.down = [down[0] + down[2] * m0, down[1] + down[2] * m1, 0.0];
            Ends::FreeDown { m0, m1 }
        }
        Ends::FreeUp { .. } => {
            // q_0 + ΔQ_0 = −Qc − Qc'·ΔZ_0 with ΔQ_0 = u0 + u1·ΔZ_0 + u2·ΔZ_n
            let (qc, dqc) = critical_flow(shape, y_m);
            let den = up[1] + dqc;
            let (k0, k1) = ((-qc - q_m3s - up[0]) / den, -up[2] / den);
            c.up = [up[0] + up[1] * k0, 0.0, up[2] + up[1] * k1];
            c.down = [down[0] + down[1] * k0, 0.0, down[2] + down[1] * k1];
            Ends::FreeUp { k0, k1 }
        }
    }
}

/// The level corrections of a reach's two ends from its nodes' (`dz_from`, `dz_to`) under `mode`.
#[inline]
pub fn end_corrections(mode: Ends, dz_from: f64, dz_to: f64) -> (f64, f64) {
    match mode {
        Ends::Tied => (dz_from, dz_to),
        Ends::FreeDown { m0, m1 } => (dz_from, m0 + m1 * dz_from),
        Ends::FreeUp { k0, k1 } => (k0 + k1 * dz_to, dz_to),
    }
}

/// The constants of one step for one reach.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Δt, s.
    pub dt_s: f64,
    /// θ.
    pub theta: f64,
    /// Δx, m.
    pub dx_m: f64,
}

/// The inputs of one reach's cells during a step (slices of the reach's own cells).
pub struct CellInputs<'a> {
    /// Lateral inflow (outfalls), m³/s.
    pub lateral_m3s: &'a [f64],
    /// Withdrawal demand, m³/s.
    pub withdrawal_m3s: &'a [f64],
}

/// How a step starts from the state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first step of a run: there is no earlier state.
    First,
    /// The iteration starts from the state now.
    Now,
    /// The iteration starts from the state now plus the last step's change (a linear extrapolation in
    /// time, for steps as long as the last): the first Newton correction is then the extrapolation's
    /// error, O(Δt²), rather than the step's change, O(Δt), and a smooth step converges an iteration earlier.
    Extrapolate,
}

/// The level change `dz_m` an extrapolating step starts with at a point `depth_m` deep: all of the last
/// step's change, but never more than a quarter of the depth downwards (a falling level must not start
/// the iteration in a dry cell, whose tiny conveyance would cut the node it joins from the network).
#[inline]
pub fn extrapolated(dz_m: f64, depth_m: f64) -> f64 {
    dz_m.max(-0.25 * depth_m.max(0.0))
}

/// Start a step of one reach: the state now becomes the old state (and the iterate starts as `start`
/// says); each box's conveyance is taken at its mean depth now (the previous step's kept as the old one;
/// at the first step of a run both equal); and the terms of the box equations that depend on the old state alone are summed once:
/// −Δx/(2Δt)·(A°_j + A°_j+1) + (1 − θ)·(Q°_j+1 − Q°_j) of continuity, −(Q°_j + Q°_j+1)/(2Δt) +
/// (1 − θ)·Δ(Q²/A)°/Δx of momentum, and (1 − θ)·[(Z°_j+1 − Z°_j)/Δx + S°_f], which multiplies gĀ.
#[allow(clippy::too_many_arguments)]
pub fn begin(
    k: Step,
    shape: &Shape,
    bed_m: &[f64],
    pts: &mut [Point],
    old: &mut [Point],
    boxes: &mut [Box],
    cond: &mut Condensed,
    start: Start,
) {
    let first = start == Start::First;
    for ((p, o), bed) in pts.iter_mut().zip(old.iter_mut()).zip(bed_m) {
        let now = *p;
        if start == Start::Extrapolate {
            p.z += extrapolated(now.z - o.z, now.z - bed);
            p.q += now.q - o.q;
        }
        *o = now;
    }
    let pts = &*old;
    cond.q_old = [pts[0].q, pts[pts.len() - 1].q];
    let th = k.theta;
    let (half_dx_dt, inv_2dt, inv_dx) = (0.5 * k.dx_m / k.dt_s, 0.5 / k.dt_s, 1.0 / k.dx_m);
    for (j, bx) in boxes.iter_mut().enumerate() {
        let (o0, o1) = (pts[j], pts[j + 1]);
        let y = 0.5 * (o0.z - bed_m[j] + o1.z - bed_m[j + 1]);
        bx.ik2_old = bx.ik2;
        bx.ik2 = shape.inv_conveyance2(y);
        if first {
            bx.ik2_old = bx.ik2;
        }
        let qbar_o = 0.5 * (o0.q + o1.q);
        let conv_o = o1.q * o1.q / o1.a - o0.q * o0.q / o0.a;
        bx.a_old = o0.a + o1.a;
        bx.r1_old = -half_dx_dt * bx.a_old + (1.0 - th) * (o1.q - o0.q);
        bx.r2_old = -inv_2dt * (o0.q + o1.q) + (1.0 - th) * conv_o * inv_dx;
        bx.slope_old = (1.0 - th) * ((o1.z - o0.z) * inv_dx + qbar_o * qbar_o.abs() * bx.ik2_old);
    }
}

/// Assemble and condense one reach about the iterate `pts` (point beds `bed_m`; the old state is in the
/// boxes and `cond` since [`begin`]). Fills `work` (one per point), `boxes` (one per cell) and `cond` for
/// [`update`] and the node system.
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    k: Step,
    shape: &Shape,
    bed_m: &[f64],
    pts: &[Point],
    cells: &CellInputs,
    work: &mut [PointWork],
    boxes: &mut [Box],
    cond: &mut Condensed,
) {
    let n = boxes.len();
    for (w, (p, b)) in work.iter_mut().zip(pts.iter().zip(bed_m)) {
        (w.a, w.t) = shape.area_width(p.z - b);
        w.u = p.q / w.a;
    }
    work[0] = PointWork {
        p: 0.0,
        s: 1.0,
        w: 0.0,
        e: 0.0,
        ..work[0]
    };
    let mut prev = [0.0; 3];
    for j in 0..n {
        let (rel, next) = box_relations(k, j, bed_m, pts, cells, work, &mut boxes[j]);
        if j > 0 {
            forward(j, n, prev, rel, work);
        }
        prev = next;
    }
    work[n] = PointWork {
        p: 0.0,
        s: 0.0,
        w: 1.0,
        e: 0.0,
        ..work[n]
    };
    for i in (1..n).rev() {
        let (nx, w) = (work[i + 1], &mut work[i]);
        w.p -= w.e * nx.p;
        w.s -= w.e * nx.s;
        w.w -= w.e * nx.w;
    }
    let (b0, first, before_last) = (boxes[0], work[1], work[n - 1]);
    *cond = Condensed {
        up: [b0.a + b0.c * first.p, b0.b + b0.c * first.s, b0.c * first.w],
        down: [
            prev[0] + prev[1] * before_last.p,
            prev[1] * before_last.s,
            prev[2] + prev[1] * before_last.w,
        ],
        q: [pts[0].q, pts[n].q],
        q_old: cond.q_old,
        last: prev,
    };
}

/// Box j's two discharge relations about the iterate: stores the upstream one (a, b, c) in `bx` and returns
/// it with the downstream one (a', b', c').
#[inline]
fn box_relations(
    k: Step,
    j: usize,
    bed_m: &[f64],
    pts: &[Point],
    cells: &CellInputs,
    work: &[PointWork],
    bx: &mut Box,
) -> ([f64; 3], [f64; 3]) {
    let th = k.theta;
    let (half_dx_dt, inv_2dt, inv_dx) = (0.5 * k.dx_m / k.dt_s, 0.5 / k.dt_s, 1.0 / k.dx_m);
    let (p0, p1) = (pts[j], pts[j + 1]);
    let (w0, w1) = (work[j], work[j + 1]);
    let (a0, t0, u0, a1, t1, u1) = (w0.a, w0.t, w0.u, w1.a, w1.t, w1.u);
    let gab = G * 0.5 * (th * (a0 + a1) + (1.0 - th) * bx.a_old);
    let qbar = 0.5 * (p0.q + p1.q);
    let conv = u1 * p1.q - u0 * p0.q;
    // the cell's withdrawal, cut at its mean depth
    let ybar = 0.5 * (p0.z - bed_m[j] + p1.z - bed_m[j + 1]);
    let wd = cells.withdrawal_m3s[j];
    (bx.wd, bx.dwd) = if wd > 0.0 {
        (wd * suction(ybar), 0.5 * wd * suction_slope(ybar))
    } else {
        (0.0, 0.0)
    };
    let ik2 = bx.ik2;
    // residuals of the nonlinear box equations at the iterate
    let r1 =
        half_dx_dt * (a0 + a1) + bx.r1_old + th * (p1.q - p0.q) - (cells.lateral_m3s[j] - bx.wd);
    let r2 = inv_2dt * (p0.q + p1.q)
        + bx.r2_old
        + th * inv_dx * conv
        + gab * (th * ((p1.z - p0.z) * inv_dx + qbar * qbar.abs() * ik2) + bx.slope_old);
    // their derivatives: continuity (α1, −θ, γ1, θ), momentum (α2, β2, γ2, δ2)
    let fr = gab * th * qbar.abs() * ik2;
    let (al1, ga1) = (half_dx_dt * t0 + bx.dwd, half_dx_dt * t1 + bx.dwd);
    let be2 = inv_2dt - 2.0 * th * u0 * inv_dx + fr;
    let de2 = inv_2dt + 2.0 * th * u1 * inv_dx + fr;
    let al2 = th * inv_dx * (u0 * u0 * t0 - gab);
    let ga2 = th * inv_dx * (gab - u1 * u1 * t1);
    let inv_det = -1.0 / (th * (be2 + de2));
    bx.a = (th * r2 - de2 * r1) * inv_det;
    bx.b = (th * al2 - de2 * al1) * inv_det;
    bx.c = (th * ga2 - de2 * ga1) * inv_det;
    let next = [
        (th * r2 + be2 * r1) * inv_det,
        (th * al2 + be2 * al1) * inv_det,
        (th * ga2 + be2 * ga1) * inv_det,
    ];
    ([bx.a, bx.b, bx.c], next)
}

/// Thomas' forward step for interior point j (1 ≤ j ≤ n−1) from box j−1's downstream relation `prev` and
/// box j's upstream relation `cur`: the row is L·ΔZ_j−1 + D·ΔZ_j + U·ΔZ_j+1 = a_j − a'_j−1.
#[inline]
fn forward(j: usize, n: usize, prev: [f64; 3], cur: [f64; 3], work: &mut [PointWork]) {
    let (l, d, u) = (prev[1], prev[2] - cur[1], -cur[2]);
    let (mut rp, mut rs, mut rw) = (cur[0] - prev[0], 0.0, 0.0);
    let mut dd = d;
    if j == 1 {
        rs = -l; // ΔZ_0 is a parameter
    } else {
        let pw = work[j - 1];
        dd -= l * pw.e;
        rp -= l * pw.p;
        rs -= l * pw.s;
        rw -= l * pw.w;
    }
    let inv = 1.0 / dd;
    let mut e = u * inv;
    if j == n - 1 {
        rw -= u; // ΔZ_n is a parameter
        e = 0.0;
    }
    let w = &mut work[j];
    w.p = rp * inv;
    w.s = rs * inv;
    w.w = rw * inv;
    w.e = e;
}

/// The largest corrections of an update and the largest discharge after it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Change {
    /// Largest |ΔZ|, m.
    pub dz_m: f64,
    /// Largest |ΔQ|, m³/s.
    pub dq_m3s: f64,
    /// Largest |Q|, m³/s.
    pub q_m3s: f64,
}

impl Change {
    /// The larger of two changes, term by term.
    pub fn max(self, o: Change) -> Change {
        Change {
            dz_m: self.dz_m.max(o.dz_m),
            dq_m3s: self.dq_m3s.max(o.dq_m3s),
            q_m3s: self.q_m3s.max(o.q_m3s),
        }
    }
}

/// Back-substitute one reach once its end-node corrections `dz_from`, `dz_to` are known: every point's
/// level, discharge and stored area, and every box's withdrawal.
pub fn update(
    cond: &Condensed,
    dz_from: f64,
    dz_to: f64,
    work: &[PointWork],
    boxes: &mut [Box],
    pts: &mut [Point],
) -> Change {
    let n = boxes.len();
    let (mut max_dz, mut max_dq, mut max_q) = (0.0f64, 0.0f64, 0.0f64);
    let dz = |w: &PointWork| w.p + w.s * dz_from + w.w * dz_to;
    let mut dz_j = dz_from;
    for j in 0..n {
        let dz_k = dz(&work[j + 1]);
        let bx = &mut boxes[j];
        let dq = bx.a + bx.b * dz_j + bx.c * dz_k;
        bx.wd_used = bx.wd + bx.dwd * (dz_j + dz_k);
        let (w, p) = (&work[j], &mut pts[j]);
        p.z += dz_j;
        p.q += dq;
        p.a = w.a + w.t * dz_j;
        max_dz = max_dz.max(dz_j.abs());
        max_dq = max_dq.max(dq.abs());
        max_q = max_q.max(p.q.abs());
        dz_j = dz_k;
    }
    let l = cond.last;
    let dq = l[0] + l[1] * dz(&work[n - 1]) + l[2] * dz_to;
    let (w, p) = (&work[n], &mut pts[n]);
    p.z += dz_to;
    p.q += dq;
    p.a = w.a + w.t * dz_to;
    Change {
        dz_m: max_dz.max(dz_to.abs()),
        dq_m3s: max_dq.max(dq.abs()),
        q_m3s: max_q.max(p.q.abs()),
    }
}
