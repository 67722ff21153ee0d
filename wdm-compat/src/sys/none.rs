//! The backend used when no operating system is selected (for example `x86_64-unknown-none`
//! without features). Its object types are uninhabited: no handle can ever be made, so every
//! method is statically unreachable. It exists so the vocabulary and the IRP model build on a
//! bare `no_std` target, and it is the written contract every other backend implements with the
//! same signatures.

use core::ffi::c_void;

use super::{
    AddDeviceFn, CancelFn, CompletionFn, DeviceRef, DispatchFn, DriverRef, IrpRef, Mode,
    StackParams, Status, UnloadFn,
};

/// Uninhabited stand-in for `DRIVER_OBJECT`.
pub(crate) enum DriverObject {}
/// Uninhabited stand-in for `DEVICE_OBJECT`.
pub(crate) enum DeviceObject {}
/// Uninhabited stand-in for `IRP`.
pub(crate) enum Irp {}

/// `DbgPrint("%s", text)`: one line of driver trace output.
pub(crate) fn dbg_print(_text: &str) {}

/// One pause of a routine waiting for the others of its device (never reached: no device
/// exists).
pub(crate) fn wait_a_moment(_round: u32, _inside: usize) -> bool {
    false
}

/// `KeRaiseIrql(new)`: returns the previous IRQL.
/// The IRQL: nothing runs without a kernel (PASSIVE_LEVEL).
pub(crate) const fn current_irql() -> u8 {
    0
}

pub(crate) fn raise_irql(_new: u8) -> u8 {
    0
}

/// `KeLowerIrql(old)`.
pub(crate) fn lower_irql(_old: u8) {}

impl DriverRef {
    fn never(self) -> ! {
        // SAFETY: a `DriverRef` points to a `DriverObject`, which has no values; the handle
        // cannot exist.
        match *unsafe { self.0.as_ref() } {}
    }

    /// `DriverObject->MajorFunction[major] = f`.
    pub(crate) fn set_dispatch(self, _major: u8, _f: DispatchFn) {
        self.never()
    }

    /// `DriverObject->DriverUnload = f`.
    pub(crate) fn set_unload(self, _f: UnloadFn) {
        self.never()
    }

    /// `DriverObject->DriverExtension->AddDevice = f` (PnP drivers).
    pub(crate) fn set_add_device(self, _f: AddDeviceFn) {
        self.never()
    }

    /// Stores the driver instance pointer in driver-owned storage of the driver object.
    pub(crate) fn set_context(self, _context: *const c_void) {
        self.never()
    }

    /// The pointer last stored by `set_context` (null if none).
    pub(crate) fn context(self) -> *const c_void {
        self.never()
    }

    /// `IoCreateDevice` with no device extension. The name is a kernel object path such as
    /// `\Device\WdkSafeEcho`. The new device has `DO_DEVICE_INITIALIZING` set.
    pub(crate) fn create_device(
        self,
        _name: Option<&str>,
        _device_type: u32,
        _characteristics: u32,
        _exclusive: bool,
    ) -> Result<DeviceRef, Status> {
        self.never()
    }
}

impl DeviceRef {
    fn never(self) -> ! {
        // SAFETY: a `DeviceRef` points to a `DeviceObject`, which has no values.
        match *unsafe { self.0.as_ref() } {}
    }

    /// Gives the device the descriptor of `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`.
    pub(crate) fn restrict_to_system_and_administrators(self) -> Result<(), Status> {
        self.never()
    }

    /// `IoDeleteDevice`. The handle must not be used afterwards (it is `Copy`, so the safe layer
    /// guarantees this with its own owning guard).
    pub(crate) fn delete(self) {
        self.never()
    }

    /// The count of routines running for the device, with the deletion bit (see `rundown.rs`).
    pub(crate) fn io_count(&self) -> Option<&core::sync::atomic::AtomicUsize> {
        self.never()
    }

    /// `DeviceObject->Flags`.
    pub(crate) fn flags(self) -> u32 {
        self.never()
    }

