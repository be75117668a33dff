//! Dates, times of day and timestamps: their representation, input and output, with
//! PostgreSQL 15's formats (`DateStyle = ISO, MDY`) and ranges.
//!
//! Representation, as PostgreSQL's own:
//!
//! * `date`: days since 2000-01-01 (PostgreSQL's epoch) in an `i32`, `i32::MIN`/`i32::MAX`
//!   for `-infinity`/`infinity`; the proleptic Gregorian calendar, year 0 being 1 BC;
//! * `time`: microseconds since midnight, `0..=86_400_000_000` (`24:00:00` is allowed);
//! * `timestamp` and `timestamptz`: microseconds since 2000-01-01 00:00 in an `i64`,
//!   `i64::MIN`/`i64::MAX` for the infinities. A `timestamptz` is an instant, kept in UTC.
//!
//! **Time zone.** cairn's sessions run with `TimeZone = UTC`: a `timestamptz` prints with
//! `+00`, and input that names an offset (`+02`, `-05:30`, `Z`, `UTC`) is converted to UTC.
//! A `timestamp` ignores an offset in its input, as PostgreSQL does.
//!
//! **Input** ([`parse_date`], [`parse_time`], [`parse_timestamp`]): `YYYY-MM-DD` (also
//! `YYYYMMDD` and `MM/DD/YYYY`), then for timestamps a space or `T` and `HH:MM[:SS[.ffffff]]`
//! (digits past the sixth rounded), an offset, and `BC`; and the special words `epoch`,
//! `infinity`, `-infinity`, `now`, `today`, `tomorrow`, `yesterday`. Text that is not a
//! date is `22007 invalid input syntax for type …`, a field past its range (month 13, hour
//! 25) `22008 date/time field value out of range`.
//!
//! **Output** ([`format_date`], [`format_time`], [`format_timestamp`]): ISO,
//! `2020-01-01 10:11:12.5` (fractional seconds without trailing zeros), years before 1 AD as
//! `0044-03-15 BC`.

use crate::clock;
use crate::error::{Error, Result, SqlState};

pub const USECS_PER_SEC: i64 = 1_000_000;
pub const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
/// Days from 1970-01-01 (the Unix epoch) to 2000-01-01 (PostgreSQL's).
pub const UNIX_EPOCH_DAYS: i64 = -10_957;

pub const DATE_NEG_INFINITY: i32 = i32::MIN;
pub const DATE_INFINITY: i32 = i32::MAX;
pub const TIMESTAMP_NEG_INFINITY: i64 = i64::MIN;
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;

/// The first day a date may be: 4714-11-24 BC (Julian day 0), as in PostgreSQL.
const MIN_DATE: i64 = -2_451_545;
/// One past the last day a timestamp may be (294277-01-01).
const END_TIMESTAMP_DATE: i64 = 106_751_983;
/// One past the last day a date may be (5874898-01-01).
const END_DATE: i64 = 2_145_031_949;

/// A civil date: year (0 is 1 BC), month 1–12, day 1–31.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ymd {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// Days since 2000-01-01 of a civil date (Howard Hinnant's `days_from_civil`, moved to
/// PostgreSQL's epoch).
pub fn days_from_ymd(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + UNIX_EPOCH_DAYS
}

/// The civil date `days` after 2000-01-01.
pub fn ymd_from_days(days: i64) -> Ymd {
    let z = days - UNIX_EPOCH_DAYS + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Ymd {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
    }
}

pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Splits a timestamp into its day (since 2000-01-01) and its microseconds into that day.
pub fn split_timestamp(ts: i64) -> (i64, i64) {
    (ts.div_euclid(USECS_PER_DAY), ts.rem_euclid(USECS_PER_DAY))
}

/// The timestamp of `day` at `time`, or `22008 timestamp out of range`.
pub fn timestamp_of(day: i64, time: i64) -> Result<i64> {
    if !(MIN_DATE..END_TIMESTAMP_DATE).contains(&(day + time.div_euclid(USECS_PER_DAY))) {
        return Err(Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            "timestamp out of range",
        ));
    }
    Ok(day * USECS_PER_DAY + time)
}

/// `ts` checked to be a finite timestamp in range (`22008 timestamp out of range`).
pub fn check_timestamp(ts: i64) -> Result<i64> {
    let (day, _) = split_timestamp(ts);
    if is_infinite_timestamp(ts) || (MIN_DATE..END_TIMESTAMP_DATE).contains(&day) {
        Ok(ts)
    } else {
        Err(Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            "timestamp out of range",
        ))
    }
}

