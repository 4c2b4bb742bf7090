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
    /// `analyze` stopped by Ctrl-C or SIGTERM before it finished (the
    /// shell's 128 + SIGINT).
    Interrupted = 130,
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

/// Ctrl-C and SIGTERM, caught from the moment this is made (inside a
/// runtime); [`Self::recv`] waits for the first.
pub struct Interrupts {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Interrupts {
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Interrupts { signals }
        }
        #[cfg(not(unix))]
        {
            Interrupts {}
        }
    }

    pub async fn recv(mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.signals {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
