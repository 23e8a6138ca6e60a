//! What request handlers share: the back ends and settings, built once at
//! start-up.

use super::auth::Security;
use crate::domain::Catalogue;
use crate::domain::cursor::CursorKey;
use crate::domain::records::PrCalculator;
use crate::plugins::PluginHost;
use crate::queue::WriteQueue;
use crate::store::WorkoutStore;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppContext {
    pub store: Arc<dyn WorkoutStore>,
    /// Records of CSV imports (the same store as `store`).
    pub imports: Arc<dyn crate::store::ImportStore>,
    pub queue: Arc<dyn WriteQueue>,
    pub calculator: Arc<dyn PrCalculator>,
    pub catalogue: Arc<Catalogue>,
    pub cursor_key: CursorKey,
    /// Insight plugins (built-in and PLUGINS_DIR), hot-reloaded.
    pub plugins: Arc<PluginHost>,
    /// Access control: the master key, the API key store, rate limits, CORS.
    pub security: Arc<Security>,
    /// Renders the process's Prometheus metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}
