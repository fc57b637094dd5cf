//! A lead as a list row: what a rep needs to pick the next call — stage, score, label,
//! owner or pool, the next deadline — with contact data masked for a caller who may
//! only see that the lead exists (a rep looking at someone else's lead).

use crate::lead::mask;
use crate::lead::qualification::Label;
use crate::lead::{Lead, LeadId, Stage};
use crate::workspace::index::next_due;
use crate::workspace::plan::Scope;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub id: LeadId,
    pub stage: Stage,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// Whether the contact fields above are masked.
    pub masked: bool,
    pub company: Option<String>,
    pub cell: Option<String>,
    pub label: Option<Label>,
    pub repeat_count: u32,
    pub owner: Option<String>,
    pub department: Option<String>,
    pub pool: Option<String>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub sla_due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub channel: String,
    pub campaign_id: Option<String>,
    pub utm_source: Option<String>,
    pub invalid_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Row {
    pub fn of(lead: &Lead, scope: &Scope, now: DateTime<Utc>) -> Self {
        let masked = !scope.sees_contact(lead);
        let contact = &lead.contact;
        let show = |value: &Option<String>, hide: fn(&str) -> String| {
            value.as_deref().map(|v| if masked { hide(v) } else { v.to_string() })
        };
        let due = next_due(lead);
        Row {
            id: lead.id.clone(),
            stage: lead.stage,
            name: show(&contact.name, mask::name),
            phone: show(&contact.phone, mask::phone),
            email: show(&contact.email, mask::email),
            wechat: show(&contact.wechat, mask::name),
            masked,
            company: lead.company.as_ref().map(|c| c.raw.clone()),
            cell: lead.score.as_ref().map(|s| s.cell.clone()),
            label: lead.dedup.as_ref().map(|d| d.label),
            repeat_count: lead.repeat_count,
            owner: lead.owner.clone(),
            department: lead.owner_department.clone(),
            pool: lead.waiting_in_pool().map(str::to_string),
            waiting_since: lead.waiting_in_pool().and(lead.waiting_since),
            sla_due_at: due,
            overdue: due.is_some_and(|d| d <= now),
            channel: lead.source.channel.clone(),
            campaign_id: lead.source.campaign_id.clone(),
            utm_source: lead.source.utm.source.clone(),
            invalid_reason: lead.invalid_reason.as_ref().map(|r| r.code.clone()),
            created_at: lead.created_at,
            updated_at: lead.updated_at,
        }
    }
}
