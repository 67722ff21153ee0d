//! A simulated HID keyboard stack for the filter sample: a bus driver that owns the PDO, and a
//! HID function driver over it that answers reads with input reports, the way a keyboard does:
//! a read waits (pending) until a key is pressed, then completes with an 8-byte boot-keyboard
//! report.
//!
//! Both are scripted drivers (plain closures over the simulation's C-like kernel calls), so the
//! driver under test is the only Rust-safe driver in the stack.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use wdm_compat::NtStatus;
use wdm_compat::host::{
    DeviceId, DeviceNode, DeviceNodeConfig, DriverEntry, DriverId, IoManager, IrpId, KernelCalls,
    ScriptedDriver, flags, major, pnp_minor,
};

/// `FILE_DEVICE_KEYBOARD`.
pub const FILE_DEVICE_KEYBOARD: u32 = 0x0b;
/// An internal IOCTL the function driver answers: "get the device attributes" (vendor and
/// product id, 2 bytes each). Shaped like `IOCTL_HID_GET_DEVICE_ATTRIBUTES`, but our own code, METHOD_BUFFERED.
pub const IOCTL_GET_ATTRIBUTES: u32 = (FILE_DEVICE_KEYBOARD << 16) | (0x100 << 2);
/// What [`IOCTL_GET_ATTRIBUTES`] returns: vendor 0x045E, product 0x0750, little-endian.
pub const ATTRIBUTES: [u8; 4] = [0x5E, 0x04, 0x50, 0x07];
/// The PDO's name.
pub const PDO_NAME: &str = r"\Device\HidKeyboardPdo";
/// The interface link user mode opens the keyboard through.
pub const INTERFACE_LINK: &str = r"\??\HID#VID_045E&PID_0750#1";
/// The user-mode path of [`INTERFACE_LINK`].
pub const USER_PATH: &str = r"\\.\HID#VID_045E&PID_0750#1";
/// The size of a boot-keyboard input report.
pub const REPORT_LENGTH: usize = 8;

/// The boot-keyboard report for a key with usage `usage` and no modifiers.
#[must_use]
pub const fn key_report(usage: u8) -> [u8; REPORT_LENGTH] {
    [0, 0, usage, 0, 0, 0, 0, 0]
}

/// Reads waiting for a key press.
type Waiting = Arc<Mutex<VecDeque<IrpId>>>;

/// A keyboard device node with a driver under test attached over the function driver.
pub struct KeyboardStack {
    io: IoManager,
    node: DeviceNode,
    waiting: Waiting,
    function_driver: DriverId,
}

impl KeyboardStack {
    /// Loads the bus and HID function drivers and the driver under test (`filter`), then builds
    /// and starts the device node: PDO ← function device ← filter device.
    ///
    /// # Errors
    ///
    /// Whatever status loading a driver, adding a device or starting the stack failed with.
    pub fn build(io: &IoManager, filter: DriverEntry) -> Result<(Self, DriverId), NtStatus> {
        let waiting = Waiting::default();
        let bus = io.load_driver("hidbus", bus_driver())?;
        let function_driver = io.load_driver("kbdhid", function_driver(waiting.clone()))?;
        let filter = io.load_driver("filter", filter)?;
        let node = io.create_device_node(&DeviceNodeConfig {
            pdo_name: PDO_NAME,
            bus,
            device_type: FILE_DEVICE_KEYBOARD,
            pdo_flags: flags::DO_BUFFERED_IO | flags::DO_POWER_PAGABLE,
            drivers: &[function_driver, filter],
            interface_link: Some(INTERFACE_LINK),
        })?;
        let started = node.start();
        if !started.is_success() {
            return Err(started);
        }
        Ok((
            Self {
                io: io.clone(),
                node,
                waiting,
                function_driver,
            },
            filter,
        ))
    }

    /// The device node.
    #[must_use]
    pub const fn node(&self) -> &DeviceNode {
        &self.node
    }

    /// The function driver's id.
    #[must_use]
    pub const fn function_driver(&self) -> DriverId {
        self.function_driver
    }

