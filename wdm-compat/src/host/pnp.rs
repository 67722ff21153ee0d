//! Enough of the PnP manager for function and filter drivers: device nodes over a PDO,
//! `AddDevice`, start, surprise removal and removal.

use std::format;
use std::string::String;
use std::vec::Vec;

use super::manager::{AddDevice, IoManager, IrpSpec, Transfer};
use super::user::{FileHandle, IoResult};
use super::verifier::{Report, ViolationSeverity};
use super::{DeviceId, DriverId, major, pnp_minor};
use crate::status::NtStatus;
use crate::sys::{
    self, DO_BUFFERED_IO, DO_DEVICE_INITIALIZING, DO_DIRECT_IO, DO_POWER_PAGABLE, Mode, Params,
};

/// How to build a device node ([`IoManager::create_device_node`]).
#[derive(Clone, Debug)]
pub struct DeviceNodeConfig<'a> {
    /// The PDO's name, e.g. `\Device\00000042`; the node can be opened by it.
    pub pdo_name: &'a str,
    /// The bus driver that owns the PDO (it answers the PnP IRPs that reach the bottom).
    pub bus: DriverId,
    /// The PDO's `DeviceType`.
    pub device_type: u32,
    /// Flags the bus driver set on the PDO (`DO_BUFFERED_IO`, `DO_DIRECT_IO`,
    /// `DO_POWER_PAGABLE`).
    pub pdo_flags: u32,
    /// The drivers whose `AddDevice` is called, in order: the function driver, then the upper
    /// filters. (Lower filters are simply listed before the function driver.)
    pub drivers: &'a [DriverId],
    /// A device-interface-like symbolic link to the PDO (e.g. `\??\HID#VID_1234#1`), opened from
    /// user mode as `\\.\HID#VID_1234#1`.
    pub interface_link: Option<&'a str>,
}

/// A device node: a PDO and the devices attached over it.
#[derive(Debug, Clone)]
pub struct DeviceNode {
    manager: IoManager,
    pdo: DeviceId,
    pdo_name: String,
    interface_link: Option<String>,
}

impl IoManager {
    /// Sends a PnP or power IRP to the top of the stack `device` is in, as the PnP and power
    /// managers do: from kernel mode, with no buffers, and with `STATUS_NOT_SUPPORTED` as its
    /// status until a driver handles it.
    pub(in crate::host) fn send_system_irp(
        &self,
        device: DeviceId,
        major: u8,
        minor: u8,
        params: Params,
    ) -> IoResult {
        let top = self.top_of_stack(device);
        self.send_sync(
            top,
            IrpSpec {
                major,
                minor,
                params,
                mode: Mode::Kernel,
                system: Vec::new(),
                mdl: Vec::new(),
                transfer: Transfer::None,
                user_output: Vec::new(),
                user_addresses: (0, 0),
                initial_status: NtStatus::NOT_SUPPORTED,
            },
        )
    }

    /// Builds a device node the way the PnP manager does after a bus driver reported a new
    /// child: the PDO (created as the bus driver's device, ready for I/O), then each driver's
    /// `AddDevice(driver, pdo)` in order. After each `AddDevice` the verifier checks the device
    /// it attached: `DO_DEVICE_INITIALIZING` cleared (0xC9/0x243), buffering flags inherited
    /// (0x244), not both set (0x245), `DeviceType` inherited (0x246), `DO_POWER_PAGABLE`
    /// inherited (0x23F). The node is not started: call [`DeviceNode::start`].
    ///
    /// # Errors
    ///
    /// The status of a failing `IoCreateDevice` or `AddDevice`;
    /// `STATUS_INVALID_DEVICE_REQUEST` for a driver with no `AddDevice`.
    pub fn create_device_node(
        &self,
        config: &DeviceNodeConfig<'_>,
    ) -> Result<DeviceNode, NtStatus> {
        let result = self.create_device_node_inner(config);
        self.check_strict();
        result
    }

    fn create_device_node_inner(
        &self,
        config: &DeviceNodeConfig<'_>,
    ) -> Result<DeviceNode, NtStatus> {
        let pdo =
            self.create_device(config.bus, Some(config.pdo_name), config.device_type, false)?;
        self.update_device_flags(pdo, config.pdo_flags, DO_DEVICE_INITIALIZING);
        for &driver in config.drivers {
            let Some((routine, driver_obj)) = self.add_device_routine(driver) else {
                return Err(NtStatus::INVALID_DEVICE_REQUEST);
            };
            let below = self.top_of_stack(pdo);
            let status = match routine {
                AddDevice::Native(f) => {
                    let Some(pdo_obj) = self.device_obj(pdo) else {
                        return Err(NtStatus::NO_SUCH_DEVICE);
                    };
                    let _guard = super::irql::enter(self, Some(driver));
                    NtStatus::from_raw(sys::host::call_add_device(f, driver_obj, pdo_obj))
                }
                AddDevice::Scripted(f) => self
                    .run_script(Some(driver), |k| f(k, pdo))
                    .unwrap_or(NtStatus::DRIVER_INTERNAL_ERROR),
            };
            if status.to_raw() < 0 {
                return Err(status);
            }
            let top = self.top_of_stack(pdo);
            if top != below {
                self.check_attached(driver, top, below);
            }
        }
        if let Some(link) = config.interface_link {
            self.add_link(link, config.pdo_name)?;
        }
        Ok(DeviceNode {
            manager: self.clone(),
            pdo,
            pdo_name: config.pdo_name.into(),
            interface_link: config.interface_link.map(Into::into),
        })
    }

