//! The KMDF toaster sample (`samples/toaster`, Microsoft's toaster function driver ported) on
//! a bus-enumerated device node: what its client and the debugger see. Reads and writes
//! succeed with their length; the state IOCTL shows the hardware and power callbacks at work;
//! while the system sleeps the power-managed queue holds requests until the device is back in
//! D0; `DebugLevel` in the registry silences the driver; a surprise removal stops the device
//! and fails what comes after.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use toaster::{DEBUG_INFO, IOCTL_TOASTER_GET_STATE, Toaster, ToasterState};
use wdf_safe::RegistryValue;
use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceNode, DeviceNodeConfig, DriverId, FileHandle, IoManager, flags};
use wdm_compat::ioctl::IoBuffer;

use host_tests::root::{self, TOASTER_INTERFACE as INTERFACE};

/// The toaster bus (a scripted bus answering PnP and power IRPs) and the driver.
fn drivers(io: &IoManager) -> (DriverId, DriverId) {
    let bus = io.load_driver("toasterbus", root::root_bus()).unwrap();
    let toaster = io
        .load_driver("toaster", wdf_safe::entry_point::<Toaster>())
        .unwrap();
    (bus, toaster)
}

/// A toaster the bus enumerated, started.
fn toaster_node(
    io: &IoManager,
    (bus, toaster): (DriverId, DriverId),
    pdo_name: &'static str,
) -> Result<DeviceNode, NtStatus> {
    let node = io.create_device_node(&DeviceNodeConfig {
        pdo_name,
        bus,
        device_type: 0x22,
        pdo_flags: flags::DO_BUFFERED_IO,
        drivers: &[toaster],
        interface_link: None,
    })?;
    match node.start() {
        NtStatus::SUCCESS => Ok(node),
        status => Err(status),
    }
}

fn load(io: &IoManager) -> DeviceNode {
    toaster_node(io, drivers(io), r"\Device\ToasterPdo1").unwrap()
}

fn state(handle: &FileHandle) -> ToasterState {
    let result = handle.device_io_control(
        IOCTL_TOASTER_GET_STATE.code().to_raw(),
        &[],
        ToasterState::SIZE,
    );
    assert_eq!(result.status, NtStatus::SUCCESS);
    ToasterState::read_from(&result.data).unwrap()
}

fn toaster_lines(io: &IoManager) -> Vec<String> {
    io.trace()
        .into_iter()
        .filter(|line| line.starts_with("[toaster]"))
        .collect()
}

#[test]
fn reads_and_writes_succeed_with_their_length_and_the_state_shows_the_started_device() {
    let io = IoManager::new();
    let node = load(&io);
    let handle = io.open(INTERFACE).unwrap();
    let read = handle.read(16);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 16));
    let write = handle.write(b"two slices");
    assert_eq!((write.status, write.information), (NtStatus::SUCCESS, 10));
    assert_eq!(
        state(&handle),
        ToasterState {
            hardware: 1,
            in_d0: 1,
            d0_entries: 1,
            transfers: 2,
            debug_level: DEBUG_INFO,
            opens: 1,
            handle_transfers: 2,
        }
    );
    // A second handle: two opens, and its own transfer count (EvtDeviceFileCreate, the file
    // object's context).
    let second = io.open(INTERFACE).unwrap();
    assert_eq!(second.read(1).status, NtStatus::SUCCESS);
    let now = state(&second);
    assert_eq!((now.opens, now.transfers, now.handle_transfers), (2, 3, 1));
    assert_eq!(second.close(), NtStatus::SUCCESS);
    assert_eq!(state(&handle).opens, 1);
    // Not the toaster's IOCTL.
    assert_eq!(
        handle.device_io_control(0x0022_2000, &[], 0).status,
        NtStatus::INVALID_DEVICE_REQUEST
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    let lines = toaster_lines(&io);
    let at = |text: &str| lines.iter().position(|l| l.contains(text)).unwrap();
    assert!(at("hardware prepared") < at("D0 entry from D3Final"));
    assert!(at("D0 exit to D3Final") < at("hardware released"));
    assert!(at("hardware released") < at("device gone"));
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn while_the_system_sleeps_requests_wait_in_the_queue_and_complete_after_wake() {
    let io = IoManager::new();
    let node = load(&io);
    let handle = node.open().unwrap();
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    let read = handle.read_async(8).unwrap();
    assert!(read.returned_pending());
    assert!(
        !read.is_complete(),
        "the power-managed queue holds it in D3"
    );
    assert_eq!(node.set_system_power(0), NtStatus::SUCCESS);
    let result = read.result().unwrap();
    assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 8));
    let now = state(&handle);
    assert_eq!((now.in_d0, now.d0_entries, now.transfers), (1, 2, 1));
    let lines = toaster_lines(&io);
    assert!(lines.iter().any(|l| l == "[toaster] D0 exit to D3"));
    assert!(lines.iter().any(|l| l == "[toaster] D0 entry from D3"));
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn debug_level_in_the_registry_decides_what_the_driver_prints() {
    let io = IoManager::new();
    wdf_safe::set_driver_parameter(&io, "toaster", "DebugLevel", RegistryValue::Dword(0));
    let node = load(&io);
    let handle = io.open(INTERFACE).unwrap();
    assert_eq!(handle.read(4).status, NtStatus::SUCCESS);
    assert_eq!(state(&handle).debug_level, 0);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(toaster_lines(&io), Vec::<String>::new());

    // The default prints every request.
    let io = IoManager::new();
    let node = load(&io);
    let handle = io.open(INTERFACE).unwrap();
    assert_eq!(handle.read(4).status, NtStatus::SUCCESS);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(toaster_lines(&io).contains(&"[toaster] read of 4 bytes".to_string()));
}

