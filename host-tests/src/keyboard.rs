//! A simulated PS/2 keyboard stack, the one kbfiltr's INF puts it in: the keyboard class
//! driver (kbdclass) on top, the driver under test as its lower filter (an upper filter of the
//! keyboard device class), the port driver (i8042prt) below, over a bus PDO.
//!
//! Keystrokes travel as they do on Windows, not in IRPs: once the stack has started, the class
//! driver sends `IOCTL_INTERNAL_KEYBOARD_CONNECT` down with its `CONNECT_DATA` (its device
//! object and class service callback); the port driver keeps the connection it receives, and
//! [`KeyboardClassStack::press`] has it call the callback at DISPATCH_LEVEL, as its interrupt's
//! DPC does. A filter that hooked the connect is called instead, and calls the class driver.
//!
//! The class and port drivers are scripted (closures over the simulation's kernel calls); the
//! callbacks themselves are the simulated framework's keyboard contract
//! ([`kmdf_sim::keyboard`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use kmdf_sim::keyboard::{
    ClassConnection, ClassSink, IOCTL_INTERNAL_KEYBOARD_CONNECT,
    IOCTL_INTERNAL_KEYBOARD_DISCONNECT, KeyboardInputData,
};
use wdm_compat::NtStatus;
use wdm_compat::host::{
    DeviceId, DeviceNode, DeviceNodeConfig, DriverEntry, DriverId, IoManager, IoResult, IrpId,
    IrpParameters, KernelCalls, ScriptedDriver, flags, major, pnp_minor,
};

/// `FILE_DEVICE_8042_PORT`: what i8042prt's devices are.
pub const FILE_DEVICE_8042_PORT: u32 = 0x27;
/// The PDO's name.
pub const PDO_NAME: &str = r"\Device\KeyboardPdo0";
/// The scan code of `A` (set 1), pressed.
pub const SCAN_A: u16 = 0x1E;
/// `IOCTL_KEYBOARD_QUERY_ATTRIBUTES`: `CTL_CODE(FILE_DEVICE_KEYBOARD, 0, METHOD_BUFFERED,
/// FILE_ANY_ACCESS)`, which kbdclass sends its port (internal) once connected.
pub const IOCTL_KEYBOARD_QUERY_ATTRIBUTES: u32 = 0x000B_0000;
/// What the simulated i8042prt answers: a `KEYBOARD_ATTRIBUTES` (28 bytes on x64) of an
/// enhanced 101/102-key keyboard — `KeyboardIdentifier` {Type 4, Subtype 0}, `KeyboardMode` 1,
/// 12 function keys, 3 indicators, 101 keys, an input queue of 100, typematic 2–30 per second
/// with delays of 250–1000 ms.
pub const ATTRIBUTES: [u8; 28] = [
    4, 0, 1, 0, 12, 0, 3, 0, 101, 0, 0, 0, 100, 0, 0, 0, 0, 0, 2, 0, 250, 0, 0, 0, 30, 0, 232, 3,
];

/// The port driver's connection: the `CONNECT_DATA` it was given, if any.
type Connected = Arc<Mutex<Option<ClassConnection>>>;

/// A keyboard device node with the driver under test between the class and port drivers.
pub struct KeyboardClassStack {
    io: IoManager,
    node: DeviceNode,
    port: DriverId,
    connected: Connected,
    sink: Arc<ClassSink>,
    class: DriverId,
    below_class: DeviceId,
    connect: IoResult,
    attributes: IoResult,
}

