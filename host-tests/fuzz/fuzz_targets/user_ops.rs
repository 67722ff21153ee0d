//! Sequences of user-mode operations (open, read, write, IOCTLs with any code and lengths,
//! cancel, `CancelIo`, close, key presses, surprise removal, unload and reload) against every
//! sample under both backends, with the verifier on: any report, or a panic in driver code (a
//! bug check), is a finding. The first byte picks the sample and backend (`host_tests::ops`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(report) = host_tests::ops::run_bytes(data) {
        panic!("{report}");
    }
});
