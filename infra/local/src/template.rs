//! The parts of `infra/template.yaml` the local stack emulates, read from the file
//! itself so local and cloud share one definition.

use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("cannot read template: {0}")]
    Io(#[from] std::io::Error),
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("{0}")]
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct Gsi {
    pub name: String,
    pub hash: String,
    pub range: Option<String>,
    pub projection: String,
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub logical_id: String,
    pub attributes: Vec<KeyAttr>,
    pub hash: String,
    pub range: Option<String>,
    pub gsis: Vec<Gsi>,
    pub ttl_attribute: Option<String>,
    /// `StreamSpecification.StreamViewType`: the table has a stream.
    pub stream_view: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub logical_id: String,
    pub visibility_timeout: Option<u32>,
    pub retention_seconds: Option<u32>,
    /// (dead-letter queue's logical id, maxReceiveCount)
    pub redrive: Option<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Clone)]
pub struct SqsMapping {
    pub queue: String,
    pub batch_size: u32,
    pub report_batch_item_failures: bool,
}

/// A DynamoDB stream → function mapping (`Type: DynamoDB`).
#[derive(Debug, Clone)]
pub struct StreamMapping {
    /// The table whose stream it reads.
    pub table: String,
    pub batch_size: u32,
    pub report_batch_item_failures: bool,
    /// `-1`: until the records expire.
    pub maximum_retry_attempts: i64,
    /// The filter patterns (`FilterCriteria.Filters[].Pattern`), as JSON text.
    pub filters: Vec<String>,
    /// The on-failure destination queue's logical id.
    pub on_failure: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub expression: String,
    /// `ScheduleExpressionTimezone` (an EventBridge Scheduler schedule), unresolved;
    /// none: UTC.
    pub timezone: Option<Value>,
    /// The event the schedule sends (`Input`), unresolved; none: EventBridge's
    /// scheduled-rule event.
    pub input: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// The cargo binary (= package) name; what `cargo lambda watch` serves it under.
    pub binary: String,
    pub timeout: u32,
    pub env: BTreeMap<String, Value>,
    pub routes: Vec<Route>,
    pub sqs: Vec<SqsMapping>,
    pub streams: Vec<StreamMapping>,
    pub schedules: Vec<Schedule>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, Option<String>>,
    /// The template's `Conditions`, evaluated on demand by [`Bindings`].
    pub conditions: BTreeMap<String, Value>,
    pub tables: Vec<Table>,
    pub queues: Vec<Queue>,
    pub functions: Vec<Function>,
    /// Logical ids of resources with no local counterpart (bound to placeholders).
    pub other_resources: Vec<String>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn u32_at(v: &Value, key: &str) -> Option<u32> {
    v.get(key).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

/// `FunctionResponseTypes: [ReportBatchItemFailures]` on an event source mapping.
fn reports_item_failures(properties: &Value) -> bool {
    properties
        .get("FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .is_some_and(|t| t.iter().any(|v| v.as_str() == Some("ReportBatchItemFailures")))
}

fn unsupported(what: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported(what.into())
}

/// `!GetAtt X.Arn`, `!Ref X` or `{"Fn::GetAtt": [X, Arn]}` → `X`.
fn referenced_resource(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" => t.value.as_str().map(str::to_string),
        Value::Tagged(t) if t.tag == "GetAtt" => match &t.value {
            Value::String(s) => s.split('.').next().map(str::to_string),
            Value::Sequence(seq) => seq.first().and_then(Value::as_str).map(str::to_string),
            _ => None,
        },
        Value::Mapping(m) => {
            if let Some(r) = m.get("Ref") {
                return r.as_str().map(str::to_string);
            }
            m.get("Fn::GetAtt")
                .and_then(Value::as_sequence)
                .and_then(|s| s.first())
                .and_then(Value::as_str)
                .map(str::to_string)
        }
        _ => None,
    }
}

fn key_schema(v: &Value) -> (String, Option<String>) {
    let mut hash = String::new();
    let mut range = None;
    for k in v.as_sequence().into_iter().flatten() {
        let name = str_at(k, "AttributeName").unwrap_or_default().to_string();
        match str_at(k, "KeyType") {
            Some("HASH") => hash = name,
            Some("RANGE") => range = Some(name),
            _ => {}
        }
    }
    (hash, range)
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    /// The repository's template, found relative to this crate.
    pub fn path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml_ng::from_str(text)?;
        let parameters = doc
            .get("Parameters")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                let default = v.get("Default").map(|d| match d {
                    Value::String(s) => s.clone(),
                    other => serde_yaml_ng::to_string(other).unwrap_or_default().trim().to_string(),
                });
                Some((k.as_str()?.to_string(), default))
            })
            .collect();
        let global_env: BTreeMap<String, Value> = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
            .collect();
        let global_timeout = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| u32_at(f, "Timeout"))
            .unwrap_or(3);

        let conditions = doc
            .get("Conditions")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
            .collect();
        let mut template = Template {
            parameters,
            conditions,
            tables: Vec::new(),
            queues: Vec::new(),
            functions: Vec::new(),
            other_resources: Vec::new(),
        };
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| unsupported("template has no Resources"))?;
        for (id, resource) in resources {
            let id = id
                .as_str()
                .ok_or_else(|| unsupported("non-string logical id"))?
                .to_string();
            let props = resource.get("Properties").cloned().unwrap_or(Value::Null);
            match str_at(resource, "Type") {
                Some("AWS::DynamoDB::Table") => template.tables.push(parse_table(id, &props)?),
                Some("AWS::SQS::Queue") => template.queues.push(parse_queue(id, &props)),
                Some("AWS::Serverless::Function") => {
                    template
                        .functions
                        .push(parse_function(id, resource, &props, &global_env, global_timeout)?)
                }
                _ => template.other_resources.push(id),
            }
        }
        Ok(template)
    }

    pub fn function(&self, logical_id: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    pub fn routes(&self) -> impl Iterator<Item = (&Function, &Route)> {
        self.functions.iter().flat_map(|f| f.routes.iter().map(move |r| (f, r)))
    }
}

