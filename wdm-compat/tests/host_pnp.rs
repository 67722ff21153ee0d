//! PnP device nodes: a filter over a HID-like function driver over a bus PDO.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wdm_compat::NtStatus;
use wdm_compat::host::{
    DeviceId, DeviceNodeConfig, DriverId, IoManager, IrpId, KernelCalls, ScriptedDriver, flags,
    major, pnp_minor,
};

const FILE_DEVICE_KEYBOARD: u32 = 0x0b;
const IOCTL_GET_REPORT: u32 = (FILE_DEVICE_KEYBOARD << 16) | (0x800 << 2);

type Lowers = Arc<Mutex<HashMap<DeviceId, DeviceId>>>;
type Log = Arc<Mutex<Vec<String>>>;

/// How a scripted FDO / filter behaves when it is built and removed.
#[derive(Clone, Copy)]
struct Behaviour {
    copy_flags: bool,
    clear_initializing: bool,
    detach_on_remove: bool,
    delete_on_remove: bool,
    delete_on_surprise: bool,
}

const GOOD: Behaviour = Behaviour {
    copy_flags: true,
    clear_initializing: true,
    detach_on_remove: true,
    delete_on_remove: true,
    delete_on_surprise: false,
};

/// A PnP driver (function driver or filter): AddDevice attaches an unnamed device; every IRP is
/// passed down; the remove IRP is passed down, then the device detaches and deletes itself.
/// Device controls are logged with `tag` and passed down with a completion routine that logs.
fn pnp_driver(tag: &'static str, behaviour: Behaviour, log: Log) -> ScriptedDriver {
    let lowers: Lowers = Arc::default();
    let (add_lowers, pass_lowers, pnp_lowers, ioctl_lowers) =
        (lowers.clone(), lowers.clone(), lowers.clone(), lowers);
    let pass = move |k: &KernelCalls, device: DeviceId, irp: IrpId| {
        let lower = pass_lowers.lock().unwrap()[&device];
        k.skip_current_location(irp);
        k.call_driver(irp, lower)
    };
    ScriptedDriver::new()
        .on_add_device(move |k, pdo| {
            let device = match k.create_device(None, k.device_type(pdo), false) {
                Ok(device) => device,
                Err(status) => return status,
            };
            let Some(lower) = k.attach(device, pdo) else {
                k.delete_device(device);
                return NtStatus::NO_SUCH_DEVICE;
            };
            if behaviour.copy_flags {
                k.set_flags(
                    device,
                    k.flags(lower)
                        & (flags::DO_BUFFERED_IO | flags::DO_DIRECT_IO | flags::DO_POWER_PAGABLE),
                );
            }
            if behaviour.clear_initializing {
                k.clear_flags(device, flags::DO_DEVICE_INITIALIZING);
            }
            add_lowers.lock().unwrap().insert(device, lower);
            NtStatus::SUCCESS
        })
        .on(major::CREATE, pass.clone())
        .on(major::CLEANUP, pass.clone())
        .on(major::CLOSE, pass)
        .on(major::DEVICE_CONTROL, {
            let log = log.clone();
            move |k, device, irp| {
                log.lock().unwrap().push(format!("{tag} dispatch"));
                let lower = ioctl_lowers.lock().unwrap()[&device];
                k.copy_current_location_to_next(irp);
                let log = log.clone();
                k.set_completion_routine(irp, move |k, _d, irp| {
                    log.lock().unwrap().push(format!("{tag} completion"));
                    if k.pending_returned(irp) {
                        k.mark_pending(irp);
                    }
                    NtStatus::SUCCESS
                });
                k.call_driver(irp, lower)
            }
        })
        .on(major::PNP, move |k, device, irp| {
            let minor = k.minor(irp);
            let lower = pnp_lowers.lock().unwrap()[&device];
            log.lock().unwrap().push(format!("{tag} pnp {minor:#x}"));
            k.skip_current_location(irp);
            let status = k.call_driver(irp, lower);
            if minor == pnp_minor::REMOVE_DEVICE {
                if behaviour.detach_on_remove {
                    k.detach(lower);
                }
                if behaviour.delete_on_remove {
                    k.delete_device(device);
                }
            }
            if minor == pnp_minor::SURPRISE_REMOVAL && behaviour.delete_on_surprise {
                k.delete_device(device);
            }
            status
        })
}

/// The bus driver: its PDO answers PnP IRPs with `pnp_status` (remove: deletes the PDO) and
/// completes device controls with a 2-byte report.
fn bus_driver(remove_status: NtStatus) -> ScriptedDriver {
    bus_driver_answering(remove_status, NtStatus::SUCCESS)
}

