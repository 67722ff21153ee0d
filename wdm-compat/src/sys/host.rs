//! The host backend: the seam's handles point at the objects of the simulated I/O manager in
//! [`crate::host`].
//!
//! Every object whose address is handed to driver code (driver objects, device objects, IRPs)
//! is leaked by the simulation when created, so the pointers stay valid for the rest of the
//! process and are only ever read through shared references: the simulation keeps all mutable
//! state behind its own locks. The one exception is an IRP's buffers, lent to the driver that
//! owns the IRP as `&mut [u8]` (see [`IrpRef::system_buffer`]).

// The seam contract: every backend provides every method of `none.rs`; the safe layer uses a
// subset that grows over time.
#![allow(
    dead_code,
    reason = "the full seam contract, of which the safe layer uses a subset"
)]

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU8;

use super::{
    AddDeviceFn, CancelFn, CompletionFn, DeviceRef, DispatchFn, DriverEntryFn, DriverRef, IrpRef,
    Mode, StackParams, Status, UnloadFn,
};
use crate::host::{DeviceObj, DriverObj, IrpObj};

/// `DRIVER_OBJECT` on the host: the simulation's driver record.
pub(crate) type DriverObject = DriverObj;
/// `DEVICE_OBJECT` on the host: the simulation's device record.
pub(crate) type DeviceObject = DeviceObj;
/// `IRP` on the host: the simulation's IRP record, with its buffers.
pub(crate) type Irp = IrpObj;

/// `DbgPrint("%s", text)`: one line of driver trace output, captured by the I/O manager whose
/// driver code this thread is running.
pub(crate) fn dbg_print(text: &str) {
    crate::host::dbg_print_current(text);
}

/// `KeGetCurrentIrql`: the simulated IRQL of this thread.
pub(crate) fn current_irql() -> u8 {
    crate::host::current_irql()
}

/// `KeRaiseIrql(new)`: returns the previous IRQL.
pub(crate) fn raise_irql(new: u8) -> u8 {
    crate::host::raise_irql(new)
}

/// `KeLowerIrql(old)`.
pub(crate) fn lower_irql(old: u8) {
    crate::host::lower_irql(old);
}

/// Reports a panic in driver code as bug check 0x1E (KMODE_EXCEPTION_NOT_HANDLED) to the
/// simulation whose driver code this thread is running.
pub(crate) fn report_driver_panic(message: &str) {
    crate::host::report_driver_panic_current(message);
}

/// Reports a bug check raised by driver-side code (for example a kernel-style assertion).
pub(crate) fn report_bug_check(code: u32, params: [usize; 4], message: &str) {
    crate::host::report_bug_check_current(code, params, message);
}

// ---------------------------------------------------------------------------------------------
// Pointers to and from the simulation's objects.

fn driver_ptr(obj: &'static DriverObj) -> *mut DriverObject {
    core::ptr::from_ref(obj).cast_mut()
}

fn device_ptr(obj: &'static DeviceObj) -> *mut DeviceObject {
    core::ptr::from_ref(obj).cast_mut()
}

fn irp_ptr(obj: &'static IrpObj) -> *mut Irp {
    core::ptr::from_ref(obj).cast_mut()
}

fn word(pointer: *const c_void) -> usize {
    pointer.expose_provenance()
}

fn pointer(word: usize) -> *mut c_void {
    core::ptr::with_exposed_provenance_mut(word)
}

/// Lends an IRP buffer to its owning driver as bytes.
///
/// # Safety
///
/// No other reference to these bytes may be used while the returned slice lives: the caller is
/// the unique owner of the IRP (an [`IrpRef`], borrowed mutably for the slice's lifetime), and
/// the simulation touches an IRP's buffers only while no driver owns it.
#[allow(
    clippy::mut_from_ref,
    reason = "the bytes are interior mutable (atomics); exclusivity is the caller's contract"
)]
unsafe fn lend_mut(cells: &[AtomicU8]) -> &mut [u8] {
    // SAFETY: `AtomicU8` has the size, alignment and bit validity of `u8` and is interior
    // mutable, so writing through a pointer derived from `&[AtomicU8]` is allowed; exclusivity
    // for the slice's lifetime is the caller's guarantee.
    unsafe { core::slice::from_raw_parts_mut(cells.as_ptr().cast::<u8>().cast_mut(), cells.len()) }
}