fn parse_table(id: String, props: &Value) -> Result<Table, TemplateError> {
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| unsupported(format!("{id}: AttributeDefinitions missing")))?
        .iter()
        .map(|a| KeyAttr {
            name: str_at(a, "AttributeName").unwrap_or_default().to_string(),
            kind: str_at(a, "AttributeType").unwrap_or("S").to_string(),
        })
        .collect();
    let (hash, range) = key_schema(props.get("KeySchema").unwrap_or(&Value::Null));
    let gsis = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|g| {
            let (hash, range) = key_schema(g.get("KeySchema").unwrap_or(&Value::Null));
            let projection = g.get("Projection").cloned().unwrap_or(Value::Null);
            Gsi {
                name: str_at(g, "IndexName").unwrap_or_default().to_string(),
                hash,
                range,
                projection: str_at(&projection, "ProjectionType").unwrap_or("ALL").to_string(),
                non_key_attributes: projection
                    .get("NonKeyAttributes")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            }
        })
        .collect();
    let ttl_attribute = props
        .get("TimeToLiveSpecification")
        .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
        .and_then(|t| str_at(t, "AttributeName"))
        .map(str::to_string);
    let stream_view = props
        .get("StreamSpecification")
        .and_then(|t| str_at(t, "StreamViewType"))
        .map(str::to_string);
    Ok(Table {
        logical_id: id,
        attributes,
        hash,
        range,
        gsis,
        ttl_attribute,
        stream_view,
    })
}

fn parse_queue(id: String, props: &Value) -> Queue {
    let redrive = props.get("RedrivePolicy").and_then(|r| {
        let dlq = referenced_resource(r.get("deadLetterTargetArn")?)?;
        Some((dlq, u32_at(r, "maxReceiveCount").unwrap_or(5)))
    });
    Queue {
        logical_id: id,
        visibility_timeout: u32_at(props, "VisibilityTimeout"),
        retention_seconds: u32_at(props, "MessageRetentionPeriod"),
        redrive,
    }
}

