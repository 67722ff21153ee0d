//! The user-mode side of the simulated I/O manager: opens, buffer semantics, namespace.
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
    DeviceId, DriverId, IoManager, IrpId, IrpParameters, KernelCalls, ScriptedDriver, flags, major,
};

const FILE_DEVICE_UNKNOWN: u32 = 0x22;

const fn ctl_code(function: u32, method: u32) -> u32 {
    (FILE_DEVICE_UNKNOWN << 16) | (function << 2) | method
}

/// `DriverEntry` body: a named device with a DOS link and the given buffering flags.
fn make_device(k: &KernelCalls, name: &str, link: &str, io_flags: u32) -> NtStatus {
    match k.create_device(Some(name), FILE_DEVICE_UNKNOWN, false) {
        Ok(device) => {
            k.set_flags(device, io_flags);
            match k.create_symbolic_link(link, device) {
                Ok(()) => NtStatus::SUCCESS,
                Err(status) => {
                    k.delete_device(device);
                    status
                }
            }
        }
        Err(status) => status,
    }
}

fn complete_success(k: &KernelCalls, _device: DeviceId, irp: IrpId) -> NtStatus {
    k.complete(irp, NtStatus::SUCCESS, 0);
    NtStatus::SUCCESS
}

/// A driver that accepts create/cleanup/close and whose device has `io_flags`.
fn basic_driver(name: &'static str, link: &'static str, io_flags: u32) -> ScriptedDriver {
    ScriptedDriver::new()
        .on_entry(move |k| make_device(k, name, link, io_flags))
        .on(major::CREATE, complete_success)
        .on(major::CLEANUP, complete_success)
        .on(major::CLOSE, complete_success)
        .on_unload(move |k| {
            k.delete_symbolic_link(link);
            if let Some(device) = k.manager().device_by_name(name) {
                k.delete_device(device);
            }
        })
}

/// An echo driver on a buffered device: writes are stored, reads return them.
fn echo_driver(store: Arc<Mutex<Vec<u8>>>) -> ScriptedDriver {
    let write_store = store.clone();
    basic_driver(r"\Device\Echo", r"\DosDevices\Echo", flags::DO_BUFFERED_IO)
        .on(major::WRITE, move |k, _d, irp| {
            let data = k.system_buffer(irp);
            let count = data.len();
            *write_store.lock().unwrap() = data;
            k.dbg_print(&format!("echo: stored {count} bytes\n"));
            k.complete(irp, NtStatus::SUCCESS, count);
            NtStatus::SUCCESS
        })
        .on(major::READ, move |k, _d, irp| {
            let IrpParameters::Read { length, .. } = k.parameters(irp) else {
                k.complete(irp, NtStatus::INVALID_PARAMETER, 0);
                return NtStatus::INVALID_PARAMETER;
            };
            let data = store.lock().unwrap().clone();
            let count = data.len().min(length as usize);
            k.write_system_buffer(irp, 0, &data[..count]).unwrap();
            k.complete(irp, NtStatus::SUCCESS, count);
            NtStatus::SUCCESS
        })
}

fn load(manager: &IoManager, name: &str, driver: ScriptedDriver) -> DriverId {
    manager.load_driver(name, driver).expect("driver loads")
}

#[test]
fn buffered_write_then_read_round_trips_exact_bytes_and_counts() {
    let manager = IoManager::new();
    load(&manager, "echo", echo_driver(Arc::default()));
    let handle = manager.open(r"\\.\Echo").unwrap();

    let written = handle.write(b"hello");
    assert_eq!(written.status, NtStatus::SUCCESS);
    assert_eq!(written.information, 5);

    let read = handle.read(16);
    assert_eq!(read.status, NtStatus::SUCCESS);
    assert_eq!(read.information, 5);
    assert_eq!(read.data, b"hello");
    assert_eq!(read.output.len(), 16);
    assert_eq!(&read.output[5..], &[0u8; 11]);

    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(manager.trace(), vec!["echo: stored 5 bytes".to_string()]);
    assert!(manager.violations().is_empty());
}

