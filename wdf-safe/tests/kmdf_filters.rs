//! PnP upper filters on the simulated KMDF: what they pass down and send, what a failing
//! `EvtDriverDeviceAdd` leaves of the stack, the settings a device keeps, and a KMDF filter over a
//! KMDF function driver.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use common::{Function, IOCTL_ECHO, bus};
use wdf_safe::kind::DeviceControl;
use wdf_safe::{
    DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request, RequestDone,
};
use wdm_compat::host::{DeviceNodeConfig, IoManager, ScriptedDriver, flags, major};
use wdm_compat::kd_print;

/// A PnP upper filter: it sends device controls down with a completion routine and leaves
/// everything else to the framework, which passes it down.
struct Filter;

fn filter_ioctl<'r>(_filter: &Filter, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    kd_print!("filter: ioctl {:#x}", request.ioctl_code().to_raw());
    let Some(target) = request.default_io_target() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    match request.send_observed::<Filter>(&target) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

impl KmdfDriver for Filter {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        device.create_default_queue(QueueConfig::parallel().on_device_control(filter_ioctl))?;
        Ok(())
    }

    fn on_sent_request_completed(&self, completion: &wdm_compat::io::Completion) {
        kd_print!(
            "filter: lower completed with {} ({} bytes)",
            completion.status,
            completion.information
        );
    }
}

/// A filter whose `EvtDriverDeviceAdd` creates its device and then fails.
struct FailingFilter;

impl KmdfDriver for FailingFilter {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        device.on_cleanup(|_| kd_print!("failing filter: device cleanup"))?;
        Err(NtStatus::INSUFFICIENT_RESOURCES)
    }
}

/// A filter whose `EvtDriverDeviceAdd` fails before creating its device (it marked the init
/// as a filter's first, as kbfiltr does).
struct EarlyFailingFilter;

impl KmdfDriver for EarlyFailingFilter {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        Err(NtStatus::INSUFFICIENT_RESOURCES)
    }
}

/// The same failure in a function driver.
struct FailingFunction;

impl KmdfDriver for FailingFunction {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let device = init.create().map_err(|(_, status)| status)?;
        device.on_cleanup(|_| kd_print!("failing function: device cleanup"))?;
        Err(NtStatus::INSUFFICIENT_RESOURCES)
    }
}

/// A bus driver that answers reads with 2 bytes and device controls with 0.
fn reading_bus() -> ScriptedDriver {
    bus()
        .on(major::READ, |k, _d, irp| {
            k.complete(irp, NtStatus::SUCCESS, 2);
            NtStatus::SUCCESS
        })
        .on(major::INTERNAL_DEVICE_CONTROL, |k, _d, irp| {
            k.complete(irp, NtStatus::NOT_SUPPORTED, 0);
            NtStatus::NOT_SUPPORTED
        })
}

fn node_with(
    io: &IoManager,
    name: &'static str,
    driver: wdm_compat::host::DriverId,
) -> wdm_compat::host::DeviceNode {
    let bus = io.load_driver("bus", reading_bus()).unwrap();
    common::started_node(io, bus, driver, name)
}

#[test]
fn a_filter_passes_unhandled_request_types_down_and_sends_what_it_handles() {
    let io = IoManager::new();
    let filter = io
        .load_driver("filter", wdf_safe::entry_point::<Filter>())
        .unwrap();
    let node = node_with(&io, r"\Device\FilteredPdo", filter);
    let handle = node.open().unwrap();
    // No read callback: passed down, the bus answers.
    let read = handle.read(4);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 2));
    // No internal-IOCTL callback: passed down too (a function driver would fail it).
    let internal = handle.internal_device_control(IOCTL_ECHO, &[], 0);
    assert_eq!(internal.status, NtStatus::NOT_SUPPORTED);
    // Device controls go through the filter's queue and down with a completion routine.
    let ioctl = handle.device_io_control(IOCTL_ECHO, &[1, 2, 3, 4], 4);
    assert_eq!(ioctl.status, NtStatus::SUCCESS);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(
        io.trace(),
        [
            "filter: ioctl 0x80002400",
            "filter: lower completed with STATUS_SUCCESS (0 bytes)",
        ]
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
}

