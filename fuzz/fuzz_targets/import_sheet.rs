//! A lead import file (CSV or TSV, UTF-8/UTF-16/GB18030, any headers) read and dry-run:
//! no panic; every row and every unreadable line is counted, and nothing beyond the row
//! limit is read.
#![no_main]

use domain::import::{run::dry_run, sheet::read_sheet, Batch};
use domain::capture::submission::SubmissionRules;
use libfuzzer_sys::fuzz_target;

const MAX_ROWS: usize = 200;

fuzz_target!(|data: &[u8]| {
    let Ok(sheet) = read_sheet(data, None, MAX_ROWS) else {
        return;
    };
    assert!(sheet.rows.len() <= MAX_ROWS);
    let batch = Batch {
        channel: "import".into(),
        campaign_id: None,
        timezone: chrono_tz::Asia::Shanghai,
    };
    let now = chrono::DateTime::from_timestamp(1_767_225_600, 0).expect("a fixed time");
    let report = dry_run(&sheet, &batch, &[], &SubmissionRules::default(), now);
    assert_eq!(report.rows_total, (sheet.rows.len() + sheet.errors.len()) as u64);
    assert_eq!(
        report.valid + report.invalid + report.unreadable + report.repeated_in_file,
        report.rows_total,
        "every row is valid, invalid, unreadable or a repeat: {report:?}"
    );
});
