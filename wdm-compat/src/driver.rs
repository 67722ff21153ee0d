//! The [`WdmDriver`] trait: a WDM driver as one type, with a default for every major function.
//!
//! The crate owns `DriverEntry`, `DriverUnload`, `AddDevice` and one dispatch routine for every
//! entry of the major-function table, so no entry is ever left NULL. Each calls the matching
//! trait method with the driver instance, the target [`Device`] and the [`Irp`]:
//!
//! | major function | default |
//! |---|---|
//! | `IRP_MJ_CREATE`, `IRP_MJ_CLOSE`, `IRP_MJ_CLEANUP` | complete with `STATUS_SUCCESS` |
//! | `IRP_MJ_PNP`, `IRP_MJ_POWER` | a device attached over another passes it down; a control device completes it with the status it carries |
//! | read, write, IOCTLs, query and set information, everything else | [`WdmDriver::on_other`]: complete with `STATUS_NOT_SUPPORTED` |
//!
//! Power IRPs are passed down with `IoCallDriver`: since Windows Vista `PoCallDriver` is not
//! needed for them and `PoStartNextPowerIrp` does nothing (Learn: "Calling IoCallDriver vs.
//! Calling PoCallDriver"), and every target this crate builds for is later than that.
//!
//! A PnP driver (`const PNP: bool = true`) gets [`WdmDriver::add_device`] called for each device
//! the PnP manager finds; the crate creates the device object, attaches it to the top of the
//! stack, copies the lower device's type and buffering flags, and on `IRP_MN_REMOVE_DEVICE`
//! passes the IRP down, detaches and deletes the device, in that order (Learn: "Removing a
//! Device in a Filter Driver").

use crate::device::{Device, DeviceConfig, FILE_DEVICE_SECURE_OPEN, LowerDevice, OwnedDevice};
use crate::dispatch::DispatchStatus;
use crate::irp::{Irp, IrpCompleter, SystemCompleter};
use crate::request::MajorFunction;
use crate::status::{NtResult, NtStatus};
use crate::sys;

/// `FILE_DEVICE_UNKNOWN`: the type of a PnP driver's device until it takes the lower one's.
const FILE_DEVICE_UNKNOWN: u32 = 0x22;

