//! What the trampolines call: the seam's own trait, which the typed layer implements for every
//! driver type (`driver.rs`), so that nothing under `sys/` names a type above it. The
//! trampolines turn raw pointers into handles, find the driver instance and the device record
//! through the context pointers the seam published, and call these methods with handles only.

use super::{DeviceRef, DriverRef, IrpRef, Status};

/// A driver type, as the trampolines see it. `M` is whatever the typed layer needs to tell two
/// implementations for one type apart (its completer); the seam never looks at it.
pub(crate) trait DriverCallbacks<M>: Sized + Send + Sync + 'static {
    /// What the typed layer keeps for each device, published as the device's context.
    type DeviceRecord: Send + Sync + 'static;

    /// Whether `AddDevice` is registered (a PnP driver).
    const PNP: bool;

    /// `DriverEntry`: the driver instance, which the seam then publishes as the driver
    /// object's context until unload.
    fn entry(driver: DriverRef) -> Result<Self, Status>;

    /// `DriverUnload`, with the instance taken back.
    fn unload_driver(self);

    /// A dispatch routine: one IRP sent to one of the driver's devices. Returns what the
    /// dispatch routine returns.
    fn dispatch(&self, record: &Self::DeviceRecord, irp: IrpRef) -> Status;

    /// The device below a device the seam attached in `AddDevice` (`None` for a device the
    /// driver created itself): for these the seam handles `IRP_MN_REMOVE_DEVICE`.
    fn device_below(record: &Self::DeviceRecord) -> Option<DeviceRef>;

    /// `IRP_MN_REMOVE_DEVICE` reached a device the seam attached: the driver's last look at it,
    /// before the seam passes the IRP down, detaches and deletes the device.
    fn removing_device(&self, record: &Self::DeviceRecord);

    /// `AddDevice`: the driver's device object for `physical`, created and attached, and its
    /// record. The seam publishes the record and clears `DO_DEVICE_INITIALIZING`.
    fn attach_device(
        &self,
        driver: DriverRef,
        physical: DeviceRef,
    ) -> Result<(DeviceRef, Self::DeviceRecord), Status>;
}

/// A completion observer as the seam carries it through a completion routine's context
/// pointer: the typed layer's `CompletionObserver`, spelled with the seam's names.
pub(crate) type Observer<D, M> = fn(&D, &<D as DriverCallbacks<M>>::DeviceRecord, &IrpOutcome<'_>);

/// The outcome of an IRP as a completion routine sees it: read-only. (Its methods are the
/// typed layer's, in `forward.rs`.)
pub struct IrpOutcome<'irp> {
    pub(crate) irp: &'irp mut IrpRef,
}
