//! The advisory as Markdown. The chart travels inside the file as a
//! `data:` URI, so the document stands alone like the HTML one.

use std::fmt::Write as _;

use base64::Engine as _;

use super::evidence::Share;
use super::model::{Advisory, VulnRow};
use crate::PublishError;
use crate::time::human;

pub(super) fn render(adv: &Advisory) -> Result<String, PublishError> {
    let mut md = String::new();
    let o = &adv.overview;
    let s = &adv.situation;
    // `write!` into a String cannot fail; the results are ignored below.
    let _ = writeln!(md, "# {}\n", text(&adv.title));
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Advisory | {} (revision {}) |", adv.id, adv.revision);
    let _ = writeln!(md, "| Issued | {} |", human(adv.issued));
    let _ = writeln!(md, "| Publisher | {} |\n", cell(&adv.publisher));

    let _ = writeln!(md, "## 1. Overview\n\n{}\n", text(&o.magnitude));
    let service = o
        .service
        .as_deref()
        .map_or(String::new(), |s| format!(" ({})", text(s)));
    let _ = writeln!(md, "- **Port:** {}{service}", o.port);
    let _ = writeln!(
        md,
        "- **Finding:** {} ({} moved)",
        o.kind.replace('_', " "),
        o.moved
    );
    let _ = writeln!(md, "- **Began:** {}", human(o.onset));
    let _ = writeln!(
        md,
        "- **Peak:** {} sources/min, {} packets/min at {}",
        o.peak_sources_per_min,
        o.peak_packets_per_min,
        human(o.peak_at)
    );
    let _ = writeln!(
        md,
        "- **Normal before onset:** {:.4} sources/min, {:.4} packets/min (about {} times normal at the peak)",
        o.baseline_sources_per_min,
        o.baseline_packets_per_min,
        crate::chart::format_count(o.times_normal)
    );
    let _ = writeln!(md, "- **State:** {}\n", text(&o.status));

    let _ = writeln!(md, "## 2. Situation observed\n");
    if let Some(svg) = super::chart_svg(adv)? {
        let b64 = base64::engine::general_purpose::STANDARD.encode(svg.as_bytes());
        let _ = writeln!(
            md,
            "![{} per {} (UTC), baseline band, alert window shaded](data:image/svg+xml;base64,{b64})\n",
            o.port,
            s.bucket.as_deref().unwrap_or("bucket")
        );
    }
    let exact = if s.sources_exact { "" } else { "at least " };
    let _ = writeln!(md, "- **Distinct sources:** {exact}{}", s.sources);
    let distinct = s
        .targets
        .distinct
        .map_or(String::new(), |d| format!("{d} distinct, "));
    let _ = writeln!(
        md,
        "- **Targets:** {distinct}up to {} per minute",
        s.targets.peak_per_min
    );
    if !s.targets.sample.is_empty() {
        let _ = writeln!(
            md,
            "- **Targets probed (masked):** {}",
            s.targets.sample.join(", ")
        );
    }
    if let Some(r) = &s.reputation {
        let pct = percent(r.listed, r.checked);
        let _ = writeln!(
            md,
            "- **Reputation:** {} of {} sources ({pct}) on {}",
            r.listed,
            r.checked,
            if r.lists.is_empty() {
                "reputation lists".to_string()
            } else {
                text(&r.lists.join(", "))
            }
        );
    }
    md.push('\n');
    if !s.top_sources.is_empty() {
        let _ = writeln!(md, "Top sources:\n\n| source | packets |\n|---|---:|");
        for r in &s.top_sources {
            let _ = writeln!(md, "| {} | {} |", r.addr, r.packets);
        }
        md.push('\n');
    }
    shares(&mut md, "Countries", &s.countries);
    shares(&mut md, "Networks (AS)", &s.asns);
    shares(&mut md, "Tools", &s.tools);
    if !s.payloads.is_empty() {
        let _ = writeln!(
            md,
            "Payload signatures seen by the honeypot:\n\n| signature | hits | sources | excerpt |\n|---|---:|---:|---|"
        );
        for p in &s.payloads {
            let ex = p
                .excerpt
                .as_deref()
                .map_or(String::new(), |e| format!("`{}`", e.replace('`', "'")));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&p.name),
                p.hits,
                p.sources,
                cell(&ex)
            );
        }
        md.push('\n');
    }

    let c = &adv.cause;
    let _ = writeln!(md, "## 3. Probable cause\n");
    if !c.products.is_empty() {
        let _ = writeln!(
            md,
            "Products listening on {}: {}.\n",
            o.port,
            text(&c.products.join(", "))
        );
    }
    if let Some(n) = &c.notes {
        let _ = writeln!(md, "{}\n", text(n));
    }
    if c.vulnerabilities.is_empty() {
        let _ = writeln!(
            md,
            "No vulnerability on this port is known to portwatch's knowledge files.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "| vulnerability | CVEs | product | date | timing |\n|---|---|---|---|---|"
        );
        for v in &c.vulnerabilities {
            let _ = writeln!(md, "{}", vuln_row(v));
        }
        md.push('\n');
    }

    let _ = writeln!(md, "## 4. Recommended actions\n");
    for (i, a) in adv.actions.iter().enumerate() {
        let _ = writeln!(md, "{}. {}", i + 1, text(a));
    }
    let _ = writeln!(md, "\n## 5. References\n");
    for r in &adv.references {
        let _ = writeln!(md, "- [{}]({})", text(&r.title), r.url);
    }
    let _ = writeln!(md, "\n---\n\n*{}*", text(&adv.masking.note));
    Ok(md)
}

fn vuln_row(v: &VulnRow) -> String {
    let mark = if v.recent {
        " **(probable cause)**"
    } else {
        ""
    };
    let kev = if v.known_exploited {
        " (known exploited)"
    } else {
        ""
    };
    format!(
        "| {}: {}{mark}{kev} | {} | {} | {} | {} |",
        v.id,
        cell(&v.name),
        v.cves.join(", "),
        cell(&v.product),
        v.date,
        v.timing
    )
}

fn shares(md: &mut String, title: &str, rows: &[Share]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(md, "{title}:\n\n| | sources |\n|---|---:|");
    for r in rows {
        let _ = writeln!(md, "| {} | {} |", cell(&r.name), r.sources);
    }
    md.push('\n');
}

pub(super) fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "n/a".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// Text from knowledge files or evidence may hold Markdown syntax; it must
/// not become markup (or a link) in the advisory.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '`' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(if c == '\n' { ' ' } else { c });
    }
    out
}

fn cell(s: &str) -> String {
    text(s)
}
