//! The follower against real files: append, half lines, rotation by rename,
//! copytruncate, restart from a saved position, huge lines. Exact counts.

#![allow(clippy::unwrap_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use portwatch_follow::{FollowConfig, Follower, Line, load_position, save_position};

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn lines(n: std::ops::Range<u32>, tag: &str) -> String {
    n.map(|i| format!("{tag} line {i}\n")).collect()
}

fn texts(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|l| String::from_utf8_lossy(&l.text).into_owned())
        .collect()
}

fn poll_all(f: &mut Follower) -> Vec<Line> {
    let mut all = Vec::new();
    loop {
        let batch = f.poll().unwrap();
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

#[test]
fn appends_and_half_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    let mut f = Follower::open(&log, FollowConfig::default(), None).unwrap();
    assert!(f.poll().unwrap().is_empty()); // not there yet
    append(&log, &lines(0..3, "a"));
    append(&log, "half a li");
    assert_eq!(
        texts(&f.poll().unwrap()),
        ["a line 0", "a line 1", "a line 2"]
    );
    assert!(f.poll().unwrap().is_empty());
    append(&log, "ne\n");
    assert_eq!(texts(&f.poll().unwrap()), ["half a line"]);
    assert_eq!(f.stats().lines, 4);
}

#[test]
fn rotation_by_rename_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    append(&log, &lines(0..100, "old"));
    let mut f = Follower::open(&log, FollowConfig::default(), None).unwrap();
    assert_eq!(poll_all(&mut f).len(), 100);
    // Written after our last read, then rotated: must still be read.
    append(&log, &lines(100..150, "old"));
    fs::rename(&log, dir.path().join("fw.log.1")).unwrap();
    // Moved away, not yet recreated: the follower waits on the old file.
    append(&dir.path().join("fw.log.1"), &lines(150..160, "old"));
    assert_eq!(poll_all(&mut f).len(), 60);
    append(&log, &lines(0..70, "new"));
    let got = poll_all(&mut f);
    assert_eq!(got.len(), 70);
    assert_eq!(texts(&got)[0], "new line 0");
    assert_eq!(f.stats().rotations, 1);
    assert_eq!(f.stats().lines, 230);
}

#[test]
fn rotation_between_polls_reads_old_tail_then_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    append(&log, &lines(0..10, "old"));
    let mut f = Follower::open(&log, FollowConfig::default(), None).unwrap();
    assert_eq!(poll_all(&mut f).len(), 10);
    append(&log, &lines(10..15, "old"));
    fs::rename(&log, dir.path().join("fw.log.1")).unwrap();
    append(&log, &lines(0..7, "new"));
    let got = texts(&poll_all(&mut f));
    assert_eq!(got.len(), 12);
    assert_eq!(got[4], "old line 14");
    assert_eq!(got[5], "new line 0");
}