#[test]
fn a_failing_filter_device_add_leaves_the_stack_working_and_cleans_up_its_device() {
    let io = IoManager::new();
    let filter = io
        .load_driver("failing-filter", wdf_safe::entry_point::<FailingFilter>())
        .unwrap();
    let node = node_with(&io, r"\Device\FailingFilterPdo", filter);
    assert_eq!(io.trace(), ["failing filter: device cleanup"]);
    let handle = node.open().unwrap();
    let read = handle.read(4);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 2));
    let ioctl = handle.device_io_control(IOCTL_ECHO, &[0; 4], 4);
    assert_eq!(ioctl.status, NtStatus::SUCCESS);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    // Cleanup ran once, at the failure.
    assert_eq!(io.trace(), ["failing filter: device cleanup"]);
}

#[test]
fn a_filter_failing_before_its_device_exists_still_leaves_the_stack_working() {
    // KMDF turns a filter's failed AddDevice into success ("We do not let filters affect the
    // building of the rest of the stack", shared/core/km/fxdriverkm.cpp), which it knows from
    // WdfFdoInitSetFilter having been called on the init: so `set_filter` must call it at once.
    let io = IoManager::new();
    let filter = io
        .load_driver(
            "early-filter",
            wdf_safe::entry_point::<EarlyFailingFilter>(),
        )
        .unwrap();
    let node = node_with(&io, r"\Device\EarlyFailingFilterPdo", filter);
    let handle = node.open().unwrap();
    let read = handle.read(4);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 2));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
}

#[test]
fn a_failing_function_device_add_fails_the_device_node() {
    let io = IoManager::new();
    let function = io
        .load_driver(
            "failing-function",
            wdf_safe::entry_point::<FailingFunction>(),
        )
        .unwrap();
    let bus = io.load_driver("bus", reading_bus()).unwrap();
    let node = io.create_device_node(&DeviceNodeConfig {
        pdo_name: r"\Device\FailingFunctionPdo",
        bus,
        device_type: 0x22,
        pdo_flags: flags::DO_BUFFERED_IO,
        drivers: &[function],
        interface_link: None,
    });
    assert_eq!(node.err(), Some(NtStatus::INSUFFICIENT_RESOURCES));
    assert_eq!(io.trace(), ["failing function: device cleanup"]);
}

#[test]
fn fdo_init_settings_are_kept_by_the_device() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let function = io
        .load_driver("function", wdf_safe::entry_point::<Function>())
        .unwrap();
    let _node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\FunctionPdo3",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[function],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(
        io.trace(),
        [
            "function: init settings InitSettings { io_type: Direct, device_type: 34, \
          characteristics: 257, exclusive: true }"
        ]
    );
}

#[test]
fn a_kmdf_filter_over_a_kmdf_function_driver_shares_one_framework_with_it() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let function = io
        .load_driver("function", wdf_safe::entry_point::<Function>())
        .unwrap();
    let filter = io
        .load_driver("filter", wdf_safe::entry_point::<Filter>())
        .unwrap();
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\StackedPdo",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[function, filter],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let handle = node.open().unwrap();
    // The filter's queue sends the IOCTL down with a completion routine; the function driver's
    // queue (the same framework, another driver image) answers it.
    let echo = handle.device_io_control(IOCTL_ECHO, &41u32.to_le_bytes(), 4);
    assert_eq!(
        (echo.status, echo.data.as_slice()),
        (NtStatus::SUCCESS, &42u32.to_le_bytes()[..])
    );
    assert_eq!(
        io.trace(),
        [
            "function: init settings InitSettings { io_type: Direct, device_type: 34, \
          characteristics: 257, exclusive: true }",
            "filter: ioctl 0x80002400",
            "filter: lower completed with STATUS_SUCCESS (4 bytes)",
        ]
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    io.unload_driver(filter).unwrap();
    io.unload_driver(function).unwrap();
}