    /// `DeviceObject->Flags |= flags`.
    pub(crate) fn set_flags(self, _flags: u32) {
        self.never()
    }

    /// `DeviceObject->Flags &= !flags`.
    pub(crate) fn clear_flags(self, _flags: u32) {
        self.never()
    }

    /// Stores one pointer in the device's extension (the safe layer keeps its per-device record
    /// there). The backend creates every device with room for it.
    pub(crate) fn set_context(self, _context: *const c_void) {
        self.never()
    }

    /// The pointer last stored by `set_context` (null if none).
    pub(crate) fn context(self) -> *const c_void {
        self.never()
    }

    /// `DeviceObject->DeviceType = device_type` (a filter copies the type of the device below).
    pub(crate) fn set_device_type(self, _device_type: u32) {
        self.never()
    }

    /// `DeviceObject->DriverObject`.
    pub(crate) fn driver(self) -> DriverRef {
        self.never()
    }

    /// `DeviceObject->DeviceType`.
    pub(crate) fn device_type(self) -> u32 {
        self.never()
    }

    /// `IoAttachDeviceToDeviceStack(self, target)`: returns the device that was on top of
    /// `target`'s stack (the one to forward to), or `None` on failure.
    pub(crate) fn attach_to(self, _target: DeviceRef) -> Option<DeviceRef> {
        self.never()
    }

    /// `IoDetachDevice(lower)`, where `self` is the device attached over `lower`.
    pub(crate) fn detach(self, _lower: DeviceRef) {
        self.never()
    }

    /// `IoCreateSymbolicLink(link, name of self)`; `link` such as `\DosDevices\WdkSafeEcho`.
    pub(crate) fn create_symbolic_link(self, _link: &str) -> Result<(), Status> {
        self.never()
    }

    /// `IoDeleteSymbolicLink(link)`.
    pub(crate) fn delete_symbolic_link(self, _link: &str) {
        self.never()
    }
}

impl IrpRef {
    fn never(&self) -> ! {
        // SAFETY: an `IrpRef` points to an `Irp`, which has no values.
        match *unsafe { self.0.as_ref() } {}
    }

    /// The current stack location's major, minor and decoded parameters.
    pub(crate) fn stack(&self) -> StackParams {
        self.never()
    }

    /// The device of the current stack location.
    pub(crate) fn current_device(&self) -> Option<DeviceRef> {
        self.never()
    }

    /// `Irp->RequestorMode`.
    pub(crate) fn requestor_mode(&self) -> Mode {
        self.never()
    }

    /// `Irp->AssociatedIrp.SystemBuffer` as a slice, when the request has one. Its length is
    /// decided from the current stack location: read/write length on a `DO_BUFFERED_IO`
    /// device; for IOCTLs the larger of input and output length (METHOD_BUFFERED) or the input
    /// length (IN/OUT_DIRECT). `None` when there is no system buffer or its length is zero.
    pub(crate) fn system_buffer(&mut self) -> Option<&mut [u8]> {
        self.never()
    }

    /// The system mapping of `Irp->MdlAddress`: read/write data on a `DO_DIRECT_IO` device, the
    /// output buffer of a METHOD_IN/OUT_DIRECT IOCTL. `Ok(None)` when there is no MDL;
    /// `Err(STATUS_INSUFFICIENT_RESOURCES)` when it cannot be mapped.
    pub(crate) fn mdl_buffer(&mut self) -> Result<Option<&mut [u8]>, Status> {
        self.never()
    }

    /// For METHOD_IN_DIRECT / METHOD_OUT_DIRECT IOCTLs: the input (system buffer, empty if
    /// none) and the mapped output MDL (empty if none) at once; they never overlap.
    /// `Err(STATUS_INSUFFICIENT_RESOURCES)` when the MDL cannot be mapped.
    pub(crate) fn split_direct(&mut self) -> Result<(&[u8], &mut [u8]), Status> {
        self.never()
    }

