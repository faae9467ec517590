//! Fuzzes the lead contract's request parsers (JSON and HTML form) and the validation and
//! normalization that follow: no input may panic.
//!
//! Run from `functions/capture/fuzz`: `RUSTC_BOOTSTRAP=1 cargo fuzz run lead_parser -- -runs=100000`
//! (`cargo install cargo-fuzz --locked` first).

#![no_main]

use baton_domain::{LeadId, LeadSubmission};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&format, body)) = data.split_first() else { return };
    let parsed = if format % 2 == 0 { LeadSubmission::from_json(body) } else { LeadSubmission::from_form(body) };
    if let Ok(submission) = parsed {
        let _ = submission.into_lead(LeadId::generate(), chrono::Utc::now());
    }
});
