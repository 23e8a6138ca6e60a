//! Whether the MongoDB half of a suite runs: shared by `tests/store` and
//! `tests/api` (included with `#[path]`).
//!
//! `MONGODB_URI` set: it runs there. Unset: it prints `SKIPPED` and passes,
//! unless `MONGODB_REQUIRED=1` (set by `.ci/run` and the GitHub workflow),
//! which makes a missing server a failure instead of a quiet skip.

use std::io::Write;

/// The URI to run `test` against, or `None` (after saying so) when the
/// MongoDB half is skipped. Panics when MongoDB is required but not given.
pub fn mongodb_uri(suite: &str, test: &str) -> Option<String> {
    if let Some(uri) = std::env::var("MONGODB_URI")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return Some(uri);
    }
    if required() {
        panic!("MONGODB_REQUIRED is set but MONGODB_URI is not: {suite} cannot run {test}");
    }
    // Straight to stderr, past the test harness's capture, so a run
    // without MongoDB says so instead of looking fully green.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {suite} (MONGODB_URI not set): {test}"
    );
    None
}

/// `MONGODB_REQUIRED` is set to anything but empty, `0` or `false`.
pub fn required() -> bool {
    std::env::var("MONGODB_REQUIRED")
        .map(|v| !matches!(v.trim(), "" | "0" | "false"))
        .unwrap_or(false)
}

/// Whether `client` talks to MongoDB itself: it reports its `gitVersion`;
/// wire-compatible servers (DocumentDB on these machines) do not.
pub async fn is_mongodb_itself(client: &mongodb::Client) -> bool {
    let build = client
        .database("admin")
        .run_command(bson::doc! { "buildInfo": 1 })
        .await
        .expect("buildInfo");
    build.contains_key("gitVersion")
}
