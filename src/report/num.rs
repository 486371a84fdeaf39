//! Fast printing of f64 exactly as Rust's `{}` prints it (DESIGN.md §7: full round-trip precision).
//!
//! Rust's `Display` for f64 writes the shortest decimal digit string d₁…dₙ that reads back to the same bits
//! (among equally short strings, the one closest to the exact binary value) and lays it out without an
//! exponent: value = 0.d₁…dₙ × 10^kk is written `d₁…d_kk.d_kk+1…dₙ` when 0 < kk < n, `d₁…dₙ` followed by
//! kk − n zeros when kk ≥ n (no `.0`), and `0.` followed by −kk zeros and the digits when kk ≤ 0. The sign is
//! written for every negative value including −0 (`-0`); non-finite values are `NaN`, `inf`, `-inf`.
//!
//! The `ryu` crate (Adams, "Ryū: fast float-to-string conversion", PLDI 2018) computes the same shortest,
//! closest digit string several times faster than the Grisu/Dragon4 pair in `core`, but lays it out its own
//! way: `123.0`, `0.5`, `1e-7`, `1.5e20`. [`push_f64`] keeps ryu's digits and rewrites only the layout.
//! ryu's plain (exponent-free) form is already Rust's except for a trailing `.0` on integers; its scientific
//! form `d[.ddd]e±X` (used when kk > 16 or kk ≤ −5) is spread out into plain digits and zeros.
//!
//! That both produce the same digits is checked by the tests below against `format!("{}")` itself, over every
//! binary exponent and several million random values, rather than assumed.

/// Append to `buf` exactly the bytes `format!("{}", x)` gives for `x`.
pub(crate) fn push_f64(buf: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        buf.extend_from_slice(if x.is_nan() {
            b"NaN"
        } else if x > 0.0 {
            b"inf"
        } else {
            b"-inf"
        });
        return;
    }
    // ryu writes at most 24 bytes (`-1.2345678901234567e-308`); it writes them straight into `buf`, and
    // only the rare forms are copied out and rewritten
    const RYU_MAX_LEN: usize = 24;
    let start = buf.len();
    buf.reserve(RYU_MAX_LEN);
    // SAFETY: `reserve` leaves at least RYU_MAX_LEN writable bytes after `start`; `x` is finite, as
    // `format64` requires, and it writes at most RYU_MAX_LEN bytes, all initialised ASCII, returning their
    // count, so the first `start + n` bytes are initialised when the length is set.
    unsafe {
        let n = ryu::raw::format64(x, buf.as_mut_ptr().add(start));
        buf.set_len(start + n);
    }
    let tie = exact_tie_significand(x);
    let s = &buf[start..];
    // ryu switches to `d.ddde±X` when its shortest digits are ≥ 10^16 or < 10^−5; 10^16 is a double and
    // 10^−5 lies in the rounding interval of the double nearest it, so for x in [10^−5, 10^16) the digits
    // are in that range too and the form is plain (the powers-of-ten test checks both edges)
    let plain = (1e-5..1e16).contains(&x.abs());
    if tie.is_none() && (plain || !s.contains(&b'e')) {
        // plain form: identical to Rust's but for the `.0` ryu adds to integers (and to ±0)
        if s.ends_with(b".0") {
            buf.truncate(buf.len() - 2);
        }
        return;
    }
    let mut copy = [0u8; RYU_MAX_LEN];
    let n = s.len();
    copy[..n].copy_from_slice(s);
    buf.truncate(start);
    match tie {
        None => push_ryu(buf, &copy[..n]),
        Some(exact) => push_tie(buf, &copy[..n], exact),
    }
}

/// Lay out ryu's output `s` (`[-]ddd.ddd`, `[-]0.000ddd`, `[-]ddd.0`, `[-]d[.ddd]e[-]X`) as Rust's `{}`.
fn push_ryu(buf: &mut Vec<u8>, s: &[u8]) {
    match s.iter().position(|&c| c == b'e') {
        // plain form: identical to Rust's but for the `.0` ryu adds to integers (and to ±0)
        None => buf.extend_from_slice(s.strip_suffix(b".0").unwrap_or(s)),
        Some(e) => push_scientific(buf, &s[..e], &s[e + 1..]),
    }
}

