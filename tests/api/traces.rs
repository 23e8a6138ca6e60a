//! Trace export: `everfit serve` with `OTEL_EXPORTER_OTLP_ENDPOINT` set
//! posts its spans as OTLP/HTTP to a collector, here a fake one that keeps
//! what it receives. The exporter is process-wide, so the server runs as
//! its own process (as an operator runs it).

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct ReceivedSpan {
    service: String,
    name: String,
    kind: i32,
    trace_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: Vec<KeyValue>,
}

impl ReceivedSpan {
    fn attribute(&self, key: &str) -> Option<String> {
        let value = self
            .attributes
            .iter()
            .find(|a| a.key == key)?
            .value
            .as_ref()?;
        match value.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            Value::IntValue(i) => Some(i.to_string()),
            other => Some(format!("{other:?}")),
        }
    }
}

type Received = Arc<Mutex<Vec<ReceivedSpan>>>;

/// A collector's OTLP/HTTP traces endpoint: decodes each export request.
async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut spans = received.lock().unwrap();
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                            Value::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            spans.push(ReceivedSpan {
                                service: service.clone(),
                                name: span.name,
                                kind: span.kind,
                                trace_id: span.trace_id,
                                parent_span_id: span.parent_span_id,
                                attributes: span.attributes,
                            });
                        }
                    }
                }
                ""
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, received)
}

// Multi-threaded: the collector must answer while the test waits for the
// server process to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_exported_as_spans_named_by_route_and_joined_to_the_callers_trace() {
    let (collector_url, received) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_everfit"))
        .current_dir(dir.path())
        .arg("serve")
        .env_clear()
        .env("SQLITE_PATH", dir.path().join("data/everfit.db"))
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_url)
        .env("OTEL_SERVICE_NAME", "everfit-under-test")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut address = None;
    let started = Instant::now();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
            && event["message"] == "everfit listening"
        {
            address = event["addr"].as_str().map(|a| format!("http://{a}"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no start");
    }
    // Keep reading stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let address = address.expect("the server said where it listens");

    let client = reqwest::Client::new();
    let user = "665f1c2b8a1e4d0000000001";
    let logged = client
        .post(format!("{address}/workouts"))
        .json(&serde_json::json!({
            "userId": user,
            "entries": [{"exerciseName": "Squat", "date": "2026-06-01", "sets": [{"reps": 5, "weight": 100, "unit": "kg"}]}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(logged.status(), 202);
    // A caller's W3C trace context: trace 4bf9..., its span 00f0....
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let read = client
        .get(format!("{address}/workouts/history?userId={user}"))
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    // The embedded queue's worker stores the entry: a job span of its own.
    let history_url = format!("{address}/workouts/history?userId={user}");
    crate::queue_support::eventually("the entry to be stored", Duration::from_secs(30), || {
        let (client, url) = (&client, &history_url);
        async move {
            let page: serde_json::Value =
                client.get(url).send().await.unwrap().json().await.unwrap();
            page["items"]
                .as_array()
                .is_some_and(|items| !items.is_empty())
        }
    })
    .await;
    let missing = client
        .get(format!("{address}/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // SIGTERM: a graceful stop sends the spans still buffered.
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");

    let spans = received.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name:?} among {names:?}"))
    };
    let post = find("POST /workouts");
    assert_eq!(post.service, "everfit-under-test");
    assert_eq!(post.kind, SpanKind::Server as i32);
    assert_eq!(post.attribute("http.route").as_deref(), Some("/workouts"));
    assert_eq!(
        post.attribute("http.response.status_code").as_deref(),
        Some("202")
    );

    let history = spans
        .iter()
        .find(|s| s.name == "GET /workouts/history" && !s.parent_span_id.is_empty())
        .unwrap_or_else(|| panic!("no span of the traced history read among {names:?}"));
    assert_eq!(
        hex(&history.trace_id),
        caller_trace,
        "joined the caller's trace"
    );
    assert_eq!(hex(&history.parent_span_id), caller_span);
    assert_eq!(
        history.attribute("http.response.status_code").as_deref(),
        Some("200")
    );
    // Without a traceparent a request starts its own trace.
    assert!(post.parent_span_id.is_empty(), "{post:?}");
    assert_ne!(hex(&post.trace_id), caller_trace);

    let job = find("job persist");
    assert_eq!(job.kind, SpanKind::Consumer as i32);

    // Unmatched paths share one name, so a scan cannot flood the trace store with names.
    let unmatched = find("GET unmatched");
    assert_eq!(
        unmatched.attribute("http.response.status_code").as_deref(),
        Some("404")
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
