//! The host backend: the seam's handles point at the objects of the simulated I/O manager in
//! [`crate::host`].
//!
//! Driver and device objects are leaked by the simulation when created, so their pointers stay
//! valid for the rest of the process. An IRP's object is reference-counted: the simulation holds
//! one count until the IRP retires and every [`IrpRef`] holds one while it lives, so an IRP
//! pointer a driver holds is always valid memory. All of them are only read through shared
//! references: the simulation keeps all mutable state behind its own locks. The one exception is
//! an IRP's buffers, lent to the driver that owns the IRP as `&mut [u8]` (see
//! [`IrpRef::system_buffer`]). Each object reaches its simulation through a weak handle; when the
//! simulation is gone (a driver thread outliving its test), calls do nothing and report
//! failure.

// The seam contract: every backend provides every method of `none.rs`; the safe layer uses a
// subset that grows over time.
#![allow(
    dead_code,
    reason = "the full seam contract, of which the safe layer uses a subset"
)]

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU8;
use std::sync::Arc;

use super::{
    AddDeviceFn, CancelFn, CompletionFn, DeviceRef, DispatchFn, DriverEntryFn, DriverRef, IrpRef,
    Mode, StackParams, Status, UnloadFn,
};
use crate::host::{DeviceObj, DriverObj, IoManager, IrpObj};

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

/// One pause of a routine waiting for the others of its device to finish
/// (`DeviceRef::wait_until_alone`); `false` to stop waiting.
///
/// Windows waits as long as it takes. A test usually runs the simulation on one thread, where
/// an IRP this driver holds, or one pending below it, cannot finish while the waiter waits: so
/// after a few hundred milliseconds of other threads not finishing either, the simulation
/// reports what Windows would end with (bug check 0x1D5, DRIVER_PNP_WATCHDOG: a PnP IRP not
/// completed in time) and lets the removal go on, the deletion still deferred to the last
/// count.
pub(crate) fn wait_a_moment(round: u32, inside: usize) -> bool {
    /// Rounds of `yield_now`, then of 1 ms sleeps, before the wait counts as a hang.
    const YIELDS: u32 = 100;
    const SLEEPS: u32 = 400;
    if round < YIELDS {
        std::thread::yield_now();
        true
    } else if round < YIELDS + SLEEPS {
        std::thread::sleep(core::time::Duration::from_millis(1));
        true
    } else {
        crate::host::report_bug_check_current(
            0x1D5,
            [inside.saturating_sub(1), 0, 0, 0],
            &std::format!(
                "IRP_MN_REMOVE_DEVICE waits for {} routine(s) or observed forward(s) of this driver that do not finish: the removal would hang",
                inside.saturating_sub(1)
            ),
        );
        false
    }
}

/// Reports a panic in driver code as bug check 0x1E (KMODE_EXCEPTION_NOT_HANDLED) to the
/// simulation whose driver code this thread is running.
pub(crate) fn report_driver_panic(message: &str) {
    crate::host::report_driver_panic_current(message);
}

/// A tagged pool block (`wdm_compat::pool`): the simulation's low-resources countdown and IRQL
/// checks apply (paged pool above APC_LEVEL is reported, SDV IrqlExAllocatePool, and refused),
/// and the block is counted against the current driver and `tag` until freed; 16-byte aligned
/// like the pool's.
pub(crate) fn allocate_pool(paged: bool, size: usize, tag: u32) -> Option<core::ptr::NonNull<u8>> {
    if paged && crate::host::paged_allocation_refused_current() {
        return None;
    }
    if allocation_refused() {
        return None;
    }
    let layout = core::alloc::Layout::from_size_align(size.max(1), 16).ok()?;
    // SAFETY: the layout's size is not zero.
    let block = core::ptr::NonNull::new(unsafe { std::alloc::alloc(layout) })?;
    crate::host::pool_allocated_current(block.as_ptr().addr(), tag, size);
    Some(block)
}

/// Frees a block of [`allocate_pool`].
///
/// # Safety
///
/// `block` came from [`allocate_pool`] with `size` and `tag`, and is freed once.
pub(crate) unsafe fn free_pool(block: core::ptr::NonNull<u8>, size: usize, _tag: u32) {
    crate::host::pool_freed_current(block.as_ptr().addr());
    if let Ok(layout) = core::alloc::Layout::from_size_align(size.max(1), 16) {
        // SAFETY: the caller's contract: `allocate_pool` made the block with this layout.
        unsafe { std::alloc::dealloc(block.as_ptr(), layout) };
    }
}