/// `days` as a date, or `22008 date out of range`.
pub fn date_of(days: i64) -> Result<i32> {
    if (MIN_DATE..END_DATE).contains(&days) {
        Ok(days as i32)
    } else {
        Err(Error::new(
            SqlState::DATETIME_FIELD_OVERFLOW,
            "date out of range",
        ))
    }
}

pub fn is_infinite_timestamp(ts: i64) -> bool {
    ts == TIMESTAMP_INFINITY || ts == TIMESTAMP_NEG_INFINITY
}

pub fn is_infinite_date(date: i32) -> bool {
    date == DATE_INFINITY || date == DATE_NEG_INFINITY
}

/// A date as the timestamp of its midnight.
pub fn date_to_timestamp(date: i32) -> Result<i64> {
    match date {
        DATE_INFINITY => Ok(TIMESTAMP_INFINITY),
        DATE_NEG_INFINITY => Ok(TIMESTAMP_NEG_INFINITY),
        d => timestamp_of(i64::from(d), 0),
    }
}

/// The date a timestamp falls on.
pub fn timestamp_to_date(ts: i64) -> Result<i32> {
    match ts {
        TIMESTAMP_INFINITY => Ok(DATE_INFINITY),
        TIMESTAMP_NEG_INFINITY => Ok(DATE_NEG_INFINITY),
        ts => date_of(split_timestamp(ts).0),
    }
}

/// Which of the three types a text is read as: its name in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Date,
    Timestamp,
    TimestampTz,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Date => "date",
            Kind::Timestamp => "timestamp without time zone",
            Kind::TimestampTz => "timestamp with time zone",
        }
    }
}

/// What date/time input spells: an infinity, or a day and the microseconds into it (an
/// offset already applied, so perhaps outside the day).
enum Parsed {
    Infinity,
    NegInfinity,
    At { day: i64, time: i64 },
}

/// `date`'s input function.
pub fn parse_date(text: &str) -> Result<i32> {
    match parse_datetime(text, Kind::Date)? {
        Parsed::Infinity => Ok(DATE_INFINITY),
        Parsed::NegInfinity => Ok(DATE_NEG_INFINITY),
        Parsed::At { day, .. } => date_of(day).map_err(|_| {
            Error::new(
                SqlState::DATETIME_FIELD_OVERFLOW,
                format!("date out of range: \"{text}\""),
            )
        }),
    }
}

/// `timestamp`'s input function (`tz`: `timestamptz`'s, which applies a written offset).
pub fn parse_timestamp(text: &str, tz: bool) -> Result<i64> {
    let kind = if tz {
        Kind::TimestampTz
    } else {
        Kind::Timestamp
    };
    match parse_datetime(text, kind)? {
        Parsed::Infinity => Ok(TIMESTAMP_INFINITY),
        Parsed::NegInfinity => Ok(TIMESTAMP_NEG_INFINITY),
        Parsed::At { day, time } => timestamp_of(day, time).map_err(|_| {
            Error::new(
                SqlState::DATETIME_FIELD_OVERFLOW,
                format!("timestamp out of range: \"{text}\""),
            )
        }),
    }
}

/// `time`'s input function: `HH:MM[:SS[.ffffff]]`, an offset ignored; also `allballs`.
pub fn parse_time(text: &str) -> Result<i64> {
    let bad = || invalid("time without time zone", text);
    let lower = text.trim().to_ascii_lowercase();
    if lower == "allballs" {
        return Ok(0);
    }
    if lower == "now" {
        return Ok(split_timestamp(clock::transaction_timestamp()).1);
    }
    let mut cursor = Cursor::new(&lower);
    // A time may follow a date, which is then ignored.
    if lower.contains('-') && lower.find('-') < lower.find(':') {
        parse_date_part(&mut cursor).ok_or_else(bad)?;
        cursor.skip_separator();
    }
    let time = parse_time_part(&mut cursor, text).and_then(|t| t.ok_or_else(bad))?;
    cursor.skip_spaces();
    parse_offset(&mut cursor).ok_or_else(bad)?;
    if !cursor.at_end() {
        return Err(bad());
    }
    Ok(time)
}

