//! Wiring: read the configuration, build the back ends from it, bind, serve,
//! stop. The outermost layer of the library: everything below receives its
//! settings as values.

pub mod config;
pub mod metrics;
pub mod server;
pub mod telemetry;

use crate::domain::Catalogue;
use crate::domain::cursor::CursorKey;
use crate::domain::records::PrCalculator;
use crate::http::auth::rate_limit::RateLimit;
use crate::http::auth::{Protection, Security};
use crate::http::context::AppContext;
use crate::plugins::{Limits, PluginEngine, PluginHost, WasmPrCalculator};
use crate::queue::redis::{RedisJobs, RedisQueueSettings};
use crate::queue::sqlite::{SqliteJobs, queue_path};
use crate::queue::worker::{WorkerDeps, WorkerSettings, WorkerSource, run_workers};
use crate::queue::{DurableQueue, InlineQueue, JobBackend, Persister, WriteQueue};
use crate::store::metered::MeteredStore;
use crate::store::{ApiKeyStore, ImportStore, MongoStore, SqliteStore, StoreError, WorkoutStore};
use anyhow::{Context, anyhow, bail};
use config::{Config, QueueKind};
use futures::FutureExt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Opens the configured store: MongoDB when `MONGODB_URI` is set, else the
/// SQLite file. Ready when it returns (MongoDB's indexes and one-time
/// migrations done).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn WorkoutStore>> {
    Ok(open_stores(config).await?.workouts)
}

/// One store, seen through each of its traits.
pub struct Stores {
    pub workouts: Arc<dyn WorkoutStore>,
    pub keys: Arc<dyn ApiKeyStore>,
    pub imports: Arc<dyn ImportStore>,
}

impl Stores {
    /// Both views of one store; every workout operation is metered.
    fn of<S: WorkoutStore + ApiKeyStore + ImportStore + 'static>(store: Arc<S>) -> Self {
        Self {
            workouts: Arc::new(MeteredStore::new(store.clone())),
            keys: store.clone(),
            imports: store,
        }
    }
}

/// Opens the configured store (as [`open_store`]) for workouts and API keys.
pub async fn open_stores(config: &Config) -> anyhow::Result<Stores> {
    if let Some(uri) = &config.mongodb_uri {
        return Ok(Stores::of(Arc::new(MongoStore::connect(uri).await?)));
    }
    open_sqlite(config).await
}

/// Opens the configured store for a command that only reads: MongoDB
/// creates no index and runs no migration (`serve` does).
pub async fn open_store_read_only(config: &Config) -> anyhow::Result<Arc<dyn WorkoutStore>> {
    if let Some(uri) = &config.mongodb_uri {
        let store = Arc::new(MongoStore::connect_read_only(uri).await?);
        return Ok(Stores::of(store).workouts);
    }
    Ok(open_sqlite(config).await?.workouts)
}

async fn open_sqlite(config: &Config) -> anyhow::Result<Stores> {
    let store = Arc::new(SqliteStore::open(&config.sqlite_path).await?);
    tracing::info!(path = %config.sqlite_path.display(), "using the embedded SQLite store");
    Ok(Stores::of(store))
}

/// Access control from the configuration, over the key store.
pub fn security(config: &Config, keys: Arc<dyn ApiKeyStore>) -> Security {
    let protection = match &config.master_key {
        Some(master) => Protection::Keys(master.clone()),
        None => Protection::Open,
    };
    Security {
        protection,
        keys,
        rate_limit: config
            .rate_limit
            .map(|l| RateLimit::new(l.per_second, l.burst)),
        cors: config.cors_origins.clone(),
    }
}

/// The store's preparation still running after `serve` opened it: its end.
pub type Preparation = Option<JoinHandle<Result<(), StoreError>>>;

/// Opens the configured store for `serve`: a reachable MongoDB is returned
/// at once and prepares its database in the background, so that the port
/// opens and `/health` answers "starting" (and the store 503) until it is
/// ready, however long a first index build takes.
pub async fn open_stores_serving(config: &Config) -> anyhow::Result<(Stores, Preparation)> {
    if let Some(uri) = &config.mongodb_uri {
        let store = MongoStore::open(uri, None).await?;
        let preparing = store.clone();
        let preparation = tokio::spawn(async move { preparing.prepare().await });
        return Ok((Stores::of(Arc::new(store)), Some(preparation)));
    }
    Ok((open_sqlite(config).await?, None))
}

