//! Integration tests: the real server on port 0, a fresh SQLite file per test,
//! driven over HTTP.

mod auth;
mod cli;
mod edits;
mod errors;
mod helpers;
mod history;
mod insights;
mod metrics;
mod plugins;
mod prs;
mod queue;
mod queue_support;
mod workouts;