#[test]
fn buffered_ioctl_system_buffer_holds_input_and_spans_the_larger_length() {
    let manager = IoManager::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in_driver = seen.clone();
    let code = ctl_code(0x800, 0);
    load(
        &manager,
        "ioctl",
        basic_driver(r"\Device\Ioctl", r"\DosDevices\Ioctl", 0).on(
            major::DEVICE_CONTROL,
            move |k, _d, irp| {
                *seen_in_driver.lock().unwrap() = k.system_buffer(irp);
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            },
        ),
    );
    let handle = manager.open(r"\\.\Ioctl").unwrap();
    let result = handle.device_io_control(code, &[1, 2, 3], 6);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 0, 0, 0]);

    let result = handle.device_io_control(code, &[1, 2, 3, 4, 5, 6, 7], 2);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4, 5, 6, 7]);
}

/// A device-control handler that writes `fill` over the whole system buffer and completes
/// with `status` and `information`.
fn ioctl_filler(status: NtStatus, information: usize, fill: u8) -> ScriptedDriver {
    basic_driver(r"\Device\Fill", r"\DosDevices\Fill", 0).on(
        major::DEVICE_CONTROL,
        move |k, _d, irp| {
            let len = k.system_buffer(irp).len();
            k.write_system_buffer(irp, 0, &vec![fill; len]).unwrap();
            k.complete(irp, status, information);
            status
        },
    )
}

#[test]
fn buffered_ioctl_copies_back_only_information_bytes() {
    let manager = IoManager::new();
    load(&manager, "fill", ioctl_filler(NtStatus::SUCCESS, 3, 0xAA));
    let handle = manager.open(r"\\.\Fill").unwrap();
    let result = handle.device_io_control(ctl_code(0x801, 0), &[], 8);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.information, 3);
    assert_eq!(result.data, vec![0xAA; 3]);
    assert_eq!(result.output, vec![0xAA, 0xAA, 0xAA, 0, 0, 0, 0, 0]);
}

#[test]
fn buffered_ioctl_with_error_status_copies_nothing_back() {
    let manager = IoManager::new();
    load(
        &manager,
        "fill",
        ioctl_filler(NtStatus::INVALID_PARAMETER, 0, 0xAA),
    );
    let handle = manager.open(r"\\.\Fill").unwrap();
    let result = handle.device_io_control(ctl_code(0x801, 0), &[], 8);
    assert_eq!(result.status, NtStatus::INVALID_PARAMETER);
    assert!(result.data.is_empty());
    assert_eq!(result.output, vec![0; 8]);
}

#[test]
fn buffered_ioctl_with_warning_status_still_copies_back() {
    let manager = IoManager::new();
    load(
        &manager,
        "fill",
        ioctl_filler(NtStatus::BUFFER_OVERFLOW, 4, 0x5A),
    );
    let handle = manager.open(r"\\.\Fill").unwrap();
    let result = handle.device_io_control(ctl_code(0x801, 0), &[], 4);
    assert_eq!(result.status, NtStatus::BUFFER_OVERFLOW);
    assert_eq!(result.data, vec![0x5A; 4]);
}

#[test]
fn zero_length_buffered_ioctl_has_no_system_buffer() {
    let manager = IoManager::new();
    let seen = Arc::new(Mutex::new(None));
    let seen_in_driver = seen.clone();
    load(
        &manager,
        "zero",
        basic_driver(r"\Device\Zero", r"\DosDevices\Zero", 0).on(
            major::DEVICE_CONTROL,
            move |k, _d, irp| {
                *seen_in_driver.lock().unwrap() =
                    Some((k.system_buffer(irp).len(), k.mdl_buffer(irp).len()));
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            },
        ),
    );
    let handle = manager.open(r"\\.\Zero").unwrap();
    let result = handle.device_io_control(ctl_code(0x802, 0), &[], 0);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(*seen.lock().unwrap(), Some((0, 0)));
    let result = handle.device_io_control(ctl_code(0x802, 2), &[], 0);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(*seen.lock().unwrap(), Some((0, 0)));
}

#[test]
fn out_direct_ioctl_takes_input_from_system_buffer_and_output_through_mdl() {
    let manager = IoManager::new();
    let code = ctl_code(0x803, 2);
    load(
        &manager,
        "direct",
        basic_driver(r"\Device\Direct", r"\DosDevices\Direct", 0).on(
            major::DEVICE_CONTROL,
            move |k, _d, irp| {
                let input = k.system_buffer(irp);
                let mdl_len = k.mdl_buffer(irp).len();
                let reversed: Vec<u8> = input.iter().rev().copied().collect();
                k.write_mdl_buffer(irp, 0, &reversed).unwrap();
                k.complete(irp, NtStatus::SUCCESS, mdl_len.min(reversed.len()));
                NtStatus::SUCCESS
            },
        ),
    );
    let handle = manager.open(r"\\.\Direct").unwrap();
    let result = handle.device_io_control(code, &[1, 2, 3], 5);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.information, 3);
    assert_eq!(result.data, vec![3, 2, 1]);
    assert_eq!(result.output, vec![3, 2, 1, 0, 0]);
}