/// A WDM driver.
///
/// `C` is the completer its IRPs use: [`SystemCompleter`] in a driver; tests may pick another.
///
/// Dispatch routines run at PASSIVE_LEVEL for create, close, cleanup and PnP, and at
/// ≤ DISPATCH_LEVEL for reads, writes and IOCTLs sent by other drivers; they must return at the
/// IRQL they were called at.
pub trait WdmDriver<C: IrpCompleter = SystemCompleter>: Sized + Send + Sync + 'static {
    /// The driver's data for each of its devices (its "device extension").
    type DeviceExtension: Send + Sync + 'static;

    /// Whether this is a PnP driver: `AddDevice` is registered and PnP removal is handled.
    const PNP: bool = false;

    /// `DriverEntry`: create devices and links through `setup`, and return the driver.
    ///
    /// Guards returned by `setup` undo themselves when dropped, so returning an error with `?`
    /// after any step undoes all earlier steps.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// Any failure status; the driver is not loaded then.
    fn driver_entry(setup: &mut DriverSetup<'_, Self::DeviceExtension>) -> NtResult<Self>;

    /// `DriverUnload`: the default drops the driver, which drops its device guards (links
    /// first, then devices).
    ///
    /// IRQL: PASSIVE_LEVEL.
    fn unload(self) {}

    /// `AddDevice` (PnP drivers): return the extension for the new device. The crate creates an
    /// unnamed device, attaches it over `physical_device`'s stack and copies the lower device's
    /// type and flags.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// A failure status leaves the stack without this driver's device.
    fn add_device(&self, physical_device: &PhysicalDevice) -> NtResult<Self::DeviceExtension> {
        let _ = physical_device;
        Err(NtStatus::NOT_SUPPORTED)
    }

    /// Called for `IRP_MN_REMOVE_DEVICE` before the crate passes the IRP down, detaches and
    /// deletes the device: finish or cancel what the device still holds.
    ///
    /// IRQL: PASSIVE_LEVEL.
    fn on_remove_device(&self, device: &Device<Self::DeviceExtension>) {
        let _ = device;
    }

    /// `IRP_MJ_CREATE`. Default: `STATUS_SUCCESS`.
    fn on_create<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        let _ = device;
        irp.complete(NtStatus::SUCCESS)
    }

    /// `IRP_MJ_CLOSE`. Default: `STATUS_SUCCESS`.
    fn on_close<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        let _ = device;
        irp.complete(NtStatus::SUCCESS)
    }

    /// `IRP_MJ_CLEANUP`. Default: `STATUS_SUCCESS`.
    fn on_cleanup<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        let _ = device;
        irp.complete(NtStatus::SUCCESS)
    }

    /// `IRP_MJ_READ`. Default: [`on_other`](Self::on_other).
    fn on_read<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        self.on_other(device, irp)
    }

    /// `IRP_MJ_WRITE`. Default: [`on_other`](Self::on_other).
    fn on_write<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        self.on_other(device, irp)
    }

    /// `IRP_MJ_DEVICE_CONTROL`. Default: [`on_other`](Self::on_other).
    fn on_device_control<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        self.on_other(device, irp)
    }

    /// `IRP_MJ_INTERNAL_DEVICE_CONTROL`. Default: [`on_other`](Self::on_other).
    fn on_internal_device_control<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        self.on_other(device, irp)
    }

    /// `IRP_MJ_PNP` other than the removal the crate handles. Default: a device attached over
    /// another passes it down, as a function or filter driver must for the PnP requests it
    /// does not handle (SDV PnpIrpCompletion); a control device completes it with the status
    /// it carries.
    fn on_pnp<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        pass_down_or_leave(device, irp)
    }

    /// `IRP_MJ_POWER`. Default: a device attached over another passes it down (with
    /// `IoCallDriver`, see the module docs), so the stack can change power state; a control
    /// device completes it with the status it carries (a driver that does not handle a power
    /// IRP must not change it).
    fn on_power<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        pass_down_or_leave(device, irp)
    }

    /// `IRP_MJ_QUERY_INFORMATION` (`NtQueryInformationFile` on a handle to the device).
    /// Default: [`on_other`](Self::on_other). Fill
    /// [`IoRequest::query_information_buffer`](crate::IoRequest::query_information_buffer) and
    /// complete with the bytes written.
    fn on_query_information<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        self.on_other(device, irp)
    }

    /// `IRP_MJ_SET_INFORMATION` (`NtSetInformationFile`). Default:
    /// [`on_other`](Self::on_other).
    fn on_set_information<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        self.on_other(device, irp)
    }

    /// Every major function without a method of its own, and the default of those that have
    /// one. Default: `STATUS_NOT_SUPPORTED`. A filter overrides it to pass everything down.
    fn on_other<'r>(
        &self,
        device: &Device<Self::DeviceExtension>,
        irp: Irp<'r, C>,
    ) -> DispatchStatus<'r> {
        let _ = device;
        irp.complete(NtStatus::NOT_SUPPORTED)
    }
}

/// The default of PnP and power requests: down the stack when there is one below, else
/// completed with the status the IRP carries.
fn pass_down_or_leave<'r, X, C: IrpCompleter>(
    device: &Device<X>,
    irp: Irp<'r, C>,
) -> DispatchStatus<'r> {
    match device.lower() {
        Some(lower) => irp.forward(lower),
        None => {
            let status = irp.status();
            irp.complete(status)
        }
    }
}

/// Routes one IRP to the trait method for its major function.
pub(crate) fn dispatch<'r, D: WdmDriver<C>, C: IrpCompleter>(
    driver: &D,
    device: &Device<D::DeviceExtension>,
    major: MajorFunction,
    irp: Irp<'r, C>,
) -> DispatchStatus<'r> {
    match major {
        MajorFunction::CREATE => driver.on_create(device, irp),
        MajorFunction::CLOSE => driver.on_close(device, irp),
        MajorFunction::CLEANUP => driver.on_cleanup(device, irp),
        MajorFunction::READ => driver.on_read(device, irp),
        MajorFunction::WRITE => driver.on_write(device, irp),
        MajorFunction::DEVICE_CONTROL => driver.on_device_control(device, irp),
        MajorFunction::INTERNAL_DEVICE_CONTROL => driver.on_internal_device_control(device, irp),
        MajorFunction::PNP => driver.on_pnp(device, irp),
        MajorFunction::POWER => driver.on_power(device, irp),
        MajorFunction::QUERY_INFORMATION => driver.on_query_information(device, irp),
        MajorFunction::SET_INFORMATION => driver.on_set_information(device, irp),
        _ => driver.on_other(device, irp),
    }
}

