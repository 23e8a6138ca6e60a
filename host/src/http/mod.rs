//! The HTTP API: routes, extractors, the error envelope, access control, OpenAPI.

pub mod app;
pub mod auth;
pub mod context;
pub mod dto;
pub mod edits;
pub mod envelope;
pub mod error;
pub mod exercises;
pub mod export;
pub mod extract;
pub mod health;
pub mod history;
pub mod imports;
pub mod insights;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod openapi_plugins;
pub mod openapi_strict;
pub mod params;
pub mod prs;
pub mod trace_context;
pub mod workouts;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, header};
use axum::routing::{delete, get, post};
use context::AppContext;
use error::{ApiError, Code};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError as Error;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application router.
///
/// Every route but /health, /docs, /openapi.json and the client page
/// (/app) is behind
/// `auth::authenticate`; each handler declares the action it needs with
/// `auth::Authorized<needs::X>` (or `auth::MasterOnly`).
pub fn router(ctx: AppContext, request_timeout: Duration) -> Router {
    let protected = Router::new()
        .route("/workouts", post(workouts::submit_workouts))
        .route("/workouts/history", get(history::history))
        .route("/workouts/exercises", get(exercises::list_exercises))
        .route("/workouts/export", get(export::export_workouts))
        .route("/workouts/prs", get(prs::personal_records))
        .route(
            "/workouts/{id}",
            get(workouts::get_workout)
                .put(edits::replace_workout)
                .delete(edits::delete_workout),
        )
        .route("/imports", post(imports::create_import))
        .route("/imports/{id}", get(imports::get_import))
        .route("/users/{userId}/workouts", delete(edits::erase_user))
        .route("/insights", get(insights::list_insights))
        .route("/insights/{plugin}", get(insights::run_insight))
        .route("/insights/{plugin}/chart.svg", get(insights::insight_chart))
        .route("/metrics", get(metrics::metrics))
        .route("/keys", post(keys::create_key).get(keys::list_keys))
        .route(
            "/keys/{uid}",
            get(keys::get_key)
                .patch(keys::update_key)
                .delete(keys::delete_key),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            auth::authenticate,
        ));
    let cors = auth::headers::cors_layer(&ctx.security.cors);
    let api = Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::serve_document))
        .merge(protected)
        .merge(app::routes())
        .with_state(ctx);

    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .fallback(|| async { ApiError::not_found(Code::RouteNotFound, "Route not found") })
        // Per route (the matched template is known here), fallback included.
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            // Outermost first: credentials are redacted before anything can
            // log them; the request id exists before tracing starts and is
            // echoed on every response, errors included; CORS and the
            // security headers also reach error responses.
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                ]))
                .layer(axum::middleware::from_fn(|request, next| {
                    limits::sanitize_request_id(REQUEST_ID, request, next)
                }))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let request_id = request
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        let span = tracing::info_span!(
                            "request",
                            method = %request.method(),
                            uri = %request.uri(),
                            request_id,
                            caller = tracing::field::Empty,
                            "otel.kind" = "server",
                            "otel.status_code" = tracing::field::Empty,
                            "http.route" = tracing::field::Empty,
                            "http.response.status_code" = tracing::field::Empty,
                        );
                        trace_context::continue_caller_trace(&span, request.headers());
                        span
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(cors)
                .layer(axum::middleware::from_fn(auth::headers::security_headers))
                .layer(axum::middleware::from_fn(envelope::render_errors))
                .layer(axum::middleware::from_fn(limits::check_request_size))
                .layer(CatchPanicLayer::custom(envelope::panic_to_response))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    request_timeout,
                )),
        )
}
