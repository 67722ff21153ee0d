//! Handles a driver keeps past its device's removal, and a failing `DriverEntry`: what is left
//! behind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::Mutex;

use common::{Stats, bus, ioctl};
use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, Manual};
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, Queue,
    QueueConfig, Request, RequestDone,
};
use wdm_compat::host::{DeviceNodeConfig, IoManager, flags};
use wdm_compat::kd_print;

/// A device the keeper keeps, with its manual queue.
type Kept = (Device<Keeper, Ready>, Queue<Manual>);

/// A PnP driver that keeps every device (and its manual queue and I/O target) in its state,
/// past the device's removal, and uses them from another device's requests.
#[derive(Default)]
struct Keeper {
    kept: Mutex<Vec<Kept>>,
    targets: Mutex<Vec<wdf_safe::IoTarget>>,
}

const IOCTL_KEEP_TARGET: u32 = ioctl(0x920);
const IOCTL_FORWARD_TO_FIRST: u32 = ioctl(0x921);
const IOCTL_USE_FIRST: u32 = ioctl(0x922);

fn keeper_ioctl<'r>(keeper: &Keeper, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let first = keeper.kept.lock().unwrap().first().copied();
    let Some((device, queue)) = first else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    match request.ioctl_code().to_raw() {
        IOCTL_KEEP_TARGET => {
            let target = request.default_io_target().unwrap();
            kd_print!("keeper: kept {target:?}");
            keeper.targets.lock().unwrap().push(target);
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_FORWARD_TO_FIRST => match request.forward_to_queue(&queue) {
            Ok(done) => done,
            Err((request, status)) => {
                kd_print!("keeper: forward to the first device: {status}");
                request.complete(status)
            }
        },
        IOCTL_USE_FIRST => {
            kd_print!(
                "keeper: retrieve from the removed device: {}",
                device.retrieve_next_request(&queue).err().unwrap()
            );
            kd_print!(
                "keeper: queue on the removed device: {}",
                device
                    .create_queue(QueueConfig::<Manual, Keeper>::manual())
                    .err()
                    .unwrap()
            );
            device.purge_queue(&queue);
            let target = keeper.targets.lock().unwrap()[0];
            match request.send_and_forget(&target) {
                Ok(done) => done,
                Err((request, status)) => {
                    kd_print!("keeper: send to the removed device's target: {status}");
                    request.complete(status)
                }
            }
        }
        _ => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

impl KmdfDriver for Keeper {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self::default())
    }

    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let device = init.create().map_err(|(_, status)| status)?;
        device.create_default_queue(QueueConfig::parallel().on_device_control(keeper_ioctl))?;
        let queue = device.create_queue(QueueConfig::manual())?;
        let device = device.ready();
        self.kept.lock().unwrap().push((device, queue));
        Ok(())
    }
}

#[test]
fn handles_kept_past_a_removal_fail_cleanly_and_forwards_stay_on_their_device() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let keeper = io
        .load_driver("keeper", wdf_safe::entry_point::<Keeper>())
        .unwrap();
    let node = |name| {
        let node = io
            .create_device_node(&DeviceNodeConfig {
                pdo_name: name,
                bus,
                device_type: 0x22,
                pdo_flags: flags::DO_BUFFERED_IO,
                drivers: &[keeper],
                interface_link: None,
            })
            .unwrap();
        assert_eq!(node.start(), NtStatus::SUCCESS);
        node
    };
    let first = node(r"\Device\KeptPdo1");
    let second = node(r"\Device\KeptPdo2");
    let first_handle = first.open().unwrap();
    assert_eq!(
        first_handle
            .device_io_control(IOCTL_KEEP_TARGET, &[], 0)
            .status,
        NtStatus::SUCCESS
    );
    drop(first_handle);
    let handle = second.open().unwrap();
    // A forward to another device's queue is refused (KMDF's verifier would break on it).
    let forward = handle.device_io_control(IOCTL_FORWARD_TO_FIRST, &[], 0);
    assert_eq!(forward.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(first.remove(), NtStatus::SUCCESS);
    // The first device is gone: what the driver kept of it says so, and nothing is reached.
    let used = handle.device_io_control(IOCTL_USE_FIRST, &[], 0);
    assert_eq!(used.status, NtStatus::INVALID_DEVICE_STATE);
    let trace = io.trace();
    for line in [
        "keeper: forward to the first device: STATUS_INVALID_DEVICE_REQUEST",
        "keeper: retrieve from the removed device: STATUS_INVALID_DEVICE_STATE",
        "keeper: queue on the removed device: STATUS_INVALID_DEVICE_STATE",
        "keeper: send to the removed device's target: STATUS_INVALID_DEVICE_STATE",
    ] {
        assert!(trace.iter().any(|l| l == line), "{line} not in {trace:#?}");
    }
    assert!(
        trace
            .iter()
            .any(|l| l.starts_with("keeper: kept IoTarget("))
    );
    drop(handle);
    assert_eq!(second.remove(), NtStatus::SUCCESS);
    io.unload_driver(keeper).unwrap();
}

/// A driver whose `DriverEntry` fails after creating a control device.
struct FailingEntry;

impl KmdfDriver for FailingEntry {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Failing")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        // Device cleanup callbacks take the driver, which never came to be: they do not run.
        device.on_cleanup(|_| kd_print!("failing entry: device cleanup"))?;
        device.allocate_context(
            || Stats {
                ioctls: std::sync::atomic::AtomicU32::new(0),
            },
            Some(|_: &Stats| kd_print!("failing entry: context cleanup")),
        )?;
        Err(NtStatus::INSUFFICIENT_RESOURCES)
    }
}

#[test]
fn a_failing_driver_entry_leaves_nothing_behind() {
    let io = IoManager::new();
    assert_eq!(
        io.load_driver("failing", wdf_safe::entry_point::<FailingEntry>())
            .err(),
        Some(NtStatus::INSUFFICIENT_RESOURCES)
    );
    // KMDF's stub deletes the WDFDRIVER and its devices (cleanup runs, EvtDriverUnload does
    // not), so the name is free again.
    assert_eq!(io.trace(), ["failing entry: context cleanup"]);
    assert!(io.device_by_name(r"\Device\Failing").is_none());
    assert_eq!(
        io.load_driver("again", wdf_safe::entry_point::<FailingEntry>())
            .err(),
        Some(NtStatus::INSUFFICIENT_RESOURCES)
    );
}
