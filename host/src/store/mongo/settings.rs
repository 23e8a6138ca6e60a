//! Connection settings the store derives from `MONGODB_URI`. Pure.
//!
//! The driver has no client-side operation timeout (`timeoutMS` is refused
//! by its URI parser), so the store reads `timeoutMS` itself, removes it
//! before the driver parses the rest, and applies it to every operation: as
//! `maxTimeMS` on reads and aggregations (the server stops working) and as a
//! limit on the whole call, the wait for a pooled connection included.

use std::time::Duration;

/// Connections per server, unless the URI says otherwise (`maxPoolSize`).
pub const DEFAULT_MAX_POOL_SIZE: u32 = 32;
/// How long an operation waits for a reachable server before failing with
/// `Unavailable` (the driver's default is 30 s, far too long for a request).
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Each operation's limit unless the URI sets `timeoutMS`: well inside the
/// 30 s request timeout, so a saturated pool or a slow server is a 503 with
/// `Retry-After`, not a 408 after the client waited half a minute.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

const TIMEOUT_MS: &str = "timeoutMS";

/// `uri` without its `timeoutMS` option, and that option's value.
pub fn split_timeout_ms(uri: &str) -> Result<(String, Option<Duration>), String> {
    let Some((base, query)) = uri.split_once('?') else {
        return Ok((uri.to_string(), None));
    };
    let mut timeout = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key.eq_ignore_ascii_case(TIMEOUT_MS) {
            let ms: u64 = value.parse().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                format!("{TIMEOUT_MS}={value:?} must be a whole number of milliseconds above 0")
            })?;
            timeout = Some(Duration::from_millis(ms));
        } else {
            kept.push(pair);
        }
    }
    let uri = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((uri, timeout))
}

/// Day-summary writes in flight at once across the whole process (every
/// fold and rebuild share them): half the pool, so however many jobs fold
/// at once (16 days each times `WORKER_CONCURRENCY`), requests and the
/// other steps of those jobs still find a connection.
pub fn fan_out_permits(max_pool_size: u32) -> usize {
    (max_pool_size as usize / 2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_ms_is_taken_out_of_the_uri() {
        assert_eq!(
            split_timeout_ms("mongodb://h:1/db?timeoutMS=1500&maxPoolSize=8").unwrap(),
            (
                "mongodb://h:1/db?maxPoolSize=8".into(),
                Some(Duration::from_millis(1500))
            )
        );
        assert_eq!(
            split_timeout_ms("mongodb://u:p@h/?authMechanism=SCRAM-SHA-256&TIMEOUTMS=20").unwrap(),
            (
                "mongodb://u:p@h/?authMechanism=SCRAM-SHA-256".into(),
                Some(Duration::from_millis(20))
            )
        );
        assert_eq!(
            split_timeout_ms("mongodb://h/?timeoutMS=7").unwrap(),
            ("mongodb://h/".into(), Some(Duration::from_millis(7)))
        );
    }

    #[test]
    fn a_uri_without_timeout_ms_is_unchanged() {
        for uri in [
            "mongodb://h:27017",
            "mongodb://h/db?w=majority",
            "mongodb+srv://c.example.net/",
        ] {
            assert_eq!(split_timeout_ms(uri).unwrap(), (uri.to_string(), None));
        }
    }

    #[test]
    fn a_bad_timeout_ms_is_refused_with_its_name() {
        for bad in ["0", "-1", "soon", ""] {
            let err = split_timeout_ms(&format!("mongodb://h/?timeoutMS={bad}")).unwrap_err();
            assert!(err.contains("timeoutMS"), "{err}");
        }
    }

    #[test]
    fn fan_out_is_half_the_pool() {
        assert_eq!(fan_out_permits(DEFAULT_MAX_POOL_SIZE), 16);
        assert_eq!(fan_out_permits(1), 1);
        assert_eq!(fan_out_permits(100), 50);
    }
}
