//! How long the simulation keeps what it is given: IRPs retire once they completed and nobody
//! reads them any more, the debugger trace is a bounded buffer, and a stale IRP id is a
//! double completion, never another IRP.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceId, IoManager, IrpId, KernelCalls, ScriptedDriver, flags, major};

const FILE_DEVICE_UNKNOWN: u32 = 0x22;

fn complete_success(k: &KernelCalls, _device: DeviceId, irp: IrpId) -> NtStatus {
    k.complete(irp, NtStatus::SUCCESS, 0);
    NtStatus::SUCCESS
}

/// `\Device\Life`: reads complete at once with 2 bytes, printing a trace line each; writes are
/// kept (pended) in `kept`.
fn driver(kept: Arc<Mutex<Vec<IrpId>>>) -> ScriptedDriver {
    ScriptedDriver::new()
        .on_entry(|k| {
            let device = k
                .create_device(Some(r"\Device\Life"), FILE_DEVICE_UNKNOWN, false)
                .unwrap();
            k.set_flags(device, flags::DO_BUFFERED_IO);
            k.create_symbolic_link(r"\DosDevices\Life", device).unwrap();
            NtStatus::SUCCESS
        })
        .on(major::CREATE, complete_success)
        .on(major::CLEANUP, complete_success)
        .on(major::CLOSE, complete_success)
        .on(major::READ, |k, _device, irp| {
            k.dbg_print("read\n");
            k.write_system_buffer(irp, 0, b"ok").unwrap();
            k.complete(irp, NtStatus::SUCCESS, 2);
            NtStatus::SUCCESS
        })
        .on(major::WRITE, move |k, _device, irp| {
            k.mark_pending(irp);
            kept.lock().unwrap().push(irp);
            NtStatus::PENDING.status()
        })
}

fn load() -> (IoManager, Arc<Mutex<Vec<IrpId>>>) {
    let manager = IoManager::new();
    let kept = Arc::default();
    manager
        .load_driver("life", driver(Arc::clone(&kept)))
        .unwrap();
    (manager, kept)
}

#[test]
fn completed_irps_retire_so_a_long_run_holds_only_what_is_in_flight() {
    let (manager, kept) = load();
    let handle = manager.open(r"\\.\Life").unwrap();
    for _ in 0..1000 {
        assert_eq!(handle.read(2).data, b"ok");
    }
    assert_eq!(manager.live_irps(), 0);

    // A pended write stays while the driver holds it, and retires when it completes and its
    // operation is dropped.
    let write = handle.write_async(b"w").unwrap();
    assert!(write.returned_pending());
    assert_eq!(manager.live_irps(), 1);
    let irp = kept.lock().unwrap().pop().unwrap();
    manager.kernel().complete(irp, NtStatus::SUCCESS, 1);
    assert_eq!(write.result().unwrap().information, 1);
    assert_eq!(manager.live_irps(), 1, "the operation still holds its IRP");
    drop(write);
    assert_eq!(manager.live_irps(), 0);
    assert!(manager.violations().is_empty());
}

#[test]
fn an_irp_whose_originator_stopped_waiting_retires_when_it_completes() {
    let (manager, kept) = load();
    manager.set_sync_timeout(Duration::from_millis(10));
    let handle = manager.open(r"\\.\Life").unwrap();
    let result = handle.write(b"late");
    assert_eq!(result.status, NtStatus::PENDING, "the wait timed out");
    assert_eq!(manager.live_irps(), 1);
    let irp = kept.lock().unwrap().pop().unwrap();
    manager.kernel().complete(irp, NtStatus::SUCCESS, 4);
    assert_eq!(manager.live_irps(), 0);
    assert!(manager.violations().is_empty());
}

#[test]
fn a_probe_keeps_its_irp_and_a_probe_made_too_late_reads_nothing() {
    let (manager, kept) = load();
    let handle = manager.open(r"\\.\Life").unwrap();
    let write = handle.write_async(b"w").unwrap();
    let probe = manager.probe(write.irp());
    drop(write);
    let irp = kept.lock().unwrap().pop().unwrap();
    manager.kernel().complete(irp, NtStatus::SUCCESS, 1);
    assert!(probe.is_held());
    assert_eq!(probe.information(), 1);
    assert_eq!(manager.live_irps(), 1);
    drop(probe);
    assert_eq!(manager.live_irps(), 0);

    let read = handle.read(2);
    let late = manager.probe(read.irp);
    assert!(!late.is_held());
    assert!(late.is_completed());
    assert_eq!(late.result(), None);
}