/// The PR calculator the worker and the live path use: the built-in PR
/// component (`NativePrCalculator` stays for tests and comparison).
/// Compiling is CPU work, so it runs on a blocking thread; compiled
/// components are cached on disk.
pub async fn pr_calculator(config: &Config) -> anyhow::Result<Arc<dyn PrCalculator>> {
    let cache_dir = config.plugin_cache_dir.clone();
    tokio::task::spawn_blocking(move || {
        let engine = PluginEngine::new(Some(cache_dir))?;
        let calculator: Arc<dyn PrCalculator> = Arc::new(WasmPrCalculator::builtin(&engine)?);
        Ok(calculator)
    })
    .await?
}

/// The PR calculator and the insight plugins (built-in and PLUGINS_DIR),
/// sharing one engine: what the API needs.
pub async fn plugin_runtime(
    config: &Config,
) -> anyhow::Result<(Arc<dyn PrCalculator>, Arc<PluginHost>)> {
    let cache_dir = config.plugin_cache_dir.clone();
    let plugins_dir = config.plugins_dir.clone();
    let limits = Limits::INSIGHT.with_deadline(config.plugin_timeout);
    tokio::task::spawn_blocking(move || {
        let engine = PluginEngine::new(Some(cache_dir))?;
        let calculator: Arc<dyn PrCalculator> = Arc::new(WasmPrCalculator::builtin(&engine)?);
        let plugins = PluginHost::start(engine, plugins_dir, limits)?;
        Ok((calculator, plugins))
    })
    .await?
}

/// Opens the configured job queue (None for `inline`, which has no queue).
pub async fn open_job_source(config: &Config) -> anyhow::Result<Option<WorkerSource>> {
    match config.queue {
        QueueKind::Inline => Ok(None),
        QueueKind::Sqlite => {
            let path = queue_path(&config.sqlite_path);
            let jobs = SqliteJobs::open(&path)
                .await
                .with_context(|| format!("opening the embedded queue {}", path.display()))?;
            tracing::info!(path = %path.display(), "using the embedded SQLite queue");
            Ok(Some(WorkerSource::Sqlite(jobs)))
        }
        QueueKind::Redis => {
            let url = config
                .redis_url
                .clone()
                .context("QUEUE=redis needs REDIS_URL")?;
            let jobs = RedisJobs::connect(RedisQueueSettings {
                url,
                key_prefix: config.redis_key_prefix.clone(),
                claim_after: config.claim_after,
                max_deliveries: config.max_deliveries,
            })
            .await?;
            tracing::info!(prefix = %config.redis_key_prefix, "using the Redis queue");
            Ok(Some(WorkerSource::Redis(Box::new(jobs))))
        }
    }
}

impl WorkerSource {
    pub fn job_backend(&self) -> Arc<dyn JobBackend> {
        match self {
            WorkerSource::Sqlite(jobs) => Arc::new(jobs.clone()),
            WorkerSource::Redis(jobs) => Arc::new(jobs.as_ref().clone()),
        }
    }
}

/// Everything a request or command needs, plus the queue the workers read.
pub struct Built {
    pub ctx: AppContext,
    pub jobs: Option<WorkerSource>,
    pub preparation: Preparation,
}

pub async fn build(config: &Config) -> anyhow::Result<Built> {
    if config.cursor_secret_is_default && config.mongodb_uri.is_some() {
        tracing::warn!(
            "CURSOR_SECRET is not set: using the development default; set it in production"
        );
    }
    // The queue first: a bad queue setting should not leave a data file behind.
    let jobs = open_job_source(config).await?;
    let (
        Stores {
            workouts: store,
            keys,
            imports,
        },
        preparation,
    ) = open_stores_serving(config).await?;
    let (calculator, plugins) = plugin_runtime(config).await?;
    let queue: Arc<dyn WriteQueue> = match &jobs {
        None => Arc::new(InlineQueue::new(Persister::new(
            store.clone(),
            calculator.clone(),
        ))),
        Some(source) => Arc::new(DurableQueue::new(source.job_backend(), config.depth_limits)),
    };
    Ok(Built {
        ctx: AppContext {
            store,
            imports,
            queue,
            calculator,
            catalogue: Arc::new(Catalogue::builtin()),
            cursor_key: CursorKey::new(config.cursor_secret.as_bytes()),
            plugins,
            security: Arc::new(security(config, keys)),
            metrics: metrics::handle(),
        },
        jobs,
        preparation,
    })
}

/// What the workers need.
pub fn worker_deps(
    store: Arc<dyn WorkoutStore>,
    calculator: Arc<dyn PrCalculator>,
    source: &WorkerSource,
) -> WorkerDeps {
    WorkerDeps {
        persister: Persister::new(store, calculator),
        jobs: source.job_backend(),
        backoff: Default::default(),
    }
}

pub fn worker_settings(config: &Config) -> WorkerSettings {
    WorkerSettings {
        concurrency: config.worker_concurrency,
        queues: config.worker_queues.clone(),
        ..Default::default()
    }
}

