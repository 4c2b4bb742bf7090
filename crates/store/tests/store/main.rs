//! The store's behaviour through its public API: against a model, exactly
//! once under duplicates and failures, late data, and opening files.

mod deliveries;
mod events;
mod files;
mod late;
mod live;
mod model;
mod once;
mod props;
mod ranking;