    /// The raw user addresses of a METHOD_NEITHER request, as numbers only:
    /// (`Parameters.DeviceIoControl.Type3InputBuffer`, `Irp->UserBuffer`).
    pub(crate) fn user_addresses(&self) -> (usize, usize) {
        self.never()
    }

    /// `Irp->IoStatus.Information`.
    pub(crate) fn information(&self) -> usize {
        self.never()
    }

    /// `Irp->IoStatus.Information = information`.
    pub(crate) fn set_information(&mut self, _information: usize) {
        self.never()
    }

    /// `Irp->IoStatus.Status`.
    pub(crate) fn status(&self) -> Status {
        self.never()
    }

    /// Sets `IoStatus` and calls `IoCompleteRequest(irp, IO_NO_INCREMENT)`.
    pub(crate) fn complete(self, _status: Status, _information: usize) {
        self.never()
    }

    /// `IoMarkIrpPending`.
    pub(crate) fn mark_pending(&mut self) {
        self.never()
    }

    /// `Irp->PendingReturned` (meaningful inside a completion routine).
    pub(crate) fn pending_returned(&self) -> bool {
        self.never()
    }

    /// `IoSkipCurrentIrpStackLocation`.
    pub(crate) fn skip_current_location(&mut self) {
        self.never()
    }

    /// `IoCopyCurrentIrpStackLocationToNext`.
    pub(crate) fn copy_current_location_to_next(&mut self) {
        self.never()
    }

    /// `IoSetCompletionRoutine(irp, f, context, TRUE, TRUE, TRUE)` on the next location.
    pub(crate) fn set_completion_routine(&mut self, _f: CompletionFn, _context: *mut c_void) {
        self.never()
    }

    /// `IoCallDriver(target, irp)`: ownership passes to the target's driver.
    pub(crate) fn call_driver(self, _target: DeviceRef) -> Status {
        self.never()
    }

    /// `IoSetCancelRoutine(irp, f)`: returns whether a routine was set before.
    pub(crate) fn set_cancel_routine(&mut self, _f: Option<CancelFn>) -> bool {
        self.never()
    }

    /// `Irp->Cancel`: someone asked for the IRP to be cancelled.
    pub(crate) fn cancel_requested(&self) -> bool {
        self.never()
    }

    /// Called by the safe layer when an owned IRP is dropped without being completed, forwarded
    /// or pended: the host simulation reports it; kernel backends leave it to the caller's
    /// debug check.
    pub(crate) fn leaked(self) {
        self.never()
    }

    /// `Irp->Tail.Overlay.DriverContext[0]`: one pointer the owning driver may use while it
    /// owns the IRP (the safe layer keeps the queue a parked IRP sits in there).
    pub(crate) fn driver_context(&self) -> *mut c_void {
        self.never()
    }

    /// Sets `Irp->Tail.Overlay.DriverContext[0]`.
    pub(crate) fn set_driver_context(&mut self, _context: *mut c_void) {
        self.never()
    }

    /// Releases the cancel spin lock the system holds while calling a cancel routine
    /// (`IoReleaseCancelSpinLock(Irp->CancelIrql)`).
    pub(crate) fn release_cancel_lock(&self) {
        self.never()
    }

    /// The address of the current stack location's `FileObject` (0 for none): identifies the
    /// handle the IRP came through.
    pub(crate) fn file_object(&self) -> usize {
        self.never()
    }
}

/// A tagged pool block: no kernel, no pool.
pub(crate) const fn allocate_pool(
    _paged: bool,
    _size: usize,
    _tag: u32,
) -> Option<core::ptr::NonNull<u8>> {
    None
}

/// Frees a block of [`allocate_pool`] (none is ever made).
///
/// # Safety
///
/// Never called with a block: [`allocate_pool`] makes none.
pub(crate) const unsafe fn free_pool(_block: core::ptr::NonNull<u8>, _size: usize, _tag: u32) {}
