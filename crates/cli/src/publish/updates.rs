//! An alert's transitions as the updates the detector reported when each
//! happened. Detection re-runs over the whole store and keeps only each
//! alert's final form, so the publisher rebuilds one update per stored
//! transition: the alert with its transitions cut at that step and its
//! state set to it. Other fields (peak, totals) are as they are now, which
//! is what a late reader wants to see.
//!
//! A single-source finding turning into a campaign adds no transition and
//! is not rebuilt here; the alert's `kind` shows it in its next update.

use portwatch_detect::{Alert, AlertUpdate, Change, State};

pub fn updates(alert: &Alert) -> Vec<AlertUpdate> {
    (0..alert.transitions.len())
        .map(|i| {
            let t = alert.transitions[i];
            let mut a = alert.clone();
            a.transitions.truncate(i + 1);
            a.state = t.state;
            if t.state != State::Closed {
                a.closed = None;
            }
            let change = if i == 0 {
                Change::Opened
            } else if t.reopened {
                Change::Reopened
            } else {
                Change::State(t.state)
            };
            AlertUpdate { change, alert: a }
        })
        .collect()
}

/// Advisories are written once an alert has been at its peak: a rising
/// alert may still turn out a blip.
pub fn reached_peak(alert: &Alert) -> bool {
    alert.transitions.iter().any(|t| t.state != State::Rising)
}
