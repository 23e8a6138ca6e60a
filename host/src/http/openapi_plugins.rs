//! The insight routes of the served OpenAPI document, one pair per
//! installed plugin: `/insights/{plugin}` and its chart become
//! `/insights/progress`, `/insights/progress/chart.svg`, ... each with the
//! plugin's own parameters, kinds and required flags, so generated clients
//! and fuzzers send what the plugin accepts.

use crate::plugins::insight::{Descriptor, ParamKind, ParamSpec};
use serde_json::{Map, Value, json};

const RUN: &str = "/insights/{plugin}";
const CHART: &str = "/insights/{plugin}/chart.svg";

/// Replaces the templated insight paths with one pair per plugin.
pub fn add_plugin_paths(doc: &mut Value, plugins: &[Descriptor]) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let (Some(run), Some(chart)) = (paths.remove(RUN), paths.remove(CHART)) else {
        return;
    };
    for plugin in plugins {
        paths.insert(
            format!("/insights/{}", plugin.name),
            for_plugin(&run, plugin, "run"),
        );
        paths.insert(
            format!("/insights/{}/chart.svg", plugin.name),
            for_plugin(&chart, plugin, "chart"),
        );
    }
}

/// The templated path item made concrete for `plugin`: the `plugin` path
/// parameter and the example plugin's parameters replaced by its own.
fn for_plugin(template: &Value, plugin: &Descriptor, what: &str) -> Value {
    let mut item = template.clone();
    if let Some(operation) = item.get_mut("get").and_then(Value::as_object_mut) {
        let host_params: Vec<Value> = operation
            .get("parameters")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter(|p| matches!(p["name"].as_str(), Some("userId" | "series")))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut parameters = host_params;
        // From interface 0.2.0 on the host takes the date range.
        if plugin.interface != "everfit:insights@0.1.0" {
            for (name, description) in [
                (
                    "from",
                    "First day (YYYY-MM-DD or RFC 3339 with an offset), inclusive",
                ),
                (
                    "to",
                    "Last day (YYYY-MM-DD or RFC 3339 with an offset), inclusive",
                ),
            ] {
                // The strict schema, as on every other route: a client (or
                // a schema-driven fuzzer) must not be led to send what the
                // server refuses.
                let mut schema = super::openapi_strict::date_or_datetime();
                schema["example"] = json!("2026-06-01");
                parameters.push(json!({
                    "name": name, "in": "query", "required": false,
                    "description": description,
                    "schema": schema,
                }));
            }
        }
        parameters.extend(plugin.params.iter().map(parameter));
        operation.insert("parameters".into(), Value::Array(parameters));
        operation.insert(
            "operationId".into(),
            json!(format!("{what}_insight_{}", plugin.name.replace('-', "_"))),
        );
        let summary = match what {
            "chart" => format!("{} (chart)", plugin.title),
            _ => plugin.title.clone(),
        };
        operation.insert("summary".into(), json!(summary));
        operation.insert("description".into(), json!(plugin.description));
    }
    item
}

/// One declared parameter as an OpenAPI query parameter.
fn parameter(spec: &ParamSpec) -> Value {
    let mut schema = match &spec.kind {
        ParamKind::Text | ParamKind::Exercise => {
            json!({ "type": "string", "minLength": 1, "maxLength": 200 })
        }
        ParamKind::Integer { min, max } => {
            json!({ "type": "integer", "minimum": min, "maximum": max })
        }
        ParamKind::Number => json!({ "type": "number" }),
        ParamKind::Choice { values } => json!({ "type": "string", "enum": values }),
    };
    if let (Some(default), Some(schema)) = (&spec.default, schema.as_object_mut()) {
        schema.insert("default".into(), default_value(&spec.kind, default));
    }
    let mut p = Map::new();
    p.insert("name".into(), json!(spec.name));
    p.insert("in".into(), json!("query"));
    p.insert("description".into(), json!(spec.description));
    p.insert("required".into(), json!(spec.required));
    p.insert("schema".into(), schema);
    Value::Object(p)
}

/// A default in the type of its schema (declared defaults are checked
/// values of their kind).
fn default_value(kind: &ParamKind, default: &str) -> Value {
    match kind {
        ParamKind::Integer { .. } => default.parse::<i64>().map_or(json!(default), |n| json!(n)),
        ParamKind::Number => default.parse::<f64>().map_or(json!(default), |n| json!(n)),
        _ => json!(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> Descriptor {
        Descriptor {
            name: "rep-maxes".into(),
            version: "1.0.0".into(),
            title: "Rep maxes".into(),
            description: "Best weight at 1, 3, 5 reps".into(),
            params: vec![
                ParamSpec {
                    name: "exercise".into(),
                    description: "The exercise".into(),
                    kind: ParamKind::Exercise,
                    required: true,
                    default: None,
                },
                ParamSpec {
                    name: "weeks".into(),
                    description: "Weeks back".into(),
                    kind: ParamKind::Integer { min: 1, max: 52 },
                    required: false,
                    default: Some("12".into()),
                },
            ],
            interface: "everfit:insights@0.1.0".into(),
            source: "plugins/rep-maxes.wasm".into(),
        }
    }

    fn document() -> Value {
        let mut doc = super::super::openapi::document();
        add_plugin_paths(&mut doc, &[plugin()]);
        doc
    }

    #[test]
    fn each_plugin_gets_its_own_paths_and_the_template_goes() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert!(!paths.contains_key(RUN) && !paths.contains_key(CHART));
        assert!(paths.contains_key("/insights/rep-maxes"));
        assert!(paths.contains_key("/insights/rep-maxes/chart.svg"));
        assert!(paths.contains_key("/insights"), "the list stays");
    }

    #[test]
    fn parameters_are_the_plugins_own_with_kinds_and_required_flags() {
        let doc = document();
        let run = &doc["paths"]["/insights/rep-maxes"]["get"];
        let names: Vec<&str> = run["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["userId", "exercise", "weeks"]);
        let exercise = &run["parameters"][1];
        assert_eq!(exercise["required"], true);
        assert_eq!(exercise["schema"]["minLength"], 1);
        let weeks = &run["parameters"][2];
        assert_eq!(weeks["required"], false);
        assert_eq!(weeks["schema"]["type"], "integer");
        assert_eq!(weeks["schema"]["maximum"], 52);
        assert_eq!(weeks["schema"]["default"], 12);
        assert_eq!(run["operationId"], "run_insight_rep_maxes");
        // The host's own parameter keeps its strict pattern.
        assert!(run["parameters"][0]["schema"]["pattern"].is_string());
        let chart = &doc["paths"]["/insights/rep-maxes/chart.svg"]["get"];
        let chart_names: Vec<&str> = chart["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(chart_names, ["userId", "series", "exercise", "weeks"]);
    }

    #[test]
    fn plugins_of_interface_0_2_0_document_the_date_range() {
        let mut v2 = plugin();
        v2.interface = "everfit:insights@0.2.0".into();
        let mut doc = super::super::openapi::document();
        add_plugin_paths(&mut doc, &[v2]);
        let names: Vec<&str> = doc["paths"]["/insights/rep-maxes"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["userId", "from", "to", "exercise", "weeks"]);
        // Only a date or a datetime, as the server accepts.
        for p in &doc["paths"]["/insights/rep-maxes"]["get"]["parameters"]
            .as_array()
            .unwrap()[1..3]
        {
            assert_eq!(
                p["schema"]["anyOf"],
                json!([
                    { "type": "string", "format": "date" },
                    { "type": "string", "format": "date-time" },
                ]),
                "{p}"
            );
        }
    }
}