impl KeyboardClassStack {
    /// Loads the bus, port and class drivers and `filter` (as service `service`), builds and
    /// starts the node (PDO ← port ← filter ← class), then has the class driver connect, as
    /// kbdclass does once its device has started.
    ///
    /// # Errors
    ///
    /// Whatever status loading a driver, adding a device or starting the stack failed with.
    /// A failed connect is not an error: [`connect_result`](Self::connect_result) tells.
    pub fn build(
        io: &IoManager,
        service: &str,
        filter: DriverEntry,
    ) -> Result<(Self, DriverId), NtStatus> {
        let connected = Connected::default();
        let bus = io.load_driver("kbdbus", bus_driver())?;
        let port = io.load_driver("i8042prt", port_driver(connected.clone()))?;
        let filter = io.load_driver(service, filter)?;
        let lowers: Arc<Mutex<HashMap<DeviceId, DeviceId>>> = Arc::default();
        let class = io.load_driver("kbdclass", class_driver(lowers.clone()))?;
        let node = io.create_device_node(&DeviceNodeConfig {
            pdo_name: PDO_NAME,
            bus,
            device_type: FILE_DEVICE_8042_PORT,
            pdo_flags: flags::DO_BUFFERED_IO | flags::DO_POWER_PAGABLE,
            drivers: &[port, filter, class],
            interface_link: None,
        })?;
        let started = node.start();
        if !started.is_success() {
            return Err(started);
        }
        let sink = ClassSink::new();
        let below_class = lowers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .next()
            .copied()
            .ok_or(NtStatus::NO_SUCH_DEVICE)?;
        let connect = io.kernel_as(class).send_ioctl(
            below_class,
            true,
            IOCTL_INTERNAL_KEYBOARD_CONNECT,
            &sink.connection().to_bytes(),
            0,
        );
        // Then, as kbdclass, what the keyboard is.
        let attributes = io.kernel_as(class).send_ioctl(
            below_class,
            true,
            IOCTL_KEYBOARD_QUERY_ATTRIBUTES,
            &[],
            ATTRIBUTES.len(),
        );
        Ok((
            Self {
                io: io.clone(),
                node,
                port,
                connected,
                sink,
                class,
                below_class,
                connect,
                attributes,
            },
            filter,
        ))
    }

    /// Has the class driver send `code` (connect or disconnect) down again, with its own
    /// `CONNECT_DATA`, as kbdclass would; what came back.
    #[must_use]
    pub fn class_sends(&self, code: u32) -> IoResult {
        self.io.kernel_as(self.class).send_ioctl(
            self.below_class,
            true,
            code,
            &self.sink.connection().to_bytes(),
            0,
        )
    }

    /// The device node.
    #[must_use]
    pub const fn node(&self) -> &DeviceNode {
        &self.node
    }

    /// How the class driver's connect ended.
    #[must_use]
    pub const fn connect_result(&self) -> &IoResult {
        &self.connect
    }

    /// What the class driver's `IOCTL_KEYBOARD_QUERY_ATTRIBUTES` (sent after the connect)
    /// came back with.
    #[must_use]
    pub const fn attributes_result(&self) -> &IoResult {
        &self.attributes
    }

    /// Whether the port driver's connection calls the class driver directly (no filter hooked
    /// the connect).
    #[must_use]
    pub fn port_calls_class_directly(&self) -> bool {
        *self
            .connected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            == Some(self.sink.connection())
    }

    /// The port driver's interrupt DPC: calls the connection's service callback with `keys`
    /// at DISPATCH_LEVEL. Returns how many the callback consumed; `None` when the port has no
    /// connection (or one naming a routine the simulation does not know).
    #[must_use]
    pub fn press(&self, keys: &[KeyboardInputData]) -> Option<u32> {
        let connection = (*self
            .connected
            .lock()
            .unwrap_or_else(PoisonError::into_inner))?;
        let kernel = self.io.kernel_as(self.port);
        kernel.as_driver(|| {
            let old = kernel.raise_irql(2);
            let consumed = connection.deliver(&self.io, keys);
            kernel.lower_irql(old);
            consumed
        })
    }

    /// What the class driver received through its service callback, in order.
    #[must_use]
    pub fn class_received(&self) -> Vec<KeyboardInputData> {
        self.sink.received()
    }
}

/// A key press and release of `make_code`, as i8042prt reports them.
#[must_use]
pub const fn key_stroke(make_code: u16) -> [KeyboardInputData; 2] {
    [
        KeyboardInputData {
            unit_id: 0,
            make_code,
            flags: 0,
            reserved: 0,
            extra_information: 0,
        },
        KeyboardInputData {
            unit_id: 0,
            make_code,
            flags: 1,
            reserved: 0,
            extra_information: 0,
        },
    ]
}

