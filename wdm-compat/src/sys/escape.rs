//! The escape hatches: the raw `PIRP` and `PDEVICE_OBJECT` behind the crate's types, for kernel
//! routines the crate does not wrap, and the way back from a raw `PIRP` to an [`Irp`].
//!
//! Reading a pointer is safe, as `Box::as_ptr` is; everything done with it is the caller's
//! `unsafe` code, under the contract on each accessor (and listed in `SAFETY.md`). The pointers
//! are untyped (`*mut c_void`): no WDK type appears in the crate's API, and the caller casts to
//! wdk-sys's `PIRP` / `PDEVICE_OBJECT`. Under the `host` feature they point at the simulation's
//! objects, which only this crate can use: there they serve round trips in tests.

use core::ffi::c_void;

use super::{DeviceRef, IrpRef, RawIrp};
use crate::device::{Device, LowerDevice};
use crate::irp::{Irp, IrpCompleter, PendingIrp};

impl<C: IrpCompleter> Irp<'_, C> {
    /// The `PIRP`, for a kernel routine the crate does not wrap, while this `Irp` keeps owning
    /// it.
    ///
    /// What the caller's `unsafe` code may do with it: read the IRP and its current stack
    /// location, and call routines that neither complete it, pass it on, free it, change its
    /// stack location, set its cancel routine nor keep the pointer. The pointer is dead once
    /// this `Irp` is finished (completed, forwarded, pended or dropped).
    ///
    /// IRQL: any.
    #[must_use]
    pub fn as_raw(&self) -> *mut c_void {
        self.raw_ref()
            .map_or(core::ptr::null_mut(), |raw| raw.as_ptr().cast())
    }
}

impl<C: IrpCompleter> PendingIrp<C> {
    /// The `PIRP` of a pending IRP, under the same terms as [`Irp::as_raw`].
    ///
    /// IRQL: any.
    #[must_use]
    pub fn as_raw(&self) -> *mut c_void {
        self.raw_ref()
            .map_or(core::ptr::null_mut(), |raw| raw.as_ptr().cast())
    }

    /// Gives up the pending IRP as a `PIRP`, for a kernel routine that takes it over (one that
    /// completes it, or queues it where the driver gets it back later). Nothing finishes it
    /// any more: whoever holds the pointer must, or hand it back with
    /// [`PendingIrp::from_raw`].
    ///
    /// IRQL: any.
    #[must_use = "an IRP given up must still be finished"]
    pub fn into_raw_irp(self) -> *mut c_void {
        self.into_raw()
            // The handle goes, the address stays: a pending IRP lives until it completes (on
            // the host the simulation holds its own count until then), and `from_raw` of the
            // same address makes a new handle.
            .map_or(core::ptr::null_mut(), |raw| raw.as_ptr().cast())
    }

    /// Takes a pending IRP back from a `PIRP`.
    ///
    /// IRQL: any.
    ///
    /// # Safety
    ///
    /// `irp` must be a live IRP that this driver owns and marked pending (its dispatch routine
    /// returned `STATUS_PENDING`): for example one given up with
    /// [`into_raw_irp`](Self::into_raw_irp), or one a kernel routine handed back. Its current
    /// stack location must be this driver's; no other [`Irp`] or `PendingIrp` for it may exist
    /// while this one lives, and no object of this crate may hold it (a
    /// [`CancelSafeQueue`](crate::csq::CancelSafeQueue)); and its cancel routine must be NULL
    /// (whoever set one has cleared it with `IoSetCancelRoutine(irp, NULL)` returning it), or
    /// a cancellation could complete it a second time. The crate completes it through `C` and
    /// lends its buffers as unique slices.
    #[must_use = "a pending IRP must be completed"]
    pub unsafe fn from_raw(irp: *mut c_void) -> Option<Self> {
        // SAFETY: the caller's contract is `IrpRef::from_raw`'s (a live IRP this driver owns,
        // with no other handle), plus its having been marked pending and having no cancel
        // routine.
        unsafe { IrpRef::from_raw(irp.cast::<RawIrp>()) }.map(Self::from_ref)
    }
}

impl<X> Device<X> {
    /// The `PDEVICE_OBJECT`, for a kernel routine the crate does not wrap.
    ///
    /// What the caller's `unsafe` code may do with it: call routines on it that neither delete
    /// or detach it, change its flags or extension, nor keep the pointer past the callback it
    /// was read in (the crate deletes the device when it is removed or dropped).
    ///
    /// IRQL: any.
    #[must_use]
    pub fn as_raw(&self) -> *mut c_void {
        DeviceRef::as_ptr(self.raw).cast()
    }
}

impl LowerDevice {
    /// The `PDEVICE_OBJECT` of the device below, under the same terms as [`Device::as_raw`]
    /// (the pointer is good while this device stays attached).
    ///
    /// IRQL: any.
    #[must_use]
    pub fn as_raw(&self) -> *mut c_void {
        DeviceRef::as_ptr(self.0).cast()
    }
}
