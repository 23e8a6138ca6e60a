//! The wasmtime engine shared by every plugin: configuration, the epoch
//! ticker that enforces deadlines, and the on-disk cache of compiled
//! components (so restarts do not recompile).

use anyhow::Context;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// How often the epoch advances: the granularity of every deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A compiled component and how it was obtained.
pub struct Loaded {
    pub component: Component,
    /// Hex sha256 of the `.wasm` bytes.
    pub sha256: String,
    /// True when it came from the disk cache (no compilation).
    pub from_cache: bool,
}

#[derive(Clone)]
pub struct PluginEngine {
    engine: Engine,
    cache_dir: Option<PathBuf>,
    /// Identifies the compiler settings: cached artifacts of another engine
    /// (another wasmtime version or configuration) are never picked up.
    compat: String,
    deadlines: bool,
}

impl PluginEngine {
    /// An engine with epoch interruption and a ticker thread; compiled
    /// components are cached in `cache_dir` when given.
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        Self::build(cache_dir, true)
    }

    /// An engine without deadlines, only to measure what they cost
    /// (benches/pr_component.rs). Never use it for plugins.
    pub fn without_deadlines_for_benchmarks() -> anyhow::Result<Self> {
        Self::build(None, false)
    }

    fn build(cache_dir: Option<PathBuf>, deadlines: bool) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        // Deadlines: generated code checks the epoch at loop headers and
        // function entries; the ticker below advances it.
        config.epoch_interruption(deadlines);
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("configuring wasmtime")?;
        if deadlines {
            spawn_ticker(&engine);
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        if let Some(dir) = &cache_dir
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(dir = %dir.display(), error = %e, "plugin cache disabled: cannot create its folder");
            return Ok(Self {
                engine,
                cache_dir: None,
                compat,
                deadlines,
            });
        }
        Ok(Self {
            engine,
            cache_dir,
            compat,
            deadlines,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether calls get an epoch deadline (always, except in benchmarks).
    pub fn has_deadlines(&self) -> bool {
        self.deadlines
    }

    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// Compiles `bytes` (a component), or loads the cached compilation.
    /// Garbage, core modules and invalid components are errors, not panics.
    pub fn load(&self, bytes: &[u8]) -> anyhow::Result<Loaded> {
        let sha256 = hex_sha256(bytes);
        let Some(dir) = &self.cache_dir else {
            check_component_header(bytes)?;
            let component = Component::new(&self.engine, bytes)?;
            return Ok(Loaded {
                component,
                sha256,
                from_cache: false,
            });
        };
        let path = dir.join(format!("{sha256}-{}.cwasm", self.compat));
        // Read into memory rather than mapping the file: a cache file truncated
        // or replaced under a mapping would crash the process (SIGBUS).
        if let Ok(cached) = std::fs::read(&path) {
            // SAFETY: the cache folder is written only by this service (see
            // README: it must not be writable by others), with artifacts of
            // this very engine configuration (the file name carries its hash);
            // wasmtime checks the header and refuses foreign or corrupt files.
            match unsafe { Component::deserialize(&self.engine, &cached) } {
                Ok(component) => {
                    return Ok(Loaded {
                        component,
                        sha256,
                        from_cache: true,
                    });
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable cached plugin");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        check_component_header(bytes)?;
        let compiled = self.engine.precompile_component(bytes)?;
        // Write then rename, so a concurrent reader never sees half a file;
        // a temporary name of its own, so two engines compiling the same
        // plugin at once (two instances, or tests) never interleave writes.
        let tmp = dir.join(format!(
            "{sha256}-{}.{}.tmp",
            self.compat,
            uuid::Uuid::new_v4().simple()
        ));
        match std::fs::write(&tmp, &compiled).and_then(|()| std::fs::rename(&tmp, &path)) {
            Ok(()) => {}
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(dir = %dir.display(), error = %e, "cannot cache a compiled plugin");
            }
        }
        // SAFETY: `compiled` was produced just now by this engine.
        let component = unsafe { Component::deserialize(&self.engine, &compiled)? };
        Ok(Loaded {
            component,
            sha256,
            from_cache: false,
        })
    }
}

/// Short, clear refusals for the two common mistakes (the parser's own
/// messages for them are long and cryptic).
fn check_component_header(bytes: &[u8]) -> anyhow::Result<()> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => anyhow::bail!(
            "this is a core WebAssembly module, not a component: build for wasm32-wasip2 \
             (or wrap it with `wasm-tools component new`)"
        ),
        Some([0, b'a', b's', b'm', ..]) => Ok(()),
        _ => anyhow::bail!("not WebAssembly (no \\0asm header)"),
    }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn spawn_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        // Without the ticker no deadline fires; plugins still run.
        tracing::error!(error = %e, "cannot start the wasm epoch ticker: plugin deadlines are off");
    }
}

/// Deadline in epoch ticks (at least one).
pub fn ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}