    /// Removes the device node over `pdo` (at shutdown, for nodes a test left in place).
    pub(in crate::host) fn remove_node(&self, pdo: DeviceId) {
        let node = DeviceNode {
            manager: self.clone(),
            pdo,
            pdo_name: String::new(),
            interface_link: None,
        };
        let _ = node.remove();
    }

    /// The checks on a device `AddDevice` attached over `below`.
    fn check_attached(&self, driver: DriverId, device: DeviceId, below: DeviceId) {
        let (Some(dev), Some(low)) = (self.device_info(device), self.device_info(below)) else {
            return;
        };
        let label = dev
            .name
            .clone()
            .unwrap_or_else(|| format!("device #{}", device.0));
        let report = |subcode: usize, message: String| {
            self.push_report(
                Report::io(
                    subcode,
                    Some("AddDevice"),
                    ViolationSeverity::Fatal,
                    message,
                )
                .at(Some(driver), None),
            );
        };
        if dev.flags & DO_DEVICE_INITIALIZING != 0 {
            report(
                0x243,
                format!("AddDevice returned with DO_DEVICE_INITIALIZING still set on {label}"),
            );
        }
        let buffering = DO_BUFFERED_IO | DO_DIRECT_IO;
        if dev.flags & buffering == buffering {
            report(
                0x245,
                format!("{label} has both DO_BUFFERED_IO and DO_DIRECT_IO set"),
            );
        } else if low.flags & buffering != 0 && dev.flags & buffering == 0 {
            report(
                0x244,
                format!("{label} did not copy DO_BUFFERED_IO / DO_DIRECT_IO from the device below"),
            );
        }
        if dev.device_type != low.device_type {
            report(
                0x246,
                format!(
                    "{label} has DeviceType 0x{:X}, not the 0x{:X} of the device below",
                    dev.device_type, low.device_type
                ),
            );
        }
        if low.flags & DO_POWER_PAGABLE != 0 && dev.flags & DO_POWER_PAGABLE == 0 {
            report(0x23F, format!("{label} did not inherit DO_POWER_PAGABLE"));
        }
    }
}

impl DeviceNode {
    /// The PDO.
    #[must_use]
    pub const fn pdo(&self) -> DeviceId {
        self.pdo
    }

    /// The device at the top of the node's stack.
    #[must_use]
    pub fn top(&self) -> DeviceId {
        self.manager.top_of_stack(self.pdo)
    }

    /// The devices of the stack, from the PDO up.
    #[must_use]
    pub fn stack(&self) -> Vec<DeviceId> {
        self.manager.stack_chain(self.pdo)
    }

    /// Opens the node by its PDO's name (requests go to the top of the stack).
    ///
    /// # Errors
    ///
    /// As [`IoManager::open`].
    pub fn open(&self) -> Result<FileHandle, NtStatus> {
        self.manager.open(&self.pdo_name)
    }

    fn send_pnp(&self, minor: u8) -> IoResult {
        self.manager
            .send_system_irp(self.pdo, major::PNP, minor, Params::Other)
    }

    /// Sends a device set-power request (`IRP_MJ_POWER` / `IRP_MN_SET_POWER`, `DevicePowerState`)
    /// for D-state `d` (0 for D0 … 3 for D3) down the stack, as the power manager does; returns
    /// its final status. Power IRPs arrive with `STATUS_NOT_SUPPORTED` and each driver passes
    /// them down; the bus driver completes them.
    pub fn set_device_power(&self, d: u8) -> NtStatus {
        // `DevicePowerState` is 1; `PowerDeviceD0` is 1.
        let params = Params::Power {
            kind: 1,
            state: u32::from(d) + 1,
        };
        let status = self
            .manager
            .send_system_irp(
                self.pdo,
                major::POWER,
                super::power_minor::SET_POWER,
                params,
            )
            .status;
        self.manager.check_strict();
        status
    }

    /// Sends a system set-power request (`IRP_MJ_POWER` / `IRP_MN_SET_POWER`,
    /// `SystemPowerState`) for S-state `s` (0 for S0, the working state, … 3 for sleep, 4 for
    /// hibernate, 5 for shutdown) down the stack, as the power manager does when the system
    /// sleeps or wakes; returns its final status. The device's power policy owner answers it
    /// by requesting the device power state it maps to ([`KernelCalls::request_device_power`](super::KernelCalls::request_device_power)).
    pub fn set_system_power(&self, s: u8) -> NtStatus {
        // `SystemPowerState` is 0; `PowerSystemWorking` is 1.
        let params = Params::Power {
            kind: 0,
            state: u32::from(s) + 1,
        };
        let status = self
            .manager
            .send_system_irp(
                self.pdo,
                major::POWER,
                super::power_minor::SET_POWER,
                params,
            )
            .status;
        self.manager.check_strict();
        status
    }

