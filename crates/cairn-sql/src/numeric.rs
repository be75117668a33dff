//! `numeric`: exact decimal numbers, with PostgreSQL 15's scales, rounding and errors.
//!
//! A [`Numeric`] is a coefficient (an arbitrary-precision integer) and a display scale (the
//! digits after the point, never negative), or NaN. The scale is part of the value as
//! PostgreSQL keeps it: `1.50` prints as `1.50` and equals `1.5`. Results take PostgreSQL's
//! scales: a sum or difference the larger of its operands', a product the sum of theirs, a
//! quotient at least 16 significant digits (`select_div_scale`: `1/3` is
//! `0.33333333333333333333`, `avg` of integers `2.5000000000000000`), rounding half away from
//! zero. NaN equals itself and sorts above every number. Values past 131072 digits before the
//! point are `22003 value overflows numeric format`, and a division by zero is `22012`.
//!
//! Stored in a row as its text; in an index key as bytes whose order is the numbers' (see
//! [`Numeric::order_key`]).

use std::cmp::Ordering;

use num_bigint::{BigInt, Sign};
use num_traits::{Signed, ToPrimitive, Zero};

use crate::error::{Error, Result, SqlState};

/// Digits a numeric may have before its point.
const MAX_WEIGHT_DIGITS: usize = 131_072;
/// The least significant digits a quotient keeps (PostgreSQL's `NUMERIC_MIN_SIG_DIGITS`).
const MIN_SIG_DIGITS: i64 = 16;
/// The most digits after the point a computed result keeps (`NUMERIC_MAX_DISPLAY_SCALE`).
const MAX_DISPLAY_SCALE: i64 = 1000;

/// An exact decimal number, or NaN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Numeric {
    Finite { coef: BigInt, scale: u32 },
    NaN,
}

impl Numeric {
    pub fn from_i64(n: i64) -> Numeric {
        Numeric::Finite {
            coef: BigInt::from(n),
            scale: 0,
        }
    }

