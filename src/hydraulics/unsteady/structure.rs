//! Sluices, weirs and pumps: their discharge laws and their operation (DESIGN.md §9).
//!
//! **Heads.** With levels Z_f (the `from` node) and Z_t (the `to` node) and the sill (crest) level z_s, the
//! upstream side is the higher one: h_u = max(Z_f, Z_t) − z_s and h_d = min(Z_f, Z_t) − z_s. Flow runs from
//! the higher side to the lower, positive from `from` to `to`. Nothing passes while h_u ≤ 0.
//!
//! **Weir flow** (a weir; a sluice whose gate is clear of the water), with C the weir coefficient and B the
//! width:
//!
//!   Q = C·B·√(2g)·h_u^1.5 · S,   S = 1 for h_d ≤ 0,   S = (1 − (h_d/h_u)^1.5)^0.385 for h_d > 0
//!
//! (Villemonte 1947, as SWMM and HEC-RAS apply it). C = 0.385 is the free broad-crested weir
//! (0.385·√(2g) = 1.705 m^½/s).
//!
//! **Orifice flow** under a gate of opening e (μ the discharge coefficient):
//! - free, h_d ≤ e: Q = μ·B·e·√(2g·(h_u − e/2));
//! - submerged, h_d ≥ (1 + [`SUBMERGED_BAND`])·e: Q = μ·B·e·√(2g·(h_u − h_d));
//! - between, Q is linear in h_d from the free value to the submerged value at (1 + band)·e. The two laws
//!   disagree at h_d = e (the free law takes the jet at half the opening), so some blend is needed for a
//!   law continuous in the levels; this one keeps both published laws exact outside a band of 10% of the
//!   opening.
//!
//! **Sluice regimes.** The gate is clear of the water while e ≥ h_u: weir flow. From h_u ≥ 1.25·e on it is
//! orifice flow (HEC-RAS's criterion for a gate flowing as an orifice); for e < h_u < 1.25·e the flow is the
//! linear blend (1 − w)·Q_weir + w·Q_orifice, w = (h_u − e)/(0.25·e). Every piece is continuous, so the law
//! is continuous in (Z_f, Z_t).
//!
//! **Small head differences.** dQ/dΔh of both the submerged orifice (∝ Δh^−½) and Villemonte's factor
//! (∝ Δh^−0.615) is infinite at Δh = 0. Below Δh = |Z_f − Z_t| < δ = [`LINEAR_BAND_M`] the flow is
//! therefore taken linear in Δh: Q = F(h_u, h_u − δ)·Δh/δ (F the law above), continuous at Δh = δ, zero and
//! smooth through Δh = 0, so a structure's flow reverses only through zero and its conductance stays
//! finite (MIKE 1D linearises below its `Delhs` = 0.01 m in the same way).
//!
//! **One-way (flap) gates** pass max(Q, 0) ([`flow`]; the solver linearises the two-way law
//! [`flow_two_way`] while a flap is open and shuts it when its flow comes out reversed). **Pumps** pass their capacity from `from` to `to` while running,
//! whatever the levels, reduced linearly to nothing as the depth over the `from` node's bed falls from
//! [`SUCTION_DEPTH_M`] to 0, so that a pump never draws a node dry (the same cut applies to withdrawals).
//!
//! **Operation** (evaluated at the start of each hydraulic step from the levels at that time; gates move at
//! once): a schedule gives the opening (sluice, 0 = shut) or the state (pump, 0/1) in force; rules open and
//! shut as [`Operation`] documents, with their hysteresis held in [`Setting`].

use crate::model::{Operation, Structure, StructureKind};

/// √(2g), m^½/s.
const SQRT_2G: f64 = 4.429_446_918_070_02;

/// Head difference below which a gate's or weir's flow is linear in it (m).
pub const LINEAR_BAND_M: f64 = 0.01;

/// Width of the free-to-submerged orifice blend, as a share of the opening.
pub const SUBMERGED_BAND: f64 = 0.1;

/// Upstream head, as a multiple of the opening, from which a sluice flows as an orifice.
pub const ORIFICE_FROM: f64 = 1.25;

/// Depth over a node's bed below which pumps and withdrawals take less than asked (m).
pub const SUCTION_DEPTH_M: f64 = 0.1;

/// A structure's setting during one hydraulic step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// Open (sluice, weir) or running (pump).
    pub open: bool,
    /// The gate opening in effect, m (∞ for a gate clear of the water; 0 when shut; NaN for weirs and
    /// pumps, which have no gate).
    pub opening_m: f64,
}

