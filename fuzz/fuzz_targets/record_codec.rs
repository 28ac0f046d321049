//! Arbitrary bytes as every record the store keeps (crm-lib's codec: version tag + bincode,
//! older versions through their upgrade) and as the bot's stored dialogue state (JSON). Each
//! must decode to a value or an error, never panic, and every value that decodes must encode
//! and decode back to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Err(problem) = crm_lib::fuzzing::decode_every_record(bytes) {
        panic!("{problem}");
    }
    if let Err(problem) = crm_appliance::fuzzing::dialogue_round_trips(bytes) {
        panic!("{problem}");
    }
});