#[test]
fn a_surprise_removal_stops_the_toaster_and_fails_what_comes_after() {
    let io = IoManager::new();
    let node = load(&io);
    let handle = node.open().unwrap();
    assert_eq!(node.surprise_remove(), NtStatus::SUCCESS);
    let lines = toaster_lines(&io);
    let at = |text: &str| lines.iter().position(|l| l.contains(text)).unwrap();
    assert!(at("surprise removal") < at("D0 exit to D3Final"));
    assert!(at("D0 exit to D3Final") < at("hardware released"));
    // The queue was purged: a read on the handle still open fails; the interface is gone.
    assert!(handle.read(4).status.is_error());
    assert!(io.open(INTERFACE).is_err());
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(
        toaster_lines(&io)
            .iter()
            .any(|l| l == "[toaster] device gone")
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn two_toasters_each_keep_their_own_state_in_their_device_context() {
    let io = IoManager::new();
    let drivers = drivers(&io);
    let first = toaster_node(&io, drivers, r"\Device\ToasterPdo1").unwrap();
    let second = toaster_node(&io, drivers, r"\Device\ToasterPdo2").unwrap();
    let (one, two) = (first.open().unwrap(), second.open().unwrap());
    assert_eq!(one.read(3).status, NtStatus::SUCCESS);
    assert_eq!(one.write(b"jam").status, NtStatus::SUCCESS);
    assert_eq!(node_state_transfers(&one, &two), (2, 0));
    // The first toaster's system sleeps; the second stays in D0.
    assert_eq!(first.set_system_power(3), NtStatus::SUCCESS);
    assert_eq!(state(&two).in_d0, 1);
    assert_eq!(first.set_system_power(0), NtStatus::SUCCESS);
    assert_eq!((state(&one).d0_entries, state(&two).d0_entries), (2, 1));
    // Each has its own interface path.
    assert!(io.open(INTERFACE).is_ok());
    assert!(
        io.open(r"\\.\WdfSafeInterface1#{781EF630-72B2-11D2-B852-00C04FAD5171}")
            .is_ok()
    );
    assert_eq!(one.close(), NtStatus::SUCCESS);
    assert_eq!(two.close(), NtStatus::SUCCESS);
    assert_eq!(first.remove(), NtStatus::SUCCESS);
    assert_eq!(second.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

fn node_state_transfers(one: &FileHandle, two: &FileHandle) -> (u32, u32) {
    (state(one).transfers, state(two).transfers)
}

#[test]
fn run_sample_toaster_passes_and_shows_the_power_callbacks() {
    let outcome = host_tests::scenario::toaster();
    assert!(outcome.passed, "{outcome:#?}");
    for line in [
        "[toaster] D0 exit to D3",
        "[toaster] D0 entry from D3",
        "[toaster] hardware released",
    ] {
        assert!(
            outcome.trace.iter().any(|l| l == line),
            "{line}: {:#?}",
            outcome.trace
        );
    }
}
