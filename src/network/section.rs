//! Cross-section geometry as a function of depth.
//!
//! For depth y above the bed (m):
//! - rectangle of width b: A = b·y, P = b + 2y, T = b;
//! - trapezoid with bottom b and banks z:1 (horizontal:vertical): A = (b + z·y)·y,
//!   P = b + 2y·sqrt(1 + z²), T = b + 2z·y;
//! - tabulated: top width T(y) piecewise linear between the given depths (vertical walls above the last), so
//!   A(y) = ∫₀ʸ T dy exactly by the trapezoid rule on each piece, and P(y) = T(0) + Σ 2·sqrt(Δy² + (ΔT/2)²)
//!   over the pieces below y (a symmetric section).
//!
//! Hydraulic radius R = A/P; Manning conveyance K = A·R^(2/3)/n (m³/s), so that Q = K·sqrt(S_f).
//! Normal depth y_n solves K(y_n) = Q/sqrt(S0) (uniform flow, S_f = S0); critical depth y_c solves
//! Q²·T(y_c) = g·A(y_c)³ (Froude number 1). Both by bisection on a bracket, K and A³/T being increasing in y.
//! Reference: Chow, *Open-Channel Hydraulics* (1959), ch. 2 and 5.

use crate::model::Section;

impl Section {
    /// Flow area (m²) at depth `y_m`.
    pub fn area_m2(&self, y_m: f64) -> f64 {
        let y = y_m.max(0.0);
        match self {
            Section::Rectangle { width_m } => width_m * y,
            Section::Trapezoid {
                bottom_width_m,
                side_slope,
            } => (bottom_width_m + side_slope * y) * y,
            Section::Table { depth_m, width_m } => {
                let mut a = 0.0;
                for k in 1..depth_m.len() {
                    let (y0, y1) = (depth_m[k - 1], depth_m[k]);
                    if y <= y0 {
                        return a;
                    }
                    let top = y.min(y1);
                    let w_top =
                        width_m[k - 1] + (width_m[k] - width_m[k - 1]) * (top - y0) / (y1 - y0);
                    a += 0.5 * (width_m[k - 1] + w_top) * (top - y0);
                    if y <= y1 {
                        return a;
                    }
                }
                let (yl, wl) = (depth_m[depth_m.len() - 1], width_m[width_m.len() - 1]);
                a + wl * (y - yl)
            }
        }
    }

    /// Wetted perimeter (m) at depth `y_m`.
    pub fn wetted_perimeter_m(&self, y_m: f64) -> f64 {
        let y = y_m.max(0.0);
        match self {
            Section::Rectangle { width_m } => width_m + 2.0 * y,
            Section::Trapezoid {
                bottom_width_m,
                side_slope,
            } => bottom_width_m + 2.0 * y * (1.0 + side_slope * side_slope).sqrt(),
            Section::Table { depth_m, width_m } => {
                let mut p = width_m[0];
                for k in 1..depth_m.len() {
                    let (y0, y1) = (depth_m[k - 1], depth_m[k]);
                    if y <= y0 {
                        return p;
                    }
                    let top = y.min(y1);
                    let w_top =
                        width_m[k - 1] + (width_m[k] - width_m[k - 1]) * (top - y0) / (y1 - y0);
                    let half_dw = 0.5 * (w_top - width_m[k - 1]);
                    p += 2.0 * ((top - y0).powi(2) + half_dw * half_dw).sqrt();
                    if y <= y1 {
                        return p;
                    }
                }
                p + 2.0 * (y - depth_m[depth_m.len() - 1])
            }
        }
    }

    /// Top width (m) at depth `y_m`.
    pub fn top_width_m(&self, y_m: f64) -> f64 {
        let y = y_m.max(0.0);
        match self {
            Section::Rectangle { width_m } => *width_m,
            Section::Trapezoid {
                bottom_width_m,
                side_slope,
            } => bottom_width_m + 2.0 * side_slope * y,
            Section::Table { depth_m, width_m } => {
                for k in 1..depth_m.len() {
                    if y <= depth_m[k] {
                        let (y0, y1) = (depth_m[k - 1], depth_m[k]);
                        return width_m[k - 1]
                            + (width_m[k] - width_m[k - 1]) * (y - y0) / (y1 - y0);
                    }
                }
                width_m[width_m.len() - 1]
            }
        }
    }

