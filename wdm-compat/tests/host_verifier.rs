//! Every verifier check, provoked by a scripted driver playing a buggy C driver.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::{Arc, Mutex};

use wdm_compat::NtStatus;
use wdm_compat::host::{
    DeviceId, IoManager, IoResult, IrpId, KernelCalls, ScriptedDriver, Violation,
    ViolationSeverity, irql_level, major,
};

const FILE_DEVICE_UNKNOWN: u32 = 0x22;
const IOCTL_BUFFERED: u32 = (FILE_DEVICE_UNKNOWN << 16) | (0x800 << 2);

type Slot<T> = Arc<Mutex<Option<T>>>;

fn complete_success(k: &KernelCalls, _device: DeviceId, irp: IrpId) -> NtStatus {
    k.complete(irp, NtStatus::SUCCESS, 0);
    NtStatus::SUCCESS
}

/// `\Device\Bad` (buffered) with a DOS link; create and close work; `major` is handled by `f`.
fn bad_driver(
    major_code: u8,
    f: impl Fn(&KernelCalls, DeviceId, IrpId) -> NtStatus + Send + Sync + 'static,
) -> ScriptedDriver {
    ScriptedDriver::new()
        .on_entry(|k| {
            let device = k
                .create_device(Some(r"\Device\Bad"), FILE_DEVICE_UNKNOWN, false)
                .unwrap();
            k.set_flags(device, wdm_compat::host::flags::DO_BUFFERED_IO);
            k.create_symbolic_link(r"\DosDevices\Bad", device).unwrap();
            NtStatus::SUCCESS
        })
        .on(major::CREATE, complete_success)
        .on(major::CLEANUP, complete_success)
        .on(major::CLOSE, complete_success)
        .on(major_code, f)
}

/// Loads `driver` as "bad" in a recording-mode manager and reads 4 bytes through it.
fn read_through(driver: ScriptedDriver) -> (IoManager, IoResult) {
    let manager = IoManager::new();
    manager.set_strict(false);
    manager.load_driver("bad", driver).unwrap();
    let handle = manager.open(r"\\.\Bad").unwrap();
    let result = handle.read(4);
    (manager, result)
}

/// The one violation recorded, checked to be bug check `code`/`subcode` by "bad" on a read.
fn single(manager: &IoManager) -> Violation {
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    violations.into_iter().next().unwrap()
}

fn assert_io(violation: &Violation, subcode: usize, rule: Option<&str>) {
    assert!(violation.is_verifier(0xC9, subcode), "{violation}");
    assert_eq!(violation.rule, rule, "{violation}");
    assert_eq!(violation.driver, "bad", "{violation}");
}

