//! The `everfit` command as an operator meets it in the first five minutes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn dist(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(file)
}

/// `everfit` in `dir` (where it looks for `.env`), with only `env` set.
fn everfit(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_everfit"));
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("SQLITE_PATH", dir.join("data/everfit.db"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    everfit(dir, args, env).output().expect("runs everfit")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_bad_value_in_dotenv_is_named_and_stops_only_the_commands_that_read_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "PORT=eighty\n").unwrap();

    let out = run(dir.path(), &["jobs", "depth"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("persist: 0"),
        "{}",
        text(&out.stdout)
    );

    let out = run(dir.path(), &["serve"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("PORT=\"eighty\"") && stderr.contains("(set in .env)"),
        "{stderr}"
    );

    // The environment wins over .env, and then says nothing of it.
    let out = run(dir.path(), &["serve"], &[("PORT", "x")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("(set in .env)"));
}

#[test]
fn the_redis_queue_without_a_url_is_refused_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["jobs", "depth"], &[("QUEUE", "redis")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("needs REDIS_URL"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_help_lists_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["serve", "--help"], &[]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for var in ["HOST", "PORT", "MONGODB_URI", "REDIS_URL", "CURSOR_SECRET"] {
        assert!(help.contains(var), "{var} missing from:\n{help}");
    }
}

#[test]
fn redirected_logs_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["prs", "rebuild"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("using the embedded SQLite store"),
        "{stdout}"
    );
    assert!(!stdout.contains('\u{1b}'), "escape codes in {stdout:?}");
}

#[test]
fn a_reader_that_leaves_early_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let progress = dist("progress.wasm");
    let mut child = everfit(
        dir.path(),
        &["plugins", "check", progress.to_str().unwrap()],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Closed before the plugin is even loaded: every write meets a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn host_may_be_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = everfit(
        dir.path(),
        &["serve"],
        &[("HOST", "localhost"), ("PORT", "0")],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut listening = None;
    for line in lines {
        let line = line.unwrap();
        if line.contains("everfit listening") {
            listening = Some(line);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no start");
    }
    child.kill().unwrap();
    let _ = child.wait();
    let line = listening.expect("the server said where it listens");
    assert!(
        line.contains("127.0.0.1") || line.contains("[::1]"),
        "{line}"
    );
}

#[test]
fn production_refuses_to_start_without_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["serve"], &[("EVERFIT_ENV", "production")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("EVERFIT_ENV=production needs MASTER_KEY")
            && stderr.contains("EVERFIT_ENV=production needs CURSOR_SECRET"),
        "{stderr}"
    );
    let out = run(
        dir.path(),
        &["serve"],
        &[
            ("EVERFIT_ENV", "production"),
            ("MASTER_KEY", "0123456789abcdef0123456789abcdef"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("needs MASTER_KEY") && stderr.contains("needs CURSOR_SECRET"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("0123456789abcdef"),
        "the key is echoed: {stderr}"
    );
}

#[tokio::test]
async fn keys_bootstrapped_on_the_command_line_open_the_api() {
    use crate::auth::{MASTER, call, call_json};
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let master = [("MASTER_KEY", MASTER)];
    let out = run(dir.path(), &["keys", "list"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("needs MASTER_KEY"));

    let user = crate::helpers::USER;
    let out = run(
        dir.path(),
        &[
            "keys",
            "create",
            "--name",
            "first coach app",
            "--actions",
            "workouts.read,prs.read",
            "--users",
            user,
        ],
        &master,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let uid = created["uid"].as_str().unwrap().to_string();
    let secret = created["key"].as_str().unwrap().to_string();
    assert_eq!(
        created["actions"],
        serde_json::json!(["workouts.read", "prs.read"])
    );

    let out = run(dir.path(), &["keys", "list"], &master);
    let listed = text(&out.stdout);
    assert!(
        listed.contains(&uid) && !listed.contains(&secret),
        "{listed}"
    );
    let out = run(dir.path(), &["keys", "get", &uid], &master);
    assert!(out.status.success() && text(&out.stdout).contains("first coach app"));
    let out = run(
        dir.path(),
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--actions",
            "nope",
            "--users",
            "*",
        ],
        &master,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--actions"),
        "{}",
        text(&out.stderr)
    );

    let app = crate::helpers::spawn_app_at_with(dir.path().join("data/everfit.db"), |c| {
        c.master_key = Some(everfit::domain::access::MasterKey::new(MASTER).unwrap());
    })
    .await;
    let history = format!("/workouts/history?userId={user}");
    assert_eq!(
        call(&app, Method::GET, &history, Some(&secret), None)
            .await
            .status(),
        200
    );

    let out = run(dir.path(), &["keys", "delete", &uid], &master);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, body) = call_json(&app, Method::GET, &history, Some(&secret), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_api_key"))
    );
    let out = run(dir.path(), &["keys", "delete", &uid], &master);
    assert_eq!(out.status.code(), Some(1));
    app.stop().await;
}

#[test]
fn development_without_a_master_key_says_so_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = everfit(dir.path(), &["serve"], &[("PORT", "0")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut before_listening = Vec::new();
    let started = Instant::now();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("everfit listening") {
            break;
        }
        before_listening.push(line);
        assert!(started.elapsed() < Duration::from_secs(60), "no start");
    }
    child.kill().unwrap();
    let _ = child.wait();
    let warnings: Vec<&String> = before_listening
        .iter()
        .filter(|l| l.contains("MASTER_KEY"))
        .collect();
    assert_eq!(warnings.len(), 1, "{before_listening:#?}");
    assert!(
        warnings[0].contains("WARN") && warnings[0].contains("every request is allowed"),
        "{}",
        warnings[0]
    );
}