/// The bus driver, answering the surprise removal with `surprise_status` too.
fn bus_driver_answering(remove_status: NtStatus, surprise_status: NtStatus) -> ScriptedDriver {
    ScriptedDriver::new()
        .on(major::CREATE, |k, _d, irp| {
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        })
        .on(major::CLEANUP, |k, _d, irp| {
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        })
        .on(major::CLOSE, |k, _d, irp| {
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        })
        .on(major::DEVICE_CONTROL, |k, _d, irp| {
            k.write_system_buffer(irp, 0, &[0x04, 0x1e]).unwrap();
            k.complete(irp, NtStatus::SUCCESS, 2);
            NtStatus::SUCCESS
        })
        .on(major::PNP, move |k, device, irp| {
            let status = match k.minor(irp) {
                pnp_minor::REMOVE_DEVICE => {
                    k.delete_device(device);
                    remove_status
                }
                pnp_minor::START_DEVICE => NtStatus::SUCCESS,
                pnp_minor::SURPRISE_REMOVAL => surprise_status,
                _ => k.status(irp),
            };
            k.complete(irp, status, 0);
            status
        })
}

struct Node {
    manager: IoManager,
    node: wdm_compat::host::DeviceNode,
    log: Log,
}

fn build(function: Behaviour, filter: Behaviour, remove_status: NtStatus) -> Node {
    build_over(function, filter, bus_driver(remove_status))
}

fn build_over(function: Behaviour, filter: Behaviour, bus: ScriptedDriver) -> Node {
    let manager = IoManager::new();
    manager.set_strict(false);
    let log: Log = Arc::default();
    let bus = manager.load_driver("bus", bus).unwrap();
    let hid = manager
        .load_driver("hid", pnp_driver("hid", function, log.clone()))
        .unwrap();
    let filter = manager
        .load_driver("filter", pnp_driver("filter", filter, log.clone()))
        .unwrap();
    let drivers: [DriverId; 2] = [hid, filter];
    let node = manager
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\00000042",
            bus,
            device_type: FILE_DEVICE_KEYBOARD,
            pdo_flags: flags::DO_BUFFERED_IO | flags::DO_POWER_PAGABLE,
            drivers: &drivers,
            interface_link: Some(r"\??\HID#VID_1234&PID_5678#1"),
        })
        .unwrap();
    Node { manager, node, log }
}

#[test]
fn add_device_builds_the_stack_function_driver_first_then_filter() {
    let Node { manager, node, .. } = build(GOOD, GOOD, NtStatus::SUCCESS);
    let stack = node.stack();
    assert_eq!(stack.len(), 3);
    assert_eq!(stack[0], node.pdo());
    let names: Vec<String> = stack
        .iter()
        .map(|d| {
            manager
                .driver_name(manager.device(*d).unwrap().driver)
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["bus", "hid", "filter"]);
    let top = manager.device(node.top()).unwrap();
    assert_eq!(top.stack_size, 3);
    assert_eq!(top.device_type, FILE_DEVICE_KEYBOARD);
    assert!(manager.violations().is_empty());
}

#[test]
fn start_travels_down_the_stack_and_succeeds() {
    let Node { manager, node, log } = build(GOOD, GOOD, NtStatus::SUCCESS);
    assert_eq!(node.start(), NtStatus::SUCCESS);
    assert_eq!(*log.lock().unwrap(), ["filter pnp 0x0", "hid pnp 0x0"]);
    assert!(manager.violations().is_empty());
}

#[test]
fn ioctl_through_the_filter_reaches_the_bus_and_routines_run_bottom_up() {
    let Node { manager, node, log } = build(GOOD, GOOD, NtStatus::SUCCESS);
    for handle in [
        node.open().unwrap(),
        manager.open(r"\\.\HID#VID_1234&PID_5678#1").unwrap(),
    ] {
        log.lock().unwrap().clear();
        let result = handle.device_io_control(IOCTL_GET_REPORT, &[], 8);
        assert_eq!(result.status, NtStatus::SUCCESS);
        assert_eq!(result.data, vec![0x04, 0x1e]);
        assert_eq!(
            *log.lock().unwrap(),
            [
                "filter dispatch",
                "hid dispatch",
                "hid completion",
                "filter completion"
            ]
        );
    }
    assert!(manager.violations().is_empty());
}

#[test]
fn orderly_remove_detaches_and_deletes_everything() {
    let Node { manager, node, .. } = build(GOOD, GOOD, NtStatus::SUCCESS);
    let stack = node.stack();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    for device in stack {
        assert!(manager.device(device).unwrap().deleted);
    }
    assert_eq!(
        manager.open(r"\\.\HID#VID_1234&PID_5678#1").err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

#[test]
fn filter_that_neither_detaches_nor_deletes_on_remove_is_0x21d_and_0x21e() {
    let filter = Behaviour {
        detach_on_remove: false,
        delete_on_remove: false,
        ..GOOD
    };
    let Node { manager, node, .. } = build(GOOD, filter, NtStatus::SUCCESS);
    node.remove();
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert!(violations[0].is_verifier(0xC9, 0x21D));
    assert!(violations[1].is_verifier(0xC9, 0x21E));
    assert!(violations.iter().all(|v| v.driver == "filter"));
}

#[test]
fn filter_that_deletes_without_detaching_is_0x201() {
    let filter = Behaviour {
        detach_on_remove: false,
        ..GOOD
    };
    let Node { manager, node, .. } = build(GOOD, filter, NtStatus::SUCCESS);
    node.remove();
    let violations = manager.take_violations();
    // The simulation detaches the deleted device itself, so the remove check finds it gone.
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_verifier(0xC9, 0x201));
    assert_eq!(violations[0].driver, "filter");
}

#[test]
fn filter_that_does_not_delete_on_remove_is_0x21e() {
    let filter = Behaviour {
        delete_on_remove: false,
        ..GOOD
    };
    let Node { manager, node, .. } = build(GOOD, filter, NtStatus::SUCCESS);
    node.remove();
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_verifier(0xC9, 0x21E));
    assert_eq!(violations[0].driver, "filter");
    assert_eq!(violations[0].major, Some(major::PNP));
}

#[test]
fn failing_the_remove_irp_is_0x306() {
    let Node { manager, node, .. } = build(GOOD, GOOD, NtStatus::UNSUCCESSFUL);
    assert_eq!(node.remove(), NtStatus::UNSUCCESSFUL);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_verifier(0xC9, 0x306));
    assert_eq!(violations[0].rule, Some("PnpRemove"));
}