#[test]
fn in_direct_ioctl_lets_the_driver_read_the_callers_output_buffer() {
    let manager = IoManager::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in_driver = seen.clone();
    load(
        &manager,
        "indirect",
        basic_driver(r"\Device\InDirect", r"\DosDevices\InDirect", 0).on(
            major::DEVICE_CONTROL,
            move |k, _d, irp| {
                *seen_in_driver.lock().unwrap() = k.mdl_buffer(irp);
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            },
        ),
    );
    let handle = manager.open(r"\\.\InDirect").unwrap();
    let result = handle.device_io_control_with(ctl_code(0x804, 1), &[7], vec![9, 8, 7]);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(*seen.lock().unwrap(), vec![9, 8, 7]);
}

#[test]
fn neither_ioctl_passes_only_user_addresses() {
    let manager = IoManager::new();
    let seen = Arc::new(Mutex::new(None));
    let seen_in_driver = seen.clone();
    load(
        &manager,
        "neither",
        basic_driver(
            r"\Device\Neither",
            r"\DosDevices\Neither",
            flags::DO_BUFFERED_IO,
        )
        .on(major::DEVICE_CONTROL, move |k, _d, irp| {
            *seen_in_driver.lock().unwrap() = Some((
                k.user_addresses(irp),
                k.system_buffer(irp).len(),
                k.mdl_buffer(irp).len(),
            ));
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        }),
    );
    let handle = manager.open(r"\\.\Neither").unwrap();
    let result = handle.device_io_control(ctl_code(0x805, 3), &[1, 2], 4);
    assert_eq!(result.status, NtStatus::SUCCESS);
    let ((input, output), system, mdl) = seen.lock().unwrap().unwrap();
    assert_ne!(input, 0);
    assert_ne!(output, 0);
    assert_ne!(input, output);
    assert_eq!((system, mdl), (0, 0));
    assert_eq!(result.output, vec![0; 4]);
}

#[test]
fn direct_io_device_reads_and_writes_through_the_mdl() {
    let manager = IoManager::new();
    let store = Arc::new(Mutex::new(Vec::new()));
    let write_store = store.clone();
    load(
        &manager,
        "dio",
        basic_driver(r"\Device\Dio", r"\DosDevices\Dio", flags::DO_DIRECT_IO)
            .on(major::WRITE, move |k, _d, irp| {
                assert!(k.system_buffer(irp).is_empty());
                let data = k.mdl_buffer(irp);
                let count = data.len();
                *write_store.lock().unwrap() = data;
                k.complete(irp, NtStatus::SUCCESS, count);
                NtStatus::SUCCESS
            })
            .on(major::READ, move |k, _d, irp| {
                let data = store.lock().unwrap().clone();
                k.write_mdl_buffer(irp, 0, &data).unwrap();
                k.complete(irp, NtStatus::SUCCESS, data.len());
                NtStatus::SUCCESS
            }),
    );
    let handle = manager.open(r"\\.\Dio").unwrap();
    assert_eq!(handle.write(b"abc").information, 3);
    let read = handle.read(4);
    assert_eq!(read.data, b"abc");
    assert_eq!(read.output, b"abc\0");
}

#[test]
fn neither_io_device_read_gets_a_user_address_and_no_buffers() {
    let manager = IoManager::new();
    let seen = Arc::new(Mutex::new(None));
    let seen_in_driver = seen.clone();
    load(
        &manager,
        "nio",
        basic_driver(r"\Device\Nio", r"\DosDevices\Nio", 0).on(major::READ, move |k, _d, irp| {
            *seen_in_driver.lock().unwrap() = Some((
                k.user_addresses(irp).1,
                k.system_buffer(irp).len(),
                k.mdl_buffer(irp).len(),
            ));
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        }),
    );
    let handle = manager.open(r"\\.\Nio").unwrap();
    let read = handle.read(8);
    assert_eq!(read.status, NtStatus::SUCCESS);
    let (address, system, mdl) = seen.lock().unwrap().unwrap();
    assert_ne!(address, 0);
    assert_eq!((system, mdl), (0, 0));
}

