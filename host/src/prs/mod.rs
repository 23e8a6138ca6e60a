//! Personal records over the store: keeping the read model and the day
//! bests current, serving ranges from the day bests, and the PR report the
//! API presents. The calculations themselves are in `domain::records`.

pub mod day_bests;
pub mod live;
pub mod read_model;
pub mod report;
