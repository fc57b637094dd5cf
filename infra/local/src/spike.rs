//! `local-stack spike`: replays a campaign spike against the running local gateway and
//! then checks that every accepted lead reached its final state.
//!
//! Open loop: request `i` is due at `i / rate` seconds whether or not earlier ones have
//! answered, and its latency is measured from that due time, so a stalled server shows up
//! in the percentiles instead of silently slowing the driver down.
//!
//! The mix, per 20 requests: 14 new leads, 3 repeats of an earlier lead's phone, 2 junk
//! leads (disposable e-mail and no phone: stored as invalid), 1 tracked event.

use domain::lead::ports::LeadStore;
use domain::lead::Stage;
use domain::LeadId;
use leadflow_aws::DynamoStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub rate: u32,
    pub seconds: u32,
    /// How long to wait for the pipeline to finish after the last request.
    pub settle_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    New,
    Repeat,
    Junk,
    Event,
}

fn kind(i: u64) -> Kind {
    match i % 20 {
        0..=13 => Kind::New,
        14..=16 => Kind::Repeat,
        17 | 18 => Kind::Junk,
        _ => Kind::Event,
    }
}

/// Phones are unique per run (`run` seeds them) so repeated runs stay independent.
fn phone(run: u64, i: u64) -> String {
    format!("139{:04}{:04}", run % 10_000, i % 10_000)
}

/// The new lead whose phone request `i` reuses (for a repeat or an event): one sent a few
/// requests earlier in the same twenty.
fn earlier(i: u64) -> u64 {
    i - (i % 20) + (i % 7)
}

fn request(run: u64, i: u64) -> (&'static str, Value) {
    let earlier = earlier(i);
    match kind(i) {
        Kind::New => (
            "/v1/leads",
            json!({"name": format!("压测{i}"), "phone": phone(run, i), "company": format!("杭州压测{i}科技有限公司"),
                   "province": "北京", "channel": "web_form", "utm_source": "baidu", "campaign_id": "spike",
                   "submission_id": format!("spike-{run}-{i}")}),
        ),
        Kind::Repeat => (
            "/v1/leads",
            json!({"name": "再次咨询", "phone": phone(run, earlier), "channel": "web_form",
                   "submission_id": format!("spike-{run}-{i}")}),
        ),
        Kind::Junk => (
            "/v1/leads",
            json!({"name": "test", "email": format!("junk{i}@yopmail.com"), "submission_id": format!("spike-{run}-{i}")}),
        ),
        Kind::Event => (
            "/v1/events",
            json!({"event": "whitepaper_download", "phone": phone(run, earlier), "event_id": format!("spike-{run}-{i}")}),
        ),
    }
}

#[derive(Default)]
struct Results {
    latencies_ms: Vec<f64>,
    accepted: usize,
    rejected: usize,
    failed: usize,
    /// Lead ids answered 202 by `POST /v1/leads`.
    leads: Vec<LeadId>,
}

/// The `p`th percentile of ascending `sorted` (nearest rank), 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// How many addresses a spike's visitors come from.
pub const VISITOR_ADDRESSES: u16 = 250;

/// The address request `i` leaves from: a campaign's visitors come from many addresses,
/// and intake limits each one, so the driver spreads its requests over 127.0.x.y (all of
/// 127/8 is loopback on Linux; the gateway reports the connection's address). Elsewhere
/// (macOS has only 127.0.0.1) every request shares one address and meets that limit.
pub fn visitor_address(i: u64) -> Option<std::net::IpAddr> {
    let n = u16::try_from(i % u64::from(VISITOR_ADDRESSES)).unwrap_or_default() + 2;
    cfg!(target_os = "linux").then(|| std::net::Ipv4Addr::new(127, 0, (n / 256) as u8, (n % 256) as u8).into())
}

