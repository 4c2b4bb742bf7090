//! Advisories in the JPCERT/CC alert shape — overview, situation observed,
//! probable cause, recommended actions, references — built once as data
//! ([`Advisory`]) and rendered as Markdown, self-contained HTML, JSON
//! (`portwatch.advisory/1`) or a STIX 2.1 bundle.

mod cause;
mod evidence;
mod html;
mod markdown;
mod model;

use std::str::FromStr;

use portwatch_detect::{Alert, Kind, Moved, State};

pub use evidence::{AdvisoryOptions, Evidence, PayloadSignature, Reputation, Share};
pub use model::{
    ADVISORY_SCHEMA, Advisory, Cause, MaskingNote, Overview, Reference, Situation, SourceRow,
    Targets, VulnRow,
};

use crate::PublishError;
use crate::time::{human, rfc3339};

/// The document formats of `portwatch advisory --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvisoryFormat {
    Markdown,
    Html,
    Json,
    Stix,
}

impl FromStr for AdvisoryFormat {
    type Err = PublishError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(AdvisoryFormat::Markdown),
            "html" => Ok(AdvisoryFormat::Html),
            "json" => Ok(AdvisoryFormat::Json),
            "stix" => Ok(AdvisoryFormat::Stix),
            _ => Err(PublishError::Format(
                s.to_string(),
                "md, html, json or stix",
            )),
        }
    }
}

/// One source a day: what a silent port's baseline is floored at when
/// saying "N times normal".
const FLOOR_PER_MIN: f64 = 1.0 / 1440.0;

/// Puts the advisory for `alert` together. Pure: the same alert, evidence
/// and options give the same advisory (its `issued` time comes from the
/// alert, not the clock).
pub fn advisory(alert: &Alert, evidence: &Evidence, opts: &AdvisoryOptions<'_>) -> Advisory {
    let key = alert.key();
    let cause = cause::cause(alert, opts);
    let service = cause.service.clone();
    let last = alert.transitions.last();
    let state_since = last.map_or(alert.onset, |t| t.at);
    let issued = last.map_or(alert.opened, |t| t.decided);
    let title = match (alert.kind, &service) {
        (Kind::SingleSource, Some(s)) => format!("Single-source flood on {key} ({s})"),
        (Kind::SingleSource, None) => format!("Single-source flood on {key}"),
        (_, Some(s)) => format!("Increase in scanning of {key} ({s})"),
        (_, None) => format!("Increase in scanning of {key}"),
    };
    let overview = overview(alert, service, state_since);
    let situation = situation(alert, evidence, opts);
    let actions = cause::actions(alert, &cause);
    let references = cause::references(alert, &cause, opts);
    Advisory {
        schema: model::ADVISORY_SCHEMA.to_string(),
        id: format!("PW-{}", alert.id),
        revision: format!("{}-{}", alert.state.as_str(), rfc3339(state_since)),
        issued,
        publisher: opts.publisher.clone(),
        title,
        overview,
        situation,
        cause,
        actions,
        references,
        masking: MaskingNote {
            targets_masked: opts.masking.is_masked(),
            note: opts.masking.note(),
        },
        alert: alert.clone(),
    }
}

fn overview(alert: &Alert, service: Option<String>, state_since: i64) -> Overview {
    let b = alert.baseline_at_onset;
    let times = alert.peak.sources as f64 / b.sources_per_min.max(FLOOR_PER_MIN);
    let state = match alert.state {
        State::Closed => format!("back to background by {}", human(state_since)),
        s => format!("{} since {}", s.as_str(), human(state_since)),
    };
    let moved = match alert.moved {
        Moved::Sources => "distinct sources rose",
        Moved::Packets => "packets rose, sources did not",
        Moved::Both => "distinct sources and packets rose",
    };
    let magnitude = format!(
        "{key}: {peak} distinct sources per minute at the peak ({peak_at}) against a normal of {normal:.4} per minute, about {times} times normal; {moved}. Began {onset}; {state}.",
        key = alert.key(),
        peak = alert.peak.sources,
        peak_at = human(alert.peak.at),
        normal = b.sources_per_min,
        times = crate::chart::format_count(round_sig(times)),
        onset = human(alert.onset),
    );
    Overview {
        port: alert.key().to_string(),
        service,
        kind: alert.kind.as_str().to_string(),
        moved: match alert.moved {
            Moved::Sources => "sources",
            Moved::Packets => "packets",
            Moved::Both => "both",
        }
        .to_string(),
        state: alert.state.as_str().to_string(),
        state_since,
        status: match alert.state {
            State::Closed => format!("closed: {state}"),
            _ => state.clone(),
        },
        onset: alert.onset,
        peak_at: alert.peak.at,
        closed: alert.closed,
        peak_sources_per_min: alert.peak.sources,
        peak_packets_per_min: alert.peak.packets,
        baseline_sources_per_min: b.sources_per_min,
        baseline_packets_per_min: b.packets_per_min,
        times_normal: round_sig(times),
        magnitude,
        summary: alert.summary.clone(),
    }
}

