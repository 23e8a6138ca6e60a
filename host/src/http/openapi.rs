//! The OpenAPI document, served at /openapi.json and browsed at /docs.

use super::{dto, edits, envelope, health, history, insights, prs, workouts};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Everfit insights API",
        description = "Log a client's workouts, read the history back, read personal records.\n\n\
            Every error has one shape (`ErrorEnvelope`). All times are UTC, ISO-8601. \
            Every response carries `x-request-id`.",
    ),
    paths(
        workouts::submit_workouts,
        workouts::get_workout,
        edits::replace_workout,
        edits::delete_workout,
        edits::erase_user,
        history::history,
        prs::personal_records,
        health::health,
        insights::list_insights,
        insights::run_insight,
        insights::insight_chart,
    ),
    components(schemas(
        dto::SubmitWorkoutsRequest, dto::NewEntryRequest, dto::NewSetRequest, dto::UnitCode,
        dto::SubmitWorkoutsResponse, dto::WorkoutView, dto::SetView, dto::HistoryResponse,
        dto::PrResponse, dto::PrWindowView, dto::RangeView, dto::HeaviestSetView,
        dto::HighestVolumeSetView, dto::BestOneRepMaxView, dto::DeltasView,
        dto::ReplaceWorkoutRequest, dto::EditResponse, dto::ErasureResponse,
        envelope::ErrorEnvelope, crate::domain::FieldError,
        insights::InsightListResponse, insights::InsightResponse,
        crate::plugins::insight::Descriptor, crate::plugins::insight::ParamSpec,
        crate::plugins::insight::ParamKind, crate::plugins::insight::InsightResult,
        crate::plugins::insight::Metric, crate::plugins::insight::Series,
        crate::plugins::insight::Point, crate::plugins::insight::Table,
        crate::plugins::registry::LoadProblem,
        health::HealthResponse, health::HealthInfo, health::ComponentHealth, crate::queue::QueueStatus,
    )),
    tags(
        (name = "workouts", description = "Log and read workouts"),
        (name = "personal records", description = "Heaviest set, highest-volume set, best estimated 1RM"),
        (name = "insights", description = "Insight plugins (WebAssembly components): list, run, chart"),
        (name = "operations", description = "Health"),
    )
)]
pub struct ApiDoc;
