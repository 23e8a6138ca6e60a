//! `everfit jobs failed|retry|depth`: the dead-letter list and queue depths.

use super::say;
use crate::queue::QueueName;
use crate::startup::config::Config;
use crate::startup::open_job_source;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List failed jobs (JSON, one per line).
    Failed {
        /// `persist` or `prs`; both when omitted.
        #[arg(long)]
        queue: Option<String>,
    },
    /// Put failed jobs back on their queue.
    Retry {
        /// `persist` or `prs`; both when omitted.
        #[arg(long)]
        queue: Option<String>,
        /// Only this job (as listed by `jobs failed`); all when omitted.
        #[arg(long)]
        id: Option<String>,
    },
    /// Jobs waiting or running per queue.
    Depth,
}

fn parse_queues(raw: Option<&str>) -> anyhow::Result<Vec<QueueName>> {
    match raw {
        None => Ok(QueueName::ALL.to_vec()),
        Some(name) => QueueName::parse(name)
            .map(|q| vec![q])
            .ok_or_else(|| anyhow::anyhow!("--queue {name:?} must be persist or prs")),
    }
}

pub async fn run(config: &Config, command: JobsCommand) -> anyhow::Result<()> {
    let Some(source) = open_job_source(config).await? else {
        anyhow::bail!("QUEUE=inline has no queue: set QUEUE=sqlite or QUEUE=redis (or REDIS_URL)");
    };
    let jobs = source.job_backend();
    match command {
        JobsCommand::Failed { queue } => {
            let mut total = 0;
            for q in parse_queues(queue.as_deref())? {
                for job in jobs.failed(q).await? {
                    say(serde_json::to_string(&job)?)?;
                    total += 1;
                }
            }
            eprintln!("{total} failed job(s) on the {} queue", jobs.kind());
        }
        JobsCommand::Retry { queue, id } => {
            let mut total = 0;
            for q in parse_queues(queue.as_deref())? {
                total += jobs.retry_failed(q, id.as_deref()).await?;
            }
            say(format!(
                "{total} job(s) put back on the {} queue",
                jobs.kind()
            ))?;
            if id.is_some() && total == 0 {
                anyhow::bail!("no failed job with that id");
            }
        }
        JobsCommand::Depth => {
            for q in QueueName::ALL {
                say(format!("{}: {}", q.as_str(), jobs.depth(q).await?))?;
            }
        }
    }
    Ok(())
}