#[test]
fn copytruncate_restarts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    append(&log, &lines(0..50, "before"));
    let mut f = Follower::open(&log, FollowConfig::default(), None).unwrap();
    assert_eq!(poll_all(&mut f).len(), 50);
    // copytruncate: copy away, empty in place, then the writer goes on.
    fs::copy(&log, dir.path().join("fw.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, &lines(0..5, "after"));
    let got = texts(&poll_all(&mut f));
    assert_eq!(
        got,
        (0..5)
            .map(|i| format!("after line {i}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(f.stats().truncations, 1);
}

#[test]
fn truncated_and_regrown_past_offset_is_still_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    append(&log, &lines(0..3, "short"));
    let mut f = Follower::open(&log, FollowConfig::default(), None).unwrap();
    assert_eq!(poll_all(&mut f).len(), 3);
    // Emptied and refilled beyond our offset before the next poll: only the
    // head fingerprint can tell.
    fs::write(&log, lines(0..40, "REPLACED")).unwrap();
    let got = poll_all(&mut f);
    assert_eq!(got.len(), 40);
    assert_eq!(f.stats().truncations, 1);
}

#[test]
fn restart_from_saved_position_counts_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    let state = dir.path().join("fw.pos");
    append(&log, &lines(0..20, "x"));
    append(&log, "partial");
    {
        let mut f = Follower::open(&log, FollowConfig::default(), None).unwrap();
        assert_eq!(poll_all(&mut f).len(), 20);
        save_position(&state, &f.position().unwrap()).unwrap();
    }
    append(&log, " now whole\n");
    append(&log, &lines(20..25, "x"));
    let saved = load_position(&state).unwrap();
    let mut f = Follower::open(&log, FollowConfig::default(), saved).unwrap();
    let got = texts(&poll_all(&mut f));
    assert_eq!(got.len(), 6);
    assert_eq!(got[0], "partial now whole");
    assert!(!state.with_extension("tmp").exists());
}

#[test]
fn restart_after_rotation_while_down_finishes_the_rotated_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    let state = dir.path().join("fw.pos");
    append(&log, &lines(0..30, "old"));
    {
        let mut f = Follower::open(&log, FollowConfig::default(), None).unwrap();
        assert_eq!(poll_all(&mut f).len(), 30);
        save_position(&state, &f.position().unwrap()).unwrap();
    }
    append(&log, &lines(30..33, "old"));
    fs::rename(&log, dir.path().join("fw.log-20260105")).unwrap();
    append(&log, &lines(0..4, "new"));
    let mut f = Follower::open(
        &log,
        FollowConfig::default(),
        load_position(&state).unwrap(),
    )
    .unwrap();
    let got = texts(&poll_all(&mut f));
    assert_eq!(got.len(), 7, "{got:?}");
    assert_eq!(got[0], "old line 30");
    assert_eq!(got[3], "new line 0");
    // Saved again and restarted with nothing new: nothing is repeated.
    save_position(&state, &f.position().unwrap()).unwrap();
    let mut again = Follower::open(
        &log,
        FollowConfig::default(),
        load_position(&state).unwrap(),
    )
    .unwrap();
    assert!(poll_all(&mut again).is_empty());
}

#[test]
fn huge_lines_are_cut_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    let cfg = FollowConfig {
        max_line_len: 1024,
        read_chunk: 4096,
        ..FollowConfig::default()
    };
    let mut f = Follower::open(&log, cfg.clone(), None).unwrap();
    append(&log, &"A".repeat(1_000_000));
    let first = f.poll().unwrap();
    assert_eq!(first.len(), 1);
    assert!(first[0].cut && first[0].text.len() == 1024);
    append(&log, &format!("{}\nok\n", "A".repeat(5000)));
    assert_eq!(texts(&f.poll().unwrap()), ["ok"]);
    let s = f.stats();
    assert_eq!(
        (s.lines, s.lines_cut, s.bytes_skipped),
        (2, 1, 1_005_000 - 1024)
    );
    // A restart inside the skipped tail does not hand out the tail as a line.
    let state = dir.path().join("pos");
    append(&log, &"B".repeat(3000));
    assert_eq!(f.poll().unwrap().len(), 1);
    save_position(&state, &f.position().unwrap()).unwrap();
    append(&log, "BBB\nlast\n");
    let mut g = Follower::open(&log, cfg, load_position(&state).unwrap()).unwrap();
    assert_eq!(texts(&poll_all(&mut g)), ["last"]);
}

#[test]
fn line_budget_per_poll() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fw.log");
    append(&log, &lines(0..2500, "n"));
    let cfg = FollowConfig {
        max_lines_per_poll: 1000,
        ..FollowConfig::default()
    };
    let mut f = Follower::open(&log, cfg, None).unwrap();
    let sizes: Vec<usize> = (0..4).map(|_| f.poll().unwrap().len()).collect();
    assert_eq!(sizes, [1000, 1000, 500, 0]);
}

#[test]
fn config_errors_name_the_key() {
    let err = toml_like_config("max_line_len = 0");
    assert!(err.contains("`max_line_len`"), "{err}");
}

fn toml_like_config(text: &str) -> String {
    let (key, value) = text.split_once(" = ").unwrap();
    let json = format!("{{\"{key}\": {value}}}");
    let cfg: FollowConfig = serde_json::from_str(&json).unwrap();
    cfg.validate().unwrap_err().to_string()
}