fn parse_datetime(text: &str, kind: Kind) -> Result<Parsed> {
    let bad = || invalid(kind.name(), text);
    let lower = text.trim().to_ascii_lowercase();
    let at = |day: i64, time: i64| Ok(Parsed::At { day, time });
    // The clock is read only for the words that name a time relative to it.
    let clock = || split_timestamp(clock::transaction_timestamp());
    match lower.as_str() {
        "epoch" => return at(UNIX_EPOCH_DAYS, 0),
        "infinity" | "+infinity" => return Ok(Parsed::Infinity),
        "-infinity" => return Ok(Parsed::NegInfinity),
        "now" => {
            let (day, time) = clock();
            return at(day, time);
        }
        "today" => return at(clock().0, 0),
        "tomorrow" => return at(clock().0 + 1, 0),
        "yesterday" => return at(clock().0 - 1, 0),
        _ => {}
    }
    let (body, bc) = match lower.strip_suffix("bc") {
        Some(rest) if rest.ends_with(' ') => (rest.trim_end(), true),
        _ => (
            lower
                .strip_suffix("ad")
                .filter(|r| r.ends_with(' '))
                .map_or(lower.as_str(), str::trim_end),
            false,
        ),
    };
    let mut cursor = Cursor::new(body);
    let ymd = parse_date_part(&mut cursor).ok_or_else(bad)?;
    cursor.skip_separator();
    let time = if kind == Kind::Date && cursor.at_end() {
        0
    } else {
        parse_time_part(&mut cursor, text)?.unwrap_or(0)
    };
    cursor.skip_spaces();
    let offset = parse_offset(&mut cursor).ok_or_else(bad)?;
    if !cursor.at_end() {
        return Err(bad());
    }
    let year = if bc { 1 - ymd.year } else { ymd.year };
    // Past any date's range, and far enough inside i64 for the calendar's arithmetic.
    if !(-10_000_000..=10_000_000).contains(&year) {
        return Err(field_overflow(text));
    }
    if ymd.month == 0
        || ymd.month > 12
        || ymd.day == 0
        || ymd.day > days_in_month(year, ymd.month)
        || (bc && ymd.year == 0)
    {
        return Err(field_overflow(text));
    }
    let day = days_from_ymd(year, ymd.month, ymd.day);
    let offset = if kind == Kind::TimestampTz {
        offset.unwrap_or(0)
    } else {
        0
    };
    at(day, time - offset)
}

/// `Y-M-D`, `YYYYMMDD` or `M/D/Y`, the fields unchecked.
fn parse_date_part(cursor: &mut Cursor<'_>) -> Option<Ymd> {
    let (first, digits) = cursor.number()?;
    match cursor.peek() {
        Some(b'-') => {
            cursor.advance(1);
            let (month, _) = cursor.number()?;
            cursor.eat(b'-').then_some(())?;
            let (day, _) = cursor.number()?;
            Some(Ymd {
                year: first,
                month: u32::try_from(month).ok()?,
                day: u32::try_from(day).ok()?,
            })
        }
        Some(b'/') => {
            cursor.advance(1);
            let (day, _) = cursor.number()?;
            cursor.eat(b'/').then_some(())?;
            let (year, _) = cursor.number()?;
            Some(Ymd {
                year,
                month: u32::try_from(first).ok()?,
                day: u32::try_from(day).ok()?,
            })
        }
        _ if digits == 8 => Some(Ymd {
            year: first / 10_000,
            month: (first / 100 % 100) as u32,
            day: (first % 100) as u32,
        }),
        _ => None,
    }
}

