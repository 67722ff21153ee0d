//! Sequences of user-mode operations (`host_tests::ops`, what the `user_ops` fuzz target runs)
//! replayed against every sample under both backends: none may make the verifier report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use host_tests::Backend;
use host_tests::ops::{self, Sample};

/// Opcodes of `ops` (the byte before `% 11`).
const OPEN: u8 = 0;
const CLOSE: u8 = 1;
const READ: u8 = 2;
const WRITE: u8 = 4;
const IOCTL: u8 = 5;
const CANCEL: u8 = 7;
const CANCEL_IO: u8 = 8;
const EVENT: u8 = 9;
const PRESS: u8 = 10;

/// A script touching every operation: two handles, writes, reads (one cancelled), known and
/// random IOCTLs, `CancelIo`, a key press, a surprise removal (filter), an unload and reload,
/// and more I/O after it.
fn script() -> Vec<u8> {
    let mut bytes = vec![OPEN, OPEN];
    bytes.extend([WRITE, 5, b'h', b'e', b'l', b'l', b'o', 0]);
    bytes.extend([READ, 8, 1]);
    bytes.extend([READ, 8, 0, CANCEL, 1]);
    // The known IOCTL with 4 input bytes and 4 output bytes, then a random METHOD_NEITHER one.
    bytes.extend([IOCTL, 0, 4, 7, 0, 0, 0, 4, 0]);
    bytes.extend([IOCTL, 1, 0x03, 0x20, 0x22, 0x00, 3, 1, 2, 3, 9, 1]);
    bytes.extend([PRESS, 0x04, CANCEL_IO, 0]);
    bytes.extend([EVENT, 0]); // surprise removal (the filter), a key press elsewhere
    bytes.extend([READ, 4, 0, CLOSE, 0]);
    bytes.extend([EVENT, 1]); // unload and reload
    bytes.extend([
        OPEN, WRITE, 2, 1, 2, 0, READ, 2, 0, IOCTL, 0, 4, 1, 0, 0, 0, 4, 0,
    ]);
    bytes
}

#[test]
fn every_operation_on_every_sample_and_backend_leaves_the_verifier_silent() {
    for sample in Sample::ALL {
        for backend in Backend::ALL {
            let outcome = ops::run(sample, backend, &script());
            assert_eq!(outcome, Ok(()), "{sample:?} / {backend:?}");
        }
    }
}

#[test]
fn any_prefix_of_the_script_leaves_the_verifier_silent() {
    let script = script();
    // Under Miri every prefix would take minutes; every fifth one still reaches each operation.
    let stride = if cfg!(miri) { 5 } else { 1 };
    for length in (0..=script.len()).step_by(stride) {
        let sample = Sample::ALL[length % Sample::ALL.len()];
        let backend = Backend::ALL[length % 2];
        let outcome = ops::run(sample, backend, &script[..length]);
        assert_eq!(outcome, Ok(()), "{sample:?} / {backend:?}, {length} bytes");
    }
}
