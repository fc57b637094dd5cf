//! Behaviour events: what a person did, and how strongly it signals intent.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    FormSubmit,
    ChatConsult,
    EventAttend,
    EmailReply,
    SpamReport,
    AccountFollow,
    LiveWatch,
    LiveReplay,
    EmailOpen,
    WhitepaperDownload,
    AccountUnfollow,
    FormView,
    PageView,
    ModuleClick,
    ArticleClick,
    EmailUnsubscribe,
}

impl EventKind {
    pub const ALL: [EventKind; 16] = [
        EventKind::FormSubmit,
        EventKind::ChatConsult,
        EventKind::EventAttend,
        EventKind::EmailReply,
        EventKind::SpamReport,
        EventKind::AccountFollow,
        EventKind::LiveWatch,
        EventKind::LiveReplay,
        EventKind::EmailOpen,
        EventKind::WhitepaperDownload,
        EventKind::AccountUnfollow,
        EventKind::FormView,
        EventKind::PageView,
        EventKind::ModuleClick,
        EventKind::ArticleClick,
        EventKind::EmailUnsubscribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::FormSubmit => "form_submit",
            EventKind::ChatConsult => "chat_consult",
            EventKind::EventAttend => "event_attend",
            EventKind::EmailReply => "email_reply",
            EventKind::SpamReport => "spam_report",
            EventKind::AccountFollow => "account_follow",
            EventKind::LiveWatch => "live_watch",
            EventKind::LiveReplay => "live_replay",
            EventKind::EmailOpen => "email_open",
            EventKind::WhitepaperDownload => "whitepaper_download",
            EventKind::AccountUnfollow => "account_unfollow",
            EventKind::FormView => "form_view",
            EventKind::PageView => "page_view",
            EventKind::ModuleClick => "module_click",
            EventKind::ArticleClick => "article_click",
            EventKind::EmailUnsubscribe => "email_unsubscribe",
        }
    }

    /// How an explanation line names it ("+20 form submitted").
    pub fn label(self) -> &'static str {
        match self {
            EventKind::FormSubmit => "form submitted",
            EventKind::ChatConsult => "website chat consultation",
            EventKind::EventAttend => "offline event attended",
            EventKind::EmailReply => "email replied",
            EventKind::SpamReport => "reported an email as spam",
            EventKind::AccountFollow => "followed the service account",
            EventKind::LiveWatch => "watched a live stream",
            EventKind::LiveReplay => "watched a replay",
            EventKind::EmailOpen => "email opened",
            EventKind::WhitepaperDownload => "downloaded a whitepaper",
            EventKind::AccountUnfollow => "unfollowed the service account",
            EventKind::FormView => "viewed a form",
            EventKind::PageView => "visited a web page",
            EventKind::ModuleClick => "clicked a page module",
            EventKind::ArticleClick => "clicked an article",
            EventKind::EmailUnsubscribe => "unsubscribed from email",
        }
    }

    /// The engagement table (docs/src/rules/qualify.md#engagement): strong ±20, medium ±10, weak ±5. A whitepaper
    /// download is not in the table; it is scored as medium content engagement.
    pub fn default_points(self) -> i32 {
        match self {
            EventKind::FormSubmit | EventKind::ChatConsult | EventKind::EventAttend | EventKind::EmailReply => 20,
            EventKind::SpamReport => -20,
            EventKind::AccountFollow
            | EventKind::LiveWatch
            | EventKind::LiveReplay
            | EventKind::EmailOpen
            | EventKind::WhitepaperDownload => 10,
            EventKind::AccountUnfollow => -10,
            EventKind::FormView | EventKind::PageView | EventKind::ModuleClick | EventKind::ArticleClick => 5,
            EventKind::EmailUnsubscribe => -5,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
