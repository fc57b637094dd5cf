//! Outbound notices to a rep's or a pool's chat: the webhook format, the signature a
//! DingTalk robot may require, and the message text in the reader's language and time
//! zone. Pure; the assign function sends them.
//!
//! WeCom and DingTalk group robots take `{"msgtype":"text","text":{"content":…}}`;
//! Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, Feishu's
//! Slack mode) take `{"text":…}`. A DingTalk robot with 加签 (a secret) wants each call
//! signed: `timestamp` (ms) and `sign` = Base64(HMAC-SHA256(secret, "<timestamp>\n<secret>"))
//! on the URL. Texts are Chinese unless the webhook says `en`, with times in the
//! webhook's zone (Asia/Shanghai unless it names another). Contact details are masked:
//! chat groups are not a place for a customer's phone number.

use crate::lead::error::FieldError;
use crate::lead::mask;
use crate::lead::{Lead, OwnerChangeHow};
use base64::Engine;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    Wecom,
    Dingtalk,
    Slack,
}

/// The language a chat's readers get their notices in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Simplified Chinese.
    #[default]
    Zh,
    En,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    pub format: WebhookFormat,
    /// A DingTalk robot's signing secret (加签, `SEC…`): every call is signed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default)]
    pub language: Language,
    /// The readers' time zone for the times in a notice (default Asia/Shanghai).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<Tz>,
}

/// One notice, before it is worded for a chat.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    /// A lead given to the reader (`how`: how they got it).
    Assigned {
        lead: &'a Lead,
        how: Option<OwnerChangeHow>,
    },
    /// The person behind the reader's lead came back through another form.
    Returned { lead: &'a Lead, channel: &'a str },
    /// The reader's lead woke from sleep: new engagement after a long silence.
    Woke { lead: &'a Lead },
    /// A deadline is near (for a lead waiting in a pool: its claim deadline, to the pool).
    Reminder {
        lead: &'a Lead,
        clock: &'a str,
        due_at: DateTime<Utc>,
    },
    /// `owner` missed a deadline.
    Breached {
        lead: &'a Lead,
        clock: &'a str,
        owner: &'a str,
    },
}

impl Webhook {
    /// A webhook posting `format` to `url`, unsigned, in Chinese and Beijing time.
    pub fn new(url: impl Into<String>, format: WebhookFormat) -> Self {
        Self {
            url: url.into(),
            format,
            secret: None,
            language: Language::default(),
            time_zone: None,
        }
    }

    /// HTTPS only, except to this machine (local development); a secret only for a
    /// DingTalk robot.
    pub fn validate(&self, field: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let local = |url: &url::Url| matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match url::Url::parse(&self.url) {
            Err(_) => errors.push(FieldError::new(format!("{field}.url"), "is not a URL")),
            Ok(url) if url.scheme() == "https" || (url.scheme() == "http" && local(&url)) => {}
            Ok(_) => errors.push(FieldError::new(
                format!("{field}.url"),
                "must be an https:// URL (http:// only to localhost)",
            )),
        }
        match &self.secret {
            Some(_) if self.format != WebhookFormat::Dingtalk => errors.push(FieldError::new(
                format!("{field}.secret"),
                "only a DingTalk robot is signed",
            )),
            Some(secret) if secret.trim().is_empty() || secret.chars().count() > 128 => errors.push(FieldError::new(
                format!("{field}.secret"),
                "must be 1 to 128 characters",
            )),
            _ => {}
        }
        errors
    }

    /// The URL to post to at `now`: signed for a DingTalk robot with a secret.
    pub fn url_at(&self, now: DateTime<Utc>) -> String {
        let Some(secret) = self
            .secret
            .as_deref()
            .filter(|_| self.format == WebhookFormat::Dingtalk)
        else {
            return self.url.clone();
        };
        let timestamp = now.timestamp_millis();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
        mac.update(format!("{timestamp}\n{secret}").as_bytes());
        let sign = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let mut url = url::Url::parse(&self.url).expect("validated when saved");
        url.query_pairs_mut()
            .append_pair("timestamp", &timestamp.to_string())
            .append_pair("sign", &sign);
        url.into()
    }

