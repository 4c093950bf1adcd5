//! Fuzz target: any bytes as a CLD extract — validation and mapping must never panic.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run cld -- -max_total_time=60` from `crates/ingest`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = weave_ingest::cld::import_each(data, |b| drop(b));
});