/// What the seam's trampolines call: every WDM driver type, in the seam's terms.
impl<D: WdmDriver<C>, C: IrpCompleter> sys::DriverCallbacks<C> for D {
    type DeviceRecord = Device<D::DeviceExtension>;

    const PNP: bool = <D as WdmDriver<C>>::PNP;

    fn entry(driver: sys::DriverRef) -> NtResult<Self> {
        let mut setup = DriverSetup {
            driver,
            registry_path: "",
            _extension: core::marker::PhantomData,
        };
        D::driver_entry(&mut setup)
    }

    fn unload_driver(self) {
        self.unload();
    }

    fn dispatch(&self, record: &Self::DeviceRecord, irp: sys::IrpRef) -> NtStatus {
        let major = MajorFunction(irp.stack().major);
        dispatch(self, record, major, Irp::<C>::from_ref(irp)).status()
    }

    fn device_below(record: &Self::DeviceRecord) -> Option<sys::DeviceRef> {
        record.lower.as_ref().map(|lower| lower.0)
    }

    fn removing_device(&self, record: &Self::DeviceRecord) {
        self.on_remove_device(record);
    }

    fn attach_device(
        &self,
        driver: sys::DriverRef,
        physical: sys::DeviceRef,
    ) -> NtResult<(sys::DeviceRef, Self::DeviceRecord)> {
        let extension = self.add_device(&PhysicalDevice { raw: physical })?;
        let device =
            driver.create_device(None, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, false)?;
        let Some(lower) = device.attach_to(physical) else {
            device.delete();
            return Err(NtStatus::NO_SUCH_DEVICE);
        };
        // A device in a stack takes its type and buffering from the device below it (Driver
        // Verifier 0xC9/0x244, 0x246, 0x23F).
        device.set_device_type(lower.device_type());
        device.set_flags(
            lower.flags() & (sys::DO_BUFFERED_IO | sys::DO_DIRECT_IO | sys::DO_POWER_PAGABLE),
        );
        Ok((
            device,
            Device::new(device, Some(LowerDevice(lower)), extension),
        ))
    }
}

/// What `DriverEntry` can do: create devices whose extension is the driver's `X`.
pub struct DriverSetup<'a, X> {
    pub(crate) driver: sys::DriverRef,
    pub(crate) registry_path: &'a str,
    pub(crate) _extension: core::marker::PhantomData<fn(X)>,
}

impl<X: Send + Sync + 'static> DriverSetup<'_, X> {
    /// `IoCreateDevice` with the driver's extension `extension`; the device is ready for I/O
    /// when this returns. Drop the guard to delete it.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// The status of `IoCreateDevice`, e.g. `STATUS_OBJECT_NAME_COLLISION`.
    pub fn create_device(
        &mut self,
        config: &DeviceConfig<'_>,
        extension: X,
    ) -> NtResult<OwnedDevice<X>> {
        OwnedDevice::create(self.driver, config, extension)
    }

    /// The driver's service key (`\Registry\Machine\System\CurrentControlSet\Services\<name>`),
    /// when the backend supplies it.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn registry_path(&self) -> &str {
        self.registry_path
    }
}

/// The physical device object a PnP driver's `AddDevice` attaches over. The handle stays valid
/// while the device node exists, that is until the remove IRP has passed down the stack.
#[derive(Clone, Copy)]
pub struct PhysicalDevice {
    pub(crate) raw: sys::DeviceRef,
}

impl PhysicalDevice {
    /// The physical device's `DeviceType`.
    ///
    /// IRQL: any.
    #[must_use]
    pub fn device_type(&self) -> u32 {
        self.raw.device_type()
    }

