//! The advisory as one self-contained HTML file: inline CSS, the chart as
//! inline SVG, no scripts and nothing fetched.

use std::fmt::Write as _;

use super::evidence::Share;
use super::markdown::percent;
use super::model::Advisory;
use crate::PublishError;
use crate::time::human;

const STYLE: &str = "body{font-family:sans-serif;max-width:62rem;margin:1.5rem auto;padding:0 1rem;color:#111;line-height:1.45}\
h1{font-size:1.6rem;border-bottom:3px solid #b01e1e;padding-bottom:.3rem}\
h2{font-size:1.2rem;margin-top:1.8rem;border-bottom:1px solid #999}\
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #999;padding:.2rem .5rem;text-align:left;vertical-align:top}\
th{background:#eee}td.n{text-align:right}.meta td{border:none;padding:.1rem .8rem .1rem 0}\
.lead{font-size:1.05rem;background:#fff6e0;border-left:4px solid #e0a000;padding:.5rem .8rem}\
.cause{font-weight:bold;color:#b01e1e}figure{margin:1rem 0}figure svg{max-width:100%;height:auto}\
.note{font-size:.9rem;color:#333;border-top:1px solid #999;margin-top:2rem;padding-top:.5rem}\
@media print{body{max-width:none;margin:0}h2{break-after:avoid}figure{break-inside:avoid}}";

