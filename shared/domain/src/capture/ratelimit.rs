//! Rate limits for the public capture routes (`POST /v1/leads`, `POST /v1/events`).
//!
//! The HTTP API throttles the whole stage, not each client, so one address flooding a
//! form would otherwise spend everyone's share. Policy: fixed windows aligned to the
//! epoch, one counter per (scope, subject, window), incremented once per request. A
//! request whose count is over its scope's limit is refused with the seconds left in
//! the window (`Retry-After`). Fixed windows cost one atomic increment per counter; the
//! price is that a client may send up to twice its limit across a window boundary.
//!
//! Scopes: lead posts per client address, events per client address (pages send many),
//! and lead posts per form. A limit of 0 switches its scope off.
//!
//! A form's counter takes every post to the form, refused ones included, and one item
//! takes at most 1,000 writes a second: a campaign spike or a flood over many addresses
//! would throttle it, and a counter that cannot count admits unchecked. So a form with a
//! large limit counts in [`FORM_SHARES`] shares, each post in the share its address picks,
//! each share against its part of the limit (rounded down). No more than the cap is ever
//! admitted, and a little less when shares fill unevenly; a small limit stays one exact
//! counter. Posts from few addresses fill few shares: the per-address limit already
//! holds each of them far below a share.
//!
//! When the counter store fails the request is admitted ([`Admission::Unchecked`]): a
//! lead is worth more than the limit that failed to count it.

use crate::capture::ports::RateCounters;
use crate::capture::submission::RawSubmission;
use crate::lead::normalize;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// What a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Lead posts from one client address (an IPv6 client by its /64).
    IpLeads,
    /// Behaviour events from one client address.
    IpEvents,
    /// Lead posts to one form (its campaign, else its landing page).
    Form,
}

impl Scope {
    fn prefix(self) -> &'static str {
        match self {
            Scope::IpLeads => "ip",
            Scope::IpEvents => "ipev",
            Scope::Form => "form",
        }
    }

    /// The field the 429 names.
    pub fn field(self) -> &'static str {
        match self {
            Scope::IpLeads | Scope::IpEvents => "source_ip",
            Scope::Form => "form",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::IpLeads => "ip_leads",
            Scope::IpEvents => "ip_events",
            Scope::Form => "form",
        }
    }

    /// How many counters one subject's count is spread over under `limit`: a form's
    /// [`FORM_SHARES`] once each share's part is at least [`MIN_SHARE`] (so rounding down
    /// and uneven filling stay a few percent of the cap), else one.
    pub fn shares(self, limit: u32) -> u32 {
        match self {
            Scope::Form if limit >= FORM_SHARES * MIN_SHARE => FORM_SHARES,
            _ => 1,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Scope::IpLeads => "lead submissions from one address",
            Scope::IpEvents => "events from one address",
            Scope::Form => "lead submissions to one form",
        }
    }
}

/// The shares a form's counter is split into when its limit is large (see the module's
/// top): at 1,000 posts a second each share's item takes 125 writes a second.
pub const FORM_SHARES: u32 = 8;
/// The smallest part of a limit a share counts against.
pub const MIN_SHARE: u32 = 100;

/// Limits per window; 0 switches a scope off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub window_secs: u32,
    pub ip_leads: u32,
    pub ip_events: u32,
    pub form: u32,
}

impl Default for RateLimits {
    /// A person sends a form once or twice; an office or a mobile carrier's NAT puts many
    /// people behind one address, so 20 a minute leaves room for them while a flood is cut
    /// off after its first 20. Pages send several events each. A form's cap sits far
    /// above a campaign spike (50 a second) and only bounds a flood spread over many
    /// addresses.
    fn default() -> Self {
        Self {
            window_secs: 60,
            ip_leads: 20,
            ip_events: 300,
            form: 3000,
        }
    }
}

impl RateLimits {
    /// No limits (tests and load drivers that post from one address).
    pub const fn off() -> Self {
        Self {
            window_secs: 60,
            ip_leads: 0,
            ip_events: 0,
            form: 0,
        }
    }

    pub fn limit(&self, scope: Scope) -> u32 {
        match scope {
            Scope::IpLeads => self.ip_leads,
            Scope::IpEvents => self.ip_events,
            Scope::Form => self.form,
        }
    }
}

/// The fixed window holding `now`: `[start, end)`, aligned to the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub fn window(now: DateTime<Utc>, window_secs: u32) -> Window {
    let secs = i64::from(window_secs.max(1));
    let start_secs = now.timestamp().div_euclid(secs) * secs;
    let start = Utc.timestamp_opt(start_secs, 0).single().unwrap_or(now);
    Window {
        start,
        end: start + Duration::seconds(secs),
    }
}