#[test]
fn completing_twice_is_bug_check_0x44() {
    let (manager, result) = read_through(bad_driver(major::READ, |k, _d, irp| {
        k.complete(irp, NtStatus::SUCCESS, 0);
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    assert_eq!(result.status, NtStatus::SUCCESS);
    let violation = single(&manager);
    assert!(violation.is_bug_check(0x44), "{violation}");
    assert_eq!(violation.bug_check.unwrap().params[0], result.irp.index());
    assert_eq!(violation.rule, Some("DoubleCompletion"));
    assert_eq!(violation.driver, "bad");
    assert_eq!(violation.major, Some(major::READ));
    assert_eq!(violation.severity, ViolationSeverity::Fatal);
}

#[test]
fn returning_pending_without_marking_is_0x23d_mark_irp_pending2() {
    let kept: Slot<IrpId> = Arc::default();
    let kept_in_driver = kept.clone();
    let manager = IoManager::new();
    manager.set_strict(false);
    manager
        .load_driver(
            "bad",
            bad_driver(major::READ, move |_k, _d, irp| {
                *kept_in_driver.lock().unwrap() = Some(irp);
                NtStatus::PENDING.status()
            }),
        )
        .unwrap();
    let handle = manager.open(r"\\.\Bad").unwrap();
    let operation = handle.read_async(4).unwrap();
    assert!(operation.returned_pending());
    let violation = single(&manager);
    assert_io(&violation, 0x23D, Some("MarkIrpPending2"));
    assert_eq!(violation.major, Some(major::READ));
    // The request still completes when the driver gets to it.
    manager
        .kernel()
        .complete(kept.lock().unwrap().unwrap(), NtStatus::SUCCESS, 2);
    assert_eq!(operation.result().unwrap().information, 2);
    assert!(manager.take_violations().is_empty());
}

#[test]
fn marking_pending_but_returning_success_is_0x23e_mark_irp_pending() {
    let (manager, result) = read_through(bad_driver(major::READ, |k, _d, irp| {
        k.mark_pending(irp);
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_io(&single(&manager), 0x23E, Some("MarkIrpPending"));
}

#[test]
fn returning_success_without_completing_or_forwarding_is_0x226() {
    let (manager, result) = read_through(bad_driver(major::READ, |_k, _d, _irp| NtStatus::SUCCESS));
    // What the caller sees is the returned status; the IRP never completed.
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert!(!manager.probe(result.irp).is_completed());
    let violation = single(&manager);
    assert_io(&violation, 0x226, Some("IrpProcessingComplete"));
    assert_eq!(violation.severity, ViolationSeverity::Fatal);
}

#[test]
fn completing_with_status_pending_is_0x06() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, _d, irp| {
        k.mark_pending(irp);
        k.complete(irp, NtStatus::PENDING.status(), 0);
        NtStatus::PENDING.status()
    }));
    assert_io(&single(&manager), 0x06, Some("CompleteRequestStatusCheck"));
}

#[test]
fn information_beyond_the_buffered_output_is_0x312_and_the_copy_is_clamped() {
    let manager = IoManager::new();
    manager.set_strict(false);
    manager
        .load_driver(
            "bad",
            bad_driver(major::DEVICE_CONTROL, |k, _d, irp| {
                k.write_system_buffer(irp, 0, &[1, 2, 3, 4]).unwrap();
                k.complete(irp, NtStatus::SUCCESS, 8);
                NtStatus::SUCCESS
            }),
        )
        .unwrap();
    let handle = manager.open(r"\\.\Bad").unwrap();
    let result = handle.device_io_control(IOCTL_BUFFERED, &[], 4);
    assert_eq!(result.information, 8);
    assert_eq!(result.data, vec![1, 2, 3, 4]);
    let violation = single(&manager);
    assert_io(&violation, 0x312, None);
    assert_eq!(violation.major, Some(major::DEVICE_CONTROL));
    assert!(violation.message.contains("Information 8"), "{violation}");
}

#[test]
fn unloading_with_a_pending_irp_reports_bug_check_0xce() {
    let kept: Slot<IrpId> = Arc::default();
    let kept_in_driver = kept.clone();
    let driver = bad_driver(major::READ, move |k, _d, irp| {
        k.mark_pending(irp);
        *kept_in_driver.lock().unwrap() = Some(irp);
        NtStatus::PENDING.status()
    })
    .on_unload(|k| {
        k.delete_symbolic_link(r"\DosDevices\Bad");
        k.delete_device(k.manager().device_by_name(r"\Device\Bad").unwrap());
    });
    let manager = IoManager::new();
    manager.set_strict(false);
    let id = manager.load_driver("bad", driver).unwrap();
    let handle = manager.open(r"\\.\Bad").unwrap();
    let operation = handle.read_async(4).unwrap();
    assert!(operation.returned_pending());
    manager.unload_driver(id).unwrap();
    let violation = single(&manager);
    assert!(violation.is_bug_check(0xCE), "{violation}");
    assert_eq!(violation.driver, "bad");
    assert_eq!(violation.major, Some(major::READ));
    assert!(
        violation.message.contains("still outstanding"),
        "{violation}"
    );
}

#[test]
fn unloading_without_deleting_the_device_and_link_is_reported() {
    let manager = IoManager::new();
    manager.set_strict(false);
    let id = manager
        .load_driver(
            "bad",
            bad_driver(major::READ, complete_success).on_unload(|_k| {}),
        )
        .unwrap();
    manager.unload_driver(id).unwrap();
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert!(
        violations[0]
            .message
            .contains(r"\Device\Bad was not deleted"),
        "{}",
        violations[0]
    );
    assert!(
        violations[1].message.contains("symbolic link"),
        "{}",
        violations[1]
    );
    assert!(violations.iter().all(|v| v.driver == "bad"));
}

#[test]
fn completing_with_the_cancel_routine_still_set_is_0x07() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, _d, irp| {
        k.mark_pending(irp);
        k.set_cancel_routine(irp, |k, _d, irp| {
            k.release_cancel_lock(irp);
            k.complete(irp, NtStatus::CANCELLED, 0);
        });
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::PENDING.status()
    }));
    assert_io(&single(&manager), 0x07, None);
}

