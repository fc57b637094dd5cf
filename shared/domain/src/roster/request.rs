//! `POST /v1/reps/{id}/transfer` as the API takes it, checked field by field (every
//! problem at once, each naming its field): where the leads go (`to`: exactly one of a
//! rep, a pool or routing), which of them (`filter`: the lead list's own filters, parsed
//! by [`ListQuery::parse`] so the names and the refusals are the list's), what happens to
//! their follow-up clocks (`sla`), and a note for the owner-change records.

use crate::assign::actions::MAX_NOTE;
use crate::lead::error::valid_id;
use crate::workspace::query::{Filters, ListQuery};
use crate::FieldErrors;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Where the leads go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// To this rep (`transferred`; their holding cap applies).
    Rep(String),
    /// Into this pool, unowned and waiting to be claimed or assigned (`transferred`).
    Pool(String),
    /// Through routing: the lead's pool by the routing rules, the rep by the pool's
    /// strategy among its eligible members, never the rep the leads leave.
    Routing,
}

impl Target {
    /// As the request gives it: `{"rep": "li"}`, `{"pool": "east"}`, `{"routing": true}`.
    pub fn to_json(&self) -> Value {
        match self {
            Target::Rep(rep) => json!({ "rep": rep }),
            Target::Pool(pool) => json!({ "pool": pool }),
            Target::Routing => json!({ "routing": true }),
        }
    }
}

/// What a move does to the lead's follow-up clocks (docs/src/sales-managers.md#roster).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaOnMove {
    /// The clocks start again for the new owner, as on any owner change: T is the move,
    /// so first contact is due within its span of the move.
    #[default]
    Restart,
    /// The new owner inherits the deadlines as they stand: T stays the previous owner's,
    /// so nothing is due later than it already was (a reminder already sent is not sent
    /// again).
    Keep,
}

/// A transfer as asked for and stored on its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub to: Target,
    /// The list filters as given (name → value): empty moves every open lead.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: BTreeMap<String, String>,
    #[serde(default)]
    pub sla: SlaOnMove,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The body's fields.
const FIELDS: &[&str] = &["to", "filter", "sla", "note"];

/// Parameters of the lead list that are not filters of a transfer, and why.
const NOT_HERE: &[(&str, &str)] = &[
    ("owner", "is the rep in the path: a transfer moves that rep's leads"),
    (
        "pool",
        "lists leads waiting unowned in a pool; a rep's leads wait in none",
    ),
    ("sort", "is not a filter: a transfer walks the rep's leads oldest first"),
    ("limit", "is not a filter: a transfer moves every lead that matches"),
    ("cursor", "is not a filter: a transfer keeps its own place"),
    ("q", "is the duplicate check, not a filter"),
];

impl TransferRequest {
    /// Reads a JSON object body.
    pub fn parse(body: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let empty = serde_json::Map::new();
        let object = body.as_object().unwrap_or(&empty);
        for name in object.keys() {
            if !FIELDS.contains(&name.as_str()) {
                errors.push(name.as_str(), "is not a field of a transfer (to, filter, sla, note)");
            }
        }
        let to = parse_target(object.get("to"), &mut errors);
        let filter = parse_filter(object.get("filter"), &mut errors);
        let sla = match object.get("sla") {
            None | Some(Value::Null) => SlaOnMove::default(),
            Some(Value::String(s)) if s == "restart" => SlaOnMove::Restart,
            Some(Value::String(s)) if s == "keep" => SlaOnMove::Keep,
            Some(_) => {
                errors.push("sla", "must be `restart` (the default) or `keep`");
                SlaOnMove::default()
            }
        };
        let note = match object.get("note") {
            None | Some(Value::Null) => None,
            Some(Value::String(n)) if n.chars().count() <= MAX_NOTE => Some(n.clone()),
            Some(_) => {
                errors.push("note", format!("must be text of at most {MAX_NOTE} characters"));
                None
            }
        };
        match to {
            Some(to) => errors.into_result(Self { to, filter, sla, note }),
            None => Err(errors),
        }
    }