/// Whole seconds until the window ends, at least 1 (what `Retry-After` says).
pub fn retry_after(window: &Window, now: DateTime<Utc>) -> u64 {
    let millis = u64::try_from((window.end - now).num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

/// One counter: its key and when the store may forget it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub key: String,
    pub expires_at: DateTime<Utc>,
}

/// The counter of `subject` in `scope` for `window`. Its key names the window, so an
/// old counter is never read again; it expires one window after its own ends (the
/// store's expiry is lazy, nothing depends on it being prompt).
pub fn counter(scope: Scope, subject: &str, window: &Window) -> Counter {
    Counter {
        key: format!("{}#{subject}#{}", scope.prefix(), window.start.timestamp()),
        expires_at: window.end + (window.end - window.start),
    }
}

/// Share `share` of a subject's counter (see [`Scope::shares`]).
pub fn share_of(counter: Counter, share: u32) -> Counter {
    Counter {
        key: format!("{}#{share}", counter.key),
        ..counter
    }
}

/// Which of `shares` counters a request counts in: picked by `spread` (the client's
/// address), so posts from many visitors fill the shares evenly.
pub fn share_for(spread: &str, shares: u32) -> u32 {
    let digest = Sha256::digest(spread.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % shares.max(1)
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    pub scope: Scope,
    pub limit: u32,
    /// What the request's counter holds it to: the limit, or a share's part of it.
    pub counted_limit: u32,
    pub window_secs: u32,
    /// The count including this request, in its counter.
    pub count: u64,
    pub retry_after_secs: u64,
}

impl Limited {
    pub fn reason(&self) -> String {
        format!(
            "at most {} {} per {} s; retry in {} s",
            self.limit,
            self.scope.what(),
            self.window_secs,
            self.retry_after_secs
        )
    }

    /// The request that first went over the limit in its window (worth a warning; the
    /// rest of a flood is not).
    pub fn first(&self) -> bool {
        self.count == u64::from(self.counted_limit) + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Limited(Limited),
    /// The counter store failed: admitted without counting.
    Unchecked(String),
}

/// Whether a request counted as number `count` in `window` (in its share, if the scope's
/// counter is shared) is over the limit its counter holds.
pub fn judge(scope: Scope, count: u64, limits: &RateLimits, window: &Window, now: DateTime<Utc>) -> Admission {
    let limit = limits.limit(scope);
    // Rounded down: the shares together never admit more than the limit.
    let counted_limit = limit / scope.shares(limit);
    if limit == 0 || count <= u64::from(counted_limit) {
        return Admission::Admitted;
    }
    Admission::Limited(Limited {
        scope,
        limit,
        counted_limit,
        window_secs: limits.window_secs,
        count,
        retry_after_secs: retry_after(window, now),
    })
}

/// Counts one request of `subject` in `scope` (in the share `spread` picks, if the
/// counter is shared) and judges it. A switched-off scope costs no round trip.
pub async fn admit<R: RateCounters>(
    counters: &R,
    limits: &RateLimits,
    scope: Scope,
    subject: &str,
    spread: &str,
    now: DateTime<Utc>,
) -> Admission {
    let limit = limits.limit(scope);
    if limit == 0 {
        return Admission::Admitted;
    }
    let window = window(now, limits.window_secs);
    let counter = match scope.shares(limit) {
        1 => counter(scope, subject, &window),
        shares => share_of(counter(scope, subject, &window), share_for(spread, shares)),
    };
    match counters.increment(&counter.key, counter.expires_at).await {
        Ok(count) => judge(scope, count, limits, &window, now),
        Err(e) => Admission::Unchecked(e.to_string()),
    }
}

/// The subject of the per-address scopes: an IPv4 address as is, an IPv6 client by its
/// /64 (one subscriber gets a whole /64 and can rotate through it), an IPv4-mapped IPv6
/// address as IPv4. Anything else (no address: not behind API Gateway) is `unknown`.
pub fn client_key(source_ip: Option<&str>) -> String {
    let Some(ip) = source_ip.and_then(|s| s.trim().parse::<IpAddr>().ok()) else {
        return "unknown".into();
    };
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The subject of the per-form scope: the submission's campaign, else its landing page
/// without query or fragment (UTM parameters vary per visitor), else one shared
/// "no form" subject. Hashed: the text is the sender's and may be long.
pub fn form_key(raw: &RawSubmission) -> String {
    let text = |field: &str| raw.get(field).and_then(normalize::text);
    let form = if let Some(campaign) = text("campaign_id") {
        format!("campaign:{campaign}")
    } else if let Some(page) = text("landing_page") {
        match url::Url::parse(&page) {
            Ok(url) => format!("page:{}{}", url.origin().ascii_serialization(), url.path()),
            Err(_) => format!("page:{}", page.split(['?', '#']).next().unwrap_or_default()),
        }
    } else {
        "none".to_string()
    };
    let digest = Sha256::digest(form.as_bytes());
    hex::encode(&digest[..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryCounters;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn windows_are_aligned_and_retry_after_counts_what_is_left() {
        let now = t("2026-05-01T10:00:42.300Z");
        let w = window(now, 60);
        assert_eq!(w.start, t("2026-05-01T10:00:00Z"));
        assert_eq!(w.end, t("2026-05-01T10:01:00Z"));
        assert_eq!(retry_after(&w, now), 18, "17.7 s left rounds up");
        assert_eq!(retry_after(&w, t("2026-05-01T10:00:59.999Z")), 1);
        assert_eq!(retry_after(&w, t("2026-05-01T10:00:00Z")), 60);
        let w = window(t("2026-05-01T10:07:00Z"), 300);
        assert_eq!(w.start, t("2026-05-01T10:05:00Z"));
    }

    #[test]
    fn counters_are_per_scope_subject_and_window_and_outlive_their_window() {
        let w = window(t("2026-05-01T10:00:42Z"), 60);
        let c = counter(Scope::IpLeads, "203.0.113.9", &w);
        assert_eq!(c.key, format!("ip#203.0.113.9#{}", w.start.timestamp()));
        assert_eq!(c.expires_at, t("2026-05-01T10:02:00Z"));
        assert_ne!(counter(Scope::IpEvents, "203.0.113.9", &w).key, c.key);
        let next = window(t("2026-05-01T10:01:00Z"), 60);
        assert_ne!(counter(Scope::IpLeads, "203.0.113.9", &next).key, c.key);
    }

    #[test]
    fn the_limit_is_inclusive_and_zero_is_off() {
        let limits = RateLimits {
            ip_leads: 3,
            ..RateLimits::default()
        };
        let now = t("2026-05-01T10:00:30Z");
        let w = window(now, 60);
        assert_eq!(judge(Scope::IpLeads, 3, &limits, &w, now), Admission::Admitted);
        let Admission::Limited(limited) = judge(Scope::IpLeads, 4, &limits, &w, now) else {
            panic!("4 > 3")
        };
        assert_eq!(limited.retry_after_secs, 30);
        assert!(limited.first());
        assert_eq!(
            limited.reason(),
            "at most 3 lead submissions from one address per 60 s; retry in 30 s"
        );
        assert!(matches!(judge(Scope::IpLeads, 5, &limits, &w, now), Admission::Limited(l) if !l.first()));
        let off = RateLimits::off();
        assert_eq!(judge(Scope::IpLeads, 1_000_000, &off, &w, now), Admission::Admitted);
    }

    #[tokio::test]
    async fn a_form_with_a_large_limit_counts_in_shares_and_still_holds_its_cap() {
        let now = t("2026-05-01T10:00:30Z");
        // `n` posts from as many visitors to one form limited to `limit`: how many were
        // admitted, in how many counters, and how many refusals were a counter's first.
        let posts = |limit: u32, n: u32| async move {
            let counters = InMemoryCounters::default();
            let limits = RateLimits {
                form: limit,
                ..RateLimits::off()
            };
            let mut admitted = 0;
            let mut first_refusals = 0;
            for visitor in 0..n {
                let address = format!("10.{}.{}.{}", visitor / 65_536, visitor / 256 % 256, visitor % 256);
                match admit(&counters, &limits, Scope::Form, "campaign", &address, now).await {
                    Admission::Admitted => admitted += 1,
                    Admission::Limited(limited) => {
                        assert_eq!(limited.limit, limit);
                        first_refusals += usize::from(limited.first());
                    }
                    Admission::Unchecked(e) => panic!("{e}"),
                }
            }
            (admitted, counters.len(), first_refusals)
        };
        // Below eight shares of 100, one exact counter.
        assert_eq!(Scope::Form.shares(799), 1);
        assert_eq!(posts(799, 1_000).await, (799, 1, 1));
        // From there eight shares, each held to its eighth: never over the cap, and short
        // of it only by how unevenly the visitors' addresses fill the shares.
        assert_eq!(Scope::Form.shares(800), FORM_SHARES);
        let (admitted, counters, first_refusals) = posts(8_000, 16_000).await;
        assert_eq!((admitted, counters), (8_000, FORM_SHARES as usize));
        assert_eq!(first_refusals, FORM_SHARES as usize, "one warning per share");
        // As many posts as the cap allows: deterministic (the addresses' SHA-256 picks the
        // shares), 98 % admitted.
        let (admitted, _, _) = posts(8_000, 8_000).await;
        assert_eq!(admitted, 7_868);
        // A limit that does not divide by eight: each share rounds down, never over.
        let (admitted, _, _) = posts(801, 2_000).await;
        assert_eq!(admitted, 800);
        // Addresses are never shared out.
        assert_eq!(Scope::IpLeads.shares(1_000_000), 1);
    }

    #[test]
    fn defaults_let_a_spike_through_and_stop_a_flood() {
        let d = RateLimits::default();
        assert!(d.ip_leads >= 10, "room for a shared office or carrier NAT");
        assert!(d.ip_leads < 100, "a flood from one address is cut off early");
        assert!(
            u64::from(d.form) >= 50 * u64::from(d.window_secs),
            "50 leads a second per form pass"
        );
    }

    #[test]
    fn client_keys_come_from_the_address_only() {
        assert_eq!(client_key(Some("203.0.113.9")), "203.0.113.9");
        assert_eq!(client_key(Some(" 203.0.113.9 ")), "203.0.113.9");
        assert_eq!(client_key(Some("::ffff:203.0.113.9")), "203.0.113.9");
        assert_eq!(
            client_key(Some("2001:db8:aa:bb:1:2:3:4")),
            client_key(Some("2001:db8:aa:bb:ffff::1")),
            "one /64 is one client"
        );
        assert_eq!(client_key(Some("2001:db8:aa:bb:1:2:3:4")), "2001:db8:aa:bb::/64");
        assert_ne!(
            client_key(Some("2001:db8:aa:bc::1")),
            client_key(Some("2001:db8:aa:bb::1"))
        );
        assert_eq!(
            client_key(Some("203.0.113.9, 10.0.0.1")),
            "unknown",
            "never a header's list"
        );
        assert_eq!(client_key(None), "unknown");
    }

    #[test]
    fn form_keys_ignore_query_strings_and_prefer_the_campaign() {
        let key = |pairs: &[(&str, &str)]| form_key(&RawSubmission::from_pairs(pairs.iter().copied()));
        let page_a = key(&[("landing_page", "https://www.example.com/demo?utm_source=baidu")]);
        let page_b = key(&[("landing_page", "https://WWW.example.com/demo#form")]);
        assert_eq!(page_a, page_b);
        assert_ne!(page_a, key(&[("landing_page", "https://www.example.com/other")]));
        let campaign = key(&[
            ("campaign_id", "spring"),
            ("landing_page", "https://www.example.com/demo"),
        ]);
        assert_eq!(campaign, key(&[("campaign_id", " spring ")]));
        assert_ne!(campaign, page_a);
        assert_eq!(key(&[]), key(&[("campaign_id", "  ")]));
        assert_eq!(key(&[("campaign_id", &"x".repeat(5000))]).len(), 24, "bounded");
    }

    #[tokio::test]
    async fn admit_counts_refuses_over_the_limit_and_fails_open() {
        let counters = InMemoryCounters::default();
        let limits = RateLimits {
            ip_leads: 2,
            ..RateLimits::default()
        };
        let now = t("2026-05-01T10:00:50Z");
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(admit(&counters, &limits, Scope::IpLeads, "198.51.100.1", "198.51.100.1", now).await);
        }
        assert_eq!(seen[..2], [Admission::Admitted, Admission::Admitted]);
        assert!(matches!(&seen[2], Admission::Limited(l) if l.retry_after_secs == 10 && l.count == 3));
        assert!(matches!(&seen[3], Admission::Limited(l) if l.count == 4));
        // Another address, and the next window, start from zero.
        assert_eq!(
            admit(&counters, &limits, Scope::IpLeads, "198.51.100.2", "198.51.100.2", now).await,
            Admission::Admitted
        );
        let later = t("2026-05-01T10:01:00Z");
        assert_eq!(
            admit(
                &counters,
                &limits,
                Scope::IpLeads,
                "198.51.100.1",
                "198.51.100.1",
                later
            )
            .await,
            Admission::Admitted
        );
        // A switched-off scope is not even counted.
        let before = counters.len();
        admit(&counters, &RateLimits::off(), Scope::IpLeads, "x", "x", now).await;
        assert_eq!(counters.len(), before);

        counters.set_failing(true);
        assert!(matches!(
            admit(&counters, &limits, Scope::IpLeads, "198.51.100.1", "198.51.100.1", now).await,
            Admission::Unchecked(_)
        ));
    }
}