    /// PostgreSQL's `numeric_in`: `[+-]digits[.digits][e[+-]digits]` or `NaN`, surrounded by
    /// whitespace.
    pub fn parse(text: &str) -> Option<Numeric> {
        let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if t.eq_ignore_ascii_case("nan") {
            return Some(Numeric::NaN);
        }
        let (negative, rest) = match t.as_bytes().first()? {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                e.parse().ok().filter(|e: &i64| e.abs() <= 1000)?
            }
        };
        let digits = format!("{int_part}{frac_part}");
        let mut coef: BigInt = if digits.is_empty() {
            BigInt::zero()
        } else {
            digits.parse().ok()?
        };
        let mut scale = frac_part.len() as i64 - exponent;
        if scale < 0 {
            coef *= pow10((-scale) as u32);
            scale = 0;
        }
        if negative {
            coef = -coef;
        }
        Some(Numeric::Finite {
            coef,
            scale: scale as u32,
        })
    }

    /// The value's text (`numeric_out`): plain digits, the display scale after the point.
    pub fn to_text(&self) -> String {
        let Numeric::Finite { coef, scale } = self else {
            return "NaN".into();
        };
        let digits = coef.abs().to_string();
        let scale = *scale as usize;
        let digits = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits
        };
        let (int_part, frac_part) = digits.split_at(digits.len() - scale);
        let sign = if coef.sign() == Sign::Minus { "-" } else { "" };
        if scale == 0 {
            format!("{sign}{int_part}")
        } else {
            format!("{sign}{int_part}.{frac_part}")
        }
    }

    pub fn is_nan(&self) -> bool {
        matches!(self, Numeric::NaN)
    }

    /// The value as a double (`numeric_float8`).
    pub fn to_f64(&self) -> f64 {
        match self {
            Numeric::NaN => f64::NAN,
            finite => finite.to_text().parse().unwrap_or(f64::NAN),
        }
    }

    /// A double as a numeric (`float8_numeric`: its 15 significant digits).
    pub fn from_f64(x: f64) -> Result<Numeric> {
        if x.is_nan() {
            return Ok(Numeric::NaN);
        }
        if x.is_infinite() {
            return Err(Error::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cannot convert infinity to numeric",
            ));
        }
        let text = format!("{x:.14e}");
        let n = Numeric::parse(&text).expect("a formatted double parses");
        Ok(n.strip_trailing_zeros())
    }

    /// The value rounded half away from zero to an integer, if it fits an i64.
    pub fn round_to_i64(&self) -> Option<i64> {
        match self.round(0) {
            Numeric::Finite { coef, .. } => coef.to_i64(),
            Numeric::NaN => None,
        }
    }

    /// The value as a `numeric(precision, scale)` holds it: rounded to `scale` digits after
    /// the point, or `22003 numeric field overflow` if it then needs more than `precision -
    /// scale` digits before the point (NaN fits any).
    pub fn fit(&self, precision: u16, scale: u16) -> crate::error::Result<Numeric> {
        let rounded = self.round(i64::from(scale));
        let text = rounded.to_text();
        let integer_digits = text
            .trim_start_matches('-')
            .split('.')
            .next()
            .unwrap_or("")
            .trim_start_matches('0')
            .len();
        if !self.is_nan() && integer_digits > usize::from(precision - scale) {
            let bound = if precision == scale {
                "1".to_string()
            } else {
                format!("10^{}", precision - scale)
            };
            return Err(crate::error::Error::new(
                crate::error::SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                "numeric field overflow",
            )
            .with_detail(format!(
                "A field with precision {precision}, scale {scale} must round to an absolute value less than {bound}."
            )));
        }
        Ok(rounded)
    }

    /// The value rounded half away from zero to `scale` digits after the point (`round`).
    pub fn round(&self, scale: i64) -> Numeric {
        self.rescale(scale, true)
    }

    /// The value truncated toward zero to `scale` digits after the point (`trunc`).
    pub fn trunc(&self, scale: i64) -> Numeric {
        self.rescale(scale, false)
    }

    fn rescale(&self, scale: i64, round: bool) -> Numeric {
        let Numeric::Finite { coef, scale: s } = self else {
            return Numeric::NaN;
        };
        let s = i64::from(*s);
        if scale >= s {
            let scale = scale.min(MAX_DISPLAY_SCALE);
            return Numeric::Finite {
                coef: coef * pow10((scale - s) as u32),
                scale: scale as u32,
            };
        }
        let divisor = pow10((s - scale) as u32);
        let (mut q, r) = (coef / &divisor, coef % &divisor);
        if round && r.abs() * 2 >= divisor {
            q += if coef.sign() == Sign::Minus { -1 } else { 1 };
        }
        let kept = scale.max(0);
        Numeric::Finite {
            coef: q * pow10((kept - scale) as u32),
            scale: kept as u32,
        }
    }

    /// The same number with no trailing zeros after the point.
    pub fn strip_trailing_zeros(&self) -> Numeric {
        let Numeric::Finite { coef, scale } = self else {
            return Numeric::NaN;
        };
        let (mut coef, mut scale) = (coef.clone(), *scale);
        let ten = BigInt::from(10);
        while scale > 0 && (&coef % &ten).is_zero() {
            coef /= &ten;
            scale -= 1;
        }
        Numeric::Finite { coef, scale }
    }

    pub fn add(&self, other: &Numeric) -> Result<Numeric> {
        self.combine(other, |a, b| a + b)
    }

    pub fn sub(&self, other: &Numeric) -> Result<Numeric> {
        self.combine(other, |a, b| a - b)
    }

    /// Operands aligned to the larger scale, combined.
    fn combine(&self, other: &Numeric, f: impl Fn(BigInt, BigInt) -> BigInt) -> Result<Numeric> {
        let (Numeric::Finite { coef: a, scale: sa }, Numeric::Finite { coef: b, scale: sb }) =
            (self, other)
        else {
            return Ok(Numeric::NaN);
        };
        let scale = (*sa).max(*sb);
        let a = a * pow10(scale - sa);
        let b = b * pow10(scale - sb);
        checked(Numeric::Finite {
            coef: f(a, b),
            scale,
        })
    }

    pub fn mul(&self, other: &Numeric) -> Result<Numeric> {
        let (Numeric::Finite { coef: a, scale: sa }, Numeric::Finite { coef: b, scale: sb }) =
            (self, other)
        else {
            return Ok(Numeric::NaN);
        };
        let product = Numeric::Finite {
            coef: a * b,
            scale: sa + sb,
        };
        // PostgreSQL keeps at most NUMERIC_MAX_DISPLAY_SCALE digits of a product.
        checked(if i64::from(sa + sb) > MAX_DISPLAY_SCALE {
            product.round(MAX_DISPLAY_SCALE)
        } else {
            product
        })
    }

    /// `self / other` at PostgreSQL's quotient scale.
    pub fn div(&self, other: &Numeric) -> Result<Numeric> {
        if other.is_zero() {
            return Err(Error::division_by_zero());
        }
        let (Numeric::Finite { scale: sa, .. }, Numeric::Finite { scale: sb, .. }) = (self, other)
        else {
            return Ok(Numeric::NaN);
        };
        let rscale = div_scale(self, other, i64::from(*sa), i64::from(*sb));
        self.div_to_scale(other, rscale)
    }

    /// `self / other` rounded half away from zero to `rscale` digits.
    pub fn div_to_scale(&self, other: &Numeric, rscale: i64) -> Result<Numeric> {
        let (Numeric::Finite { coef: a, scale: sa }, Numeric::Finite { coef: b, scale: sb }) =
            (self, other)
        else {
            return Ok(Numeric::NaN);
        };
        if b.is_zero() {
            return Err(Error::division_by_zero());
        }
        // a·10^-sa / b·10^-sb = (a·10^k / b)·10^-rscale with k = rscale + sb - sa.
        let k = rscale + i64::from(*sb) - i64::from(*sa);
        let (num, den) = if k >= 0 {
            (a * pow10(k as u32), b.clone())
        } else {
            (a.clone(), b * pow10((-k) as u32))
        };
        let (mut q, r) = (&num / &den, &num % &den);
        if r.abs() * 2 >= den.abs() {
            q += if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) {
                -1
            } else {
                1
            };
        }
        checked(Numeric::Finite {
            coef: q,
            scale: rscale as u32,
        })
    }

    /// `self % other`: the remainder of truncated division, at the larger scale.
    pub fn rem(&self, other: &Numeric) -> Result<Numeric> {
        if other.is_zero() {
            return Err(Error::division_by_zero());
        }
        let (Numeric::Finite { coef: a, scale: sa }, Numeric::Finite { coef: b, scale: sb }) =
            (self, other)
        else {
            return Ok(Numeric::NaN);
        };
        let scale = (*sa).max(*sb);
        let a = a * pow10(scale - sa);
        let b = b * pow10(scale - sb);
        Ok(Numeric::Finite { coef: a % b, scale })
    }

    pub fn neg(&self) -> Numeric {
        match self {
            Numeric::Finite { coef, scale } => Numeric::Finite {
                coef: -coef,
                scale: *scale,
            },
            Numeric::NaN => Numeric::NaN,
        }
    }

    pub fn abs(&self) -> Numeric {
        match self {
            Numeric::Finite { coef, scale } => Numeric::Finite {
                coef: coef.abs(),
                scale: *scale,
            },
            Numeric::NaN => Numeric::NaN,
        }
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Numeric::Finite { coef, .. } if coef.is_zero())
    }

    /// -1, 0 or 1 (NaN: 0).
    pub fn signum(&self) -> i32 {
        match self {
            Numeric::Finite { coef, .. } => match coef.sign() {
                Sign::Minus => -1,
                Sign::NoSign => 0,
                Sign::Plus => 1,
            },
            Numeric::NaN => 0,
        }
    }

    /// The numbers' order; NaN equals NaN and is above every number.
    pub fn compare(&self, other: &Numeric) -> Ordering {
        match (self, other) {
            (Numeric::NaN, Numeric::NaN) => Ordering::Equal,
            (Numeric::NaN, _) => Ordering::Greater,
            (_, Numeric::NaN) => Ordering::Less,
            (Numeric::Finite { coef: a, scale: sa }, Numeric::Finite { coef: b, scale: sb }) => {
                let scale = (*sa).max(*sb);
                (a * pow10(scale - sa)).cmp(&(b * pow10(scale - sb)))
            }
        }
    }

    /// Bytes whose order (`memcmp`) is the numbers' order, equal for equal numbers whatever
    /// their scales: a sign class, then for a number other than zero its decimal exponent
    /// and significant digits, all inverted for a negative number.
    pub fn order_key(&self) -> Vec<u8> {
        let Numeric::Finite { coef, scale } = self.strip_trailing_zeros() else {
            return vec![4];
        };
        if coef.is_zero() {
            return vec![2];
        }
        let digits = coef.abs().to_string();
        let digits = digits.trim_end_matches('0');
        let exponent = coef.abs().to_string().len() as i64 - 1 - i64::from(scale);
        let mut body = ((exponent + (1 << 31)) as u32).to_be_bytes().to_vec();
        body.extend_from_slice(digits.as_bytes());
        if coef.sign() == Sign::Minus {
            let mut key = vec![1];
            key.extend(body.iter().map(|b| !b));
            key.push(0xFF);
            key
        } else {
            let mut key = vec![3];
            key.extend(body);
            key
        }
    }
}