#[test]
fn answering_the_remove_irp_not_supported_breaks_ns_remove_lock_mn_remove() {
    let Node { manager, node, .. } = build(GOOD, GOOD, NtStatus::NOT_SUPPORTED);
    assert_eq!(node.remove(), NtStatus::NOT_SUPPORTED);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_verifier(0xC9, 0x306));
    assert_eq!(violations[0].rule, Some("NsRemoveLockMnRemove"));
}

#[test]
fn failing_the_surprise_removal_is_reported() {
    let bus = bus_driver_answering(NtStatus::SUCCESS, NtStatus::NOT_SUPPORTED);
    let Node { manager, node, .. } = build_over(GOOD, GOOD, bus);
    assert_eq!(node.surprise_remove(), NtStatus::NOT_SUPPORTED);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].rule, Some("NsRemoveLockMnSurpriseRemove"));
    assert_eq!(violations[0].driver, "bus");

    let bus = bus_driver_answering(NtStatus::SUCCESS, NtStatus::UNSUCCESSFUL);
    let Node { manager, node, .. } = build_over(GOOD, GOOD, bus);
    assert_eq!(node.surprise_remove(), NtStatus::UNSUCCESSFUL);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].rule, Some("PnpRemove"));
}

#[test]
fn deleting_during_surprise_removal_is_0x242() {
    let filter = Behaviour {
        delete_on_surprise: true,
        ..GOOD
    };
    let Node { manager, node, .. } = build(GOOD, filter, NtStatus::SUCCESS);
    assert_eq!(node.surprise_remove(), NtStatus::SUCCESS);
    let violations = manager.take_violations();
    assert!(violations[0].is_verifier(0xC9, 0x242), "{violations:#?}");
    assert_eq!(violations[0].rule, Some("PnpSurpriseRemove"));
    // ...and it deleted a device that is still attached.
    assert!(violations[1].is_verifier(0xC9, 0x201), "{violations:#?}");
    assert_eq!(violations.len(), 2);
}

#[test]
fn add_device_leaving_initializing_set_is_0x243() {
    let filter = Behaviour {
        clear_initializing: false,
        ..GOOD
    };
    let Node { manager, .. } = build(GOOD, filter, NtStatus::SUCCESS);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_verifier(0xC9, 0x243));
    assert_eq!(violations[0].rule, Some("AddDevice"));
    assert_eq!(violations[0].driver, "filter");
}

#[test]
fn add_device_not_copying_flags_is_0x244_and_0x23f() {
    let filter = Behaviour {
        copy_flags: false,
        ..GOOD
    };
    let Node { manager, .. } = build(GOOD, filter, NtStatus::SUCCESS);
    let violations = manager.take_violations();
    assert!(violations[0].is_verifier(0xC9, 0x244), "{violations:#?}");
    assert!(violations[1].is_verifier(0xC9, 0x23F), "{violations:#?}");
    assert_eq!(violations.len(), 2);
}

#[test]
fn device_node_in_strict_mode_passes_a_clean_life_cycle() {
    let manager = IoManager::new();
    let log: Log = Arc::default();
    let bus = manager
        .load_driver("bus", bus_driver(NtStatus::SUCCESS))
        .unwrap();
    let hid = manager
        .load_driver("hid", pnp_driver("hid", GOOD, log.clone()))
        .unwrap();
    let node = manager
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\00000007",
            bus,
            device_type: FILE_DEVICE_KEYBOARD,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[hid],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let handle = node.open().unwrap();
    assert_eq!(
        handle.device_io_control(IOCTL_GET_REPORT, &[], 2).data,
        vec![0x04, 0x1e]
    );
    handle.close();
    assert_eq!(node.surprise_remove(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
}
