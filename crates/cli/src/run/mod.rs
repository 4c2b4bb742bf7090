//! `portwatch run`: the long-running sensor. One config file assembles the
//! store, the honeypot, followed logs, detection, publishing and the HTTP
//! API around [`portwatch_pipeline::live::Sensor`]; Ctrl-C or SIGTERM
//! flushes the current minute and exits 0.

mod config;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, anyhow};
use portwatch_api::{ApiState, router};
use portwatch_capture::Capture;
use portwatch_honeypot::Honeypot;
use portwatch_payload::SignatureSet;
use portwatch_pipeline::live::{Sensor, now_secs, spawn_capture, spawn_honeypot, spawn_log};
use portwatch_store::{Store, open_store};
use tokio::sync::watch;

pub use config::{ApiSection, LogSection, RunPlan, RunSection, StoreSection, plan};

use crate::args::RunArgs;
use crate::exit::Exit;

pub fn run(a: RunArgs) -> anyhow::Result<Exit> {
    let plan = crate::detect::run_plan(&a.detect)?;
    let detect = crate::detect::config(&a.detect)?;
    let publish = crate::detect::publish_config(&a.detect)?;
    let attrib = crate::attrib::Attribution::from_config(a.detect.config.as_deref())?;
    let signatures = match &plan.signatures {
        Some(p) => SignatureSet::load(p),
        None => SignatureSet::builtin(),
    }
    .map_err(|e| anyhow!("payload signatures: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(plan, detect, publish, attrib, Arc::new(signatures)))?;
    Ok(Exit::Ok)
}

async fn serve(
    plan: RunPlan,
    detect: portwatch_detect::DetectConfig,
    publish: crate::publish::PublishConfig,
    attrib: crate::attrib::Attribution,
    signatures: Arc<SignatureSet>,
) -> anyhow::Result<()> {
    // Caught from here on: a Ctrl-C that comes once the API answers, but
    // before the sensor starts waiting for one, must still flush and exit
    // 0 instead of killing the process with the default action.
    let interrupts = crate::exit::Interrupts::new();
    if !plan.store.contains(':') || plan.store.starts_with("sqlite:") {
        std::fs::create_dir_all(&plan.state_dir).with_context(|| {
            format!(
                "state directory {}: cannot create",
                plan.state_dir.display()
            )
        })?;
    }
    let store: Arc<dyn Store> = Arc::from(
        open_store(&plan.store)
            .await
            .with_context(|| format!("store {}", plan.store))?,
    );
    let detect_on = plan.live.detect_interval_secs > 0;
    let (sensor, handle) = Sensor::open(
        plan.live.clone(),
        store.clone(),
        detect_on.then(|| detect.clone()),
        now_secs(),
    )
    .await?;
    tracing::info!(store = %plan.store, stream = sensor.stream(), "sensor starting");

    let mut honeypot = None;
    if let Some(cfg) = plan.honeypot.clone() {
        let (pot, events) = Honeypot::spawn(cfg, signatures)
            .await
            .context("starting the honeypot")?;
        let join = |addrs: &[std::net::SocketAddr]| {
            addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        tracing::info!(
            tcp = %join(pot.tcp_addrs()),
            udp = %join(pot.udp_addrs()),
            "honeypot listening"
        );
        spawn_honeypot(&handle, pot.monitor(), events);
        honeypot = Some(pot);
    }

    let stop_logs = Arc::new(AtomicBool::new(false));
    let mut captures = Vec::new();
    for cfg in &plan.captures {
        let iface = cfg.interface.clone();
        let (capture, packets) = Capture::start(cfg.clone())
            .with_context(|| format!("[[capture]] interface {iface}"))?;
        captures.push(
            spawn_capture(&handle, capture, packets, stop_logs.clone())
                .with_context(|| format!("starting the capture thread for {iface}"))?,
        );
    }
    let mut followers = Vec::new();
    for src in &plan.logs {
        let saved = sensor.checkpoint(&src.name()).map(str::to_string);
        followers.push(
            spawn_log(&handle, src.clone(), saved.as_deref(), stop_logs.clone())
                .with_context(|| format!("following {}", src.path.display()))?,
        );
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut api_task = None;
    if let Some(listen) = &plan.api {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("[api] listen {listen}: cannot listen there"))?;
        let addr = listener.local_addr().context("reading the API address")?;
        tracing::info!(addr = %format!("http://{addr}"), "API listening");
        let state = ApiState::new(store.clone(), detect.clone()).with_live(handle.stats.clone());
        let mut stop = stop_rx.clone();
        api_task = Some(tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router(state))
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "API server failed");
            }
        }));
    }

    let publisher = (!publish.is_off()).then(|| {
        let mut detections = sensor.detections();
        let store = store.clone();
        let (publish, detect, attrib) = (publish.clone(), detect.clone(), attrib.clone());
        tokio::spawn(async move {
            while detections.changed().await.is_ok() {
                let Some(d) = detections.borrow_and_update().clone() else {
                    continue;
                };
                match crate::publish::run(&*store, &publish, &detect, &attrib, &d.alerts).await {
                    Ok(p) => tracing::info!(
                        files = p.files.len(),
                        deliveries = p.deliveries.len(),
                        "published"
                    ),
                    Err(e) => tracing::warn!(error = %format!("{e:#}"), "publishing failed"),
                }
            }
        })
    });
    drop(handle);

    let summary = sensor.run(shutdown_signal(interrupts)).await;
    // Stop the sources and the API whatever happened to the sensor.
    stop_logs.store(true, Ordering::Relaxed);
    if let Some(pot) = honeypot {
        pot.shutdown();
    }
    let _ = stop_tx.send(true);
    if let Some(t) = api_task {
        let _ = t.await;
    }
    let summary = summary?;
    if let Some(p) = publisher {
        // The sensor is gone, so the publisher ends after publishing the
        // last detection (webhook retries are bounded by their config).
        let _ = p.await;
    }
    for f in followers {
        let _ = tokio::task::spawn_blocking(move || f.join()).await;
    }
    for c in captures {
        if let Ok(Ok(Err(e))) = tokio::task::spawn_blocking(move || c.join()).await {
            tracing::warn!(error = %e, "capture ended with an error");
        }
    }
    tracing::info!(
        batches = summary.batches,
        events = summary.events,
        last_seq = ?summary.last_seq,
        "stopped"
    );
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal(interrupts: crate::exit::Interrupts) {
    interrupts.recv().await;
    tracing::info!("shutdown requested: flushing");
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use portwatch_honeypot::HoneypotConfig;

    use crate::args::DetectArgs;

    fn args(path: &Path) -> DetectArgs {
        DetectArgs {
            config: Some(path.to_path_buf()),
            ..DetectArgs::default()
        }
    }

    #[test]
    fn the_example_run_config_parses_and_holds_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/run.example.toml");
        let file = crate::detect::run_plan(&args(&path)).expect("example config");
        let none = crate::detect::run_plan(&DetectArgs::default()).expect("defaults");
        assert_eq!(file.live, none.live);
        assert_eq!(file.honeypot, Some(HoneypotConfig::default()));
        assert_eq!(file.honeypot, none.honeypot);
        assert_eq!((&file.store, &file.api), (&none.store, &none.api));
        assert_eq!(file.store, "portwatch-state/portwatch.db");
        assert_eq!(file.api.as_deref(), Some("127.0.0.1:8780"));
        assert!(file.logs.is_empty());
        // The detection and publishing tables are shared with analyze.
        crate::detect::config(&args(&path)).expect("detect");
        crate::detect::publish_config(&args(&path)).expect("publish");
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(f.path(), text).expect("write");
        f
    }

    #[test]
    fn mistakes_are_refused_with_the_file_and_key() {
        for (text, want) in [
            ("[run]\nsensr = \"a\"\n", "sensr"),
            ("[run]\nsensor = \"a b\"\n", "sensor"),
            (
                "[api]\nlisten = \"127.0.0.1:8080\"\n",
                "also a honeypot port",
            ),
            ("[honeypot]\ntcp_ports = [\"9-8\"]\n", "9-8"),
            (
                "[[logs]]\npath = \"/x\"\nutc_offset = \"+99:00\"\n",
                "utc_offset",
            ),
            ("[[logs]]\nfile = \"/x\"\n", "file"),
        ] {
            let f = write(text);
            let e = format!(
                "{:#}",
                crate::detect::run_plan(&args(f.path())).expect_err(text)
            );
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.contains(&f.path().display().to_string()), "{text}: {e}");
        }
    }

    #[test]
    fn logs_and_a_disabled_honeypot_and_api() {
        let f = write(
            "[run]\nhoneypot = false\nstate_dir = \"/tmp/s\"\n[api]\nenabled = false\n\
             [[logs]]\npath = \"/var/log/kern.log\"\nyear = 2007\nutc_offset = \"+09:00\"\npoll_ms = 50\n",
        );
        let p = crate::detect::run_plan(&args(f.path())).expect("plan");
        assert!(p.honeypot.is_none() && p.api.is_none());
        assert_eq!(p.store, "/tmp/s/portwatch.db");
        assert_eq!(p.logs.len(), 1);
        assert_eq!(p.logs[0].year, Some(2007));
        assert_eq!(p.logs[0].utc_offset_secs, 9 * 3600);
        assert_eq!(p.logs[0].follow.poll_interval.as_millis(), 50);
        assert!(!p.logs[0].drop_log_outcomes);
        let f = write(
            "[enrich]
drop_log_outcomes = true
[[logs]]
path = \"/var/log/kern.log\"\n",
        );
        let p = crate::detect::run_plan(&args(f.path())).expect("plan");
        assert!(p.logs[0].drop_log_outcomes);
    }
}
