//! The syslog envelope in front of a kernel message: the line's time, and
//! where the rest of the line starts.
//!
//! Accepted stamps (an optional `<PRI>` may precede any of them):
//! * RFC 3164 / journald `short`: `Aug 21 10:00:01` (also `Aug  1`, and with a
//!   fraction as journald `short-precise` writes it) — no year, no zone;
//! * RFC 3339 / ISO 8601 as rsyslog, syslog-ng and journald `short-iso`
//!   write it: `2019-08-21T10:00:01[.frac][Z|±HH:MM|±HHMM]`;
//! * RFC 5424: `<4>1 2019-08-21T10:00:01.123456+02:00 host ...`;
//! * journald `short-unix`: `1566374401.123456 host ...`.

use portwatch_core::Timestamp;

/// A calendar date and time as written in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

impl Civil {
    /// This wall-clock time read at `utc_offset_secs` east of UTC.
    pub fn to_utc(self, utc_offset_secs: i64) -> Option<Timestamp> {
        let t = Timestamp::from_civil(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanos,
        )?;
        Some(Timestamp::from_nanos(
            t.nanos()
                .checked_sub(utc_offset_secs.checked_mul(1_000_000_000)?)?,
        ))
    }
}

/// What the line says about its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// RFC 3164: the year is left to the caller (`year` is 0), the zone too.
    NoYear(Civil),
    /// A full date and time without a zone: local time of the logging host.
    Local(Civil),
    /// A stamp that names its zone, or Unix seconds.
    Instant(Timestamp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header<'a> {
    pub stamp: Stamp,
    /// The line after the stamp: host, program tag, message.
    pub rest: &'a str,
}

/// Why a line has no usable stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Nothing at the start of the line looks like a syslog stamp.
    Missing,
    /// It looks like one but names an impossible date or time.
    Impossible,
    /// RFC 5424 allows `-` for "time unknown".
    Nil,
}

impl HeaderError {
    pub fn message(self) -> &'static str {
        match self {
            HeaderError::Missing => "no syslog timestamp at the start of the line",
            HeaderError::Impossible => "syslog timestamp with an impossible date or time",
            HeaderError::Nil => "RFC 5424 line with a nil (\"-\") timestamp",
        }
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

pub(crate) fn parse_header(line: &str) -> Result<Header<'_>, HeaderError> {
    let mut c = Cursor {
        b: line.as_bytes(),
        i: 0,
    };
    let had_pri = c.pri();
    if had_pri && c.eat(b"1 ") {
        if c.peek() == Some(b'-') {
            return Err(HeaderError::Nil);
        }
        let stamp = iso(&mut c);
        return finish(line, &mut c, stamp);
    }
    let stamp = match c.peek() {
        Some(b'0'..=b'9') if c.b.get(c.i + 4) == Some(&b'-') => iso(&mut c),
        Some(b'0'..=b'9') => unix(&mut c),
        Some(b'A'..=b'Z') => bsd(&mut c),
        _ => Err(HeaderError::Missing),
    };
    finish(line, &mut c, stamp)
}

/// A stamp must end the first field: a space (or the end of the line) follows.
fn finish<'a>(
    line: &'a str,
    c: &mut Cursor<'_>,
    stamp: Result<Stamp, HeaderError>,
) -> Result<Header<'a>, HeaderError> {
    let stamp = stamp?;
    match c.peek() {
        None => {}
        Some(b' ') => c.i += 1,
        Some(_) => return Err(HeaderError::Missing),
    }
    // The cursor only ever stops after an ASCII byte, so this is a boundary.
    let rest = line.get(c.i..).ok_or(HeaderError::Missing)?;
    Ok(Header { stamp, rest })
}

