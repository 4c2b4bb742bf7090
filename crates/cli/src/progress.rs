//! A progress bar over bytes of input, on stderr when it is a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use portwatch_pipeline::Progress;

/// Polls the reader's byte counter on a ticker thread, so the hot path only
/// bumps an atomic.
pub struct Bar {
    current: Mutex<Option<(ProgressBar, Arc<AtomicBool>)>>,
}

impl Bar {
    /// A bar when stderr is a terminal and bars are wanted, else nothing.
    pub fn for_terminal(wanted: bool) -> Option<Arc<dyn Progress>> {
        (wanted && std::io::stderr().is_terminal()).then(|| {
            Arc::new(Bar {
                current: Mutex::new(None),
            }) as Arc<dyn Progress>
        })
    }
}

impl Progress for Bar {
    fn begin(&self, label: &str, total: Option<u64>, raw_bytes_read: Arc<AtomicU64>) {
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(label.to_string());
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (bar.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                b.set_position(raw_bytes_read.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        if let Ok(mut cur) = self.current.lock() {
            *cur = Some((bar, stop));
        }
    }

    fn end(&self, _label: &str) {
        if let Ok(mut cur) = self.current.lock()
            && let Some((bar, stop)) = cur.take()
        {
            stop.store(true, Ordering::Relaxed);
            bar.finish_and_clear();
        }
    }
}