/// Views an IRP buffer as bytes for reading.
///
/// # Safety
///
/// Nobody may write these bytes while the returned slice lives (as for [`lend_mut`]).
unsafe fn lend(cells: &[AtomicU8]) -> &[u8] {
    // SAFETY: same layout as above; the caller guarantees no concurrent writes.
    unsafe { core::slice::from_raw_parts(cells.as_ptr().cast::<u8>(), cells.len()) }
}

// ---------------------------------------------------------------------------------------------
// Calling driver code. The simulation calls these without holding any of its locks.

/// Calls a dispatch routine.
pub(crate) fn call_dispatch(
    f: DispatchFn,
    device: &'static DeviceObj,
    irp: &'static IrpObj,
) -> i32 {
    // SAFETY: the I/O manager calls a driver's dispatch routine with one of the driver's
    // device objects and an IRP whose current stack location was just set up for it; both
    // objects are leaked, so the pointers are valid for the rest of the process.
    unsafe { f(device_ptr(device), irp_ptr(irp)) }
}

/// Calls a completion routine; `device` is `None` for the originator's routine.
pub(crate) fn call_completion(
    f: CompletionFn,
    device: Option<&'static DeviceObj>,
    irp: &'static IrpObj,
    context: usize,
) -> i32 {
    let device = device.map_or(core::ptr::null_mut(), device_ptr);
    // SAFETY: completion routines are called with the device of the driver that set them
    // (null for the originator), the IRP, which is back in that driver's hands for the
    // duration of the call, and the context pointer the driver passed when setting them.
    unsafe { f(device, irp_ptr(irp), pointer(context)) }
}

/// Calls a cancel routine (the simulation holds the cancel spin lock for it).
pub(crate) fn call_cancel(f: CancelFn, device: &'static DeviceObj, irp: &'static IrpObj) {
    // SAFETY: cancel routines are called with the device at the IRP's current stack location
    // and the IRP, with the cancel spin lock held, as `IoCancelIrp` does.
    unsafe { f(device_ptr(device), irp_ptr(irp)) }
}

/// Calls `DriverUnload`.
pub(crate) fn call_unload(f: UnloadFn, driver: &'static DriverObj) {
    // SAFETY: the unload routine receives the driver object it was loaded with; the
    // simulation calls it once, when the test unloads the driver.
    unsafe { f(driver_ptr(driver)) }
}

/// Calls `AddDevice(driver, pdo)`.
pub(crate) fn call_add_device(
    f: AddDeviceFn,
    driver: &'static DriverObj,
    pdo: &'static DeviceObj,
) -> i32 {
    // SAFETY: the PnP manager calls AddDevice with the driver's object and a live PDO.
    unsafe { f(driver_ptr(driver), device_ptr(pdo)) }
}

/// Calls `DriverEntry(driver, registry_path)`; the registry path is not simulated (null).
pub(crate) fn call_driver_entry(f: DriverEntryFn, driver: &'static DriverObj) -> i32 {
    // SAFETY: the entry point receives a fresh driver object, leaked so it outlives the
    // driver; the registry path is null, which the crate's trampolines accept.
    unsafe { f(driver_ptr(driver), core::ptr::null()) }
}

// ---------------------------------------------------------------------------------------------
// The handles.

