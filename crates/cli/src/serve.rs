//! `portwatch serve`: the read-only HTTP API and metrics over a store.

use std::sync::Arc;

use anyhow::{Context, bail};
use portwatch_api::{ApiState, router};
use portwatch_store::{Store, open_store};

use crate::args::ServeArgs;
use crate::exit::Exit;

pub fn run(a: ServeArgs) -> anyhow::Result<Exit> {
    let detect = crate::detect::config(&a.detect)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        // Serving never creates a store: a mistyped path is an error.
        if !a.db.contains("://") && !std::path::Path::new(&a.db).exists() {
            bail!("{}: no such store (write one with `portwatch analyze --db {}`)", a.db, a.db);
        }
        let store: Arc<dyn Store> = Arc::from(open_store(&a.db).await?);
        // Caught before the port answers, so a client that stops the
        // server as soon as it can reach it still gets a clean stop.
        let interrupts = crate::exit::Interrupts::new();
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("--listen {}: cannot listen there", a.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        eprintln!(
            "portwatch: serving {} on http://{addr} (API under /api/v1, metrics at /metrics); Ctrl-C stops",
            a.db
        );
        axum::serve(listener, router(ApiState::new(store, detect)))
            .with_graceful_shutdown(interrupts.recv())
            .await
            .context("serving HTTP")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(Exit::Ok)
}