/// The exact decimal significand E of |x| when x might be a rounding tie, else `None`.
///
/// A tie is a value whose exact decimal expansion E·10^−j has one digit more than its shortest
/// round-trip form, that digit being 5: both neighbours with one digit fewer are then equally close.
/// ryu takes the one with an even last digit, Rust's `{}` the one away from zero (2000000000000000.25:
/// ryu `…0.2`, Rust `…0.3`), so [`push_tie`] corrects ryu there; this is the only class where their digits
/// differ (the tests compare every class with `format!`, and ~60 million values in a one-off run). Since
/// x = odd·2^−j exactly has E = odd·5^j, and dropping half a unit of E's last place must stay within half
/// an ulp (≈ x·2^−53), a tie needs 10^16 ≤ E, and E < 10^18 (18 digits: one more than the longest shortest
/// form, 17), hence j ≤ 25 and 0 < |x| < 2^53. Integers (j = 0) are never ties: their half ulp is below the
/// 5·10^k that would have to be dropped. For typical computed values (a full 53-bit mantissa scaled by
/// 2^−50 or so) this returns `None` after a few integer operations.
#[inline]
fn exact_tie_significand(x: f64) -> Option<u64> {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // zero or subnormal: far too small to be a tie (needs |x| ≥ 10^16·10^−25)
        return None;
    }
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let tz = mantissa.trailing_zeros() as i32;
    // |x| = odd · 2^(biased − 1075 + tz)
    let j = 1075 - biased - tz;
    if !(1..=25).contains(&j) {
        return None;
    }
    let exact = ((mantissa >> tz) as u128) * 5u128.pow(j as u32);
    (10u128.pow(16)..10u128.pow(18))
        .contains(&exact)
        .then_some(exact as u64)
}

/// Rare path of [`push_f64`]: `x` has the exact decimal significand `exact` (see
/// [`exact_tie_significand`]); if ryu's digits are `exact` rounded down by its last digit (a 5), which ryu
/// does on a tie when that leaves an even digit, write the digits rounded up instead, as Rust does.
#[cold]
fn push_tie(buf: &mut Vec<u8>, s: &[u8], exact: u64) {
    let mut fixed = [0u8; 32];
    fixed[..s.len()].copy_from_slice(s);
    let fixed = &mut fixed[..s.len()];
    let end = fixed.iter().position(|&c| c == b'e').unwrap_or(fixed.len());
    let digits = fixed[..end]
        .iter()
        .filter(|c| c.is_ascii_digit())
        .fold(0u64, |acc, &c| acc * 10 + (c - b'0') as u64);
    if exact % 10 == 5 && digits == exact / 10 {
        // the last digit of `exact / 10` is even, hence below 9: no carry
        fixed[end - 1] += 1;
    }
    push_ryu(buf, fixed);
}

/// Lay out ryu's `[-]d[.ddd]` mantissa and decimal `exponent` (value = d.ddd × 10^exponent) without an
/// exponent, as Rust's `{}` does.
#[cold]
fn push_scientific(buf: &mut Vec<u8>, mantissa: &[u8], exponent: &[u8]) {
    let (negative, mantissa) = match mantissa.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, mantissa),
    };
    let (negative_exp, exponent) = match exponent.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, exponent),
    };
    let magnitude = exponent
        .iter()
        .fold(0isize, |acc, &c| acc * 10 + (c - b'0') as isize);
    let exp10 = if negative_exp { -magnitude } else { magnitude };
    // digits before the point: value = 0.d₁…dₙ × 10^kk
    let kk = exp10 + 1;
    let mut digits = [0u8; 17];
    let mut n = 0;
    for &c in mantissa.iter().filter(|&&c| c != b'.') {
        digits[n] = c;
        n += 1;
    }
    let digits = &digits[..n];
    if negative {
        buf.push(b'-');
    }
    if kk <= 0 {
        buf.extend_from_slice(b"0.");
        buf.resize(buf.len() + (-kk) as usize, b'0');
        buf.extend_from_slice(digits);
    } else if kk as usize >= n {
        buf.extend_from_slice(digits);
        buf.resize(buf.len() + kk as usize - n, b'0');
    } else {
        let (int, frac) = digits.split_at(kk as usize);
        buf.extend_from_slice(int);
        buf.push(b'.');
        buf.extend_from_slice(frac);
    }
}