    /// Registers and enables a device interface (`IoRegisterDeviceInterface` +
    /// `IoSetDeviceInterfaceState`), in the simplified form of a symbolic link `link`
    /// (`\??\...`) to the physical device object, which user mode opens as `\\.\...`.
    /// Dropping the returned guard disables it (removes the link).
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// The status of the link's creation (for example `STATUS_OBJECT_NAME_COLLISION`).
    pub fn register_interface(&self, link: &'static str) -> NtResult<DeviceInterface> {
        self.raw.create_symbolic_link(link)?;
        Ok(DeviceInterface {
            physical: self.raw,
            link,
        })
    }
}

/// An enabled device interface of a physical device; dropping it disables it.
#[must_use = "dropping the guard disables the interface at once"]
pub struct DeviceInterface {
    physical: sys::DeviceRef,
    link: &'static str,
}

impl DeviceInterface {
    /// The interface's symbolic link.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn link(&self) -> &'static str {
        self.link
    }
}

impl Drop for DeviceInterface {
    fn drop(&mut self) {
        self.physical.delete_symbolic_link(self.link);
    }
}

/// The entry point of driver type `D`, for loading it into the host simulation
/// ([`IoManager::load_driver`](crate::host::IoManager::load_driver)).
///
/// IRQL: host simulation only; no IRQL applies.
#[cfg(feature = "host")]
#[must_use]
pub fn entry_point<D: WdmDriver>() -> crate::host::DriverEntry {
    entry_point_with::<D, SystemCompleter>()
}

/// The entry point of driver type `D` whose IRPs finish through completer `C`, for loading it
/// into the host simulation: a driver written generically (`impl<C: IrpCompleter>
/// WdmDriver<C> for MyDriver`) loads with `TrackingCompleter` in a test, or with a completer
/// of the driver author's own.
///
/// ```
/// # #[cfg(feature = "tracking")] fn main() -> Result<(), wdm_compat::NtStatus> {
/// use wdm_compat::driver::entry_point_with;
/// use wdm_compat::host::IoManager;
/// use wdm_compat::{
///     Device, DeviceConfig, DispatchStatus, DriverSetup, IoType, Irp, IrpCompleter, NamedDevice,
///     NtResult, NtStatus, TrackingCompleter, WdmDriver,
/// };
///
/// struct Zeros {
///     _device: NamedDevice<()>,
/// }
///
/// impl<C: IrpCompleter> WdmDriver<C> for Zeros {
///     type DeviceExtension = ();
///
///     fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
///         let device = setup
///             .create_device(&DeviceConfig::named(r"\Device\Zeros").io_type(IoType::Buffered), ())?
///             .create_symbolic_link(r"\DosDevices\Zeros")
///             .map_err(|(_, status)| status)?;
///         Ok(Self { _device: device })
///     }
///
///     fn on_read<'r>(&self, _: &Device<()>, irp: Irp<'r, C>) -> DispatchStatus<'r> {
///         irp.complete_with(|request| Ok(request.read_buffer()?.len()))
///     }
/// }
///
/// let manager = IoManager::new();
/// manager.load_driver("zeros", entry_point_with::<Zeros, TrackingCompleter>())?;
/// let handle = manager.open(r"\\.\Zeros")?;
/// let read = handle.read_async(16)?;
/// let probe = manager.probe(read.irp());
/// assert_eq!(read.result().map(|r| r.information), Some(16));
/// // What the tracking completer recorded on the IRP:
/// let tracked = probe.tracked_completions();
/// assert_eq!(tracked.len(), 1);
/// assert_eq!((tracked[0].status, tracked[0].information), (NtStatus::SUCCESS, 16));
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "tracking"))] fn main() {}
/// ```
///
/// IRQL: host simulation only; no IRQL applies.
#[cfg(feature = "host")]
#[must_use]
pub fn entry_point_with<D: WdmDriver<C>, C: IrpCompleter>() -> crate::host::DriverEntry {
    crate::host::DriverEntry::from_fn(sys::thunk::driver_entry::<D, C>)
}
