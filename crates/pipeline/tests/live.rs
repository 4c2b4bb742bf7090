//! The live sensor against a real SQLite store: batches and checkpoints
//! committed together, numbering resumed, splits equal one aggregate, and
//! a followed log restarted without loss or double counting.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use portwatch_aggregate::{Observation, SeriesClass};
use portwatch_core::Timestamp;
use portwatch_fwlog::{LineOutcome, LogParser, ParseOptions};
use portwatch_pipeline::live::{
    FrameSource, Input, LiveConfig, LiveStats, LogSource, Sensor, SourceKind, register, spawn_log,
};
use portwatch_store::{Order, SqliteStore, Store, TimeRange, TopPortsQuery};

/// A netfilter line at second `t` of 2024-05-01 12:00 UTC.
fn line(t: u32, src: u8, port: u16) -> String {
    format!(
        "2024-05-01T12:{:02}:{:02}+00:00 fw kernel: DROP IN=eth0 OUT= SRC=192.0.2.{src} \
         DST=198.18.0.1 LEN=44 TTL=40 ID=1 PROTO=TCP SPT=40000 DPT={port} WINDOW=1024 RES=0x00 SYN URGP=0\n",
        t / 60,
        t % 60
    )
}

fn observations(lines: &[String]) -> Vec<Observation> {
    let mut p = LogParser::new(ParseOptions::new(Timestamp::from_secs(0)));
    lines
        .iter()
        .map(|l| match p.parse_line(l) {
            LineOutcome::Event(ev) => Observation::of(&ev),
            other => panic!("test line did not parse: {other:?}"),
        })
        .collect()
}

fn cfg() -> LiveConfig {
    LiveConfig {
        sensor: "t".into(),
        detect_interval_secs: 0,
        ..LiveConfig::default()
    }
}

async fn top(store: &dyn Store) -> Vec<(String, u64, u64)> {
    store
        .top_ports(&TopPortsQuery {
            class: SeriesClass::Probe,
            range: TimeRange::ALL,
            limit: 100,
            order: Order::Packets,
            proto: None,
        })
        .await
        .expect("top")
        .into_iter()
        .map(|p| (p.port.to_string(), p.packets, p.sources))
        .collect()
}

fn events(obs: Vec<Observation>, checkpoint: Option<(&str, &str)>) -> Input {
    Input::Events {
        source: 0,
        observations: obs,
        errors: Vec::new(),
        outcomes: Vec::new(),
        lines: 0,
        checkpoint: checkpoint.map(|(a, b)| (a.to_string(), b.to_string())),
    }
}

#[tokio::test]
async fn batches_carry_checkpoints_and_numbering_resumes() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("s.db");
    let lines: Vec<String> = (0..300)
        .map(|i| line(i, (i % 7) as u8, 23 + (i % 3) as u16))
        .collect();
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.expect("store"));
        let (mut sensor, handle) = Sensor::open(cfg(), store.clone(), None, 0)
            .await
            .expect("open");
        register(&handle, "log:x", SourceKind::Log);
        sensor.handle(
            events(observations(&lines[..100]), Some(("log:x", "100"))),
            0,
        );
        assert!(sensor.flush(0).await.expect("flush"));
        // Nothing new: no empty batch.
        assert!(!sensor.flush(0).await.expect("flush"));
        sensor.handle(
            events(observations(&lines[100..200]), Some(("log:x", "200"))),
            0,
        );
        // Dropped without a flush: a crash. Lines 100..200 are not committed
        // and neither is their checkpoint.
        assert_eq!(store.last_seq("live:t").await.expect("seq"), Some(0));
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.expect("reopen"));
    let (mut sensor, _handle) = Sensor::open(cfg(), store.clone(), None, 0)
        .await
        .expect("open");
    assert_eq!(sensor.checkpoint("log:x"), Some("100"));
    sensor.handle(
        events(observations(&lines[100..]), Some(("log:x", "300"))),
        0,
    );
    assert!(sensor.flush(0).await.expect("flush"));
    assert_eq!(store.last_seq("live:t").await.expect("seq"), Some(1));
    assert_eq!(store.checkpoints("live:t").await.expect("cp")[0].1, "300");

    // The oracle: the same lines aggregated in one piece.
    let one = SqliteStore::in_memory().await.expect("mem");
    let one: Arc<dyn Store> = Arc::new(one);
    let (mut s1, _h) = Sensor::open(cfg(), one.clone(), None, 0)
        .await
        .expect("open");
    s1.handle(events(observations(&lines), None), 0);
    s1.flush(0).await.expect("flush");
    let want = top(&*one).await;
    assert_eq!(want.iter().map(|p| p.1).sum::<u64>(), 300);
    assert_eq!(top(&*store).await, want);
}

