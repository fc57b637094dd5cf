//! `openapi.yaml` read as data: its operations and the roles each lets through
//! (`x-leadflow-roles`), the one table of who may do what that the tests check.

use serde_json::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "options"];

pub fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repo root");
    serde_yaml_ng::from_str(&text).expect("openapi.yaml parses")
}

/// (METHOD, path) of every operation in the spec.
pub fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

pub fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &spec["paths"][path][method.to_lowercase()];
    assert!(op.is_object(), "{method} {path} is not in openapi.yaml");
    op
}

pub fn roles_of(spec: &Value, method: &str, path: &str) -> Vec<String> {
    operation(spec, method, path)["x-leadflow-roles"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has x-leadflow-roles"))
        .iter()
        .map(|r| r.as_str().expect("a role name").to_string())
        .collect()
}
