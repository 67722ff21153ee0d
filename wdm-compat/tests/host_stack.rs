//! Device stacks: forwarding, completion routines, pending, MORE_PROCESSING_REQUIRED, cancel.
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
use wdm_compat::host::{
    DeviceId, IoManager, IrpId, KernelCalls, ScriptedDriver, ViolationSeverity, flags, irql_level,
    major,
};

const FILE_DEVICE_UNKNOWN: u32 = 0x22;

type Slot<T> = Arc<Mutex<Option<T>>>;
type Log = Arc<Mutex<Vec<String>>>;

fn complete_success(k: &KernelCalls, _device: DeviceId, irp: IrpId) -> NtStatus {
    k.complete(irp, NtStatus::SUCCESS, 0);
    NtStatus::SUCCESS
}

/// The function driver at the bottom: `\Device\Func`, buffered, reads handled by `read`.
fn function_driver(
    read: impl Fn(&KernelCalls, DeviceId, IrpId) -> NtStatus + Send + Sync + 'static,
) -> ScriptedDriver {
    ScriptedDriver::new()
        .on_entry(|k| {
            let device = k
                .create_device(Some(r"\Device\Func"), FILE_DEVICE_UNKNOWN, false)
                .unwrap();
            k.set_flags(device, flags::DO_BUFFERED_IO);
            k.create_symbolic_link(r"\DosDevices\Func", device).unwrap();
            NtStatus::SUCCESS
        })
        .on(major::CREATE, complete_success)
        .on(major::CLEANUP, complete_success)
        .on(major::CLOSE, complete_success)
        .on(major::READ, read)
}

/// A filter attached over `\Device\Func`'s stack in its DriverEntry; creates and cleanups pass
/// through; reads go to `read(k, device, irp, lower)`.
fn filter_driver(
    read: impl Fn(&KernelCalls, DeviceId, IrpId, DeviceId) -> NtStatus + Send + Sync + 'static,
) -> (ScriptedDriver, Slot<DeviceId>) {
    let lower: Slot<DeviceId> = Arc::default();
    let own: Slot<DeviceId> = Arc::default();
    let (lower_entry, own_entry) = (lower.clone(), own.clone());
    let lower_pass = lower.clone();
    let lower_read = lower.clone();
    let pass = move |k: &KernelCalls, _d: DeviceId, irp: IrpId| {
        k.skip_current_location(irp);
        k.call_driver(irp, lower_pass.lock().unwrap().unwrap())
    };
    let driver = ScriptedDriver::new()
        .on_entry(move |k| {
            let target = k.manager().device_by_name(r"\Device\Func").unwrap();
            let device = k.create_device(None, FILE_DEVICE_UNKNOWN, false).unwrap();
            let below = k.attach(device, target).unwrap();
            k.set_flags(
                device,
                k.flags(below) & (flags::DO_BUFFERED_IO | flags::DO_DIRECT_IO),
            );
            *lower_entry.lock().unwrap() = Some(below);
            *own_entry.lock().unwrap() = Some(device);
            NtStatus::SUCCESS
        })
        .on(major::CREATE, pass.clone())
        .on(major::CLEANUP, pass.clone())
        .on(major::CLOSE, pass)
        .on(major::READ, move |k, device, irp| {
            read(k, device, irp, lower_read.lock().unwrap().unwrap())
        });
    (driver, own)
}

/// A filter read routine: copy, set a routine that logs `tag` and propagates pending, forward.
fn logging_filter(tag: &'static str, log: Log) -> (ScriptedDriver, Slot<DeviceId>) {
    filter_driver(move |k, _device, irp, lower| {
        k.copy_current_location_to_next(irp);
        let log = log.clone();
        k.set_completion_routine(irp, move |k, device, irp| {
            log.lock().unwrap().push(format!(
                "{tag}: status {} info {} device set {}",
                k.status(irp),
                k.information(irp),
                device.is_some()
            ));
            if k.pending_returned(irp) {
                k.mark_pending(irp);
            }
            NtStatus::SUCCESS
        });
        k.call_driver(irp, lower)
    })
}