fn bsd(c: &mut Cursor<'_>) -> Result<Stamp, HeaderError> {
    let name = c.b.get(c.i..c.i + 3).ok_or(HeaderError::Missing)?;
    let month = MONTHS
        .iter()
        .position(|m| m.as_slice() == name)
        .ok_or(HeaderError::Missing)? as u32
        + 1;
    c.i += 3;
    if !c.eat(b" ") {
        return Err(HeaderError::Missing);
    }
    // `Aug  1` is the standard padding, `Aug 1` a common deviation.
    c.eat(b" ");
    let day = c.digits_between(1, 2).ok_or(HeaderError::Missing)? as u32;
    if !c.eat(b" ") {
        return Err(HeaderError::Missing);
    }
    let (hour, minute, second, nanos) = clock(c).ok_or(HeaderError::Missing)?;
    let civil = Civil {
        year: 0,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    // Only what no year can make right (Aug 32, 25:00); April 31 and
    // February 29 are checked once the year is known.
    if !civil.in_range() {
        return Err(HeaderError::Impossible);
    }
    Ok(Stamp::NoYear(civil))
}

impl Civil {
    pub fn with_year(self, year: i32) -> Civil {
        Civil { year, ..self }
    }

    /// Every field within the bounds some date of some year allows.
    fn in_range(self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
            && self.nanos < 1_000_000_000
    }

    /// Seconds since the start of its day.
    pub fn seconds_into_day(self) -> i64 {
        i64::from(self.hour * 3600 + self.minute * 60 + self.second)
    }
}

fn iso(c: &mut Cursor<'_>) -> Result<Stamp, HeaderError> {
    let no = HeaderError::Missing;
    let year = c.digits(4).ok_or(no)? as i32;
    let month = c.dash_then(2).ok_or(no)?;
    let day = c.dash_then(2).ok_or(no)?;
    if !(c.eat(b"T") || c.eat(b" ")) {
        return Err(no);
    }
    let (hour, minute, second, nanos) = clock(c).ok_or(no)?;
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    };
    let zone = match c.peek() {
        Some(b'Z' | b'z') => {
            c.i += 1;
            Some(0)
        }
        Some(sign @ (b'+' | b'-')) => {
            c.i += 1;
            let hh = c.digits(2).ok_or(no)?;
            c.eat(b":");
            let mm = c.digits(2).ok_or(no)?;
            if hh > 23 || mm > 59 {
                return Err(HeaderError::Impossible);
            }
            let secs = i64::from(hh * 3600 + mm * 60);
            Some(if sign == b'-' { -secs } else { secs })
        }
        _ => None,
    };
    match zone {
        Some(offset) => civil
            .to_utc(offset)
            .map(Stamp::Instant)
            .ok_or(HeaderError::Impossible),
        None if civil.in_range() => Ok(Stamp::Local(civil)),
        None => Err(HeaderError::Impossible),
    }
}

/// `1566374401.123456`: journald's `short-unix`. The fraction is required so
/// that a line merely starting with a number is not taken for a stamp.
fn unix(c: &mut Cursor<'_>) -> Result<Stamp, HeaderError> {
    let secs = c.digits_between(1, 12).ok_or(HeaderError::Missing)?;
    if c.peek() != Some(b'.') {
        return Err(HeaderError::Missing);
    }
    let nanos = c.fraction().ok_or(HeaderError::Missing)?;
    Ok(Stamp::Instant(Timestamp::from_parts(secs as i64, nanos)))
}