    /// The body that posts `notice` to this chat, in its readers' language and zone.
    pub fn payload(&self, notice: &Notice<'_>) -> Value {
        let text = notice.text(self.language, self.time_zone.unwrap_or(chrono_tz::Asia::Shanghai));
        match self.format {
            WebhookFormat::Wecom | WebhookFormat::Dingtalk => json!({"msgtype": "text", "text": {"content": text}}),
            WebhookFormat::Slack => json!({ "text": text }),
        }
    }
}

impl Notice<'_> {
    /// The notice's words, without raw contact details.
    pub fn text(&self, language: Language, zone: Tz) -> String {
        let zh = language == Language::Zh;
        match *self {
            Notice::Assigned { lead, how } => {
                let grade = lead.score.as_ref().map_or("-", |s| s.cell.as_str());
                let company = lead.company.as_ref().map_or("-", |c| c.raw.as_str());
                let contact = lead
                    .contact
                    .phone
                    .as_deref()
                    .map(mask::phone)
                    .or_else(|| lead.contact.email.as_deref().map(mask::email))
                    .unwrap_or_else(|| "-".into());
                let (id, channel) = (&lead.id, &lead.source.channel);
                if zh {
                    let how = how_zh(how);
                    format!("新线索{how}给你：{company}，等级 {grade}，联系方式 {contact}，渠道 {channel}（线索 {id}）")
                } else {
                    let how = how.map_or("assigned", OwnerChangeHow::as_str);
                    format!("Lead {id} {how} to you: {company}, grade {grade}, contact {contact}, channel {channel}")
                }
            }
            Notice::Returned { lead, channel } => {
                let id = &lead.id;
                if zh {
                    format!("你的线索 {id} 又通过 {channel} 来了：趁热跟进")
                } else {
                    format!("Lead {id} came back via {channel}: follow up while it is warm")
                }
            }
            Notice::Woke { lead } => {
                let id = &lead.id;
                if zh {
                    format!("你的线索 {id} 沉睡后又活跃了：趁热跟进")
                } else {
                    format!("Lead {id} is active again after a long silence: follow up while it is warm")
                }
            }
            Notice::Reminder { lead, clock, due_at } if lead.owner.is_none() => {
                let due = due_at.with_timezone(&zone).format("%Y-%m-%d %H:%M");
                let (id, pool) = (&lead.id, lead.pool.as_deref().unwrap_or("-"));
                if zh {
                    format!("提醒：线索池 {pool} 中的线索 {id} 需在 {due}（{zone}）前被领取（{clock}）")
                } else {
                    format!("Reminder: lead {id} in pool {pool} must be claimed before {due} ({zone}) ({clock})")
                }
            }
            Notice::Reminder { lead, clock, due_at } => {
                let due = due_at.with_timezone(&zone).format("%Y-%m-%d %H:%M");
                let id = &lead.id;
                if zh {
                    format!("提醒：线索 {id} 需在 {due}（{zone}）前完成 {clock}")
                } else {
                    format!("Reminder: lead {id} needs {clock} before {due} ({zone})")
                }
            }
            Notice::Breached { lead, clock, owner: "" } => {
                let (id, pool) = (&lead.id, lead.pool.as_deref().unwrap_or("-"));
                if zh {
                    format!("超时：线索池 {pool} 中的线索 {id} 无人领取（{clock}），请主管处理")
                } else {
                    format!("Deadline missed: nobody claimed lead {id} in pool {pool} ({clock}); a manager should act")
                }
            }
            Notice::Breached { lead, clock, owner } => {
                let (id, stage) = (&lead.id, lead.stage.as_str());
                if zh {
                    format!("超时：{owner} 未按时完成线索 {id} 的 {clock}，线索现为 {stage}")
                } else {
                    format!("Deadline missed: {owner} did not complete {clock} for lead {id}; it is now {stage}")
                }
            }
        }
    }
}