#[test]
fn dispatch_returning_at_another_irql_is_0x05() {
    let (manager, result) = read_through(bad_driver(major::READ, |k, _d, irp| {
        let _old = k.raise_irql(irql_level::APC_LEVEL);
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    assert_eq!(result.status, NtStatus::SUCCESS);
    let violation = single(&manager);
    assert_io(&violation, 0x05, Some("IrqlReturn"));
    // The simulation put the thread back where it was.
    assert_eq!(manager.kernel().current_irql(), irql_level::PASSIVE_LEVEL);
}

#[test]
fn completing_while_holding_a_spin_lock_breaks_spin_lock_safe() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, _d, irp| {
        let old = k.raise_irql(irql_level::DISPATCH_LEVEL);
        k.complete(irp, NtStatus::SUCCESS, 0);
        k.lower_irql(old);
        NtStatus::SUCCESS
    }));
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("SpinLockSafe"));
    assert_eq!(violation.driver, "bad");
}

#[test]
fn returning_a_status_other_than_the_completion_status_is_0x224() {
    let (manager, result) = read_through(bad_driver(major::READ, |k, _d, irp| {
        k.complete(irp, NtStatus::INVALID_PARAMETER, 0);
        NtStatus::SUCCESS
    }));
    assert_eq!(result.status, NtStatus::INVALID_PARAMETER);
    assert_io(&single(&manager), 0x224, Some("CompleteRequestStatusCheck"));
}

#[test]
fn returning_0xffffffff_is_0x225() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, _d, irp| {
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::from_u32(0xFFFF_FFFF)
    }));
    assert_io(&single(&manager), 0x225, Some("CompleteRequestStatusCheck"));
}

#[test]
fn a_panicking_driver_is_bug_check_0x1e() {
    let (manager, _) = read_through(bad_driver(major::READ, |_k, _d, _irp| {
        panic!("index out of range")
    }));
    let violations = manager.take_violations();
    assert!(violations[0].is_bug_check(0x1E), "{violations:#?}");
    assert!(violations[0].message.contains("index out of range"));
    // The IRP it held was neither completed nor passed down.
    assert!(violations[1].is_verifier(0xC9, 0x226), "{violations:#?}");
    assert_eq!(violations.len(), 2);
}

#[test]
fn cancel_routine_that_keeps_the_cancel_lock_is_reported() {
    let manager = IoManager::new();
    manager.set_strict(false);
    manager
        .load_driver(
            "bad",
            bad_driver(major::READ, |k, _d, irp| {
                k.mark_pending(irp);
                k.set_cancel_routine(irp, |k, _d, irp| k.complete(irp, NtStatus::CANCELLED, 0));
                NtStatus::PENDING.status()
            }),
        )
        .unwrap();
    let handle = manager.open(r"\\.\Bad").unwrap();
    let operation = handle.read_async(4).unwrap();
    assert!(operation.cancel());
    assert_eq!(operation.result().unwrap().status, NtStatus::CANCELLED);
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("CancelSpinlockRelease"));
    assert_eq!(manager.kernel().current_irql(), irql_level::PASSIVE_LEVEL);
}

#[test]
fn releasing_a_cancel_lock_not_held_is_reported() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, _d, irp| {
        k.release_cancel_lock(irp);
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    assert_eq!(single(&manager).rule, Some("CancelSpinLock"));
}

#[test]
fn creating_a_device_above_passive_level_breaks_irql_io_passive1() {
    let manager = IoManager::new();
    manager.set_strict(false);
    manager
        .load_driver(
            "bad",
            ScriptedDriver::new().on_entry(|k| {
                let old = k.raise_irql(irql_level::DISPATCH_LEVEL);
                let created = k.create_device(None, FILE_DEVICE_UNKNOWN, false);
                k.lower_irql(old);
                created.map_or_else(|status| status, |_| NtStatus::SUCCESS)
            }),
        )
        .unwrap();
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("IrqlIoPassive1"));
    assert!(violation.is_verifier(0xC4, 0x0002_000A), "{violation}");
}

