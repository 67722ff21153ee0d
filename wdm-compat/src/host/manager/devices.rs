//! Device objects and device stacks: `IoCreateDevice`, `IoDeleteDevice`,
//! `IoAttachDeviceToDeviceStack`, `IoDetachDevice`, and what the user side checks when opening.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use super::objects::{DeviceObj, DriverObj};
use super::{IoManager, World};
use crate::host::irql::current_irql;
use crate::host::irql_level::{APC_LEVEL, DISPATCH_LEVEL, PASSIVE_LEVEL};
use crate::host::security::{Dacl, OpenOptions};
use crate::host::verifier::{Report, ViolationSeverity};
use crate::host::{DeviceId, DriverId, major};
use crate::status::NtStatus;
use crate::sys::DO_DEVICE_INITIALIZING;

/// What the simulation knows about a device object (kept after deletion, so ids stay valid).
pub(super) struct DeviceState {
    pub(super) obj: &'static DeviceObj,
    pub(super) driver: DriverId,
    pub(super) name: Option<String>,
    pub(super) device_type: u32,
    pub(super) exclusive: bool,
    pub(super) flags: u32,
    /// The one pointer the safe layer keeps in the device extension (its device record).
    pub(super) context: usize,
    pub(super) deleted: bool,
    /// The device it is attached over, and the one attached over it.
    pub(super) lower: Option<DeviceId>,
    pub(super) upper: Option<DeviceId>,
    pub(super) stack_size: usize,
    pub(super) open_count: usize,
    /// Created inside `DriverEntry`: the I/O manager clears `DO_DEVICE_INITIALIZING` after it.
    pub(super) created_in_entry: bool,
    /// `IRP_MN_SURPRISE_REMOVAL` is being handled (deleting or detaching then is a bug).
    pub(super) surprise_removing: bool,
    /// Who may open it (checked at `CreateFile`).
    pub(super) dacl: Dacl,
}

/// What a test can read about a device object ([`IoManager::device`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device's name (`\Device\X`), if it has one.
    pub name: Option<String>,
    /// The driver that created it.
    pub driver: DriverId,
    /// `DeviceType`.
    pub device_type: u32,
    /// `Flags` (`DO_*`).
    pub flags: u32,
    /// `StackSize`: how many stack locations an IRP sent to it needs.
    pub stack_size: usize,
    /// The device it is attached over (`AttachedTo` in the extension), if any.
    pub attached_to: Option<DeviceId>,
    /// The device attached over it (`AttachedDevice`), if any.
    pub attached_above: Option<DeviceId>,
    /// Whether `IoDeleteDevice` was called on it.
    pub deleted: bool,
}

impl IoManager {
    /// `IoCreateDevice`. PASSIVE_LEVEL only (SDV IrqlIoPassive1).
    pub(crate) fn create_device(
        &self,
        driver: DriverId,
        name: Option<&str>,
        device_type: u32,
        exclusive: bool,
    ) -> Result<DeviceId, NtStatus> {
        let irql = current_irql();
        self.with_world(|w| {
            if irql != PASSIVE_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoPassive1"),
                    bug_check: Some((0xC4, [0x0002_000A, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver: Some(driver),
                    major: None,
                    message: format!(
                        "IoCreateDevice called at IRQL {irql}; it requires PASSIVE_LEVEL"
                    ),
                });
            }
            let Some(state) = w.drivers.get(driver.0).filter(|d| d.loaded) else {
                return Err(NtStatus::INVALID_PARAMETER);
            };
            let in_entry = state.in_entry;
            if let Some(name) = name {
                if !name.starts_with('\\') || name.len() < 2 {
                    return Err(NtStatus::OBJECT_NAME_INVALID);
                }
                if w.find_device_by_name(name).is_some() {
                    return Err(NtStatus::OBJECT_NAME_COLLISION);
                }
            }
            let id = DeviceId(w.devices.len());
            let obj = DeviceObj::leak(self, id);
            w.devices.push(DeviceState {
                obj,
                driver,
                name: name.map(ToString::to_string),
                device_type,
                exclusive,
                flags: DO_DEVICE_INITIALIZING,
                context: 0,
                deleted: false,
                lower: None,
                upper: None,
                stack_size: 1,
                open_count: 0,
                created_in_entry: in_entry,
                surprise_removing: false,
                dacl: Dacl::io_create_device_default(),
            });
            Ok(id)
        })
    }

