//! `everfit keys create|list|get|delete`: API keys without HTTP, to
//! bootstrap the first keys (or revoke one) from the server's host.

use super::say;
use crate::domain::access::requests::validate_new_key;
use crate::domain::access::{ApiKey, KeyUid, MasterKey};
use crate::http::keys::KeyView;
use crate::startup::config::Config;
use crate::startup::open_stores;
use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key; prints it as JSON with its secret (`key`), shown only now.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Comma-separated action names (workouts.create, workouts.read, workouts.update,
        /// workouts.delete, prs.read, insights.read), or `*`.
        #[arg(long, value_delimiter = ',', required = true)]
        actions: Vec<String>,
        /// Comma-separated client userIds, or `*` for every client.
        #[arg(long, value_delimiter = ',', required = true)]
        users: Vec<String>,
        /// When the key stops working: YYYY-MM-DD or an RFC 3339 datetime with an offset.
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List the keys, one JSON object per line (no secrets).
    List,
    /// Show one key as JSON (no secret).
    Get { uid: String },
    /// Delete a key: it and the tenant tokens it signed stop working at once.
    Delete { uid: String },
}

fn parse_uid(raw: &str) -> anyhow::Result<KeyUid> {
    raw.parse().map_err(|e| anyhow::anyhow!("{raw:?} {e}"))
}

pub async fn run(config: &Config, master: &MasterKey, command: KeysCommand) -> anyhow::Result<()> {
    let keys = open_stores(config).await?.keys;
    match command {
        KeysCommand::Create {
            name,
            description,
            actions,
            users,
            expires_at,
        } => {
            let now = chrono::Utc::now();
            let body = json!({ "name": name, "description": description, "actions": actions,
                               "users": users, "expiresAt": expires_at });
            let new = validate_new_key(&body, now).map_err(|errors| {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| format!("--{}: {}", flag(&e.field), e.message))
                    .collect();
                anyhow::anyhow!("invalid key:\n  {}", lines.join("\n  "))
            })?;
            let (key, secret) = ApiKey::issue(new, master, now);
            keys.insert_key(&key).await.context("storing the key")?;
            say(serde_json::to_string(&KeyView::new(&key, Some(&secret)))?)?;
        }
        KeysCommand::List => {
            for key in keys.list_keys().await? {
                say(serde_json::to_string(&KeyView::new(&key, None))?)?;
            }
        }
        KeysCommand::Get { uid } => match keys.key_by_uid(parse_uid(&uid)?).await? {
            Some(key) => say(serde_json::to_string(&KeyView::new(&key, None))?)?,
            None => anyhow::bail!("no API key {uid}"),
        },
        KeysCommand::Delete { uid } => {
            if keys.delete_key(parse_uid(&uid)?).await? {
                say(format!("deleted API key {uid}"))?;
            } else {
                anyhow::bail!("no API key {uid}");
            }
        }
    }
    Ok(())
}

/// The command-line flag of a body field (`expiresAt` -> `expires-at`, `users[1]` -> `users`).
fn flag(field: &str) -> String {
    let base = field.split('[').next().unwrap_or(field);
    base.chars()
        .flat_map(|c| {
            if c.is_ascii_uppercase() {
                vec!['-', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_named_as_flags() {
        assert_eq!(super::flag("expiresAt"), "expires-at");
        assert_eq!(super::flag("users[1]"), "users");
        assert_eq!(super::flag("name"), "name");
    }
}
