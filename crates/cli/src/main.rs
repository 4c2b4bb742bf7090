//! The `portwatch` command. It parses arguments, assembles options and hands
//! them to the library crates; errors become the exit codes documented in
//! the README:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | done |
//! | 1 | usage, configuration or store error |
//! | 2 | an input could not be read at all (missing, directory, empty, unknown format) |
//! | 3 | every input was read, but part of some input was bad (errors listed, good part kept) |

// The binary's job is to print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod advisory;
mod analyze;
mod args;
mod attrib;
mod chart;
mod detect;
mod enrich_config;
mod evidence;
mod exit;
mod output;
mod overlay;
mod payloads;
mod progress;
mod publish;
mod report;
mod run;
mod serve;
mod simulate;

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exit::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
            let _ = e.print();
            return code.into();
        }
    };
    // A long-running sensor logs what it does by default; one-shot
    // commands only warn.
    let (base, format) = match &cli.command {
        Command::Run(r) => (1, r.log_format),
        _ => (0, args::LogFormat::Text),
    };
    init_logging(cli.verbose + base, format);
    avoid_huge_pages();
    let result = match cli.command {
        Command::Analyze(a) => analyze::run(a),
        Command::Report(r) => report::run(r),
        Command::Alerts(a) => detect::run_alerts(a).map(|()| exit::Exit::Ok),
        Command::Serve(s) => serve::run(s),
        Command::Run(r) => run::run(r),
        Command::Advisory(a) => advisory::run(a),
        Command::Simulate(s) => simulate::run(s),
    };
    match result {
        Ok(code) => code.into(),
        Err(e) => {
            if exit::is_broken_pipe(&e) {
                // `portwatch report top | head` is not a failure.
                return Exit::Ok.into();
            }
            eprintln!("portwatch: error: {e:#}");
            Exit::Usage.into()
        }
    }
}

/// Asks the kernel for ordinary 4 KiB pages. mimalloc advises huge pages
/// for its arenas; on this project's virtual machines a 2 MiB page costs
/// about a millisecond to fault in and zero, and `analyze` on the benchmark
/// capture faulted 1.3 GB of them for a 310 MB peak: 5–15% of a one-core
/// run's CPU in alternating runs, and 85 MB more peak RSS with `--db`. The
/// working set is a few hundred megabytes of small tables, which huge pages
/// barely help.
fn avoid_huge_pages() {
    if let Err(e) = nix::sys::prctl::set_thp_disable(true) {
        tracing::debug!("could not turn transparent huge pages off: {e}");
    }
}

fn init_logging(verbose: u8, format: args::LogFormat) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        args::LogFormat::Text => fmt.try_init(),
        args::LogFormat::Json => fmt.json().try_init(),
    };
}
