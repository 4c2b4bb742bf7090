//! Delivery through a real HTTP server on 127.0.0.1 that fails the first
//! attempts: retries with backoff, one acceptance per transition, and a
//! record of every attempt. Plus the JSON-lines sink.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use portwatch_detect::{AlertUpdate, Change, State};
use portwatch_publish::deliver::{EVENT_SCHEMA, Outcome};
use portwatch_publish::{JsonLines, Webhook, WebhookConfig, idempotency_key};
use support::alert_5168;

/// A receiver that fails the first `fail_first` requests with 503 (or
/// hangs, for timeouts), then accepts, counting each idempotency key once.
#[derive(Default)]
struct Receiver {
    requests: u32,
    fail_first: u32,
    hang_first: u32,
    reject_all: bool,
    accepted: HashMap<String, u32>,
    duplicates: u32,
    bodies: Vec<serde_json::Value>,
}

type Shared = Arc<Mutex<Receiver>>;

async fn hook(AxState(st): AxState<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let (n, hang, fail, reject) = {
        let mut r = st.lock().expect("lock");
        r.requests += 1;
        (r.requests, r.hang_first, r.fail_first, r.reject_all)
    };
    if n <= hang {
        tokio::time::sleep(Duration::from_secs(5)).await;
        return StatusCode::OK;
    }
    if reject {
        return StatusCode::BAD_REQUEST;
    }
    if n <= hang + fail {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut r = st.lock().expect("lock");
    match r.accepted.get_mut(key) {
        Some(c) => {
            *c += 1;
            r.duplicates += 1;
        }
        None => {
            r.accepted.insert(key.to_string(), 1);
            r.bodies
                .push(serde_json::from_str(&body).expect("JSON body"));
        }
    }
    StatusCode::OK
}

async fn serve(r: Receiver) -> (String, Shared) {
    let st: Shared = Arc::new(Mutex::new(r));
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(st.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), st)
}

fn cfg(url: String) -> WebhookConfig {
    WebhookConfig {
        url,
        max_attempts: 4,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        timeout: Duration::from_millis(500),
    }
}

fn updates() -> Vec<AlertUpdate> {
    let alert = alert_5168();
    let mut out = Vec::new();
    for (i, t) in alert.transitions.iter().enumerate() {
        let mut a = alert.clone();
        a.transitions.truncate(i + 1);
        a.state = t.state;
        let change = if i == 0 {
            Change::Opened
        } else {
            Change::State(t.state)
        };
        out.push(AlertUpdate { change, alert: a });
    }
    out
}

#[tokio::test]
async fn retries_until_accepted_exactly_once() {
    let (url, st) = serve(Receiver {
        fail_first: 2,
        ..Receiver::default()
    })
    .await;
    let hook = Webhook::new(cfg(url)).expect("webhook");
    let ups = updates();
    let first = hook.deliver(&ups[0]).await;
    assert_eq!(first.outcome, Outcome::Delivered, "{first:?}");
    assert_eq!(first.attempts.len(), 3);
    assert_eq!(first.attempts[0].status, Some(503));
    assert_eq!(first.attempts[0].backoff_ms, Some(20));
    assert_eq!(first.attempts[1].backoff_ms, Some(40));
    assert_eq!(first.attempts[2].status, Some(200));
    assert_eq!(
        first.idempotency_key,
        "369c41a8f157fde9-rising-2007-08-22T14:00:00Z"
    );

    // Every transition, and the first one again (a re-run after late data
    // re-announces it): the receiver accepts each transition once.
    for u in ups.iter().chain(std::iter::once(&ups[0])) {
        let rec = hook.deliver(u).await;
        assert_eq!(rec.outcome, Outcome::Delivered);
        assert_eq!(rec.idempotency_key, idempotency_key(u));
    }
    let r = st.lock().expect("lock");
    assert_eq!(r.accepted.len(), 4, "{:?}", r.accepted.keys());
    assert!(
        r.accepted
            .contains_key("369c41a8f157fde9-closed-2007-08-22T20:04:00Z")
    );
    assert_eq!(r.duplicates, 2, "the repeat of the first transition, twice");
    assert_eq!(r.requests, 2 + 1 + 5);
    assert_eq!(r.bodies[0]["schema"], "portwatch.alert/1");
    assert_eq!(r.bodies[3]["state"], "closed");
}