#[test]
fn completing_a_retired_irp_is_a_double_completion_not_another_irp() {
    let (manager, kept) = load();
    manager.set_strict(false);
    manager.set_sync_timeout(Duration::from_millis(10));
    let handle = manager.open(r"\\.\Life").unwrap();
    assert_eq!(handle.write(b"1").status, NtStatus::PENDING);
    let stale = kept.lock().unwrap().pop().unwrap();
    manager.kernel().complete(stale, NtStatus::SUCCESS, 1);
    // The next IRP may reuse the retired one's slot; the stale id must not reach it.
    let second = handle.write_async(b"2").unwrap();
    let fresh = kept.lock().unwrap().pop().unwrap();
    assert_ne!(fresh, stale);
    manager.kernel().complete(stale, NtStatus::SUCCESS, 7);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_bug_check(0x44));
    assert_eq!(violations[0].bug_check.unwrap().params[0], stale.index());
    assert!(
        !second.is_complete(),
        "the stale completion reached another IRP"
    );
    manager.kernel().complete(fresh, NtStatus::SUCCESS, 1);
    assert_eq!(second.result().unwrap().information, 1);
}

#[test]
fn the_trace_keeps_the_newest_lines_up_to_its_capacity() {
    let (manager, _kept) = load();
    manager.set_trace_capacity(3);
    let handle = manager.open(r"\\.\Life").unwrap();
    for _ in 0..5 {
        let _ = handle.read(2);
    }
    assert_eq!(manager.trace(), vec!["read", "read", "read"]);
    manager.set_trace_capacity(1);
    assert_eq!(manager.trace(), vec!["read"]);
    manager.set_trace_capacity(0);
    let _ = handle.read(2);
    assert!(manager.trace().is_empty());
}

#[test]
fn an_irp_its_cancel_routine_completes_under_the_cancel_lock_retires_once_released() {
    let manager = IoManager::new();
    let driver = ScriptedDriver::new()
        .on_entry(|k| {
            let device = k
                .create_device(Some(r"\Device\Life"), FILE_DEVICE_UNKNOWN, false)
                .unwrap();
            k.set_flags(device, flags::DO_BUFFERED_IO);
            k.create_symbolic_link(r"\DosDevices\Life", device).unwrap();
            NtStatus::SUCCESS
        })
        .on(major::CREATE, complete_success)
        .on(major::CLEANUP, complete_success)
        .on(major::CLOSE, complete_success)
        .on(major::READ, |k, _device, irp| {
            k.mark_pending(irp);
            // Completes before releasing the cancel lock, as many C drivers do.
            k.set_cancel_routine(irp, |k, _device, irp| {
                k.complete(irp, NtStatus::CANCELLED, 0);
                k.release_cancel_lock(irp);
            });
            NtStatus::PENDING.status()
        });
    manager.load_driver("life", driver).unwrap();
    let handle = manager.open(r"\\.\Life").unwrap();
    let read = handle.read_async(4).unwrap();
    drop(read);
    assert_eq!(manager.live_irps(), 1, "pending, kept by the driver");
    assert_eq!(handle.cancel_io(), 1);
    assert_eq!(manager.live_irps(), 0);
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

/// Passes an IRP to the device `device` is attached over.
fn pass_down(k: &KernelCalls, device: DeviceId, irp: IrpId) -> NtStatus {
    let below = k.manager().device(device).unwrap().attached_to.unwrap();
    k.skip_current_location(irp);
    k.call_driver(irp, below)
}

#[test]
fn a_completion_routine_completing_again_is_reported_even_when_nobody_holds_the_irp() {
    let (manager, kept) = load();
    manager.set_strict(false);
    manager.set_sync_timeout(Duration::from_millis(10));
    // A filter over \Device\Life whose completion routine on writes completes the IRP a second
    // time and lets completion go on.
    let filter = ScriptedDriver::new()
        .on_entry(|k| {
            let target = k.manager().device_by_name(r"\Device\Life").unwrap();
            let device = k.create_device(None, FILE_DEVICE_UNKNOWN, false).unwrap();
            let below = k.attach(device, target).unwrap();
            k.set_flags(device, k.flags(below) & flags::DO_BUFFERED_IO);
            NtStatus::SUCCESS
        })
        .on(major::CREATE, pass_down)
        .on(major::CLEANUP, pass_down)
        .on(major::CLOSE, pass_down)
        .on(major::WRITE, |k, device, irp| {
            let below = k.manager().device(device).unwrap().attached_to.unwrap();
            k.copy_current_location_to_next(irp);
            k.set_completion_routine(irp, |k, _device, irp| {
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            });
            k.call_driver(irp, below)
        });
    manager.load_driver("filter", filter).unwrap();
    let handle = manager.open(r"\\.\Life").unwrap();
    // The write pends in \Device\Life; the caller stops waiting, so nobody holds the IRP when
    // it completes.
    assert_eq!(handle.write(b"w").status, NtStatus::PENDING);
    let irp = kept.lock().unwrap().pop().unwrap();
    manager.kernel().complete(irp, NtStatus::SUCCESS, 1);
    let violations = manager.take_violations();
    assert!(
        violations
            .iter()
            .any(|v| v.is_bug_check(0x44) && v.driver == "filter"),
        "{violations:#?}"
    );
    assert_eq!(manager.live_irps(), 0);
}
