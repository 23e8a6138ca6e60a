//! Configuration: read once at start-up from the environment (and `.env`),
//! validated with every problem reported, then passed down as values.
//!
//! [`VARIABLES`] is the one list of what can be set: `everfit serve --help`
//! prints it and `docs/configuration.md` documents it (a test keeps the two
//! in step).

use crate::domain::access::MasterKey;
use crate::http::auth::headers::CorsOrigins;
use crate::queue::QueueName;
use crate::queue::backpressure::DepthLimits;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    /// Persist before answering (no queue). Durable, simplest, slowest POST.
    Inline,
    /// Durable embedded queue next to the SQLite data file (apalis-sqlite).
    Sqlite,
    /// Redis Streams: the production queue.
    Redis,
}

impl QueueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueKind::Inline => "inline",
            QueueKind::Sqlite => "sqlite",
            QueueKind::Redis => "redis",
        }
    }
}

/// `EVERFIT_ENV`: production refuses to start without its secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Requests per second and burst, per API key (per address when unauthenticated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

pub const DEFAULT_RATE_LIMIT: RateLimitSettings = RateLimitSettings {
    per_second: NonZeroU32::new(50).expect("non-zero"),
    burst: NonZeroU32::new(100).expect("non-zero"),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// One environment variable: its name, default and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Every variable the service reads.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "EVERFIT_ENV",
        default: "development",
        meaning: "development or production (production refuses to start without MASTER_KEY and CURSOR_SECRET)",
    },
    Variable {
        name: "MASTER_KEY",
        default: "unset",
        meaning: "16+ bytes; turns access control on: API keys required on every route but /health, /docs, /openapi.json and the client page /app",
    },
    Variable {
        name: "CORS_ORIGINS",
        default: "*",
        meaning: "origins allowed to call the API from a browser: * or a comma-separated list",
    },
    Variable {
        name: "RATE_LIMIT_PER_SECOND",
        default: "50",
        meaning: "requests per second per API key (without a master key: per remote address, this machine unlimited); 0: off",
    },
    Variable {
        name: "RATE_LIMIT_BURST",
        default: "100",
        meaning: "requests a key may send at once before the per-second rate applies",
    },
    Variable {
        name: "HOST",
        default: "127.0.0.1",
        meaning: "address or host name to bind (0.0.0.0 in containers)",
    },
    Variable {
        name: "PORT",
        default: "3000",
        meaning: "port (0 picks a free one)",
    },
    Variable {
        name: "SQLITE_PATH",
        default: "./data/everfit.db",
        meaning: "the embedded store; its folder is created if missing",
    },
    Variable {
        name: "MONGODB_URI",
        default: "unset",
        meaning: "selects the MongoDB store (mongodb:// or mongodb+srv://; the database is the URI's path, else everfit; timeoutMS limits each operation, default 5000)",
    },
    Variable {
        name: "QUEUE",
        default: "sqlite (redis when REDIS_URL is set)",
        meaning: "write path: sqlite (durable embedded queue), redis, or inline (persist before answering)",
    },
    Variable {
        name: "REDIS_URL",
        default: "unset",
        meaning: "the Redis server of the queue (redis:// or rediss://); setting it alone selects QUEUE=redis",
    },
    Variable {
        name: "REDIS_KEY_PREFIX",
        default: "everfit",
        meaning: "prefix of the queue's Redis keys, so deployments can share a server",
    },
    Variable {
        name: "EMBEDDED_WORKERS",
        default: "true",
        meaning: "whether serve also runs the queue workers (false when `everfit worker` runs them)",
    },
    Variable {
        name: "WORKER_CONCURRENCY",
        default: "4",
        meaning: "jobs run at once per queue in each worker process (1-256)",
    },
    Variable {
        name: "WORKER_QUEUES",
        default: "persist,prs",
        meaning: "the queues a worker process works (persist stores writes, prs settles PRs), so they scale apart",
    },
    Variable {
        name: "QUEUE_CLAIM_AFTER_SECS",
        default: "30",
        meaning: "Redis: an unacknowledged delivery this old belongs to a dead worker and is taken over",
    },
    Variable {
        name: "QUEUE_MAX_DELIVERIES",
        default: "5",
        meaning: "Redis: deliveries of a failing job before it goes to the dead-letter list",
    },
    Variable {
        name: "QUEUE_MAX_PERSIST_DEPTH",
        default: "5000",
        meaning: "writes are refused (503 queue_backlogged, Retry-After) while the persist queue holds this many jobs (about 10 s of work); 0: never",
    },
    Variable {
        name: "QUEUE_MAX_PRS_DEPTH",
        default: "20000",
        meaning: "writes are refused while the PR queue holds this many jobs; 0: never",
    },
    Variable {
        name: "CURSOR_SECRET",
        default: "development default",
        meaning: "signs pagination cursors (16+ characters); share it between instances",
    },
    Variable {
        name: "REQUEST_TIMEOUT_SECS",
        default: "30",
        meaning: "per-request timeout (408 in the error envelope)",
    },
    Variable {
        name: "HEADER_READ_TIMEOUT_SECS",
        default: "30",
        meaning: "time a client has to send a request's headers, and the longest a connection may sit idle",
    },
    Variable {
        name: "MAX_CONNECTIONS",
        default: "4096",
        meaning: "connections served at once; more wait in the listen backlog",
    },
    Variable {
        name: "LOG_FORMAT",
        default: "pretty",
        meaning: "pretty (colours only on a terminal) or json",
    },
    Variable {
        name: "RUST_LOG",
        default: "info,sqlx=warn",
        meaning: "log filter",
    },
    Variable {
        name: "METRICS_ADDR",
        default: "unset",
        meaning: "also serve GET /metrics without credentials on this address (host:port), for a scraper on a private network; never publish it",
    },
    Variable {
        name: "OTEL_EXPORTER_OTLP_ENDPOINT",
        default: "unset",
        meaning: "exports traces (one span per request and per job) as OTLP over HTTP/protobuf to this collector base URL (http://host:4318; /v1/traces is appended); unset: no export",
    },
    Variable {
        name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        default: "unset",
        meaning: "the full traces URL instead (used as given; wins over OTEL_EXPORTER_OTLP_ENDPOINT)",
    },
    Variable {
        name: "OTEL_EXPORTER_OTLP_PROTOCOL",
        default: "http/protobuf",
        meaning: "only http/protobuf is built in; any other value is refused at start (as is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL)",
    },
    Variable {
        name: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        default: "http/protobuf",
        meaning: "as OTEL_EXPORTER_OTLP_PROTOCOL, for traces only",
    },
    Variable {
        name: "OTEL_SERVICE_NAME",
        default: "everfit",
        meaning: "service.name of the exported spans",
    },
    Variable {
        name: "OTEL_TRACES_EXPORTER",
        default: "otlp",
        meaning: "none turns the export off even with an endpoint set (as does OTEL_SDK_DISABLED=true)",
    },
    Variable {
        name: "OTEL_SDK_DISABLED",
        default: "false",
        meaning: "true turns the trace export off",
    },
    Variable {
        name: "PLUGINS_DIR",
        default: "unset",
        meaning: "folder of third-party insight plugins (*.wasm), watched; unset: built-in plugins only",
    },
    Variable {
        name: "PLUGIN_CACHE_DIR",
        default: "plugin-cache next to SQLITE_PATH",
        meaning: "compiled-plugin cache (writable by the service only)",
    },
    Variable {
        name: "PLUGIN_TIMEOUT_MS",
        default: "1000",
        meaning: "wall-clock budget of one insight plugin call, in ms (1-60000); past it the call answers 504 plugin_timeout",
    },
];

