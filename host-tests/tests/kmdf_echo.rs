//! The KMDF echo sample (`samples/kmdf-echo`, Microsoft's DriverSync echo ported) on a
//! root-enumerated device node: what its client sees. Reads and writes wait for the periodic
//! timer, one per tick, in order; a waiting request can be cancelled and is completed once; a
//! write too long fails at once; a read with nothing stored returns nothing at once; removing
//! the device cancels what waits; in D3 nothing completes, and back in D0 everything does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::Duration;

use kmdf_echo::{KmdfEcho, MAX_WRITE_LENGTH, TIMER_PERIOD_MS};
use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceNode, IoManager};

use host_tests::root::KMDF_ECHO_INTERFACE as INTERFACE;

fn load() -> (IoManager, DeviceNode) {
    let io = IoManager::new();
    let echo = io
        .load_driver("kmdfecho", wdf_safe::entry_point::<KmdfEcho>())
        .unwrap();
    let node = host_tests::root::root_node(&io, r"\Device\RootEcho", echo).unwrap();
    (io, node)
}

fn tick(io: &IoManager) {
    wdf_safe::advance_clock(io, Duration::from_millis(u64::from(TIMER_PERIOD_MS)));
}

#[test]
fn a_write_and_a_read_each_wait_for_a_timer_tick_and_echo_the_bytes() {
    let (io, node) = load();
    let handle = io.open(INTERFACE).unwrap();
    let write = handle.write_async(b"hello, kmdf echo").unwrap();
    assert!(write.returned_pending());
    assert!(!write.is_complete(), "held until the timer");
    tick(&io);
    let written = write.result().unwrap();
    assert_eq!(
        (written.status, written.information),
        (NtStatus::SUCCESS, 16)
    );

    let read = handle.read_async(64).unwrap();
    assert!(!read.is_complete());
    tick(&io);
    let result = read.result().unwrap();
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.data, b"hello, kmdf echo");
    // A read shorter than what is stored gets the first bytes.
    let short = handle.read_async(5).unwrap();
    tick(&io);
    assert_eq!(short.result().unwrap().data, b"hello");
    drop((write, read, short));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn waiting_requests_complete_one_per_tick_in_order() {
    let (io, node) = load();
    let handle = node.open().unwrap();
    let first = handle.write_async(b"one").unwrap();
    let second = handle.write_async(b"three").unwrap();
    tick(&io);
    assert!(first.is_complete() && !second.is_complete());
    tick(&io);
    assert_eq!(second.result().unwrap().information, 5);
    drop((first, second));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_cancelled_request_completes_once_with_status_cancelled_and_the_timer_moves_on() {
    let (io, node) = load();
    let handle = node.open().unwrap();
    let cancelled = handle.write_async(b"never mind").unwrap();
    let kept = handle.write_async(b"keep").unwrap();
    assert!(cancelled.cancel());
    assert_eq!(cancelled.result().unwrap().status, NtStatus::CANCELLED);
    // Cancelled in the waiting queue, it came back to the driver (EvtIoCanceledOnQueue).
    assert!(
        io.trace()
            .iter()
            .any(|line| line == "[kmdf-echo] a waiting request was cancelled"),
        "{:#?}",
        io.trace()
    );
    // The next tick finds the other write, not the cancelled one.
    tick(&io);
    assert_eq!(kept.result().unwrap().information, 4);
    drop((cancelled, kept));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn in_d3_nothing_completes_and_back_in_d0_what_waited_completes_in_order() {
    let (io, node) = load();
    let handle = node.open().unwrap();
    let before = handle.write_async(b"before").unwrap();
    // The system sleeps; the framework takes the device to D3, and the driver's self-managed
    // I/O suspend stops the default queue and the timer.
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    tick(&io);
    tick(&io);
    assert!(!before.is_complete(), "the timer does not run in D3");
    let during = handle.write_async(b"during D3").unwrap();
    assert!(during.returned_pending());
    tick(&io);
    assert!(!during.is_complete() && !before.is_complete());
    // The system wakes; self-managed I/O restart: the queue presents the write that waited,
    // and the timer runs.
    assert_eq!(node.set_system_power(0), NtStatus::SUCCESS);
    tick(&io);
    assert_eq!(before.result().unwrap().information, 6);
    assert!(!during.is_complete());
    tick(&io);
    assert_eq!(during.result().unwrap().information, 9);
    let read = handle.read_async(64).unwrap();
    tick(&io);
    assert_eq!(read.result().unwrap().data, b"during D3");
    drop((before, during, read));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_write_too_long_fails_at_once_and_a_read_of_nothing_returns_nothing_at_once() {
    let (io, node) = load();
    let handle = node.open().unwrap();
    let read = handle.read(8);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 0));
    let too_long = handle.write(&vec![0; MAX_WRITE_LENGTH + 1]);
    assert_eq!(
        (too_long.status, too_long.information),
        (NtStatus::BUFFER_OVERFLOW, 0)
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn closing_the_handle_cancels_what_waits_and_removal_stops_the_timer() {
    let (io, node) = load();
    let handle = node.open().unwrap();
    let waiting = handle.write_async(b"left behind").unwrap();
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(waiting.result().unwrap().status, NtStatus::CANCELLED);
    drop(waiting);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    // The timer went with the device: ticks after the removal find nothing to run.
    tick(&io);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn run_sample_kmdf_echo_passes_and_shows_the_timer_completing_requests() {
    let outcome = host_tests::scenario::kmdf_echo();
    assert!(outcome.passed, "{outcome:#?}");
    assert!(
        outcome
            .trace
            .iter()
            .any(|line| line == "[kmdf-echo] timer completes a read with 512 bytes"),
        "{:#?}",
        outcome.trace
    );
}
