//! `everfit import FILE`: sends a CSV export to a running server's
//! `POST /imports`, split into parts under the 1 MiB body limit, with a
//! progress bar, and prints the rejected rows by their line in FILE.

use crate::domain::import::{ImportFormat, split_for_upload};
use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use std::path::Path;

/// Well under the server's 1 MiB body limit: each part's accept (checks,
/// key reservations, queue pushes for a few thousand entries) then ends far
/// inside the request timeout even on a busy server (a whole 1 MiB part
/// once took past 30 s on a loaded MongoDB-compatible server), and the
/// progress bar moves in smaller steps.
const PART_BYTES: usize = 256 * 1024;

pub struct ImportArgs<'a> {
    pub file: &'a Path,
    pub user: &'a str,
    pub format: &'a str,
    pub unit: Option<&'a str>,
    pub url: &'a str,
    pub key: Option<&'a str>,
}

pub async fn run(args: ImportArgs<'_>) -> anyhow::Result<()> {
    let format = ImportFormat::parse(args.format)
        .ok_or_else(|| anyhow!("--format must be one of {}", ImportFormat::CODES.join(", ")))?;
    let bytes =
        std::fs::read(args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let parts = split_for_upload(format, &bytes, PART_BYTES)?;
    let client = reqwest::Client::new();
    let mut query = format!(
        "{}/imports?userId={}&format={}",
        args.url.trim_end_matches('/'),
        args.user,
        format.code()
    );
    if let Some(unit) = args.unit {
        query.push_str(&format!("&unit={unit}"));
    }
    let bar = super::progress_bar(parts.len() as u64, "parts");
    let (mut accepted, mut already) = (0u64, 0u64);
    let mut rejected: Vec<(u64, String)> = Vec::new();
    let mut ids = Vec::new();
    for part in &parts {
        let mut request = client
            .post(&query)
            .header("content-type", "text/csv")
            .body(part.bytes.clone());
        if let Some(key) = args.key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {}", args.url))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 202 {
            bar.abandon();
            bail!(
                "the server refused the part from line {}: {status} {}",
                part.first_line,
                body["message"].as_str().unwrap_or("")
            );
        }
        accepted += body["accepted"].as_u64().unwrap_or(0);
        already += body["alreadyImported"].as_u64().unwrap_or(0);
        if let Some(id) = body["id"].as_str() {
            ids.push(id.to_string());
        }
        for r in body["rejected"].as_array().into_iter().flatten() {
            let line = r["line"].as_u64().unwrap_or(0);
            rejected.push((
                part.file_line(line),
                r["reason"].as_str().unwrap_or("").to_string(),
            ));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "imported {}: {accepted} entries accepted, {already} already imported, {} rows rejected",
        args.file.display(),
        rejected.len()
    );
    for (line, reason) in &rejected {
        println!("  line {line}: {reason}");
    }
    println!("imports: {}", ids.join(" "));
    Ok(())
}
