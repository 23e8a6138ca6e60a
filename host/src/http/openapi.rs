//! The OpenAPI document, served at /openapi.json and browsed at /docs.

use super::{
    dto, edits, envelope, exercises, export, health, history, insights, keys, prs, workouts,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The name of the bearer scheme in the document.
pub const BEARER: &str = "bearerAuth";

/// Declares `Authorization: Bearer` (API key, tenant token or master key)
/// and requires it everywhere but where a path says `security(())`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key, a tenant token (JWT), or the master key (see docs/security.md)",
                    ))
                    .build(),
            ),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            BEARER,
            Vec::<String>::new(),
        )]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Everfit insights API",
        description = "Log a client's workouts, read the history back, read personal records.\n\n\
            Every error has one shape (`ErrorEnvelope`). All times are UTC, ISO-8601. \
            Every response carries `x-request-id`.\n\n\
            Every route but /health needs `Authorization: Bearer <key>` when the server has a \
            master key: an API key, a tenant token, or the master key (\"Authorize\" above). \
            401 without it, 403 when it does not allow the route or the client, 429 over the rate limit.",
    ),
    paths(
        workouts::submit_workouts,
        workouts::get_workout,
        edits::replace_workout,
        edits::delete_workout,
        edits::erase_user,
        history::history,
        exercises::list_exercises,
        export::export_workouts,
        super::imports::create_import,
        super::imports::get_import,
        prs::personal_records,
        health::health,
        super::metrics::metrics,
        insights::list_insights,
        insights::run_insight,
        insights::insight_chart,
        keys::create_key,
        keys::list_keys,
        keys::get_key,
        keys::update_key,
        keys::delete_key,
    ),
    components(schemas(
        dto::SubmitWorkoutsRequest, dto::NewEntryRequest, dto::NewSetRequest, dto::UnitCode,
        dto::SubmitWorkoutsResponse, dto::WorkoutView, dto::SetView, dto::HistoryResponse,
        dto::PrResponse, dto::PrWindowView, dto::RangeView, dto::HeaviestSetView,
        dto::RepSetView, dto::RepMaxesView, dto::DayRepsView,
        dto::HighestVolumeSetView, dto::BestOneRepMaxView, dto::DeltasView,
        dto::ExercisesResponse, dto::ExerciseView, export::ExportFormatCode,
        dto::PrAnswer, dto::PrBoardResponse, dto::PrBoardRowView, dto::BoardSort,
        dto::ReplaceWorkoutRequest, dto::EditResponse, dto::ErasureResponse,
        envelope::ErrorEnvelope, crate::domain::FieldError,
        insights::InsightListResponse, insights::InsightResponse,
        crate::plugins::insight::Descriptor, crate::plugins::insight::ParamSpec,
        crate::plugins::insight::ParamKind, crate::plugins::insight::InsightResult,
        crate::plugins::insight::Metric, crate::plugins::insight::Series,
        crate::plugins::insight::Point, crate::plugins::insight::Table,
        crate::plugins::registry::LoadProblem,
        health::HealthResponse, health::HealthInfo, health::ComponentHealth, crate::queue::QueueStatus,
        super::imports::ImportView, crate::domain::import::RejectedRow,
        keys::KeyView, keys::KeyListResponse, keys::CreateKeyRequest, keys::UpdateKeyRequest,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "workouts", description = "Log and read workouts"),
        (name = "imports", description = "CSV imports (Strong, Hevy, this service's export)"),
        (name = "personal records", description = "Heaviest set, highest-volume set, best estimated 1RM"),
        (name = "insights", description = "Insight plugins (WebAssembly components): list, run, chart"),
        (name = "keys", description = "API keys (master key only)"),
        (name = "operations", description = "Health"),
    )
)]
pub struct ApiDoc;

/// The document as served: the generated one, tightened to what the server
/// accepts (see `openapi_strict`).
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    super::openapi_strict::tighten(&mut doc);
    doc
}

/// GET /openapi.json
/// The document as served: with the insight routes of the plugins
/// installed right now.
pub async fn serve_document(
    axum::extract::State(ctx): axum::extract::State<super::context::AppContext>,
) -> axum::Json<serde_json::Value> {
    let mut doc = document();
    let plugins: Vec<_> = ctx
        .plugins
        .registry()
        .plugins()
        .map(|p| p.descriptor().clone())
        .collect();
    super::openapi_plugins::add_plugin_paths(&mut doc, &plugins);
    axum::Json(doc)
}