    pub(crate) fn device_obj(&self, device: DeviceId) -> Option<&'static DeviceObj> {
        self.with_world(|w| w.device(device).map(|d| d.obj))
    }

    pub(crate) fn driver_obj(&self, driver: DriverId) -> Option<&'static DriverObj> {
        self.with_world(|w| w.drivers.get(driver.0).map(|d| d.obj))
    }
}

impl IoManager {
    /// `IoDeleteDevice`.
    pub(crate) fn delete_device(&self, device: DeviceId) {
        let irql = current_irql();
        self.with_world(|w| {
            let Some(state) = w.device(device) else {
                return;
            };
            let driver = Some(state.driver);
            let label = w.device_label(device);
            if irql > APC_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoApcLte"),
                    bug_check: Some((0xC4, [0x0002_0009, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!("IoDeleteDevice({label}) at IRQL {irql}; it requires <= APC_LEVEL"),
                });
            }
            let Some((deleted, surprise_removing, lower)) = w
                .device(device)
                .map(|s| (s.deleted, s.surprise_removing, s.lower))
            else {
                return;
            };
            if deleted {
                w.push(
                    Report::io(
                        0x240,
                        None,
                        ViolationSeverity::Fatal,
                        format!("IoDeleteDevice({label}) on a device that was already deleted"),
                    )
                    .at(driver, None),
                );
                return;
            }
            if surprise_removing {
                w.push(
                    Report::io(
                        0x242,
                        Some("PnpSurpriseRemove"),
                        ViolationSeverity::Fatal,
                        format!("IoDeleteDevice({label}) while handling IRP_MN_SURPRISE_REMOVAL"),
                    )
                    .at(driver, Some(major::PNP)),
                );
            }
            if let Some(lower) = lower {
                let lower_label = w.device_label(lower);
                w.push(
                    Report::io(
                        0x201,
                        None,
                        ViolationSeverity::Fatal,
                        format!(
                            "IoDeleteDevice({label}) while it is still attached over {lower_label} (IoDetachDevice missing)"
                        ),
                    )
                    .at(driver, None),
                );
                if let Some(l) = w.device_mut(lower) {
                    l.upper = None;
                }
                if let Some(s) = w.device_mut(device) {
                    s.lower = None;
                }
            }
            if let Some(s) = w.device_mut(device) {
                s.deleted = true;
            }
        });
    }

    pub(in crate::host) fn device_info(&self, device: DeviceId) -> Option<DeviceInfo> {
        self.with_world(|w| {
            w.device(device).map(|d| DeviceInfo {
                name: d.name.clone(),
                driver: d.driver,
                device_type: d.device_type,
                flags: d.flags,
                stack_size: d.stack_size,
                attached_to: d.lower,
                attached_above: d.upper,
                deleted: d.deleted,
            })
        })
    }

    pub(crate) fn device_flags(&self, device: DeviceId) -> u32 {
        self.with_world(|w| w.device(device).map_or(0, |d| d.flags))
    }

