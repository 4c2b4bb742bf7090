//! Helpers shared by the CLI tests: run the real binary, find shared data,
//! ask tshark; and, in `netns`, set up and tear down network namespaces.

#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

pub mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn portwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portwatch"))
}

/// Runs portwatch with `args`, returning (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = portwatch()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("portwatch runs");
    decode(out)
}

/// Sends `sig` (`-INT`, `-TERM`, ...) to `child`, as a user or a service
/// manager would.
pub fn send_signal(child: &std::process::Child, sig: &str) {
    let sent = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {sig} {}", child.id());
}

pub fn decode(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs portwatch and parses its stdout as JSON; panics with stderr on failure.
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value) {
    let (code, out, err) = run(args);
    let v = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}); exit {code}; stderr:\n{err}\nstdout:\n{out}"));
    (code, v)
}

/// ../shared/data/external, or $PORTWATCH_SHARED_DATA.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("PORTWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/external")
        });
    dir.is_dir().then_some(dir)
}

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs tshark on `file` with a display filter and returns one line per
/// packet with the requested fields, tab-separated.
pub fn tshark_fields(file: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n")
        .arg("-r")
        .arg(file)
        .arg("-Y")
        .arg(filter)
        .arg("-T")
        .arg("fields");
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.stderr(Stdio::null()).output().expect("tshark runs");
    assert!(out.status.success(), "tshark failed on {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn skip(why: &str) {
    eprintln!("skipped: {why}");
}
