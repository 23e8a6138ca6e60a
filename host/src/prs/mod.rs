//! Personal records: the calculator seam (native or WASM), the read model's
//! maintenance (all-time rows and day bests), and the PR report served by the API.

pub mod calculator;
pub mod day_bests;
pub mod read_model;
pub mod report;

pub use calculator::{NativePrCalculator, PrCalculator, PrCalculatorError};