fn how_zh(how: Option<OwnerChangeHow>) -> &'static str {
    match how {
        Some(OwnerChangeHow::AutoAssigned) => "已自动分配",
        Some(OwnerChangeHow::AdminAssigned) => "已由主管分配",
        Some(OwnerChangeHow::Claimed) => "已被认领",
        Some(OwnerChangeHow::Transferred) => "已转交",
        Some(OwnerChangeHow::Recycled) => "已回收重新分配",
        Some(OwnerChangeHow::Imported) => "已随导入分配",
        Some(OwnerChangeHow::Reactivated) => "经培育唤醒后分配",
        Some(OwnerChangeHow::Created | OwnerChangeHow::ReturnedToPool | OwnerChangeHow::Nurtured) | None => "已分配",
    }
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
        let notice = Notice::Assigned {
            lead: &lead,
            how: Some(OwnerChangeHow::AutoAssigned),
        };
        let text = notice.text(Language::Zh, chrono_tz::Asia::Shanghai);
        assert!(
            !text.contains("13800138000") && text.contains("+86138****8000"),
            "{text}"
        );
        assert!(text.starts_with("新线索已自动分配给你"), "{text}");
        let hook = |format| Webhook::new("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", format);
        assert_eq!(hook(WebhookFormat::Wecom).payload(&notice)["text"]["content"], text);
        assert_eq!(hook(WebhookFormat::Dingtalk).payload(&notice)["msgtype"], "text");
        assert_eq!(hook(WebhookFormat::Slack).payload(&notice)["text"], text);
        assert!(hook(WebhookFormat::Slack).validate("webhook").is_empty());
        assert_eq!(
            Webhook::new("http://example.com/hook", WebhookFormat::Slack).validate("webhook")[0].field,
            "webhook.url"
        );
        assert!(Webhook::new("http://127.0.0.1:9999/hook", WebhookFormat::Slack)
            .validate("webhook")
            .is_empty());
        let mut signed_slack = hook(WebhookFormat::Slack);
        signed_slack.secret = Some("SECabc".into());
        assert_eq!(signed_slack.validate("webhook")[0].field, "webhook.secret");
    }

    #[test]
    fn a_reminder_reads_in_the_chat_s_language_and_time_zone() {
        let now: DateTime<Utc> = "2026-11-23T03:00:00Z".parse().unwrap();
        let lead = Lead::new(LeadId::generate(now), "web_form", now);
        let due_at = "2026-11-24T01:30:00Z".parse().unwrap();
        let notice = Notice::Reminder {
            lead: &lead,
            clock: "first_contact",
            due_at,
        };
        let mut hook = Webhook::new(
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            WebhookFormat::Dingtalk,
        );
        let zh = hook.payload(&notice)["text"]["content"].as_str().unwrap().to_string();
        assert!(zh.contains("2026-11-24 09:30（Asia/Shanghai）"), "{zh}");
        hook.language = Language::En;
        hook.time_zone = Some(chrono_tz::Europe::London);
        let en = hook.payload(&notice)["text"]["content"].as_str().unwrap().to_string();
        assert!(en.contains("before 2026-11-24 01:30 (Europe/London)"), "{en}");
    }

    #[test]
    fn a_dingtalk_robot_with_a_secret_gets_each_call_signed() {
        let mut hook = Webhook::new(
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            WebhookFormat::Dingtalk,
        );
        let at: DateTime<Utc> = "2026-11-23T03:00:00Z".parse().unwrap();
        assert_eq!(hook.url_at(at), hook.url, "no secret, no signature");
        hook.secret = Some("SEC0123456789abcdef".into());
        // Base64(HMAC-SHA256("SEC0123456789abcdef", "1795402800000\nSEC0123456789abcdef")),
        // computed independently, URL-encoded.
        assert_eq!(
            hook.url_at(at),
            "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1795402800000&sign=fZT1hMxQ97fVVxAIn6GsGhjSePq0euG3keFcOFuYktA%3D"
        );
    }
}