/// PostgreSQL's `select_div_scale`: enough digits for 16 significant ones in the quotient,
/// at least either operand's scale.
fn div_scale(a: &Numeric, b: &Numeric, sa: i64, sb: i64) -> i64 {
    let (wa, fa) = weight_and_first_digit(a);
    let (wb, fb) = weight_and_first_digit(b);
    let mut qweight = wa - wb;
    if fa <= fb {
        qweight -= 1;
    }
    let rscale = MIN_SIG_DIGITS - qweight * 4;
    rscale.max(sa).max(sb).clamp(0, MAX_DISPLAY_SCALE)
}

/// The weight (in base-10000 digits) and value of a number's first nonzero base-10000 digit,
/// as PostgreSQL's numeric stores it; (0, 0) for zero.
fn weight_and_first_digit(n: &Numeric) -> (i64, i64) {
    let Numeric::Finite { coef, scale } = n else {
        return (0, 0);
    };
    if coef.is_zero() {
        return (0, 0);
    }
    let abs = coef.abs();
    let exponent = abs.to_string().len() as i64 - 1 - i64::from(*scale);
    let weight = exponent.div_euclid(4);
    // The integer part of |n| / 10000^weight.
    let shift = i64::from(*scale) + 4 * weight;
    let first = if shift >= 0 {
        abs / pow10(shift as u32)
    } else {
        abs * pow10((-shift) as u32)
    };
    (weight, first.to_i64().unwrap_or(0))
}

