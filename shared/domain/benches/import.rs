//! Rows per second through an import's domain steps: decode (GBK) + CSV + mapping, then
//! per row the same validation/normalisation as a web form and the idempotency key.
//! The pipeline after capture (cleaning, dedup, scoring, routing) is `per_lead`.
//!
//! `cargo bench -p leadflow-domain --bench import`

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use domain::capture::submission::SubmissionRules;
use domain::import::row::{prepare_row, row_key};
use domain::import::sheet::read_sheet;
use domain::import::Batch;
use std::hint::black_box;

const ROWS: usize = 5_000;

fn gbk_file() -> Vec<u8> {
    let mut text = String::from("姓名,手机,邮箱,公司,职位,省份,备注,创建时间\r\n");
    for i in 0..ROWS {
        text.push_str(&format!(
            "客户{i},139{:04}{:04},c{i}@example.com,北京纷扬科技有限公司{i},销售总监,北京,\"展会留资, 要报价\",2026/3/5 14:30\r\n",
            1000 + i % 9000,
            2000 + i / 9000
        ));
    }
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    bytes.into_owned()
}

fn import(c: &mut Criterion) {
    let file = gbk_file();
    let batch = Batch {
        channel: "trade_show".into(),
        campaign_id: Some("expo-2026".into()),
        timezone: chrono_tz::Asia::Shanghai,
    };
    let rules = SubmissionRules::default();
    let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("read_sheet_5000_gbk_rows", |b| {
        b.iter(|| read_sheet(black_box(&file), None, ROWS).unwrap())
    });
    let sheet = read_sheet(&file, None, ROWS).unwrap();
    group.bench_function("prepare_and_key_5000_rows", |b| {
        b.iter(|| {
            for row in &sheet.rows {
                black_box(prepare_row(row, &batch, &[], &rules, now).unwrap());
                black_box(row_key(row, &batch));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
