//! The cost sheet upload (`POST /v1/costs`, text/csv): no panic on any text, and what it
//! accepts is consistent: a (campaign, day) is either written whole or held back, never
//! both; keywords are unique within a day; amounts are not negative and add up.
#![no_main]

use domain::{attribution::campaign::parse_cost_csv, attribution::campaign::valid_campaign_id};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Registered campaigns: an arbitrary but fixed half of the valid ids.
    let sheet = parse_cost_csv(text, |id| id.len() % 2 == 0);
    let held: BTreeSet<_> = sheet.rejected_days.iter().collect();
    let mut seen = BTreeSet::new();
    for day in &sheet.days {
        assert!(valid_campaign_id(&day.campaign_id) && day.campaign_id.len() % 2 == 0);
        assert!(
            !held.contains(&(day.campaign_id.clone(), day.day)),
            "written and held back"
        );
        assert!(seen.insert((&day.campaign_id, day.day)), "a day written twice");
        let keywords: BTreeSet<_> = day.lines.iter().map(|l| &l.keyword).collect();
        assert_eq!(keywords.len(), day.lines.len(), "a keyword twice in a day");
        for line in &day.lines {
            assert!(line.ad_spend_cents >= 0 && line.content_cents >= 0 && line.labour_cents >= 0);
        }
        assert!(day.total_cents() >= 0);
    }
    if !sheet.errors.is_empty() {
        assert!(sheet.errors.iter().all(|e| e.line >= 1));
    }
});
