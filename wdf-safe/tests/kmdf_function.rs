//! A PnP function driver on the simulated KMDF: it adds, serves and removes its device, and
//! the verifier reports a send made under a spin lock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{Function, INTERFACE_PATH, IOCTL_ECHO, IOCTL_PARK, bus};
use wdf_safe::NtStatus;
use wdm_compat::host::{DeviceNodeConfig, IoManager, flags};

#[test]
fn pnp_function_driver_adds_serves_and_removes_its_device() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let function = io
        .load_driver("function", wdf_safe::entry_point::<Function>())
        .unwrap();
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\FunctionPdo",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[function],
            interface_link: Some(r"\??\Function#1"),
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let handle = node.open().unwrap();
    let echo = handle.device_io_control(IOCTL_ECHO, &41u32.to_le_bytes(), 4);
    assert_eq!(
        (echo.status, echo.data.as_slice()),
        (NtStatus::SUCCESS, &42u32.to_le_bytes()[..])
    );
    // A function driver fails request types it has no callback for.
    assert_eq!(handle.read(4).status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(
        handle.internal_device_control(IOCTL_ECHO, &[], 0).status,
        NtStatus::NOT_SUPPORTED
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    // The device interface reaches the same device.
    let through_interface = io.open(INTERFACE_PATH).unwrap();
    let echo = through_interface.device_io_control(IOCTL_ECHO, &1u32.to_le_bytes(), 4);
    assert_eq!(echo.data, 2u32.to_le_bytes());
    assert_eq!(through_interface.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(
        io.open(INTERFACE_PATH).is_err(),
        "removal disables the interface"
    );
    let devices = io.devices_of(function);
    assert_eq!(devices.len(), 1);
    assert!(io.device(devices[0]).unwrap().deleted);
    io.unload_driver(function).unwrap();
}

#[test]
fn verifier_reports_a_send_while_a_spin_lock_is_held() {
    let io = IoManager::new();
    io.set_strict(false);
    let bus = io.load_driver("bus", bus()).unwrap();
    let function = io
        .load_driver("function", wdf_safe::entry_point::<Function>())
        .unwrap();
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\FunctionPdo2",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[function],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let handle = node.open().unwrap();
    let sent = handle.device_io_control(IOCTL_PARK, &[], 0);
    assert_eq!(
        sent.status,
        NtStatus::SUCCESS,
        "the bus completed the forwarded request"
    );
    let reports = io.take_violations();
    assert!(
        reports
            .iter()
            .any(|v| v.rule == Some("ReqSendWhileSpinlock")),
        "{reports:#?}"
    );
}