#[cfg(test)]
mod tests {
    //! Why this is a full check, short of the 2⁶⁴ inputs: ryu's work depends on the binary exponent (which
    //! fixes its table entry, the shift and the scale q) and on whether the mantissa is zero (asymmetric
    //! rounding interval at powers of two), even (interval boundaries included) or odd, and the layout on
    //! the decimal exponent and digit count. The tests go through every one of the 2048 binary exponents
    //! with mantissa 0, 1, the largest and 64 random ones, both signs; every power of ten and of two in
    //! range and their neighbours one ulp away (where shortest digits are longest and ties and rounding
    //! boundaries sit); the special values; 2 million uniformly random bit patterns; and 1 million short
    //! decimal "engineering" values k·10^e (the values a scenario actually holds) with their neighbours.
    //! Each is compared byte for byte with `format!("{}")` itself, so the expected value is independent of
    //! the code under test. Exact equality is the requirement (DESIGN.md §7), so there is no tolerance.
    use super::push_f64;
    use std::fmt::Write as _;

    // a reproducible stream of 64-bit values from a constant seed (the generator's own SplitMix64)
    use crate::generate::SplitMix64;

    /// Compares `push_f64` with `format!("{}")`, reusing two buffers; panics naming the first mismatch.
    struct Checker {
        want: String,
        got: Vec<u8>,
        checked: usize,
    }
    impl Checker {
        fn new() -> Self {
            Checker {
                want: String::with_capacity(512),
                got: Vec::with_capacity(512),
                checked: 0,
            }
        }
        fn check(&mut self, x: f64) {
            self.want.clear();
            let _ = write!(self.want, "{x}");
            self.got.clear();
            self.got.push(b',');
            push_f64(&mut self.got, x);
            assert!(
                self.got[1..] == *self.want.as_bytes(),
                "bits {:#018x}: format! gives {:?}, push_f64 gives {:?}",
                x.to_bits(),
                self.want,
                String::from_utf8_lossy(&self.got[1..])
            );
            self.checked += 1;
        }
        /// `x`, its negation and the neighbours one ulp away on each side.
        fn check_around(&mut self, x: f64) {
            for y in [x, x.next_up(), x.next_down()] {
                self.check(y);
                self.check(-y);
            }
        }
    }

    #[test]
    fn special_and_boundary_values() {
        let mut c = Checker::new();
        let specials = [
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            2.2250738585072e-308,
            2.225073858507201e-308,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e23,
            1e-5,
            1e-6,
            1e-7,
            0.1,
            0.2,
            0.3,
            0.1 + 0.2,
            2.0 / 3.0,
            1.0 / 3.0,
            123456789.0,
            123.0,
            0.5,
            9007199254740991.0,
            9007199254740992.0,
            9007199254740993.0,
            1.5e20,
            1.7976931348623157e308,
            // ryu's plain/scientific switch points: kk = 16, 17 and kk = -4, -5
            1234567890123456.0,
            12345678901234567.0,
            0.00001234,
            0.000001234,
        ];
        for x in specials {
            c.check_around(x);
        }
        // every power of ten from the smallest subnormal to the largest finite (nearest double, parsed)
        for e in -324..=308 {
            let x: f64 = format!("1e{e}").parse().unwrap();
            c.check_around(x);
        }
        // every power of two, subnormal to largest, exactly
        for e in -1074..=1023 {
            c.check_around(2f64.powi(e));
        }
        // every biased binary exponent with mantissa 0, 1, all ones and 64 random mantissas
        let mut rng = SplitMix64::new(0x5EED_F64F_0000_0001);
        for biased in 0..=2046u64 {
            let mut mantissas = vec![0, 1, (1 << 52) - 1];
            mantissas.extend((0..64).map(|_| rng.next_u64() & ((1 << 52) - 1)));
            for m in mantissas {
                let x = f64::from_bits((biased << 52) | m);
                c.check(x);
                c.check(-x);
            }
        }
        assert!(c.checked > 290_000, "only {} values checked", c.checked);
    }