/// The series as the advisory shows it: at least `CONTEXT_BEFORE` buckets
/// of normal before the onset and `CONTEXT_AFTER` after the alert's end,
/// so the reader sees the spike against the port's usual level.
const CONTEXT_BEFORE: i64 = 12;
const CONTEXT_AFTER: i64 = 6;

fn shown_series(alert: &Alert, s: &crate::series::PortSeries) -> Vec<crate::series::Point> {
    let w = s.bucket.secs();
    let end = alert.closed.unwrap_or(alert.last_active + 60);
    s.clone()
        .with_range(alert.onset - CONTEXT_BEFORE * w, end + CONTEXT_AFTER * w)
        .filled()
}

fn situation(alert: &Alert, ev: &Evidence, opts: &AdvisoryOptions<'_>) -> Situation {
    Situation {
        bucket: ev.series.as_ref().map(|s| s.bucket.to_string()),
        series: ev
            .series
            .as_ref()
            .map(|s| shown_series(alert, s))
            .unwrap_or_default(),
        sources: ev.distinct_sources.unwrap_or(alert.during.sources_at_least),
        sources_exact: ev.distinct_sources.is_some(),
        top_sources: alert
            .top_sources
            .iter()
            .take(opts.max_sources)
            .map(|s| SourceRow {
                addr: s.addr.to_string(),
                packets: s.packets,
            })
            .collect(),
        targets: Targets {
            distinct: ev.distinct_targets,
            peak_per_min: alert.during.targets_peak_per_min,
            sample: ev.targets.iter().map(|t| opts.masking.apply(*t)).collect(),
            masked: opts.masking.is_masked(),
        },
        countries: ev.countries.clone(),
        asns: ev.asns.clone(),
        tools: ev.tools.clone(),
        reputation: ev.reputation.clone(),
        payloads: ev.payloads.clone(),
    }
}

/// Three significant digits: "4,610 times normal", not "4608.2947".
fn round_sig(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return 0.0;
    }
    let mag = 10f64.powi(v.abs().log10().floor() as i32 - 2);
    (v / mag).round() * mag
}

/// Renders `adv` in `format`. HTML carries its chart inline; Markdown
/// embeds it as a `data:` URI so the file stands alone.
pub fn render(adv: &Advisory, format: AdvisoryFormat) -> Result<String, PublishError> {
    match format {
        AdvisoryFormat::Markdown => markdown::render(adv),
        AdvisoryFormat::Html => html::render(adv),
        AdvisoryFormat::Json => Ok(serde_json::to_string_pretty(adv)?),
        AdvisoryFormat::Stix => crate::stix::bundle(adv),
    }
}

/// The chart of the advisory's series as SVG text, if it has a series.
pub(crate) fn chart_svg(adv: &Advisory) -> Result<Option<String>, PublishError> {
    let Some(bucket) = adv
        .situation
        .bucket
        .as_deref()
        .and_then(|b| b.parse::<portwatch_core::BucketWidth>().ok())
    else {
        return Ok(None);
    };
    if adv.situation.series.is_empty() {
        return Ok(None);
    }
    let series = crate::series::PortSeries {
        key: adv.alert.key(),
        bucket,
        points: adv.situation.series.clone(),
    };
    let opts = crate::chart::ChartOptions {
        title: Some(format!(
            "{}: distinct sources and packets per {} (UTC)",
            adv.overview.port, bucket
        )),
        ..crate::chart::ChartOptions::default()
    };
    let bytes = crate::chart::port_chart(
        &series,
        Some(&adv.alert),
        &opts,
        crate::chart::ImageFormat::Svg,
    )?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| PublishError::Chart(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rounds_to_three_digits() {
        assert_eq!(super::round_sig(4608.29), 4610.0);
        assert_eq!(super::round_sig(1.234), 1.23);
        assert_eq!(super::round_sig(f64::INFINITY), 0.0);
    }
}