/// The setting at the start of a step at time `t_s`, with levels `z_from`, `z_to` (m), given the setting
/// of the previous step (a rule's hysteresis).
pub fn operate(s: &Structure, last: Setting, t_s: f64, z_from: f64, z_to: f64) -> Setting {
    let gate = |open: bool| {
        let full = match &s.kind {
            StructureKind::Sluice { opening_m, .. } => opening_m.unwrap_or(f64::INFINITY),
            _ => f64::NAN,
        };
        Setting {
            open,
            opening_m: if open { full } else { 0.0 },
        }
    };
    match &s.operation {
        Operation::Fixed => match s.kind {
            StructureKind::Pump { .. } => Setting {
                open: false,
                opening_m: f64::NAN,
            },
            _ => gate(true),
        },
        Operation::Opening(series) => {
            let e = series.at(t_s).max(0.0);
            Setting {
                open: e > 0.0,
                opening_m: e,
            }
        }
        Operation::Running(series) => Setting {
            open: series.at(t_s) > 0.5,
            opening_m: f64::NAN,
        },
        Operation::Drain {
            open_above_m,
            close_below_m,
            margin_m,
        } => {
            let open = if last.open {
                !(z_from < *close_below_m || z_to >= z_from - margin_m)
            } else {
                z_from > *open_above_m && z_from > z_to + margin_m
            };
            gate(open)
        }
        Operation::Flush {
            intake_below_m,
            margin_m,
        } => gate(z_to > z_from + margin_m && z_from < *intake_below_m),
        Operation::Pumping {
            on_above_m,
            off_below_m,
        } => Setting {
            open: if last.open {
                z_from >= *off_below_m
            } else {
                z_from > *on_above_m
            },
            opening_m: f64::NAN,
        },
    }
}

/// The setting before the first step: a rule's gate starts shut (a pump off) and opens at the first step
/// whose levels satisfy it; a fixed or scheduled structure is as its operation says at `t_s`.
pub fn initial(s: &Structure, t_s: f64, z_from: f64, z_to: f64) -> Setting {
    let shut = Setting {
        open: false,
        opening_m: 0.0,
    };
    operate(s, shut, t_s, z_from, z_to)
}

/// Flow from `from` to `to` (m³/s) through a sluice or weir with the setting `set` and levels `z_from`,
/// `z_to` (m). For a pump: its capacity while running, cut as the module docs say, with `from_depth_m` the
/// depth over the `from` node's bed.
pub fn flow(s: &Structure, set: Setting, z_from: f64, z_to: f64, from_depth_m: f64) -> f64 {
    let q = flow_two_way(s, set, z_from, z_to, from_depth_m);
    match s.kind {
        StructureKind::Sluice { one_way: true, .. } | StructureKind::Weir { one_way: true, .. } => {
            q.max(0.0)
        }
        _ => q,
    }
}

/// [`flow`] with a flap gate's one-way rule left out: what the gate would pass both ways while it is open
/// (the law the solver linearises; it shuts the flap itself when the flow comes out reversed).
pub fn flow_two_way(s: &Structure, set: Setting, z_from: f64, z_to: f64, from_depth_m: f64) -> f64 {
    match &s.kind {
        StructureKind::Pump { capacity_m3s } => {
            if set.open {
                capacity_m3s * suction(from_depth_m)
            } else {
                0.0
            }
        }
        StructureKind::Sluice {
            sill_m,
            width_m,
            discharge_coefficient,
            weir_coefficient,
            ..
        } => {
            if !set.open || set.opening_m <= 0.0 {
                return 0.0;
            }
            let law = |hu: f64, hd: f64| {
                sluice(
                    hu,
                    hd,
                    set.opening_m,
                    *width_m,
                    *discharge_coefficient,
                    *weir_coefficient,
                )
            };
            signed(z_from - sill_m, z_to - sill_m, law)
        }
        StructureKind::Weir {
            sill_m,
            width_m,
            discharge_coefficient,
            ..
        } => {
            if !set.open {
                return 0.0;
            }
            let law = |hu: f64, hd: f64| weir(hu, hd, *width_m, *discharge_coefficient);
            signed(z_from - sill_m, z_to - sill_m, law)
        }
    }
}

/// The share of a pump's capacity or a withdrawal taken at depth `y_m` over the bed: 1 from
/// [`SUCTION_DEPTH_M`] up, linear to 0 at the bed.
#[inline]
pub fn suction(y_m: f64) -> f64 {
    (y_m / SUCTION_DEPTH_M).clamp(0.0, 1.0)
}

