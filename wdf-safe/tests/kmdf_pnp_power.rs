//! A PnP device's life as its driver sees it: the `EvtDevice*` PnP and power callbacks, in the
//! order KMDF calls them, for a start, a trip to D3 and back, a removal and a surprise
//! removal; and a start a callback fails.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::cell::RefCell;
use std::string::{String, ToString};
use std::vec::Vec;

use wdf_safe::kind::state::Ready;
use wdf_safe::pnp_power::{PnpPowerCallbacks, PowerState};
use wdf_safe::{Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus};
use wdm_compat::host::{DeviceNode, DeviceNodeConfig, IoManager, ScriptedDriver, flags, major};

// The simulated framework calls the callbacks on the thread that sent the IRP, so each test
// has its own log, and its own callback to fail.
std::thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static FAIL: RefCell<Option<&'static str>> = const { RefCell::new(None) };
}

fn record(line: String) {
    LOG.with(|log| log.borrow_mut().push(line));
}

/// The callbacks since the last call.
fn take() -> Vec<String> {
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

/// Makes the callback `name` fail with `STATUS_DEVICE_NOT_READY`.
fn fail(name: &'static str) {
    FAIL.with(|fail| *fail.borrow_mut() = Some(name));
}

/// Records every callback; fails the one [`fail`] names.
struct Life;

impl Life {
    fn event(&self, name: &'static str) -> NtResult {
        record(name.to_string());
        if FAIL.with(|fail| *fail.borrow() == Some(name)) {
            return Err(NtStatus::DEVICE_NOT_READY);
        }
        Ok(())
    }
}

fn prepare(life: &Life, _: Device<Life, Ready>) -> NtResult {
    life.event("prepare hardware")
}
fn release(life: &Life, _: Device<Life, Ready>) -> NtResult {
    life.event("release hardware")
}
fn d0_entry(life: &Life, _: Device<Life, Ready>, from: PowerState) -> NtResult {
    record(format!("D0 entry from {from:?}"));
    life.event("D0 entry")
}
fn d0_exit(life: &Life, _: Device<Life, Ready>, to: PowerState) -> NtResult {
    let _ = life;
    record(format!("D0 exit to {to:?}"));
    Ok(())
}
fn io_init(life: &Life, _: Device<Life, Ready>) -> NtResult {
    life.event("self-managed I/O init")
}
fn io_suspend(life: &Life, _: Device<Life, Ready>) -> NtResult {
    life.event("self-managed I/O suspend")
}
fn io_restart(life: &Life, _: Device<Life, Ready>) -> NtResult {
    life.event("self-managed I/O restart")
}
fn io_flush(life: &Life, _: Device<Life, Ready>) {
    let _ = life.event("self-managed I/O flush");
}
fn io_cleanup(life: &Life, _: Device<Life, Ready>) {
    let _ = life.event("self-managed I/O cleanup");
}
fn surprise(life: &Life, _: Device<Life, Ready>) {
    let _ = life.event("surprise removal");
}
fn device_cleanup(life: &Life) {
    let _ = life.event("device cleanup");
}

impl KmdfDriver for Life {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_pnp_power_callbacks(
            PnpPowerCallbacks::new()
                .on_prepare_hardware(prepare)
                .on_release_hardware(release)
                .on_d0_entry(d0_entry)
                .on_d0_exit(d0_exit)
                .on_self_managed_io_init(io_init)
                .on_self_managed_io_suspend(io_suspend)
                .on_self_managed_io_restart(io_restart)
                .on_self_managed_io_flush(io_flush)
                .on_self_managed_io_cleanup(io_cleanup)
                .on_surprise_removal(surprise),
        );
        let device = init.create().map_err(|(_, status)| status)?;
        device.on_cleanup(device_cleanup)?;
        record("device add".to_string());
        Ok(())
    }
}

fn bus() -> ScriptedDriver {
    ScriptedDriver::new().succeeding(&[major::PNP, major::POWER])
}

fn node(
    io: &IoManager,
    bus: wdm_compat::host::DriverId,
    driver: wdm_compat::host::DriverId,
) -> DeviceNode {
    io.create_device_node(&DeviceNodeConfig {
        pdo_name: r"\Device\LifePdo",
        bus,
        device_type: 0x22,
        pdo_flags: flags::DO_BUFFERED_IO,
        drivers: &[driver],
        interface_link: None,
    })
    .unwrap()
}

