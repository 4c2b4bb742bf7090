//! Exit codes.

use std::process::ExitCode;

/// The documented exit codes (see the crate docs and the README). Errors
/// that end a command early (usage, configuration, store) exit with
/// [`Exit::Usage`]; input problems are reported and decide the code of a
/// command that ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Usage = 1,
    Unreadable = 2,
    Partial = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
