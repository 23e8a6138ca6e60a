//! `/metrics`: scraped before and after a few requests of each kind, every
//! family the operations guide names must have moved.

use crate::helpers::*;
use crate::queue_support::*;
use everfit::startup::config::QueueKind;
use std::collections::HashMap;

per_store!(metrics_move_with_requests_jobs_prs_and_the_store,);

/// The value of each sample line (`name{labels} value`) of a scrape.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    samples(&r.text().await.unwrap())
}

/// The sum of the samples whose series starts with `name{` and holds every label.
fn total(samples: &HashMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            series.starts_with(&format!("{name}{{")) && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, v)| *v)
        .sum()
}

async fn metrics_move_with_requests_jobs_prs_and_the_store() {
    let app = spawn_app_with(|c| c.queue = QueueKind::Sqlite).await;
    let before = scrape(&app).await;
    let ids = app
        .log(USER, single("Bench Press", "2026-06-01", 5, 100, "kg"))
        .await;
    wait_for_drain(&app).await;
    app.get(&format!("/workouts/{}?userId={USER}", ids[0]))
        .await;
    app.get(&format!("/workouts/history?userId={USER}")).await;
    app.get(&format!(
        "/workouts/prs?userId={USER}&exercise=bench%20press"
    ))
    .await;
    app.get(&format!(
        "/insights/progress?userId={USER}&exercise=Bench%20Press"
    ))
    .await;
    app.get("/nowhere").await;
    let after = scrape(&app).await;
    let moved = |name: &str, labels: &[&str]| {
        let (b, a) = (total(&before, name, labels), total(&after, name, labels));
        assert!(a > b, "{name}{labels:?} did not move: {b} -> {a}");
    };
    moved(
        "http_requests_total",
        &["method=\"POST\"", "route=\"/workouts\"", "status=\"202\""],
    );
    moved(
        "http_requests_total",
        &["route=\"/workouts/{id}\"", "status=\"200\""],
    );
    moved(
        "http_requests_total",
        &["route=\"unmatched\"", "status=\"404\""],
    );
    moved(
        "http_request_duration_seconds_count",
        &["route=\"/workouts/history\""],
    );
    moved(
        "queue_jobs_total",
        &["queue=\"persist\"", "outcome=\"done\""],
    );
    moved("queue_jobs_total", &["queue=\"prs\"", "outcome=\"done\""]);
    moved("queue_job_duration_seconds_count", &["queue=\"prs\""]);
    moved("pr_reads_total", &["source=\"read-model\""]);
    moved(
        "plugin_calls_total",
        &["plugin=\"progress\"", "outcome=\"ok\""],
    );
    moved(
        "plugin_call_duration_seconds_count",
        &["plugin=\"progress\""],
    );
    // The metrics are the process's, shared by tests running at once: the
    // store's own label tells this test's writes apart.
    let (_, health) = app.get_json("/health").await;
    let backend = format!(
        "backend=\"{}\"",
        health["info"]["store"]["backend"].as_str().unwrap()
    );
    moved(
        "store_operation_duration_seconds_count",
        &[&backend, "operation=\"insert_entries\""],
    );
    moved(
        "store_operation_duration_seconds_count",
        &["operation=\"history\""],
    );
    // The queue depth gauges are set as the app starts, then every 5 s.
    for queue in ["persist", "prs"] {
        let series = format!("queue_depth{{queue=\"{queue}\"}}");
        assert!(after.contains_key(&series), "no {series}");
    }
    app.stop().await;
}