    /// A resource rebalance's stop, as the PnP manager sends it: `IRP_MN_QUERY_STOP_DEVICE`,
    /// then (when every driver agreed) `IRP_MN_STOP_DEVICE`. [`start`](Self::start) starts the
    /// device again, with its new resources. Returns the query's failure, else the stop's
    /// status.
    pub fn stop_for_rebalance(&self) -> NtStatus {
        let query = self.send_pnp(pnp_minor::QUERY_STOP_DEVICE).status;
        if query.is_error() {
            return query;
        }
        let status = self.send_pnp(pnp_minor::STOP_DEVICE).status;
        self.manager.check_strict();
        status
    }

    /// Sends `IRP_MN_START_DEVICE` down the stack; returns its final status.
    pub fn start(&self) -> NtStatus {
        let status = self.send_pnp(pnp_minor::START_DEVICE).status;
        self.manager.check_strict();
        status
    }

    /// Sends `IRP_MN_SURPRISE_REMOVAL` down the stack; returns its final status. While it is
    /// in flight, detaching or deleting a device of the node is reported (0xC9/0x241, 0x242).
    pub fn surprise_remove(&self) -> NtStatus {
        let chain = self.manager.stack_chain(self.pdo);
        self.manager.set_surprise_removing(&chain, true);
        let bus = self.manager.device_driver(self.pdo);
        let status = self.send_pnp(pnp_minor::SURPRISE_REMOVAL).status;
        self.manager.set_surprise_removing(&chain, false);
        if status.is_error() {
            // The device is gone whatever the drivers answer: a surprise removal cannot fail.
            let rule = removal_failure_rule(status, "NsRemoveLockMnSurpriseRemove");
            self.manager.push_report(
                Report {
                    rule: Some(rule),
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver: None,
                    major: None,
                    message: format!(
                        "IRP_MN_SURPRISE_REMOVAL completed with the failure status {status}"
                    ),
                }
                .at(bus, Some(major::PNP)),
            );
        }
        self.manager.check_strict();
        status
    }

    /// Sends `IRP_MN_REMOVE_DEVICE` down the stack and returns its final status; then checks
    /// that every device above the PDO detached (0xC9/0x21D) and deleted itself (0x21E), and
    /// that the IRP did not fail (0x306). The interface link is removed.
    pub fn remove(&self) -> NtStatus {
        let chain = self.manager.stack_chain(self.pdo);
        let bus = self.manager.device_driver(self.pdo);
        let status = self.send_pnp(pnp_minor::REMOVE_DEVICE).status;
        for device in chain.iter().skip(1) {
            let Some(info) = self.manager.device_info(*device) else {
                continue;
            };
            let label = info
                .name
                .clone()
                .unwrap_or_else(|| format!("device #{}", device.0));
            if info.attached_to.is_some() {
                self.manager.push_report(
                    Report::io(
                        0x21D,
                        None,
                        ViolationSeverity::Fatal,
                        format!("after IRP_MN_REMOVE_DEVICE, {label} is still attached to the device below (IoDetachDevice missing)"),
                    )
                    .at(Some(info.driver), Some(major::PNP)),
                );
            }
            if !info.deleted {
                self.manager.push_report(
                    Report::io(
                        0x21E,
                        None,
                        ViolationSeverity::Fatal,
                        format!("after IRP_MN_REMOVE_DEVICE, {label} was not deleted (IoDeleteDevice missing)"),
                    )
                    .at(Some(info.driver), Some(major::PNP)),
                );
            }
        }
        if status.is_error() {
            let rule = removal_failure_rule(status, "NsRemoveLockMnRemove");
            self.manager.push_report(
                Report::io(
                    0x306,
                    Some(rule),
                    ViolationSeverity::NonFatal,
                    format!("IRP_MN_REMOVE_DEVICE completed with the failure status {status}"),
                )
                .at(bus, Some(major::PNP)),
            );
        }
        if let Some(link) = &self.interface_link {
            self.manager.delete_symbolic_link(link);
        }
        self.manager.check_strict();
        status
    }
}

/// The SDV rule a failed removal IRP breaks: "not supported" is what a driver that does not
/// handle the IRP at all answers (`not_handled`, an SDV NsRemoveLock… rule); any other failure
/// is SDV PnpRemove.
fn removal_failure_rule(status: NtStatus, not_handled: &'static str) -> &'static str {
    if status == NtStatus::NOT_SUPPORTED {
        not_handled
    } else {
        "PnpRemove"
    }
}
