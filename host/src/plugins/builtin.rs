//! The built-in components, embedded in the binary. They are built from
//! `plugins/guests` by `plugins/build.sh`, and CI checks that these committed
//! bytes equal a fresh build.

/// The PR plugin (`everfit:insights/pr`).
pub const PR_COMPONENT: &[u8] = include_bytes!("../../../plugins/dist/pr.wasm");

/// The progress insight plugin (`everfit:insights/insight`).
pub const PROGRESS_COMPONENT: &[u8] = include_bytes!("../../../plugins/dist/progress.wasm");