fn parse_function(
    id: String,
    resource: &Value,
    props: &Value,
    global_env: &BTreeMap<String, Value>,
    global_timeout: u32,
) -> Result<Function, TemplateError> {
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| str_at(b, "Binary"))
        .ok_or_else(|| unsupported(format!("{id}: Metadata.BuildProperties.Binary missing")))?
        .to_string();
    let mut env = global_env.clone();
    if let Some(vars) = props
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
    {
        for (k, v) in vars {
            if let Some(k) = k.as_str() {
                env.insert(k.to_string(), v.clone());
            }
        }
    }
    let mut function = Function {
        logical_id: id.clone(),
        binary,
        timeout: u32_at(props, "Timeout").unwrap_or(global_timeout),
        env,
        routes: Vec::new(),
        sqs: Vec::new(),
        streams: Vec::new(),
        schedules: Vec::new(),
    };
    for (name, event) in props.get("Events").and_then(Value::as_mapping).into_iter().flatten() {
        let name = name.as_str().unwrap_or_default().to_string();
        let ep = event.get("Properties").cloned().unwrap_or(Value::Null);
        match str_at(event, "Type") {
            Some("HttpApi") => function.routes.push(Route {
                method: str_at(&ep, "Method").unwrap_or("ANY").to_ascii_uppercase(),
                path: str_at(&ep, "Path").unwrap_or("/").to_string(),
            }),
            Some("SQS") => function.sqs.push(SqsMapping {
                queue: ep
                    .get("Queue")
                    .and_then(referenced_resource)
                    .ok_or_else(|| unsupported(format!("{id}.{name}: Queue must be !GetAtt Q.Arn")))?,
                batch_size: u32_at(&ep, "BatchSize").unwrap_or(10),
                report_batch_item_failures: reports_item_failures(&ep),
            }),
            Some("DynamoDB") => function.streams.push(StreamMapping {
                table: ep
                    .get("Stream")
                    .and_then(referenced_resource)
                    .ok_or_else(|| unsupported(format!("{id}.{name}: Stream must be !GetAtt T.StreamArn")))?,
                batch_size: u32_at(&ep, "BatchSize").unwrap_or(100),
                report_batch_item_failures: reports_item_failures(&ep),
                maximum_retry_attempts: ep.get("MaximumRetryAttempts").and_then(Value::as_i64).unwrap_or(-1),
                filters: ep
                    .get("FilterCriteria")
                    .and_then(|c| c.get("Filters"))
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .filter_map(|f| str_at(f, "Pattern").map(str::to_string))
                    .collect(),
                on_failure: ep
                    .get("DestinationConfig")
                    .and_then(|d| d.get("OnFailure"))
                    .and_then(|o| o.get("Destination"))
                    .and_then(referenced_resource),
            }),
            Some("Schedule") | Some("ScheduleV2") => function.schedules.push(Schedule {
                name,
                expression: str_at(&ep, "Schedule")
                    .or_else(|| str_at(&ep, "ScheduleExpression"))
                    .ok_or_else(|| unsupported(format!("{id}: schedule without expression")))?
                    .to_string(),
                timezone: ep.get("ScheduleExpressionTimezone").cloned(),
                input: ep.get("Input").cloned(),
            }),
            other => {
                return Err(unsupported(format!(
                    "{id}.{name}: event type {other:?} is not emulated locally"
                )))
            }
        }
    }
    Ok(function)
}

/// Values for `!Ref`, `!GetAtt` and pseudo parameters when running locally.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    /// logical id → what `!Ref` gives (table name, queue URL, parameter value).
    pub refs: BTreeMap<String, String>,
    /// "LogicalId.Attr" → value (queue ARNs).
    pub attrs: BTreeMap<String, String>,
    /// The template's conditions (for `!If`).
    pub conditions: BTreeMap<String, Value>,
}