#[tokio::test]
async fn a_second_writer_of_the_same_stream_is_refused() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let (mut a, _ha) = Sensor::open(cfg(), store.clone(), None, 0)
        .await
        .expect("a");
    let (mut b, _hb) = Sensor::open(cfg(), store.clone(), None, 0)
        .await
        .expect("b");
    a.handle(events(observations(&[line(1, 1, 80)]), None), 0);
    a.flush(0).await.expect("a flush");
    b.handle(events(observations(&[line(2, 1, 80)]), None), 0);
    let e = b.flush(0).await.expect_err("same seq").to_string();
    assert!(e.contains("another `portwatch run`"), "{e}");
}

#[tokio::test]
async fn the_clock_flushes_when_a_minute_closes() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let t0 = 1_714_564_800; // 2024-05-01 12:00 UTC
    let (mut s, _h) = Sensor::open(cfg(), store.clone(), None, t0 + 10)
        .await
        .expect("open");
    s.handle(events(observations(&[line(10, 1, 80)]), None), t0 + 10);
    s.tick(t0 + 64).await.expect("tick");
    assert_eq!(
        store.last_seq("live:t").await.expect("seq"),
        None,
        "lateness not over"
    );
    s.tick(t0 + 65).await.expect("tick");
    assert_eq!(store.last_seq("live:t").await.expect("seq"), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_log_restarts_without_loss_or_double_counting() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("fw.log");
    let db = dir.path().join("s.db");
    let lines: Vec<String> = (0..2000)
        .map(|i| line(i % 3600, (i % 50) as u8, 1000 + (i % 40) as u16))
        .collect();
    std::fs::write(&log, lines[..1200].concat()).expect("write");
    let src = LogSource {
        path: log.clone(),
        year: None,
        utc_offset_secs: 0,
        follow: portwatch_follow::FollowConfig {
            poll_interval: Duration::from_millis(20),
            max_lines_per_poll: 100,
            ..Default::default()
        },
        drop_log_outcomes: false,
    };
    for round in 0..2 {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).await.expect("store"));
        let live = LiveConfig {
            max_pending_events: 250,
            ..cfg()
        };
        let (sensor, handle) = Sensor::open(live, store.clone(), None, 0)
            .await
            .expect("open");
        let stop = Arc::new(AtomicBool::new(false));
        let saved = sensor.checkpoint(&src.name()).map(str::to_string);
        assert_eq!(saved.is_some(), round == 1);
        let thread =
            spawn_log(&handle, src.clone(), saved.as_deref(), stop.clone()).expect("follow");
        let stats = handle.stats.clone();
        drop(handle);
        let want = if round == 0 { 1200 } else { 800 };
        let task = tokio::spawn(sensor.run(async move {
            while stats.snapshot().sources[0].lines < want {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
        if round == 1 {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("append");
            f.write_all(lines[1200..].concat().as_bytes())
                .expect("append");
        }
        task.await.expect("join").expect("run");
        stop.store(true, Ordering::Relaxed);
        thread.join().expect("thread");
        drop(store);
    }
    let store = SqliteStore::open(&db).await.expect("store");
    let got: u64 = top(&store).await.iter().map(|p| p.1).sum();
    assert_eq!(got, 2000);
}

/// An Ethernet frame carrying an IPv4 TCP SYN from 192.0.2.`src` to
/// 198.18.0.1:`port`.
fn syn_frame(src: u8, port: u16) -> Vec<u8> {
    tcp_frame([192, 0, 2, src], 40000, [198, 18, 0, 1], port, 0x02)
}

/// A sensor over an in-memory store with one packet source feeding it,
/// and the sensor's health to watch.
async fn frame_sensor() -> (Arc<dyn Store>, Sensor, FrameSource, LiveStats) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let (sensor, handle) = Sensor::open(cfg(), store.clone(), None, 0)
        .await
        .expect("open");
    let source = FrameSource::new(&handle, "capture:test");
    let stats = handle.stats.clone();
    (store, sensor, source, stats)
}

/// (first contacts ok, failed) of `addr` in the store.
async fn first_contacts(store: &dyn Store, addr: [u8; 4]) -> (u64, u64) {
    let s = store
        .source(addr.into(), TimeRange::ALL)
        .await
        .expect("query")
        .expect("source seen");
    (s.first_contacts_ok, s.first_contacts_failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_from_a_packet_source_are_decoded_and_counted() {
    use portwatch_decode::LinkType;

    let (store, sensor, mut source, stats) = frame_sensor().await;
    let feeder = std::thread::spawn(move || {
        let t0 = Timestamp::from_secs(1_714_564_800);
        for i in 0..2500u32 {
            let frame = syn_frame((i % 100) as u8, 443 + (i % 2) as u16);
            source
                .push(LinkType::ETHERNET, t0, &frame, frame.len() as u32)
                .expect("sensor running");
        }
        // A frame cut inside its IP header: an error, not an event.
        let frame = syn_frame(1, 443);
        source
            .push(LinkType::ETHERNET, t0, &frame[..20], 20)
            .expect("running");
        // A frame truncated by the capture's snaplen.
        source
            .push(LinkType::ETHERNET, t0, &frame[..30], frame.len() as u32)
            .expect("running");
        source.set_drops(7);
        source.flush().expect("running");
    });
    let watch = stats.clone();
    let run = tokio::spawn(sensor.run(async move {
        while watch.snapshot().sources[0].events + watch.snapshot().sources[0].errors < 2502 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }));
    feeder.join().expect("feeder");
    run.await.expect("join").expect("run");
    let s = stats.snapshot();
    let src = &s.sources[0];
    assert_eq!(
        (src.name.as_str(), src.kind),
        ("capture:test", SourceKind::Packets)
    );
    assert_eq!((src.events, src.errors, src.drops), (2500, 2, 7));
    assert_eq!(
        top(&*store).await,
        // Even frames go to 443 from the even sources, odd to 444 from the odd.
        vec![
            ("443/tcp".to_string(), 1250, 50),
            ("444/tcp".to_string(), 1250, 50)
        ]
    );
    let totals = store.totals().await.expect("totals");
    assert_eq!(totals.counts.dropped_total(), 2);
}

/// An Ethernet frame with a 20-byte IPv4 header and a TCP header.
fn tcp_frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, flags: u8) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend([0x08, 0x00]);
    f.extend([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0]);
    f.extend(src);
    f.extend(dst);
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    f.extend(tcp);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_with_replies_gives_first_contact_outcomes() {
    use portwatch_decode::LinkType;
    const SYN: u8 = 0x02;
    const SYN_ACK: u8 = 0x12;
    const RST_ACK: u8 = 0x14;

    let (store, sensor, mut source, stats) = frame_sensor().await;
    // 192.0.2.9 knocks on port 23 of ten hosts: three accept, four reset,
    // three never answer. A client fetches twice from one server (one
    // first contact, answered).
    let scanner = [192, 0, 2, 9];
    let client = [192, 0, 2, 10];
    let host = |i: u8| [198, 18, 0, i];
    let feeder = std::thread::spawn(move || {
        let t0 = 1_714_564_800i64;
        let mut frames = Vec::new();
        for i in 1..=10u8 {
            frames.push((t0, tcp_frame(scanner, 40000, host(i), 23, SYN)));
            match i {
                1..=3 => frames.push((t0, tcp_frame(host(i), 23, scanner, 40000, SYN_ACK))),
                4..=7 => frames.push((t0, tcp_frame(host(i), 23, scanner, 40000, RST_ACK))),
                _ => {}
            }
        }
        for sport in [50000, 50001] {
            frames.push((t0 + 1, tcp_frame(client, sport, host(20), 443, SYN)));
            frames.push((t0 + 1, tcp_frame(host(20), 443, client, sport, SYN_ACK)));
        }
        // Ten seconds later: the unanswered SYNs have timed out.
        frames.push((t0 + 10, tcp_frame(client, 50002, host(21), 443, SYN)));
        for (t, frame) in &frames {
            source
                .push(
                    LinkType::ETHERNET,
                    Timestamp::from_secs(*t),
                    frame,
                    frame.len() as u32,
                )
                .expect("sensor running");
        }
        source.finish().expect("running");
        frames.len() as u64
    });
    let watch = stats.clone();
    let sent = feeder.join().expect("feeder");
    let run = tokio::spawn(sensor.run(async move {
        while watch.snapshot().sources[0].events < sent {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }));
    run.await.expect("join").expect("run");
    assert_eq!(first_contacts(&*store, scanner).await, (3, 7));
    // The second fetch is no new contact; the last SYN never got its
    // answer before the source ended.
    assert_eq!(first_contacts(&*store, client).await, (1, 1));
    // The answering hosts opened nothing.
    assert_eq!(first_contacts(&*store, host(1)).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_drop_log_gives_failed_first_contacts() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("fw.log");
    // 192.0.2.7 SYNs three addresses, one of them twice and one also on
    // another port; 192.0.2.8 sends an ACK (no attempt) and one SYN.
    let logged = |t: u32, src: u8, dst: u8, port: u16, flags: &str| {
        format!(
            "2024-05-01T12:00:{t:02}+00:00 fw kernel: DROP IN=eth0 OUT= SRC=192.0.2.{src} \
             DST=198.18.0.{dst} LEN=44 TTL=40 ID=1 PROTO=TCP SPT=40000 DPT={port} WINDOW=1024 RES=0x00 {flags} URGP=0\n"
        )
    };
    let lines = [
        logged(1, 7, 1, 23, "SYN"),
        logged(2, 7, 2, 23, "SYN"),
        logged(3, 7, 2, 23, "SYN"),
        logged(4, 7, 3, 23, "SYN"),
        logged(5, 7, 3, 2323, "SYN"),
        logged(6, 8, 1, 80, "ACK"),
        logged(7, 8, 1, 80, "SYN"),
    ];
    std::fs::write(&log, lines.concat()).expect("write");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let (sensor, handle) = Sensor::open(cfg(), store.clone(), None, 0)
        .await
        .expect("open");
    let src = LogSource {
        path: log,
        year: None,
        utc_offset_secs: 0,
        follow: portwatch_follow::FollowConfig {
            poll_interval: Duration::from_millis(20),
            ..Default::default()
        },
        drop_log_outcomes: true,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let thread = spawn_log(&handle, src, None, stop.clone()).expect("follow");
    let stats = handle.stats.clone();
    drop(handle);
    sensor
        .run(async move {
            while stats.snapshot().sources[0].lines < 7 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("run");
    stop.store(true, Ordering::Relaxed);
    thread.join().expect("thread");
    assert_eq!(first_contacts(&*store, [192, 0, 2, 7]).await, (0, 3));
    assert_eq!(first_contacts(&*store, [192, 0, 2, 8]).await, (0, 1));
}