fn setup() -> (IoManager, DeviceNode) {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let driver = io
        .load_driver("life", wdf_safe::entry_point::<Life>())
        .unwrap();
    let node = node(&io, bus, driver);
    (io, node)
}

#[test]
fn a_start_prepares_the_hardware_enters_d0_and_starts_self_managed_io() {
    let (_io, node) = setup();
    assert_eq!(take(), ["device add"]);
    assert_eq!(node.start(), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        [
            "prepare hardware",
            "D0 entry from D3Final",
            "D0 entry",
            "self-managed I/O init"
        ]
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
}

#[test]
fn system_sleep_suspends_and_exits_d0_and_the_wake_restarts() {
    let (_io, node) = setup();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let _ = take();
    // S3: the framework, owning the device's power policy, requests D3.
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    assert_eq!(take(), ["self-managed I/O suspend", "D0 exit to D3"]);
    // Already in D3: nothing of the driver's runs.
    assert_eq!(node.set_system_power(4), NtStatus::SUCCESS);
    assert_eq!(take(), Vec::<String>::new());
    assert_eq!(node.set_system_power(0), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        ["D0 entry from D3", "D0 entry", "self-managed I/O restart"]
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
}

#[test]
fn at_shutdown_the_d0_exit_is_to_d3_final() {
    let (_io, node) = setup();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let _ = take();
    assert_eq!(node.set_system_power(5), NtStatus::SUCCESS);
    assert_eq!(take(), ["self-managed I/O suspend", "D0 exit to D3Final"]);
}

#[test]
fn a_removal_powers_down_releases_the_hardware_then_cleans_up() {
    let (_io, node) = setup();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let _ = take();
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        [
            "self-managed I/O suspend",
            "D0 exit to D3Final",
            "release hardware",
            "self-managed I/O flush",
            "self-managed I/O cleanup",
            "device cleanup"
        ]
    );
}

#[test]
fn a_removal_in_d3_has_no_d0_to_exit() {
    let (_io, node) = setup();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    let _ = take();
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        [
            "release hardware",
            "self-managed I/O flush",
            "self-managed I/O cleanup",
            "device cleanup"
        ]
    );
}