/// Whether a paged block may be touched or freed now: not above APC_LEVEL (reported).
pub(crate) fn paged_access_refused(what: &str) -> bool {
    crate::host::paged_access_refused_current(what)
}

/// Whether the simulation refuses this allocation of driver code (low resources simulation).
pub(crate) fn allocation_refused() -> bool {
    crate::host::allocation_refused_current()
}

/// `KeBugCheckEx` from the simulated kernel, in driver code: reported, and the driver code
/// stops (it unwinds to the routine's panic guard).
pub(crate) fn bug_check(code: u32, params: [usize; 4], message: &str) -> ! {
    crate::host::bug_check_current(code, params, message)
}

/// [`bug_check`], naming the SDV rule whose run-time check (Driver Verifier's DDI compliance
/// checking) raised it.
pub(crate) fn rule_bug_check(
    rule: &'static str,
    code: u32,
    params: [usize; 4],
    message: &str,
) -> ! {
    crate::host::rule_bug_check_current(rule, code, params, message)
}

/// Reports such a bug check without stopping the driver code: for checks in a `Drop`, where
/// unwinding could abort the process.
pub(crate) fn report_rule_bug_check(
    rule: &'static str,
    code: u32,
    params: [usize; 4],
    message: &str,
) {
    crate::host::report_rule_bug_check_current(rule, code, params, message);
}

// ---------------------------------------------------------------------------------------------
// Pointers to and from the simulation's objects.

fn driver_ptr(obj: &'static DriverObj) -> *mut DriverObject {
    core::ptr::from_ref(obj).cast_mut()
}

fn device_ptr(obj: &'static DeviceObj) -> *mut DeviceObject {
    core::ptr::from_ref(obj).cast_mut()
}

