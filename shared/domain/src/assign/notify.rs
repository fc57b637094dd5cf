//! Outbound notices to a rep's chat: the webhook format and the message text. Pure;
//! the assign function sends them.
//!
//! WeCom and DingTalk group robots take `{"msgtype":"text","text":{"content":…}}`;
//! Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, Feishu's
//! Slack mode) take `{"text":…}`. Contact details are masked: chat groups are not a
//! place for a customer's phone number.

use crate::lead::error::FieldError;
use crate::lead::mask;
use crate::lead::Lead;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    Wecom,
    Dingtalk,
    Slack,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    pub format: WebhookFormat,
}

impl Webhook {
    /// HTTPS only, except to this machine (local development).
    pub fn validate(&self, field: &str) -> Vec<FieldError> {
        let Ok(url) = url::Url::parse(&self.url) else {
            return vec![FieldError::new(format!("{field}.url"), "is not a URL")];
        };
        let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() == "https" || (url.scheme() == "http" && local) {
            Vec::new()
        } else {
            vec![FieldError::new(
                format!("{field}.url"),
                "must be an https:// URL (http:// only to localhost)",
            )]
        }
    }

    pub fn payload(&self, text: &str) -> Value {
        match self.format {
            WebhookFormat::Wecom | WebhookFormat::Dingtalk => json!({"msgtype": "text", "text": {"content": text}}),
            WebhookFormat::Slack => json!({ "text": text }),
        }
    }
}

/// "New lead for you" text, without raw contact details.
pub fn assignment_text(lead: &Lead, how: &str) -> String {
    let grade = lead.score.as_ref().map_or("-", |s| s.cell.as_str());
    let company = lead.company.as_ref().map_or("-", |c| c.raw.as_str());
    let contact = lead
        .contact
        .phone
        .as_deref()
        .map(mask::phone)
        .or_else(|| lead.contact.email.as_deref().map(mask::email))
        .unwrap_or_else(|| "-".into());
    format!(
        "Lead {id} {how} to you: {company}, grade {grade}, contact {contact}, channel {channel}",
        id = lead.id,
        channel = lead.source.channel
    )
}

/// "Deadline near" text.
pub fn reminder_text(lead: &Lead, clock: &str, due_at: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "Reminder: lead {id} needs {clock} before {due} (UTC)",
        id = lead.id,
        due = due_at.format("%Y-%m-%d %H:%M")
    )
}

/// "Deadline missed" text, for the owner who missed it and the manager channel.
pub fn breach_text(lead: &Lead, clock: &str, owner: &str) -> String {
    format!(
        "Deadline missed: {owner} did not complete {clock} for lead {id}; it is now {stage}",
        id = lead.id,
        stage = lead.stage.as_str()
    )
}

/// "Your lead came back" text for a repeat collected under a lead someone owns.
pub fn returned_text(lead: &Lead, repeat_channel: &str) -> String {
    format!(
        "Lead {id} came back via {repeat_channel}: follow up while it is warm",
        id = lead.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadId;

    #[test]
    fn formats_and_masking() {
        let now = "2026-11-23T03:00:00Z".parse().unwrap();
        let mut lead = Lead::new(LeadId::generate(now), "web_form", now);
        lead.contact.phone = Some("+8613800138000".into());
        let text = assignment_text(&lead, "auto-assigned");
        assert!(!text.contains("13800138000"), "{text}");
        let hook = |format| Webhook {
            url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k".into(),
            format,
        };
        assert_eq!(hook(WebhookFormat::Wecom).payload("x")["text"]["content"], "x");
        assert_eq!(hook(WebhookFormat::Dingtalk).payload("x")["msgtype"], "text");
        assert_eq!(hook(WebhookFormat::Slack).payload("x")["text"], "x");
        assert!(hook(WebhookFormat::Slack).validate("webhook").is_empty());
        let plain = Webhook {
            url: "http://example.com/hook".into(),
            format: WebhookFormat::Slack,
        };
        assert_eq!(plain.validate("webhook")[0].field, "webhook.url");
        let local = Webhook {
            url: "http://127.0.0.1:9999/hook".into(),
            format: WebhookFormat::Slack,
        };
        assert!(local.validate("webhook").is_empty());
    }
}