#[test]
fn completion_routines_run_bottom_up_and_see_the_lower_status() {
    let manager = IoManager::new();
    let log: Log = Arc::default();
    manager
        .load_driver(
            "func",
            function_driver(|k, _d, irp| {
                k.write_system_buffer(irp, 0, b"ok").unwrap();
                k.complete(irp, NtStatus::SUCCESS, 2);
                NtStatus::SUCCESS
            }),
        )
        .unwrap();
    let (middle, middle_device) = logging_filter("middle", log.clone());
    let (top, top_device) = logging_filter("top", log.clone());
    manager.load_driver("middle", middle).unwrap();
    manager.load_driver("top", top).unwrap();

    let func_device = manager.device_by_name(r"\Device\Func").unwrap();
    let middle_device = middle_device.lock().unwrap().unwrap();
    let top_device = top_device.lock().unwrap().unwrap();
    assert_eq!(manager.device(func_device).unwrap().stack_size, 1);
    assert_eq!(manager.device(middle_device).unwrap().stack_size, 2);
    assert_eq!(manager.device(top_device).unwrap().stack_size, 3);
    assert_eq!(manager.top_of_stack(func_device), top_device);

    let handle = manager.open(r"\\.\Func").unwrap();
    // Read through an operation, which keeps the IRP readable for the probe after completion.
    let operation = handle.read_async(8).unwrap();
    let read = operation.result().unwrap();
    assert_eq!(read.status, NtStatus::SUCCESS);
    assert_eq!(read.data, b"ok");
    assert_eq!(manager.probe(read.irp).stack_count(), 3);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "middle: status STATUS_SUCCESS info 2 device set true".to_string(),
            "top: status STATUS_SUCCESS info 2 device set true".to_string(),
        ]
    );
    assert!(manager.violations().is_empty());
}

#[test]
fn a_routine_above_a_location_without_one_runs_once_with_its_own_device() {
    // Stack: top (copies, sets a routine) → middle (copies, sets none) → func. Completion
    // starts at func's location, which has no routine (the middle set none), and walks up to
    // the top's.
    let manager = IoManager::new();
    let log: Log = Arc::default();
    manager
        .load_driver(
            "func",
            function_driver(|k, _d, irp| {
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            }),
        )
        .unwrap();
    let (middle, _middle_device) = filter_driver(|k, _device, irp, lower| {
        k.copy_current_location_to_next(irp);
        k.call_driver(irp, lower)
    });
    let (top, _top_device) = logging_filter("top", log.clone());
    manager.load_driver("middle", middle).unwrap();
    manager.load_driver("top", top).unwrap();

    let handle = manager.open(r"\\.\Func").unwrap();
    assert_eq!(handle.read(4).status, NtStatus::SUCCESS);
    assert_eq!(
        *log.lock().unwrap(),
        vec!["top: status STATUS_SUCCESS info 0 device set true".to_string()]
    );
    // Only the verifier's advice to skip rather than copy without a routine (0xC9/0x21C).
    let violations = manager.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].severity, ViolationSeverity::Warning);
}

/// A function driver whose reads are marked pending and kept in `slot`.
fn pending_function_driver(slot: Slot<IrpId>) -> ScriptedDriver {
    function_driver(move |k, _d, irp| {
        k.mark_pending(irp);
        *slot.lock().unwrap() = Some(irp);
        NtStatus::PENDING.status()
    })
}

#[test]
fn pending_read_completes_later_and_pending_returned_reaches_the_filter() {
    let manager = IoManager::new();
    let kept: Slot<IrpId> = Arc::default();
    let saw_pending: Slot<bool> = Arc::default();
    manager
        .load_driver("func", pending_function_driver(kept.clone()))
        .unwrap();
    let saw = saw_pending.clone();
    let (filter, _) = filter_driver(move |k, _device, irp, lower| {
        k.copy_current_location_to_next(irp);
        let saw = saw.clone();
        k.set_completion_routine(irp, move |k, _device, irp| {
            let pending = k.pending_returned(irp);
            *saw.lock().unwrap() = Some(pending);
            if pending {
                k.mark_pending(irp);
            }
            NtStatus::SUCCESS
        });
        k.call_driver(irp, lower)
    });
    manager.load_driver("filter", filter).unwrap();

    let handle = manager.open(r"\\.\Func").unwrap();
    let operation = handle.read_async(4).unwrap();
    assert!(operation.returned_pending());
    assert!(!operation.is_complete());
    assert_eq!(operation.result(), None);

    let irp = kept.lock().unwrap().unwrap();
    let completer = manager.clone();
    std::thread::spawn(move || {
        let kernel = completer.kernel();
        kernel.write_system_buffer(irp, 0, b"late").unwrap();
        kernel.complete(irp, NtStatus::SUCCESS, 4);
    })
    .join()
    .unwrap();

    let result = operation.wait(Duration::from_secs(5)).unwrap();
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.data, b"late");
    assert_eq!(*saw_pending.lock().unwrap(), Some(true));
    assert!(manager.probe(irp).pending_returned());
    assert!(manager.violations().is_empty());
}

