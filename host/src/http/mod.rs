//! The HTTP API: routes, extractors, the error envelope, OpenAPI.

pub mod context;
pub mod dto;
pub mod edits;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod health;
pub mod history;
pub mod insights;
pub mod openapi;
pub mod params;
pub mod prs;
pub mod workouts;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{delete, get, post};
use context::AppContext;
use error::{ApiError, Code};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError as Error;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application router.
pub fn router(ctx: AppContext, request_timeout: Duration) -> Router {
    let api = Router::new()
        .route("/workouts", post(workouts::submit_workouts))
        .route("/workouts/history", get(history::history))
        .route("/workouts/prs", get(prs::personal_records))
        .route(
            "/workouts/{id}",
            get(workouts::get_workout)
                .put(edits::replace_workout)
                .delete(edits::delete_workout),
        )
        .route("/users/{userId}/workouts", delete(edits::erase_user))
        .route("/health", get(health::health))
        .route("/insights", get(insights::list_insights))
        .route("/insights/{plugin}", get(insights::run_insight))
        .route("/insights/{plugin}/chart.svg", get(insights::insight_chart))
        .with_state(ctx);

    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::ApiDoc::openapi()))
        .fallback(|| async { ApiError::not_found(Code::RouteNotFound, "Route not found") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            // Outermost first: the request id exists before tracing starts and
            // is echoed on every response, errors included.
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let request_id = request
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(axum::middleware::from_fn(envelope::render_errors))
                .layer(CatchPanicLayer::custom(envelope::panic_to_response))
                .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, request_timeout)),
        )
}