#[test]
fn raising_to_a_lower_irql_breaks_irql_ke_raise_lower() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, _d, irp| {
        let old = k.raise_irql(irql_level::DISPATCH_LEVEL);
        let _dispatch = k.raise_irql(irql_level::PASSIVE_LEVEL);
        k.lower_irql(old);
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("IrqlKeRaiseLower"));
}

#[test]
fn driver_entry_failure_reports_and_removes_devices_left_behind() {
    let manager = IoManager::new();
    manager.set_strict(false);
    let status = manager
        .load_driver(
            "bad",
            ScriptedDriver::new().on_entry(|k| {
                let _device =
                    k.create_device(Some(r"\Device\Leftover"), FILE_DEVICE_UNKNOWN, false);
                NtStatus::INSUFFICIENT_RESOURCES
            }),
        )
        .unwrap_err();
    assert_eq!(status, NtStatus::INSUFFICIENT_RESOURCES);
    let violation = single(&manager);
    assert!(
        violation.message.contains(r"\Device\Leftover"),
        "{violation}"
    );
    assert!(manager.device_by_name(r"\Device\Leftover").is_none());
}

// --- Device objects --------------------------------------------------------------------------

/// The kernel calls of a driver "bad" that registers nothing, for tests that play its code.
fn bare_driver(manager: &IoManager) -> KernelCalls {
    let driver = manager.load_driver("bad", ScriptedDriver::new()).unwrap();
    manager.kernel_as(driver)
}

fn device_pair(manager: &IoManager) -> (KernelCalls, DeviceId, DeviceId) {
    let kernel = bare_driver(manager);
    let lower = kernel
        .create_device(None, FILE_DEVICE_UNKNOWN, false)
        .unwrap();
    let upper = kernel
        .create_device(None, FILE_DEVICE_UNKNOWN, false)
        .unwrap();
    assert_eq!(kernel.attach(upper, lower), Some(lower));
    (kernel, lower, upper)
}

#[test]
fn deleting_a_device_still_attached_is_0x201() {
    let manager = IoManager::new();
    manager.set_strict(false);
    let (kernel, _lower, upper) = device_pair(&manager);
    kernel.delete_device(upper);
    assert_io(&single(&manager), 0x201, None);
}

#[test]
fn deleting_a_device_twice_is_0x240() {
    let manager = IoManager::new();
    manager.set_strict(false);
    let (kernel, lower, upper) = device_pair(&manager);
    kernel.detach(lower);
    kernel.delete_device(upper);
    assert!(manager.violations().is_empty());
    kernel.delete_device(upper);
    assert_io(&single(&manager), 0x240, None);
}

#[test]
fn detaching_twice_is_0x202() {
    let manager = IoManager::new();
    manager.set_strict(false);
    let (kernel, lower, _upper) = device_pair(&manager);
    kernel.detach(lower);
    assert!(manager.violations().is_empty());
    kernel.detach(lower);
    assert_io(&single(&manager), 0x202, None);
}

// --- Stacks ----------------------------------------------------------------------------------

/// The function driver `\Device\Func` (reads handled by `read`), and a filter "bad" attached
/// over it whose reads are handled by `filter_read(k, device, irp, lower)`.
fn stack(
    read: impl Fn(&KernelCalls, DeviceId, IrpId) -> NtStatus + Send + Sync + 'static,
    filter_read: impl Fn(&KernelCalls, DeviceId, IrpId, DeviceId) -> NtStatus + Send + Sync + 'static,
) -> IoManager {
    let manager = IoManager::new();
    manager.set_strict(false);
    manager
        .load_driver(
            "func",
            ScriptedDriver::new()
                .on_entry(|k| {
                    let device = k
                        .create_device(Some(r"\Device\Func"), FILE_DEVICE_UNKNOWN, false)
                        .unwrap();
                    k.create_symbolic_link(r"\DosDevices\Func", device).unwrap();
                    NtStatus::SUCCESS
                })
                .on(major::CREATE, complete_success)
                .on(major::READ, read),
        )
        .unwrap();
    let lower: Slot<DeviceId> = Arc::default();
    let (lower_entry, lower_create, lower_read) = (lower.clone(), lower.clone(), lower);
    manager
        .load_driver(
            "bad",
            ScriptedDriver::new()
                .on_entry(move |k| {
                    let target = k.manager().device_by_name(r"\Device\Func").unwrap();
                    let device = k.create_device(None, FILE_DEVICE_UNKNOWN, false).unwrap();
                    *lower_entry.lock().unwrap() = k.attach(device, target);
                    NtStatus::SUCCESS
                })
                .on(major::CREATE, move |k, _d, irp| {
                    k.skip_current_location(irp);
                    k.call_driver(irp, lower_create.lock().unwrap().unwrap())
                })
                .on(major::READ, move |k, device, irp| {
                    filter_read(k, device, irp, lower_read.lock().unwrap().unwrap())
                }),
        )
        .unwrap();
    manager
}

