//! A sink writing one JSON document per line: a file to tail, or stdout to
//! pipe into something else.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use portwatch_detect::AlertUpdate;
use serde::Serialize;

use crate::PublishError;

/// Version tag of a line: `{"schema","key","event","alert"}`.
pub const EVENT_SCHEMA: &str = "portwatch.alert-event/1";

#[derive(Serialize)]
struct Line<'a> {
    schema: &'static str,
    key: String,
    event: String,
    alert: super::AlertDocument<'a>,
}

/// Writes each update as one line and flushes it, so a reader tailing the
/// file never sees half a document.
#[derive(Debug)]
pub struct JsonLines<W: Write> {
    out: W,
    name: String,
}

impl JsonLines<std::fs::File> {
    /// Appends to `path`, creating it.
    pub fn append(path: &Path) -> Result<Self, PublishError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| PublishError::Io {
                what: path.display().to_string(),
                source,
            })?;
        Ok(JsonLines {
            out: file,
            name: path.display().to_string(),
        })
    }
}

impl JsonLines<io::Stdout> {
    pub fn stdout() -> Self {
        JsonLines {
            out: io::stdout(),
            name: "stdout".into(),
        }
    }
}

impl<W: Write> JsonLines<W> {
    /// Any writer (tests, pipes); `name` appears in errors.
    pub fn new(out: W, name: impl Into<String>) -> Self {
        JsonLines {
            out,
            name: name.into(),
        }
    }

    pub fn send(&mut self, update: &AlertUpdate) -> Result<(), PublishError> {
        self.send_attributed(update, None)
    }

    /// [`Self::send`] with the attribution of the alert's sources in its
    /// document ([`super::alert_document`]).
    pub fn send_attributed(
        &mut self,
        update: &AlertUpdate,
        attribution: Option<&serde_json::Value>,
    ) -> Result<(), PublishError> {
        let line = Line {
            schema: EVENT_SCHEMA,
            key: super::idempotency_key(update),
            event: super::event_name(update),
            alert: super::alert_document(update, attribution),
        };
        let mut text = serde_json::to_string(&line)?;
        text.push('\n');
        let io = |source| PublishError::Io {
            what: self.name.clone(),
            source,
        };
        self.out.write_all(text.as_bytes()).map_err(io)?;
        self.out.flush().map_err(io)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
