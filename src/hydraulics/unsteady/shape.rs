//! Cross-section functions of the unsteady solver, defined for every real depth.
//!
//! The Preissmann scheme needs the flow area A(y), the top width T(y) = dA/dy and the conveyance
//! K(y) = A·R^(2/3)/n at each computational point, for depths y = Z − z_bed that the Newton iteration may
//! carry to or below the bed when a cell dries (a falling tide below an outlet's bed, a pump drawing a
//! basin down). Above the *dry depth* y_d (default [`DRY_DEPTH_M`]) the section is the reach's own. Below
//! it the area is continued as an exponential that matches A and T at y_d:
//!
//!   A(y) = A_d·exp((y − y_d)/ℓ),   T(y) = A(y)/ℓ,   ℓ = A_d/T_d,
//!
//! so A stays positive and increasing for every level, the stored volume of a drying cell tends to zero
//! without ever becoming negative (it is floored at e^−40·A_d), and the Newton iteration sees a smooth function (a "negative slot": the
//! same idea as the Preissmann slot used for pressurised flow, turned downward). For a rectangle ℓ = y_d.
//! The wetted perimeter is held at P(y_d) below y_d, so K = A^(5/3)/(n·P_d^(2/3)) falls with A^(5/3) and a
//! dry cell conducts almost nothing. Depths reported to the user are the section depth that holds the
//! cell's area ([`Shape::depth_of_area`]): never negative, and equal to y wherever y ≥ y_d.

use crate::model::Section;

/// Depth below which a section is continued as an exponential (m): 1 cm, the middle of the minimum depths of
/// 1 mm–1 cm in common use (hydpy, MIKE 1D's ZeroFlow threshold).
pub const DRY_DEPTH_M: f64 = 0.01;

/// The geometry of one reach's section, ready for the inner loop.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    /// Trapezoid bottom width (a rectangle is a trapezoid with z = 0), m.
    b: f64,
    /// Bank slope z (horizontal per vertical).
    z: f64,
    /// 2·sqrt(1 + z²): wetted perimeter per unit depth of the two banks.
    wall: f64,
    /// A tabulated section (evaluated through [`Section`]'s methods), if any.
    table: Option<Section>,
    /// 1/n².
    inv_n2: f64,
    /// y_d, m.
    dry_m: f64,
    /// A(y_d), m².
    a_dry: f64,
    /// ℓ = A_d/T_d, m.
    ell: f64,
    /// P(y_d), m.
    p_dry: f64,
}

impl Shape {
    /// The shape of `section` with Manning's `manning_n`, continued below `dry_m`.
    pub fn new(section: &Section, manning_n: f64, dry_m: f64) -> Shape {
        let (b, z, table) = match section {
            Section::Rectangle { width_m } => (*width_m, 0.0, None),
            Section::Trapezoid {
                bottom_width_m,
                side_slope,
            } => (*bottom_width_m, *side_slope, None),
            Section::Table { .. } => (0.0, 0.0, Some(section.clone())),
        };
        let mut s = Shape {
            b,
            z,
            wall: 2.0 * (1.0 + z * z).sqrt(),
            table,
            inv_n2: 1.0 / (manning_n * manning_n),
            dry_m,
            a_dry: 0.0,
            ell: 1.0,
            p_dry: 0.0,
        };
        let (a, t, p) = s.own(dry_m);
        s.a_dry = a;
        s.ell = a / t;
        s.p_dry = p;
        s
    }

    /// The section's own (area, top width, wetted perimeter) at depth `y` ≥ 0.
    #[inline(always)]
    fn own(&self, y: f64) -> (f64, f64, f64) {
        match &self.table {
            None => (
                (self.b + self.z * y) * y,
                self.b + 2.0 * self.z * y,
                self.b + self.wall * y,
            ),
            Some(s) => Self::tabulated(s, y),
        }
    }

    /// (area, top width, wetted perimeter) of a tabulated section at depth `y`.
    #[inline(never)]
    fn tabulated(s: &Section, y: f64) -> (f64, f64, f64) {
        (s.area_m2(y), s.top_width_m(y), s.wetted_perimeter_m(y))
    }

    /// The dry depth y_d below which the section is continued, m.
    pub fn dry_depth_m(&self) -> f64 {
        self.dry_m
    }

    /// (area m², top width m) at depth `y` (any real number; see the module docs below the dry depth).
    #[inline]
    pub fn area_width(&self, y: f64) -> (f64, f64) {
        if y >= self.dry_m {
            let (a, t, _) = self.own(y);
            (a, t)
        } else {
            // floored at e^−40 of A_d (the level 40ℓ below the dry depth): never 0, so u = Q/A and 1/K²
            // stay finite however far a Newton iterate overshoots
            let a = self.a_dry * ((y - self.dry_m) / self.ell).max(-40.0).exp();
            (a, a / self.ell)
        }
    }

