//! Access control over HTTP: the authorization matrix over every route,
//! key management, tenant tokens, rate limits, CORS and security headers.

use crate::helpers::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, SecondsFormat, Utc};
use everfit::startup::config::RateLimitSettings;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use std::num::NonZeroU32;

per_store!(
    the_authorization_matrix_holds_on_every_route,
    a_key_reaches_only_its_clients_and_another_clients_entry_stays_hidden,
    tenant_tokens_get_the_intersection_of_their_claims_and_their_key,
    keys_are_managed_with_the_master_key_and_their_secret_shown_once,
    without_a_master_key_everything_is_allowed_but_keys_cannot_be_managed,
    changing_the_master_key_retires_every_key,
    each_key_has_its_own_budget_and_a_burst_over_it_waits_for_the_next_window,
    without_a_master_key_each_remote_address_has_a_budget_and_this_machine_none,
    browsers_get_cors_answers_and_every_response_its_security_headers,
    openapi_declares_the_bearer_scheme_and_the_public_routes,
);

pub const MASTER: &str = "test-master-key-0123456789abcdef";

/// A protected app (master key set) without rate limits.
pub async fn protected_app() -> TestApp {
    spawn_app_with(|c| {
        c.master_key = Some(everfit::domain::access::MasterKey::new(MASTER).unwrap());
        c.rate_limit = None;
    })
    .await
}

/// Sends a request with `Authorization: Bearer <bearer>` (none when `None`).
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, format!("{}{}", app.address, path));
    if let Some(b) = bearer {
        request = request.bearer_auth(b);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("request")
}

/// A CSV file for the import routes of the matrix.
const IMPORT_CSV: &str = "entryId,date,exerciseName,setIndex,reps,weight,unit,weightKg,idempotencyKey,version\n\
    ,2026-06-01T00:00:00Z,Lunge,0,8,20,kg,20,,1\n";

/// POSTs a CSV body (Content-Type: text/csv).
pub async fn call_csv(
    app: &TestApp,
    path: &str,
    bearer: Option<&str>,
    csv: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}{}", app.address, path))
        .header("content-type", "text/csv")
        .body(csv.to_string());
    if let Some(b) = bearer {
        request = request.bearer_auth(b);
    }
    request.send().await.expect("request")
}

