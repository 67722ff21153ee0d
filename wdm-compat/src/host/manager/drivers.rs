//! Drivers: loading and unloading, and the driver object's fields.

use std::format;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use super::irps::Phase;
use super::objects::{AddDevice, Dispatch, DriverEntry, DriverObj, EntryKind, Unload};
use super::{IoManager, World};
use crate::host::irql;
use crate::host::scripted::KernelCalls;
use crate::host::verifier::{Report, ViolationSeverity};
use crate::host::{DeviceId, DriverId, IrpId, major};
use crate::status::NtStatus;
use crate::sys::{
    self, AddDeviceFn, DO_DEVICE_INITIALIZING, DispatchFn, MAJOR_FUNCTION_COUNT, UnloadFn,
};

/// What the simulation knows about a loaded (or once loaded) driver.
pub(super) struct DriverState {
    pub(super) name: String,
    pub(super) obj: &'static DriverObj,
    /// The major-function table (`DriverObject->MajorFunction`).
    pub(super) dispatch: Vec<Option<Dispatch>>,
    pub(super) unload: Option<Unload>,
    pub(super) add_device: Option<AddDevice>,
    /// The one pointer the safe layer keeps in the driver object (its driver instance).
    pub(super) context: usize,
    pub(super) loaded: bool,
    /// `DriverEntry` is running (devices it creates get `DO_DEVICE_INITIALIZING` cleared).
    pub(super) in_entry: bool,
    pub(super) scripted: bool,
}

