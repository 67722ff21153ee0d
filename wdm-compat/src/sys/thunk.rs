//! Trampolines: the `extern "system"` routines the system calls. Each turns raw pointers into
//! the seam's handles, finds the driver instance and the device record through the context
//! pointers the seam published, and calls the driver type's [`DriverCallbacks`].
//!
//! Under the `host` feature a panic in driver code is caught here and reported to the
//! simulation as a bug check (a panic in a real driver is one), instead of unwinding through an
//! `extern "system"` frame, which would abort the test process.

use core::ffi::c_void;

use super::callbacks::{DriverCallbacks, IrpOutcome, Observer};
use super::{
    DO_DEVICE_INITIALIZING, DeviceRef, DriverRef, IrpRef, MAJOR_FUNCTION_COUNT, RawDevice,
    RawDriver, RawIrp, SharedBox, Status, Typed, from_context, rundown::finish_delete,
    typed_context,
};

/// `IRP_MJ_PNP`.
const IRP_MJ_PNP: u8 = 0x1b;
/// `IRP_MN_REMOVE_DEVICE`.
const IRP_MN_REMOVE_DEVICE: u8 = 0x02;

/// Runs driver code; on the host a panic becomes a reported bug check and `fallback`.
#[cfg(feature = "host")]
pub(super) fn guarded<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(value) => value,
        // A bug check of the simulated kernel: reported already, the driver code just stops.
        Err(payload) if payload.is::<crate::host::BugCheckRaised>() => fallback,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).into())
                .or_else(|| payload.downcast_ref::<std::string::String>().cloned())
                .unwrap_or_default();
            super::host::report_driver_panic(&message);
            fallback
        }
    }
}

/// Runs driver code (a kernel panic handler turns a panic into a bug check).
#[cfg(not(feature = "host"))]
pub(super) fn guarded<R>(_fallback: R, f: impl FnOnce() -> R) -> R {
    f()
}

