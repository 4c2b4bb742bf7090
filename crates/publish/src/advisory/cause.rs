//! Section 3 (probable cause), section 4 (actions) and the references,
//! from the enrich knowledge files: the products on the port and the
//! vulnerabilities disclosed before the onset.

use portwatch_core::{PortKey, Timestamp};
use portwatch_detect::{Alert, Kind};
use portwatch_enrich::kev::VulnSource;
use portwatch_enrich::knowledge::Date;

use super::evidence::AdvisoryOptions;
use super::model::{Cause, Reference, VulnRow};

pub(crate) fn service_name(opts: &AdvisoryOptions<'_>, key: PortKey) -> Option<String> {
    opts.knowledge
        .port(key)
        .map(|p| p.service.clone())
        .or_else(|| portwatch_enrich::services::name(key).map(str::to_string))
}

pub(crate) fn cause(alert: &Alert, opts: &AdvisoryOptions<'_>) -> Cause {
    let key = alert.key();
    let info = opts.knowledge.port(key);
    let days = |d: Date| {
        d.start()
            .map_or(0, |t| (alert.onset - t.secs()).div_euclid(86_400))
    };
    let recent = |n: i64| (0..=i64::from(opts.recent_days)).contains(&n);
    let mut rows: Vec<VulnRow> = Vec::new();
    // Every curated vulnerability of the port, recent or not: an old hole
    // in a product still running is a reason to scan too.
    for v in info.map(|p| &p.vulns[..]).unwrap_or_default() {
        let n = days(v.disclosed);
        let cves: Vec<String> = std::iter::once(v.id.clone())
            .chain(v.cves.iter().cloned())
            .filter(|c| c.starts_with("CVE-"))
            .collect();
        let kev = cves.iter().any(|c| opts.catalog.get(c).is_some());
        rows.push(VulnRow {
            id: v.id.clone(),
            cves,
            name: v.name.clone(),
            product: info.map(|p| p.products.join(", ")).unwrap_or_default(),
            date: v.disclosed.to_string(),
            source: "curated".into(),
            days_before_onset: n,
            recent: recent(n),
            known_exploited: kev,
            timing: timing(v.disclosed, n, "disclosed"),
        });
    }
    // KEV entries mapped to the port and listed shortly before the onset
    // (the catalog dedupes against the curated file).
    let onset = Timestamp::from_secs(alert.onset);
    for v in opts
        .catalog
        .vulns_for_port(opts.knowledge, key, onset, opts.recent_days)
    {
        if v.source != VulnSource::Kev || rows.iter().any(|r| r.cves.contains(&v.id)) {
            continue;
        }
        rows.push(VulnRow {
            cves: vec![v.id.clone()],
            id: v.id,
            name: v.name,
            product: v.product,
            date: v.date.to_string(),
            source: "kev".into(),
            days_before_onset: v.days_before,
            recent: true,
            known_exploited: true,
            timing: timing(v.date, v.days_before, "listed as exploited by CISA"),
        });
    }
    // Probable causes first, nearest the onset first; then the rest,
    // newest first.
    rows.sort_by_key(|r| {
        let newest_first = if r.recent {
            r.days_before_onset
        } else {
            -r.days_before_onset
        };
        (!r.recent, newest_first)
    });
    Cause {
        service: service_name(opts, key),
        products: info.map(|p| p.products.clone()).unwrap_or_default(),
        notes: info.map(|p| p.notes.clone()).filter(|n| !n.is_empty()),
        vulnerabilities: rows,
    }
}

/// "disclosed 2 days before onset"; an imprecise date says so.
fn timing(date: Date, days: i64, verb: &str) -> String {
    let precise = date.day.is_some();
    match days {
        n if n < 0 => format!("{verb} {date}, after the onset"),
        0 if precise => format!("{verb} on the day of the onset"),
        1 if precise => format!("{verb} 1 day before onset"),
        n if precise => format!("{verb} {n} days before onset"),
        n => format!("{verb} {date}, at most {n} days before onset"),
    }
}

pub(crate) fn actions(alert: &Alert, cause: &Cause) -> Vec<String> {
    let key = alert.key();
    let mut out = Vec::new();
    if !cause.products.is_empty() {
        let ids: Vec<&str> = cause
            .vulnerabilities
            .iter()
            .flat_map(|v| v.cves.iter().map(String::as_str))
            .collect();
        let fixes = if ids.is_empty() {
            String::new()
        } else {
            format!(" (fixes for {})", ids.join(", "))
        };
        out.push(format!(
            "Apply the vendors' security updates to {}{fixes}; confirm which of your hosts run them.",
            cause.products.join(", ")
        ));
    }
    out.push(format!(
        "Block or filter {key} at the network perimeter unless the service must be reachable from the Internet; where it must, allow only known peers."
    ));
    out.push(format!(
        "Limit outbound traffic to {key} from internal hosts: an infected host would scan others on this port."
    ));
    out.push(format!(
        "Check firewall and flow logs for internal hosts connecting out to {key} (outbound scanning is a sign of compromise) and investigate any found."
    ));
    if alert.kind == Kind::SingleSource {
        out.push(
            "Most of the traffic came from one source: consider filtering that address.".into(),
        );
    }
    out
}

pub(crate) fn references(
    alert: &Alert,
    cause: &Cause,
    opts: &AdvisoryOptions<'_>,
) -> Vec<Reference> {
    let key = alert.key();
    let mut out: Vec<Reference> = Vec::new();
    let mut push = |title: String, url: String| {
        if !out.iter().any(|r| r.url == url) {
            out.push(Reference { title, url });
        }
    };
    for v in &cause.vulnerabilities {
        for c in &v.cves {
            push(
                format!("NVD: {c}"),
                format!("https://nvd.nist.gov/vuln/detail/{c}"),
            );
        }
        if v.known_exploited {
            push(
                "CISA Known Exploited Vulnerabilities catalog".into(),
                "https://www.cisa.gov/known-exploited-vulnerabilities-catalog".into(),
            );
        }
    }
    for url in opts
        .knowledge
        .port(key)
        .map(|p| &p.references[..])
        .unwrap_or_default()
    {
        push(url.clone(), url.clone());
    }
    if key.proto != portwatch_core::Proto::Icmp {
        push(
            format!("SANS ISC port report for {}", key.port),
            format!("https://isc.sans.edu/port.html?port={}", key.port),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_says_how_precise() {
        let d = |s| Date::parse(s).expect("date");
        assert_eq!(
            timing(d("2007-08-20"), 2, "disclosed"),
            "disclosed 2 days before onset"
        );
        assert_eq!(
            timing(d("2007-08-22"), 0, "disclosed"),
            "disclosed on the day of the onset"
        );
        assert_eq!(
            timing(d("2007-08"), 21, "disclosed"),
            "disclosed 2007-08, at most 21 days before onset"
        );
        assert_eq!(
            timing(d("2008"), -5, "disclosed"),
            "disclosed 2008, after the onset"
        );
    }
}