#[test]
fn forwarding_with_a_cancel_routine_set_is_0x203() {
    let manager = stack(complete_success, |k, _d, irp, lower| {
        k.set_cancel_routine(irp, |k, _d, irp| k.release_cancel_lock(irp));
        k.skip_current_location(irp);
        k.call_driver(irp, lower)
    });
    let handle = manager.open(r"\\.\Func").unwrap();
    let _ = handle.read(1);
    let violations = manager.take_violations();
    assert!(violations[0].is_verifier(0xC9, 0x203), "{violations:#?}");
    assert_eq!(violations[0].driver, "bad");
    // The function driver then completes an IRP whose cancel routine is still set.
    assert!(violations[1].is_verifier(0xC9, 0x07), "{violations:#?}");
    assert_eq!(violations.len(), 2);
}

#[test]
fn returning_something_else_than_the_lower_driver_is_lower_driver_return() {
    let manager = stack(complete_success, |k, _d, irp, lower| {
        k.skip_current_location(irp);
        let _ = k.call_driver(irp, lower);
        NtStatus::UNSUCCESSFUL
    });
    let handle = manager.open(r"\\.\Func").unwrap();
    assert_eq!(handle.read(1).status, NtStatus::SUCCESS);
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("LowerDriverReturn"));
    assert_eq!(violation.driver, "bad");
    assert_eq!(violation.bug_check, None);
}

#[test]
fn completion_routine_ignoring_pending_returned_is_0x228() {
    let kept: Slot<IrpId> = Arc::default();
    let kept_in_driver = kept.clone();
    let manager = stack(
        move |k, _d, irp| {
            k.mark_pending(irp);
            *kept_in_driver.lock().unwrap() = Some(irp);
            NtStatus::PENDING.status()
        },
        |k, _d, irp, lower| {
            k.copy_current_location_to_next(irp);
            k.set_completion_routine(irp, |_k, _d, _irp| NtStatus::SUCCESS);
            k.call_driver(irp, lower)
        },
    );
    let handle = manager.open(r"\\.\Func").unwrap();
    let operation = handle.read_async(1).unwrap();
    assert!(operation.returned_pending());
    manager
        .kernel()
        .complete(kept.lock().unwrap().unwrap(), NtStatus::SUCCESS, 0);
    assert!(operation.is_complete());
    assert_io(&single(&manager), 0x228, None);
}

#[test]
fn forwarding_a_create_at_dispatch_level_is_0x23a() {
    let manager = IoManager::new();
    manager.set_strict(false);
    manager
        .load_driver(
            "func",
            ScriptedDriver::new()
                .on_entry(|k| {
                    let device = k
                        .create_device(Some(r"\Device\Func"), FILE_DEVICE_UNKNOWN, false)
                        .unwrap();
                    k.create_symbolic_link(r"\DosDevices\Func", device).unwrap();
                    NtStatus::SUCCESS
                })
                .on(major::CREATE, complete_success),
        )
        .unwrap();
    let lower: Slot<DeviceId> = Arc::default();
    let lower_entry = lower.clone();
    manager
        .load_driver(
            "bad",
            ScriptedDriver::new()
                .on_entry(move |k| {
                    let target = k.manager().device_by_name(r"\Device\Func").unwrap();
                    let device = k.create_device(None, FILE_DEVICE_UNKNOWN, false).unwrap();
                    *lower_entry.lock().unwrap() = k.attach(device, target);
                    NtStatus::SUCCESS
                })
                .on(major::CREATE, move |k, _d, irp| {
                    let old = k.raise_irql(irql_level::DISPATCH_LEVEL);
                    k.skip_current_location(irp);
                    let status = k.call_driver(irp, lower.lock().unwrap().unwrap());
                    k.lower_irql(old);
                    status
                }),
        )
        .unwrap();
    assert!(manager.open(r"\\.\Func").is_ok());
    let violations = manager.take_violations();
    assert!(violations[0].is_verifier(0xC9, 0x23A), "{violations:#?}");
    assert_eq!(violations[0].rule, Some("ForwardedAtBadIrql"));
    assert_eq!(violations[0].driver, "bad");
    assert_eq!(violations[0].major, Some(major::CREATE));
    // The function driver then completed it at DISPATCH_LEVEL, inside the filter's "lock".
    assert_eq!(violations[1].rule, Some("SpinLockSafe"));
    assert_eq!(violations.len(), 2);
}