impl DriverRef {
    fn obj(self) -> &'static DriverObj {
        // SAFETY: every driver-object pointer the simulation hands out points to a leaked
        // `DriverObj` that is only read through shared references.
        unsafe { self.0.as_ref() }
    }

    /// `DriverObject->MajorFunction[major] = f`.
    pub(crate) fn set_dispatch(self, major: u8, f: DispatchFn) {
        let obj = self.obj();
        obj.manager.set_dispatch(obj.id, major, f);
    }

    /// `DriverObject->DriverUnload = f`.
    pub(crate) fn set_unload(self, f: UnloadFn) {
        let obj = self.obj();
        obj.manager.set_unload(obj.id, f);
    }

    /// `DriverObject->DriverExtension->AddDevice = f` (PnP drivers).
    pub(crate) fn set_add_device(self, f: AddDeviceFn) {
        let obj = self.obj();
        obj.manager.set_add_device(obj.id, f);
    }

    /// Stores the driver instance pointer in driver-owned storage of the driver object.
    pub(crate) fn set_context(self, context: *const c_void) {
        let obj = self.obj();
        obj.manager.set_driver_context(obj.id, word(context));
    }

    /// The pointer last stored by `set_context` (null if none).
    pub(crate) fn context(self) -> *const c_void {
        let obj = self.obj();
        pointer(obj.manager.driver_context(obj.id)).cast_const()
    }

    /// `IoCreateDevice` with no device extension. `characteristics` is accepted and ignored
    /// (the simulation has no security model). The new device has `DO_DEVICE_INITIALIZING`.
    pub(crate) fn create_device(
        self,
        name: Option<&str>,
        device_type: u32,
        _characteristics: u32,
        exclusive: bool,
    ) -> Result<DeviceRef, Status> {
        let obj = self.obj();
        let id = obj
            .manager
            .create_device(obj.id, name, device_type, exclusive)?;
        let device = obj
            .manager
            .device_obj(id)
            .ok_or(Status::INSUFFICIENT_RESOURCES)?;
        Ok(DeviceRef(NonNull::from(device)))
    }
}

impl DeviceRef {
    fn obj(self) -> &'static DeviceObj {
        // SAFETY: every device-object pointer the simulation hands out points to a leaked
        // `DeviceObj` that is only read through shared references.
        unsafe { self.0.as_ref() }
    }

    /// `IoDeleteDevice`.
    pub(crate) fn delete(self) {
        let obj = self.obj();
        obj.manager.delete_device(obj.id);
    }

    /// `DeviceObject->Flags`.
    pub(crate) fn flags(self) -> u32 {
        let obj = self.obj();
        obj.manager.device_flags(obj.id)
    }

    /// `DeviceObject->Flags |= flags`.
    pub(crate) fn set_flags(self, flags: u32) {
        let obj = self.obj();
        obj.manager.update_device_flags(obj.id, flags, 0);
    }

    /// `DeviceObject->Flags &= !flags`.
    pub(crate) fn clear_flags(self, flags: u32) {
        let obj = self.obj();
        obj.manager.update_device_flags(obj.id, 0, flags);
    }

    /// Stores one pointer in the device's extension.
    pub(crate) fn set_context(self, context: *const c_void) {
        let obj = self.obj();
        obj.manager.set_device_context(obj.id, word(context));
    }

    /// The pointer last stored by `set_context` (null if none).
    pub(crate) fn context(self) -> *const c_void {
        let obj = self.obj();
        pointer(obj.manager.device_context(obj.id)).cast_const()
    }

    /// `DeviceObject->DeviceType = device_type`.
    pub(crate) fn set_device_type(self, device_type: u32) {
        let obj = self.obj();
        obj.manager.set_device_type(obj.id, device_type);
    }

    /// `DeviceObject->DriverObject`.
    pub(crate) fn driver(self) -> DriverRef {
        let obj = self.obj();
        let driver = obj
            .manager
            .device_driver(obj.id)
            .and_then(|d| obj.manager.driver_obj(d));
        match driver {
            Some(driver) => DriverRef(NonNull::from(driver)),
            // Every device has a driver; unreachable, but a dangling answer is never made.
            None => DriverRef(NonNull::from(leak_orphan_driver(obj))),
        }
    }

    /// `DeviceObject->DeviceType`.
    pub(crate) fn device_type(self) -> u32 {
        let obj = self.obj();
        obj.manager.device_type(obj.id)
    }

    /// `IoAttachDeviceToDeviceStack(self, target)`.
    pub(crate) fn attach_to(self, target: DeviceRef) -> Option<DeviceRef> {
        let obj = self.obj();
        let lower = obj.manager.attach_device(obj.id, target.obj().id)?;
        obj.manager
            .device_obj(lower)
            .map(|device| DeviceRef(NonNull::from(device)))
    }

    /// `IoDetachDevice(lower)`, where `self` is the device attached over `lower`.
    pub(crate) fn detach(self, lower: DeviceRef) {
        let obj = self.obj();
        obj.manager.detach_device(Some(obj.id), lower.obj().id);
    }

    /// `IoCreateSymbolicLink(link, name of self)`.
    pub(crate) fn create_symbolic_link(self, link: &str) -> Result<(), Status> {
        let obj = self.obj();
        obj.manager.create_symbolic_link(obj.id, link)
    }

    /// `IoDeleteSymbolicLink(link)`.
    pub(crate) fn delete_symbolic_link(self, link: &str) {
        let obj = self.obj();
        let _status = obj.manager.delete_symbolic_link(link);
    }
}