    /// Bottom width (m): the wetted width at zero depth, used for the bed area of internal release.
    pub fn bed_width_m(&self) -> f64 {
        self.wetted_perimeter_m(0.0)
    }

    /// Hydraulic radius A/P (m) at depth `y_m`; 0 at zero depth.
    pub fn hydraulic_radius_m(&self, y_m: f64) -> f64 {
        let p = self.wetted_perimeter_m(y_m);
        if p > 0.0 { self.area_m2(y_m) / p } else { 0.0 }
    }

    /// Manning conveyance K = A·R^(2/3)/n (m³/s) at depth `y_m`.
    pub fn conveyance_m3s(&self, y_m: f64, manning_n: f64) -> f64 {
        let a = self.area_m2(y_m);
        if a <= 0.0 {
            return 0.0;
        }
        a * self.hydraulic_radius_m(y_m).powf(2.0 / 3.0) / manning_n
    }

    /// The depth (m) at which the flow area is `area_m2` (inverse of [`Section::area_m2`]), by bisection
    /// refined with Newton; exact in closed form for the rectangle and trapezoid.
    pub fn depth_for_area_m(&self, area_m2: f64) -> f64 {
        if area_m2 <= 0.0 {
            return 0.0;
        }
        match self {
            Section::Rectangle { width_m } => area_m2 / width_m,
            Section::Trapezoid {
                bottom_width_m,
                side_slope,
            } => {
                if *side_slope == 0.0 {
                    area_m2 / bottom_width_m
                } else {
                    // z y² + b y − A = 0, the stable root
                    let (b, z) = (*bottom_width_m, *side_slope);
                    2.0 * area_m2 / (b + (b * b + 4.0 * z * area_m2).sqrt())
                }
            }
            Section::Table { .. } => {
                let mut hi = 1.0;
                while self.area_m2(hi) < area_m2 && hi < 1e6 {
                    hi *= 2.0;
                }
                let mut lo = 0.0;
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if self.area_m2(mid) < area_m2 {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                    if hi - lo <= 1e-14 * hi {
                        break;
                    }
                }
                0.5 * (lo + hi)
            }
        }
    }
    /// Manning normal depth (m) of flow `flow_m3s` (its magnitude is used) on bed slope `slope` (m/m) with
    /// roughness `manning_n`: the depth where K(y) = |Q|/sqrt(S0). `None` when the slope is not positive (no
    /// uniform flow exists on a flat or adverse bed). 0 for zero flow.
    pub fn normal_depth_m(&self, flow_m3s: f64, manning_n: f64, slope: f64) -> Option<f64> {
        if slope.is_nan()
            || slope <= 0.0
            || !flow_m3s.is_finite()
            || manning_n.is_nan()
            || manning_n <= 0.0
        {
            return None;
        }
        let target = flow_m3s.abs() / slope.sqrt();
        if target == 0.0 {
            return Some(0.0);
        }
        Some(self.bisect_increasing(|y| self.conveyance_m3s(y, manning_n), target))
    }

    /// Critical depth (m) of flow `flow_m3s` (its magnitude is used): Q²·T = g·A³. 0 for zero flow.
    pub fn critical_depth_m(&self, flow_m3s: f64) -> f64 {
        const G: f64 = 9.80665;
        let q2 = flow_m3s * flow_m3s;
        if q2 == 0.0 || !q2.is_finite() {
            return 0.0;
        }
        // A³/T increases with depth for these shapes
        self.bisect_increasing(
            |y| {
                let a = self.area_m2(y);
                let t = self.top_width_m(y);
                if t > 0.0 { G * a * a * a / t } else { 0.0 }
            },
            q2,
        )
    }

    /// The depth where the increasing function `f` reaches `target` (> 0), to relative 1e-14.
    fn bisect_increasing(&self, f: impl Fn(f64) -> f64, target: f64) -> f64 {
        let mut hi = 1.0;
        while f(hi) < target && hi < 1e6 {
            hi *= 2.0;
        }
        let mut lo = 0.0;
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if f(mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-14 * hi {
                break;
            }
        }
        0.5 * (lo + hi)
    }
}
