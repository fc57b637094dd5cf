//! How well company matching tells one company from two, measured on a labelled set.
//!
//! `tests/fixtures/company-pairs.tsv` holds pairs of names as people type them, each
//! labelled `same` or `different` with a category (legal forms, regions, typos, a brand
//! in another industry, groups and subsidiaries, …). Dedup's decision for a pair —
//! `same_company` — is scored as precision and recall of "same"; the test fails if either
//! drops below the figure measured when the rules last changed (BENCHMARKS.md,
//! "Company matching"). Run with `--nocapture` to see the confusion counts and every
//! pair decided wrongly.

use domain::qualify::dedup::{same_company, DedupRules};
use std::collections::BTreeMap;

/// Figures measured on the fixture when the rules last changed; raise them when a change
/// improves them, never lower them to let a change through.
const MIN_PRECISION: f64 = 0.98;
const MIN_RECALL: f64 = 0.95;

#[derive(Default, Debug)]
struct Confusion {
    tp: u32,
    fp: u32,
    tn: u32,
    fn_: u32,
}

#[test]
fn precision_and_recall_of_same_company_hold() {
    let text = include_str!("fixtures/company-pairs.tsv");
    let rules = DedupRules::default();
    let mut total = Confusion::default();
    let mut by_category: BTreeMap<&str, Confusion> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut pairs = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [a, b, expected, category] = cols[..] else {
            panic!("expected 4 tab-separated columns: {line:?}");
        };
        let expected = match expected {
            "same" => true,
            "different" => false,
            other => panic!("label must be same or different, not {other:?}"),
        };
        pairs += 1;
        let decided = same_company(a, b, &rules);
        assert_eq!(decided, same_company(b, a, &rules), "not symmetric: {a} / {b}");
        for c in [&mut total, by_category.entry(category).or_default()] {
            match (expected, decided) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
                (true, false) => c.fn_ += 1,
            }
        }
        if expected != decided {
            wrong.push(format!("{category}: {a} / {b} expected {expected}, decided {decided}"));
        }
    }
    assert!(pairs >= 200, "{pairs} pairs");
    let precision = f64::from(total.tp) / f64::from((total.tp + total.fp).max(1));
    let recall = f64::from(total.tp) / f64::from((total.tp + total.fn_).max(1));
    println!("{pairs} pairs: {total:?}");
    println!("precision {precision:.3}, recall {recall:.3}");
    for (category, c) in &by_category {
        println!("  {category:22} {c:?}");
    }
    for w in &wrong {
        println!("  wrong: {w}");
    }
    assert!(precision >= MIN_PRECISION, "precision {precision:.3} < {MIN_PRECISION}");
    assert!(recall >= MIN_RECALL, "recall {recall:.3} < {MIN_RECALL}");
}
