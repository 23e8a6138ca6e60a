//! WASI preview 2 for plugins, deny by default: random numbers and clocks
//! work; there are no preopened folders, no environment, no arguments, no
//! network and no inherited stdio. stdout and stderr are captured in memory
//! (capped) so the host can log them and read a panic's message.
//!
//! Interfaces a plugin may *import* are the ones the linker defines (all of
//! `wasi:cli/imports`); using the denied ones fails inside the plugin as the
//! WASI spec says (no preopens, `access-denied`...), never in the host.

use super::sandbox::StoreState;
use bytes::Bytes;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// What one call may write to each of stdout and stderr; the rest is
/// dropped (and counted), never an error the plugin could trip over.
pub const OUTPUT_CAP: usize = 16 << 10;

/// The version of the WASI interfaces `wasmtime-wasi` defines; the linker
/// serves any 0.2.x import from them.
const WASI_VERSION: &str = "0.2.12";

/// The WASI state of one store.
pub struct Wasi {
    ctx: WasiCtx,
    table: ResourceTable,
    pub stdout: CapturedOutput,
    pub stderr: CapturedOutput,
}

impl Wasi {
    /// A context that grants nothing but randomness and clocks.
    pub fn sandboxed() -> Self {
        let stdout = CapturedOutput::default();
        let stderr = CapturedOutput::default();
        // The builder's defaults already close stdin and grant no env, args
        // or preopens; network use is denied explicitly so a future default
        // cannot open it.
        let ctx = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        Self {
            ctx,
            table: ResourceTable::new(),
            stdout,
            stderr,
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let wasi = self.wasi_mut();
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut wasi.table,
        }
    }
}

/// A linker with WASI preview 2 (synchronous host functions). Timers are
/// capped to the call's remaining budget: the host, not wasm, sleeps in a
/// `poll`, where the epoch deadline cannot stop it.
pub fn linker(engine: &wasmtime::Engine) -> anyhow::Result<Linker<StoreState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    linker.allow_shadowing(true);
    let mut clock = linker.instance(&format!("wasi:clocks/monotonic-clock@{WASI_VERSION}"))?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, StoreState>,
         (nanos,): (u64,)|
         -> wasmtime::Result<(Resource<DynPollable>,)> {
            let nanos = within_deadline(store.data(), nanos)?;
            let mut clocks = store.data_mut().clocks();
            Ok((monotonic_clock::Host::subscribe_duration(
                &mut clocks,
                nanos,
            )?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, StoreState>,
         (when,): (u64,)|
         -> wasmtime::Result<(Resource<DynPollable>,)> {
            let mut clocks = store.data_mut().clocks();
            let now = monotonic_clock::Host::now(&mut clocks)?;
            let nanos = within_deadline(store.data(), when.saturating_sub(now))?;
            let mut clocks = store.data_mut().clocks();
            Ok((monotonic_clock::Host::subscribe_duration(
                &mut clocks,
                nanos,
            )?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(linker)
}

/// A wait of `nanos` if it ends before the call's deadline. One that would
/// not waits out the budget here and stops the call as the deadline would
/// (epoch ticks can lag the wall clock, so waking the plugin just after the
/// deadline would not reliably stop it).
fn within_deadline(state: &StoreState, nanos: u64) -> wasmtime::Result<u64> {
    let Some(left) = state.remaining() else {
        return Ok(nanos);
    };
    if u128::from(nanos) < left.as_nanos() {
        return Ok(nanos);
    }
    std::thread::sleep(left);
    Err(wasmtime::Trap::Interrupt.into())
}

/// A capped in-memory output stream, shared between the WASI context and
/// the host that reads it after the call.
#[derive(Clone, Default)]
pub struct CapturedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    dropped: usize,
}

impl CapturedOutput {
    fn push(&self, bytes: &[u8]) {
        let mut inner = self.inner.lock().expect("output lock");
        let room = OUTPUT_CAP.saturating_sub(inner.bytes.len());
        let kept = bytes.len().min(room);
        inner.bytes.extend_from_slice(&bytes[..kept]);
        inner.dropped += bytes.len() - kept;
    }

    /// What was written (lossy UTF-8) and how many bytes past the cap were dropped.
    pub fn contents(&self) -> (String, usize) {
        let inner = self.inner.lock().expect("output lock");
        (
            String::from_utf8_lossy(&inner.bytes).into_owned(),
            inner.dropped,
        )
    }
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always room: what does not fit is dropped, so a chatty plugin
        // neither blocks nor fails.
        Ok(OUTPUT_CAP)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// The message of a Rust panic from what the standard library printed
/// ("thread '...' panicked at FILE:LINE:COL:\nMESSAGE\nnote: ..."), with
/// its location, capped in length. None when stderr holds no panic.
pub fn panic_message(stderr: &str) -> Option<String> {
    const MAX_CHARS: usize = 1000;
    let start = stderr.rfind("panicked at ")?;
    let mut lines = stderr[start..].lines();
    let location = lines
        .next()?
        .trim_start_matches("panicked at ")
        .trim_end_matches(':')
        .to_string();
    let message: Vec<&str> = lines
        .take_while(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
        .collect();
    let message = message.join("\n");
    let message = message.trim();
    let text = if message.is_empty() {
        format!("panicked at {location}")
    } else {
        format!("{message} (at {location})")
    };
    Some(text.chars().take(MAX_CHARS).collect())
}

/// Logs what a call wrote to stdout and stderr.
pub fn log_output(wasi: &Wasi, plugin: &str, request_id: Option<&str>) {
    let request_id = request_id.unwrap_or("-");
    for (stream, output) in [("stdout", &wasi.stdout), ("stderr", &wasi.stderr)] {
        let (text, dropped) = output.contents();
        if text.is_empty() {
            continue;
        }
        tracing::info!(plugin, request_id, stream, dropped_bytes = dropped, output = %text, "plugin output");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_message_is_read_from_stderr() {
        let stderr = "starting\nthread '<unnamed>' panicked at src/lib.rs:12:9:\nno entries, \
                      cannot go on\nnote: run with `RUST_BACKTRACE=1` environment variable to \
                      display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("no entries, cannot go on (at src/lib.rs:12:9)")
        );
        assert_eq!(panic_message("just chatter\n"), None);
    }

    #[test]
    fn output_past_the_cap_is_dropped_and_counted() {
        let out = CapturedOutput::default();
        out.push(&vec![b'a'; OUTPUT_CAP - 1]);
        out.push(b"bcd");
        let (text, dropped) = out.contents();
        assert_eq!(text.len(), OUTPUT_CAP);
        assert!(text.ends_with('b'));
        assert_eq!(dropped, 2);
    }
}