fn pow10(n: u32) -> BigInt {
    num_traits::pow(BigInt::from(10), n as usize)
}

/// `n`, or `22003` past the digits a numeric may have.
fn checked(n: Numeric) -> Result<Numeric> {
    if let Numeric::Finite { coef, scale } = &n {
        let digits = coef.abs().bits() as f64 * std::f64::consts::LOG10_2;
        if digits - f64::from(*scale) > MAX_WEIGHT_DIGITS as f64 {
            return Err(Error::new(
                SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                "value overflows numeric format",
            ));
        }
    }
    Ok(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn n(text: &str) -> Numeric {
        Numeric::parse(text).expect(text)
    }

    #[test]
    fn input_and_output_keep_the_scale() {
        for (input, output) in [
            ("1.50", "1.50"),
            ("-0.001", "-0.001"),
            (".5", "0.5"),
            ("1e3", "1000"),
            ("1.5e-3", "0.0015"),
            ("  42  ", "42"),
            ("nan", "NaN"),
        ] {
            assert_eq!(n(input).to_text(), output, "{input}");
        }
        for bad in ["", "1.2.3", "abc", "1e", "--1", "."] {
            assert!(Numeric::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn arithmetic_takes_postgresql_scales() {
        // Each expected text is PostgreSQL 15's.
        assert_eq!(n("1.5").add(&n("2.25")).unwrap().to_text(), "3.75");
        assert_eq!(n("1.5").mul(&n("2.25")).unwrap().to_text(), "3.375");
        assert_eq!(
            n("1").div(&n("3")).unwrap().to_text(),
            "0.33333333333333333333"
        );
        assert_eq!(
            n("10").div(&n("4")).unwrap().to_text(),
            "2.5000000000000000"
        );
        assert_eq!(n("5").div(&n("2")).unwrap().to_text(), "2.5000000000000000");
        assert_eq!(
            n("100000").div(&n("3")).unwrap().to_text(),
            "33333.333333333333"
        );
        assert_eq!(
            n("2").div(&n("3")).unwrap().to_text(),
            "0.66666666666666666667"
        );
        assert_eq!(n("-7.5").rem(&n("2")).unwrap().to_text(), "-1.5");
        assert_eq!(n("2.5").round(0).to_text(), "3");
        assert_eq!(n("-2.5").round(0).to_text(), "-3");
        assert_eq!(n("1234.5678").round(-2).to_text(), "1200");
        assert_eq!(n("1.999").trunc(2).to_text(), "1.99");
        assert_eq!(
            n("1").div(&n("0")).unwrap_err().state,
            SqlState::DIVISION_BY_ZERO
        );
    }

    #[test]
    fn order_keys_order_as_the_numbers() {
        let values = [
            "-100", "-1.5", "-1.25", "-1", "-0.01", "0", "0.001", "1", "1.25", "1.5", "20", "NaN",
        ];
        for pair in values.windows(2) {
            assert!(n(pair[0]).order_key() < n(pair[1]).order_key(), "{pair:?}");
            assert_eq!(n(pair[0]).compare(&n(pair[1])), Ordering::Less, "{pair:?}");
        }
        assert_eq!(n("1.50").order_key(), n("1.5").order_key());
    }
}
