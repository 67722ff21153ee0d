//! Passing an IRP down the stack.
//!
//! Two shapes, both of which consume the IRP (after `IoCallDriver` it belongs to the lower
//! driver; Learn: "Passing IRPs down the Driver Stack"):
//!
//! * [`Irp::forward`]: skip the current stack location and call the lower driver; the dispatch
//!   routine returns exactly what the lower driver returned (SDV LowerDriverReturn).
//! * [`Irp::forward_observing`]: copy the stack location, set a completion routine, call the
//!   lower driver. The routine sees the outcome read-only and the crate then does what every
//!   completion routine must: if `PendingReturned` is set, mark the IRP pending (Driver Verifier
//!   0xC9/0x228) and let completion continue.

use crate::device::{Device, LowerDevice};
use crate::dispatch::DispatchStatus;
use crate::driver::WdmDriver;
use crate::irp::{Irp, IrpCompleter, PendingIrp};
use crate::request::MajorFunction;
use crate::status::NtStatus;
use crate::sys::{self, IrpRef};

/// A completion observer: sees the driver, its device and the IRP's outcome.
pub type CompletionObserver<D, X> = fn(&D, &Device<X>, &IrpOutcome<'_>);

impl<'r, C: IrpCompleter> Irp<'r, C> {
    /// Passes the IRP to `lower` unchanged (`IoSkipCurrentIrpStackLocation` +
    /// `IoCallDriver`) and returns what the lower driver returned.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL for reads, writes, IOCTLs and power IRPs; PASSIVE_LEVEL for the
    /// others (SDV ForwardedAtBadIrql).
    pub fn forward(mut self, lower: &LowerDevice) -> DispatchStatus<'r> {
        let Some(mut irp) = self.take_for_forward() else {
            return DispatchStatus::new(NtStatus::INVALID_DEVICE_STATE);
        };
        irp.skip_current_location();
        DispatchStatus::new(irp.call_driver(lower.0))
    }

    /// Passes the IRP to `lower` with a completion routine that calls `observer` with the
    /// outcome, then lets completion continue (propagating the pending flag). Returns what the
    /// lower driver returned.
    ///
    /// `D` must be the driver whose device this IRP was sent to (the IRP is completed with
    /// `STATUS_INVALID_DEVICE_REQUEST` otherwise); the observer finds the driver and the device
    /// through the device object, as a C completion routine would.
    ///
    /// IRQL: as [`forward`](Self::forward). The observer runs at ≤ DISPATCH_LEVEL.
    pub fn forward_observing<D>(
        mut self,
        lower: &LowerDevice,
        observer: CompletionObserver<D, D::DeviceExtension>,
    ) -> DispatchStatus<'r>
    where
        D: WdmDriver<C>,
    {
        // An `Irp` lives only inside the dispatch routine of the device it was sent to, which
        // holds a count on it; so the observer's count can be taken here.
        let Some(device) = self.raw_ref().and_then(IrpRef::current_device) else {
            return self.complete(NtStatus::INVALID_DEVICE_STATE);
        };
        // `D` is named by the caller: it must be this driver's type, or the observer would
        // read this driver's instance as another type.
        if !sys::thunk::driven_by::<D, C>(device) {
            return self.complete(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let Some(mut irp) = self.take_for_forward() else {
            return DispatchStatus::new(NtStatus::INVALID_DEVICE_STATE);
        };
        irp.copy_current_location_to_next();
        sys::thunk::set_observer::<D, C>(&mut irp, device, observer);
        DispatchStatus::new(irp.call_driver(lower.0))
    }

    fn take_for_forward(&mut self) -> Option<IrpRef> {
        self.take_raw()
    }
}

impl<C: IrpCompleter> PendingIrp<C> {
    /// Passes a pended IRP to `lower`. A driver that marked its IRP pending must copy its stack
    /// location rather than skip it (so its pending flag does not leak downwards); the crate
    /// sets a completion routine that only propagates the pending flag. The dispatch routine
    /// already returned `STATUS_PENDING`, so what the lower driver returns is not needed.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn forward(self, lower: &LowerDevice) {
        if let Some(mut irp) = self.into_raw() {
            irp.copy_current_location_to_next();
            sys::thunk::set_pass_through(&mut irp);
            let _returned = irp.call_driver(lower.0);
        }
    }

    /// Passes a pended IRP to the device below `device`, with a completion routine that calls
    /// `observer` with the outcome first (see [`Irp::forward_observing`]).
    ///
    /// `device` must be the device this IRP was sent to: the observer runs for it, and the
    /// device (with its extension) is kept until the observer has run, however long the IRP
    /// stays below. For another device, or one attached over nothing, the IRP is completed
    /// with `STATUS_INVALID_DEVICE_REQUEST` instead.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn forward_observing<D>(
        self,
        device: &Device<D::DeviceExtension>,
        observer: CompletionObserver<D, D::DeviceExtension>,
    ) where
        D: WdmDriver<C>,
    {
        let Some(lower) = device.lower() else {
            self.complete(NtStatus::INVALID_DEVICE_REQUEST);
            return;
        };
        if self.raw_ref().and_then(IrpRef::current_device) != Some(device.raw)
            || !sys::thunk::driven_by::<D, C>(device.raw)
        {
            self.complete(NtStatus::INVALID_DEVICE_REQUEST);
            return;
        }
        if let Some(mut irp) = self.into_raw() {
            irp.copy_current_location_to_next();
            // `device` is alive for this borrow (its owner, or a routine inside it, holds it),
            // so the observer's count can be taken here.
            sys::thunk::set_observer::<D, C>(&mut irp, device.raw, observer);
            let _returned = irp.call_driver(lower.0);
        }
    }
}

/// The outcome of an IRP as a completion routine sees it: read-only.
pub use crate::sys::IrpOutcome;

impl IrpOutcome<'_> {
    /// `IoStatus.Status` as the lower driver completed it.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (completion routines run there).
    #[must_use]
    pub fn status(&self) -> NtStatus {
        self.irp.status()
    }

    /// `IoStatus.Information` as the lower driver completed it.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (completion routines run there).
    #[must_use]
    pub fn information(&self) -> usize {
        self.irp.information()
    }

    /// The major function of this driver's stack location.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (completion routines run there).
    #[must_use]
    pub fn major_function(&self) -> MajorFunction {
        MajorFunction(self.irp.stack().major)
    }

    /// The IOCTL code, when this is a device-control request.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (completion routines run there).
    #[must_use]
    pub fn ioctl_code(&self) -> Option<crate::ioctl::IoControlCode> {
        match self.irp.stack().params {
            sys::Params::DeviceControl { code, .. } => {
                Some(crate::ioctl::IoControlCode::from_raw(code))
            }
            _ => None,
        }
    }
}