#[test]
fn skipping_filter_without_routine_lets_the_io_manager_propagate_pending() {
    let manager = IoManager::new();
    let kept: Slot<IrpId> = Arc::default();
    manager
        .load_driver("func", pending_function_driver(kept.clone()))
        .unwrap();
    let (filter, _) = filter_driver(|k, _device, irp, lower| {
        k.skip_current_location(irp);
        k.call_driver(irp, lower)
    });
    manager.load_driver("filter", filter).unwrap();
    let handle = manager.open(r"\\.\Func").unwrap();
    let operation = handle.read_async(2).unwrap();
    assert!(operation.returned_pending());
    let irp = kept.lock().unwrap().unwrap();
    manager.kernel().complete(irp, NtStatus::END_OF_FILE, 0);
    let result = operation.result().unwrap();
    assert_eq!(result.status, NtStatus::END_OF_FILE);
    assert!(result.data.is_empty());
    assert!(manager.violations().is_empty());
}

#[test]
fn synchronous_read_waits_for_a_completion_from_another_thread() {
    let manager = IoManager::new();
    let kept: Slot<IrpId> = Arc::default();
    manager
        .load_driver("func", pending_function_driver(kept.clone()))
        .unwrap();
    let handle = manager.open(r"\\.\Func").unwrap();
    let completer = manager.clone();
    let worker = std::thread::spawn(move || {
        let irp = loop {
            if let Some(irp) = *kept.lock().unwrap() {
                break irp;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let kernel = completer.kernel();
        kernel.write_system_buffer(irp, 0, &[42]).unwrap();
        kernel.complete(irp, NtStatus::SUCCESS, 1);
    });
    let read = handle.read(1);
    worker.join().unwrap();
    assert_eq!(read.status, NtStatus::SUCCESS);
    assert_eq!(read.data, vec![42]);
}

#[test]
fn more_processing_required_halts_completion_until_the_driver_completes_again() {
    let manager = IoManager::new();
    let log: Log = Arc::default();
    manager
        .load_driver(
            "func",
            function_driver(|k, _d, irp| {
                k.complete(irp, NtStatus::SUCCESS, 1);
                NtStatus::SUCCESS
            }),
        )
        .unwrap();
    let middle_log = log.clone();
    let (middle, _) = filter_driver(move |k, _device, irp, lower| {
        k.copy_current_location_to_next(irp);
        let routine_log = middle_log.clone();
        k.set_completion_routine(irp, move |k, _device, irp| {
            routine_log
                .lock()
                .unwrap()
                .push(format!("middle routine: info {}", k.information(irp)));
            NtStatus::MORE_PROCESSING_REQUIRED
        });
        let status = k.call_driver(irp, lower);
        // Completed synchronously below and halted by our routine: the IRP is ours again.
        middle_log
            .lock()
            .unwrap()
            .push(format!("middle got it back: {status}"));
        k.complete(irp, NtStatus::SUCCESS, 7);
        NtStatus::SUCCESS
    });
    manager.load_driver("middle", middle).unwrap();
    let (top, _) = logging_filter("top", log.clone());
    manager.load_driver("top", top).unwrap();

    let handle = manager.open(r"\\.\Func").unwrap();
    let read = handle.read(8);
    assert_eq!(read.status, NtStatus::SUCCESS);
    assert_eq!(read.information, 7);
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "middle routine: info 1".to_string(),
            "middle got it back: STATUS_SUCCESS".to_string(),
            "top: status STATUS_SUCCESS info 7 device set true".to_string(),
        ]
    );
    assert!(manager.violations().is_empty());
}