fn irp_ptr(obj: &Arc<IrpObj>) -> *mut Irp {
    Arc::as_ptr(obj).cast_mut()
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
pub(crate) fn call_dispatch(f: DispatchFn, device: &'static DeviceObj, irp: &Arc<IrpObj>) -> i32 {
    // Any `IrpRef` the routine makes keeps its own count on the IRP.
    // SAFETY: one of the driver's device objects (immortal) and an IRP whose current stack
    // location was just set up for it, kept alive for the call by the caller's `Arc`.
    unsafe { f(device_ptr(device), irp_ptr(irp)) }
}

/// Calls a completion routine; `device` is `None` for the originator's routine.
pub(crate) fn call_completion(
    f: CompletionFn,
    device: Option<&'static DeviceObj>,
    irp: &Arc<IrpObj>,
    context: usize,
) -> i32 {
    let device = device.map_or(core::ptr::null_mut(), device_ptr);
    // SAFETY: completion routines are called with the device of the driver that set them
    // (null for the originator), the IRP, which is back in that driver's hands for the
    // duration of the call, and the context pointer the driver passed when setting them.
    unsafe { f(device, irp_ptr(irp), pointer(context)) }
}

/// Calls a cancel routine (the simulation holds the cancel spin lock for it).
pub(crate) fn call_cancel(f: CancelFn, device: &'static DeviceObj, irp: &Arc<IrpObj>) {
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

    /// The driver's simulation and id; `None` once the simulation is gone.
    fn sim(self) -> Option<(IoManager, crate::host::DriverId)> {
        let obj = self.obj();
        Some((obj.manager()?, obj.id))
    }

    /// `DriverObject->MajorFunction[major] = f`.
    pub(crate) fn set_dispatch(self, major: u8, f: DispatchFn) {
        if let Some((manager, id)) = self.sim() {
            manager.set_dispatch(id, major, f);
        }
    }

    /// `DriverObject->DriverUnload = f`.
    pub(crate) fn set_unload(self, f: UnloadFn) {
        if let Some((manager, id)) = self.sim() {
            manager.set_unload(id, f);
        }
    }

    /// `DriverObject->DriverExtension->AddDevice = f` (PnP drivers).
    pub(crate) fn set_add_device(self, f: AddDeviceFn) {
        if let Some((manager, id)) = self.sim() {
            manager.set_add_device(id, f);
        }
    }

    /// Stores the driver instance pointer in driver-owned storage of the driver object.
    pub(crate) fn set_context(self, context: *const c_void) {
        if let Some((manager, id)) = self.sim() {
            manager.set_driver_context(id, word(context));
        }
    }

    /// The pointer last stored by `set_context` (null if none).
    pub(crate) fn context(self) -> *const c_void {
        let context = self
            .sim()
            .map_or(0, |(manager, id)| manager.driver_context(id));
        pointer(context).cast_const()
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
        let (manager, driver) = self.sim().ok_or(Status::NO_SUCH_DEVICE)?;
        let id = manager.create_device(driver, name, device_type, exclusive)?;
        let device = manager
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

    /// The device's simulation and id; `None` once the simulation is gone.
    fn sim(self) -> Option<(IoManager, crate::host::DeviceId)> {
        let obj = self.obj();
        Some((obj.manager()?, obj.id))
    }

    /// The count of routines running for the device, with the deletion bit (see `rundown.rs`).
    pub(crate) fn io_count(&self) -> Option<&core::sync::atomic::AtomicUsize> {
        Some(&self.obj().io_count)
    }

    /// Gives the device the descriptor of `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`, as
    /// `IoCreateDeviceSecure` does.
    pub(crate) fn restrict_to_system_and_administrators(self) -> Result<(), Status> {
        let (manager, id) = self.sim().ok_or(Status::NO_SUCH_DEVICE)?;
        let sddl = crate::device::DeviceSecurity::SystemAndAdministrators
            .sddl()
            .ok_or(Status::INTERNAL_ERROR)?;
        manager.set_device_security(id, sddl)
    }

    /// `IoDeleteDevice`.
    pub(crate) fn delete(self) {
        if let Some((manager, id)) = self.sim() {
            manager.delete_device(id);
        }
    }

    /// `DeviceObject->Flags`.
    pub(crate) fn flags(self) -> u32 {
        self.sim()
            .map_or(0, |(manager, id)| manager.device_flags(id))
    }

    /// `DeviceObject->Flags |= flags`.
    pub(crate) fn set_flags(self, flags: u32) {
        if let Some((manager, id)) = self.sim() {
            manager.update_device_flags(id, flags, 0);
        }
    }

    /// `DeviceObject->Flags &= !flags`.
    pub(crate) fn clear_flags(self, flags: u32) {
        if let Some((manager, id)) = self.sim() {
            manager.update_device_flags(id, 0, flags);
        }
    }

    /// Stores one pointer in the device's extension.
    pub(crate) fn set_context(self, context: *const c_void) {
        if let Some((manager, id)) = self.sim() {
            manager.set_device_context(id, word(context));
        }
    }

    /// The pointer last stored by `set_context` (null if none).
    pub(crate) fn context(self) -> *const c_void {
        let context = self
            .sim()
            .map_or(0, |(manager, id)| manager.device_context(id));
        pointer(context).cast_const()
    }

    /// `DeviceObject->DeviceType = device_type`.
    pub(crate) fn set_device_type(self, device_type: u32) {
        if let Some((manager, id)) = self.sim() {
            manager.set_device_type(id, device_type);
        }
    }

    /// `DeviceObject->DriverObject`.
    pub(crate) fn driver(self) -> DriverRef {
        let driver = self.sim().and_then(|(manager, id)| {
            let driver = manager.device_driver(id)?;
            manager.driver_obj(driver)
        });
        // Every device has a driver while its simulation lives; a driver object that reaches no
        // simulation stands in otherwise, so the answer is never dangling.
        DriverRef(NonNull::from(driver.unwrap_or_else(DriverObj::orphan)))
    }

    /// `DeviceObject->DeviceType`.
    pub(crate) fn device_type(self) -> u32 {
        self.sim()
            .map_or(0, |(manager, id)| manager.device_type(id))
    }

    /// `IoAttachDeviceToDeviceStack(self, target)`.
    pub(crate) fn attach_to(self, target: DeviceRef) -> Option<DeviceRef> {
        let (manager, id) = self.sim()?;
        let lower = manager.attach_device(id, target.obj().id)?;
        manager
            .device_obj(lower)
            .map(|device| DeviceRef(NonNull::from(device)))
    }

    /// `IoDetachDevice(lower)`, where `self` is the device attached over `lower`.
    pub(crate) fn detach(self, lower: DeviceRef) {
        if let Some((manager, id)) = self.sim() {
            manager.detach_device(Some(id), lower.obj().id);
        }
    }

    /// `IoCreateSymbolicLink(link, name of self)`.
    pub(crate) fn create_symbolic_link(self, link: &str) -> Result<(), Status> {
        let (manager, id) = self.sim().ok_or(Status::NO_SUCH_DEVICE)?;
        manager.create_symbolic_link(id, link)
    }

    /// `IoDeleteSymbolicLink(link)`.
    pub(crate) fn delete_symbolic_link(self, link: &str) {
        if let Some((manager, _)) = self.sim() {
            let _status = manager.delete_symbolic_link(link);
        }
    }
}

/// Takes a count on an IRP object for a new [`IrpRef`].
///
/// # Safety
///
/// `irp` must be a pointer the simulation handed to driver code (from `Arc::as_ptr` of an
/// `IrpObj` whose count the simulation or another handle still holds).
pub(crate) unsafe fn retain_irp(irp: NonNull<Irp>) {
    // SAFETY: the pointer comes from `Arc::as_ptr` and the object is alive (the caller's
    // guarantee), which is what `increment_strong_count` requires.
    unsafe { Arc::increment_strong_count(irp.as_ptr().cast_const()) };
}

/// Gives back the count [`retain_irp`] took (when an [`IrpRef`] is dropped).
///
/// # Safety
///
/// Called once per [`retain_irp`], with the same pointer, after the last use of the handle.
pub(crate) unsafe fn release_irp(irp: NonNull<Irp>) {
    // SAFETY: this returns the count `retain_irp` took on this very object; when it was the
    // last count the object is freed, and the handle that held it is being dropped.
    unsafe { Arc::decrement_strong_count(irp.as_ptr().cast_const()) };
}

impl IrpRef {
    fn obj(&self) -> &IrpObj {
        // SAFETY: this handle holds a count on the `IrpObj` (`retain_irp` in `from_raw`), so
        // the object lives at least as long as `self`; it is only read through shared
        // references (its buffers are atomics).
        unsafe { self.0.as_ref() }
    }

    /// The IRP's simulation and id; `None` once the simulation is gone.
    fn sim(&self) -> Option<(IoManager, crate::host::IrpId)> {
        let obj = self.obj();
        Some((obj.manager()?, obj.id))
    }

    /// The current stack location's major, minor and decoded parameters.
    pub(crate) fn stack(&self) -> StackParams {
        match self.sim() {
            Some((manager, id)) => manager.stack_params(id),
            None => StackParams {
                major: 0,
                minor: 0,
                params: super::Params::Other,
            },
        }
    }

    /// `Irp->RequestorMode`.
    pub(crate) fn requestor_mode(&self) -> Mode {
        self.sim()
            .map_or(Mode::Kernel, |(manager, id)| manager.requestor_mode(id))
    }

    fn system_buffer_len(&self) -> usize {
        self.sim()
            .map_or(0, |(manager, id)| manager.system_buffer_len(id))
    }

    /// `Irp->AssociatedIrp.SystemBuffer` as a slice of the length the current stack location
    /// describes; `None` when there is none or its length is zero.
    pub(crate) fn system_buffer(&mut self) -> Option<&mut [u8]> {
        let len = self.system_buffer_len();
        let cells = self.obj().system.get(..len).filter(|c| !c.is_empty())?;
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
        let len = self.system_buffer_len();
        let obj = self.obj();
        let input_cells = obj.system.get(..len).unwrap_or_default();
        // SAFETY: as in `system_buffer`; the input is only read while the handle is borrowed.
        let input = unsafe { lend(input_cells) };
        // SAFETY: as in `system_buffer`; the MDL buffer is a different allocation.
        let output = unsafe { lend_mut(&obj.mdl) };
        Ok((input, output))
    }

    /// (`Type3InputBuffer`, `Irp->UserBuffer`) as numbers only.
    pub(crate) fn user_addresses(&self) -> (usize, usize) {
        self.sim()
            .map_or((0, 0), |(manager, id)| manager.user_addresses(id))
    }

    /// `Irp->IoStatus.Information`.
    pub(crate) fn information(&self) -> usize {
        self.sim()
            .map_or(0, |(manager, id)| manager.information(id))
    }

    /// `Irp->IoStatus.Information = information`.
    pub(crate) fn set_information(&mut self, information: usize) {
        if let Some((manager, id)) = self.sim() {
            manager.set_information(id, information);
        }
    }

    /// `Irp->IoStatus.Status`.
    pub(crate) fn status(&self) -> Status {
        self.sim()
            .map_or(Status::NO_SUCH_DEVICE, |(manager, id)| manager.status(id))
    }

    /// Sets `IoStatus` and calls `IoCompleteRequest(irp, IO_NO_INCREMENT)`.
    pub(crate) fn complete(self, status: Status, information: usize) {
        if let Some((manager, id)) = self.sim() {
            manager.complete_request(id, status, information, false);
        }
    }

    /// Records a completion for `TrackingCompleter` without running the completion path.
    pub(crate) fn tracked_complete(self, status: Status, information: usize) {
        if let Some((manager, id)) = self.sim() {
            manager.tracked_complete(id, status, information);
        }
    }

    /// `IoMarkIrpPending`.
    pub(crate) fn mark_pending(&mut self) {
        if let Some((manager, id)) = self.sim() {
            manager.mark_pending(id);
        }
    }

    /// `Irp->PendingReturned`.
    pub(crate) fn pending_returned(&self) -> bool {
        self.sim()
            .is_some_and(|(manager, id)| manager.pending_returned(id))
    }

    /// `IoSkipCurrentIrpStackLocation`.
    pub(crate) fn skip_current_location(&mut self) {
        if let Some((manager, id)) = self.sim() {
            manager.skip_current_location(id);
        }
    }

    /// `IoCopyCurrentIrpStackLocationToNext`.
    pub(crate) fn copy_current_location_to_next(&mut self) {
        if let Some((manager, id)) = self.sim() {
            manager.copy_current_location_to_next(id);
        }
    }

    /// `IoSetCompletionRoutine(irp, f, context, TRUE, TRUE, TRUE)` on the next location.
    pub(crate) fn set_completion_routine(&mut self, f: CompletionFn, context: *mut c_void) {
        if let Some((manager, id)) = self.sim() {
            manager.set_native_completion_routine(id, f, word(context));
        }
    }

    /// The device of the current stack location (`DeviceObject` of
    /// `IoGetCurrentIrpStackLocation`).
    pub(crate) fn current_device(&self) -> Option<DeviceRef> {
        let (manager, id) = self.sim()?;
        let device = manager.device_obj(manager.irp_current_device(id)?)?;
        Some(DeviceRef(NonNull::from(device)))
    }

    /// `IoCallDriver(target, irp)`.
    pub(crate) fn call_driver(self, target: DeviceRef) -> Status {
        match self.sim() {
            Some((manager, id)) => manager.call_driver(id, target.obj().id),
            None => Status::NO_SUCH_DEVICE,
        }
    }

    /// `IoSetCancelRoutine(irp, f)`: returns whether a routine was set before.
    pub(crate) fn set_cancel_routine(&mut self, f: Option<CancelFn>) -> bool {
        self.sim()
            .is_some_and(|(manager, id)| manager.set_native_cancel_routine(id, f))
    }

    /// `Irp->Cancel`.
    pub(crate) fn cancel_requested(&self) -> bool {
        self.sim()
            .is_some_and(|(manager, id)| manager.cancel_requested(id))
    }

    /// The safe layer dropped the IRP without finishing it: reported, then completed with
    /// `STATUS_CANCELLED`.
    pub(crate) fn leaked(self) {
        if let Some((manager, id)) = self.sim() {
            manager.irp_leaked(id);
        }
    }

    /// `Irp->Tail.Overlay.DriverContext[0]`.
    pub(crate) fn driver_context(&self) -> *mut c_void {
        pointer(
            self.sim()
                .map_or(0, |(manager, id)| manager.irp_driver_context(id)),
        )
    }

    /// Sets `Irp->Tail.Overlay.DriverContext[0]`.
    pub(crate) fn set_driver_context(&mut self, context: *mut c_void) {
        if let Some((manager, id)) = self.sim() {
            manager.set_irp_driver_context(id, word(context));
        }
    }

    /// `IoGetCurrentIrpStackLocation(irp)->FileObject`, as a number (0 for none).
    pub(crate) fn file_object(&self) -> usize {
        self.sim()
            .and_then(|(manager, id)| manager.irp_file(id))
            .map_or(0, |file| file.0)
    }

    /// `IoReleaseCancelSpinLock(Irp->CancelIrql)`.
    pub(crate) fn release_cancel_lock(&self) {
        if let Some((manager, id)) = self.sim() {
            manager.release_cancel_lock(id);
        }
    }
}