#[test]
fn every_link_spelling_resolves_to_the_same_device() {
    let manager = IoManager::new();
    load(&manager, "echo", echo_driver(Arc::default()));
    let device = manager.device_by_name(r"\Device\Echo").unwrap();
    for path in [
        r"\\.\Echo",
        r"\\.\ECHO",
        r"\??\Echo",
        r"\DosDevices\Echo",
        r"\GLOBAL??\Echo",
        r"\Device\Echo",
    ] {
        assert_eq!(manager.resolve(path), Ok(device), "{path}");
        let handle = manager.open(path).unwrap();
        assert_eq!(handle.device(), device);
        assert_eq!(handle.close(), NtStatus::SUCCESS);
    }
    assert_eq!(
        manager.open(r"\\.\Missing").err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
}

#[test]
fn second_device_or_link_with_the_same_name_collides() {
    let manager = IoManager::new();
    load(&manager, "echo", echo_driver(Arc::default()));
    // Same device name, different link.
    let status = manager
        .load_driver(
            "twin",
            basic_driver(r"\Device\ECHO", r"\DosDevices\Twin", 0),
        )
        .unwrap_err();
    assert_eq!(status, NtStatus::OBJECT_NAME_COLLISION);
    // Different device name, same link (in another spelling): the driver deletes its device.
    let status = manager
        .load_driver("twin2", basic_driver(r"\Device\Twin2", r"\??\Echo", 0))
        .unwrap_err();
    assert_eq!(status, NtStatus::OBJECT_NAME_COLLISION);
    assert!(manager.device_by_name(r"\Device\Twin2").is_none());
    assert!(manager.violations().is_empty());
}

#[test]
fn device_still_initializing_refuses_opens() {
    let manager = IoManager::new();
    let driver = load(
        &manager,
        "late",
        ScriptedDriver::new().on(major::CREATE, complete_success),
    );
    // A device created after DriverEntry keeps DO_DEVICE_INITIALIZING until the driver clears it.
    let kernel = manager.kernel_as(driver);
    let device = kernel
        .create_device(Some(r"\Device\Late"), FILE_DEVICE_UNKNOWN, false)
        .unwrap();
    kernel
        .create_symbolic_link(r"\DosDevices\Late", device)
        .unwrap();
    assert_ne!(
        manager.device(device).unwrap().flags & flags::DO_DEVICE_INITIALIZING,
        0
    );
    assert_eq!(
        manager.open(r"\\.\Late").err(),
        Some(NtStatus::NO_SUCH_DEVICE)
    );
    kernel.clear_flags(device, flags::DO_DEVICE_INITIALIZING);
    assert!(manager.open(r"\\.\Late").is_ok());
}

#[test]
fn devices_created_in_driver_entry_are_ready_when_it_returns() {
    let manager = IoManager::new();
    load(&manager, "echo", echo_driver(Arc::default()));
    let device = manager.device_by_name(r"\Device\Echo").unwrap();
    let info = manager.device(device).unwrap();
    assert_eq!(info.flags & flags::DO_DEVICE_INITIALIZING, 0);
    assert_eq!(info.flags & flags::DO_BUFFERED_IO, flags::DO_BUFFERED_IO);
    assert_eq!(info.stack_size, 1);
}

#[test]
fn exclusive_device_allows_one_open_at_a_time() {
    let manager = IoManager::new();
    load(
        &manager,
        "excl",
        ScriptedDriver::new()
            .on_entry(|k| {
                let device = k
                    .create_device(Some(r"\Device\Excl"), FILE_DEVICE_UNKNOWN, true)
                    .unwrap();
                k.create_symbolic_link(r"\DosDevices\Excl", device).unwrap();
                NtStatus::SUCCESS
            })
            .on(major::CREATE, complete_success)
            .on(major::CLEANUP, complete_success)
            .on(major::CLOSE, complete_success),
    );
    let first = manager.open(r"\\.\Excl").unwrap();
    assert_eq!(
        manager.open(r"\\.\Excl").err(),
        Some(NtStatus::ACCESS_DENIED)
    );
    first.close();
    assert!(manager.open(r"\\.\Excl").is_ok());
}

#[test]
fn create_failure_status_is_what_open_returns() {
    let manager = IoManager::new();
    load(
        &manager,
        "deny",
        ScriptedDriver::new()
            .on_entry(|k| make_device(k, r"\Device\Deny", r"\DosDevices\Deny", 0))
            .on(major::CREATE, |k, _d, irp| {
                k.complete(irp, NtStatus::ACCESS_DENIED, 0);
                NtStatus::ACCESS_DENIED
            }),
    );
    assert_eq!(
        manager.open(r"\\.\Deny").err(),
        Some(NtStatus::ACCESS_DENIED)
    );
}

#[test]
fn major_without_a_routine_completes_with_invalid_device_request() {
    let manager = IoManager::new();
    load(
        &manager,
        "basic",
        basic_driver(r"\Device\Basic", r"\DosDevices\Basic", 0),
    );
    let handle = manager.open(r"\\.\Basic").unwrap();
    let read = handle.read(4);
    assert_eq!(read.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(read.information, 0);
    assert!(read.data.is_empty());
    assert!(manager.violations().is_empty());
}

#[test]
fn internal_device_control_comes_from_kernel_mode_and_user_ioctl_from_user_mode() {
    let manager = IoManager::new();
    let modes = Arc::new(Mutex::new(Vec::new()));
    let (m1, m2) = (modes.clone(), modes.clone());
    load(
        &manager,
        "modes",
        basic_driver(r"\Device\Modes", r"\DosDevices\Modes", 0)
            .on(major::DEVICE_CONTROL, move |k, _d, irp| {
                m1.lock().unwrap().push(("ioctl", k.from_user_mode(irp)));
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            })
            .on(major::INTERNAL_DEVICE_CONTROL, move |k, _d, irp| {
                m2.lock().unwrap().push(("internal", k.from_user_mode(irp)));
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            }),
    );
    let handle = manager.open(r"\\.\Modes").unwrap();
    assert_eq!(
        handle.device_io_control(ctl_code(0x806, 0), &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        handle
            .internal_device_control(ctl_code(0x807, 3), &[], 0)
            .status,
        NtStatus::SUCCESS
    );
    assert_eq!(
        *modes.lock().unwrap(),
        vec![("ioctl", true), ("internal", false)]
    );
}

#[test]
fn close_sends_cleanup_then_close() {
    let manager = IoManager::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (o1, o2) = (order.clone(), order.clone());
    load(
        &manager,
        "order",
        ScriptedDriver::new()
            .on_entry(|k| make_device(k, r"\Device\Order", r"\DosDevices\Order", 0))
            .on(major::CREATE, complete_success)
            .on(major::CLEANUP, move |k, d, irp| {
                o1.lock().unwrap().push("cleanup");
                complete_success(k, d, irp)
            })
            .on(major::CLOSE, move |k, d, irp| {
                o2.lock().unwrap().push("close");
                complete_success(k, d, irp)
            }),
    );
    let handle = manager.open(r"\\.\Order").unwrap();
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(*order.lock().unwrap(), vec!["cleanup", "close"]);
}

#[test]
fn unload_runs_driver_unload_and_the_device_disappears() {
    let manager = IoManager::new();
    let driver = load(&manager, "echo", echo_driver(Arc::default()));
    let device = manager.device_by_name(r"\Device\Echo").unwrap();
    manager.unload_driver(driver).unwrap();
    assert!(!manager.is_loaded(driver));
    assert!(manager.device(device).unwrap().deleted);
    assert_eq!(
        manager.open(r"\\.\Echo").err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert!(manager.violations().is_empty());
}

#[test]
fn driver_without_unload_routine_cannot_be_unloaded() {
    let manager = IoManager::new();
    let driver = load(&manager, "sticky", ScriptedDriver::new());
    assert_eq!(
        manager.unload_driver(driver),
        Err(NtStatus::INVALID_DEVICE_REQUEST)
    );
    assert!(manager.is_loaded(driver));
}

#[test]
fn parallel_managers_do_not_share_names() {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                let manager = IoManager::new();
                load(&manager, "echo", echo_driver(Arc::default()));
                let handle = manager.open(r"\\.\Echo").unwrap();
                assert_eq!(handle.write(b"x").information, 1);
                manager.trace()
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(
            thread.join().unwrap(),
            vec!["echo: stored 1 bytes".to_string()]
        );
    }
}

#[test]
fn the_handle_access_gates_reads_writes_and_ioctl_access_bits_before_any_driver_call() {
    use wdm_compat::host::{Access, OpenOptions};
    let manager = IoManager::new();
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let count = move |k: &KernelCalls, device: DeviceId, irp: IrpId| {
        *counted.lock().unwrap() += 1;
        complete_success(k, device, irp)
    };
    load(
        &manager,
        "gated",
        basic_driver(
            r"\Device\Gated",
            r"\DosDevices\Gated",
            flags::DO_BUFFERED_IO,
        )
        .on(major::READ, count.clone())
        .on(major::WRITE, count.clone())
        .on(major::DEVICE_CONTROL, count),
    );
    let reader = manager
        .open_with(r"\\.\Gated", OpenOptions::USER.access(Access::READ))
        .unwrap();
    let read_access = ctl_code(0x810, 0) | (1 << 14);
    let write_access = ctl_code(0x811, 0) | (2 << 14);
    let any_access = ctl_code(0x812, 0);
    assert_eq!(reader.write(b"x").status, NtStatus::ACCESS_DENIED);
    assert_eq!(
        reader.device_io_control(write_access, &[], 0).status,
        NtStatus::ACCESS_DENIED
    );
    assert_eq!(
        reader
            .device_io_control_async(write_access | (1 << 14), &[], 0)
            .err(),
        Some(NtStatus::ACCESS_DENIED)
    );
    assert_eq!(*calls.lock().unwrap(), 0, "refused before the driver");
    assert!(reader.read(1).is_success());
    assert!(reader.device_io_control(read_access, &[], 0).is_success());
    assert!(reader.device_io_control(any_access, &[], 0).is_success());
    assert_eq!(*calls.lock().unwrap(), 3);
    let writer = manager
        .open_with(r"\\.\Gated", OpenOptions::USER.access(Access::WRITE))
        .unwrap();
    assert_eq!(writer.read(1).status, NtStatus::ACCESS_DENIED);
    assert_eq!(writer.read_async(1).err(), Some(NtStatus::ACCESS_DENIED));
    assert!(writer.device_io_control(write_access, &[], 0).is_success());
    assert_eq!(*calls.lock().unwrap(), 4);
}

#[test]
fn closing_a_handle_sends_cleanup_at_once_and_close_once_its_irps_completed() {
    let manager = IoManager::new();
    let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
    let kept: Arc<Mutex<Vec<IrpId>>> = Arc::default();
    let record = |seen: &Arc<Mutex<Vec<u8>>>| {
        let seen = seen.clone();
        move |k: &KernelCalls, device: DeviceId, irp: IrpId| {
            seen.lock().unwrap().push(k.major(irp));
            complete_success(k, device, irp)
        }
    };
    let keep = kept.clone();
    load(
        &manager,
        "filed",
        basic_driver(
            r"\Device\Filed",
            r"\DosDevices\Filed",
            flags::DO_BUFFERED_IO,
        )
        .on(major::CLEANUP, record(&seen))
        .on(major::CLOSE, record(&seen))
        .on(major::READ, move |k, _d, irp| {
            k.mark_pending(irp);
            keep.lock().unwrap().push(irp);
            NtStatus::PENDING.status()
        }),
    );
    let handle = manager.open(r"\\.\Filed").unwrap();
    let read = handle.read_async(4).unwrap();
    assert!(read.returned_pending());
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    // The handle is gone, its file object is not: the read still references it.
    assert_eq!(*seen.lock().unwrap(), [major::CLEANUP]);
    let irp = kept.lock().unwrap().pop().unwrap();
    manager.kernel().complete(irp, NtStatus::SUCCESS, 0);
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
    // The last reference went with the read: now the close.
    assert_eq!(*seen.lock().unwrap(), [major::CLEANUP, major::CLOSE]);
    // A handle without outstanding IRPs closes at once.
    let quiet = manager.open(r"\\.\Filed").unwrap();
    assert_eq!(quiet.close(), NtStatus::SUCCESS);
    assert_eq!(
        *seen.lock().unwrap(),
        [major::CLEANUP, major::CLOSE, major::CLEANUP, major::CLOSE]
    );
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}
