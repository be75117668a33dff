//! `interval`: a span of months, days and microseconds, kept apart as PostgreSQL keeps them
//! (a month is not a fixed number of days, nor a day — across a DST change — of hours).
//!
//! Two intervals compare (and group, and index) by their length with a month taken as 30
//! days and a day as 24 hours, so `'1 mon'` equals `'30 days'` as in PostgreSQL.
//!
//! **Input** ([`Interval::parse`]): PostgreSQL's style, a sequence of `number unit` pairs
//! (`1 year 2 mons 3 days`, `-1.5 hours`, units singular, plural or abbreviated, from
//! `microsecond` to `millennium`), a clock `[-]HH:MM[:SS[.f]]`, a bare number of seconds,
//! a leading `@` and a trailing `ago`. A fraction of a month spills into days (30 to the
//! month) and a fraction of a day into time. **Output** ([`Interval::to_text`]):
//! `IntervalStyle = postgres`, `1 year 2 mons -3 days +04:05:06.5`.

use std::cmp::Ordering;

use crate::datetime::{push_clock, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE};
use crate::error::{Error, Result, SqlState};

/// An interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

/// The unit a number in interval input counts.
#[derive(Clone, Copy)]
enum Unit {
    Months(i64),
    Days(i64),
    Micros(i64),
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "microsecond" | "microseconds" | "usec" | "usecs" | "us" => Unit::Micros(1),
        "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" => Unit::Micros(1000),
        "second" | "seconds" | "sec" | "secs" | "s" => Unit::Micros(1_000_000),
        "minute" | "minutes" | "min" | "mins" | "m" => Unit::Micros(USECS_PER_MINUTE),
        "hour" | "hours" | "hr" | "hrs" | "h" => Unit::Micros(USECS_PER_HOUR),
        "day" | "days" | "d" => Unit::Days(1),
        "week" | "weeks" | "w" => Unit::Days(7),
        "month" | "months" | "mon" | "mons" => Unit::Months(1),
        "year" | "years" | "yr" | "yrs" | "y" => Unit::Months(12),
        "decade" | "decades" => Unit::Months(120),
        "century" | "centuries" => Unit::Months(1200),
        "millennium" | "millennia" | "millenniums" => Unit::Months(12_000),
        _ => return None,
    })
}

impl Interval {
    pub const ZERO: Interval = Interval {
        months: 0,
        days: 0,
        micros: 0,
    };

    /// The interval's length in microseconds, a month being 30 days.
    pub fn total_micros(&self) -> i128 {
        (i128::from(self.months) * 30 + i128::from(self.days)) * i128::from(USECS_PER_DAY)
            + i128::from(self.micros)
    }

    pub fn compare(&self, other: &Interval) -> Ordering {
        self.total_micros().cmp(&other.total_micros())
    }