fn succeed(k: &KernelCalls, _device: DeviceId, irp: IrpId) -> NtStatus {
    k.complete(irp, NtStatus::SUCCESS, 0);
    NtStatus::SUCCESS
}

/// The bus driver: its PDO completes create/cleanup/close and PnP IRPs with success.
fn bus_driver() -> ScriptedDriver {
    ScriptedDriver::new()
        .on(major::CREATE, succeed)
        .on(major::CLEANUP, succeed)
        .on(major::CLOSE, succeed)
        .on(major::PNP, succeed)
}

/// A function or class driver that attaches over `pdo`'s stack and remembers the device
/// below each of its devices.
fn attach(k: &KernelCalls, pdo: DeviceId, lowers: &Mutex<HashMap<DeviceId, DeviceId>>) -> NtStatus {
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
    lowers
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(device, lower);
    NtStatus::SUCCESS
}

/// PnP passes down; removal detaches and deletes after passing down.
fn pass_pnp(
    k: &KernelCalls,
    device: DeviceId,
    irp: IrpId,
    lowers: &Mutex<HashMap<DeviceId, DeviceId>>,
) -> NtStatus {
    let minor = k.minor(irp);
    let lower = lowers
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&device)
        .copied();
    let Some(lower) = lower else {
        return succeed(k, device, irp);
    };
    k.skip_current_location(irp);
    let status = k.call_driver(irp, lower);
    if minor == pnp_minor::REMOVE_DEVICE {
        k.detach(lower);
        k.delete_device(device);
    }
    status
}

/// i8042prt, as far as the class contract goes: the connect is accepted once (a second is
/// `STATUS_SHARING_VIOLATION`), its `CONNECT_DATA` kept; disconnect is not implemented.
fn port_driver(connected: Connected) -> ScriptedDriver {
    let lowers: Arc<Mutex<HashMap<DeviceId, DeviceId>>> = Arc::default();
    let add_lowers = lowers.clone();
    ScriptedDriver::new()
        .on_add_device(move |k, pdo| attach(k, pdo, &add_lowers))
        .on(major::CREATE, succeed)
        .on(major::CLEANUP, succeed)
        .on(major::CLOSE, succeed)
        .on(major::INTERNAL_DEVICE_CONTROL, move |k, _device, irp| {
            let code = match k.parameters(irp) {
                IrpParameters::DeviceControl { code, .. } => code,
                _ => 0,
            };
            let status = match code {
                IOCTL_INTERNAL_KEYBOARD_CONNECT => {
                    let mut slot = connected.lock().unwrap_or_else(PoisonError::into_inner);
                    match ClassConnection::from_bytes(&k.system_buffer(irp)) {
                        _ if slot.is_some() => NtStatus::SHARING_VIOLATION,
                        Some(connection) => {
                            *slot = Some(connection);
                            NtStatus::SUCCESS
                        }
                        None => NtStatus::INVALID_PARAMETER,
                    }
                }
                IOCTL_INTERNAL_KEYBOARD_DISCONNECT => NtStatus::NOT_IMPLEMENTED,
                IOCTL_KEYBOARD_QUERY_ATTRIBUTES => {
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
                    return status;
                }
                _ => NtStatus::INVALID_DEVICE_REQUEST,
            };
            k.complete(irp, status, 0);
            status
        })
        .on(major::PNP, move |k, device, irp| {
            pass_pnp(k, device, irp, &lowers)
        })
}

/// kbdclass, as far as this stack needs: it attaches on top and passes PnP down; its connect
/// is sent by [`KeyboardClassStack::build`] once the stack has started.
fn class_driver(lowers: Arc<Mutex<HashMap<DeviceId, DeviceId>>>) -> ScriptedDriver {
    let add_lowers = lowers.clone();
    ScriptedDriver::new()
        .on_add_device(move |k, pdo| attach(k, pdo, &add_lowers))
        .on(major::CREATE, succeed)
        .on(major::CLEANUP, succeed)
        .on(major::CLOSE, succeed)
        .on(major::PNP, move |k, device, irp| {
            pass_pnp(k, device, irp, &lowers)
        })
}
