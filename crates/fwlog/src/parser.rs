//! One line in, one outcome out: an event, a line from another program, or
//! an error that says what is wrong with the line.

use portwatch_core::{Class, DropReason, Event, OtherKind, Timestamp, classify};

use crate::fields::{FieldError, Packet, excerpt, parse_fields};
use crate::header::{Civil, HeaderError, Stamp, parse_header};
use crate::year::YearTracker;

/// How to read the time of lines that leave part of it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// The year of the file's first RFC 3164 line (`--year`). Later lines
    /// follow on from it, advancing at each December → January.
    pub year: Option<i32>,
    /// When `year` is not given: the file's first RFC 3164 line is taken to
    /// be from this instant's year, or the year before if that would put it
    /// more than a day after this instant. The caller passes the file's
    /// modification time, which is about when its last line was written.
    pub default_year_from: Timestamp,
    /// The logging host's offset from UTC, in seconds east (3600 for
    /// UTC+01:00), for stamps that carry no zone: RFC 3164 lines and ISO
    /// stamps without an offset. They are read as UTC by default. Stamps
    /// that name their offset (RFC 3339, RFC 5424) ignore this.
    pub utc_offset_secs: i32,
}

impl ParseOptions {
    /// No `--year`, zone-less stamps read as UTC.
    pub fn new(default_year_from: Timestamp) -> Self {
        ParseOptions {
            year: None,
            default_year_from,
            utc_offset_secs: 0,
        }
    }
}

/// What became of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome<'a> {
    /// A netfilter log line, decoded and classified.
    Event(Event<'a>),
    /// A syslog line from another program (or blank, or a journalctl
    /// `-- ... --` marker): skipped and counted, not an error.
    NotFirewall,
    /// A line that could not be read; the caller adds file and line number.
    Error(LineError),
}

/// Why a line was dropped (rule 4: counted under `reason`) and what exactly
/// was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct LineError {
    /// [`DropReason::UnparseableLogLine`] for a line that is not syslog or
    /// whose netfilter fields are cut or malformed;
    /// [`DropReason::BadTimestamp`] for a netfilter line whose time cannot be
    /// read; [`DropReason::MalformedTransport`] when netfilter itself logged
    /// the packet's TCP/UDP/ICMP header as `INCOMPLETE`.
    pub reason: DropReason,
    pub message: String,
}

impl LineError {
    fn new(reason: DropReason, message: impl Into<String>) -> Self {
        LineError {
            reason,
            message: message.into(),
        }
    }
}

/// Turns the lines of one file into events.
///
/// Use one parser per file, fed in file order: RFC 3164 stamps have no year,
/// and the parser follows the file's months to know when the year turns.
#[derive(Debug, Clone)]
pub struct LogParser {
    years: YearTracker,
    utc_offset_secs: i64,
    /// The last (year, month, day) resolved and the Unix second its
    /// midnight falls on: consecutive lines mostly share their day.
    day: Option<((i32, u32, u32), i64)>,
}

impl LogParser {
    pub fn new(opts: ParseOptions) -> Self {
        let utc_offset_secs = i64::from(opts.utc_offset_secs);
        LogParser {
            years: YearTracker::new(opts.year, opts.default_year_from, utc_offset_secs),
            utc_offset_secs,
            day: None,
        }
    }

    /// Reads one line (a trailing `\r` or `\n` is ignored). Allocates only
    /// for an error.
    pub fn parse_line<'a>(&mut self, line: &'a str) -> LineOutcome<'a> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim_start().is_empty() || line.starts_with("-- ") {
            return LineOutcome::NotFirewall;
        }
        let header = parse_header(line);
        let searched = header.map_or(line, |h| h.rest);
        let Some(at) = find_netfilter(searched) else {
            return match header {
                Ok(h) => {
                    // Other programs' lines still tell the year tracker
                    // where in the calendar the file is.
                    if let Stamp::NoYear(civil) = h.stamp {
                        self.years.observe(civil);
                    }
                    LineOutcome::NotFirewall
                }
                Err(e) => LineOutcome::Error(LineError::new(
                    DropReason::UnparseableLogLine,
                    format!("not a syslog line: {}", e.message()),
                )),
            };
        };
        let stamp = match header {
            Ok(h) => h.stamp,
            Err(e) => return LineOutcome::Error(bad_time(e, line)),
        };
        let ts = match self.resolve(stamp) {
            Ok(ts) => ts,
            Err(e) => return LineOutcome::Error(e),
        };
        match parse_fields(&searched[at..]) {
            Ok(p) => LineOutcome::Event(event(ts, &p)),
            Err(e) => LineOutcome::Error(field_error(e)),
        }
    }

    fn resolve(&mut self, stamp: Stamp) -> Result<Timestamp, LineError> {
        let civil = match stamp {
            Stamp::Instant(ts) => return Ok(ts),
            Stamp::Local(civil) => civil,
            Stamp::NoYear(civil) => civil.with_year(self.years.observe(civil)),
        };
        self.wall_clock_to_utc(civil).ok_or_else(|| {
            LineError::new(
                DropReason::BadTimestamp,
                format!(
                    "{:04}-{:02}-{:02} does not exist{}",
                    civil.year,
                    civil.month,
                    civil.day,
                    match stamp {
                        Stamp::NoYear(_) => {
                            " (the line has no year; it came from --year or the file's time)"
                        }
                        _ => "",
                    }
                ),
            )
        })
    }

    /// A zone-less date and time at the configured offset.
    fn wall_clock_to_utc(&mut self, civil: Civil) -> Option<Timestamp> {
        let date = (civil.year, civil.month, civil.day);
        let midnight = match self.day {
            Some((d, midnight)) if d == date => midnight,
            _ => {
                let t = Timestamp::from_civil(civil.year, civil.month, civil.day, 0, 0, 0, 0)?;
                self.day = Some((date, t.secs()));
                t.secs()
            }
        };
        let secs = midnight + civil.seconds_into_day() - self.utc_offset_secs;
        Some(Timestamp::from_parts(secs, civil.nanos))
    }
}

fn bad_time(e: HeaderError, line: &str) -> LineError {
    LineError::new(
        DropReason::BadTimestamp,
        format!("netfilter line, but {}: {:?}", e.message(), excerpt(line)),
    )
}

fn field_error(e: FieldError<'_>) -> LineError {
    let reason = match e {
        FieldError::Incomplete(_) => DropReason::MalformedTransport,
        _ => DropReason::UnparseableLogLine,
    };
    LineError::new(reason, e.to_string())
}

/// Where `IN=` starts as a field of its own (not the tail of `LOGIN=`).
/// Netfilter always writes it first, right after the log prefix.
pub(crate) fn find_netfilter(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    memchr::memchr_iter(b'=', b).find_map(|eq| {
        let at = eq.checked_sub(2)?;
        let boundary =
            at == 0 || !matches!(b[at - 1], b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_');
        (boundary && &b[at..eq] == b"IN").then_some(at)
    })
}

fn event<'a>(ts: Timestamp, p: &Packet) -> Event<'a> {
    let (class, key) = if p.not_ip {
        (Class::Other(OtherKind::NotIp), None)
    } else {
        let c = classify(&p.transport);
        (c.class, c.key)
    };
    Event {
        ts,
        src: p.src,
        dst: p.dst,
        proto: p.transport.proto,
        sport: p.transport.sport,
        dport: p.transport.dport,
        class,
        key,
        ip_len: p.ip_len,
        fp: p.fp,
        tcp_options: &[],
        payload: &[],
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