    /// `interval`'s input function.
    pub fn parse(text: &str) -> Result<Interval> {
        let bad = || {
            Error::new(
                SqlState::INVALID_DATETIME_FORMAT,
                format!("invalid input syntax for type interval: \"{text}\""),
            )
        };
        let lower = text.trim().to_ascii_lowercase();
        let mut words: Vec<&str> = lower.split_ascii_whitespace().collect();
        if words.first() == Some(&"@") {
            words.remove(0);
        }
        let ago = words.last() == Some(&"ago");
        if ago {
            words.pop();
        }
        if words.is_empty() {
            return Err(bad());
        }
        let mut sum = Accumulator::default();
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            if word.contains(':') {
                sum.micros += clock_micros(word).ok_or_else(bad)? as f64;
                i += 1;
                continue;
            }
            // A number, its unit either attached (`1day`) or the next word.
            let split = word
                .find(|c: char| c.is_ascii_alphabetic())
                .unwrap_or(word.len());
            let (number, attached) = word.split_at(split);
            let n: f64 = number.parse().map_err(|_| bad())?;
            let unit_word = if !attached.is_empty() {
                attached
            } else if let Some(next) = words.get(i + 1).filter(|w| unit(w).is_some()) {
                i += 1;
                next
            } else {
                "second"
            };
            sum.add(n, unit(unit_word).ok_or_else(bad)?);
            i += 1;
        }
        let interval = sum.finish().ok_or_else(|| out_of_range(text))?;
        if ago {
            interval.neg()
        } else {
            Ok(interval)
        }
    }

    /// `interval`'s output function (`IntervalStyle = postgres`).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut is_zero = true;
        let mut is_before = false;
        let parts = [
            (i64::from(self.months / 12), "year"),
            (i64::from(self.months % 12), "mon"),
            (i64::from(self.days), "day"),
        ];
        for (value, unit) in parts {
            if value == 0 {
                continue;
            }
            if !is_zero {
                out.push(' ');
            }
            if is_before && value > 0 {
                out.push('+');
            }
            out.push_str(&format!(
                "{value} {unit}{}",
                if value == 1 { "" } else { "s" }
            ));
            is_before = value < 0;
            is_zero = false;
        }
        if self.micros != 0 || is_zero {
            if !is_zero {
                out.push(' ');
            }
            if self.micros < 0 {
                out.push('-');
            } else if is_before {
                out.push('+');
            }
            push_clock(&mut out, self.micros.unsigned_abs() as i64);
        }
        out
    }

    pub fn neg(&self) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_neg().ok_or_else(overflow)?,
            days: self.days.checked_neg().ok_or_else(overflow)?,
            micros: self.micros.checked_neg().ok_or_else(overflow)?,
        })
    }

    pub fn add(&self, other: &Interval) -> Result<Interval> {
        Ok(Interval {
            months: self.months.checked_add(other.months).ok_or_else(overflow)?,
            days: self.days.checked_add(other.days).ok_or_else(overflow)?,
            micros: self.micros.checked_add(other.micros).ok_or_else(overflow)?,
        })
    }

    pub fn sub(&self, other: &Interval) -> Result<Interval> {
        self.add(&other.neg()?)
    }

    /// The interval times `factor`, fractions of months and days spilled into days and time
    /// (PostgreSQL's `interval_mul`).
    pub fn mul(&self, factor: f64) -> Result<Interval> {
        if factor.is_nan() {
            return Err(overflow());
        }
        let months = f64::from(self.months) * factor;
        let days = f64::from(self.days) * factor;
        let (whole_months, whole_days) = (months.trunc(), days.trunc());
        if whole_months.abs() > f64::from(i32::MAX) || whole_days.abs() > f64::from(i32::MAX) {
            return Err(overflow());
        }
        let month_remainder_days = round_micro((months - whole_months) * 30.0);
        let mut sec_remainder = round_micro(
            (days - whole_days + month_remainder_days - month_remainder_days.trunc()) * 86_400.0,
        );
        let mut result_days = whole_days as i64;
        if sec_remainder.abs() >= 86_400.0 {
            result_days += (sec_remainder / 86_400.0).trunc() as i64;
            sec_remainder -= (sec_remainder / 86_400.0).trunc() * 86_400.0;
        }
        result_days += month_remainder_days.trunc() as i64;
        let micros = (self.micros as f64 * factor + sec_remainder * 1e6).round_ties_even();
        if !micros.is_finite() || micros.abs() >= 9.2e18 {
            return Err(overflow());
        }
        Ok(Interval {
            months: whole_months as i32,
            days: i32::try_from(result_days).map_err(|_| overflow())?,
            micros: micros as i64,
        })
    }

    /// The interval divided by `divisor` (`22012` for zero).
    pub fn div(&self, divisor: f64) -> Result<Interval> {
        if divisor == 0.0 {
            return Err(Error::new(SqlState::DIVISION_BY_ZERO, "division by zero"));
        }
        self.mul(1.0 / divisor)
    }

    /// `justify_hours`: whole days out of the time, the two given one sign.
    pub fn justify_hours(&self) -> Interval {
        let mut days = i64::from(self.days) + self.micros / USECS_PER_DAY;
        let mut micros = self.micros % USECS_PER_DAY;
        if days > 0 && micros < 0 {
            micros += USECS_PER_DAY;
            days -= 1;
        } else if days < 0 && micros > 0 {
            micros -= USECS_PER_DAY;
            days += 1;
        }
        Interval {
            months: self.months,
            days: days.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
            micros,
        }
    }

    /// `justify_days`: whole months (of 30 days) out of the days.
    pub fn justify_days(&self) -> Interval {
        let mut months = self.months + self.days / 30;
        let mut days = self.days % 30;
        if months > 0 && days < 0 {
            days += 30;
            months -= 1;
        } else if months < 0 && days > 0 {
            days -= 30;
            months += 1;
        }
        Interval {
            months,
            days,
            micros: self.micros,
        }
    }
}