    pub(crate) fn update_device_flags(&self, device: DeviceId, set: u32, clear: u32) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.flags = (d.flags | set) & !clear;
            }
        });
    }

    pub(crate) fn set_device_context(&self, device: DeviceId, context: usize) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.context = context;
            }
        });
    }

    /// Gives `device` the security descriptor `sddl` (what `IoCreateDeviceSecure` applies, and
    /// KMDF for a control device's `WdfControlDeviceInitAllocate` SDDL).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_PARAMETER` for SDDL the simulation cannot read (see
    /// `host/security.rs`); `STATUS_NO_SUCH_DEVICE` for an unknown device.
    pub(crate) fn set_device_security(&self, device: DeviceId, sddl: &str) -> Result<(), NtStatus> {
        let dacl = Dacl::parse(sddl)?;
        self.with_world(|w| {
            let state = w.device_mut(device).ok_or(NtStatus::NO_SUCH_DEVICE)?;
            state.dacl = dacl;
            Ok(())
        })
    }

    pub(crate) fn device_context(&self, device: DeviceId) -> usize {
        self.with_world(|w| w.device(device).map_or(0, |d| d.context))
    }

    pub(crate) fn set_device_type(&self, device: DeviceId, device_type: u32) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.device_type = device_type;
            }
        });
    }

    pub(crate) fn device_type(&self, device: DeviceId) -> u32 {
        self.with_world(|w| w.device(device).map_or(0, |d| d.device_type))
    }

    pub(crate) fn device_driver(&self, device: DeviceId) -> Option<DriverId> {
        self.with_world(|w| w.device(device).map(|d| d.driver))
    }

    /// `IoAttachDeviceToDeviceStack(device, target)`: attaches to the current top of
    /// `target`'s stack and returns that device.
    pub(crate) fn attach_device(&self, device: DeviceId, target: DeviceId) -> Option<DeviceId> {
        let irql = current_irql();
        self.with_world(|w| {
            let driver = w.device(device).map(|d| d.driver);
            if irql > DISPATCH_LEVEL {
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!(
                        "IoAttachDeviceToDeviceStack at IRQL {irql}; it requires <= DISPATCH_LEVEL"
                    ),
                });
            }
            let target_ok = w.device(target).is_some_and(|t| !t.deleted);
            if !target_ok {
                w.push(Report {
                    rule: Some("PnpSameDeviceObject"),
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver,
                    major: None,
                    message: "IoAttachDeviceToDeviceStack with a deleted or unknown target device"
                        .into(),
                });
                return None;
            }
            let state = w
                .device(device)
                .filter(|d| !d.deleted && d.lower.is_none())?;
            let _ = state;
            let top = w.top_of_stack(target);
            if top == device {
                return None;
            }
            let below = w.device(top).map_or(1, |d| d.stack_size);
            if let Some(t) = w.device_mut(top) {
                t.upper = Some(device);
            }
            if let Some(d) = w.device_mut(device) {
                d.lower = Some(top);
                d.stack_size = below + 1;
            }
            Some(top)
        })
    }

    /// `IoDetachDevice(lower)`.
    pub(crate) fn detach_device(&self, caller: Option<DeviceId>, lower: DeviceId) {
        let irql = current_irql();
        self.with_world(|w| {
            let upper = w.device(lower).and_then(|d| d.upper);
            let driver = w
                .device_driver(upper)
                .or_else(|| w.device_driver(caller));
            let label = w.device_label(lower);
            if irql != PASSIVE_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoPassive3"),
                    bug_check: Some((0xC4, [0x0002_000C, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!("IoDetachDevice({label}) at IRQL {irql}; it requires PASSIVE_LEVEL"),
                });
            }
            let Some(upper) = upper else {
                w.push(
                    Report::io(
                        0x202,
                        None,
                        ViolationSeverity::Fatal,
                        format!("IoDetachDevice({label}): no device is attached over it (detached twice?)"),
                    )
                    .at(driver, None),
                );
                return;
            };
            if w.device(upper).is_some_and(|d| d.surprise_removing) {
                w.push(
                    Report::io(
                        0x241,
                        Some("PnpSurpriseRemove"),
                        ViolationSeverity::Fatal,
                        format!("IoDetachDevice({label}) while handling IRP_MN_SURPRISE_REMOVAL"),
                    )
                    .at(driver, Some(major::PNP)),
                );
            }
            if let Some(l) = w.device_mut(lower) {
                l.upper = None;
            }
            if let Some(u) = w.device_mut(upper) {
                u.lower = None;
            }
        });
    }

    /// What a test can read about a device object.
    #[must_use]
    pub fn device(&self, device: DeviceId) -> Option<DeviceInfo> {
        self.device_info(device)
    }

    /// The devices a driver created (also deleted ones), oldest first.
    #[must_use]
    pub fn devices_of(&self, driver: DriverId) -> Vec<DeviceId> {
        self.with_world(|w| {
            (0..w.devices.len())
                .map(DeviceId)
                .filter(|d| w.device(*d).is_some_and(|s| s.driver == driver))
                .collect()
        })
    }

    /// The top of the stack `device` is in (`IoGetAttachedDevice`).
    #[must_use]
    pub fn top_of_stack(&self, device: DeviceId) -> DeviceId {
        self.with_world(|w| w.top_of_stack(device))
    }

    /// Checks the opened device like `IopCheckDeviceAndDriver` and returns the top of its stack,
    /// counting the open.
    pub(in crate::host) fn begin_open(
        &self,
        device: DeviceId,
        options: OpenOptions,
    ) -> Result<DeviceId, NtStatus> {
        self.with_world(|w| {
            let state = w.device(device).ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
            if state.deleted || state.flags & DO_DEVICE_INITIALIZING != 0 {
                return Err(NtStatus::NO_SUCH_DEVICE);
            }
            if !state.dacl.admits(options) {
                return Err(NtStatus::ACCESS_DENIED);
            }
            if !w.drivers.get(state.driver.0).is_some_and(|d| d.loaded) {
                return Err(NtStatus::NO_SUCH_DEVICE);
            }
            if state.exclusive && state.open_count > 0 {
                return Err(NtStatus::ACCESS_DENIED);
            }
            Ok(w.top_of_stack(device))
        })
    }

    pub(in crate::host) fn count_open(&self, device: DeviceId, delta: isize) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.open_count = d.open_count.saturating_add_signed(delta);
            }
        });
    }

    pub(in crate::host) fn device_usable(&self, device: DeviceId) -> bool {
        self.with_world(|w| {
            w.device(device).is_some_and(|d| {
                !d.deleted && w.drivers.get(d.driver.0).is_some_and(|drv| drv.loaded)
            })
        })
    }

    pub(in crate::host) fn set_surprise_removing(&self, devices: &[DeviceId], on: bool) {
        self.with_world(|w| {
            for d in devices {
                if let Some(s) = w.device_mut(*d) {
                    s.surprise_removing = on;
                }
            }
        });
    }

    /// The chain from `bottom` up to the top of its stack.
    pub(in crate::host) fn stack_chain(&self, bottom: DeviceId) -> Vec<DeviceId> {
        self.with_world(|w| {
            let mut chain = Vec::new();
            let mut cursor = Some(bottom);
            while let Some(d) = cursor {
                if chain.contains(&d) {
                    break;
                }
                chain.push(d);
                cursor = w.device(d).and_then(|s| s.upper);
            }
            chain
        })
    }
}

