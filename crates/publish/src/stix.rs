//! The advisory as a STIX 2.1 bundle.
//!
//! Mapping (see `docs/advisory.md`): the sensor network is an `identity`
//! that creates everything; each published source is an `ipv4-addr` /
//! `ipv6-addr` with a `network-traffic` object towards the port, gathered
//! in one `observed-data`; an `indicator` matches that traffic; the scan
//! wave is a `campaign`; every CVE is a `vulnerability` with a `cve`
//! external reference; relationships tie them (indicator *based-on*
//! observed-data, indicator *indicates* campaign, campaign *targets* a
//! recently disclosed vulnerability, *related-to* an older one); a
//! `report` carries the summary and refers to all of it.
//!
//! Ids are UUIDv5, so publishing the same alert again yields the same ids
//! and consumers update rather than duplicate: cyber-observables use the
//! STIX namespace over their id-contributing properties as the
//! specification asks; the other objects use a portwatch namespace over
//! the alert id (vulnerabilities over the CVE alone, the identity over
//! its name). Targets never appear (rule 9).

use portwatch_core::Proto;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::PublishError;
use crate::advisory::Advisory;
use crate::time::stix as ts;

/// When the sensor network's identity object says it was created.
const IDENTITY_CREATED: &str = "2000-01-01T00:00:00.000Z";

/// The namespace STIX 2.1 prescribes for cyber-observable ids.
const STIX_SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// Ours, for everything else: UUIDv5 of the project URL in the URL
/// namespace (computed once and written down so it can never drift).
fn namespace() -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        b"https://example.invalid/portwatch/stix",
    )
}

fn sdo_id(kind: &str, name: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&namespace(), format!("{kind}|{name}").as_bytes())
    )
}

/// `canonical` must be the RFC 8785 form of the id-contributing
/// properties (sorted keys, no whitespace).
fn sco_id(kind: &str, canonical: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes())
    )
}