/// `DriverEntry` for driver type `D`.
///
/// # Safety
///
/// Called only by the system (or the host simulation) as a driver entry point, with the driver
/// object it created for this driver.
pub(crate) unsafe extern "system" fn driver_entry<D: DriverCallbacks<M>, M>(
    driver: *mut RawDriver,
    _registry_path: *const c_void,
) -> i32 {
    // SAFETY: the system passes its driver object, alive until unload returns.
    let Some(driver) = (unsafe { DriverRef::from_raw(driver) }) else {
        return Status::INVALID_PARAMETER.to_raw();
    };
    // Wired before anything can fail, so a driver that gets loaded can always be unloaded.
    driver.set_unload(unload::<D, M>);
    match guarded(Err(Status::DRIVER_INTERNAL_ERROR), || D::entry(driver)) {
        Ok(instance) => {
            let instance = match SharedBox::try_new(Typed::new(instance)) {
                Ok(instance) => instance,
                Err(instance) => {
                    // DriverEntry fails: the driver's guards undo what it set up.
                    guarded((), || drop(instance));
                    return Status::INSUFFICIENT_RESOURCES.to_raw();
                }
            };
            driver.set_context(instance.publish());
            for major in 0..MAJOR_FUNCTION_COUNT {
                if let Ok(major) = u8::try_from(major) {
                    driver.set_dispatch(major, dispatch::<D, M>);
                }
            }
            if D::PNP {
                driver.set_add_device(add_device::<D, M>);
            }
            Status::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

/// [`driver_entry`] with the driver object as an untyped pointer, for an image's exported
/// `DriverEntry` (`wdm_driver_entry!`), whose signature cannot name the seam's types.
///
/// # Safety
///
/// As [`driver_entry`].
#[cfg(all(not(feature = "host"), target_os = "windows"))]
pub(crate) unsafe extern "system" fn image_driver_entry<D: DriverCallbacks<M>, M>(
    driver: *mut c_void,
    registry_path: *const c_void,
) -> i32 {
    // SAFETY: forwarded from the system's call of `DriverEntry` (the caller's contract).
    unsafe { driver_entry::<D, M>(driver.cast(), registry_path) }
}

/// `DriverUnload` for driver type `D`.
///
/// # Safety
///
/// Called only by the system, once, after all of the driver's I/O has finished.
unsafe extern "system" fn unload<D: DriverCallbacks<M>, M>(driver: *mut RawDriver) {
    // SAFETY: the system passes the driver object it loaded the driver with.
    let Some(driver) = (unsafe { DriverRef::from_raw(driver) }) else {
        return;
    };
    let context = driver.context();
    driver.set_context(core::ptr::null());
    // SAFETY: `driver_entry` published the instance with `SharedBox<Typed<D>>::publish`; the
    // pointer was cleared above, so it is taken back once, and no dispatch runs during unload.
    if let Some(instance) = unsafe { SharedBox::<Typed<D>>::from_published(context) } {
        guarded((), || instance.into_inner().value.unload_driver());
    }
}

/// The dispatch routine in every entry of the major-function table.
///
/// # Safety
///
/// Called only by the I/O manager with one of this driver's devices and an IRP whose current
/// stack location belongs to it.
unsafe extern "system" fn dispatch<D: DriverCallbacks<M>, M>(
    device: *mut RawDevice,
    irp: *mut RawIrp,
) -> i32 {
    // SAFETY: the I/O manager hands the IRP's current stack location to this driver; this is
    // the only handle made for it.
    let Some(irp) = (unsafe { IrpRef::from_raw(irp) }) else {
        return Status::INVALID_PARAMETER.to_raw();
    };
    // SAFETY: the device is one of this driver's and lives for the duration of the call.
    let Some(device) = (unsafe { DeviceRef::from_raw(device) }) else {
        irp.complete(Status::INVALID_PARAMETER, 0);
        return Status::INVALID_PARAMETER.to_raw();
    };
    // Counted in for the whole call, so the record stays alive even if the driver deletes the
    // device meanwhile (`rundown.rs`); a device being deleted takes no new IRPs.
    if !device.enter() {
        irp.complete(Status::DELETE_PENDING, 0);
        return Status::DELETE_PENDING.to_raw();
    }
    let status = dispatch_entered::<D, M>(device, irp);
    if device.leave() {
        // SAFETY: the count reached zero with deletion begun; the device's context is its
        // `SharedBox<D::DeviceRecord>` (see `dispatch_entered`), no longer used by this call.
        unsafe { finish_delete::<D::DeviceRecord>(device) };
    }
    status.to_raw()
}

/// [`dispatch`] once counted in for `device`.
fn dispatch_entered<D: DriverCallbacks<M>, M>(device: DeviceRef, irp: IrpRef) -> Status {
    // SAFETY: `driver_entry` published a `SharedBox<Typed<D>>` as the driver context; it lives
    // until unload, which does not run while IRPs are dispatched.
    let instance = unsafe { typed_context::<D>(device.driver().context()) };
    // SAFETY: the context is the device's `SharedBox<D::DeviceRecord>` (`PublishedDevice`, or
    // `add_device`), freed only at a zero count; the caller holds a count while it is used.
    let record = unsafe { from_context::<D::DeviceRecord>(device.context()) };
    let (Some(instance), Some(record)) = (instance, record) else {
        irp.complete(Status::INVALID_DEVICE_STATE, 0);
        return Status::INVALID_DEVICE_STATE;
    };
    let stack = irp.stack();
    if stack.major == IRP_MJ_PNP
        && stack.minor == IRP_MN_REMOVE_DEVICE
        && let Some(lower) = D::device_below(record)
    {
        // `IRP_MN_REMOVE_DEVICE` for a device the seam attached: tell the driver, pass the IRP
        // down, detach; the device is deleted and its record freed when the last routine
        // inside it (normally this one) leaves (Learn: "Removing a Device in a Filter Driver").
        guarded((), || instance.removing_device(record));
        // `false`: this routine is inside, so the deletion finishes when it leaves.
        let _ = device.begin_delete();
        // No new routine enters now; the ones inside (dispatch on other processors, IRPs
        // forwarded with an observer) finish before the device below is told to go, as
        // `IoReleaseRemoveLockAndWait` makes a C driver wait (SDV RemoveLockMnRemove).
        device.wait_until_alone();
        let mut irp = irp;
        irp.skip_current_location();
        let status = irp.call_driver(lower);
        device.detach(lower);
        return status;
    }
    guarded(Status::INTERNAL_ERROR, || instance.dispatch(record, irp))
}

/// `AddDevice` for a PnP driver of type `D`.
///
/// # Safety
///
/// Called only by the PnP manager with this driver's object and a physical device object.
unsafe extern "system" fn add_device<D: DriverCallbacks<M>, M>(
    driver: *mut RawDriver,
    physical: *mut RawDevice,
) -> i32 {
    // SAFETY: the PnP manager passes this driver's object, alive while the driver is loaded.
    let Some(driver) = (unsafe { DriverRef::from_raw(driver) }) else {
        return Status::INVALID_PARAMETER.to_raw();
    };
    // SAFETY: the physical device object stays alive while its stack exists.
    let Some(physical) = (unsafe { DeviceRef::from_raw(physical) }) else {
        return Status::INVALID_PARAMETER.to_raw();
    };
    // SAFETY: as in `dispatch`: published by `driver_entry`, alive until unload.
    let Some(instance) = (unsafe { typed_context::<D>(driver.context()) }) else {
        return Status::INVALID_DEVICE_STATE.to_raw();
    };
    match guarded(Err(Status::DRIVER_INTERNAL_ERROR), || {
        instance.attach_device(driver, physical)
    }) {
        Ok((device, record)) => match SharedBox::try_new(record) {
            Ok(record) => {
                device.set_context(record.publish());
                device.clear_flags(DO_DEVICE_INITIALIZING);
                Status::SUCCESS.to_raw()
            }
            Err(record) => {
                // No record, no device: undo the attachment and the creation.
                if let Some(lower) = D::device_below(&record) {
                    device.detach(lower);
                }
                device.delete();
                Status::INSUFFICIENT_RESOURCES.to_raw()
            }
        },
        Err(status) => status.to_raw(),
    }
}

/// Whether `device`'s driver is of type `D`: an observed forward names its driver type, and the
/// observer must not read another driver's instance as a `D`.
///
/// `device` must be one of this driver's devices (the IRP's current one, in a routine inside
/// it, or one it owns).
pub(crate) fn driven_by<D: DriverCallbacks<M>, M>(device: DeviceRef) -> bool {
    // SAFETY: every device of this driver has the driver object whose context `driver_entry`
    // published as a `SharedBox<Typed<_>>`, alive until unload, which does not run while a
    // routine of the driver is inside or a device of it is owned.
    unsafe { typed_context::<D>(device.driver().context()) }.is_some()
}

/// Sets [`observe`] as `irp`'s completion routine, carrying `observer` in the context pointer,
/// and counts the routine in for `device` (the device of the IRP's current stack location),
/// so the device and its record outlive the IRP below (`rundown.rs`).
///
/// The caller must be inside `device` (a routine holding a count) or own it.
pub(crate) fn set_observer<D: DriverCallbacks<M>, M>(
    irp: &mut IrpRef,
    device: DeviceRef,
    observer: Observer<D, M>,
) {
    device.enter_on_behalf();
    irp.set_completion_routine(observe::<D, M>, observer as *mut c_void);
}

/// The completion routine behind an observed forward (`Irp::forward_observing`).
///
/// # Safety
///
/// Called only by the I/O manager for an IRP on which [`set_observer::<D, M>`] set it, with the
/// device object of this driver that forwarded it.
unsafe extern "system" fn observe<D: DriverCallbacks<M>, M>(
    device: *mut RawDevice,
    irp: *mut RawIrp,
    context: *mut c_void,
) -> i32 {
    // SAFETY: `set_observer::<D, M>` stored an `Observer<D, M>` (a function pointer) in
    // `context`; function pointers and data pointers have the same size on every target Windows
    // runs on.
    let observer = unsafe { core::mem::transmute::<*mut c_void, Observer<D, M>>(context) };
    // SAFETY: during its completion routine the IRP is back in this driver's hands; the handle
    // is not used after the routine returns.
    let Some(mut irp) = (unsafe { IrpRef::from_raw(irp) }) else {
        return Status::SUCCESS.to_raw();
    };
    // SAFETY: the device that set the routine is one of this driver's; `set_observer` counted
    // this routine in for it, so neither the device object nor its record is gone.
    if let Some(device) = unsafe { DeviceRef::from_raw(device) } {
        // SAFETY: as in `dispatch_entered`. `D` is the caller's choice here (the forward named
        // it), so the instance is found only if this driver's really is a `D`.
        let instance = unsafe { typed_context::<D>(device.driver().context()) };
        // SAFETY: as in `dispatch_entered`: this routine holds the count `set_observer` took.
        let record = unsafe { from_context::<D::DeviceRecord>(device.context()) };
        if let (Some(instance), Some(record)) = (instance, record) {
            let outcome = IrpOutcome { irp: &mut irp };
            guarded((), || observer(instance, record, &outcome));
        }
        if device.leave() {
            // SAFETY: as in `dispatch`: the count reached zero with deletion begun, and
            // `record` is not used after this.
            unsafe { finish_delete::<D::DeviceRecord>(device) };
        }
    }
    // Every completion routine that lets completion continue must propagate the pending flag.
    if irp.pending_returned() {
        irp.mark_pending();
    }
    Status::SUCCESS.to_raw()
}

/// Sets [`pass_through`] as `irp`'s completion routine.
pub(crate) fn set_pass_through(irp: &mut IrpRef) {
    irp.set_completion_routine(pass_through, core::ptr::null_mut());
}

/// A completion routine that only does what every completion routine must: propagate the
/// pending flag, then let completion continue.
///
/// # Safety
///
/// Called only by the I/O manager for an IRP on which [`set_pass_through`] set it.
unsafe extern "system" fn pass_through(
    _device: *mut RawDevice,
    irp: *mut RawIrp,
    _context: *mut c_void,
) -> i32 {
    // SAFETY: during its completion routine the IRP is back in this driver's hands; the handle
    // is not used after the routine returns.
    if let Some(mut irp) = unsafe { IrpRef::from_raw(irp) }
        && irp.pending_returned()
    {
        irp.mark_pending();
    }
    Status::SUCCESS.to_raw()
}