    /// The filters a lead must pass to move (checked when the request was taken).
    pub fn filters(&self) -> Filters {
        ListQuery::parse(self.filter.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map(|q| q.filters)
            .unwrap_or_default()
    }
}

fn parse_target(value: Option<&Value>, errors: &mut FieldErrors) -> Option<Target> {
    const ONE_OF: &str = "must name exactly one of `rep` (a rep id), `pool` (a pool id) or `routing` (true)";
    let Some(Value::Object(to)) = value else {
        errors.push("to", ONE_OF);
        return None;
    };
    if to.len() != 1 {
        errors.push("to", ONE_OF);
        return None;
    }
    let (kind, value) = to.iter().next().expect("one entry");
    let id = || value.as_str().filter(|id| valid_id(id)).map(str::to_string);
    let target = match kind.as_str() {
        "rep" => id().map(Target::Rep),
        "pool" => id().map(Target::Pool),
        "routing" if value == &Value::Bool(true) => Some(Target::Routing),
        "routing" => {
            errors.push("to.routing", "must be true");
            return None;
        }
        _ => {
            errors.push("to", ONE_OF);
            return None;
        }
    };
    if target.is_none() {
        errors.push(
            format!("to.{kind}"),
            "must be an id of 1 to 64 letters, digits, `-` or `_`",
        );
    }
    target
}

fn parse_filter(value: Option<&Value>, errors: &mut FieldErrors) -> BTreeMap<String, String> {
    let filter = match value {
        None | Some(Value::Null) => return BTreeMap::new(),
        Some(Value::Object(filter)) => filter,
        Some(_) => {
            errors.push(
                "filter",
                "must be an object of the lead list's filters, e.g. {\"stage\": \"mql\"}",
            );
            return BTreeMap::new();
        }
    };
    let mut pairs = BTreeMap::new();
    for (name, value) in filter {
        let field = format!("filter.{name}");
        if let Some((_, why)) = NOT_HERE.iter().find(|(n, _)| n == name) {
            errors.push(field, why);
            continue;
        }
        match value {
            Value::String(text) => {
                pairs.insert(name.clone(), text.clone());
            }
            _ => errors.push(field, "must be a string, as in the lead list's query string"),
        }
    }
    if let Err(found) = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        for e in found.0 {
            errors.push(format!("filter.{}", e.field), e.reason);
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::Stage;

    /// The fields named, sorted.
    fn fields(body: Value) -> Vec<String> {
        let mut fields: Vec<String> = TransferRequest::parse(&body)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        fields
    }

    #[test]
    fn reads_a_transfer() {
        let request = TransferRequest::parse(&json!({
            "to": {"pool": "east"},
            "filter": {"stage": "mql", "created_from": "2026-11-01", "cell": "A1"},
            "sla": "keep",
            "note": "zhang left",
        }))
        .unwrap();
        assert_eq!(request.to, Target::Pool("east".into()));
        assert_eq!(request.sla, SlaOnMove::Keep);
        let filters = request.filters();
        assert_eq!(filters.stage, Some(Stage::Mql));
        assert_eq!(filters.cell.as_deref(), Some("A1"));
        assert!(filters.created_from.is_some());
        let plain = TransferRequest::parse(&json!({"to": {"routing": true}})).unwrap();
        assert_eq!(plain.to, Target::Routing);
        assert_eq!(plain.sla, SlaOnMove::Restart, "clocks restart unless asked");
        assert_eq!(plain.filters(), Filters::default(), "no filter: every open lead");
    }

    #[test]
    fn names_every_bad_field() {
        assert_eq!(fields(json!({})), ["to"], "no target");
        assert_eq!(
            fields(json!({"to": {"rep": "li", "pool": "east"}})),
            ["to"],
            "two targets"
        );
        assert_eq!(fields(json!({"to": {"rep": "a b"}})), ["to.rep"]);
        assert_eq!(fields(json!({"to": {"routing": false}})), ["to.routing"]);
        assert_eq!(
            fields(json!({"to": {"rep": "li"}, "filter": {"colour": "red", "stage": "won"}})),
            ["filter.colour", "filter.stage"],
            "the list's own names and refusals"
        );
        assert_eq!(
            fields(json!({"to": {"rep": "li"}, "filter": {"owner": "me", "sort": "created", "cell": 1}})),
            ["filter.cell", "filter.owner", "filter.sort"]
        );
        assert_eq!(
            fields(json!({"to": {"rep": "li"}, "sla": "pause", "notes": "x"})),
            ["notes", "sla"]
        );
        assert_eq!(fields(json!({"to": {"rep": "li"}, "filter": []})), ["filter"]);
    }
}
