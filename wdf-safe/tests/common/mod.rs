//! What several of the host test files share: the IOCTL codes, a device interface class, a
//! PnP function driver answering the echo IOCTL, the bus under it, a device context, and the
//! scripted bus and started device node the PnP tests are built on.
#![allow(dead_code, reason = "each test file uses part of it")]

use std::sync::{Arc, Mutex};

use wdf_safe::kind::{DeviceControl, InternalDeviceControl};
use wdf_safe::{
    DriverContext, FdoInit, Guid, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone, SpinLock,
};
use wdm_compat::host::{
    DeviceNode, DeviceNodeConfig, DriverId, IoManager, ScriptedDriver, flags, major,
};
use wdm_compat::kd_print;

pub(crate) const fn ioctl(function: u32) -> u32 {
    (0x8000 << 16) | (function << 2)
}
pub(crate) const IOCTL_ECHO: u32 = ioctl(0x900);
/// A device interface class of the tests' own.
pub(crate) const INTERFACE: Guid = Guid {
    data1: 0x5f3c_1a2b,
    data2: 0x7d4e,
    data3: 0x4a9f,
    data4: [0x8b, 0x16, 0x2c, 0x0d, 0xe1, 0x73, 0x9a, 0x44],
};
pub(crate) const INTERFACE_PATH: &str =
    r"\\.\WdfSafeInterface0#{5F3C1A2B-7D4E-4A9F-8B16-2C0DE1739A44}";
pub(crate) const IOCTL_PARK: u32 = ioctl(0x901);

/// The device's context: how many IOCTLs it saw.
pub(crate) struct Stats {
    pub(crate) ioctls: std::sync::atomic::AtomicU32,
}
wdf_safe::declare_context_type!(Stats);

/// A PnP function driver: one device per device node, a parallel default queue answering the
/// echo IOCTL; reads are not handled.
pub(crate) struct Function {
    events: Arc<Mutex<Vec<String>>>,
}

pub(crate) fn function_ioctl<'r>(
    function: &Function,
    request: Request<'r, DeviceControl>,
) -> RequestDone<'r> {
    function
        .events
        .lock()
        .unwrap()
        .push(format!("ioctl {:#x}", request.ioctl_code().to_raw()));
    if request.ioctl_code().to_raw() == IOCTL_PARK {
        // Sending while holding a spin lock: the verifier objects.
        let lock = SpinLock::new(());
        let _guard = lock.lock();
        let target = request.default_io_target().unwrap();
        return match request.send_and_forget(&target) {
            Ok(done) => done,
            Err((request, status)) => request.complete(status),
        };
    }
    request.complete_with(|request| {
        let value: u32 = request.read_input()?;
        request.write_output(&(value + 1))
    })
}

pub(crate) fn function_internal<'r>(
    _function: &Function,
    request: Request<'r, InternalDeviceControl>,
) -> RequestDone<'r> {
    request.complete(NtStatus::NOT_SUPPORTED)
}

impl KmdfDriver for Function {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self {
            events: Arc::default(),
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        self.events.lock().unwrap().push("device add".into());
        init.set_io_type(wdm_compat::IoType::Direct);
        init.set_device_type(0x22);
        init.set_characteristics(0x1, true);
        init.set_exclusive(true);
        let device = init.create().map_err(|(_, status)| status)?;
        kd_print!("function: init settings {:?}", device.init_settings());
        device.create_default_queue(
            QueueConfig::<wdf_safe::kind::Parallel, _>::parallel()
                .on_device_control(function_ioctl)
                .on_internal_device_control(function_internal),
        )?;
        device.on_cleanup(|function| {
            function
                .events
                .lock()
                .unwrap()
                .push("device cleanup".into())
        })?;
        device.create_device_interface(&INTERFACE)?;
        Ok(())
    }
}

pub(crate) fn bus() -> ScriptedDriver {
    ScriptedDriver::new().succeeding(&[
        major::CREATE,
        major::CLEANUP,
        major::CLOSE,
        major::PNP,
        major::DEVICE_CONTROL,
    ])
}

/// A bus whose PDO succeeds create, cleanup, close, PnP and power: the start of the scripted
/// buses of the PnP tests, which add their own IOCTL answers.
pub(crate) fn pnp_bus() -> ScriptedDriver {
    ScriptedDriver::new().succeeding(&[
        major::CREATE,
        major::CLEANUP,
        major::CLOSE,
        major::PNP,
        major::POWER,
    ])
}

/// A device node `pdo_name` on `bus` with `driver` above it (a buffered PDO of type 0x22),
/// started.
pub(crate) fn started_node(
    io: &IoManager,
    bus: DriverId,
    driver: DriverId,
    pdo_name: &'static str,
) -> DeviceNode {
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name,
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[driver],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    node
}