    #[test]
    fn rounding_ties() {
        // values odd/2^j whose exact decimal has 17 or 18 digits ending in 5: the class where ryu (ties to
        // even) and Rust (ties away from zero) could pick different last digits; half of them do
        let mut c = Checker::new();
        let mut rng = SplitMix64::new(0x71E5_0000_0000_0003);
        let mut ties = 0;
        let mut ryu_differs = 0;
        for _ in 0..200_000 {
            let r = rng.next_u64();
            let j = 2 + (r % 24) as u32;
            let max_odd = (1e18 / 5f64.powi(j as i32)).min(2f64.powi(53)) as u64;
            let odd = (rng.next_u64() % max_odd) | 1;
            let x = odd as f64 / 2f64.powi(j as i32);
            if super::exact_tie_significand(x).is_some() {
                ties += 1;
            }
            let mut raw = Vec::new();
            super::push_ryu(&mut raw, ryu::Buffer::new().format_finite(x).as_bytes());
            if raw != format!("{x}").as_bytes() {
                ryu_differs += 1;
            }
            c.check(x);
            c.check(-x);
        }
        // most draws land in the class (E ≥ 10^16), and on a good share of them ryu's own digits differ
        // from Rust's, so the correction is exercised: the test is not vacuous
        assert!(ties > 100_000, "only {ties} tie candidates");
        assert!(
            ryu_differs > 10_000,
            "ryu differed only {ryu_differs} times"
        );
        // the first disagreement found, checked by hand: 2000000000000000.25 is exact (ulp 0.25 here), and
        // …0.2 and …0.3 are both 0.05 away; ryu keeps the even digit, Rust rounds the tie up
        let x = 2e15 + 0.25; // exact: both terms and the sum are doubles
        assert_eq!(ryu::Buffer::new().format_finite(x), "2000000000000000.2");
        assert_eq!(format!("{x}"), "2000000000000000.3");
        let mut b = Vec::new();
        push_f64(&mut b, x);
        assert_eq!(b, b"2000000000000000.3");
    }

    #[test]
    fn random_bit_patterns() {
        // all 2⁶⁴ patterns are fair game, NaNs and infinities included: nothing is skipped
        let mut c = Checker::new();
        let mut rng = SplitMix64::new(0x0123_4567_89AB_CDEF);
        for _ in 0..2_000_000 {
            c.check(f64::from_bits(rng.next_u64()));
        }
        assert_eq!(c.checked, 2_000_000);
    }

    #[test]
    fn random_engineering_values() {
        // k·10^e for k of 1 to 6 digits and e over the range a model's numbers (and their products) take,
        // plus a second family over the whole exponent range; each with its two neighbours
        let mut c = Checker::new();
        let mut rng = SplitMix64::new(0xE61E_E7E1_0000_0002);
        let mut text = String::new();
        for i in 0..1_000_000u32 {
            let r = rng.next_u64();
            let k = (r % 1_000_000) as i64;
            let digits_k = 1 + (r >> 20) % 6;
            let k = k % 10i64.pow(digits_k as u32);
            let e = if i % 4 == 0 {
                ((r >> 32) % 630) as i32 - 324
            } else {
                ((r >> 32) % 41) as i32 - 20
            };
            text.clear();
            let _ = write!(text, "{k}e{e}");
            let x: f64 = text.parse().unwrap();
            if i % 8 == 0 {
                c.check_around(x);
            } else {
                c.check(x);
            }
        }
        assert!(c.checked >= 1_000_000);
    }
}
