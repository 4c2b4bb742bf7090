//! `portwatch advisory ALERT_ID`: one alert's advisory from the store, in
//! Markdown, HTML, JSON or STIX 2.1, target addresses masked unless
//! `--unmask` (rule 9).

use std::path::Path;

use anyhow::{Context, bail};
use portwatch_publish::{AdvisoryFormat, AdvisoryOptions, Masking, advisory, render};
use portwatch_store::AlertsQuery;

use crate::args::{AdvisoryArgs, AdvisoryFormatArg};
use crate::exit::Exit;

impl From<AdvisoryFormatArg> for AdvisoryFormat {
    fn from(f: AdvisoryFormatArg) -> Self {
        match f {
            AdvisoryFormatArg::Md => AdvisoryFormat::Markdown,
            AdvisoryFormatArg::Html => AdvisoryFormat::Html,
            AdvisoryFormatArg::Json => AdvisoryFormat::Json,
            AdvisoryFormatArg::Stix => AdvisoryFormat::Stix,
        }
    }
}

pub fn run(a: AdvisoryArgs) -> anyhow::Result<Exit> {
    // Settings first: a bad config file is reported before the store is read.
    let detect = crate::detect::config(&a.detect)?;
    let publish = crate::detect::publish_config(&a.detect)?;
    let attrib = crate::attrib::Attribution::from_config(a.detect.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (alert, evidence) = runtime.block_on(async {
        let store = crate::report::open_db(&a.db).await?;
        let records = store
            .alerts(&AlertsQuery {
                id: Some(a.id.clone()),
                ..AlertsQuery::default()
            })
            .await?;
        let Some(record) = records.first() else {
            bail!(
                "no alert {} in {} (`portwatch alerts --db {}` lists them)",
                a.id,
                a.db,
                a.db
            );
        };
        let alert = crate::detect::parse_alert(record)?;
        let evidence = crate::evidence::gather(store.as_ref(), &detect, &attrib, &alert).await?;
        Ok::<_, anyhow::Error>((alert, evidence))
    })?;
    let opts = AdvisoryOptions {
        publisher: publish.publisher.clone(),
        masking: if a.unmask {
            Masking::Unmasked
        } else {
            Masking::default()
        },
        ..AdvisoryOptions::builtin()
    };
    let mut text = render(&advisory(&alert, &evidence, &opts), a.format.into())?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match &a.out {
        Some(path) => {
            write_file(path, &text)?;
            eprintln!(
                "portwatch: advisory PW-{} written to {}",
                alert.id,
                path.display()
            );
        }
        None => crate::report::write_text(&text)?,
    }
    if a.unmask {
        eprintln!("portwatch: targets are NOT masked: for internal use only");
    }
    Ok(Exit::Ok)
}

/// Writes via a temporary file in the same directory and a rename, so a
/// reader (a web server publishing the directory) never sees half a file.
pub fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
