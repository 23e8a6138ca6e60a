//! A test fixture for the sandbox: `compute` misbehaves as `mode` says
//! (`loop`: never returns; `bomb`: allocates until refused; `trap`: executes
//! `unreachable`; `ok`: answers normally). The host must stop each one
//! cleanly and keep serving.
#![no_std]

extern crate alloc;

#[path = "../../guest_runtime.rs"]
mod guest_runtime;

use alloc::vec;
use alloc::vec::Vec;

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "insight-plugin",
});

use everfit::insights::types::{Entry, UnitDef};
use exports::everfit::insights::insight::{
    ComputeError, Descriptor, Guest, InsightResult, Metric, Param, ParamKind, ParamSpec,
};

struct Hostile;

impl Guest for Hostile {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile".into(),
            version: "0.1.0".into(),
            title: "Hostile test plugin".into(),
            description: "Misbehaves on request; a sandbox test fixture".into(),
            params: vec![ParamSpec {
                name: "mode".into(),
                description: "How to misbehave".into(),
                kind: ParamKind::Choice(vec![
                    "ok".into(),
                    "loop".into(),
                    "bomb".into(),
                    "trap".into(),
                    "fail".into(),
                ]),
                required: true,
                default_value: None,
            }],
        }
    }

    fn compute(
        entries: Vec<Entry>,
        params: Vec<Param>,
        _units: Vec<UnitDef>,
    ) -> Result<InsightResult, ComputeError> {
        let mode = params
            .iter()
            .find(|p| p.name == "mode")
            .map(|p| p.value.as_str())
            .unwrap_or("ok");
        match mode {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = core::hint::black_box(n.wrapping_add(1));
                }
            }
            "bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut chunk = vec![0u8; 1 << 20];
                    chunk[0] = 1;
                    hoard.push(core::hint::black_box(chunk));
                }
            }
            "trap" => core::arch::wasm32::unreachable(),
            "fail" => Err(ComputeError::Failed("asked to fail".into())),
            _ => Ok(InsightResult {
                summary: "fine".into(),
                metrics: vec![Metric {
                    name: "entries".into(),
                    value: entries.len() as f64,
                    unit: None,
                }],
                series: Vec::new(),
                tables: Vec::new(),
            }),
        }
    }
}

export!(Hostile);
