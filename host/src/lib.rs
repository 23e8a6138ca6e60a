//! Everfit insights: log a client's workouts, read the history back, read
//! personal records.
//!
//! Layout: `domain` (pure rules and calculations), `store` (storage trait and
//! back ends), `queue` (the write path after validation), `prs` (the PR
//! calculator seam and read model), `plugins` (WebAssembly components: the PR
//! calculator and insight plugins), `http` (the API), `startup` (wiring),
//! `seed` (bulk demo data), `config` and `telemetry`.

pub mod config;
pub mod context;
pub mod domain;
pub mod http;
pub mod plugins;
pub mod prs;
pub mod queue;
pub mod seed;
pub mod startup;
pub mod store;
pub mod telemetry;
