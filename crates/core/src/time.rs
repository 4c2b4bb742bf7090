//! Event time and UTC-aligned buckets (rule 1 of the design: a packet counts in
//! the bucket its own timestamp says, never when it arrived).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A point in UTC, as nanoseconds since the Unix epoch.
///
/// i64 nanoseconds reach from 1677 to 2262, which covers every capture format
/// portwatch reads (pcap's 32-bit seconds end in 2106).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    #[inline]
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    #[inline]
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// Seconds and a sub-second part in nanoseconds, as pcap stores them.
    #[inline]
    pub const fn from_parts(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(NANOS_PER_SEC)
                .saturating_add(nanos as i64),
        )
    }

    #[inline]
    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch, rounded toward minus infinity.
    #[inline]
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }

    /// The start (in Unix seconds) of the bucket of `width` this instant falls in.
    #[inline]
    pub const fn bucket_start(self, width: BucketWidth) -> i64 {
        let w = width.secs();
        self.secs().div_euclid(w) * w
    }

    /// Builds a timestamp from a proleptic Gregorian UTC date and time.
    /// Returns `None` for an impossible date (month 13, February 30, ...).
    pub fn from_civil(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
    ) -> Option<Timestamp> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
            || nanos >= 1_000_000_000
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        Some(Timestamp::from_parts(secs, nanos))
    }

    /// (year, month, day, hour, minute, second, nanos) in UTC.
    pub fn to_civil(self) -> (i32, u32, u32, u32, u32, u32, u32) {
        let secs = self.secs();
        let nanos = self.0.rem_euclid(NANOS_PER_SEC) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (sod / 3600) as u32,
            (sod / 60 % 60) as u32,
            (sod % 60) as u32,
            nanos,
        )
    }

    /// RFC 3339 in UTC with whole seconds, e.g. `2007-08-22T14:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.to_civil();
        // Written digit by digit: a report prints two of these for each
        // of tens of thousands of ports, after everything else is done,
        // and `format!` was a tenth of that time. The year always has four
        // digits: nanoseconds in an i64 span the years 1677 to 2262.
        let year = y.unsigned_abs();
        let mut out = String::with_capacity(20);
        let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
        for (n, width, sep) in [
            (year, 4, '-'),
            (mo, 2, '-'),
            (d, 2, 'T'),
            (h, 2, ':'),
            (mi, 2, ':'),
            (s, 2, 'Z'),
        ] {
            for place in (0..width).rev() {
                out.push(digit(n / 10u32.pow(place)));
            }
            out.push(sep);
        }
        out
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS][.frac](Z|±HH:MM)` and the
    /// same with a space instead of `T`. A time without a zone is taken as UTC.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i32 = s.get(0..4)?.parse().ok()?;
        let month: u32 = s.get(5..7)?.parse().ok()?;
        let day: u32 = s.get(8..10)?.parse().ok()?;
        if b.len() == 10 {
            return Timestamp::from_civil(year, month, day, 0, 0, 0, 0);
        }
        if b[10] != b'T' && b[10] != b' ' && b[10] != b't' {
            return None;
        }
        let rest = &s[11..];
        let (clock, offset_secs) = split_zone(rest)?;
        let mut parts = clock.splitn(3, ':');
        let hour: u32 = parts.next()?.parse().ok()?;
        let minute: u32 = parts.next()?.parse().ok()?;
        let (second, nanos) = match parts.next() {
            None => (0, 0),
            Some(sec) => parse_seconds(sec)?,
        };
        let t = Timestamp::from_civil(year, month, day, hour, minute, second, nanos)?;
        Some(Timestamp(t.0 - offset_secs * NANOS_PER_SEC))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn split_zone(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    // A zone offset is the last '+' or '-' followed by HH:MM or HHMM.
    if let Some(pos) = rest.rfind(['+', '-']) {
        let (clock, zone) = rest.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let hh: i64 = digits[0..2].parse().ok()?;
        let mm: i64 = digits[2..4].parse().ok()?;
        return Some((clock, sign * (hh * 3600 + mm * 60)));
    }
    Some((rest, 0))
}

fn parse_seconds(s: &str) -> Option<(u32, u32)> {
    let (whole, frac) = match s.split_once(['.', ',']) {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    let second: u32 = whole.parse().ok()?;
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut nanos: u32 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += (c as u32 - '0' as u32) * 10u32.pow(8 - i as u32);
    }
    Some((second, nanos))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// The widths portwatch keeps series at. Minutes are what sensors count;
/// the coarser widths are roll-ups of minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BucketWidth {
    #[serde(rename = "1m")]
    Minute,
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
}

impl BucketWidth {
    pub const ALL: [BucketWidth; 4] = [
        BucketWidth::Minute,
        BucketWidth::FiveMinutes,
        BucketWidth::Hour,
        BucketWidth::Day,
    ];

    #[inline]
    pub const fn secs(self) -> i64 {
        match self {
            BucketWidth::Minute => 60,
            BucketWidth::FiveMinutes => 300,
            BucketWidth::Hour => 3600,
            BucketWidth::Day => 86_400,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BucketWidth::Minute => "1m",
            BucketWidth::FiveMinutes => "5m",
            BucketWidth::Hour => "1h",
            BucketWidth::Day => "1d",
        }
    }

    pub fn from_secs(secs: i64) -> Option<BucketWidth> {
        BucketWidth::ALL.into_iter().find(|w| w.secs() == secs)
    }
}

impl fmt::Display for BucketWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown bucket width {0:?} (expected 1m, 5m, 1h or 1d)")]
pub struct ParseBucketWidthError(pub String);

impl FromStr for BucketWidth {
    type Err = ParseBucketWidthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1m" | "minute" => Ok(BucketWidth::Minute),
            "5m" => Ok(BucketWidth::FiveMinutes),
            "1h" | "60m" | "hour" => Ok(BucketWidth::Hour),
            "1d" | "24h" | "day" => Ok(BucketWidth::Day),
            _ => Err(ParseBucketWidthError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_instants() {
        let t = Timestamp::from_civil(2007, 8, 22, 14, 0, 0, 0).unwrap();
        assert_eq!(t.secs(), 1_187_791_200);
        assert_eq!(t.to_rfc3339(), "2007-08-22T14:00:00Z");
        assert_eq!(Timestamp::from_secs(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_civil(2007, 2, 29, 0, 0, 0, 0), None);
        assert!(Timestamp::from_civil(2008, 2, 29, 0, 0, 0, 0).is_some());
        for secs in [-86_401_i64, -1, 0, 951_782_400, 4_102_444_800] {
            let t = Timestamp::from_secs(secs);
            let (y, mo, d, h, mi, s, n) = t.to_civil();
            assert_eq!(Timestamp::from_civil(y, mo, d, h, mi, s, n), Some(t));
        }
    }

    #[test]
    fn buckets_are_utc_aligned_even_before_the_epoch() {
        let t = Timestamp::from_nanos(-1);
        assert_eq!(t.bucket_start(BucketWidth::Minute), -60);
        let t = Timestamp::from_civil(2013, 11, 5, 23, 59, 59, 999_999_999).unwrap();
        assert_eq!(
            Timestamp::from_secs(t.bucket_start(BucketWidth::Day)).to_rfc3339(),
            "2013-11-05T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_secs(t.bucket_start(BucketWidth::FiveMinutes)).to_rfc3339(),
            "2013-11-05T23:55:00Z"
        );
    }

    #[test]
    fn rfc3339_digits_match_format_across_the_whole_range() {
        let mut t = i64::MIN;
        // About 5000 instants, spread over the range, at odd seconds.
        while t < i64::MAX - 4_000_000_000_000_000 {
            let ts = Timestamp(t);
            let (y, mo, d, h, mi, s, _) = ts.to_civil();
            assert_eq!(
                ts.to_rfc3339(),
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
                "{t}"
            );
            t += 3_689_348_814_741_909 + 123_456_789;
        }
        assert_eq!(Timestamp(i64::MAX).to_rfc3339(), "2262-04-11T23:47:16Z");
        assert_eq!(Timestamp(i64::MIN).to_rfc3339(), "1677-09-21T00:12:43Z");
    }

    #[test]
    fn parses_rfc3339_variants() {
        let want = Timestamp::from_civil(2019, 8, 21, 10, 0, 0, 500_000_000).unwrap();
        assert_eq!(
            Timestamp::parse_rfc3339("2019-08-21T10:00:00.5Z"),
            Some(want)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2019-08-21T12:00:00.500+02:00"),
            Some(want)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2019-08-21 05:00:00.5-0500"),
            Some(want)
        );
        assert_eq!(Timestamp::parse_rfc3339("2019-13-01"), None);
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