#[derive(Debug, Clone)]
pub struct Config {
    /// An IP address or a host name (resolved when binding).
    pub host: String,
    pub port: u16,
    pub sqlite_path: PathBuf,
    pub queue: QueueKind,
    pub redis_url: Option<String>,
    pub mongodb_uri: Option<String>,
    pub log_format: LogFormat,
    /// Signs pagination cursors. Instances behind one load balancer must share it.
    pub cursor_secret: String,
    /// Whether the cursor secret is the built-in development default.
    pub cursor_secret_is_default: bool,
    pub request_timeout: Duration,
    /// What the HTTP server allows each connection.
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// Key prefix of the Redis queue's streams.
    pub redis_key_prefix: String,
    /// Whether `serve` runs the workers in its own process.
    pub embedded_workers: bool,
    /// Jobs run at once per queue and worker process.
    pub worker_concurrency: usize,
    /// The queues the workers of this process work.
    pub worker_queues: Vec<QueueName>,
    /// Depths past which writes are refused.
    pub depth_limits: DepthLimits,
    /// An unacknowledged Redis delivery older than this is taken over.
    pub claim_after: Duration,
    /// Deliveries (Redis) before a failing job goes to the dead-letter list.
    pub max_deliveries: u64,
    /// A private address serving `/metrics` without credentials.
    pub metrics_addr: Option<String>,
    /// Folder of third-party insight plugins (`*.wasm`), watched for changes.
    /// Unset (the default): only the built-in plugins run.
    pub plugins_dir: Option<PathBuf>,
    /// Where compiled plugins are cached (default: `plugin-cache` next to the SQLite file).
    pub plugin_cache_dir: PathBuf,
    /// Wall-clock budget of one insight plugin call.
    pub plugin_timeout: Duration,
    pub environment: Environment,
    /// Access control is on when set (redacted in `Debug`).
    pub master_key: Option<MasterKey>,
    pub cors_origins: CorsOrigins,
    /// `None`: no rate limit.
    pub rate_limit: Option<RateLimitSettings>,
    /// Where spans go as OTLP (HTTP/protobuf); `None`: no trace export.
    pub trace_export: Option<TraceExport>,
}

