//! The insight plugins in service: the built-in ones plus every `*.wasm` in
//! `PLUGINS_DIR`. The folder is polled; on a change a new registry is built
//! off the runtime and swapped in atomically (requests in flight keep the
//! `Arc` of the old one until they finish).

use super::engine::PluginEngine;
use super::insight::InsightPlugin;
use super::sandbox::Limits;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime};
use utoipa::ToSchema;

/// How often `PLUGINS_DIR` is checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// A plugin file that was refused, and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LoadProblem {
    pub file: String,
    pub error: String,
}

/// One generation of loaded plugins.
#[derive(Debug, Default)]
pub struct Registry {
    plugins: BTreeMap<String, Arc<InsightPlugin>>,
    problems: Vec<LoadProblem>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<Arc<InsightPlugin>> {
        self.plugins.get(name).cloned()
    }

    /// Plugins by name.
    pub fn plugins(&self) -> impl Iterator<Item = &Arc<InsightPlugin>> {
        self.plugins.values()
    }

    pub fn problems(&self) -> &[LoadProblem] {
        &self.problems
    }
}

/// What identifies the folder's content cheaply: names, sizes, mtimes.
type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

pub struct PluginHost {
    engine: PluginEngine,
    dir: Option<PathBuf>,
    builtins: Vec<Arc<InsightPlugin>>,
    limits: Limits,
    current: RwLock<Arc<Registry>>,
    fingerprint: Mutex<Fingerprint>,
}

impl PluginHost {
    /// Loads the built-in plugins (a failure there is a start-up error) and
    /// those in `dir` (a bad file is logged and refused, never fatal).
    pub fn start(
        engine: PluginEngine,
        dir: Option<PathBuf>,
        limits: Limits,
    ) -> anyhow::Result<Arc<Self>> {
        let builtin = InsightPlugin::load(
            &engine,
            super::builtin::PROGRESS_COMPONENT,
            "built-in",
            limits,
        )
        .map_err(|e| anyhow::anyhow!("the built-in progress plugin: {e:#}"))?;
        let mut builtins = vec![Arc::new(builtin)];
        for (name, bytes) in super::builtin::INSIGHTS_V0_2_0 {
            let plugin = InsightPlugin::load(&engine, bytes, "built-in", limits)
                .map_err(|e| anyhow::anyhow!("the built-in {name} plugin: {e:#}"))?;
            anyhow::ensure!(
                plugin.name() == *name,
                "the built-in {name} plugin calls itself {}",
                plugin.name()
            );
            builtins.push(Arc::new(plugin));
        }
        let host = Self {
            engine,
            dir,
            builtins,
            limits,
            current: RwLock::new(Arc::new(Registry::default())),
            fingerprint: Mutex::new(Vec::new()),
        };
        if let Some(dir) = &host.dir
            && !dir.is_dir()
        {
            tracing::warn!(dir = %dir.display(), "PLUGINS_DIR is not a folder (yet): only built-in plugins are loaded; it is watched");
        }
        host.reload();
        Ok(Arc::new(host))
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The registry in service now.
    pub fn registry(&self) -> Arc<Registry> {
        self.current.read().expect("registry lock").clone()
    }

    /// Rebuilds the registry from the built-ins and the folder, and swaps it in.
    pub fn reload(&self) {
        let fingerprint = self.dir.as_deref().map(fingerprint).unwrap_or_default();
        let mut registry = Registry::default();
        for plugin in &self.builtins {
            registry
                .plugins
                .insert(plugin.name().to_string(), plugin.clone());
        }
        if let Some(dir) = &self.dir {
            let previous = self.registry();
            // Files serving now load first, so a newcomer declaring a name
            // already in service is the one refused, however the files sort.
            let mut order: Vec<&String> = fingerprint.iter().map(|(file, _, _)| file).collect();
            order.sort_by_key(|file| {
                let live = previous.plugins().any(|p| &p.descriptor().source == *file);
                (!live, *file)
            });
            for file in order {
                let path = dir.join(file);
                match self.load_file(&path, file, &previous) {
                    Ok(plugin) => {
                        if let Some(existing) = registry.plugins.get(plugin.name()) {
                            let error = format!(
                                "plugin name {:?} is already taken by {}, which keeps \
                                 serving; this file is refused (rename the plugin or remove \
                                 one of the files)",
                                plugin.name(),
                                existing.descriptor().source
                            );
                            tracing::error!(file = %path.display(), %error, "plugin refused");
                            registry.problems.push(LoadProblem {
                                file: file.clone(),
                                error,
                            });
                            continue;
                        }
                        registry.plugins.insert(plugin.name().to_string(), plugin);
                    }
                    Err(error) => {
                        tracing::error!(file = %path.display(), %error, "plugin refused");
                        registry.problems.push(LoadProblem {
                            file: file.clone(),
                            error,
                        });
                    }
                }
            }
        }
        registry.problems.sort_by(|a, b| a.file.cmp(&b.file));
        let names: Vec<&str> = registry.plugins.keys().map(String::as_str).collect();
        tracing::info!(plugins = ?names, refused = registry.problems.len(), "insight plugins loaded");
        *self.current.write().expect("registry lock") = Arc::new(registry);
        *self.fingerprint.lock().expect("fingerprint lock") = fingerprint;
    }

    fn load_file(
        &self,
        path: &Path,
        file: &str,
        previous: &Registry,
    ) -> Result<Arc<InsightPlugin>, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        // Unchanged files keep their loaded plugin (no recompile, no describe).
        let sha = super::engine::hex_sha256(&bytes);
        if let Some(same) = previous
            .plugins()
            .find(|p| p.sha256() == sha && p.descriptor().source == file)
        {
            return Ok(same.clone());
        }
        let plugin = InsightPlugin::load(&self.engine, &bytes, file, self.limits)
            .map_err(|e| format!("{e:#}"))?;
        tracing::info!(file = %path.display(), name = plugin.name(), version = %plugin.descriptor().version, "plugin loaded");
        Ok(Arc::new(plugin))
    }

    /// Reloads when the folder changed since the last load. Returns whether it did.
    pub fn reload_if_changed(&self) -> bool {
        let Some(dir) = &self.dir else { return false };
        let now = fingerprint(dir);
        if *self.fingerprint.lock().expect("fingerprint lock") == now {
            return false;
        }
        tracing::info!(dir = %dir.display(), "PLUGINS_DIR changed: reloading plugins");
        self.reload();
        true
    }

    /// Polls the folder every `every` until the host is dropped. Compilation
    /// runs on a blocking thread, not on the runtime's workers.
    pub fn watch(self: &Arc<Self>, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        self.dir.as_ref()?;
        let weak: Weak<Self> = Arc::downgrade(self);
        Some(tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(host) = weak.upgrade() else { break };
                let _ = tokio::task::spawn_blocking(move || host.reload_if_changed()).await;
            }
        }))
    }
}

/// The `*.wasm` files of `dir`, sorted by name, with size and mtime.
fn fingerprint(dir: &Path) -> Fingerprint {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Fingerprint = read
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.ends_with(".wasm") {
                return None;
            }
            let meta = e.metadata().ok()?;
            meta.is_file()
                .then(|| (name, meta.len(), meta.modified().ok()))
        })
        .collect();
    files.sort();
    files
}
