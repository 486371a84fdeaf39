//! How a face's water is shared among the groups, so that they add up to the total and none goes negative.

use super::lane::{B, W};
use crate::transport::kernel::face_parts;

/// How a face's water is shared among the groups: the weights (w_u, w_d) of group g's face value
/// C_f,g = w_u·u_g + w_d·d_g, from the total's far-upwind, upwind and downwind values `uu`, `u`, `d`, its
/// Courant number `nu` and diffusion number `dsum`, and the groups' upwind and downwind rows `ug`, `dg`.
///
/// Any weights with Σ_g C_f,g = C_f keep the groups adding up to the total; two natural ones are
/// - the limiter's own mix, C_f,g = (1 − κ)·u_g + κ·d_g (C_f = u + κ(d − u)): second order for each
///   group, but where two waters of similar total concentration meet, a group with much more downwind
///   than upwind can be drawn out of the upwind cell faster than the cell holds it (negative values);
/// - the upwind cell's composition, C_f,g = (C_f/u)·u_g: never negative (the total's limiter keeps
///   ν·C_f ≤ (1 − dsum)·u, so no group leaves faster than it is there), but first order in composition.
///
/// The blend (1 − β)·composition + β·mix is used with the largest β ≤ 1 that keeps every group's
/// outflow within that bound, ν·C_f,g ≤ (1 − dsum)·u_g: the limiter's mix wherever it is safe.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn split(
    uu: f64,
    u: f64,
    d: f64,
    nu: f64,
    dsum: f64,
    relative: bool,
    ug: &[B],
    dg: &[B],
) -> (f64, f64) {
    let (fv, kappa) = face_parts(uu, u, d, nu, dsum);
    let share = if u > 0.0 { fv / u } else { 0.0 };
    if relative {
        split_parts::<true>(share, kappa, nu, dsum, u, d, ug, dg)
    } else {
        split_parts::<false>(share, kappa, nu, dsum, 0.0, 0.0, ug, dg)
    }
}

/// [`split`] from the total's share C_f/C_U and limiter weight κ of the face. With `REL` the rows are
/// responses and each group is judged by its concentration, the total's upwind and downwind values `ut`,
/// `dt` plus its response.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn split_parts<const REL: bool>(
    share: f64,
    kappa: f64,
    nu: f64,
    dsum: f64,
    ut: f64,
    dt: f64,
    ug: &[B],
    dg: &[B],
) -> (f64, f64) {
    let mut beta = 1.0f64;
    if kappa > 0.0 && nu > 0.0 {
        let room = (1.0 - dsum).max(0.0) - nu * share;
        let a = 1.0 - kappa - share;
        // for responses, the total's own excess and allowance: the excess is capped at the allowance, so
        // that a zero response (a group equal to the total, which the limiter keeps within its bound up to
        // round-off) never binds
        let (e0, a0) = if REL {
            let (e, al) = (nu * (a * ut + kappa * dt), room * ut);
            (e.min(al), al)
        } else {
            (0.0, 0.0)
        };
        // the mix's excess outflow over the composition's, ν·((1 − κ − share)·u_g + κ·d_g), against what
        // the group may still lose, room·u_g: first only whether any group is over (no division; the
        // usual case is none), then the largest β every group allows (branch-free over whole vectors)
        let mut over = [f64::NEG_INFINITY; W];
        for (x, y) in ug.iter().zip(dg) {
            for l in 0..W {
                let d = if REL {
                    (e0 + nu * (a * x[l] + kappa * y[l])) - (a0 + room * x[l])
                } else {
                    nu * (a * x[l] + kappa * y[l]) - room * x[l]
                };
                over[l] = if d > over[l] { d } else { over[l] };
            }
        }
        if over.iter().any(|&d| d > 0.0) {
            let mut lim = [1.0f64; W];
            for (x, y) in ug.iter().zip(dg) {
                for l in 0..W {
                    let (excess, allow) = if REL {
                        (e0 + nu * (a * x[l] + kappa * y[l]), a0 + room * x[l])
                    } else {
                        (nu * (a * x[l] + kappa * y[l]), room * x[l])
                    };
                    let b = if excess > allow { allow / excess } else { 1.0 };
                    lim[l] = if b < lim[l] { b } else { lim[l] };
                }
            }
            for b in lim {
                beta = beta.min(b);
            }
        }
        beta = beta.max(0.0);
    }
    ((1.0 - beta) * share + beta * (1.0 - kappa), beta * kappa)
}