/// OpenTelemetry trace export, from the standard `OTEL_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// The full URL spans are posted to (`.../v1/traces`).
    pub traces_endpoint: String,
    pub service_name: String,
}

pub const DEFAULT_CURSOR_SECRET: &str = "everfit-development-cursor-secret";

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub message: String,
}

impl Config {
    /// Defaults for everything: the embedded store, no servers.
    pub fn embedded(sqlite_path: PathBuf) -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3000,
            queue: QueueKind::Sqlite,
            redis_url: None,
            mongodb_uri: None,
            log_format: LogFormat::Pretty,
            cursor_secret: DEFAULT_CURSOR_SECRET.into(),
            cursor_secret_is_default: true,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: super::server::DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: super::server::DEFAULT_MAX_CONNECTIONS,
            redis_key_prefix: "everfit".into(),
            embedded_workers: true,
            worker_concurrency: 4,
            worker_queues: QueueName::ALL.to_vec(),
            depth_limits: DepthLimits::default(),
            claim_after: Duration::from_secs(30),
            max_deliveries: 5,
            metrics_addr: None,
            plugins_dir: None,
            plugin_cache_dir: default_plugin_cache_dir(&sqlite_path),
            plugin_timeout: Duration::from_millis(1000),
            sqlite_path,
            environment: Environment::Development,
            master_key: None,
            cors_origins: CorsOrigins::Any,
            rate_limit: Some(DEFAULT_RATE_LIMIT),
            trace_export: None,
        }
    }

    /// Builds the configuration from variables looked up by `var` (the
    /// process environment and `.env` in the CLI, a map in tests). Every
    /// problem is reported; see [`Config::from_lookup_lenient`] for commands
    /// that need only some variables.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let (config, problems) = Self::from_lookup_lenient(var);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(problems))
        }
    }

    /// The configuration with each bad value left at its default, and the
    /// problems found, so a caller can decide which of them matter to it.
    pub fn from_lookup_lenient(var: impl Fn(&str) -> Option<String>) -> (Self, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut problem =
            |variable: &'static str, message: String| problems.push(Problem { variable, message });
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut config = Config::embedded(PathBuf::from("./data/everfit.db"));

        if let Some(v) = get("HOST") {
            if is_host(&v) {
                config.host = v;
            } else {
                problem(
                    "HOST",
                    format!(
                        "HOST={v:?} is not an address or host name (e.g. 0.0.0.0, 127.0.0.1, localhost)"
                    ),
                );
            }
        }
        if let Some(v) = get("PORT") {
            match v.parse() {
                Ok(p) => config.port = p,
                Err(_) => problem("PORT", format!("PORT={v:?} is not a port number (0-65535)")),
            }
        }
        if let Some(v) = get("SQLITE_PATH") {
            config.sqlite_path = PathBuf::from(v);
            config.plugin_cache_dir = default_plugin_cache_dir(&config.sqlite_path);
        }
        config.plugins_dir = get("PLUGINS_DIR").map(PathBuf::from);
        config.metrics_addr = get("METRICS_ADDR");
        if let Some(v) = get("PLUGIN_CACHE_DIR") {
            config.plugin_cache_dir = PathBuf::from(v);
        }
        if let Some(v) = get("PLUGIN_TIMEOUT_MS") {
            match v.parse::<u64>() {
                Ok(ms) if (1..=60_000).contains(&ms) => {
                    config.plugin_timeout = Duration::from_millis(ms)
                }
                _ => problem(
                    "PLUGIN_TIMEOUT_MS",
                    format!("PLUGIN_TIMEOUT_MS={v:?} must be a whole number from 1 to 60000"),
                ),
            }
        }
        if let Some(url) = get("REDIS_URL") {
            if url.starts_with("redis://") || url.starts_with("rediss://") {
                config.redis_url = Some(url);
            } else {
                problem(
                    "REDIS_URL",
                    format!("REDIS_URL={url:?} must start with redis:// or rediss://"),
                );
            }
        }
        if let Some(uri) = get("MONGODB_URI") {
            if uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://") {
                config.mongodb_uri = Some(uri);
            } else {
                // The URI may hold a password: do not echo it.
                problem(
                    "MONGODB_URI",
                    "MONGODB_URI must start with mongodb:// or mongodb+srv://".to_string(),
                );
            }
        }
        let queue_set = get("QUEUE");
        config.queue = match queue_set.as_deref() {
            None if get("REDIS_URL").is_some() => QueueKind::Redis,
            None => QueueKind::Sqlite,
            Some("inline") => QueueKind::Inline,
            Some("sqlite") => QueueKind::Sqlite,
            Some("redis") => QueueKind::Redis,
            Some(other) => {
                problem(
                    "QUEUE",
                    format!("QUEUE={other:?} must be one of: inline, sqlite, redis"),
                );
                QueueKind::Sqlite
            }
        };
        if config.queue == QueueKind::Redis && queue_set.is_some() && get("REDIS_URL").is_none() {
            problem(
                "QUEUE",
                "QUEUE=redis needs REDIS_URL (e.g. redis://127.0.0.1:6379)".to_string(),
            );
        }
        config.log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                problem(
                    "LOG_FORMAT",
                    format!("LOG_FORMAT={other:?} must be pretty or json"),
                );
                LogFormat::Pretty
            }
        };
        if let Some(secret) = get("CURSOR_SECRET") {
            if secret.len() < 16 {
                problem(
                    "CURSOR_SECRET",
                    "CURSOR_SECRET must be at least 16 characters".to_string(),
                );
            } else {
                config.cursor_secret = secret;
                config.cursor_secret_is_default = false;
            }
        }
        if let Some(v) = get("REQUEST_TIMEOUT_SECS") {
            match v.parse::<u64>() {
                Ok(s) if s > 0 => config.request_timeout = Duration::from_secs(s),
                _ => problem(
                    "REQUEST_TIMEOUT_SECS",
                    format!("REQUEST_TIMEOUT_SECS={v:?} must be a positive whole number"),
                ),
            }
        }
        if let Some(v) = get("HEADER_READ_TIMEOUT_SECS") {
            match v.parse::<u64>() {
                Ok(s) if s > 0 => config.header_read_timeout = Duration::from_secs(s),
                _ => problem(
                    "HEADER_READ_TIMEOUT_SECS",
                    format!("HEADER_READ_TIMEOUT_SECS={v:?} must be a positive whole number"),
                ),
            }
        }
        if let Some(v) = get("MAX_CONNECTIONS") {
            match v.parse::<usize>() {
                Ok(n) if n > 0 => config.max_connections = n,
                _ => problem(
                    "MAX_CONNECTIONS",
                    format!("MAX_CONNECTIONS={v:?} must be a positive whole number"),
                ),
            }
        }
        if let Some(v) = get("REDIS_KEY_PREFIX") {
            config.redis_key_prefix = v;
        }
        match get("EMBEDDED_WORKERS").as_deref() {
            None | Some("true") | Some("1") => {}
            Some("false") | Some("0") => config.embedded_workers = false,
            Some(other) => problem(
                "EMBEDDED_WORKERS",
                format!("EMBEDDED_WORKERS={other:?} must be true or false"),
            ),
        }
        if let Some(v) = get("WORKER_CONCURRENCY") {
            match v.parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => config.worker_concurrency = n,
                _ => problem(
                    "WORKER_CONCURRENCY",
                    format!("WORKER_CONCURRENCY={v:?} must be a whole number from 1 to 256"),
                ),
            }
        }
        if let Some(v) = get("WORKER_QUEUES") {
            let parsed: Option<Vec<QueueName>> =
                v.split(',').map(|q| QueueName::parse(q.trim())).collect();
            match parsed {
                Some(queues) if !queues.is_empty() => config.worker_queues = queues,
                _ => problem(
                    "WORKER_QUEUES",
                    format!("WORKER_QUEUES={v:?} must list persist and/or prs, comma-separated"),
                ),
            }
        }
        for (name, limit) in [
            ("QUEUE_MAX_PERSIST_DEPTH", &mut config.depth_limits.persist),
            ("QUEUE_MAX_PRS_DEPTH", &mut config.depth_limits.prs),
        ] {
            if let Some(v) = get(name) {
                match v.parse::<u64>() {
                    Ok(n) => *limit = n,
                    Err(_) => problem(
                        name,
                        format!("{name}={v:?} must be a whole number (0: no limit)"),
                    ),
                }
            }
        }
        if let Some(v) = get("QUEUE_CLAIM_AFTER_SECS") {
            match v.parse::<u64>() {
                Ok(s) if s > 0 => config.claim_after = Duration::from_secs(s),
                _ => problem(
                    "QUEUE_CLAIM_AFTER_SECS",
                    format!("QUEUE_CLAIM_AFTER_SECS={v:?} must be a positive whole number"),
                ),
            }
        }
        if let Some(v) = get("QUEUE_MAX_DELIVERIES") {
            match v.parse::<u64>() {
                Ok(n) if n > 0 => config.max_deliveries = n,
                _ => problem(
                    "QUEUE_MAX_DELIVERIES",
                    format!("QUEUE_MAX_DELIVERIES={v:?} must be a positive whole number"),
                ),
            }
        }
        config.environment = match get("EVERFIT_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                problem(
                    "EVERFIT_ENV",
                    format!("EVERFIT_ENV={other:?} must be development or production"),
                );
                Environment::Development
            }
        };
        if let Some(raw) = get("MASTER_KEY") {
            match MasterKey::new(&raw) {
                Ok(key) => config.master_key = Some(key),
                // Never echo the value: it is a secret.
                Err(why) => problem("MASTER_KEY", format!("MASTER_KEY {why}")),
            }
        }
        if let Some(raw) = get("CORS_ORIGINS") {
            match CorsOrigins::parse(&raw) {
                Ok(origins) => config.cors_origins = origins,
                Err(why) => problem("CORS_ORIGINS", format!("CORS_ORIGINS {why}")),
            }
        }
        let mut limit = DEFAULT_RATE_LIMIT;
        let mut limited = true;
        if let Some(v) = get("RATE_LIMIT_PER_SECOND") {
            match v.parse::<u32>() {
                Ok(0) => limited = false,
                Ok(n) => limit.per_second = NonZeroU32::new(n).expect("not 0"),
                Err(_) => problem(
                    "RATE_LIMIT_PER_SECOND",
                    format!("RATE_LIMIT_PER_SECOND={v:?} must be a whole number (0: no limit)"),
                ),
            }
        }
        if let Some(v) = get("RATE_LIMIT_BURST") {
            match v.parse::<u32>().ok().and_then(NonZeroU32::new) {
                Some(n) => limit.burst = n,
                None => problem(
                    "RATE_LIMIT_BURST",
                    format!("RATE_LIMIT_BURST={v:?} must be a positive whole number"),
                ),
            }
        }
        config.rate_limit = limited.then_some(limit);
        match trace_export(&get) {
            Ok(export) => config.trace_export = export,
            Err((variable, message)) => problem(variable, message),
        }
        if config.environment == Environment::Production {
            if get("MASTER_KEY").is_none() {
                problem(
                    "MASTER_KEY",
                    "EVERFIT_ENV=production needs MASTER_KEY (16+ bytes, e.g. `openssl rand -hex 32`): \
                     without it every request would be allowed"
                        .to_string(),
                );
            }
            if get("CURSOR_SECRET").is_none() {
                problem(
                    "CURSOR_SECRET",
                    "EVERFIT_ENV=production needs CURSOR_SECRET (16+ characters, shared by every instance)"
                        .to_string(),
                );
            }
        }
        (config, problems)
    }

    /// Where to bind, as `host:port` (a host name is resolved when binding).
    pub fn bind_address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port) // IPv6 literal
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The OTLP trace export the standard variables ask for. The signal's own
/// endpoint is used as given; the general one gets `/v1/traces` appended,
/// as the OpenTelemetry specification says. Only HTTP/protobuf without TLS
/// is built in: a collector beside the service (the usual deployment) takes
/// it from there, so a gRPC or https request is refused at start rather
/// than silently losing every span.
fn trace_export(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<TraceExport>, (&'static str, String)> {
    let disabled = get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
    let (variable, value, signal_path) = if let Some(v) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    {
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", v, "")
    } else if let Some(v) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
        ("OTEL_EXPORTER_OTLP_ENDPOINT", v, "/v1/traces")
    } else {
        return Ok(None);
    };
    if disabled {
        return Ok(None);
    }
    for protocol_variable in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(p) = get(protocol_variable) {
            if p != "http/protobuf" {
                return Err((
                    protocol_variable,
                    format!(
                        "{protocol_variable}={p:?} is not supported: traces are sent as http/protobuf \
                         (a collector's port 4318); unset it or set http/protobuf"
                    ),
                ));
            }
            break;
        }
    }
    let Some(rest) = value.strip_prefix("http://") else {
        let hint = if value.starts_with("https://") {
            "https needs TLS, which this build leaves out: send to a collector beside the service over http"
        } else {
            "it must be an http:// URL, e.g. http://127.0.0.1:4318"
        };
        return Err((variable, format!("{variable}={value:?}: {hint}")));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || value.parse::<axum::http::Uri>().is_err() {
        return Err((
            variable,
            format!("{variable}={value:?} is not a URL (e.g. http://127.0.0.1:4318)"),
        ));
    }
    let endpoint = if signal_path.is_empty() {
        value
    } else {
        format!("{}{signal_path}", value.trim_end_matches('/'))
    };
    let service_name = get("OTEL_SERVICE_NAME").unwrap_or_else(|| "everfit".to_string());
    Ok(Some(TraceExport {
        traces_endpoint: endpoint,
        service_name,
    }))
}