#[tokio::test]
async fn timeouts_are_retried_and_recorded() {
    let (url, st) = serve(Receiver {
        hang_first: 1,
        ..Receiver::default()
    })
    .await;
    let hook = Webhook::new(cfg(url)).expect("webhook");
    let rec = hook.deliver(&updates()[1]).await;
    assert_eq!(rec.outcome, Outcome::Delivered, "{rec:?}");
    assert_eq!(rec.attempts.len(), 2);
    assert!(
        rec.attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("timeout")),
        "{rec:?}"
    );
    assert_eq!(st.lock().expect("lock").accepted.len(), 1);
}

#[tokio::test]
async fn rejection_is_final_and_exhaustion_gives_up() {
    let (url, _st) = serve(Receiver {
        reject_all: true,
        ..Receiver::default()
    })
    .await;
    let rec = Webhook::new(cfg(url))
        .expect("webhook")
        .deliver(&updates()[0])
        .await;
    assert_eq!((rec.outcome, rec.attempts.len()), (Outcome::Rejected, 1));

    let (url, st) = serve(Receiver {
        fail_first: 100,
        ..Receiver::default()
    })
    .await;
    let rec = Webhook::new(cfg(url))
        .expect("webhook")
        .deliver(&updates()[0])
        .await;
    assert_eq!((rec.outcome, rec.attempts.len()), (Outcome::GaveUp, 4));
    assert_eq!(rec.attempts[3].backoff_ms, None);
    assert_eq!(st.lock().expect("lock").requests, 4);
    // The record is data the caller can store.
    let json = serde_json::to_value(&rec).expect("record json");
    assert_eq!(json["outcome"], "gave_up");

    // Nobody listening: connection errors, recorded.
    let rec = Webhook::new(cfg("http://127.0.0.1:9/hook".into()))
        .expect("webhook")
        .deliver(&updates()[0])
        .await;
    assert_eq!(rec.outcome, Outcome::GaveUp);
    assert!(rec.attempts.iter().all(|a| a.error.is_some()));
}

#[test]
fn json_lines_sink_writes_one_document_per_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("alerts.jsonl");
    let ups = updates();
    {
        let mut sink = JsonLines::append(&path).expect("open");
        for u in &ups {
            sink.send(u).expect("send");
        }
    }
    let mut sink = JsonLines::append(&path).expect("reopen appends");
    sink.send(&ups[3]).expect("send");
    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one document per line"))
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l["schema"] == EVENT_SCHEMA));
    assert_eq!(lines[0]["event"], "opened");
    assert_eq!(lines[2]["event"], "tapering");
    assert_eq!(lines[3]["alert"]["state"], "closed");
    assert_eq!(lines[3]["key"], lines[4]["key"]);
    assert_eq!(ups[3].alert.state, State::Closed);
    // Without attribution the alert is the alert document itself, field
    // for field and in its own order.
    assert!(text.contains(&format!("\"alert\":{}}}\n", ups[0].alert.to_json())));
    assert!(
        lines
            .iter()
            .all(|l| l["alert"].get("attribution").is_none())
    );
}

#[test]
fn attribution_goes_after_the_alert_fields() {
    let ups = updates();
    let attribution = serde_json::json!({"sources": {"sources": 3}});
    let mut sink = JsonLines::new(Vec::new(), "memory");
    sink.send_attributed(&ups[0], Some(&attribution))
        .expect("send");
    let text = String::from_utf8(sink.into_inner()).expect("utf-8");
    let alert = ups[0].alert.to_json();
    let inner = alert.strip_suffix('}').expect("an object");
    assert!(
        text.contains(&format!(
            "\"alert\":{inner},\"attribution\":{{\"sources\":{{\"sources\":3}}}}}}}}"
        )),
        "{text}"
    );
}