/// Derivative of [`suction`] with respect to the depth, 1/m.
#[inline]
pub fn suction_slope(y_m: f64) -> f64 {
    if y_m > 0.0 && y_m < SUCTION_DEPTH_M {
        1.0 / SUCTION_DEPTH_M
    } else {
        0.0
    }
}

/// A law F(h_u, h_d) (upstream head ≥ downstream head) applied to heads over the sill of the two sides, with
/// the direction and the linear band.
fn signed(h_from: f64, h_to: f64, law: impl Fn(f64, f64) -> f64) -> f64 {
    let (hu, dh, sign) = if h_from >= h_to {
        (h_from, h_from - h_to, 1.0)
    } else {
        (h_to, h_to - h_from, -1.0)
    };
    if hu <= 0.0 {
        return 0.0;
    }
    let q = if dh >= LINEAR_BAND_M {
        law(hu, hu - dh)
    } else {
        law(hu, hu - LINEAR_BAND_M) * dh / LINEAR_BAND_M
    };
    sign * q
}

/// Weir flow with Villemonte's submergence, m³/s (module docs).
pub fn weir(hu: f64, hd: f64, width_m: f64, c: f64) -> f64 {
    if hu <= 0.0 {
        return 0.0;
    }
    let free = c * width_m * SQRT_2G * hu * hu.sqrt();
    if hd <= 0.0 {
        free
    } else {
        let r = hd / hu;
        free * (1.0 - r * r.sqrt()).max(0.0).powf(0.385)
    }
}

/// Orifice flow under a gate of opening `e`, free, blended and submerged, m³/s (module docs).
pub fn orifice(hu: f64, hd: f64, e: f64, width_m: f64, mu: f64) -> f64 {
    let a = mu * width_m * e * SQRT_2G;
    let free = a * (hu - 0.5 * e).max(0.0).sqrt();
    let full = (1.0 + SUBMERGED_BAND) * e;
    if hd <= e {
        free
    } else if hd >= full {
        a * (hu - hd).max(0.0).sqrt()
    } else {
        let sub = a * (hu - full).max(0.0).sqrt();
        free + (sub - free) * (hd - e) / (full - e)
    }
}

/// A sluice's flow for heads `hu` ≥ `hd` over its sill, m³/s: weir, blend or orifice by h_u/e.
pub fn sluice(hu: f64, hd: f64, e: f64, width_m: f64, mu: f64, c: f64) -> f64 {
    if e >= hu {
        weir(hu, hd, width_m, c)
    } else if hu >= ORIFICE_FROM * e {
        orifice(hu, hd, e, width_m, mu)
    } else {
        let w = (hu - e) / ((ORIFICE_FROM - 1.0) * e);
        (1.0 - w) * weir(hu, hd, width_m, c) + w * orifice(hu, hd, e, width_m, mu)
    }
}

/// A gate's or weir's flow linearised in the level corrections of its two nodes: `(q0, slope_from,
/// slope_to)` with Q ≈ q0 + slope_from·ΔZ_from + slope_to·ΔZ_to, given the law's flow `g` at the current
/// levels and its slopes `gf`, `gt`.
///
/// At a step's first iteration (`last` = None) this is the tangent: q0 = g. Later the flow Q* of the last
/// iterate is kept as a second unknown, and Newton's method is applied to Q·|Q| = g·|g| rather than to
/// Q = g (DSM2 writes its gates this way): for the square-root laws of orifices and submerged weirs g·|g| is
/// close to linear in the levels, so the iteration no longer overshoots across the kinks of the law when the
/// flow through a wide-open gate draws its own node down; at convergence Q* = g and the two forms agree.
/// Linearised: Q = Q* + (g·|g| − Q*·|Q*|)/(2|Q*|) + (|g|/|Q*|)·(g_f ΔZ_f + g_t ΔZ_t). It falls back to the
/// tangent when Q* and g differ in sign or Q* is almost nothing (1e-6 m³/s).
pub fn linearise(g: f64, gf: f64, gt: f64, last: Option<f64>) -> (f64, f64, f64) {
    match last {
        Some(qs) if qs.abs() > 1e-6 => {
            let r = g.abs() / qs.abs();
            (
                qs + (g * g.abs() - qs * qs.abs()) / (2.0 * qs.abs()),
                r * gf,
                r * gt,
            )
        }
        _ => (g, gf, gt),
    }
}