/// A sum of interval input's fields, fractions still fractions.
#[derive(Default)]
struct Accumulator {
    months: f64,
    days: f64,
    micros: f64,
}

impl Accumulator {
    fn add(&mut self, n: f64, unit: Unit) {
        match unit {
            Unit::Months(m) => self.months += n * m as f64,
            Unit::Days(d) => self.days += n * d as f64,
            Unit::Micros(u) => self.micros += n * u as f64,
        }
    }

    /// The interval, a month's fraction spilled into days and a day's into time.
    fn finish(self) -> Option<Interval> {
        let months = self.months.trunc();
        let days_total = self.days + round_micro((self.months - months) * 30.0);
        let days = days_total.trunc();
        let micros = (self.micros + (days_total - days) * USECS_PER_DAY as f64).round();
        let fits = |x: f64, max: f64| x.is_finite() && x.abs() <= max;
        (fits(months, f64::from(i32::MAX))
            && fits(days, f64::from(i32::MAX))
            && fits(micros, 9.2e18))
        .then_some(Interval {
            months: months as i32,
            days: days as i32,
            micros: micros as i64,
        })
    }
}

/// `[-]H:MM[:SS[.f]]` in microseconds.
fn clock_micros(word: &str) -> Option<i64> {
    let (negative, body) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word.strip_prefix('+').unwrap_or(word)),
    };
    let mut parts = body.split(':');
    let hours = i64::try_from(parts.next()?.parse::<u64>().ok()?).ok()?;
    let minutes = i64::try_from(parts.next()?.parse::<u64>().ok()?).ok()?;
    let seconds: f64 = match parts.next() {
        Some(s) => s.parse().ok()?,
        None => 0.0,
    };
    if parts.next().is_some() || minutes > 59 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let micros = hours
        .checked_mul(USECS_PER_HOUR)?
        .checked_add(minutes * USECS_PER_MINUTE)?
        .checked_add((seconds * 1e6).round() as i64)?;
    Some(if negative { -micros } else { micros })
}

/// `x` rounded to six decimals (PostgreSQL's `TSROUND`).
fn round_micro(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn overflow() -> Error {
    Error::new(SqlState::DATETIME_FIELD_OVERFLOW, "interval out of range")
}

fn out_of_range(text: &str) -> Error {
    Error::new(
        SqlState::DATETIME_FIELD_OVERFLOW,
        format!("interval field value out of range: \"{text}\""),
    )
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    fn text(input: &str) -> String {
        Interval::parse(input).expect(input).to_text()
    }

    #[test]
    fn input_and_output_follow_postgresql() {
        assert_eq!(
            text("1 year 2 mons 3 days 04:05:06.5"),
            "1 year 2 mons 3 days 04:05:06.5"
        );
        assert_eq!(text("-1 day 1 hour"), "-1 days +01:00:00");
        assert_eq!(text("1.5 weeks"), "10 days 12:00:00");
        assert_eq!(text("1.5 years"), "1 year 6 mons");
        assert_eq!(text("1.5 months"), "1 mon 15 days");
        assert_eq!(text("-1.5 hours"), "-01:30:00");
        assert_eq!(text("1 mon -1 day"), "1 mon -1 days");
        assert_eq!(text("@ 1 hour ago"), "-01:00:00");
        assert_eq!(text("0"), "00:00:00");
        assert_eq!(text("90 seconds"), "00:01:30");
        assert_eq!(text("2days 3h"), "2 days 03:00:00");
        assert_eq!(text("36:00"), "36:00:00");
        assert!(Interval::parse("1 fortnight").is_err());
        assert!(Interval::parse("").is_err());
    }

    #[test]
    fn arithmetic_spills_fractions_as_postgresql_does() {
        let p = |s: &str| Interval::parse(s).expect(s);
        assert_eq!(p("1 day").mul(1.5).unwrap().to_text(), "1 day 12:00:00");
        assert_eq!(
            p("1 month").div(7.0).unwrap().to_text(),
            "4 days 06:51:25.6896"
        );
        assert_eq!(p("1 mon").compare(&p("30 days")), Ordering::Equal);
        assert_eq!(p("1 day").compare(&p("23 hours")), Ordering::Greater);
        assert_eq!(
            Interval {
                months: 0,
                days: 0,
                micros: 36 * USECS_PER_HOUR
            }
            .justify_hours()
            .to_text(),
            "1 day 12:00:00"
        );
        assert_eq!(p("1 day").div(0.0).unwrap_err().state.0, "22012");
    }
}
