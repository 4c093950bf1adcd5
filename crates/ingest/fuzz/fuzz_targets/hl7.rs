//! Fuzz target: any bytes go through the whole HL7 path — decode, split, parse (lenient and strict),
//! every accessor, map to FHIR and build the ACK (also for unparseable input). Nothing may panic.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run hl7 -- -max_total_time=60` from `crates/ingest`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weave_ingest::ack::{ack_unparseable_with, ack_with, AckCode, AckHeader};
use weave_ingest::hl7::{decode_text, parse, split_messages, ParseOptions};
use weave_ingest::map::{map_message, MapOptions};

const H: AckHeader<'static> = AckHeader { timestamp: "20250101000000+0000", control_id: "F" };

fuzz_target!(|data: &[u8]| {
    let opts = ParseOptions { max_size: 1 << 20, strict: false };
    let strict = ParseOptions { strict: true, ..opts };
    let _ = weave_ingest::pipeline::process(data, &opts, &MapOptions::default());
    let Ok(text) = decode_text(data, &opts) else { return };
    for part in split_messages(&text) {
        let _ = parse(part, &strict);
        match parse(part, &opts) {
            Err(e) => {
                let _ = ack_unparseable_with(data, &e, &H);
            }
            Ok(m) => {
                for s in m.segments() {
                    for f in 0..=s.field_count() + 1 {
                        let field = s.field(f);
                        for rep in field.reps() {
                            let _ = rep.value();
                            for c in 0..4 {
                                let _ = rep.sub_text(c, 2);
                                let _ = rep.comp_as_rep(c).text(1);
                            }
                        }
                    }
                }
                match map_message(&m, &MapOptions::default()) {
                    Ok(out) => {
                        let _ = serde_json::to_string(&out.bundle);
                        let _ = ack_with(&m, AckCode::AA, None, &H);
                    }
                    Err(e) => {
                        let _ = ack_with(&m, e.ack_code(), Some(&e.err_info(&m)), &H);
                    }
                }
            }
        }
    }
});