/// Runs the workers alone (`everfit worker`) until `shutdown`.
pub async fn run_worker_process(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // No HTTP, no insight plugins: the store, the PR calculator and the queue.
    let Some(source) = open_job_source(&config).await? else {
        bail!(
            "QUEUE=inline has no queue to work on: set QUEUE=sqlite or QUEUE=redis (or REDIS_URL)"
        );
    };
    let store = open_store(&config).await?;
    let calculator = pr_calculator(&config).await?;
    let deps = worker_deps(store, calculator, &source);
    metrics::handle();
    let observers = observe(&config, &source).await?;
    let ran = run_workers(source, deps, worker_settings(&config), shutdown).await;
    observers.into_iter().for_each(|o| o.abort());
    ran
}

/// What keeps metrics current while a process serves or works: the
/// queue-depth gauges and, with `METRICS_ADDR`, the private listener.
async fn observe(
    config: &Config,
    source: &WorkerSource,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = vec![metrics::watch_queue_depths(
        source.job_backend(),
        std::time::Duration::from_secs(5),
    )];
    if let Some(addr) = &config.metrics_addr {
        tasks.push(metrics::serve_metrics(addr).await?);
    }
    Ok(tasks)
}

/// A bound, ready-to-serve application (the port is known before serving,
/// so tests can bind port 0).
pub struct Application {
    listener: TcpListener,
    ctx: AppContext,
    jobs: Option<WorkerSource>,
    preparation: Preparation,
    config: Config,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let Built {
            ctx,
            jobs,
            preparation,
        } = build(&config).await?;
        let addr = config.bind_address();
        let listener = TcpListener::bind(&addr).await.with_context(|| {
            format!("cannot listen on {addr}: set PORT (or HOST) to a free address")
        })?;
        Ok(Self {
            listener,
            ctx,
            jobs,
            preparation,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests
    /// and, when the workers run in this process, in-flight jobs.
    pub async fn run_until_stopped(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = crate::http::router(self.ctx.clone(), self.config.request_timeout);
        // The store may still be preparing: the workers start once it is
        // ready, and a failed preparation stops the server with its error.
        let preparation = self.preparation.take();
        let prepared = async move {
            match preparation {
                None => Ok(()),
                Some(task) => match task.await {
                    Ok(result) => result.map_err(|e| format!("{e:#}")),
                    Err(e) => Err(format!("the store preparation stopped: {e}")),
                },
            }
        }
        .boxed()
        .shared();
        let (stop_workers, workers_stopped) = tokio::sync::oneshot::channel::<()>();
        let workers = match (&self.jobs, self.config.embedded_workers) {
            (Some(source), true) => {
                let deps = worker_deps(self.ctx.store.clone(), self.ctx.calculator.clone(), source);
                let source = source.clone();
                let settings = worker_settings(&self.config);
                let prepared = prepared.clone();
                Some(tokio::spawn(async move {
                    let mut workers_stopped = workers_stopped;
                    tokio::select! {
                        ready = prepared => ready.map_err(|e| anyhow!(e))?,
                        _ = &mut workers_stopped => return Ok(()),
                    }
                    run_workers(source, deps, settings, async move {
                        let _ = workers_stopped.await;
                    })
                    .await
                }))
            }
            _ => None,
        };
        tracing::info!(
            addr = %self.local_addr(),
            queue = self.config.queue.as_str(),
            embedded_workers = workers.is_some(),
            "everfit listening"
        );
        let observers = match &self.jobs {
            Some(source) => observe(&self.config, source).await?,
            None => match &self.config.metrics_addr {
                Some(addr) => vec![metrics::serve_metrics(addr).await?],
                None => Vec::new(),
            },
        };
        // Hot reload of PLUGINS_DIR while serving.
        let plugin_watch = self
            .ctx
            .plugins
            .watch(crate::plugins::registry::POLL_INTERVAL);
        let failed = prepared.clone();
        let limits = server::ServerLimits {
            header_read_timeout: self.config.header_read_timeout,
            max_connections: self.config.max_connections,
            drain_timeout: self.config.request_timeout + std::time::Duration::from_secs(5),
        };
        let served = server::serve(self.listener, router, limits, async move {
            tokio::select! {
                _ = shutdown => {}
                Err(e) = failed => tracing::error!(error = %e, "the store could not be prepared; stopping"),
            }
        })
        .await;
        if let Some(watch) = plugin_watch {
            watch.abort();
        }
        observers.into_iter().for_each(|o| o.abort());
        tracing::info!("server stopped; in-flight requests finished");
        let _ = stop_workers.send(());
        if let Some(workers) = workers {
            workers.await??;
        }
        served?;
        if let Some(Err(e)) = prepared.now_or_never() {
            bail!("preparing the store: {e}");
        }
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
