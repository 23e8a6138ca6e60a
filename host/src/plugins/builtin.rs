//! The built-in components, embedded in the binary. They are built from
//! `plugins/guests` by `plugins/build.sh`, and CI checks that these committed
//! bytes equal a fresh build.

/// The PR plugin (`everfit:insights/pr`).
pub const PR_COMPONENT: &[u8] = include_bytes!("../../../plugins/dist/pr.wasm");

/// The progress insight plugin (`everfit:insights/insight`).
pub const PROGRESS_COMPONENT: &[u8] = include_bytes!("../../../plugins/dist/progress.wasm");

/// The built-in insights of interface 0.2.0, as (name, component): rep
/// maxes, weekly volume and hard sets per muscle group, training frequency
/// and consistency, the plateau detector.
pub const INSIGHTS_V0_2_0: &[(&str, &[u8])] = &[
    (
        "rep-max",
        include_bytes!("../../../plugins/dist/rep-max.wasm"),
    ),
    (
        "muscle-volume",
        include_bytes!("../../../plugins/dist/muscle-volume.wasm"),
    ),
    (
        "consistency",
        include_bytes!("../../../plugins/dist/consistency.wasm"),
    ),
    (
        "plateaus",
        include_bytes!("../../../plugins/dist/plateaus.wasm"),
    ),
];
