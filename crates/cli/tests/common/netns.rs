//! Helpers for the tests that build a network namespace joined to the
//! test's by a veth pair: who may, which tools are there, running the setup
//! commands, and tearing it all down however the test ends.

use std::process::{Child, Command, Stdio};

/// Whether the test runs as root (namespaces and veths need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Whether `tool` is on the PATH (by `command -v`, for tools with no
/// `--version`).
pub fn command_exists(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` (program and arguments) quietly; true if it succeeded.
pub fn sh(cmd: &[&str]) -> bool {
    Command::new(cmd[0])
        .args(&cmd[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes the namespace (and the veth pair with it) and stops the
/// processes however the test ends.
pub struct Cleanup {
    pub ns: String,
    pub children: Vec<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}
