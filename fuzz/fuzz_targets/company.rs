//! The company normaliser and the cleaner's company and word checks: no panic, and the
//! core is idempotent (company.rs: "normalising a core again returns it unchanged") and
//! never empty for a name that has a letter or digit.
#![no_main]

use domain::qualify::company::core_name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let core = core_name(name);
    assert_eq!(core_name(&core), core, "{name:?}");
    if name.chars().any(char::is_alphanumeric) {
        assert!(!core.is_empty(), "{name:?} has a letter but no core");
    }
    assert!(core.chars().all(char::is_alphanumeric), "{name:?} -> {core:?}");
});