impl World {
    pub(super) fn device(&self, id: DeviceId) -> Option<&DeviceState> {
        self.devices.get(id.0)
    }

    pub(super) fn device_mut(&mut self, id: DeviceId) -> Option<&mut DeviceState> {
        self.devices.get_mut(id.0)
    }

    pub(super) fn device_driver(&self, id: Option<DeviceId>) -> Option<DriverId> {
        id.and_then(|d| self.device(d)).map(|d| d.driver)
    }

    pub(super) fn device_label(&self, id: DeviceId) -> String {
        match self.device(id).and_then(|d| d.name.clone()) {
            Some(name) => name,
            None => format!("device #{}", id.0),
        }
    }

    pub(super) fn top_of_stack(&self, mut id: DeviceId) -> DeviceId {
        let mut guard = 0usize;
        while let Some(up) = self.device(id).and_then(|d| d.upper) {
            id = up;
            guard += 1;
            if guard > self.devices.len() {
                break;
            }
        }
        id
    }

    pub(super) fn remove_device_from_world(&mut self, device: DeviceId) {
        let lower = self.device(device).and_then(|d| d.lower);
        let upper = self.device(device).and_then(|d| d.upper);
        if let Some(l) = lower.and_then(|l| self.device_mut(l)) {
            l.upper = None;
        }
        if let Some(u) = upper.and_then(|u| self.device_mut(u)) {
            u.lower = None;
        }
        if let Some(d) = self.device_mut(device) {
            d.deleted = true;
            d.lower = None;
            d.upper = None;
        }
    }
}