/// An IP address or an RFC 1123 host name.
fn is_host(v: &str) -> bool {
    if v.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The compiled-plugin cache lives in the data directory, next to the SQLite file.
pub fn default_plugin_cache_dir(sqlite_path: &std::path::Path) -> PathBuf {
    sqlite_path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("plugin-cache")
}

/// Every problem found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<Problem>);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for p in &self.0 {
            writeln!(f, "  - {}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = from(&[]).unwrap();
        assert_eq!(c.port, 3000);
        assert_eq!(c.bind_address(), "127.0.0.1:3000");
        assert_eq!(c.sqlite_path, PathBuf::from("./data/everfit.db"));
        assert_eq!(c.queue, QueueKind::Sqlite);
        assert!(c.embedded_workers && c.worker_concurrency == 4);
        assert!(c.mongodb_uri.is_none() && c.cursor_secret_is_default);
    }

    #[test]
    fn redis_url_selects_the_redis_queue() {
        let c = from(&[("REDIS_URL", "redis://127.0.0.1:6379/2")]).unwrap();
        assert_eq!(c.queue, QueueKind::Redis);
        let c = from(&[("REDIS_URL", "redis://x"), ("QUEUE", "inline")]).unwrap();
        assert_eq!(c.queue, QueueKind::Inline);
    }

    #[test]
    fn worker_queues_are_listed_by_name() {
        let c = from(&[("WORKER_QUEUES", "prs")]).unwrap();
        assert_eq!(c.worker_queues, [QueueName::Prs]);
        assert_eq!(from(&[]).unwrap().worker_queues, QueueName::ALL);
        assert!(from(&[("WORKER_QUEUES", "persist,other")]).is_err());
    }

    #[test]
    fn redis_queue_without_a_url_is_refused_not_guessed() {
        let err = from(&[("QUEUE", "redis")]).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].variable, "QUEUE");
        assert!(err.to_string().contains("needs REDIS_URL"), "{err}");
    }

    #[test]
    fn host_names_are_accepted_and_bound_later() {
        for host in ["localhost", "api.internal", "0.0.0.0", "::1"] {
            let c = from(&[("HOST", host)]).unwrap();
            assert_eq!(c.host, host);
        }
        assert_eq!(
            from(&[("HOST", "::1")]).unwrap().bind_address(),
            "[::1]:3000"
        );
        for bad in ["local host", "-x", "a..b", "x_y"] {
            assert!(from(&[("HOST", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn reports_every_problem_with_its_variable() {
        let err = from(&[
            ("PORT", "eighty"),
            ("QUEUE", "kafka"),
            ("LOG_FORMAT", "xml"),
            ("HOST", "localhost!"),
            ("WORKER_CONCURRENCY", "0"),
            ("EMBEDDED_WORKERS", "maybe"),
        ])
        .unwrap_err();
        let vars: Vec<&str> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(
            vars,
            [
                "HOST",
                "PORT",
                "QUEUE",
                "LOG_FORMAT",
                "EMBEDDED_WORKERS",
                "WORKER_CONCURRENCY"
            ],
            "{err}"
        );
        assert!(err.to_string().contains("QUEUE=\"kafka\""));
    }

    #[test]
    fn the_plugin_timeout_is_read_in_milliseconds_and_bounded() {
        assert_eq!(
            from(&[]).unwrap().plugin_timeout,
            Duration::from_millis(1000)
        );
        assert_eq!(
            from(&[("PLUGIN_TIMEOUT_MS", "250")])
                .unwrap()
                .plugin_timeout,
            Duration::from_millis(250)
        );
        for bad in ["0", "60001", "1s", "-5"] {
            let err = from(&[("PLUGIN_TIMEOUT_MS", bad)]).unwrap_err();
            assert_eq!(err.0[0].variable, "PLUGIN_TIMEOUT_MS", "{bad}");
        }
    }

    #[test]
    fn lenient_reading_keeps_defaults_for_bad_values() {
        let map: HashMap<&str, &str> = [("PORT", "x"), ("SQLITE_PATH", "/tmp/a.db")].into();
        let (c, problems) = Config::from_lookup_lenient(|k| map.get(k).map(|v| v.to_string()));
        assert_eq!(c.port, 3000);
        assert_eq!(c.sqlite_path, PathBuf::from("/tmp/a.db"));
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn production_refuses_to_start_without_its_secrets() {
        let err = from(&[("EVERFIT_ENV", "production")]).unwrap_err();
        let vars: Vec<&str> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(vars, ["MASTER_KEY", "CURSOR_SECRET"], "{err}");
        assert!(
            err.to_string()
                .contains("EVERFIT_ENV=production needs MASTER_KEY")
        );
        let c = from(&[
            ("EVERFIT_ENV", "production"),
            ("MASTER_KEY", "0123456789abcdef0123"),
            ("CURSOR_SECRET", "a-cursor-secret-of-some-length"),
        ])
        .unwrap();
        assert_eq!(c.environment, Environment::Production);
        assert!(c.master_key.is_some());
        assert!(!format!("{c:?}").contains("0123456789abcdef0123"));
    }

    #[test]
    fn development_needs_no_master_key_and_a_short_one_is_refused_unechoed() {
        let c = from(&[]).unwrap();
        assert_eq!(c.environment, Environment::Development);
        assert!(c.master_key.is_none());
        assert_eq!(c.cors_origins, CorsOrigins::Any);
        assert_eq!(c.rate_limit, Some(DEFAULT_RATE_LIMIT));
        let err = from(&[("MASTER_KEY", "hunter2")]).unwrap_err();
        assert_eq!(err.0[0].variable, "MASTER_KEY");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(from(&[("EVERFIT_ENV", "staging")]).is_err());
    }

    #[test]
    fn rate_limits_and_origins_are_read() {
        let c = from(&[
            ("RATE_LIMIT_PER_SECOND", "5"),
            ("RATE_LIMIT_BURST", "7"),
            ("CORS_ORIGINS", "https://coach.example.com"),
        ])
        .unwrap();
        let limit = c.rate_limit.unwrap();
        assert_eq!((limit.per_second.get(), limit.burst.get()), (5, 7));
        assert!(matches!(c.cors_origins, CorsOrigins::List(ref l) if l.len() == 1));
        assert_eq!(
            from(&[("RATE_LIMIT_PER_SECOND", "0")]).unwrap().rate_limit,
            None
        );
        let err = from(&[
            ("RATE_LIMIT_PER_SECOND", "-1"),
            ("RATE_LIMIT_BURST", "0"),
            ("CORS_ORIGINS", "coach.example.com"),
        ])
        .unwrap_err();
        let vars: Vec<&str> = err.0.iter().map(|p| p.variable).collect();
        assert_eq!(
            vars,
            ["CORS_ORIGINS", "RATE_LIMIT_PER_SECOND", "RATE_LIMIT_BURST"],
            "{err}"
        );
    }

    #[test]
    fn traces_are_exported_only_when_an_endpoint_is_set() {
        assert_eq!(from(&[]).unwrap().trace_export, None);
        let export = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")])
            .unwrap()
            .trace_export
            .unwrap();
        assert_eq!(export.traces_endpoint, "http://collector:4318/v1/traces");
        assert_eq!(export.service_name, "everfit");
        // The signal's own endpoint is used as given and wins.
        let export = from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://tempo:4318/otlp/traces",
            ),
            ("OTEL_SERVICE_NAME", "everfit-eu"),
        ])
        .unwrap()
        .trace_export
        .unwrap();
        assert_eq!(export.traces_endpoint, "http://tempo:4318/otlp/traces");
        assert_eq!(export.service_name, "everfit-eu");
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            let config = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), off]).unwrap();
            assert_eq!(config.trace_export, None, "{off:?}");
        }
    }

    #[test]
    fn a_trace_export_that_would_lose_every_span_is_refused() {
        for (pairs, variable, says) in [
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "https://api.honeycomb.io")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https needs TLS",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318")],
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "must be an http:// URL",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "http://")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "is not a URL",
            ),
            (
                vec![
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "is not supported",
            ),
        ] {
            let err = from(&pairs).unwrap_err();
            assert_eq!(err.0.len(), 1, "{err}");
            assert_eq!(err.0[0].variable, variable);
            assert!(err.0[0].message.contains(says), "{err}");
        }
    }

    #[test]
    fn every_variable_is_documented() {
        let doc = include_str!("../../../docs/configuration.md");
        for v in VARIABLES {
            assert!(
                doc.contains(&format!("| `{}` |", v.name)),
                "{} is not in docs/configuration.md",
                v.name
            );
        }
    }

    #[test]
    fn every_variable_read_is_listed() {
        let source = include_str!("config.rs");
        for (i, _) in source.match_indices("get(\"") {
            let name: String = source[i + 5..].chars().take_while(|c| *c != '"').collect();
            assert!(
                VARIABLES.iter().any(|v| v.name == name),
                "{name} is read but not listed in VARIABLES"
            );
        }
    }
}