/// `HH:MM:SS[.frac]`
fn clock(c: &mut Cursor<'_>) -> Option<(u32, u32, u32, u32)> {
    let hour = c.digits(2)?;
    if !c.eat(b":") {
        return None;
    }
    let minute = c.digits(2)?;
    if !c.eat(b":") {
        return None;
    }
    let second = c.digits(2)?;
    let nanos = match c.peek() {
        Some(b'.' | b',') => c.fraction()?,
        _ => 0,
    };
    Some((hour, minute, second, nanos))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        let hit = self.b[self.i..].starts_with(lit);
        if hit {
            self.i += lit.len();
        }
        hit
    }

    /// `<PRI>` as forwarded syslog keeps it: one to three digits.
    fn pri(&mut self) -> bool {
        let start = self.i;
        if self.eat(b"<") && self.digits_between(1, 3).is_some() && self.eat(b">") {
            return true;
        }
        self.i = start;
        false
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.i..self.i + n)?;
        let mut v = 0u32;
        for &d in s {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(d - b'0');
        }
        self.i += n;
        Some(v)
    }

    fn digits_between(&mut self, min: usize, max: usize) -> Option<u64> {
        let run = self.b[self.i..]
            .iter()
            .take(max + 1)
            .take_while(|d| d.is_ascii_digit())
            .count();
        if run < min || run > max {
            return None;
        }
        let v = self.b[self.i..self.i + run]
            .iter()
            .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        self.i += run;
        Some(v)
    }

    fn dash_then(&mut self, n: usize) -> Option<u32> {
        if !self.eat(b"-") {
            return None;
        }
        self.digits(n)
    }

    /// `.123456` (or `,123`) as nanoseconds; digits past the ninth are
    /// read and dropped.
    fn fraction(&mut self) -> Option<u32> {
        self.i += 1;
        let run = self.b[self.i..]
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if run == 0 {
            return None;
        }
        let mut nanos = 0u32;
        for k in 0..9 {
            let d = if k < run {
                self.b[self.i + k] - b'0'
            } else {
                0
            };
            nanos = nanos * 10 + u32::from(d);
        }
        self.i += run;
        Some(nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, n: u32) -> Civil {
        Civil {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            nanos: n,
        }
    }

    fn instant(s: &str) -> Stamp {
        Stamp::Instant(Timestamp::parse_rfc3339(s).unwrap())
    }

    #[test]
    fn rfc3164_with_padding_and_fraction() {
        let h = parse_header("Aug 21 10:00:01 host kernel: x").unwrap();
        assert_eq!(h.stamp, Stamp::NoYear(civil(0, 8, 21, 10, 0, 1, 0)));
        assert_eq!(h.rest, "host kernel: x");
        let h = parse_header("Feb  9 20:55:06 ubuntu kernel:").unwrap();
        assert_eq!(h.stamp, Stamp::NoYear(civil(0, 2, 9, 20, 55, 6, 0)));
        let h = parse_header("Feb 9 20:55:06.250 ubuntu").unwrap();
        assert_eq!(
            h.stamp,
            Stamp::NoYear(civil(0, 2, 9, 20, 55, 6, 250_000_000))
        );
        let h = parse_header("<4>Dec 31 23:59:60 h k: m").unwrap();
        assert_eq!(h.stamp, Stamp::NoYear(civil(0, 12, 31, 23, 59, 60, 0)));
        // Feb 29 is fine until a year says otherwise.
        assert!(parse_header("Feb 29 00:00:00 h").is_ok());
    }

    #[test]
    fn rfc3164_rejects() {
        for bad in [
            "Foo 21 10:00:01 h",
            "Aug 32 10:00:01 h",
            "Aug 21 25:00:01 h",
            "Aug 21 10:00 h",
            "Aug 21 10:00:01host",
            "aug 21 10:00:01 h",
            "Aug",
        ] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_header("Aug 32 10:00:01 h"),
            Err(HeaderError::Impossible)
        );
    }

    #[test]
    fn rfc3339_and_iso_variants() {
        let h = parse_header("2015-03-07T05:09:30.045015+02:00 servername kernel: DROP").unwrap();
        assert_eq!(h.stamp, instant("2015-03-07T03:09:30.045015Z"));
        assert_eq!(h.rest, "servername kernel: DROP");
        let h = parse_header("2019-08-21T10:00:01+0200 host kernel: x").unwrap();
        assert_eq!(h.stamp, instant("2019-08-21T08:00:01Z"));
        let h = parse_header("2019-08-21T10:00:01.123456-0530 host").unwrap();
        assert_eq!(h.stamp, instant("2019-08-21T15:30:01.123456Z"));
        let h = parse_header("2019-08-21T10:00:01Z host").unwrap();
        assert_eq!(h.stamp, instant("2019-08-21T10:00:01Z"));
        let h = parse_header("2019-08-21T10:00:01.1234567891 host").unwrap();
        assert_eq!(
            h.stamp,
            Stamp::Local(civil(2019, 8, 21, 10, 0, 1, 123_456_789))
        );
        assert_eq!(
            parse_header("2019-02-29T10:00:01Z h"),
            Err(HeaderError::Impossible)
        );
        assert_eq!(
            parse_header("2019-08-21T10:00:01+25:00 h"),
            Err(HeaderError::Impossible)
        );
        assert!(parse_header("2019-08-21T10:00:01+02 h").is_err());
        assert!(parse_header("2019-08-21,10:00:01 h").is_err());
    }

    #[test]
    fn rfc5424() {
        let h =
            parse_header("<4>1 2019-08-21T10:00:01.123456+02:00 host kernel - - - IN=").unwrap();
        assert_eq!(h.stamp, instant("2019-08-21T08:00:01.123456Z"));
        assert_eq!(h.rest, "host kernel - - - IN=");
        assert_eq!(
            parse_header("<4>1 - host kernel - - - IN="),
            Err(HeaderError::Nil)
        );
    }

    #[test]
    fn unix_seconds() {
        let h = parse_header("1566374401.5 host kernel: x").unwrap();
        assert_eq!(
            h.stamp,
            Stamp::Instant(Timestamp::from_parts(1_566_374_401, 500_000_000))
        );
        assert_eq!(parse_header("1566374401 host"), Err(HeaderError::Missing));
        assert_eq!(parse_header("1234"), Err(HeaderError::Missing));
    }

    #[test]
    fn garbage() {
        for bad in [
            "",
            " Aug 21 10:00:01 h",
            "{\"a\":1}",
            "<999999>x",
            "é",
            "2019-",
        ] {
            assert!(parse_header(bad).is_err(), "{bad:?}");
        }
    }
}