pub async fn run(gateway: &str, store: &DynamoStore, options: Options) -> Result<bool, Error> {
    let clients = (0..u64::from(VISITOR_ADDRESSES))
        .map(|i| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .local_address(visitor_address(i))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let run = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
    let total = u64::from(options.rate) * u64::from(options.seconds);
    let results = Arc::new(Mutex::new(Results::default()));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / f64::from(options.rate));
        tokio::time::sleep_until(due.into()).await;
        let (path, body) = request(run, i);
        let client = clients[usize::try_from(i % u64::from(VISITOR_ADDRESSES)).unwrap_or_default()].clone();
        let (results, url) = (results.clone(), format!("{gateway}{path}"));
        tasks.spawn(async move {
            let answer = client.post(url).json(&body).send().await;
            let elapsed = due.elapsed().as_secs_f64() * 1000.0;
            let mut r = results.lock().await;
            r.latencies_ms.push(elapsed);
            match answer {
                Ok(resp) if resp.status().as_u16() == 202 => {
                    r.accepted += 1;
                    let answer: Value = resp.json().await.unwrap_or_default();
                    if path == "/v1/leads" {
                        if let Some(id) = answer["lead_id"].as_str().and_then(LeadId::parse) {
                            r.leads.push(id);
                        }
                    }
                }
                Ok(resp) if resp.status().is_client_error() => r.rejected += 1,
                _ => r.failed += 1,
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let sending = start.elapsed().as_secs_f64();
    let mut results = Arc::try_unwrap(results)
        .map_err(|_| "requests still running")?
        .into_inner();
    results.latencies_ms.sort_by(f64::total_cmp);
    let lat = &results.latencies_ms;
    println!(
        "spike: {total} requests at {}/s for {} s (sent in {sending:.1} s)",
        options.rate, options.seconds
    );
    println!(
        "  accepted {} ({:.1}/s), rejected {}, failed {}",
        results.accepted,
        results.accepted as f64 / sending,
        results.rejected,
        results.failed
    );
    println!(
        "  latency ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}",
        percentile(lat, 50.0),
        percentile(lat, 90.0),
        percentile(lat, 99.0),
        lat.last().copied().unwrap_or_default()
    );

    if results.accepted == 0 && results.failed > 0 {
        return Err(format!("no request reached the gateway at {gateway}: is `make dev` running?").into());
    }

    // Every accepted lead must end up qualified and routed (owner or pool), collected as a
    // repeat, or kept as invalid: nothing left in `received`.
    let deadline = Instant::now() + Duration::from_secs(options.settle_seconds);
    let settle_start = Instant::now();
    let mut pending = results.leads.clone();
    let mut finals: std::collections::BTreeMap<&'static str, usize> = Default::default();
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for id in pending {
            match store.get_lead(&id).await? {
                Some(lead) => match lead.stage {
                    Stage::Received => still.push(id),
                    Stage::Invalid => *finals.entry("invalid (kept with a reason)").or_default() += 1,
                    Stage::Merged => *finals.entry("repeat (collected)").or_default() += 1,
                    _ if lead.owner.is_some() => *finals.entry("assigned to a rep").or_default() += 1,
                    _ if lead.waiting_in_pool().is_some() => *finals.entry("waiting in its pool").or_default() += 1,
                    _ => still.push(id),
                },
                None => still.push(id),
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    println!(
        "  after {:.1} s: {} of {} accepted leads in a final state: {finals:?}",
        settle_start.elapsed().as_secs_f64(),
        results.leads.len() - pending.len(),
        results.leads.len()
    );
    if !pending.is_empty() {
        println!("  NOT SETTLED: {} leads, e.g. {}", pending.len(), pending[0].as_str());
    }
    Ok(pending.is_empty() && results.failed == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_fourteen_three_two_one_per_twenty() {
        let kinds: Vec<Kind> = (0..20).map(kind).collect();
        let count = |k| kinds.iter().filter(|x| **x == k).count();
        assert_eq!(
            (
                count(Kind::New),
                count(Kind::Repeat),
                count(Kind::Junk),
                count(Kind::Event)
            ),
            (14, 3, 2, 1)
        );
        // Repeats and events point at a new lead sent earlier in the same twenty.
        for i in [14u64, 15, 16, 19, 34, 39] {
            let earlier = earlier(i);
            assert!(earlier < i && kind(earlier) == Kind::New, "{i} → {earlier}");
        }
    }
}
