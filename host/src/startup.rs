//! Wiring: build the back ends from the configuration, bind, serve, stop.

use crate::config::{Config, QueueKind};
use crate::context::AppContext;
use crate::domain::Catalogue;
use crate::domain::cursor::CursorKey;
use crate::plugins::{PluginEngine, PluginHost, WasmPrCalculator};
use crate::prs::PrCalculator;
use crate::queue::{InlineQueue, Persister, WriteQueue};
use crate::store::{SqliteStore, WorkoutStore};
use anyhow::{Context, bail};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Opens the configured store: MongoDB when `MONGODB_URI` is set, else the SQLite file.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn WorkoutStore>> {
    if config.mongodb_uri.is_some() {
        bail!(
            "MONGODB_URI is set, but the MongoDB store is not built yet: unset MONGODB_URI to use the embedded SQLite store"
        );
    }
    let store = SqliteStore::open(&config.sqlite_path).await?;
    tracing::info!(path = %config.sqlite_path.display(), "using the embedded SQLite store");
    Ok(Arc::new(store))
}

/// The WebAssembly side (issue 4): the PR calculator used by the worker and
/// the live path (the built-in PR component; `NativePrCalculator` stays for
/// tests and comparison), and the insight plugins. Compiling is CPU work, so
/// it runs on a blocking thread; compiled components are cached on disk.
pub async fn plugin_runtime(
    config: &Config,
) -> anyhow::Result<(Arc<dyn PrCalculator>, Arc<PluginHost>)> {
    let cache_dir = config.plugin_cache_dir.clone();
    let plugins_dir = config.plugins_dir.clone();
    tokio::task::spawn_blocking(move || {
        let engine = PluginEngine::new(Some(cache_dir))?;
        let calculator: Arc<dyn PrCalculator> = Arc::new(WasmPrCalculator::builtin(&engine)?);
        let plugins = PluginHost::start(engine, plugins_dir)?;
        Ok((calculator, plugins))
    })
    .await?
}

/// Builds everything a request or command needs.
pub async fn build_context(config: &Config) -> anyhow::Result<AppContext> {
    if config.cursor_secret_is_default && config.mongodb_uri.is_some() {
        tracing::warn!(
            "CURSOR_SECRET is not set: using the development default; set it in production"
        );
    }
    if config.queue != QueueKind::Inline {
        bail!(
            "the {} queue is not built yet (QUEUE={0}, or REDIS_URL set without QUEUE, selects it): \
             unset them or set QUEUE=inline",
            config.queue.as_str()
        );
    }
    let store = open_store(config).await?;
    let (calculator, plugins) = plugin_runtime(config).await?;
    let persister = Persister::new(store.clone(), calculator.clone());
    let queue: Arc<dyn WriteQueue> = Arc::new(InlineQueue::new(persister));
    Ok(AppContext {
        store,
        queue,
        calculator,
        catalogue: Arc::new(Catalogue::builtin()),
        cursor_key: CursorKey::new(config.cursor_secret.as_bytes()),
        plugins,
    })
}

/// A bound, ready-to-serve application (the port is known before serving,
/// so tests can bind port 0).
pub struct Application {
    listener: TcpListener,
    ctx: AppContext,
    config: Config,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let ctx = build_context(&config).await?;
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr}: set PORT (or HOST) to a free address")
        })?;
        Ok(Self {
            listener,
            ctx,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = crate::http::router(self.ctx.clone(), self.config.request_timeout);
        tracing::info!(addr = %self.local_addr(), queue = self.config.queue.as_str(), "everfit listening");
        // Hot reload of PLUGINS_DIR while serving.
        let plugin_watch = self
            .ctx
            .plugins
            .watch(crate::plugins::registry::POLL_INTERVAL);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(watch) = plugin_watch {
            watch.abort();
        }
        served?;
        tracing::info!("server stopped; in-flight requests finished");
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested");
}