/// A driver object for a device whose driver record is missing (cannot happen: devices are
/// created only by loaded drivers). Leaked like every object handed to driver code.
fn leak_orphan_driver(device: &'static DeviceObj) -> &'static DriverObj {
    std::boxed::Box::leak(std::boxed::Box::new(DriverObj {
        manager: device.manager.clone(),
        id: crate::host::DriverId(usize::MAX),
    }))
}

impl IrpRef {
    fn obj(&self) -> &'static IrpObj {
        // SAFETY: every IRP pointer the simulation hands out points to a leaked `IrpObj` that
        // is only read through shared references (its buffers are atomics).
        unsafe { self.0.as_ref() }
    }

    /// The current stack location's major, minor and decoded parameters.
    pub(crate) fn stack(&self) -> StackParams {
        let obj = self.obj();
        obj.manager.stack_params(obj.id)
    }

    /// `Irp->RequestorMode`.
    pub(crate) fn requestor_mode(&self) -> Mode {
        let obj = self.obj();
        obj.manager.requestor_mode(obj.id)
    }

    /// `Irp->AssociatedIrp.SystemBuffer` as a slice of the length the current stack location
    /// describes; `None` when there is none or its length is zero.
    pub(crate) fn system_buffer(&mut self) -> Option<&mut [u8]> {
        let obj = self.obj();
        let len = obj.manager.system_buffer_len(obj.id);
        let cells = obj.system.get(..len).filter(|c| !c.is_empty())?;
        // SAFETY: this handle is the IRP's only owner and is borrowed mutably for the slice's
        // lifetime; the simulation does not touch the buffers of an IRP a driver owns.
        Some(unsafe { lend_mut(cells) })
    }

    /// The system mapping of `Irp->MdlAddress`; `Ok(None)` when there is no MDL.
    pub(crate) fn mdl_buffer(&mut self) -> Result<Option<&mut [u8]>, Status> {
        let obj = self.obj();
        if obj.mdl.is_empty() {
            return Ok(None);
        }
        // SAFETY: as in `system_buffer`.
        Ok(Some(unsafe { lend_mut(&obj.mdl) }))
    }

    /// For METHOD_IN/OUT_DIRECT IOCTLs: the input (system buffer) and the output (MDL) at
    /// once; they are separate allocations and never overlap.
    pub(crate) fn split_direct(&mut self) -> Result<(&[u8], &mut [u8]), Status> {
        let obj = self.obj();
        let len = obj.manager.system_buffer_len(obj.id);
        let input_cells = obj.system.get(..len).unwrap_or_default();
        // SAFETY: as in `system_buffer`; the input is only read while the handle is borrowed.
        let input = unsafe { lend(input_cells) };
        // SAFETY: as in `system_buffer`; the MDL buffer is a different allocation.
        let output = unsafe { lend_mut(&obj.mdl) };
        Ok((input, output))
    }

    /// (`Type3InputBuffer`, `Irp->UserBuffer`) as numbers only.
    pub(crate) fn user_addresses(&self) -> (usize, usize) {
        let obj = self.obj();
        obj.manager.user_addresses(obj.id)
    }

    /// `Irp->IoStatus.Information`.
    pub(crate) fn information(&self) -> usize {
        let obj = self.obj();
        obj.manager.information(obj.id)
    }

    /// `Irp->IoStatus.Information = information`.
    pub(crate) fn set_information(&mut self, information: usize) {
        let obj = self.obj();
        obj.manager.set_information(obj.id, information);
    }

    /// `Irp->IoStatus.Status`.
    pub(crate) fn status(&self) -> Status {
        let obj = self.obj();
        obj.manager.status(obj.id)
    }

    /// Sets `IoStatus` and calls `IoCompleteRequest(irp, IO_NO_INCREMENT)`.
    pub(crate) fn complete(self, status: Status, information: usize) {
        let obj = self.obj();
        obj.manager.complete_request(obj.id, status, information);
    }

    /// Records a completion for `TrackingCompleter` without running the completion path.
    pub(crate) fn tracked_complete(self, status: Status, information: usize) {
        let obj = self.obj();
        obj.manager.tracked_complete(obj.id, status, information);
    }

    /// `IoMarkIrpPending`.
    pub(crate) fn mark_pending(&mut self) {
        let obj = self.obj();
        obj.manager.mark_pending(obj.id);
    }

    /// `Irp->PendingReturned`.
    pub(crate) fn pending_returned(&self) -> bool {
        let obj = self.obj();
        obj.manager.pending_returned(obj.id)
    }

    /// `IoSkipCurrentIrpStackLocation`.
    pub(crate) fn skip_current_location(&mut self) {
        let obj = self.obj();
        obj.manager.skip_current_location(obj.id);
    }

    /// `IoCopyCurrentIrpStackLocationToNext`.
    pub(crate) fn copy_current_location_to_next(&mut self) {
        let obj = self.obj();
        obj.manager.copy_current_location_to_next(obj.id);
    }

    /// `IoSetCompletionRoutine(irp, f, context, TRUE, TRUE, TRUE)` on the next location.
    pub(crate) fn set_completion_routine(&mut self, f: CompletionFn, context: *mut c_void) {
        let obj = self.obj();
        obj.manager
            .set_native_completion_routine(obj.id, f, word(context));
    }

    /// `IoCallDriver(target, irp)`.
    pub(crate) fn call_driver(self, target: DeviceRef) -> Status {
        let obj = self.obj();
        obj.manager.call_driver(obj.id, target.obj().id)
    }

    /// `IoSetCancelRoutine(irp, f)`: returns whether a routine was set before.
    pub(crate) fn set_cancel_routine(&mut self, f: Option<CancelFn>) -> bool {
        let obj = self.obj();
        obj.manager.set_native_cancel_routine(obj.id, f)
    }

    /// `Irp->Cancel`.
    pub(crate) fn cancel_requested(&self) -> bool {
        let obj = self.obj();
        obj.manager.cancel_requested(obj.id)
    }

    /// The safe layer dropped the IRP without finishing it: reported, then completed with
    /// `STATUS_CANCELLED`.
    pub(crate) fn leaked(self) {
        let obj = self.obj();
        obj.manager.irp_leaked(obj.id);
    }

    /// `Irp->Tail.Overlay.DriverContext[0]`.
    pub(crate) fn driver_context(&self) -> *mut c_void {
        let obj = self.obj();
        pointer(obj.manager.irp_driver_context(obj.id))
    }

    /// Sets `Irp->Tail.Overlay.DriverContext[0]`.
    pub(crate) fn set_driver_context(&mut self, context: *mut c_void) {
        let obj = self.obj();
        obj.manager.set_irp_driver_context(obj.id, word(context));
    }

    /// `IoReleaseCancelSpinLock(Irp->CancelIrql)`.
    pub(crate) fn release_cancel_lock(&self) {
        let obj = self.obj();
        obj.manager.release_cancel_lock(obj.id);
    }
}
