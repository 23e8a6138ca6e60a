//! Everfit insights: log a client's workouts, read the history back, read
//! personal records.
//!
//! Layers, each depending only on those before it:
//!
//! 1. `domain`: values, rules and calculations; pure (no I/O, no clock, no
//!    environment).
//! 2. `store`: the storage trait and one implementation per back end.
//! 3. `prs`: the PR read model and day bests kept over the store, and the
//!    report the API presents.
//! 4. `queue`: the write path after validation (durable queues, workers).
//! 5. `plugins`: WebAssembly components (the PR calculator, insight plugins).
//! 6. `http`: the API.
//! 7. `startup`: configuration and wiring.
//! 8. `cli`: the `everfit` command (serve, worker, operator commands).

pub mod cli;
pub mod domain;
pub mod http;
pub mod plugins;
pub mod prs;
pub mod queue;
pub mod startup;
pub mod store;