#[test]
fn copying_without_a_completion_routine_is_only_a_warning_0x21c() {
    let manager = stack(complete_success, |k, _d, irp, lower| {
        k.copy_current_location_to_next(irp);
        k.call_driver(irp, lower)
    });
    manager.set_strict(true);
    let handle = manager.open(r"\\.\Func").unwrap();
    // Strict mode does not stop on warnings.
    assert_eq!(handle.read(1).status, NtStatus::SUCCESS);
    let violation = single(&manager);
    assert_io(&violation, 0x21C, None);
    assert_eq!(violation.severity, ViolationSeverity::Warning);
}

// --- Strict mode -----------------------------------------------------------------------------

#[test]
fn strict_mode_fails_the_next_operation_with_the_full_report() {
    let manager = IoManager::new();
    assert!(manager.is_strict());
    manager
        .load_driver(
            "bad",
            bad_driver(major::READ, |k, _d, irp| {
                k.complete(irp, NtStatus::SUCCESS, 0);
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            }),
        )
        .unwrap();
    let handle = manager.open(r"\\.\Bad").unwrap();
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.read(1))).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("bug check 0x44"), "{message}");
    assert!(message.contains("DoubleCompletion"), "{message}");
    assert!(message.contains("driver bad"), "{message}");
    assert!(message.contains("IRP_MJ_READ"), "{message}");
    // Reported once: the next operation goes through.
    assert_eq!(handle.write(&[]).status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(manager.violations().len(), 1);
}

#[test]
fn completion_routines_run_at_dispatch_level_so_passive_only_calls_in_them_are_reported() {
    let manager = stack(complete_success, |k, _d, irp, lower| {
        k.copy_current_location_to_next(irp);
        k.set_completion_routine(irp, |k, device, irp| {
            // IoCreateSymbolicLink needs PASSIVE_LEVEL; a completion routine may run at
            // DISPATCH_LEVEL (an IRP completed from a DPC).
            let _ = k.create_symbolic_link(r"\DosDevices\FromCompletion", device.unwrap());
            if k.pending_returned(irp) {
                k.mark_pending(irp);
            }
            NtStatus::SUCCESS
        });
        k.call_driver(irp, lower)
    });
    let handle = manager.open(r"\\.\Func").unwrap();
    // The dispatch routine itself runs at PASSIVE_LEVEL, as a read from user mode does.
    let read = handle.read(4);
    assert_eq!(read.status, NtStatus::SUCCESS);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(
        violations[0].rule,
        Some("IrqlIoPassive3"),
        "{violations:#?}"
    );
    assert!(
        violations[0].message.contains("at IRQL 2"),
        "{violations:#?}"
    );
}

// --- Spin locks, the pool and device objects at the wrong IRQL ------------------------------

