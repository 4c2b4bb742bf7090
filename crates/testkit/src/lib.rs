//! Helpers the live tests of several crates share (capture, honeypot, the
//! CLI's namespace tests): whether this process may create network
//! namespaces and raw sockets, whether a tool is installed, and running a
//! setup command quietly. A dev-dependency only.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

/// Whether the process runs with an effective user id of 0, which network
/// namespaces, veth pairs and raw sockets need.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .is_some_and(|status| effective_uid_is_root(&status))
}

/// Reads the `Uid:` line of a `/proc/<pid>/status` (real, effective, saved
/// and filesystem ids): the effective one decides what the process may do.
fn effective_uid_is_root(status: &str) -> bool {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// Whether `tool` is an executable file in a directory of `PATH`.
pub fn command_exists(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| on_path(&path, tool))
}

fn on_path(path: &OsStr, tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path).any(|dir| {
        std::fs::metadata(Path::new(&dir).join(tool))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The tools of `tools` that are not installed.
pub fn missing<'a>(tools: &[&'a str]) -> Vec<&'a str> {
    tools
        .iter()
        .copied()
        .filter(|t| !command_exists(t))
        .collect()
}

/// Runs `cmd` (program and arguments) with its output discarded; true if
/// it ran and succeeded.
pub fn run_quiet(cmd: &[&str]) -> bool {
    let Some((program, args)) = cmd.split_first() else {
        return false;
    };
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_uid_decides() {
        let status = |ids: &str| format!("Name:\tx\nUid:\t{ids}\nGid:\t0\t0\t0\t0\n");
        assert!(effective_uid_is_root(&status("0\t0\t0\t0")));
        // A setuid-root program run by a user: root in effect.
        assert!(effective_uid_is_root(&status("1000\t0\t0\t0")));
        // Root that dropped its effective id: not root.
        assert!(!effective_uid_is_root(&status("0\t1000\t1000\t1000")));
        assert!(!effective_uid_is_root("Name:\tx\n"));
    }

    #[test]
    fn tools_are_found_on_the_path_only_when_executable() {
        let dir = std::env::temp_dir().join(format!("pw-testkit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let write = |name: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.join(name);
            std::fs::write(&p, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        write("pw-tool", 0o755);
        write("pw-data", 0o644);
        let path =
            std::env::join_paths(["/nonexistent", dir.to_str().expect("utf-8")]).expect("path");
        assert!(on_path(&path, "pw-tool"));
        assert!(!on_path(&path, "pw-data"));
        assert!(!on_path(&path, "pw-absent"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn run_quiet_reports_success_and_failure() {
        assert!(run_quiet(&["true"]));
        assert!(!run_quiet(&["false"]));
        assert!(!run_quiet(&["/nonexistent/pw-program"]));
        assert!(!run_quiet(&[]));
    }
}
