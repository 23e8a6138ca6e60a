//! What an insight plugin declares and returns, as the host (and the API)
//! sees it, whatever WIT version the plugin was built against.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// How a plugin describes itself (`GET /insights`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "name": "progress", "version": "0.1.0", "title": "Progress over time",
    "description": "Best estimated 1RM (Epley), top set and volume of one exercise per week or month, with the trend.",
    "interface": "everfit:insights@0.1.0", "source": "built-in",
    "params": [
        { "name": "exercise", "description": "The exercise (case-insensitive)", "kind": { "type": "exercise" }, "required": true, "default": null },
        { "name": "period", "description": "Bucket size", "kind": { "type": "choice", "values": ["week", "month"] }, "required": false, "default": "week" }
    ]}))]
pub struct Descriptor {
    /// Identifier used in URLs.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    pub title: String,
    pub description: String,
    pub params: Vec<ParamSpec>,
    /// The WIT package version the plugin was built against.
    pub interface: String,
    /// `built-in`, or the file name in PLUGINS_DIR.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ParamSpec {
    pub name: String,
    pub description: String,
    pub kind: ParamKind,
    pub required: bool,
    /// Used when the parameter is left out.
    pub default: Option<String>,
}

/// What a parameter accepts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ParamKind {
    Text,
    Integer {
        min: i64,
        max: i64,
    },
    Number,
    Choice {
        values: Vec<String>,
    },
    /// An exercise name; the plugin receives only that exercise's entries.
    Exercise,
}

/// As `plugins check` prints it.
impl std::fmt::Display for ParamKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamKind::Text => write!(f, "text"),
            ParamKind::Integer { min, max } => write!(f, "whole number from {min} to {max}"),
            ParamKind::Number => write!(f, "number"),
            ParamKind::Choice { values } => write!(f, "one of {}", values.join(", ")),
            ParamKind::Exercise => write!(f, "exercise name"),
        }
    }
}

/// A typed insight result.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct InsightResult {
    pub summary: String,
    pub metrics: Vec<Metric>,
    pub series: Vec<Series>,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Series {
    pub name: String,
    /// A human name for legends, when the plugin gives one (interface 0.2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub unit: Option<String>,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// Start of the bucket, ISO-8601 UTC.
    pub at: String,
    pub at_ms: i64,
    pub label: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Validated parameters, every declared one present (defaults filled in).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}
