//! Personal records over the store: settling writes into the read model and
//! the day bests (`settle`, grouped per key by `coalesce`), exact reads (`reads`), live computation
//! (`live`), rebuilds (`read_model`) and the report the API presents
//! (`report`). The calculations themselves are in `domain::records`.

pub mod coalesce;
pub mod live;
pub mod overview;
pub mod read_model;
pub mod reads;
pub mod report;
pub mod settle;
