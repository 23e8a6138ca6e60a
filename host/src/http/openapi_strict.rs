//! Makes the generated OpenAPI document as strict as the server: what the
//! derive macros cannot say (id patterns, date formats, closed request
//! objects, the action names) is added to the document as served, so that
//! generated clients and fuzzers send what the server accepts, and a
//! request the document calls invalid is one the server refuses.
//!
//! What a schema cannot say stays in the descriptions: dates must lie
//! between 1900 and tomorrow, `from` must not be after `to`, a name must
//! not be blank once invisible characters are removed.

use crate::domain::access::actions::Action;
use serde_json::{Value, json};

/// A client or entry id: a MongoDB ObjectId in hex.
pub const OBJECT_ID_PATTERN: &str = "^[0-9a-fA-F]{24}$";

/// What `If-Match` may hold: `*` or one version from 1 up (18 digits at
/// most, so it fits the server's integer).
pub const IF_MATCH_PATTERN: &str = "^(\\*|\"0*[1-9][0-9]{0,17}\"|0*[1-9][0-9]{0,17})$";

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

fn object_id() -> Value {
    json!({ "type": "string", "pattern": OBJECT_ID_PATTERN, "example": "665f1c2b8a1e4d0012345678" })
}

/// A calendar date (that whole UTC day) or an RFC 3339 datetime.
/// What `from`/`to` accept (any other string is refused with 400).
pub(super) fn date_or_datetime() -> Value {
    json!({ "anyOf": [
        { "type": "string", "format": "date" },
        { "type": "string", "format": "date-time" },
    ] })
}

/// Replaces `schema` with `strict`, keeping its description and example.
fn replace_keeping_docs(schema: &mut Value, mut strict: Value) {
    for key in ["description", "example"] {
        if let Some(v) = schema.get(key) {
            strict[key] = v.clone();
        }
    }
    *schema = strict;
}

/// Tightens `doc` (an OpenAPI 3 document as JSON) in place.
pub fn tighten(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if METHODS.contains(&method.as_str()) {
                    tighten_operation(operation);
                }
            }
        }
    }
    if let Some(schemas) = doc
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            if name.ends_with("Request") {
                tighten_request_body(schema);
            }
        }
    }
}

fn tighten_operation(operation: &mut Value) {
    // `get_mut`, not indexing: indexing a missing key would add it as null.
    if let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for p in parameters {
            let strict = match p["name"].as_str() {
                Some("userId" | "id") => object_id(),
                Some("from" | "to") => date_or_datetime(),
                // `*`, or one strong ETag: a version number (quoted or not).
                Some("If-Match") => json!({ "type": "string", "pattern": IF_MATCH_PATTERN }),
                _ => continue,
            };
            if let Some(schema) = p.get_mut("schema") {
                replace_keeping_docs(schema, strict);
            }
        }
    }
    // Every route may also answer with the limits and failures every route
    // shares (401/403/429 with keys, 408, 413, 414, 431, 503, 500), always
    // in the envelope.
    if let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    {
        responses.entry("default").or_insert_with(|| {
            json!({
                "description": "Any other error, in the envelope: its `code` says which (docs/errors.md)",
                "content": { "application/json": {
                    "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } },
            })
        });
    }
}

fn tighten_request_body(schema: &mut Value) {
    if schema.get("type") != Some(&json!("object")) {
        return;
    }
    // Unknown fields are refused (each named in `details`).
    schema["additionalProperties"] = json!(false);
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        match name.as_str() {
            "userId" => replace_keeping_docs(property, object_id()),
            "date" => replace_keeping_docs(property, date_or_datetime()),
            "expiresAt" => {
                let mut either = date_or_datetime();
                either["anyOf"]
                    .as_array_mut()
                    .expect("anyOf")
                    .push(json!({ "type": "null" }));
                replace_keeping_docs(property, either);
            }
            "users" => {
                let items = json!({ "type": "string", "pattern": "^([0-9a-fA-F]{24}|\\*)$" });
                set_items(property, items);
            }
            "actions" => {
                let names: Vec<&str> = Action::ALL
                    .iter()
                    .map(|a| a.as_str())
                    .chain(["*"])
                    .collect();
                set_items(property, json!({ "type": "string", "enum": names }));
            }
            _ => {}
        }
    }
}