    /// 1/K² at depth `y`, (s/m³)²: the friction slope of a flow Q is Q·|Q|/K².
    #[inline]
    pub fn inv_conveyance2(&self, y: f64) -> f64 {
        let (a, p) = if y >= self.dry_m {
            let (a, _, p) = self.own(y);
            (a, p)
        } else {
            (self.area_width(y).0, self.p_dry)
        };
        // K² = A²·R^(4/3)/n² = A^(10/3)·P^(−4/3)/n²
        let r = a / p;
        1.0 / (a * a * r * cube_root(r) * self.inv_n2)
    }

    /// The depth (m, ≥ 0) at which the reach's own section holds area `a_m2`.
    pub fn depth_of_area(&self, a_m2: f64) -> f64 {
        let a = a_m2.max(0.0);
        match &self.table {
            None if self.z == 0.0 => a / self.b,
            None => (-self.b + (self.b * self.b + 4.0 * self.z * a).sqrt()) / (2.0 * self.z),
            Some(s) => {
                // A(y) is increasing: bisection on a bracket that doubles until it holds `a`
                let mut hi = 1.0;
                while s.area_m2(hi) < a && hi < 1e6 {
                    hi *= 2.0;
                }
                let mut lo = 0.0;
                for _ in 0..60 {
                    let mid = 0.5 * (lo + hi);
                    if s.area_m2(mid) < a {
                        lo = mid
                    } else {
                        hi = mid
                    }
                }
                0.5 * (lo + hi)
            }
        }
    }
}

/// ∛x for x > 0, to within a few units in the last place: a first guess from the exponent bits (about 5
/// correct bits), then two of Halley's steps x ← x·(x³ + 2r)/(2x³ + r), each tripling the correct bits. It
/// is several times cheaper than `f64::cbrt` or `powf` here, where it runs once per cell and step.
#[inline]
fn cube_root(r: f64) -> f64 {
    // dividing the biased exponent by 3: bits/3 + (2/3)·1023·2^52, the classic first guess
    let mut x = f64::from_bits(r.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..3 {
        let x3 = x * x * x;
        x *= (x3 + 2.0 * r) / (2.0 * x3 + r);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Above the dry depth the functions are the section's own (hand values for a trapezoid, b = 10 m,
    /// z = 2, n = 0.03, y = 2 m: A = 28 m², T = 18 m, P = 10 + 4·sqrt(5) m); below it A and T are continuous
    /// at y_d, positive at any depth, and A decreases towards zero.
    #[test]
    fn cube_root_agrees_with_powf_to_round_off() {
        // hydraulic radii from a film to a lake, and beyond
        let mut r = 1e-9;
        while r < 1e9 {
            let (ours, reference) = (cube_root(r), r.powf(1.0 / 3.0));
            assert!(
                (ours - reference).abs() <= 4.0 * f64::EPSILON * reference,
                "{r}: {ours} {reference}"
            );
            r *= 1.37;
        }
    }

    #[test]
    fn shape_matches_the_section_and_continues_below_the_dry_depth() {
        let s = Shape::new(
            &Section::Trapezoid {
                bottom_width_m: 10.0,
                side_slope: 2.0,
            },
            0.03,
            DRY_DEPTH_M,
        );
        let (a, t) = s.area_width(2.0);
        assert!((a - 28.0).abs() < 1e-12 && (t - 18.0).abs() < 1e-12);
        let p = 10.0 + 4.0 * 5f64.sqrt();
        let k2 = (28.0f64 * (28.0 / p).powf(2.0 / 3.0) / 0.03).powi(2);
        assert!((s.inv_conveyance2(2.0) * k2 - 1.0).abs() < 1e-12);
        let (above, below) = (s.area_width(DRY_DEPTH_M), s.area_width(DRY_DEPTH_M - 1e-12));
        // over 1e-12 m, A changes by T·1e-12 ≈ 1e-11 m²: continuity to 1e-10 m² and 1e-8 m
        assert!((above.0 - below.0).abs() < 1e-10 && (above.1 - below.1).abs() < 1e-8);
        let mut last = f64::INFINITY;
        // decreasing below the dry depth, down to the floor e^−40·A_d (reached 40ℓ ≈ 0.4 m lower here)
        for y in [0.0, -0.1, -1.0, -10.0] {
            let (a, t) = s.area_width(y);
            assert!(a > 0.0 && t > 0.0 && a <= last, "y {y}: A {a}, T {t}");
            last = a;
        }
        assert!(s.area_width(-0.1).0 < s.area_width(0.0).0);
        assert!((s.depth_of_area(28.0) - 2.0).abs() < 1e-12);
        assert_eq!(s.depth_of_area(0.0), 0.0);
    }
}
