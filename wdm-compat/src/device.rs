//! Device objects: creation, naming and teardown as guards that undo themselves.
//!
//! DriverEntry typically creates a device (`IoCreateDevice`), then a symbolic link to it
//! (`IoCreateSymbolicLink`); if a later step fails, the earlier ones must be undone in reverse
//! order, and unload must remove the link before deleting the device (Learn: "Introduction to
//! MS-DOS Device Names", "Writing an Unload Routine"). Here:
//!
//! * [`DriverSetup::create_device`](crate::DriverSetup::create_device) returns an
//!   [`OwnedDevice`], which deletes the device when dropped;
//! * [`OwnedDevice::create_symbolic_link`] turns it into a [`NamedDevice`], which deletes the
//!   link and then the device when dropped.
//!
//! So `?` after any step unwinds everything before it, and dropping the driver at unload tears
//! down in the right order without any code in the driver.

use core::fmt;

use crate::status::{NtResult, NtStatus};
use crate::sys::{self, DeviceRef, PublishedDevice};

/// `FILE_DEVICE_SECURE_OPEN`: apply the device's security descriptor to opens of names below it.
pub const FILE_DEVICE_SECURE_OPEN: u32 = 0x0000_0100;

/// How read and write requests carry their data (the `DO_BUFFERED_IO` / `DO_DIRECT_IO` flags).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IoType {
    /// `DO_BUFFERED_IO`: the I/O manager copies through a system buffer.
    Buffered,
    /// `DO_DIRECT_IO`: the caller's pages are locked and described by an MDL.
    Direct,
    /// Neither flag: the driver gets raw user addresses (not accessible from safe code).
    Neither,
}

/// Who may open a device: the security descriptor it is created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSecurity {
    /// What `IoCreateDevice` gives a device: the system's default for device objects (for a
    /// named device, everyone may open it for reading and writing).
    Default,
    /// `SDDL_DEVOBJ_SYS_ALL_ADM_ALL` (`D:P(A;;GA;;;SY)(A;;GA;;;BA)`): only the system and
    /// administrators, so a client must run elevated. What `IoCreateDeviceSecure` with that
    /// string gives, and what KMDF's `WdfDeviceInitAssignSDDLString` does with it.
    SystemAndAdministrators,
}

impl DeviceSecurity {
    /// The SDDL string of the descriptor.
    #[must_use]
    pub const fn sddl(self) -> Option<&'static str> {
        match self {
            Self::Default => None,
            Self::SystemAndAdministrators => Some("D:P(A;;GA;;;SY)(A;;GA;;;BA)"),
        }
    }
}

/// What to create: the arguments of `IoCreateDevice` plus the buffering flags.
#[derive(Clone, Copy, Debug)]
pub struct DeviceConfig<'a> {
    /// `\Device\...` name, or `None` for an unnamed device (PnP devices normally are unnamed).
    pub name: Option<&'a str>,
    /// `DeviceType` (`FILE_DEVICE_*`); IOCTL codes for this device carry it in bits 31–16.
    pub device_type: u16,
    /// `DeviceCharacteristics`; defaults to [`FILE_DEVICE_SECURE_OPEN`].
    pub characteristics: u32,
    /// `Exclusive`: only one handle at a time.
    pub exclusive: bool,
    /// How reads and writes carry their data.
    pub io_type: IoType,
    /// Who may open it.
    pub security: DeviceSecurity,
}

impl<'a> DeviceConfig<'a> {
    /// A named device of type `FILE_DEVICE_UNKNOWN` (0x22) with buffered I/O and secure open.
    ///
    /// IRQL: any: builds the configuration, nothing else.
    #[must_use]
    pub const fn named(name: &'a str) -> Self {
        Self {
            name: Some(name),
            device_type: 0x22,
            characteristics: FILE_DEVICE_SECURE_OPEN,
            exclusive: false,
            io_type: IoType::Buffered,
            security: DeviceSecurity::Default,
        }
    }

    /// An unnamed device (for PnP function and filter devices).
    ///
    /// IRQL: any: builds the configuration, nothing else.
    #[must_use]
    pub const fn unnamed() -> Self {
        Self {
            name: None,
            device_type: 0x22,
            characteristics: FILE_DEVICE_SECURE_OPEN,
            exclusive: false,
            io_type: IoType::Buffered,
            security: DeviceSecurity::Default,
        }
    }

    /// Sets the device type.
    ///
    /// IRQL: any: builds the configuration, nothing else.
    #[must_use]
    pub const fn device_type(mut self, device_type: u16) -> Self {
        self.device_type = device_type;
        self
    }

    /// Sets how reads and writes carry their data.
    ///
    /// IRQL: any: builds the configuration, nothing else.
    #[must_use]
    pub const fn io_type(mut self, io_type: IoType) -> Self {
        self.io_type = io_type;
        self
    }

    /// Sets who may open the device (`IoCreateDeviceSecure`'s security descriptor).
    ///
    /// IRQL: any: builds the configuration, nothing else.
    #[must_use]
    pub const fn security(mut self, security: DeviceSecurity) -> Self {
        self.security = security;
        self
    }

    /// Allows one open handle at a time.
    ///
    /// IRQL: any: builds the configuration, nothing else.
    #[must_use]
    pub const fn exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }
}

/// The device below this one in its stack: where forwarded IRPs go.
///
/// Only ever borrowed from its [`Device`] (neither `Clone` nor `Copy`): the device below may
/// be deleted once this one is removed, so a copy kept past the removal would send IRPs to a
/// freed device object.
#[derive(PartialEq, Eq)]
pub struct LowerDevice(pub(crate) DeviceRef);