#[test]
fn acquiring_a_spin_lock_the_thread_holds_breaks_spin_lock() {
    let (manager, result) = read_through(bad_driver(major::READ, |k, _d, irp| {
        let lock = wdm_compat::SpinLock::new(0u32);
        let _held = lock.lock();
        // Would spin for ever on Windows; the verifier's deadlock detection stops it.
        let _again = lock.lock();
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    let violations = manager.take_violations();
    let violation = violations
        .iter()
        .find(|v| v.rule == Some("SpinLock"))
        .unwrap_or_else(|| panic!("{violations:#?}"));
    assert!(violation.is_verifier(0xC4, 0x1001), "{violation}");
    // The driver code stopped there: the read never completed successfully.
    assert_ne!(result.status, NtStatus::SUCCESS);
}

#[test]
fn acquiring_a_spin_lock_above_dispatch_level_breaks_irql_ke_dispatch_lte() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, _d, irp| {
        let old = k.raise_irql(irql_level::DISPATCH_LEVEL + 1);
        let lock = wdm_compat::SpinLock::new(0u32);
        let _held = lock.lock();
        k.lower_irql(old);
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    let violations = manager.take_violations();
    let violation = violations
        .iter()
        .find(|v| v.rule == Some("IrqlKeDispatchLte"))
        .unwrap_or_else(|| panic!("{violations:#?}"));
    assert!(violation.is_verifier(0xC4, 0x0002_0011), "{violation}");
}

#[test]
fn releasing_a_spin_lock_below_dispatch_level_breaks_irql_ke_release_spin_lock() {
    let (manager, result) = read_through(bad_driver(major::READ, |k, _d, irp| {
        let lock = wdm_compat::SpinLock::new(0u32);
        let held = lock.lock();
        // Lowering the IRQL while holding a spin lock, then releasing it there.
        k.lower_irql(irql_level::PASSIVE_LEVEL);
        drop(held);
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    }));
    assert_eq!(result.status, NtStatus::SUCCESS);
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("IrqlKeReleaseSpinLock"));
    assert!(violation.is_verifier(0xC4, 0x0002_0015), "{violation}");
}

#[test]
fn allocating_above_dispatch_level_breaks_irql_ex_allocate_pool_and_fails() {
    let (manager, result) = read_through(bad_driver(major::READ, |k, _d, irp| {
        let old = k.raise_irql(irql_level::DISPATCH_LEVEL + 1);
        let allocated = wdm_compat::memory::try_box([0u8; 16]);
        k.lower_irql(old);
        // `try_box` hands the value back when the pool refuses it.
        let status = if allocated.is_ok() {
            NtStatus::SUCCESS
        } else {
            NtStatus::INSUFFICIENT_RESOURCES
        };
        k.complete(irp, status, 0);
        status
    }));
    // Refused, not granted: the driver sees a failed allocation.
    assert_eq!(result.status, NtStatus::INSUFFICIENT_RESOURCES);
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("IrqlExAllocatePool"));
    assert!(violation.is_verifier(0xC4, 0x0002_0004), "{violation}");
}

#[test]
fn deleting_a_device_at_dispatch_level_breaks_irql_io_apc_lte() {
    let manager = IoManager::new();
    manager.set_strict(false);
    let kernel = bare_driver(&manager);
    let device = kernel
        .create_device(None, FILE_DEVICE_UNKNOWN, false)
        .unwrap();
    let old = kernel.raise_irql(irql_level::DISPATCH_LEVEL);
    kernel.delete_device(device);
    kernel.lower_irql(old);
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("IrqlIoApcLte"));
    assert!(violation.is_verifier(0xC4, 0x0002_0009), "{violation}");
}

#[test]
fn attaching_to_a_deleted_device_breaks_pnp_same_device_object() {
    let manager = IoManager::new();
    manager.set_strict(false);
    let kernel = bare_driver(&manager);
    let lower = kernel
        .create_device(None, FILE_DEVICE_UNKNOWN, false)
        .unwrap();
    let upper = kernel
        .create_device(None, FILE_DEVICE_UNKNOWN, false)
        .unwrap();
    kernel.delete_device(lower);
    assert_eq!(kernel.attach(upper, lower), None);
    let violation = single(&manager);
    assert_eq!(violation.rule, Some("PnpSameDeviceObject"));
}

#[test]
fn passing_down_an_irp_after_completing_it_breaks_complete_request() {
    let (manager, _) = read_through(bad_driver(major::READ, |k, device, irp| {
        k.complete(irp, NtStatus::SUCCESS, 0);
        // The IRP is not this driver's any more; sending it anywhere is a use after completion.
        let _ = k.call_driver(irp, device);
        NtStatus::SUCCESS
    }));
    let violations = manager.take_violations();
    assert!(
        violations.iter().any(|v| v.rule == Some("CompleteRequest")),
        "{violations:#?}"
    );
}
