//! Personal records: the calculator seam (native or WASM), the read model's
//! maintenance, and the PR report served by the API.

pub mod calculator;
pub mod read_model;
pub mod report;

pub use calculator::{NativePrCalculator, PrCalculator, PrCalculatorError};
