//! CPU per lead in the domain: decode + validate/normalise + clean + match keys + score +
//! routing decision (pool by ordered rules, then the rep in a 10-member weighted pool with
//! shifts and caps), beside the floor of only parsing and re-serialising the same JSON.
//!
//! `cargo bench -p leadflow-domain --bench per_lead`

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use domain::capture::intake::lead_from_submission;
use domain::lead::events::EventKind;
use domain::qualify::clean::clean;
use domain::qualify::rules::Rules;
use domain::LeadId;
use domain::{assign::routing::choose_pool, assign::routing::route, assign::routing::Decision};
use domain::{capture::submission::validate, capture::submission::RawSubmission, capture::submission::SubmissionRules};
use domain::{lead::qualification::ScoredEvent, qualify::scoring::score};
use domain::{qualify::dedup::blocking_key, qualify::dedup::company_key, qualify::dedup::contact_keys};
use std::hint::black_box;

#[path = "common/org.rs"]
mod org;

const BODY: &str = r#"{"name":"张三","phone":"138 0013 8000","email":"Zhang.San@Example.com",
"company":"北京纷扬科技有限公司","title":"销售副总裁","industry":"软件","province":"北京",
"company_size":"500-999","product":"CRM","message":"想了解线索管理方案，请联系我",
"channel":"web_form","campaign_id":"2026-q4-launch","utm_source":"baidu","utm_medium":"cpc",
"utm_campaign":"crm-brand","utm_term":"crm 软件","utm_content":"ad-3",
"referrer":"https://www.baidu.com/","landing_page":"https://www.example.com/demo","consent":true}"#;

fn per_lead(c: &mut Criterion) {
    let rules = Rules::default();
    let submission_rules = SubmissionRules::default();
    let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap(); // Monday 10:00 in Beijing
    let id = LeadId::generate(now);
    let events = vec![ScoredEvent {
        id: "form".into(),
        kind: EventKind::FormSubmit,
        at: now,
        points: 20,
    }];
    // Sanity: the pipeline really does its work on this input.
    let raw = RawSubmission::from_json(BODY.as_bytes()).unwrap();
    let lead = lead_from_submission(id.clone(), validate(&raw, &submission_rules).unwrap(), now);
    assert!(clean(&lead, &rules.cleaning).is_none());
    assert_eq!(score(&lead, &events, &rules.scoring, now).cell, "B4");

    let (config, pool, reps, loads, state) = org::sales_org(10);
    let decide = |lead: &domain::Lead, grade| {
        let pool_id = choose_pool(lead, &config);
        assert_eq!(pool_id, pool.id);
        route(&pool, &reps, &loads, &state, grade, now)
    };
    let s = score(&lead, &events, &rules.scoring, now);
    let (decision, _) = decide(&lead, Some((s.grade, s.level)));
    assert!(matches!(decision, Decision::Assign { .. }), "{decision:?}");

    let mut group = c.benchmark_group("per_lead");
    group.throughput(Throughput::Elements(1));
    group.bench_function("floor: parse + serialise JSON", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_str(black_box(BODY)).unwrap();
            black_box(serde_json::to_string(&value).unwrap())
        })
    });
    let qualify = |body: &str| {
        let raw = RawSubmission::from_json(body.as_bytes()).unwrap();
        let submission = validate(&raw, &submission_rules).unwrap();
        let lead = lead_from_submission(id.clone(), submission, now);
        let junk = clean(&lead, &rules.cleaning);
        let keys = contact_keys(&lead);
        let block = company_key(&lead).map(|k| blocking_key(&k.value));
        let s = score(&lead, &events, &rules.scoring, now);
        (lead, junk, keys, block, s)
    };
    group.bench_function("decode + normalise + clean + keys + score", |b| {
        b.iter(|| black_box(qualify(black_box(BODY))))
    });
    group.bench_function("decode + normalise + clean + keys + score + route", |b| {
        b.iter(|| {
            let (lead, junk, keys, block, s) = qualify(black_box(BODY));
            let decision = decide(&lead, Some((s.grade, s.level)));
            black_box((junk, keys, block, s, decision))
        })
    });
    group.bench_function("routing decision only", |b| {
        b.iter(|| decide(black_box(&lead), Some((domain::lead::qualification::Grade::B, 4))))
    });
    group.bench_function("normalise phone only", |b| {
        b.iter(|| domain::lead::normalize::phone_e164(black_box("138 0013 8000"), phonenumber::country::Id::CN))
    });
    group.bench_function("company core only", |b| {
        b.iter(|| domain::qualify::company::core_name(black_box("北京纷扬科技有限公司")))
    });
    group.finish();
}

criterion_group!(benches, per_lead);
criterion_main!(benches);