#[test]
fn a_surprise_removal_tells_the_driver_and_stops_the_device_before_the_removal() {
    let (_io, node) = setup();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let _ = take();
    assert_eq!(node.surprise_remove(), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        [
            "surprise removal",
            "self-managed I/O suspend",
            "D0 exit to D3Final",
            "release hardware",
            "self-managed I/O flush"
        ]
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(take(), ["self-managed I/O cleanup", "device cleanup"]);
}

#[test]
fn a_failed_prepare_hardware_still_releases_the_hardware_and_fails_the_start() {
    let (_io, node) = setup();
    fail("prepare hardware");
    assert_eq!(node.start(), NtStatus::DEVICE_NOT_READY);
    // KMDF calls EvtDeviceReleaseHardware even when preparing failed.
    assert_eq!(
        take(),
        ["device add", "prepare hardware", "release hardware"]
    );
    // The PnP manager removes a device whose start failed; nothing is left to undo.
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(take(), ["device cleanup"]);
}

#[test]
fn a_failed_d0_entry_has_no_d0_exit_releases_the_hardware_and_fails_the_start() {
    let (_io, node) = setup();
    fail("D0 entry");
    assert_eq!(node.start(), NtStatus::DEVICE_POWER_FAILURE);
    assert_eq!(
        take(),
        [
            "device add",
            "prepare hardware",
            "D0 entry from D3Final",
            "D0 entry",
            "release hardware"
        ]
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(take(), ["device cleanup"]);
}

#[test]
fn a_failed_self_managed_io_init_exits_d0_releases_flushes_and_fails_the_start() {
    let (_io, node) = setup();
    fail("self-managed I/O init");
    assert_eq!(node.start(), NtStatus::DEVICE_POWER_FAILURE);
    assert_eq!(
        take(),
        [
            "device add",
            "prepare hardware",
            "D0 entry from D3Final",
            "D0 entry",
            "self-managed I/O init",
            "D0 exit to D3Final",
            "release hardware",
            "self-managed I/O flush"
        ]
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(take(), ["self-managed I/O cleanup", "device cleanup"]);
}

#[test]
fn a_device_power_irp_the_framework_did_not_request_is_wdf_violation_multiple_ppo() {
    let (io, node) = setup();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let _ = take();
    io.set_strict(false);
    // A driver or test sending D3 straight to a KMDF power policy owner.
    let _ = node.set_device_power(3);
    let violations = io.violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(
        violations[0].bug_check.map(|b| (b.code, b.subcode())),
        Some((0x10D, 0xD))
    );
    assert_eq!(take(), Vec::<String>::new(), "the driver saw nothing of it");
}

/// A driver whose surprise-removal callback does what SDV forbids there: purges its queue,
/// and completes a request it retrieves.
struct Rude {
    waiting: wdf_safe::SpinLock<Option<wdf_safe::Queue<wdf_safe::kind::Manual>>>,
}

fn rude_surprise(rude: &Rude, device: Device<Rude, Ready>) {
    let Some(waiting) = *rude.waiting.lock() else {
        return;
    };
    if let Ok(request) = device.retrieve_next_request(&waiting) {
        let _done = request.complete_with_information(NtStatus::DEVICE_REMOVED, 0);
    }
    device.purge_queue(&waiting);
}

fn rude_read<'r>(
    rude: &Rude,
    request: wdf_safe::Request<'r, wdf_safe::kind::Read>,
) -> wdf_safe::RequestDone<'r> {
    let Some(waiting) = *rude.waiting.lock() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    match request.forward_to_queue(&waiting) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

impl KmdfDriver for Rude {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self {
            waiting: wdf_safe::SpinLock::new(None),
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_pnp_power_callbacks(PnpPowerCallbacks::new().on_surprise_removal(rude_surprise));
        let device = init.create().map_err(|(_, status)| status)?;
        device.create_default_queue(wdf_safe::QueueConfig::parallel().on_read(rude_read))?;
        *self.waiting.lock() = Some(device.create_queue(wdf_safe::QueueConfig::manual())?);
        Ok(())
    }
}

#[test]
fn completing_and_purging_from_surprise_removal_are_reported() {
    let io = IoManager::new();
    let bus = io
        .load_driver(
            "bus",
            ScriptedDriver::new().succeeding(&[
                major::CREATE,
                major::CLEANUP,
                major::CLOSE,
                major::PNP,
                major::POWER,
            ]),
        )
        .unwrap();
    let driver = io
        .load_driver("rude", wdf_safe::entry_point::<Rude>())
        .unwrap();
    let node = node(&io, bus, driver);
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let handle = node.open().unwrap();
    let read = handle.read_async(4).unwrap();
    assert!(!read.is_complete());
    io.set_strict(false);
    assert_eq!(node.surprise_remove(), NtStatus::SUCCESS);
    assert_eq!(read.result().unwrap().status, NtStatus::DEVICE_REMOVED);
    let rules: Vec<_> = io.take_violations().iter().filter_map(|v| v.rule).collect();
    assert_eq!(
        rules,
        [
            "EvtSurpriseRemoveNoRequestComplete",
            "EvtSurpriseRemoveNoSuspendQueue"
        ]
    );
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
}

#[test]
fn a_rebalance_stops_the_device_and_the_next_start_restarts_it() {
    let (_io, node) = setup();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let _ = take();
    // IRP_MN_QUERY_STOP_DEVICE then IRP_MN_STOP_DEVICE: out of D0, the hardware given back,
    // nothing cleaned up.
    assert_eq!(node.stop_for_rebalance(), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        [
            "self-managed I/O suspend",
            "D0 exit to D3Final",
            "release hardware"
        ]
    );
    // Started again with its new resources: the hardware prepared again, self-managed I/O
    // restarted (not initialised a second time).
    assert_eq!(node.start(), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        [
            "prepare hardware",
            "D0 entry from D3Final",
            "D0 entry",
            "self-managed I/O restart"
        ]
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
}