impl IoManager {
    /// Loads a driver: makes a fresh driver object and calls its entry point at PASSIVE_LEVEL.
    ///
    /// As Windows does, the I/O manager then clears `DO_DEVICE_INITIALIZING` on the devices
    /// `DriverEntry` created. If the entry point fails, the driver object is torn down (its
    /// unload routine is not called) and every device it left behind is reported and deleted.
    ///
    /// # Errors
    ///
    /// The status `DriverEntry` failed with.
    pub fn load_driver(
        &self,
        service_name: &str,
        entry: impl Into<DriverEntry>,
    ) -> Result<DriverId, NtStatus> {
        let entry = entry.into();
        let (id, obj) = self.with_world(|w| {
            let id = DriverId(w.drivers.len());
            let obj = DriverObj::leak(self, id);
            let mut dispatch = Vec::new();
            dispatch.resize(MAJOR_FUNCTION_COUNT, None);
            w.drivers.push(DriverState {
                name: service_name.to_string(),
                obj,
                dispatch,
                unload: None,
                add_device: None,
                context: 0,
                loaded: true,
                in_entry: true,
                scripted: matches!(entry.0, EntryKind::Scripted(_)),
            });
            (id, obj)
        });
        let status = match entry.0 {
            EntryKind::Native(f) => {
                let _guard = irql::enter(self, Some(id));
                NtStatus::from_raw(sys::host::call_driver_entry(f, obj))
            }
            EntryKind::Scripted(script) => {
                self.with_world(|w| {
                    if let Some(driver) = w.drivers.get_mut(id.0) {
                        for (major, f) in &script.dispatch {
                            if let Some(slot) = driver.dispatch.get_mut(usize::from(*major)) {
                                *slot = Some(Dispatch::Scripted(f.clone()));
                            }
                        }
                        driver.unload = script.unload.clone().map(Unload::Scripted);
                        driver.add_device = script.add_device.clone().map(AddDevice::Scripted);
                    }
                });
                match &script.entry {
                    Some(entry) => self
                        .run_script(Some(id), |k| entry(k))
                        .unwrap_or(NtStatus::DRIVER_INTERNAL_ERROR),
                    None => NtStatus::SUCCESS,
                }
            }
        };
        let result = self.with_world(|w| {
            if let Some(driver) = w.drivers.get_mut(id.0) {
                driver.in_entry = false;
            }
            if status.is_success() || status.is_information() || status.is_warning() {
                for device in w.devices.iter_mut().filter(|d| d.driver == id) {
                    if device.created_in_entry {
                        device.flags &= !DO_DEVICE_INITIALIZING;
                    }
                }
                return Ok(id);
            }
            if let Some(driver) = w.drivers.get_mut(id.0) {
                driver.loaded = false;
            }
            let left: Vec<DeviceId> = (0..w.devices.len())
                .map(DeviceId)
                .filter(|d| w.device(*d).is_some_and(|s| s.driver == id && !s.deleted))
                .collect();
            for device in left {
                let label = w.device_label(device);
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver: Some(id),
                    major: None,
                    message: format!(
                        "DriverEntry failed with {status} but left {label} behind; a failing DriverEntry must delete what it created"
                    ),
                });
                w.remove_device_from_world(device);
            }
            Err(status)
        });
        self.check_strict();
        result
    }

    /// Unloads a driver: calls its `DriverUnload`, then checks that it cleaned up: every
    /// device it created is deleted, no symbolic link points at them, and no IRP is still
    /// outstanding in it (bug check 0xCE, DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` when the driver set no unload routine (Windows cannot
    /// unload such a driver), `STATUS_INVALID_PARAMETER` when it is not loaded.
    pub fn unload_driver(&self, driver: DriverId) -> Result<(), NtStatus> {
        let found = self.with_world(|w| {
            let state = w.drivers.get(driver.0).filter(|d| d.loaded);
            match state {
                None => Err(NtStatus::INVALID_PARAMETER),
                Some(d) => match &d.unload {
                    None => Err(NtStatus::INVALID_DEVICE_REQUEST),
                    Some(unload) => Ok((unload.clone(), d.obj)),
                },
            }
        });
        let (unload, obj) = match found {
            Ok(found) => found,
            Err(status) => {
                self.check_strict();
                return Err(status);
            }
        };
        match unload {
            Unload::Native(f) => {
                let _guard = irql::enter(self, Some(driver));
                sys::host::call_unload(f, obj);
            }
            Unload::Scripted(f) => {
                self.run_script(Some(driver), |k| f(k));
            }
        }
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.loaded = false;
            }
            let devices: Vec<DeviceId> = (0..w.devices.len())
                .map(DeviceId)
                .filter(|d| w.device(*d).is_some_and(|s| s.driver == driver))
                .collect();
            for device in &devices {
                if w.device(*device).is_some_and(|d| !d.deleted) {
                    let label = w.device_label(*device);
                    w.push(Report {
                        rule: None,
                        bug_check: None,
                        severity: ViolationSeverity::NonFatal,
                        driver: Some(driver),
                        major: None,
                        message: format!(
                            "DriverUnload returned but {label} was not deleted (IoDeleteDevice)"
                        ),
                    });
                }
            }
            let dangling: Vec<String> = w
                .links
                .iter()
                .filter(|(_, target)| {
                    devices.iter().any(|d| {
                        w.device(*d).is_some_and(|s| {
                            s.name
                                .as_deref()
                                .is_some_and(|n| n.eq_ignore_ascii_case(target))
                        })
                    })
                })
                .map(|(link, _)| link.clone())
                .collect();
            for link in dangling {
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver: Some(driver),
                    major: None,
                    message: format!(
                        "DriverUnload returned but the symbolic link {link} still points at one of its devices (IoDeleteSymbolicLink)"
                    ),
                });
            }
            // Driver Verifier's pool tracking: bug check 0xC4/0x62 when a driver unloads with
            // pool it allocated still outstanding.
            let leaked: Vec<(u32, usize, usize)> = w
                .pool
                .iter()
                .filter(|((owner, _), (count, _))| *owner == Some(driver) && *count > 0)
                .map(|((_, tag), (count, bytes))| (*tag, *count, *bytes))
                .collect();
            if !leaked.is_empty() {
                let count: usize = leaked.iter().map(|(_, count, _)| count).sum();
                let bytes: usize = leaked.iter().map(|(_, _, bytes)| bytes).sum();
                let tags: Vec<String> = leaked
                    .iter()
                    .map(|(tag, count, bytes)| {
                        format!(
                            "'{}': {count} block(s), {bytes} bytes",
                            crate::pool::PoolTag::from_raw(*tag)
                        )
                    })
                    .collect();
                w.push(Report {
                    rule: None,
                    bug_check: Some((0xC4, [0x62, driver.0, count, bytes])),
                    severity: ViolationSeverity::Fatal,
                    driver: Some(driver),
                    major: None,
                    message: format!(
                        "the driver unloads with pool it allocated still outstanding ({})",
                        tags.join("; ")
                    ),
                });
            }
            let outstanding: Vec<(IrpId, u8)> = w
                .irps
                .iter()
                .filter(|(_, irp)| irp.phase == Phase::InProgress)
                .filter_map(|(id, irp)| {
                    let loc = irp.current_loc()?;
                    let owner = w.device_driver(loc.device)?;
                    (owner == driver).then_some((id, loc.major))
                })
                .collect();
            for (irp, code) in outstanding {
                w.push(Report {
                    rule: None,
                    bug_check: Some((0xCE, [0, 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver: Some(driver),
                    major: Some(code),
                    message: format!(
                        "DriverUnload returned while IRP #{} ({}) is still outstanding in the driver (leaked or never completed)",
                        irp.number(),
                        major::name(code)
                    ),
                });
            }
        });
        self.check_strict();
        Ok(())
    }

    /// The service name a driver was loaded with.
    #[must_use]
    pub fn driver_name(&self, driver: DriverId) -> Option<String> {
        self.with_world(|w| w.drivers.get(driver.0).map(|d| d.name.clone()))
    }

    /// Whether a driver is loaded.
    #[must_use]
    pub fn is_loaded(&self, driver: DriverId) -> bool {
        self.with_world(|w| w.drivers.get(driver.0).is_some_and(|d| d.loaded))
    }

    /// Raw kernel calls made as the test itself (for example, completing later an IRP a
    /// scripted driver kept). Unchecked by types, checked by the verifier.
    #[must_use]
    pub fn kernel(&self) -> KernelCalls {
        KernelCalls::new(self.clone(), None)
    }

    /// Raw kernel calls made on behalf of `driver` (for example, creating a device after
    /// `DriverEntry`, as a PnP or a worker-thread path would).
    #[must_use]
    pub fn kernel_as(&self, driver: DriverId) -> KernelCalls {
        KernelCalls::new(self.clone(), Some(driver))
    }

    // -----------------------------------------------------------------------------------------
    // Driver-object calls (from the seam and from scripted drivers).

    pub(crate) fn set_dispatch(&self, driver: DriverId, major: u8, f: DispatchFn) {
        self.with_world(|w| {
            if let Some(slot) = w
                .drivers
                .get_mut(driver.0)
                .and_then(|d| d.dispatch.get_mut(usize::from(major)))
            {
                *slot = Some(Dispatch::Native(f));
            }
        });
    }

    pub(crate) fn set_unload(&self, driver: DriverId, f: UnloadFn) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.unload = Some(Unload::Native(f));
            }
        });
    }

    pub(crate) fn set_add_device(&self, driver: DriverId, f: AddDeviceFn) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.add_device = Some(AddDevice::Native(f));
            }
        });
    }

    pub(in crate::host) fn clear_unload(&self, driver: DriverId) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.unload = None;
            }
        });
    }

    pub(in crate::host) fn clear_add_device(&self, driver: DriverId) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.add_device = None;
            }
        });
    }

    /// A kernel-mode library loaded once into this simulated system and shared by every driver
    /// that links to it (KMDF's `Wdf01000.sys` is one), created on first use. It lives as long
    /// as the simulation; it must not hold the `IoManager` itself.
    pub fn library<T: core::any::Any + Default + Send + Sync>(&self) -> Arc<T> {
        self.with_world(|w| {
            let found = w
                .libraries
                .iter()
                .find_map(|library| Arc::clone(library).downcast::<T>().ok());
            found.unwrap_or_else(|| {
                let library = Arc::new(T::default());
                w.libraries.push(library.clone());
                library
            })
        })
    }

    pub(crate) fn set_driver_context(&self, driver: DriverId, context: usize) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.context = context;
            }
        });
    }

    pub(crate) fn driver_context(&self, driver: DriverId) -> usize {
        self.with_world(|w| w.drivers.get(driver.0).map_or(0, |d| d.context))
    }

    pub(in crate::host) fn add_device_routine(
        &self,
        driver: DriverId,
    ) -> Option<(AddDevice, &'static DriverObj)> {
        self.with_world(|w| {
            let d = w.drivers.get(driver.0).filter(|d| d.loaded)?;
            Some((d.add_device.clone()?, d.obj))
        })
    }
}

impl World {
    pub(super) fn driver_name(&self, driver: Option<DriverId>) -> String {
        driver
            .and_then(|d| self.drivers.get(d.0))
            .map(|d| d.name.clone())
            .unwrap_or_default()
    }
}