/// Sets the item schema of an array property, also when it is nullable
/// (`type: [array, null]` or `oneOf` with null).
fn set_items(property: &mut Value, items: Value) {
    if property.get("items").is_some() {
        property["items"] = items;
    } else if let Some(variants) = property.get_mut("oneOf").and_then(Value::as_array_mut) {
        for v in variants.iter_mut().filter(|v| v.get("items").is_some()) {
            v["items"] = items.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "paths": {
                "/workouts/{id}": { "get": {
                    "parameters": [
                        { "name": "id", "in": "path", "schema": { "type": "string" } },
                        { "name": "userId", "in": "query", "schema": { "type": "string", "example": "x" } },
                    ],
                    "responses": { "200": { "description": "ok" } },
                } },
                "/workouts/prs": { "get": {
                    "parameters": [
                        { "name": "from", "in": "query", "schema": { "type": ["string", "null"], "description": "Inclusive start" } },
                        { "name": "exercise", "in": "query", "schema": { "type": "string" } },
                    ],
                    "responses": { "default": { "description": "kept" } },
                } },
                "/health": { "get": { "responses": { "200": { "description": "ok" } } } },
            },
            "components": { "schemas": {
                "SubmitWorkoutsRequest": { "type": "object", "properties": {
                    "userId": { "type": "string", "description": "The client" },
                    "entries": { "type": "array", "items": { "$ref": "#/x" } },
                } },
                "CreateKeyRequest": { "type": "object", "properties": {
                    "actions": { "type": "array", "items": { "type": "string" } },
                    "users": { "type": "array", "items": { "type": "string" } },
                    "expiresAt": { "type": ["string", "null"] },
                } },
                "UpdateKeyRequest": { "type": "object", "properties": {
                    "users": { "oneOf": [ { "type": "null" }, { "type": "array", "items": { "type": "string" } } ] },
                } },
                "WorkoutView": { "type": "object", "properties": { "userId": { "type": "string" } } },
            } },
        })
    }

    #[test]
    fn ids_dates_and_errors_are_as_strict_as_the_server() {
        let mut d = doc();
        tighten(&mut d);
        let get = &d["paths"]["/workouts/{id}"]["get"];
        assert_eq!(get["parameters"][0]["schema"]["pattern"], OBJECT_ID_PATTERN);
        assert_eq!(get["parameters"][1]["schema"]["pattern"], OBJECT_ID_PATTERN);
        assert_eq!(get["parameters"][1]["schema"]["example"], "x");
        assert_eq!(
            get["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorEnvelope"
        );
        let prs = &d["paths"]["/workouts/prs"]["get"];
        let from = &prs["parameters"][0]["schema"];
        assert_eq!(from["anyOf"][0]["format"], "date");
        assert_eq!(from["anyOf"][1]["format"], "date-time");
        assert_eq!(from["description"], "Inclusive start");
        assert_eq!(prs["parameters"][1]["schema"], json!({ "type": "string" }));
        assert_eq!(prs["responses"]["default"]["description"], "kept");
        // Nothing is added where nothing was (a null would break the document).
        assert!(d["paths"]["/health"]["get"].get("parameters").is_none());
    }

    #[test]
    fn request_bodies_are_closed_and_their_ids_and_actions_named() {
        let mut d = doc();
        tighten(&mut d);
        let schemas = &d["components"]["schemas"];
        let submit = &schemas["SubmitWorkoutsRequest"];
        assert_eq!(submit["additionalProperties"], false);
        assert_eq!(submit["properties"]["userId"]["pattern"], OBJECT_ID_PATTERN);
        assert_eq!(submit["properties"]["userId"]["description"], "The client");
        let create = &schemas["CreateKeyRequest"];
        let actions = create["properties"]["actions"]["items"]["enum"]
            .as_array()
            .unwrap();
        assert!(actions.contains(&json!("workouts.create")));
        assert!(actions.contains(&json!("*")));
        assert_eq!(actions.len(), Action::ALL.len() + 1);
        assert_eq!(
            create["properties"]["users"]["items"]["pattern"],
            "^([0-9a-fA-F]{24}|\\*)$"
        );
        assert_eq!(
            create["properties"]["expiresAt"]["anyOf"][2]["type"],
            "null"
        );
        let update = &schemas["UpdateKeyRequest"];
        assert_eq!(
            update["properties"]["users"]["oneOf"][1]["items"]["pattern"],
            "^([0-9a-fA-F]{24}|\\*)$"
        );
        // Responses are not requests: left as generated.
        assert!(schemas["WorkoutView"].get("additionalProperties").is_none());
        assert!(
            schemas["WorkoutView"]["properties"]["userId"]
                .get("pattern")
                .is_none()
        );
    }

    #[test]
    fn the_served_document_is_tightened() {
        let served = super::super::openapi::document();
        for path in [
            "/workouts/history",
            "/workouts/exercises",
            "/workouts/export",
            "/workouts/prs",
        ] {
            let operation = &served["paths"][path]["get"];
            let user = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "userId")
                .unwrap();
            assert_eq!(user["schema"]["pattern"], OBJECT_ID_PATTERN, "{path}");
            assert!(operation["responses"]["default"].is_object(), "{path}");
        }
        let board = &served["components"]["schemas"]["PrAnswer"];
        assert_eq!(board["oneOf"].as_array().map(Vec::len), Some(2), "{board}");
        assert_eq!(
            served["components"]["schemas"]["NewEntryRequest"]["additionalProperties"],
            false
        );
    }
}
