//! Completers chosen by the driver author, through the public API only: a driver loaded with
//! `TrackingCompleter`, one with a completer of the test's own, and dispatch routines unit-tested
//! in the `DispatchHarness`.
#![cfg(feature = "tracking")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use wdm_compat::driver::entry_point_with;
use wdm_compat::host::{DispatchHarness, IoManager};
use wdm_compat::{
    Device, DispatchStatus, DriverSetup, Irp, IrpCompleter, IrpCompletion, NamedDevice,
    NoopCompleter, NtResult, NtStatus, SystemCompleter, TrackingCompleter, WdmDriver,
};

struct Tracked {
    _device: NamedDevice<()>,
}

// Written once for any completer, as a driver is.
impl<C: IrpCompleter> WdmDriver<C> for Tracked {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device =
            common::buffered_device(setup, r"\Device\Tracked", r"\DosDevices\Tracked", ())?;
        Ok(Self { _device: device })
    }

    fn on_read<'r>(&self, _device: &Device<()>, irp: Irp<'r, C>) -> DispatchStatus<'r> {
        irp.complete_with_information(NtStatus::END_OF_FILE, 3)
    }
}

fn load() -> IoManager {
    let manager = IoManager::new();
    manager
        .load_driver("tracked", entry_point_with::<Tracked, TrackingCompleter>())
        .unwrap();
    manager
}

#[test]
fn tracking_completer_records_on_the_irp_without_running_completion() {
    let manager = load();
    let handle = manager.open(r"\\.\Tracked").unwrap();
    // An operation keeps its IRP readable after completion (a synchronous read's IRP retires
    // as soon as the result is returned).
    let operation = handle.read_async(8).unwrap();
    let probe = manager.probe(operation.irp());
    let result = operation.result().unwrap();
    assert_eq!(result.status, NtStatus::END_OF_FILE);
    assert_eq!(result.information, 3);
    let tracked = probe.tracked_completion().unwrap();
    assert_eq!(
        (tracked.status, tracked.information),
        (NtStatus::END_OF_FILE, 3)
    );
    assert_eq!(probe.tracked_completions().len(), 1);
    assert!(probe.is_completed());
    assert!(manager.violations().is_empty());
}

#[test]
fn tracked_then_real_completion_is_a_double_completion() {
    let manager = load();
    manager.set_strict(false);
    let handle = manager.open(r"\\.\Tracked").unwrap();
    let result = handle.read(8);
    manager.kernel().complete(result.irp, NtStatus::SUCCESS, 0);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_bug_check(0x44));
}

static COUNTED: AtomicUsize = AtomicUsize::new(0);

/// A completer of the driver author's own: counts, then completes for real.
struct Counting;

impl IrpCompleter for Counting {
    fn complete(completion: IrpCompletion) {
        COUNTED.fetch_add(completion.information(), Ordering::Relaxed);
        SystemCompleter::complete(completion);
    }
}

#[test]
fn a_driver_loads_with_a_completer_of_its_authors_own() {
    let manager = IoManager::new();
    manager
        .load_driver("counted", entry_point_with::<Tracked, Counting>())
        .unwrap();
    let handle = manager.open(r"\\.\Tracked").unwrap();
    let before = COUNTED.load(Ordering::Relaxed);
    let result = handle.read(8);
    assert_eq!(
        (result.status, result.information),
        (NtStatus::END_OF_FILE, 3)
    );
    assert!(COUNTED.load(Ordering::Relaxed) >= before + 3);
    assert!(manager.violations().is_empty());
}

/// Dispatch logic of the kind a driver keeps apart from its device: an IOCTL that doubles a
/// little-endian `u32`.
fn double<'r, C: IrpCompleter>(mut irp: Irp<'r, C>) -> DispatchStatus<'r> {
    let outcome = (|| {
        let mut buffers = irp.request().ioctl_buffers()?;
        let wdm_compat::IoctlBuffers::Buffered(buffered) = &mut buffers else {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        };
        let value: u32 = buffered.read_input()?;
        buffered.write_output(&value.wrapping_mul(2))
    })();
    match outcome {
        Ok(written) => irp.complete_with_information(NtStatus::SUCCESS, written),
        Err(status) => irp.complete(status),
    }
}

const IOCTL_DOUBLE: u32 = 0x8000_2000; // FILE_DEVICE 0x8000, function 0x800, buffered

#[test]
fn a_dispatch_routine_unit_tested_with_the_tracking_completer() {
    let harness = DispatchHarness::<TrackingCompleter>::new();
    let outcome = harness.device_control(IOCTL_DOUBLE, &21u32.to_le_bytes(), 4, double);
    assert_eq!(outcome.returned, NtStatus::SUCCESS);
    assert_eq!(outcome.tracked.len(), 1);
    assert_eq!(outcome.tracked[0].information, 4);
    assert_eq!(outcome.result.unwrap().data, 42u32.to_le_bytes());

    // Too small an input: the routine's error, recorded once.
    let outcome = harness.device_control(IOCTL_DOUBLE, &[1], 4, double);
    assert_eq!(outcome.tracked.len(), 1);
    assert_eq!(outcome.tracked[0].status, NtStatus::BUFFER_TOO_SMALL);
    assert!(outcome.violations.is_empty(), "{:#?}", outcome.violations);
}

#[test]
fn a_dispatch_routine_unit_tested_with_the_noop_completer() {
    let harness = DispatchHarness::<NoopCompleter>::new();
    let outcome = harness.device_control(IOCTL_DOUBLE, &[1], 4, double);
    assert_eq!(outcome.returned, NtStatus::BUFFER_TOO_SMALL);
    assert!(outcome.tracked.is_empty());
    assert!(outcome.result.is_none());
}