impl Bindings {
    /// What a deploy without parameter overrides sees: every parameter at its default,
    /// the template's conditions, and an account's pseudo parameters.
    pub fn defaults(template: &Template, region: &str, account: &str) -> Self {
        let mut refs: BTreeMap<String, String> = template
            .parameters
            .iter()
            .filter_map(|(name, default)| Some((name.clone(), default.clone()?)))
            .collect();
        refs.insert("AWS::Region".into(), region.into());
        refs.insert("AWS::AccountId".into(), account.into());
        Self {
            refs,
            attrs: BTreeMap::new(),
            conditions: template.conditions.clone(),
        }
    }

    /// Whether a condition holds.
    pub fn holds(&self, name: &str) -> Result<bool, TemplateError> {
        self.condition(name)
    }

    /// A condition by name: `!Equals`, `!Not`, `!And`, `!Or`, `!Condition` over values.
    fn condition(&self, name: &str) -> Result<bool, TemplateError> {
        let definition = self
            .conditions
            .get(name)
            .ok_or_else(|| unsupported(format!("condition {name} is not defined")))?;
        self.truth(definition)
    }

    fn truth(&self, v: &Value) -> Result<bool, TemplateError> {
        let Value::Tagged(t) = v else {
            return Err(unsupported(format!("cannot evaluate condition {v:?}")));
        };
        let args = || t.value.as_sequence().cloned().unwrap_or_default();
        match t.tag.to_string().trim_start_matches('!') {
            "Equals" => {
                let args = args();
                let side = |i: usize| self.resolve(args.get(i).unwrap_or(&Value::Null));
                Ok(side(0)? == side(1)?)
            }
            "Not" => Ok(!self.truth(args().first().unwrap_or(&Value::Null))?),
            "And" => args().iter().try_fold(true, |all, c| Ok(all && self.truth(c)?)),
            "Or" => args().iter().try_fold(false, |any, c| Ok(any || self.truth(c)?)),
            "Condition" => self.condition(t.value.as_str().unwrap_or_default()),
            other => Err(unsupported(format!("!{other} in a condition"))),
        }
    }

    /// Evaluates the intrinsic functions environment values use: Ref, GetAtt, Join, Split, Sub, If.
    pub fn resolve(&self, v: &Value) -> Result<String, TemplateError> {
        Ok(self.resolve_list(v)?.join(","))
    }