    /// Reads waiting in the function driver for a key press.
    #[must_use]
    pub fn waiting_reads(&self) -> usize {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Presses a key: completes the oldest waiting read with `report` (as many bytes as the read
    /// asked for, at most [`REPORT_LENGTH`]). Returns `false` when no read was waiting.
    #[must_use]
    pub fn press(&self, report: [u8; REPORT_LENGTH]) -> bool {
        let irp = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        let Some(irp) = irp else { return false };
        let kernel = self.io.kernel_as(self.function_driver);
        // Off the list, so a cancel routine already running leaves it alone; no new one runs.
        let _ = kernel.clear_cancel_routine(irp);
        let length = match kernel.parameters(irp) {
            wdm_compat::host::IrpParameters::Read { length, .. } => {
                usize::try_from(length).unwrap_or(0).min(REPORT_LENGTH)
            }
            _ => 0,
        };
        let written = report
            .get(..length)
            .map_or(Err(NtStatus::INTERNAL_ERROR), |bytes| {
                kernel.write_system_buffer(irp, 0, bytes)
            });
        match written {
            Ok(()) => kernel.complete(irp, NtStatus::SUCCESS, length),
            Err(status) => kernel.complete(irp, status, 0),
        }
        true
    }
}

/// The bus driver: its PDO completes create/cleanup/close and PnP IRPs with success.
fn bus_driver() -> ScriptedDriver {
    let succeed = |k: &KernelCalls, _device: DeviceId, irp: IrpId| {
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    };
    ScriptedDriver::new()
        .on(major::CREATE, succeed)
        .on(major::CLEANUP, succeed)
        .on(major::CLOSE, succeed)
        .on(major::PNP, succeed)
}

/// The HID function driver: attaches over the PDO; reads pend until [`KeyboardStack::press`];
/// [`IOCTL_GET_ATTRIBUTES`] is answered at once; PnP passes down, and removal detaches and
/// deletes after passing down.
fn function_driver(waiting: Waiting) -> ScriptedDriver {
    let lowers: Arc<Mutex<HashMap<DeviceId, DeviceId>>> = Arc::default();
    let add_lowers = lowers.clone();
    let pnp_lowers = lowers;
    let succeed = |k: &KernelCalls, _device: DeviceId, irp: IrpId| {
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
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
            k.set_flags(
                device,
                k.flags(lower) & (flags::DO_BUFFERED_IO | flags::DO_POWER_PAGABLE),
            );
            k.clear_flags(device, flags::DO_DEVICE_INITIALIZING);
            add_lowers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(device, lower);
            NtStatus::SUCCESS
        })
        .on(major::CREATE, succeed)
        .on(major::CLEANUP, succeed)
        .on(major::CLOSE, succeed)
        .on(major::READ, move |k, _device, irp| {
            k.mark_pending(irp);
            waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_back(irp);
            // Cancelable while it waits, as kbdhid's reads are: the routine takes it off the
            // list and completes it (unless a key press took it first).
            let queue = waiting.clone();
            k.set_cancel_routine(irp, move |k, _device, irp| {
                k.release_cancel_lock(irp);
                let mut list = queue.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(position) = list.iter().position(|&waiting| waiting == irp) {
                    list.remove(position);
                    drop(list);
                    k.complete(irp, NtStatus::CANCELLED, 0);
                }
            });
            NtStatus::PENDING.status()
        })
        .on(major::INTERNAL_DEVICE_CONTROL, |k, _device, irp| {
            let code = match k.parameters(irp) {
                wdm_compat::host::IrpParameters::DeviceControl { code, .. } => code,
                _ => 0,
            };
            if code != IOCTL_GET_ATTRIBUTES {
                k.complete(irp, NtStatus::INVALID_DEVICE_REQUEST, 0);
                return NtStatus::INVALID_DEVICE_REQUEST;
            }
            let status = match k.write_system_buffer(irp, 0, &ATTRIBUTES) {
                Ok(()) => NtStatus::SUCCESS,
                Err(status) => status,
            };
            let information = if status.is_success() {
                ATTRIBUTES.len()
            } else {
                0
            };
            k.complete(irp, status, information);
            status
        })
        .on(major::PNP, move |k, device, irp| {
            let minor = k.minor(irp);
            let lower = pnp_lowers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&device)
                .copied();
            let Some(lower) = lower else {
                k.complete(irp, NtStatus::SUCCESS, 0);
                return NtStatus::SUCCESS;
            };
            k.skip_current_location(irp);
            let status = k.call_driver(irp, lower);
            if minor == pnp_minor::REMOVE_DEVICE {
                k.detach(lower);
                k.delete_device(device);
            }
            status
        })
}
