//! Import end to end on the in-memory adapters: file → chunks → captured leads → dedup →
//! progress (the emulator-backed version is tests/import.rs at the workspace root).

use chrono::{DateTime, Utc};
use domain::capture::intake::capture;
use domain::import::run::{chunk_messages, dry_run, process_chunk};
use domain::import::sheet::read_sheet;
use domain::lead::messages::Message;
use domain::lead::Stage;
use domain::memory::{InMemoryBus, InMemoryStore};
use domain::qualify::pipeline::qualify_captured;
use domain::{capture::submission::validate, capture::submission::RawSubmission, capture::submission::SubmissionRules};
use domain::{import::ports::ImportStore, lead::ports::LeadStore};
use domain::{import::Batch, import::ImportJob, import::Progress, lead::messages::Row};

fn now() -> DateTime<Utc> {
    "2026-11-23T08:00:00Z".parse().unwrap()
}

fn batch() -> Batch {
    Batch {
        channel: "trade_show".into(),
        campaign_id: Some("expo".into()),
        timezone: chrono_tz::Asia::Shanghai,
    }
}

const FILE: &str = "姓名,手机,邮箱,公司,创建时间\n\
张三,13800138000,,北京纷扬科技有限公司,2026-03-05 14:30\n\
李四,13900139000,li@example.com,,\n\
无联系方式,12345,,,\n\
测试,,x@mailinator.com,,\n\
王五,13600136000,,,\n\
王五,13600136000,,,\n";

async fn import(store: &InMemoryStore, id: &str) -> Vec<(u64, Vec<Row>)> {
    let sheet = read_sheet(FILE.as_bytes(), None, 100).unwrap();
    let job = ImportJob {
        id: id.into(),
        file_name: Some("expo.csv".into()),
        batch: batch(),
        mapping: sheet.mapping.name.clone(),
        encoding: sheet.encoding.as_str().into(),
        rows_total: sheet.rows.len() as u64,
        chunks: 2,
        unreadable: sheet.errors.clone(),
        created_by: "ops".into(),
        created_at: now(),
    };
    store.create_import(&job).await.unwrap();
    chunk_messages(id, sheet.rows, 4, now())
        .into_iter()
        .map(|e| match e.message {
            Message::ImportChunk { chunk, rows, .. } => (chunk, rows),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Runs dedup-score on every lead.captured sent so far (duplicates included).
async fn qualify_all(store: &InMemoryStore, bus: &InMemoryBus) {
    for envelope in bus.sent() {
        if let Message::LeadCaptured { lead_id } = envelope.message {
            qualify_captured(store, bus, &lead_id, now()).await.unwrap();
        }
    }
}

async fn progress(store: &InMemoryStore, id: &str) -> Progress {
    let job = store.import_job(id).await.unwrap().unwrap();
    let (chunks, tally) = store.import_results(id).await.unwrap();
    Progress::of(&job, &chunks, tally)
}

#[tokio::test]
async fn counts_add_up_and_nothing_is_written_twice() {
    let (store, bus) = (InMemoryStore::default(), InMemoryBus::default());
    let rules = SubmissionRules::default();
    // 李四 is already a lead: the file's row is a repeat.
    let existing = validate(
        &RawSubmission::from_pairs([("phone", "13900139000"), ("name", "李四")]),
        &rules,
    )
    .unwrap();
    let li = capture(&store, &bus, existing, now()).await.unwrap().lead_id;
    qualify_captured(&store, &bus, &li, now()).await.unwrap();

    let chunks = import(&store, "01IMPORTA").await;
    assert_eq!(chunks.len(), 2);
    // Every chunk twice (redelivery), the second chunk a third time after dedup ran.
    for (chunk, rows) in &chunks {
        let first = process_chunk(&store, &bus, "01IMPORTA", *chunk, rows, &rules, now())
            .await
            .unwrap();
        let again = process_chunk(&store, &bus, "01IMPORTA", *chunk, rows, &rules, now())
            .await
            .unwrap();
        assert_eq!(first.result, again.result, "a redelivered chunk counts the same");
        assert!(first.first && !again.first, "and says it was recorded before");
    }
    qualify_all(&store, &bus).await;
    let (chunk, rows) = &chunks[1];
    process_chunk(&store, &bus, "01IMPORTA", *chunk, rows, &rules, now())
        .await
        .unwrap();

    let p = progress(&store, "01IMPORTA").await;
    assert_eq!(p.rows_total, 6);
    // 张三 and 王五 new; 李四 a repeat; 12345 invalid here; 测试 junk in cleaning; the second 王五 unchanged.
    assert_eq!(
        (p.created, p.repeats, p.invalid, p.unchanged, p.failed, p.pending),
        (2, 1, 2, 1, 0, 0)
    );
    assert_eq!(p.status, "done");
    assert_eq!(p.errors.len(), 1);
    assert_eq!((p.errors[0].line, p.errors[0].field.as_str()), (4, "phone"));
    // 1 existing + 5 rows written (the duplicate row wrote nothing).
    assert_eq!(store.lead_count(), 6);

    let leads = store.leads();
    let zhang = leads
        .iter()
        .find(|l| l.contact.name.as_deref() == Some("张三"))
        .unwrap();
    assert_eq!(
        zhang.created_at,
        "2026-03-05T06:30:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(zhang.source.channel, "trade_show");
    assert_eq!(zhang.stage, Stage::Aql);
    let invalid = leads
        .iter()
        .find(|l| l.unusable.get("phone").map(String::as_str) == Some("12345"))
        .unwrap();
    assert_eq!(invalid.stage, Stage::Invalid);
    assert_eq!(invalid.invalid_reason.as_ref().unwrap().code, "import_invalid");

    // The same file again, as a new import: nothing new.
    let chunks = import(&store, "01IMPORTB").await;
    for (chunk, rows) in &chunks {
        process_chunk(&store, &bus, "01IMPORTB", *chunk, rows, &rules, now())
            .await
            .unwrap();
    }
    qualify_all(&store, &bus).await;
    let p = progress(&store, "01IMPORTB").await;
    assert_eq!(
        (p.created, p.repeats, p.invalid, p.unchanged, p.pending),
        (0, 0, 0, 6, 0)
    );
    assert_eq!(store.lead_count(), 6);
    assert!(store.get_lead(&li).await.unwrap().unwrap().repeat_count == 1);
}

#[tokio::test]
async fn a_dry_run_reports_lines_and_writes_nothing() {
    let sheet = read_sheet(FILE.as_bytes(), None, 100).unwrap();
    let report = dry_run(&sheet, &batch(), &[], &SubmissionRules::default(), now());
    assert_eq!(report.rows_total, 6);
    assert_eq!((report.valid, report.invalid, report.repeated_in_file), (4, 1, 1));
    assert_eq!(report.errors[0].line, 4);
}