    fn resolve_list(&self, v: &Value) -> Result<Vec<String>, TemplateError> {
        match v {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Number(n) => Ok(vec![n.to_string()]),
            Value::Bool(b) => Ok(vec![b.to_string()]),
            Value::Tagged(t) if t.tag == "Ref" => {
                let name = t.value.as_str().unwrap_or_default();
                let value = self
                    .refs
                    .get(name)
                    .ok_or_else(|| unsupported(format!("!Ref {name}: nothing bound locally")))?;
                // CommaDelimitedList parameters are lists.
                Ok(value.split(',').map(str::to_string).collect())
            }
            Value::Tagged(t) if t.tag == "GetAtt" => {
                let key = t.value.as_str().unwrap_or_default();
                self.attrs
                    .get(key)
                    .map(|v| vec![v.clone()])
                    .ok_or_else(|| unsupported(format!("!GetAtt {key}: nothing bound locally")))
            }
            Value::Tagged(t) if t.tag == "If" => {
                let parts = t.value.as_sequence().ok_or_else(|| unsupported("!If takes a list"))?;
                let name = parts.first().and_then(Value::as_str).unwrap_or_default();
                let branch = if self.condition(name)? { 1 } else { 2 };
                self.resolve_list(parts.get(branch).unwrap_or(&Value::Null))
            }
            Value::Tagged(t) if t.tag == "Join" => {
                let parts = t.value.as_sequence().ok_or_else(|| unsupported("!Join takes a list"))?;
                let sep = parts.first().and_then(Value::as_str).unwrap_or_default();
                let items = self.resolve_list(parts.get(1).unwrap_or(&Value::Null))?;
                Ok(vec![items.join(sep)])
            }
            Value::Tagged(t) if t.tag == "Split" => {
                let parts = t
                    .value
                    .as_sequence()
                    .ok_or_else(|| unsupported("!Split takes a list"))?;
                let sep = parts.first().and_then(Value::as_str).unwrap_or(",");
                let text = self.resolve(parts.get(1).unwrap_or(&Value::Null))?;
                Ok(text.split(sep).map(str::to_string).collect())
            }
            Value::Tagged(t) if t.tag == "Sub" => {
                let mut text = t.value.as_str().unwrap_or_default().to_string();
                while let Some(start) = text.find("${") {
                    let end = text[start..]
                        .find('}')
                        .map(|e| start + e)
                        .ok_or_else(|| unsupported("unclosed ${ in !Sub"))?;
                    let name = &text[start + 2..end];
                    let value = self
                        .attrs
                        .get(name)
                        .or_else(|| self.refs.get(name))
                        .cloned()
                        .ok_or_else(|| unsupported(format!("!Sub ${{{name}}}: nothing bound locally")))?;
                    text.replace_range(start..=end, &value);
                }
                Ok(vec![text])
            }
            Value::Sequence(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.resolve_list(item)?);
                }
                Ok(out)
            }
            other => Err(unsupported(format!("cannot evaluate {other:?} locally"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_repository_template() {
        let t = Template::load(&Template::path()).unwrap();
        let table = t.tables.iter().find(|t| t.logical_id == "LeadsTable").unwrap();
        assert_eq!(table.hash, "pk");
        assert_eq!(table.ttl_attribute.as_deref(), Some("expires_at"));
        let queue = t.queues.iter().find(|q| q.logical_id == "CaptureQueue").unwrap();
        assert_eq!(queue.redrive, Some(("CaptureDLQ".to_string(), 5)));
        let intake = t.function("IntakeFunction").unwrap();
        assert_eq!(intake.binary, "intake");
        assert!(intake.routes.contains(&Route {
            method: "POST".into(),
            path: "/v1/leads".into()
        }));
        assert!(intake.env.contains_key("TABLE_NAME"));
    }

    #[test]
    fn resolves_intrinsics() {
        let b = Bindings {
            refs: BTreeMap::from([
                ("Q".into(), "http://q".into()),
                ("Origins".into(), "a,b".into()),
                ("Issuer".into(), String::new()),
            ]),
            attrs: BTreeMap::from([("Q.Arn".into(), "arn:q".into())]),
            conditions: BTreeMap::from([
                (
                    "Own".into(),
                    serde_yaml_ng::from_str("!Equals [!Ref Issuer, \"\"]").unwrap(),
                ),
                (
                    "Other".into(),
                    serde_yaml_ng::from_str("!Not [!Condition Own]").unwrap(),
                ),
            ]),
        };
        let v: Value = serde_yaml_ng::from_str("!If [Own, !Ref Q, !Ref Issuer]").unwrap();
        assert_eq!(b.resolve(&v).unwrap(), "http://q");
        let v: Value = serde_yaml_ng::from_str("!If [Other, !Ref Q, fallback]").unwrap();
        assert_eq!(b.resolve(&v).unwrap(), "fallback");
        let v: Value = serde_yaml_ng::from_str("!Join [\";\", !Ref Origins]").unwrap();
        assert_eq!(b.resolve(&v).unwrap(), "a;b");
        let v: Value = serde_yaml_ng::from_str("!Sub \"${Q.Arn}/x/${Q}\"").unwrap();
        assert_eq!(b.resolve(&v).unwrap(), "arn:q/x/http://q");
        let v: Value = serde_yaml_ng::from_str("!Ref Missing").unwrap();
        assert!(b.resolve(&v).is_err());
    }
}
