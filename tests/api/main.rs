//! Integration tests: the real server on port 0, driven over HTTP. Each
//! test runs on a fresh SQLite file, and on a fresh MongoDB database when
//! `MONGODB_URI` is set (`backends`, `per_store!`).

#[macro_use]
mod backends;
mod app_page;
mod auth;
mod cli;
mod edits;
mod errors;
mod exercises;
mod hardening;
mod helpers;
mod history;
mod imports;
mod insights;
mod insights_v2;
mod metrics;
#[path = "../support/mongodb.rs"]
mod mongodb;
mod mongodb_start;
mod plugins;
mod prs;
mod queue;
mod queue_support;
mod traces;
mod wasi;
mod workouts;
