//! `everfit prs rebuild`: recompute the read model and the day bests.

use super::{parse_user, progress_bar, say};
use crate::prs::read_model;
use crate::startup::config::Config;
use crate::startup::{open_store, pr_calculator};
use clap::Subcommand;
use std::time::Instant;

#[derive(Subcommand)]
pub enum PrsCommand {
    /// Recompute the read model and the day bests from the stored entries
    /// (run once after upgrading to build day bests for older entries).
    Rebuild {
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
    },
}

pub async fn run(config: &Config, command: PrsCommand) -> anyhow::Result<()> {
    let PrsCommand::Rebuild { user } = command;
    let user = user.as_deref().map(parse_user).transpose()?;
    let store = open_store(config).await?;
    let calculator = pr_calculator(config).await?;
    let bar = progress_bar(0, "rebuilding");
    let started = Instant::now();
    let rows = read_model::rebuild(store.as_ref(), calculator.as_ref(), user, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await?;
    bar.finish();
    say(format!(
        "rebuilt the read model and day bests of {rows} (user, exercise) keys in {:.2} s",
        started.elapsed().as_secs_f64()
    ))
}