/// A function driver whose reads wait, cancelable, and whose cancel routine records the IRQL
/// it ran at and after releasing the cancel lock.
fn cancelable_function_driver(irqls: Log) -> ScriptedDriver {
    function_driver(move |k, _d, irp| {
        k.mark_pending(irp);
        let irqls = irqls.clone();
        k.set_cancel_routine(irp, move |k, _device, irp| {
            irqls
                .lock()
                .unwrap()
                .push(format!("in routine {}", k.current_irql()));
            k.release_cancel_lock(irp);
            irqls
                .lock()
                .unwrap()
                .push(format!("after release {}", k.current_irql()));
            k.complete(irp, NtStatus::CANCELLED, 0);
        });
        NtStatus::PENDING.status()
    })
}

#[test]
fn cancelling_a_pending_read_runs_the_cancel_routine_and_returns_cancelled() {
    let manager = IoManager::new();
    let irqls: Log = Arc::default();
    manager
        .load_driver("func", cancelable_function_driver(irqls.clone()))
        .unwrap();
    let handle = manager.open(r"\\.\Func").unwrap();
    let operation = handle.read_async(4).unwrap();
    assert!(operation.returned_pending());
    assert!(operation.cancel());
    let result = operation.result().unwrap();
    assert_eq!(result.status, NtStatus::CANCELLED);
    assert_eq!(result.information, 0);
    assert!(result.data.is_empty());
    assert_eq!(
        *irqls.lock().unwrap(),
        vec![
            format!("in routine {}", irql_level::DISPATCH_LEVEL),
            format!("after release {}", irql_level::PASSIVE_LEVEL)
        ]
    );
    assert!(manager.probe(result.irp).cancel_requested());
    // Cancelling a completed request does nothing.
    assert!(!operation.cancel());
    assert!(manager.violations().is_empty());
}

#[test]
fn cancelling_without_a_cancel_routine_only_sets_the_cancel_flag() {
    let manager = IoManager::new();
    let kept: Slot<IrpId> = Arc::default();
    manager
        .load_driver("func", pending_function_driver(kept.clone()))
        .unwrap();
    let handle = manager.open(r"\\.\Func").unwrap();
    let operation = handle.read_async(4).unwrap();
    assert!(!operation.cancel());
    assert!(!operation.is_complete());
    let irp = kept.lock().unwrap().unwrap();
    let kernel = manager.kernel();
    assert!(kernel.cancel_requested(irp));
    kernel.complete(irp, NtStatus::CANCELLED, 0);
    assert_eq!(operation.result().unwrap().status, NtStatus::CANCELLED);
}

#[test]
fn cancel_routine_cleared_by_the_driver_is_not_called() {
    let manager = IoManager::new();
    let irqls: Log = Arc::default();
    let kept: Slot<IrpId> = Arc::default();
    let kept_in_driver = kept.clone();
    let inner = cancelable_function_driver(irqls.clone());
    manager
        .load_driver(
            "func",
            inner.on(major::READ, {
                let irqls = irqls.clone();
                move |k, _d, irp| {
                    k.mark_pending(irp);
                    let irqls = irqls.clone();
                    k.set_cancel_routine(irp, move |k, _device, irp| {
                        irqls.lock().unwrap().push("called".into());
                        k.release_cancel_lock(irp);
                        k.complete(irp, NtStatus::CANCELLED, 0);
                    });
                    *kept_in_driver.lock().unwrap() = Some(irp);
                    NtStatus::PENDING.status()
                }
            }),
        )
        .unwrap();
    let handle = manager.open(r"\\.\Func").unwrap();
    let operation = handle.read_async(1).unwrap();
    let irp = kept.lock().unwrap().unwrap();
    let kernel = manager.kernel();
    // The driver takes the IRP off its queue: clearing the routine tells it the IRP is its own.
    assert!(kernel.clear_cancel_routine(irp));
    kernel.complete(irp, NtStatus::SUCCESS, 0);
    assert!(!operation.cancel());
    assert!(irqls.lock().unwrap().is_empty());
    assert_eq!(operation.result().unwrap().status, NtStatus::SUCCESS);
}
