//! Configuration: read once at start-up from the environment (and `.env`),
//! validated with every problem reported, then passed down as values.

use std::net::IpAddr;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
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
    /// Key prefix of the Redis queue's streams.
    pub redis_key_prefix: String,
    /// Whether `serve` runs the workers in its own process.
    pub embedded_workers: bool,
    /// Jobs run at once per queue and worker process.
    pub worker_concurrency: usize,
    /// An unacknowledged Redis delivery older than this is taken over.
    pub claim_after: Duration,
    /// Deliveries (Redis) before a failing job goes to the dead-letter list.
    pub max_deliveries: u64,
    /// Folder of third-party insight plugins (`*.wasm`), watched for changes.
    /// Unset (the default): only the built-in plugins run.
    pub plugins_dir: Option<PathBuf>,
    /// Where compiled plugins are cached (default: `plugin-cache` next to the SQLite file).
    pub plugin_cache_dir: PathBuf,
}

pub const DEFAULT_CURSOR_SECRET: &str = "everfit-development-cursor-secret";

impl Config {
    /// Defaults for everything: the embedded store, no servers.
    pub fn embedded(sqlite_path: PathBuf) -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 3000,
            queue: QueueKind::Sqlite,
            redis_url: None,
            mongodb_uri: None,
            log_format: LogFormat::Pretty,
            cursor_secret: DEFAULT_CURSOR_SECRET.into(),
            cursor_secret_is_default: true,
            request_timeout: Duration::from_secs(30),
            redis_key_prefix: "everfit".into(),
            embedded_workers: true,
            worker_concurrency: 4,
            claim_after: Duration::from_secs(30),
            max_deliveries: 5,
            plugins_dir: None,
            plugin_cache_dir: default_plugin_cache_dir(&sqlite_path),
            sqlite_path,
        }
    }

    /// Builds the configuration from variables looked up by `var`
    /// (the process environment in `main`, a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut config = Config::embedded(PathBuf::from("./data/everfit.db"));

        if let Some(v) = get("HOST") {
            match v.parse() {
                Ok(ip) => config.host = ip,
                Err(_) => problems.push(format!(
                    "HOST={v:?} is not an IP address (e.g. 0.0.0.0 or 127.0.0.1)"
                )),
            }
        }
        if let Some(v) = get("PORT") {
            match v.parse() {
                Ok(p) => config.port = p,
                Err(_) => problems.push(format!("PORT={v:?} is not a port number (0-65535)")),
            }
        }
        if let Some(v) = get("SQLITE_PATH") {
            config.sqlite_path = PathBuf::from(v);
            config.plugin_cache_dir = default_plugin_cache_dir(&config.sqlite_path);
        }
        config.plugins_dir = get("PLUGINS_DIR").map(PathBuf::from);
        if let Some(v) = get("PLUGIN_CACHE_DIR") {
            config.plugin_cache_dir = PathBuf::from(v);
        }
        config.redis_url = get("REDIS_URL");
        if let Some(url) = &config.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            problems.push(format!(
                "REDIS_URL={url:?} must start with redis:// or rediss://"
            ));
        }
        config.mongodb_uri = get("MONGODB_URI");
        if let Some(uri) = &config.mongodb_uri
            && !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://"))
        {
            problems.push("MONGODB_URI must start with mongodb:// or mongodb+srv://".to_string());
        }
        config.queue = match get("QUEUE").as_deref() {
            None if config.redis_url.is_some() => QueueKind::Redis,
            None => QueueKind::Sqlite,
            Some("inline") => QueueKind::Inline,
            Some("sqlite") => QueueKind::Sqlite,
            Some("redis") => QueueKind::Redis,
            Some(other) => {
                problems.push(format!(
                    "QUEUE={other:?} must be one of: inline, sqlite, redis"
                ));
                QueueKind::Inline
            }
        };
        if config.queue == QueueKind::Redis && config.redis_url.is_none() {
            config.redis_url = Some("redis://127.0.0.1:6379".into());
        }
        config.log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                problems.push(format!("LOG_FORMAT={other:?} must be pretty or json"));
                LogFormat::Pretty
            }
        };
        if let Some(secret) = get("CURSOR_SECRET") {
            if secret.len() < 16 {
                problems.push("CURSOR_SECRET must be at least 16 characters".to_string());
            }
            config.cursor_secret = secret;
            config.cursor_secret_is_default = false;
        }
        if let Some(v) = get("REQUEST_TIMEOUT_SECS") {
            match v.parse::<u64>() {
                Ok(s) if s > 0 => config.request_timeout = Duration::from_secs(s),
                _ => problems.push(format!(
                    "REQUEST_TIMEOUT_SECS={v:?} must be a positive whole number"
                )),
            }
        }
        if let Some(v) = get("REDIS_KEY_PREFIX") {
            config.redis_key_prefix = v;
        }
        match get("EMBEDDED_WORKERS").as_deref() {
            None | Some("true") | Some("1") => {}
            Some("false") | Some("0") => config.embedded_workers = false,
            Some(other) => {
                problems.push(format!("EMBEDDED_WORKERS={other:?} must be true or false"))
            }
        }
        if let Some(v) = get("WORKER_CONCURRENCY") {
            match v.parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => config.worker_concurrency = n,
                _ => problems.push(format!(
                    "WORKER_CONCURRENCY={v:?} must be a whole number from 1 to 256"
                )),
            }
        }
        if let Some(v) = get("QUEUE_CLAIM_AFTER_SECS") {
            match v.parse::<u64>() {
                Ok(s) if s > 0 => config.claim_after = Duration::from_secs(s),
                _ => problems.push(format!(
                    "QUEUE_CLAIM_AFTER_SECS={v:?} must be a positive whole number"
                )),
            }
        }
        if let Some(v) = get("QUEUE_MAX_DELIVERIES") {
            match v.parse::<u64>() {
                Ok(n) if n > 0 => config.max_deliveries = n,
                _ => problems.push(format!(
                    "QUEUE_MAX_DELIVERIES={v:?} must be a positive whole number"
                )),
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(problems))
        }
    }
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
pub struct ConfigError(pub Vec<String>);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
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
    fn reports_every_problem() {
        let err = from(&[
            ("PORT", "eighty"),
            ("QUEUE", "kafka"),
            ("LOG_FORMAT", "xml"),
            ("HOST", "localhost!"),
            ("WORKER_CONCURRENCY", "0"),
            ("EMBEDDED_WORKERS", "maybe"),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 6, "{err}");
        assert!(err.to_string().contains("QUEUE=\"kafka\""));
    }
}
