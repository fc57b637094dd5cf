//! What AWS does between services: SQS event source mappings and schedules.

use crate::invoke::Invoker;
use crate::provision::{Provisioned, ACCOUNT, REGION};
use crate::template::{Bindings, Function, Schedule, SqsMapping};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("schedule expression {0:?} is not emulated locally (rate(N unit) and cron(min hour day month weekday *) are)")]
pub struct UnsupportedSchedule(pub String);

/// When a schedule fires.
#[derive(Debug)]
pub enum Cadence {
    Every(Duration),
    /// A `cron(…)` in a time zone: an EventBridge Scheduler schedule's
    /// `ScheduleExpressionTimezone`, UTC for a scheduled rule.
    Cron(Box<croner::Cron>, chrono_tz::Tz),
}

impl Cadence {
    /// A rule's expression (cron in UTC).
    pub fn parse(expression: &str) -> Result<Self, UnsupportedSchedule> {
        Self::parse_in(expression, chrono_tz::UTC)
    }

    pub fn parse_in(expression: &str, zone: chrono_tz::Tz) -> Result<Self, UnsupportedSchedule> {
        if expression.starts_with("rate(") {
            return rate_interval(expression).map(Cadence::Every);
        }
        cron_schedule(expression).map(|c| Cadence::Cron(Box::new(c), zone))
    }

    /// How long from `now` until the next firing.
    pub fn wait_from(&self, now: chrono::DateTime<chrono::Utc>) -> Duration {
        self.next_after(now)
            .and_then(|next| (next - now).to_std().ok())
            .unwrap_or(Duration::from_secs(60))
    }

    /// The next firing after `now`; none for a rate, which counts from its start.
    pub fn next_after(&self, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Cadence::Every(interval) => chrono::Duration::from_std(*interval).ok().map(|d| now + d),
            Cadence::Cron(cron, zone) => cron
                .find_next_occurrence(&now.with_timezone(zone), false)
                .ok()
                .map(|next| next.with_timezone(&chrono::Utc)),
        }
    }
}

#[derive(Debug, Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Unsupported(#[from] UnsupportedSchedule),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    #[error("schedule time zone {0:?} is not an IANA time zone")]
    Zone(String),
}

/// A schedule ready to fire here, as the template declares it: its cadence in its time
/// zone and the event it sends (the template's `Input`, with the scheduler's context
/// placeholders filled in, or a scheduled rule's event).
#[derive(Debug)]
pub struct Firing {
    pub cadence: Cadence,
    input: Option<String>,
}

impl Firing {
    pub fn new(schedule: &Schedule, bindings: &Bindings) -> Result<Self, ScheduleError> {
        let zone = match &schedule.timezone {
            None => chrono_tz::UTC,
            Some(v) => {
                let name = bindings.resolve(v)?;
                name.parse().map_err(|_| ScheduleError::Zone(name))?
            }
        };
        let input = schedule.input.as_ref().map(|v| bindings.resolve(v)).transpose()?;
        Ok(Self {
            cadence: Cadence::parse_in(&schedule.expression, zone)?,
            input,
        })
    }

    /// The event this schedule sends when it fires at `at`.
    pub fn event(&self, function: &Function, schedule: &Schedule, at: chrono::DateTime<chrono::Utc>) -> Value {
        let Some(input) = &self.input else {
            return scheduled_event(function, schedule, at);
        };
        let filled = input
            .replace(
                "<aws.scheduler.scheduled-time>",
                &at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .replace("<aws.scheduler.execution-id>", &ulid::Ulid::new().to_string())
            .replace(
                "<aws.scheduler.schedule-arn>",
                &format!(
                    "arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{}-{}",
                    function.logical_id, schedule.name
                ),
            )
            .replace("<aws.scheduler.attempt-number>", "1");
        serde_json::from_str(&filled).unwrap_or(Value::String(filled))
    }
}

/// EventBridge's six-field `cron(min hour day-of-month month day-of-week year)` as a
/// POSIX five-field pattern. `?` means "any"; the year must be `*`; day-of-week must use
/// names (EventBridge numbers Sunday 1, POSIX 0).
pub fn cron_schedule(expression: &str) -> Result<croner::Cron, UnsupportedSchedule> {
    use std::str::FromStr as _;
    let unsupported = || UnsupportedSchedule(expression.to_string());
    let inner = expression
        .strip_prefix("cron(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(unsupported)?;
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let [minute, hour, dom, month, dow, year] = fields.as_slice() else {
        return Err(unsupported());
    };
    if *year != "*" || dow.chars().any(|c| c.is_ascii_digit()) {
        return Err(unsupported());
    }
    let any = |f: &str| if f == "?" { "*".to_string() } else { f.to_string() };
    let pattern = format!("{minute} {hour} {} {month} {}", any(dom), any(dow));
    croner::Cron::from_str(&pattern).map_err(|_| unsupported())
}

/// `rate(5 minutes)` → 300 s.
pub fn rate_interval(expression: &str) -> Result<Duration, UnsupportedSchedule> {
    let unsupported = || UnsupportedSchedule(expression.to_string());
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(unsupported)?;
    let (n, unit) = inner.trim().split_once(' ').ok_or_else(unsupported)?;
    let n: u64 = n.parse().map_err(|_| unsupported())?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return Err(unsupported()),
    };
    Ok(Duration::from_secs(n * seconds))
}

/// The event EventBridge sends for a scheduled rule.
pub fn scheduled_event(function: &Function, schedule: &Schedule, at: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{}-{}", function.logical_id, schedule.name)],
        "detail": {}
    })
}