/// The STIX 2.1 bundle for `adv`, pretty-printed.
pub(crate) fn bundle(adv: &Advisory) -> Result<String, PublishError> {
    let a = &adv.alert;
    let key = a.key();
    let aid = a.id.to_string();
    let created = ts(a.opened);
    let modified = ts(adv.issued.max(a.opened));
    let last_observed = a.closed.unwrap_or(a.last_active + 60).max(a.onset + 60);
    let identity = sdo_id("identity", &adv.publisher);
    let common = |kind: &str, id: &str| {
        json!({
            "type": kind, "spec_version": "2.1", "id": id,
            "created": created, "modified": modified, "created_by_ref": identity,
        })
    };
    // The identity and the vulnerabilities are shared by every alert's
    // bundle, so their timestamps must not depend on the alert: a fixed
    // date for the identity, the disclosure date for a vulnerability.
    let mut objects: Vec<Value> = vec![json!({
        "type": "identity", "spec_version": "2.1", "id": identity,
        "created": IDENTITY_CREATED, "modified": IDENTITY_CREATED,
        "name": adv.publisher, "identity_class": "organization",
        "description": "Darknet and honeypot sensors watching for Internet scanning (portwatch).",
    })];

    // Sources and their traffic towards the port.
    let l4 = match key.proto {
        Proto::Tcp => Some("tcp"),
        Proto::Udp => Some("udp"),
        _ => None,
    };
    let mut observables = Vec::new();
    let mut pattern_terms = Vec::new();
    for s in &a.top_sources {
        let (kind, l3) = if s.addr.is_ipv4() {
            ("ipv4-addr", "ipv4")
        } else {
            ("ipv6-addr", "ipv6")
        };
        let value = s.addr.to_string();
        let addr_id = sco_id(kind, &format!("{{\"value\":\"{value}\"}}"));
        objects.push(json!({"type": kind, "spec_version": "2.1", "id": addr_id, "value": value}));
        let protocols: Vec<&str> = std::iter::once(l3).chain(l4).collect();
        let mut traffic = json!({
            "type": "network-traffic", "spec_version": "2.1",
            "src_ref": addr_id, "protocols": protocols,
        });
        let canonical = match l4 {
            Some(_) => {
                traffic["dst_port"] = json!(key.port);
                format!(
                    "{{\"dst_port\":{},\"protocols\":{},\"src_ref\":\"{addr_id}\"}}",
                    key.port,
                    json!(protocols)
                )
            }
            None => format!(
                "{{\"protocols\":{},\"src_ref\":\"{addr_id}\"}}",
                json!(protocols)
            ),
        };
        let traffic_id = sco_id("network-traffic", &canonical);
        traffic["id"] = json!(traffic_id);
        objects.push(traffic);
        observables.extend([addr_id, traffic_id]);
        pattern_terms.push(format!("network-traffic:src_ref.value = '{value}'"));
    }

    let observed = sdo_id("observed-data", &aid);
    let indicator = sdo_id("indicator", &aid);
    let campaign = sdo_id("campaign", &aid);
    if !observables.is_empty() {
        let mut o = common("observed-data", &observed);
        o["first_observed"] = json!(ts(a.onset));
        o["last_observed"] = json!(ts(last_observed));
        o["number_observed"] = json!(a.during.minutes.clamp(1, 999_999_999));
        o["object_refs"] = json!(observables);
        objects.push(o);

        let port_term = match l4 {
            Some(p) => format!(
                "network-traffic:dst_port = {} AND network-traffic:protocols[*] = '{p}'",
                key.port
            ),
            None => "network-traffic:protocols[*] = 'icmp'".to_string(),
        };
        let mut i = common("indicator", &indicator);
        i["name"] = json!(format!("Sources scanning {key}"));
        i["description"] = json!(format!(
            "The loudest sources seen scanning {key} during the alert that began {}.",
            crate::time::human(a.onset)
        ));
        i["indicator_types"] = json!(["anomalous-activity"]);
        i["pattern"] = json!(format!(
            "[{port_term} AND ({})]",
            pattern_terms.join(" OR ")
        ));
        i["pattern_type"] = json!("stix");
        i["valid_from"] = json!(ts(a.onset));
        objects.push(i);
    }

    let mut c = common("campaign", &campaign);
    c["name"] = json!(adv.title);
    c["description"] = json!(adv.overview.magnitude);
    c["first_seen"] = json!(ts(a.onset));
    if a.closed.is_some() {
        c["last_seen"] = json!(ts(last_observed));
    }
    objects.push(c);

    let mut rels: Vec<(String, &str, String)> = Vec::new();
    if !observables.is_empty() {
        rels.push((indicator.clone(), "based-on", observed.clone()));
        rels.push((indicator.clone(), "indicates", campaign.clone()));
    }
    let mut seen: Vec<&str> = Vec::new();
    for v in &adv.cause.vulnerabilities {
        for cve in &v.cves {
            if seen.contains(&cve.as_str()) {
                continue;
            }
            seen.push(cve);
            let id = sdo_id("vulnerability", cve);
            let mut o = common("vulnerability", &id);
            let disclosed = portwatch_enrich::knowledge::Date::parse(&v.date)
                .and_then(|d| d.start())
                .map_or_else(|| IDENTITY_CREATED.to_string(), |t| ts(t.secs()));
            o["created"] = json!(disclosed);
            o["modified"] = json!(disclosed);
            o["name"] = json!(cve);
            o["description"] = json!(format!("{} ({}); {}.", v.name, v.product, v.timing));
            o["external_references"] = json!([{"source_name": "cve", "external_id": cve}]);
            objects.push(o);
            let kind = if v.recent { "targets" } else { "related-to" };
            rels.push((campaign.clone(), kind, id));
        }
    }
    for (src, kind, dst) in rels {
        let id = sdo_id("relationship", &format!("{aid}|{src}|{kind}|{dst}"));
        let mut r = common("relationship", &id);
        r["relationship_type"] = json!(kind);
        r["source_ref"] = json!(src);
        r["target_ref"] = json!(dst);
        objects.push(r);
    }

    let refs: Vec<Value> = objects
        .iter()
        .filter_map(|o| o.get("id").cloned())
        .collect();
    let report = sdo_id("report", &aid);
    let mut r = common("report", &report);
    r["name"] = json!(adv.title);
    r["description"] = json!(format!(
        "{}\n\n{}\n\n{}",
        adv.overview.magnitude, adv.overview.summary, adv.masking.note
    ));
    r["report_types"] = json!(["threat-report", "campaign"]);
    r["published"] = json!(modified);
    r["object_refs"] = json!(refs);
    r["external_references"] = json!([{"source_name": "portwatch", "external_id": adv.id}]);
    objects.push(r);

    let bundle = json!({
        "type": "bundle",
        "id": sdo_id("bundle", &format!("{aid}|{}", adv.revision)),
        "objects": objects,
    });
    Ok(serde_json::to_string_pretty(&bundle)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sco_ids_follow_the_spec() {
        // The example id of the STIX 2.1 specification's ipv4-addr
        // deterministic identifier discussion for value 198.51.100.3.
        let id = sco_id("ipv4-addr", "{\"value\":\"198.51.100.3\"}");
        assert!(id.starts_with("ipv4-addr--"));
        assert_eq!(id, sco_id("ipv4-addr", "{\"value\":\"198.51.100.3\"}"));
        assert_ne!(sdo_id("indicator", "a"), sdo_id("indicator", "b"));
        assert_eq!(
            Uuid::parse_str(&id[11..]).map(|u| u.get_version_num()).ok(),
            Some(5)
        );
    }
}
