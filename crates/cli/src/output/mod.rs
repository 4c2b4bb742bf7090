//! Rendering reports: human tables, JSON documents (shapes in docs/json.md),
//! CSV rows.

pub mod json;
pub mod table;

use std::io::Write;

/// Thousands separators for counts in tables.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The heaviest source as a table cell: `203.0.113.9 (1,234)`, with a `~`
/// before the count when it may overstate (`(~1,234)`), or `-`.
pub fn top_source(top: &[portwatch_sketch::TopEntry]) -> String {
    top.first().map_or_else(
        || "-".into(),
        |e| {
            // An upper bound, like every estimate in a table, gets a `~`.
            let approx = if e.error > 0 { "~" } else { "" };
            format!("{} ({approx}{})", e.addr, count(e.count))
        },
    )
}

/// Bytes in human units.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Writes CSV rows (RFC 4180 quoting where needed).
pub fn write_csv<W: Write>(mut w: W, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let line = |fields: &mut dyn Iterator<Item = &str>| -> String {
        fields
            .map(|f| {
                if f.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    writeln!(w, "{}", line(&mut header.iter().copied()))?;
    for row in rows {
        writeln!(w, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
    }

    #[test]
    fn a_top_source_that_may_overstate_is_marked() {
        let entry = |count, error| portwatch_sketch::TopEntry {
            addr: std::net::IpAddr::from([198, 18, 0, 9]),
            count,
            error,
        };
        assert_eq!(top_source(&[]), "-");
        assert_eq!(top_source(&[entry(1234, 0)]), "198.18.0.9 (1,234)");
        assert_eq!(top_source(&[entry(41_644, 35)]), "198.18.0.9 (~41,644)");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut out = Vec::new();
        write_csv(
            &mut out,
            &["a", "b"],
            &[vec!["x,y".into(), "say \"hi\"".into()]],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n"
        );
    }
}