pub async fn run_schedule(invoker: Invoker, function: Function, schedule: Schedule, firing: Firing) {
    loop {
        let now = chrono::Utc::now();
        let wait = firing.cadence.wait_from(now);
        tokio::time::sleep(wait).await;
        // The time it was due, as the scheduler stamps it (not when the sleep ended).
        let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
        let event = firing.event(&function, &schedule, at);
        match invoker.invoke(&function.binary, &event).await {
            Ok(_) => tracing::info!(function = %function.binary, schedule = %schedule.name, "schedule fired"),
            Err(e) => tracing::warn!(function = %function.binary, error = %e, "scheduled invocation failed"),
        }
    }
}

/// One SQS → function mapping: receive a batch, invoke, delete what succeeded. Failed
/// messages are left to reappear after the visibility timeout; the queue's redrive
/// policy moves them to the DLQ after maxReceiveCount, as in AWS.
pub async fn run_sqs_mapping(invoker: Invoker, provisioned: Provisioned, function: Function, mapping: SqsMapping) {
    let sqs = aws_sdk_sqs::Client::new(&crate::provision::sdk_config(&provisioned.endpoint));
    let queue_url = provisioned.queue_url(&mapping.queue).to_string();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{}", mapping.queue);
    loop {
        if let Err(e) = deliver_once(&sqs, &invoker, &queue_url, &queue_arn, &function, &mapping).await {
            tracing::warn!(queue = %mapping.queue, error = %e, "delivery round failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Receives one batch and delivers it. Returns how many messages were received.
pub async fn deliver_once(
    sqs: &aws_sdk_sqs::Client,
    invoker: &Invoker,
    queue_url: &str,
    queue_arn: &str,
    function: &Function,
    mapping: &SqsMapping,
) -> Result<usize, String> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(i32::try_from(mapping.batch_size.min(10)).unwrap_or(10))
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let event = sqs_event(&messages, queue_arn);
    let failed: HashSet<String> = match invoker.invoke(&function.binary, &event).await {
        Ok(answer) if mapping.report_batch_item_failures => answer
            .get("batchItemFailures")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("itemIdentifier").and_then(Value::as_str).map(str::to_string))
            .collect(),
        Ok(_) => HashSet::new(),
        Err(e) => {
            tracing::warn!(function = %function.binary, error = %e, "batch failed; every message will be retried");
            messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_string))
                .collect()
        }
    };
    for m in &messages {
        if failed.contains(m.message_id().unwrap_or_default()) {
            continue;
        }
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(m.receipt_handle().unwrap_or_default())
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
    }
    Ok(messages.len())
}

/// The event Lambda's SQS event source mapping delivers for a received batch.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), json!(v))).collect())
                .unwrap_or_default();
            let message_attributes: Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| {
                            let value = json!({
                                "stringValue": v.string_value(),
                                "dataType": v.data_type(),
                                "stringListValues": [],
                                "binaryListValues": []
                            });
                            (k.clone(), value)
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Approximate depth of each provisioned queue (for `local-stack peek`).
pub async fn queue_depths(provisioned: &Provisioned) -> Vec<(String, String)> {
    let sqs = aws_sdk_sqs::Client::new(&crate::provision::sdk_config(&provisioned.endpoint));
    let mut out = Vec::new();
    for (id, url) in &provisioned.queue_urls {
        let depth = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .ok()
            .and_then(|a| {
                a.attributes()
                    .and_then(|m| m.get(&QueueAttributeName::ApproximateNumberOfMessages))
                    .cloned()
            })
            .unwrap_or_else(|| "?".into());
        out.push((id.clone(), depth));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(rate_interval("rate(5 minutes)"), Ok(Duration::from_secs(300)));
        assert_eq!(rate_interval("rate(1 hour)"), Ok(Duration::from_secs(3600)));
        assert!(rate_interval("cron(0 2 * * ? *)").is_err());
        assert!(rate_interval("rate(five minutes)").is_err());
    }

    #[test]
    fn crons() {
        let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let every_five = Cadence::parse("cron(0/5 * * * ? *)").unwrap();
        assert_eq!(
            every_five.wait_from(at("2026-11-23T02:03:00Z")),
            Duration::from_secs(120)
        );
        let weekdays = Cadence::parse("cron(0 1 ? * MON-FRI *)").unwrap();
        assert_eq!(
            weekdays.wait_from(at("2026-11-21T01:00:00Z")),
            Duration::from_secs(2 * 86_400),
            "Saturday 01:00 → Monday 01:00"
        );
        assert!(
            Cadence::parse("cron(0 1 ? * 2-6 *)").is_err(),
            "numeric weekdays differ"
        );
        assert!(Cadence::parse("cron(0 1 * * ? 2027)").is_err());
    }
}