/// `HH:MM[:SS[.f…]]` as microseconds since midnight; `None` if there is no time here.
fn parse_time_part(cursor: &mut Cursor<'_>, text: &str) -> Result<Option<i64>> {
    let bad = || invalid("time without time zone", text);
    if !cursor.peek().is_some_and(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let (hour, _) = cursor.number().ok_or_else(bad)?;
    if !cursor.eat(b':') {
        return Err(bad());
    }
    let (minute, _) = cursor.number().ok_or_else(bad)?;
    let mut micros = 0;
    let mut second = 0;
    if cursor.eat(b':') {
        second = cursor.number().ok_or_else(bad)?.0;
        if cursor.eat(b'.') {
            micros = cursor.fraction_micros();
        }
    }
    if hour > 24 || minute > 59 || second > 60 {
        return Err(field_overflow(text));
    }
    let total = ((hour * 60 + minute) * 60 + second) * USECS_PER_SEC + micros;
    if total > USECS_PER_DAY {
        return Err(field_overflow(text));
    }
    Ok(Some(total))
}

/// A UTC offset in microseconds (`+02`, `-0530`, `+05:30`, `z`, `utc`, `gmt`), `Some(None)`
/// if there is none, `None` if what is there is not one.
fn parse_offset(cursor: &mut Cursor<'_>) -> Option<Option<i64>> {
    if cursor.at_end() {
        return Some(None);
    }
    for name in ["utc", "gmt", "z"] {
        if cursor.rest() == name {
            cursor.advance(name.len());
            return Some(Some(0));
        }
    }
    let sign = match cursor.peek()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    cursor.advance(1);
    let (first, digits) = cursor.number()?;
    let (hours, minutes) = if cursor.eat(b':') {
        (first, cursor.number()?.0)
    } else if digits > 2 {
        (first / 100, first % 100)
    } else {
        (first, 0)
    };
    if hours > 15 || minutes > 59 {
        return None;
    }
    Some(Some(sign * (hours * 60 + minutes) * USECS_PER_MINUTE))
}

/// A reader over the bytes of date/time input.
struct Cursor<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Cursor<'t> {
    fn new(text: &'t str) -> Cursor<'t> {
        Cursor { text, at: 0 }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn advance(&mut self, n: usize) {
        self.at += n;
    }

    fn at_end(&self) -> bool {
        self.at >= self.text.len()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// The space or `T` between a date and its time.
    fn skip_separator(&mut self) {
        if !self.eat(b't') {
            self.skip_spaces();
        }
    }

    /// Decimal digits (at most 18) and how many there were.
    fn number(&mut self) -> Option<(i64, usize)> {
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 18 {
            return None;
        }
        let n = self.rest()[..digits].parse().ok()?;
        self.at += digits;
        Some((n, digits))
    }

    /// The digits after a decimal point as microseconds, rounded at the sixth digit.
    fn fraction_micros(&mut self) -> i64 {
        let digits: Vec<i64> = self
            .rest()
            .bytes()
            .take_while(u8::is_ascii_digit)
            .map(|b| i64::from(b - b'0'))
            .collect();
        self.at += digits.len();
        let mut micros = 0;
        for i in 0..6 {
            micros = micros * 10 + digits.get(i).copied().unwrap_or(0);
        }
        if digits.get(6).is_some_and(|d| *d >= 5) {
            micros += 1;
        }
        micros
    }
}

fn invalid(type_name: &str, text: &str) -> Error {
    Error::new(
        SqlState::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type {type_name}: \"{text}\""),
    )
}

fn field_overflow(text: &str) -> Error {
    Error::new(
        SqlState::DATETIME_FIELD_OVERFLOW,
        format!("date/time field value out of range: \"{text}\""),
    )
}

/// `date`'s output: `2020-01-31`, `0044-03-15 BC`, `infinity`.
pub fn format_date(date: i32) -> String {
    match date {
        DATE_INFINITY => "infinity".into(),
        DATE_NEG_INFINITY => "-infinity".into(),
        d => {
            let ymd = ymd_from_days(i64::from(d));
            let (year, bc) = era_year(ymd.year);
            format!(
                "{year:04}-{:02}-{:02}{}",
                ymd.month,
                ymd.day,
                if bc { " BC" } else { "" }
            )
        }
    }
}

/// `time`'s output: `10:11:12`, `10:11:12.5`.
pub fn format_time(micros: i64) -> String {
    let mut out = String::new();
    push_clock(&mut out, micros);
    out
}

/// `timestamp`'s output (`tz`: `timestamptz`'s, with the `+00` of UTC).
pub fn format_timestamp(ts: i64, tz: bool) -> String {
    match ts {
        TIMESTAMP_INFINITY => "infinity".into(),
        TIMESTAMP_NEG_INFINITY => "-infinity".into(),
        ts => {
            let (day, time) = split_timestamp(ts);
            let ymd = ymd_from_days(day);
            let (year, bc) = era_year(ymd.year);
            let mut out = format!("{year:04}-{:02}-{:02} ", ymd.month, ymd.day);
            push_clock(&mut out, time);
            if tz {
                out.push_str("+00");
            }
            if bc {
                out.push_str(" BC");
            }
            out
        }
    }
}

/// `HH:MM:SS[.ffffff]` of a non-negative count of microseconds (hours may pass 24).
pub fn push_clock(out: &mut String, micros: i64) {
    let (hours, rest) = (micros / USECS_PER_HOUR, micros % USECS_PER_HOUR);
    let (minutes, rest) = (rest / USECS_PER_MINUTE, rest % USECS_PER_MINUTE);
    let (seconds, fraction) = (rest / USECS_PER_SEC, rest % USECS_PER_SEC);
    out.push_str(&format!("{hours:02}:{minutes:02}:{seconds:02}"));
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// The year as written with an era: year 0 is 1 BC.
fn era_year(year: i64) -> (i64, bool) {
    if year <= 0 {
        (1 - year, true)
    } else {
        (year, false)
    }
}

#[allow(clippy::unwrap_used)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_round_trips_and_has_postgresqls_epoch() {
        assert_eq!(days_from_ymd(2000, 1, 1), 0);
        assert_eq!(days_from_ymd(1970, 1, 1), UNIX_EPOCH_DAYS);
        for days in (-2_451_545..3_000_000).step_by(997) {
            let ymd = ymd_from_days(days);
            assert_eq!(days_from_ymd(ymd.year, ymd.month, ymd.day), days);
        }
        assert_eq!(days_from_ymd(-4713, 11, 24), MIN_DATE);
        assert_eq!(days_from_ymd(294_277, 1, 1), END_TIMESTAMP_DATE);
        assert_eq!(days_from_ymd(5_874_898, 1, 1), END_DATE);
        assert_eq!(
            ymd_from_days(days_from_ymd(2024, 2, 29)),
            Ymd {
                year: 2024,
                month: 2,
                day: 29
            }
        );
    }

    #[test]
    fn input_and_output_follow_postgresql() {
        let ts = |t: &str| parse_timestamp(t, false).map(|v| format_timestamp(v, false));
        let tz = |t: &str| parse_timestamp(t, true).map(|v| format_timestamp(v, true));
        assert_eq!(
            ts("2020-01-01 10:11:12.5").unwrap(),
            "2020-01-01 10:11:12.5"
        );
        assert_eq!(ts("2020-01-01T10:11").unwrap(), "2020-01-01 10:11:00");
        assert_eq!(ts("2020-01-01 10:00+02").unwrap(), "2020-01-01 10:00:00");
        assert_eq!(tz("2020-01-01 10:00+02").unwrap(), "2020-01-01 08:00:00+00");
        assert_eq!(
            tz("2020-01-01 10:00:00-05:30").unwrap(),
            "2020-01-01 15:30:00+00"
        );
        assert_eq!(tz("0044-03-15 BC").unwrap(), "0044-03-15 00:00:00+00 BC");
        assert_eq!(ts("20200229").unwrap(), "2020-02-29 00:00:00");
        assert_eq!(ts("12/31/1999 23:59:59").unwrap(), "1999-12-31 23:59:59");
        assert_eq!(ts("epoch").unwrap(), "1970-01-01 00:00:00");
        assert_eq!(ts(" infinity ").unwrap(), "infinity");
        assert_eq!(
            ts("2020-01-01 00:00:00.0000005").unwrap(),
            "2020-01-01 00:00:00.000001"
        );
        assert_eq!(format_date(parse_date("2020-02-29").unwrap()), "2020-02-29");
        assert_eq!(format_time(parse_time("24:00").unwrap()), "24:00:00");
        assert_eq!(
            format_time(parse_time("01:02:03.25").unwrap()),
            "01:02:03.25"
        );
        let state = |r: Result<i64>| r.unwrap_err().state.0;
        assert_eq!(state(parse_timestamp("2020-13-01", false)), "22008");
        assert_eq!(state(parse_timestamp("2021-02-29", false)), "22008");
        assert_eq!(state(parse_timestamp("2020-01-01 25:00", false)), "22008");
        assert_eq!(state(parse_timestamp("xyz", false)), "22007");
        assert_eq!(
            state(parse_timestamp("2020-01-01 10:00 junk", false)),
            "22007"
        );
        assert_eq!(state(parse_time("10")), "22007");
        assert_eq!(
            parse_date("xyz").unwrap_err().message,
            "invalid input syntax for type date: \"xyz\""
        );
    }
}