pub async fn call_json(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let r = call(app, method, path, bearer, body).await;
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Creates a key with the master key; returns (uid, secret).
pub async fn create_key(app: &TestApp, body: Value) -> (String, String) {
    let (status, key) = call_json(app, Method::POST, "/keys", Some(MASTER), Some(&body)).await;
    assert_eq!(status, 201, "{key}");
    (
        key["uid"].as_str().unwrap().to_string(),
        key["key"].as_str().unwrap().to_string(),
    )
}

const ALL_ACTIONS: [&str; 7] = [
    "workouts.create",
    "workouts.read",
    "workouts.update",
    "workouts.delete",
    "prs.read",
    "insights.read",
    "metrics.read",
];

fn key_body(name: &str, actions: &[&str], users: &[&str]) -> Value {
    json!({ "name": name, "actions": actions, "users": users })
}

/// A tenant token signed as a coach app would, in a few lines and without
/// the server's code: base64url(header).base64url(claims).HMAC-SHA256.
pub fn mint_token(secret: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{signature}")
}

fn token_claims(uid: &str, users: &[&str], exp_in_secs: i64) -> Value {
    json!({ "apiKeyUid": uid, "users": users, "exp": Utc::now().timestamp() + exp_in_secs })
}

/// `token` with one character of its signature changed.
fn tampered(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let mut chars: Vec<char> = signature.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    format!("{rest}.{}", chars.into_iter().collect::<String>())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Needs {
    Public,
    Master,
    /// The action, and whether the request names a client.
    Action(&'static str, bool),
}

struct Route {
    method: Method,
    /// The OpenAPI path it covers.
    template: &'static str,
    path: String,
    body: Option<Value>,
    needs: Needs,
    success: u16,
}

#[derive(Clone, Copy, Debug)]
enum Cred {
    NoHeader,
    Garbage,
    RevokedKey,
    ExpiredKey,
    KeyWithoutTheAction,
    KeyForOtherUsers,
    TokenForOtherUsers,
    TamperedToken,
    ExpiredToken,
    MasterKey,
    RightKey,
}

const CREDS: [Cred; 11] = [
    Cred::NoHeader,
    Cred::Garbage,
    Cred::RevokedKey,
    Cred::ExpiredKey,
    Cred::KeyWithoutTheAction,
    Cred::KeyForOtherUsers,
    Cred::TokenForOtherUsers,
    Cred::TamperedToken,
    Cred::ExpiredToken,
    Cred::MasterKey,
    Cred::RightKey,
];

/// The status and code `cred` must get on a route needing `needs`.
fn expected(cred: Cred, needs: Needs, success: u16) -> (u16, Option<&'static str>) {
    let data = match needs {
        Needs::Public => return (success, None),
        Needs::Master => None,
        Needs::Action(_, names_client) => Some(names_client),
    };
    match cred {
        Cred::NoHeader => (401, Some("missing_authorization_header")),
        Cred::Garbage | Cred::RevokedKey => (403, Some("invalid_api_key")),
        Cred::ExpiredKey => (403, Some("expired_api_key")),
        Cred::TamperedToken => (403, Some("invalid_tenant_token")),
        Cred::ExpiredToken => (403, Some("expired_tenant_token")),
        Cred::MasterKey => (success, None),
        Cred::KeyWithoutTheAction
        | Cred::KeyForOtherUsers
        | Cred::TokenForOtherUsers
        | Cred::RightKey
            if data.is_none() =>
        {
            (403, Some("master_key_required"))
        }
        Cred::KeyWithoutTheAction => (403, Some("action_not_allowed")),
        Cred::KeyForOtherUsers | Cred::TokenForOtherUsers if data == Some(true) => {
            (403, Some("user_not_allowed"))
        }
        Cred::KeyForOtherUsers | Cred::TokenForOtherUsers | Cred::RightKey => (success, None),
    }
}

async fn the_authorization_matrix_holds_on_every_route() {
    let app = protected_app().await;
    // Data the reads find.
    let (status, posted) = call_json(
        &app,
        Method::POST,
        "/workouts",
        Some(MASTER),
        Some(&json!({ "userId": USER, "entries": single("Bench Press", "2026-06-01", 5, 100, "kg") })),
    )
    .await;
    assert_eq!(status, 202, "{posted}");
    let entry_id = posted["ids"][0].as_str().unwrap().to_string();

    // One credential of each kind.
    let (_, right) = create_key(&app, key_body("right", &ALL_ACTIONS, &[USER])).await;
    let mut without: std::collections::HashMap<&str, String> = Default::default();
    for action in ALL_ACTIONS {
        let others: Vec<&str> = ALL_ACTIONS.into_iter().filter(|a| *a != action).collect();
        let (_, secret) = create_key(&app, key_body("without", &others, &["*"])).await;
        without.insert(action, secret);
    }
    let (_, other_users) = create_key(&app, key_body("others", &ALL_ACTIONS, &[OTHER_USER])).await;
    let (signer_uid, signer) = create_key(&app, key_body("signer", &["*"], &["*"])).await;
    let token_other = mint_token(&signer, &token_claims(&signer_uid, &[OTHER_USER], 3600));
    let token_tampered = tampered(&mint_token(
        &signer,
        &token_claims(&signer_uid, &[USER], 3600),
    ));
    let token_expired = mint_token(&signer, &token_claims(&signer_uid, &[USER], -10));
    let (revoked_uid, revoked) = create_key(&app, key_body("revoked", &["*"], &["*"])).await;
    let r = call(
        &app,
        Method::DELETE,
        &format!("/keys/{revoked_uid}"),
        Some(MASTER),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let expires_at =
        (Utc::now() + Duration::milliseconds(1500)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let (_, expired) = create_key(
        &app,
        json!({ "name": "expiring", "actions": ["*"], "users": ["*"], "expiresAt": expires_at }),
    )
    .await;
    let (spare_uid, _) = create_key(&app, key_body("spare", &["prs.read"], &[USER])).await;
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;

    let progress = format!("userId={USER}&exercise=Bench%20Press");
    let routes = vec![
        Route {
            method: Method::POST,
            template: "/workouts",
            path: "/workouts".into(),
            body: Some(
                json!({ "userId": USER, "entries": single("Squat", "2026-06-02", 5, 100, "kg") }),
            ),
            needs: Needs::Action("workouts.create", true),
            success: 202,
        },
        Route {
            method: Method::GET,
            template: "/workouts/{id}",
            path: format!("/workouts/{entry_id}?userId={USER}"),
            body: None,
            needs: Needs::Action("workouts.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/workouts/history",
            path: format!("/workouts/history?userId={USER}"),
            body: None,
            needs: Needs::Action("workouts.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/workouts/export",
            path: format!("/workouts/export?userId={USER}&format=ndjson"),
            body: None,
            needs: Needs::Action("workouts.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/workouts/exercises",
            path: format!("/workouts/exercises?userId={USER}"),
            body: None,
            needs: Needs::Action("workouts.read", true),
            success: 200,
        },
        Route {
            method: Method::PUT,
            template: "/workouts/{id}",
            path: format!("/workouts/{entry_id}?userId={USER}"),
            body: Some(json!({ "exerciseName": "Bench Press", "date": "2026-06-01",
                               "sets": [ { "reps": 6, "weight": 100, "unit": "kg" } ] })),
            needs: Needs::Action("workouts.update", true),
            success: 202,
        },
        Route {
            method: Method::DELETE,
            template: "/workouts/{id}",
            path: "(a fresh entry)".into(),
            body: None,
            needs: Needs::Action("workouts.delete", true),
            success: 202,
        },
        Route {
            method: Method::POST,
            template: "/imports",
            path: format!("/imports?userId={USER}&format=everfit"),
            // A string body is sent as text/csv.
            body: Some(Value::String(IMPORT_CSV.into())),
            needs: Needs::Action("workouts.create", true),
            success: 202,
        },
        Route {
            method: Method::GET,
            template: "/imports/{id}",
            path: "(an import)".into(),
            body: None,
            needs: Needs::Action("workouts.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/workouts/prs",
            path: format!("/workouts/prs?{progress}"),
            body: None,
            needs: Needs::Action("prs.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/workouts/prs",
            path: format!("/workouts/prs?userId={USER}&sort=lastPr"),
            body: None,
            needs: Needs::Action("prs.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/metrics",
            path: "/metrics".into(),
            body: None,
            needs: Needs::Action("metrics.read", false),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights",
            path: "/insights".into(),
            body: None,
            needs: Needs::Action("insights.read", false),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/progress",
            path: format!("/insights/progress?{progress}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/progress/chart.svg",
            path: format!("/insights/progress/chart.svg?{progress}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/rep-max",
            path: format!("/insights/rep-max?{progress}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/rep-max/chart.svg",
            path: format!("/insights/rep-max/chart.svg?{progress}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/muscle-volume",
            path: format!("/insights/muscle-volume?userId={USER}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/muscle-volume/chart.svg",
            path: format!("/insights/muscle-volume/chart.svg?userId={USER}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/consistency",
            path: format!("/insights/consistency?userId={USER}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/consistency/chart.svg",
            path: format!("/insights/consistency/chart.svg?userId={USER}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/plateaus",
            path: format!("/insights/plateaus?userId={USER}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/insights/plateaus/chart.svg",
            path: format!("/insights/plateaus/chart.svg?userId={USER}"),
            body: None,
            needs: Needs::Action("insights.read", true),
            success: 200,
        },
        // Last of the client's routes: it erases what the others read.
        Route {
            method: Method::DELETE,
            template: "/users/{userId}/workouts",
            path: format!("/users/{USER}/workouts"),
            body: None,
            needs: Needs::Action("workouts.delete", true),
            success: 200,
        },
        Route {
            method: Method::POST,
            template: "/keys",
            path: "/keys".into(),
            body: Some(key_body("made in the matrix", &["prs.read"], &[USER])),
            needs: Needs::Master,
            success: 201,
        },
        Route {
            method: Method::GET,
            template: "/keys",
            path: "/keys".into(),
            body: None,
            needs: Needs::Master,
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "/keys/{uid}",
            path: format!("/keys/{spare_uid}"),
            body: None,
            needs: Needs::Master,
            success: 200,
        },
        Route {
            method: Method::PATCH,
            template: "/keys/{uid}",
            path: format!("/keys/{spare_uid}"),
            body: Some(json!({ "name": "renamed" })),
            needs: Needs::Master,
            success: 200,
        },
        Route {
            method: Method::DELETE,
            template: "/keys/{uid}",
            path: "(a fresh key)".into(),
            body: None,
            needs: Needs::Master,
            success: 204,
        },
        Route {
            method: Method::GET,
            template: "/health",
            path: "/health".into(),
            body: None,
            needs: Needs::Public,
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "(not in the document)",
            path: "/openapi.json".into(),
            body: None,
            needs: Needs::Public,
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "(not in the document)",
            path: "/docs/".into(),
            body: None,
            needs: Needs::Public,
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "(not in the document)",
            path: "/app".into(),
            body: None,
            needs: Needs::Public,
            success: 200,
        },
        Route {
            method: Method::GET,
            template: "(not in the document)",
            path: "/app/app.js".into(),
            body: None,
            needs: Needs::Public,
            success: 200,
        },
    ];

    // Every documented operation is in the matrix.
    let (_, doc) = call_json(&app, Method::GET, "/openapi.json", None, None).await;
    for (template, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            assert!(
                routes
                    .iter()
                    .any(|r| r.template == template && r.method == method),
                "{method} {template} is not in the authorization matrix"
            );
        }
    }

    let mut checked = 0;
    for route in &routes {
        for cred in CREDS {
            let bearer: Option<String> = match cred {
                Cred::NoHeader => None,
                Cred::Garbage => Some("not-a-key".into()),
                Cred::RevokedKey => Some(revoked.clone()),
                Cred::ExpiredKey => Some(expired.clone()),
                Cred::KeyWithoutTheAction => Some(match route.needs {
                    Needs::Action(action, _) => without[action].clone(),
                    _ => without["prs.read"].clone(),
                }),
                Cred::KeyForOtherUsers => Some(other_users.clone()),
                Cred::TokenForOtherUsers => Some(token_other.clone()),
                Cred::TamperedToken => Some(token_tampered.clone()),
                Cred::ExpiredToken => Some(token_expired.clone()),
                Cred::MasterKey => Some(MASTER.into()),
                Cred::RightKey => Some(right.clone()),
            };
            let path = match route.path.as_str() {
                "(a fresh key)" => {
                    let (uid, _) =
                        create_key(&app, key_body("to delete", &["prs.read"], &[USER])).await;
                    format!("/keys/{uid}")
                }
                "(a fresh entry)" => {
                    let batch = json!({ "userId": USER, "entries": single("Row", "2026-06-03", 5, 60, "kg") });
                    let (status, posted) =
                        call_json(&app, Method::POST, "/workouts", Some(MASTER), Some(&batch))
                            .await;
                    assert_eq!(status, 202, "{posted}");
                    format!(
                        "/workouts/{}?userId={USER}",
                        posted["ids"][0].as_str().unwrap()
                    )
                }
                "(an import)" => {
                    let r = call_csv(
                        &app,
                        &format!("/imports?userId={USER}&format=everfit"),
                        Some(MASTER),
                        IMPORT_CSV,
                    )
                    .await;
                    assert_eq!(r.status(), 202);
                    let posted: Value = r.json().await.unwrap();
                    format!("/imports/{}?userId={USER}", posted["id"].as_str().unwrap())
                }
                _ => route.path.clone(),
            };
            let r = match &route.body {
                Some(Value::String(csv)) => call_csv(&app, &path, bearer.as_deref(), csv).await,
                body => {
                    call(
                        &app,
                        route.method.clone(),
                        &path,
                        bearer.as_deref(),
                        body.as_ref(),
                    )
                    .await
                }
            };
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            let (want, code) = expected(cred, route.needs, route.success);
            assert_eq!(status, want, "{cred:?} on {} {path}: {text}", route.method);
            if let Some(code) = code {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_envelope(&body, want, path.split('?').next().unwrap());
                assert_eq!(
                    body["code"], code,
                    "{cred:?} on {} {path}: {body}",
                    route.method
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * CREDS.len());
}

async fn a_key_reaches_only_its_clients_and_another_clients_entry_stays_hidden() {
    let app = protected_app().await;
    let (_, key) = create_key(&app, key_body("coach", &ALL_ACTIONS, &[USER])).await;
    let (status, posted) = call_json(
        &app,
        Method::POST,
        "/workouts",
        Some(MASTER),
        Some(&json!({ "userId": OTHER_USER, "entries": single("Squat", "2026-06-01", 5, 100, "kg") })),
    )
    .await;
    assert_eq!(status, 202);
    let theirs = posted["ids"][0].as_str().unwrap();
    // Asked as the key's own client: as today, not found (never the entry).
    let (status, body) = call_json(
        &app,
        Method::GET,
        &format!("/workouts/{theirs}?userId={USER}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("workout_not_found"))
    );
    // Asked as the other client: refused.
    let (status, body) = call_json(
        &app,
        Method::GET,
        &format!("/workouts/{theirs}?userId={OTHER_USER}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("user_not_allowed"))
    );
    // A batch naming the other client: nothing accepted.
    let (status, body) = call_json(
        &app,
        Method::POST,
        "/workouts",
        Some(&key),
        Some(&json!({ "userId": OTHER_USER, "entries": single("Squat", "2026-06-02", 5, 200, "kg") })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("user_not_allowed"))
    );
    let (_, history) = call_json(
        &app,
        Method::GET,
        &format!("/workouts/history?userId={OTHER_USER}"),
        Some(MASTER),
        None,
    )
    .await;
    assert_eq!(history["count"], 1, "{history}");
}

async fn tenant_tokens_get_the_intersection_of_their_claims_and_their_key() {
    let app = protected_app().await;
    let (uid, secret) = create_key(
        &app,
        key_body("coach", &["workouts.read"], &[USER, OTHER_USER]),
    )
    .await;
    let token = mint_token(&secret, &token_claims(&uid, &[USER], 3600));
    let get = |path: String, bearer: String| {
        let app = &app;
        async move { call_json(app, Method::GET, &path, Some(&bearer), None).await }
    };
    let (status, _) = get(format!("/workouts/history?userId={USER}"), token.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = get(
        format!("/workouts/history?userId={OTHER_USER}"),
        token.clone(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("user_not_allowed"))
    );
    // The key's actions bound the token's.
    let (status, body) = get(
        format!("/workouts/prs?userId={USER}&exercise=Squat"),
        token.clone(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("action_not_allowed"))
    );
    // Users beyond the key's are refused outright.
    let beyond = mint_token(
        &secret,
        &token_claims(&uid, &[USER, "665f1c2b8a1e4d00aaaaaaaa"], 3600),
    );
    let (status, body) = get(format!("/workouts/history?userId={USER}"), beyond).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_tenant_token"))
    );
    // A token naming one key but signed with another's secret.
    let (_, other_secret) = create_key(&app, key_body("other", &["*"], &["*"])).await;
    let forged = mint_token(&other_secret, &token_claims(&uid, &[USER], 3600));
    let (status, body) = get(format!("/workouts/history?userId={USER}"), forged).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_tenant_token"))
    );
    // Deleting the key retires its tokens at once.
    let r = call(
        &app,
        Method::DELETE,
        &format!("/keys/{uid}"),
        Some(MASTER),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let (status, body) = get(format!("/workouts/history?userId={USER}"), token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_tenant_token"))
    );
}

async fn keys_are_managed_with_the_master_key_and_their_secret_shown_once() {
    let app = protected_app().await;
    let (status, created) = call_json(
        &app,
        Method::POST,
        "/keys",
        Some(MASTER),
        Some(
            &json!({ "name": "Coach app", "description": "iOS", "actions": ["workouts.read"],
                      "users": [USER], "expiresAt": "2999-01-01T00:00:00Z" }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let uid = created["uid"].as_str().unwrap().to_string();
    let secret = created["key"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert_eq!(created["actions"], json!(["workouts.read"]));
    assert_eq!(created["expiresAt"], "2999-01-01T00:00:00Z");

    let (status, list) = call_json(&app, Method::GET, "/keys", Some(MASTER), None).await;
    assert_eq!(status, 200);
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
    assert!(list["results"][0].get("key").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));
    let (status, one) = call_json(
        &app,
        Method::GET,
        &format!("/keys/{uid}"),
        Some(MASTER),
        None,
    )
    .await;
    assert_eq!((status, one["name"].as_str()), (200, Some("Coach app")));
    assert!(one.get("key").is_none());

    // Users change; actions and expiry do not.
    let (status, body) = call_json(
        &app,
        Method::GET,
        &format!("/workouts/history?userId={OTHER_USER}"),
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("user_not_allowed"))
    );
    let (status, patched) = call_json(
        &app,
        Method::PATCH,
        &format!("/keys/{uid}"),
        Some(MASTER),
        Some(&json!({ "users": [USER, OTHER_USER], "description": null })),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["description"], Value::Null);
    let (status, _) = call_json(
        &app,
        Method::GET,
        &format!("/workouts/history?userId={OTHER_USER}"),
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call_json(
        &app,
        Method::PATCH,
        &format!("/keys/{uid}"),
        Some(MASTER),
        Some(&json!({ "actions": ["*"] })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed"))
    );
    assert_eq!(body["details"][0]["field"], "actions");

    let (status, body) = call_json(
        &app,
        Method::POST,
        "/keys",
        Some(MASTER),
        Some(&json!({ "name": "x", "actions": ["workouts.nuke"], "users": ["*"] })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_failed"))
    );
    assert_eq!(body["details"][0]["field"], "actions[0]");

    let r = call(
        &app,
        Method::DELETE,
        &format!("/keys/{uid}"),
        Some(MASTER),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    for (method, path) in [
        (Method::GET, format!("/keys/{uid}")),
        (Method::DELETE, format!("/keys/{uid}")),
        (Method::GET, "/keys/not-a-uid".to_string()),
    ] {
        let (status, body) = call_json(&app, method, &path, Some(MASTER), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("key_not_found")),
            "{path}"
        );
    }
    let (status, body) = call_json(
        &app,
        Method::GET,
        &format!("/workouts/history?userId={USER}"),
        Some(&secret),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_api_key"))
    );

    // Not stored in the clear: the secret is nowhere in the data files.
    let dir = app.db_path.parent().unwrap().to_path_buf();
    let (_, live) = create_key(&app, key_body("kept", &["*"], &["*"])).await;
    let mut bytes = Vec::new();
    for file in std::fs::read_dir(&dir).unwrap() {
        let file = file.unwrap().path();
        if file.is_file() {
            bytes.extend(std::fs::read(file).unwrap());
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(&live) && !text.contains(&secret));
}

async fn without_a_master_key_everything_is_allowed_but_keys_cannot_be_managed() {
    let app = spawn_app().await;
    let (status, _) = app
        .get_json(&format!("/workouts/history?userId={USER}"))
        .await;
    assert_eq!(status, 200);
    let r = call(
        &app,
        Method::GET,
        &format!("/workouts/history?userId={USER}"),
        Some("anything"),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let (status, body) = call_json(&app, Method::GET, "/keys", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("master_key_not_set"))
    );
}

async fn changing_the_master_key_retires_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("everfit.db");
    let with_master = |master: &'static str| {
        move |c: &mut everfit::startup::config::Config| {
            c.master_key = Some(everfit::domain::access::MasterKey::new(master).unwrap());
        }
    };
    let app = spawn_app_at_with(path.clone(), with_master(MASTER)).await;
    let (_, secret) = create_key(&app, key_body("coach", &["*"], &["*"])).await;
    let history = format!("/workouts/history?userId={USER}");
    assert_eq!(
        call(&app, Method::GET, &history, Some(&secret), None)
            .await
            .status(),
        200
    );
    app.stop().await;
    let app = spawn_app_at_with(path, with_master("a-new-master-key-after-rotation")).await;
    let (status, body) = call_json(&app, Method::GET, &history, Some(&secret), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("invalid_api_key"))
    );
    app.stop().await;
}

fn limited(per_second: u32, burst: u32) -> Option<RateLimitSettings> {
    Some(RateLimitSettings {
        per_second: NonZeroU32::new(per_second).unwrap(),
        burst: NonZeroU32::new(burst).unwrap(),
    })
}

/// Sends `n` requests; returns how many passed and the first refusal.
async fn burst(
    app: &TestApp,
    bearer: Option<&str>,
    n: usize,
) -> (usize, Option<reqwest::Response>) {
    let path = format!("/workouts/history?userId={USER}");
    let mut passed = 0;
    for _ in 0..n {
        let r = call(app, Method::GET, &path, bearer, None).await;
        match r.status().as_u16() {
            200 => passed += 1,
            429 => return (passed, Some(r)),
            other => panic!("unexpected {other}"),
        }
    }
    (passed, None)
}

async fn assert_rate_limited(r: reqwest::Response) -> u64 {
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 429, "/workouts/history");
    assert_eq!(body["code"], "rate_limited");
    retry_after
}

async fn each_key_has_its_own_budget_and_a_burst_over_it_waits_for_the_next_window() {
    let app = spawn_app_with(|c| {
        c.master_key = Some(everfit::domain::access::MasterKey::new(MASTER).unwrap());
        c.rate_limit = limited(1, 3);
    })
    .await;
    let (a_uid, a) = create_key(&app, key_body("a", &["*"], &["*"])).await;
    let (_, b) = create_key(&app, key_body("b", &["*"], &["*"])).await;
    let (passed, refused) = burst(&app, Some(&a), 10).await;
    assert_eq!(passed, 3, "the burst");
    let retry_after = assert_rate_limited(refused.expect("a 429")).await;
    // A tenant token spends its key's budget, not a new one.
    let token = mint_token(&a, &token_claims(&a_uid, &[USER], 3600));
    let (passed, refused) = burst(&app, Some(&token), 1).await;
    assert_eq!(passed, 0);
    assert_rate_limited(refused.expect("a 429")).await;
    // Another key is not starved.
    let (passed, _) = burst(&app, Some(&b), 1).await;
    assert_eq!(passed, 1);
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    let (passed, refused) = burst(&app, Some(&a), 1).await;
    assert_eq!(
        (passed, refused.is_none()),
        (1, true),
        "the next window passes"
    );
}

async fn without_a_master_key_each_remote_address_has_a_budget_and_this_machine_none() {
    use axum::extract::ConnectInfo;
    use tower::ServiceExt;
    // Served in memory: the peer address is set on the request, nothing is sent.
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path().join("everfit.db"));
    config.rate_limit = limited(1, 2);
    let mut built = everfit::startup::build(&config).await.unwrap();
    if let Some(preparing) = built.preparation.take() {
        preparing.await.unwrap().unwrap();
    }
    let router = everfit::http::router(built.ctx, std::time::Duration::from_secs(30));
    let from = |peer: &str| {
        let mut request = axum::http::Request::get(format!("/workouts/history?userId={USER}"))
            .body(axum::body::Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo::<std::net::SocketAddr>(peer.parse().unwrap()));
        router.clone().oneshot(request)
    };
    for _ in 0..2 {
        assert_eq!(from("192.0.2.7:5000").await.unwrap().status(), 200);
    }
    let refused = from("192.0.2.7:5001").await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = axum::body::to_bytes(refused.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_envelope(&body, 429, "/workouts/history");
    assert_eq!(body["code"], "rate_limited");
    // Another address has its own budget; this machine is not limited.
    assert_eq!(from("192.0.2.8:5000").await.unwrap().status(), 200);
    for _ in 0..5 {
        assert_eq!(from("127.0.0.1:5000").await.unwrap().status(), 200);
    }
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    assert_eq!(
        from("192.0.2.7:5002").await.unwrap().status(),
        200,
        "the next window passes"
    );
}

async fn browsers_get_cors_answers_and_every_response_its_security_headers() {
    let app = spawn_app_with(|c| {
        c.master_key = Some(everfit::domain::access::MasterKey::new(MASTER).unwrap());
        c.cors_origins =
            everfit::http::auth::headers::CorsOrigins::parse("https://coach.example.com").unwrap();
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, format!("{}/workouts/history", app.address))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let r = preflight("https://coach.example.com").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://coach.example.com"
    );
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    assert!(
        r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    let r = preflight("https://evil.example.com").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // A refusal is readable by the allowed origin, and not cached.
    let r = app
        .client
        .get(format!("{}/workouts/history?userId={USER}", app.address))
        .header("origin", "https://coach.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://coach.example.com"
    );
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = call(
        &app,
        Method::GET,
        &format!("/workouts/history?userId={USER}"),
        Some(MASTER),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        r.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );

    let r = app.get("/docs/").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(r.headers().get("cache-control").is_none());
    // Every script and stylesheet the page loads is its own.
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>") && !html.contains("http://") && !html.contains("https://"));
}

async fn openapi_declares_the_bearer_scheme_and_the_public_routes() {
    let app = spawn_app().await;
    let (_, doc) = app.get_json("/openapi.json").await;
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["type"],
        "http"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{ "bearerAuth": [] }]));
    assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([{}]));
    for path in ["/keys", "/keys/{uid}"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}