pub(super) fn render(adv: &Advisory) -> Result<String, PublishError> {
    let o = &adv.overview;
    let s = &adv.situation;
    let c = &adv.cause;
    let mut h = String::new();
    // `write!` into a String cannot fail; the results are ignored below.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n",
        t = esc(&adv.title)
    );
    let _ = writeln!(
        h,
        "<table class=\"meta\"><tr><td>Advisory</td><td>{} (revision {})</td></tr>\
<tr><td>Issued</td><td>{}</td></tr><tr><td>Publisher</td><td>{}</td></tr></table>",
        esc(&adv.id),
        esc(&adv.revision),
        human(adv.issued),
        esc(&adv.publisher)
    );

    let _ = write!(
        h,
        "<h2 id=\"overview\">1. Overview</h2>\n<p class=\"lead\">{}</p>\n<table>",
        esc(&o.magnitude)
    );
    let service = o
        .service
        .as_deref()
        .map_or(String::new(), |s| format!(" ({})", esc(s)));
    row(&mut h, "Port", &format!("{}{service}", esc(&o.port)));
    row(
        &mut h,
        "Finding",
        &format!(
            "{} ({} moved)",
            esc(&o.kind.replace('_', " ")),
            esc(&o.moved)
        ),
    );
    row(&mut h, "Began", &human(o.onset));
    row(
        &mut h,
        "Peak",
        &format!(
            "{} sources/min, {} packets/min at {}",
            o.peak_sources_per_min,
            o.peak_packets_per_min,
            human(o.peak_at)
        ),
    );
    row(
        &mut h,
        "Normal before onset",
        &format!(
            "{:.4} sources/min, {:.4} packets/min (about {} times normal at the peak)",
            o.baseline_sources_per_min,
            o.baseline_packets_per_min,
            crate::chart::format_count(o.times_normal)
        ),
    );
    row(&mut h, "State", &esc(&o.status));
    h.push_str("</table>\n");

    h.push_str("<h2 id=\"situation\">2. Situation observed</h2>\n");
    if let Some(svg) = super::chart_svg(adv)? {
        let _ = writeln!(
            h,
            "<figure>{}<figcaption>{} per {} (UTC): distinct sources and packets, baseline band in grey, alert window shaded.</figcaption></figure>",
            strip_xml_decl(&svg),
            esc(&o.port),
            esc(s.bucket.as_deref().unwrap_or("bucket"))
        );
    }
    h.push_str("<table>");
    let exact = if s.sources_exact { "" } else { "at least " };
    row(&mut h, "Distinct sources", &format!("{exact}{}", s.sources));
    let distinct = s
        .targets
        .distinct
        .map_or(String::new(), |d| format!("{d} distinct, "));
    row(
        &mut h,
        "Targets",
        &format!("{distinct}up to {} per minute", s.targets.peak_per_min),
    );
    if !s.targets.sample.is_empty() {
        row(
            &mut h,
            "Targets probed (masked)",
            &esc(&s.targets.sample.join(", ")),
        );
    }
    if let Some(r) = &s.reputation {
        let lists = if r.lists.is_empty() {
            "reputation lists".to_string()
        } else {
            r.lists.join(", ")
        };
        row(
            &mut h,
            "Reputation",
            &format!(
                "{} of {} sources ({}) on {}",
                r.listed,
                r.checked,
                percent(r.listed, r.checked),
                esc(&lists)
            ),
        );
    }
    h.push_str("</table>\n");
    if !s.top_sources.is_empty() {
        h.push_str("<h3>Top sources</h3><table><tr><th>source</th><th>packets</th></tr>");
        for r in &s.top_sources {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&r.addr),
                r.packets
            );
        }
        h.push_str("</table>\n");
    }
    shares(&mut h, "Countries", &s.countries);
    shares(&mut h, "Networks (AS)", &s.asns);
    shares(&mut h, "Tools", &s.tools);
    if !s.payloads.is_empty() {
        h.push_str("<h3>Payload signatures seen by the honeypot</h3><table><tr><th>signature</th><th>hits</th><th>sources</th><th>excerpt</th></tr>");
        for p in &s.payloads {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
                esc(&p.name),
                p.hits,
                p.sources,
                esc(p.excerpt.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2 id=\"cause\">3. Probable cause</h2>\n");
    if !c.products.is_empty() {
        let _ = writeln!(
            h,
            "<p>Products listening on {}: <b>{}</b>.</p>",
            esc(&o.port),
            esc(&c.products.join(", "))
        );
    }
    if let Some(n) = &c.notes {
        let _ = writeln!(h, "<p>{}</p>", esc(n));
    }
    if c.vulnerabilities.is_empty() {
        h.push_str(
            "<p>No vulnerability on this port is known to portwatch's knowledge files.</p>\n",
        );
    } else {
        h.push_str("<table><tr><th>vulnerability</th><th>CVEs</th><th>product</th><th>date</th><th>timing</th></tr>");
        for v in &c.vulnerabilities {
            let mark = if v.recent {
                " <span class=\"cause\">(probable cause)</span>"
            } else {
                ""
            };
            let kev = if v.known_exploited {
                " (known exploited)"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<tr><td>{}: {}{mark}{kev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&v.id),
                esc(&v.name),
                esc(&v.cves.join(", ")),
                esc(&v.product),
                esc(&v.date),
                esc(&v.timing)
            );
        }
        h.push_str("</table>\n");
    }

    h.push_str("<h2 id=\"actions\">4. Recommended actions</h2>\n<ol>");
    for a in &adv.actions {
        let _ = write!(h, "<li>{}</li>", esc(a));
    }
    h.push_str("</ol>\n<h2 id=\"references\">5. References</h2>\n<ul>");
    for r in &adv.references {
        let _ = write!(
            h,
            "<li><a href=\"{}\">{}</a></li>",
            esc(&r.url),
            esc(&r.title)
        );
    }
    let _ = write!(
        h,
        "</ul>\n<p class=\"note\">{}</p>\n</body></html>\n",
        esc(&adv.masking.note)
    );
    Ok(h)
}

fn row(h: &mut String, name: &str, value_html: &str) {
    let _ = write!(h, "<tr><th>{}</th><td>{value_html}</td></tr>", esc(name));
}

fn shares(h: &mut String, title: &str, rows: &[Share]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h3>{}</h3><table><tr><th></th><th>sources</th></tr>",
        esc(title)
    );
    for r in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&r.name),
            r.sources
        );
    }
    h.push_str("</table>\n");
}

/// An XML declaration is not allowed inside HTML.
fn strip_xml_decl(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(svg, |i| rest[i + 2..].trim_start()),
        None => svg,
    }
}

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_and_strips() {
        assert_eq!(
            super::esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            super::strip_xml_decl("<?xml version=\"1.0\"?>\n<svg/>"),
            "<svg/>"
        );
        assert_eq!(super::strip_xml_decl("<svg/>"), "<svg/>");
    }
}
