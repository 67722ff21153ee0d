//! The object namespace: device names and symbolic links (`\DosDevices\X`, `\??\X` and
//! `\GLOBAL??\X` are one directory here, opened from user mode as `\\.\X`).

use std::format;
use std::string::{String, ToString};

use super::{IoManager, World};
use crate::host::DeviceId;
use crate::host::irql::current_irql;
use crate::host::irql_level::PASSIVE_LEVEL;
use crate::host::verifier::{Report, ViolationSeverity};
use crate::status::NtStatus;

/// Normalizes an object-manager link name: `\DosDevices\X`, `\??\X` and `\GLOBAL??\X` are the
/// same directory here. Returns the lowercase key.
pub(in crate::host) fn link_key(link: &str) -> String {
    for prefix in ["\\DosDevices\\", "\\??\\", "\\GLOBAL??\\", "\\\\.\\"] {
        if let Some(head) = link.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
            && let Some(rest) = link.get(prefix.len()..)
        {
            return format!("\\??\\{}", rest.to_lowercase());
        }
    }
    link.to_lowercase()
}

impl IoManager {
    /// `IoCreateSymbolicLink(link, name of device)`.
    pub(crate) fn create_symbolic_link(
        &self,
        device: DeviceId,
        link: &str,
    ) -> Result<(), NtStatus> {
        let irql = current_irql();
        self.with_world(|w| {
            let driver = w.device(device).map(|d| d.driver);
            if irql != PASSIVE_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoPassive3"),
                    bug_check: Some((0xC4, [0x0002_000C, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!(
                        "IoCreateSymbolicLink({link}) at IRQL {irql}; it requires PASSIVE_LEVEL"
                    ),
                });
            }
            let Some(name) = w
                .device(device)
                .filter(|d| !d.deleted)
                .and_then(|d| d.name.clone())
            else {
                return Err(NtStatus::OBJECT_NAME_INVALID);
            };
            let key = link_key(link);
            if w.links.contains_key(&key) {
                return Err(NtStatus::OBJECT_NAME_COLLISION);
            }
            w.links.insert(key, name);
            Ok(())
        })
    }

    /// `IoDeleteSymbolicLink(link)`; returns `STATUS_OBJECT_NAME_NOT_FOUND` for an unknown link.
    pub(crate) fn delete_symbolic_link(&self, link: &str) -> NtStatus {
        self.with_world(|w| {
            if w.links.remove(&link_key(link)).is_some() {
                NtStatus::SUCCESS
            } else {
                NtStatus::OBJECT_NAME_NOT_FOUND
            }
        })
    }

    /// Creates a symbolic link to a device by name, as the PnP manager does for a device
    /// interface (no IRQL check, no owning driver).
    pub(in crate::host) fn add_link(&self, link: &str, target_name: &str) -> Result<(), NtStatus> {
        self.with_world(|w| {
            let key = link_key(link);
            if w.links.contains_key(&key) {
                return Err(NtStatus::OBJECT_NAME_COLLISION);
            }
            w.links.insert(key, target_name.to_string());
            Ok(())
        })
    }

    /// The device a symbolic link or device name refers to (`\\.\X`, `\??\X`,
    /// `\DosDevices\X`, `\GLOBAL??\X`, or a device name such as `\Device\X`).
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_NOT_FOUND` when nothing by that name exists (or the link points at a
    /// deleted device).
    pub fn resolve(&self, path: &str) -> Result<DeviceId, NtStatus> {
        self.with_world(|w| {
            let key = link_key(path);
            let name = match w.links.get(&key) {
                Some(target) => target.clone(),
                None => path.to_string(),
            };
            w.find_device_by_name(&name)
                .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)
        })
    }

    /// The device named `name` (`\Device\X`), if it exists and is not deleted.
    #[must_use]
    pub fn device_by_name(&self, name: &str) -> Option<DeviceId> {
        self.with_world(|w| w.find_device_by_name(name))
    }
}

impl World {
    pub(super) fn find_device_by_name(&self, name: &str) -> Option<DeviceId> {
        self.devices
            .iter()
            .position(|d| {
                !d.deleted
                    && d.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(DeviceId)
    }
}