impl LowerDevice {
    /// A second handle, for a value confined to the routine the original is borrowed in (a
    /// `WdmRequest<'r, …>`), which therefore cannot outlive the device either.
    pub(crate) const fn duplicate(&self) -> Self {
        Self(self.0)
    }
}

impl fmt::Debug for LowerDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LowerDevice")
    }
}

/// One of this driver's device objects, as a callback sees it, with the driver's per-device
/// data (its "device extension") of type `X`.
///
/// Callbacks get `&Device<X>`; the crate owns the memory and keeps it alive while the device
/// exists.
pub struct Device<X = ()> {
    pub(crate) raw: DeviceRef,
    pub(crate) lower: Option<LowerDevice>,
    extension: X,
}

impl<X> Device<X> {
    pub(crate) const fn new(raw: DeviceRef, lower: Option<LowerDevice>, extension: X) -> Self {
        Self {
            raw,
            lower,
            extension,
        }
    }

    /// The driver's data for this device.
    ///
    /// IRQL: any: reads the device record.
    #[must_use]
    pub const fn extension(&self) -> &X {
        &self.extension
    }

    /// The device this one is attached over (PnP function and filter devices), where
    /// forwarded IRPs go. `None` for a control device created in DriverEntry.
    ///
    /// IRQL: any: reads the device record.
    #[must_use]
    pub const fn lower(&self) -> Option<&LowerDevice> {
        self.lower.as_ref()
    }

    /// `DeviceObject->DeviceType`.
    ///
    /// IRQL: any: reads the device record.
    #[must_use]
    pub fn device_type(&self) -> u32 {
        self.raw.device_type()
    }

    /// Whether `other` is this same device object.
    ///
    /// IRQL: any: reads the device record.
    #[must_use]
    pub fn is(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<X: fmt::Debug> fmt::Debug for Device<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("extension", &self.extension)
            .finish_non_exhaustive()
    }
}

/// A device object this driver created; deleting it is the guard's drop.
///
/// Dropping the guard while a routine of the device is running — even from inside one of its
/// own dispatch routines — is allowed: new IRPs to the device fail at once with
/// `STATUS_DELETE_PENDING`, and the device object is deleted, and the extension dropped, when
/// the last running routine returns (as a C driver's remove lock arranges).
///
/// IRQL for creation and drop: PASSIVE_LEVEL.
#[must_use = "dropping the guard deletes the device at once"]
pub struct OwnedDevice<X> {
    record: PublishedDevice<Device<X>>,
}

impl<X> OwnedDevice<X> {
    pub(crate) fn create(
        driver: sys::DriverRef,
        config: &DeviceConfig<'_>,
        extension: X,
    ) -> NtResult<Self> {
        let raw = driver.create_device(
            config.name,
            u32::from(config.device_type),
            config.characteristics,
            config.exclusive,
        )?;
        // `IoCreateDeviceSecure`: the descriptor is in place before the device takes I/O, and a
        // device that cannot have it is not kept.
        if config.security == DeviceSecurity::SystemAndAdministrators
            && let Err(status) = raw.restrict_to_system_and_administrators()
        {
            raw.delete();
            return Err(status);
        }
        let Ok(record) = PublishedDevice::try_new(raw, Device::new(raw, None, extension)) else {
            raw.delete();
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        };
        match config.io_type {
            IoType::Buffered => raw.set_flags(sys::DO_BUFFERED_IO),
            IoType::Direct => raw.set_flags(sys::DO_DIRECT_IO),
            IoType::Neither => {}
        }
        // The device is fully set up: let I/O in.
        raw.clear_flags(sys::DO_DEVICE_INITIALIZING);
        Ok(Self { record })
    }

    /// The device as callbacks see it.
    ///
    /// IRQL: any: reads the device record.
    #[must_use]
    pub fn device(&self) -> &Device<X> {
        self.record.get()
    }

    /// Creates a symbolic link (`\DosDevices\Name`, seen from user mode as `\\.\Name`) to this
    /// named device.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// Hands the device back with the failure status (for example
    /// `STATUS_OBJECT_NAME_COLLISION`), so the caller decides whether to retry or drop it.
    pub fn create_symbolic_link(
        self,
        link: &'static str,
    ) -> Result<NamedDevice<X>, (Self, NtStatus)> {
        match self.device().raw.create_symbolic_link(link) {
            Ok(()) => Ok(NamedDevice { link, device: self }),
            Err(status) => Err((self, status)),
        }
    }
}

/// A device with a symbolic link; dropping it deletes the link, then the device.
#[must_use = "dropping the guard removes the link and deletes the device at once"]
pub struct NamedDevice<X> {
    link: &'static str,
    // Dropped after `NamedDevice::drop` has removed the link.
    device: OwnedDevice<X>,
}

impl<X> NamedDevice<X> {
    /// The device as callbacks see it.
    ///
    /// IRQL: any: reads the device record.
    #[must_use]
    pub fn device(&self) -> &Device<X> {
        self.device.device()
    }

    /// The symbolic link's name.
    ///
    /// IRQL: any: reads the device record.
    #[must_use]
    pub const fn link(&self) -> &'static str {
        self.link
    }
}

impl<X> Drop for NamedDevice<X> {
    fn drop(&mut self) {
        // The link goes first; the device follows when the `device` field is dropped.
        self.device.device().raw.delete_symbolic_link(self.link);
    }
}
