//! The KMDF backend: every framework call goes through `call_unsafe_wdf_function_binding!`,
//! which looks the function up in the KMDF 1.33 function table (`WdfFunctions_01033`) and calls
//! it with the image's driver globals first.
//!
//! The same code runs in two places. In a KMDF driver package on Windows (feature `wdk`) the
//! binding is wdk-sys's and the table the real KMDF's. In the host tests (feature `host`) the
//! binding is the project's own (`kmdf_sim::bindings`, the same names, types and table
//! indices, from the KMDF 1.33 headers) and the table the simulated KMDF's. Two things are
//! specific to the host, both because many driver images share one test process: the image's
//! statics are found through the simulated loader ([`image`]), and a panic in driver code is
//! caught and reported as the bug check it would be ([`guarded`]; not when built to abort on
//! panic, as `.ci/ioctl-cost`'s measure profile is: there it is the plain call of a driver
//! image).
//!
//! How the crate's objects map onto KMDF's:
//!
//! * The driver value `D` returned by `driver_entry` is boxed and published in the image's
//!   statics; it is dropped in the `WDFDRIVER`'s `EvtDestroyCallback`, after every device and
//!   queue was cleaned up. A request that arrives on a control device before `driver_entry`
//!   returned (possible once `finish_initializing` ran) is completed with
//!   `STATUS_DEVICE_NOT_READY`.
//! * Each `WDFDEVICE`, `WDFQUEUE`, `WDFTIMER` and `WDFWORKITEM` the crate creates carries one
//!   pointer-sized context of the type [`RECORD`]: the address of the crate's record for it
//!   (`DeviceRecord<D>`, holding the typed contexts and cleanup callbacks; `QueueRecord<D>`,
//!   holding the callbacks; `ChildRecord<D, H>`). A record lives in a slot ([`record`]) until
//!   its object is destroyed and no caller is inside it; when KMDF disposes an object (its
//!   `EvtCleanupCallback`), its record's handle cell is cleared ([`live`]). The crate's
//!   `Device`, `Queue`, `IoTarget`, `Timer` and `WorkItem` handles are tickets to records
//!   (the slot and the record's generation), so they stay valid for the driver's whole life:
//!   one kept past a removal finds no object (calls fail with `STATUS_INVALID_DEVICE_STATE` or
//!   do nothing) instead of a disposed or deleted one, and a call that began before holds the
//!   record and a framework reference on the object until it returns.
//! * A request that is marked cancelable gets a context of the type [`cancel::CANCEL`] holding
//!   the driver's cancel routine and a pointer to its ownership cell (crate memory: who owns
//!   the request now, the routine or the driver), read by the one `EvtRequestCancel`
//!   trampoline. The driver's handle to the cancelable request holds a share of that cell, not
//!   a reference on the request: unmarking and the cancel routine are serialized through it as
//!   `WdfRequestUnmarkCancelable`'s documentation requires, so the crate never unmarks a request
//!   its cancel routine completed, and a handle kept past the request (and its device) touches
//!   nothing of it.
//! * The driver value is published with its `TypeId` (`Image::driver_type`): the trampolines
//!   whose type the driver names at the call (`send_observed::<D>`,
//!   `send_with_completion_routine::<D>`, `hook_keyboard_connect::<D>`) check it and find
//!   nothing, instead of the value read as another type, when `D` is not the image's driver
//!   type; the trampolines of the image's own objects, created through handles typed by the
//!   image's `D`, do not pay for the check.
//! * Typed contexts live in the device's or queue's record (`contexts.rs`) rather than in
//!   KMDF's own context memory: a Rust context type is identified by its `static`
//!   [`ContextTypeInfo`], which cannot be a `WDF_OBJECT_CONTEXT_TYPE_INFO` without putting a
//!   WDK type in the public API.
//!
//! | DDI | IRQL | used by |
//! |---|---|---|
//! | `WdfDriverCreate` | PASSIVE | `DriverEntry` |
//! | `WdfControlDeviceInitAllocate`, `WdfDeviceInitAssignName` | PASSIVE | `DriverHandle::create_control_device` |
//! | `WdfDeviceInitSetIoType`, `…SetExclusive`, `…SetCharacteristics`, `…SetDeviceType` | ≤ DISPATCH | device creation |
//! | `WdfDeviceInitSetFileObjectConfig` | ≤ DISPATCH | device creation (`EvtFileClose`) |
//! | `WdfDeviceInitFree` | ≤ DISPATCH | a failed control-device creation |
//! | `WdfFdoInitSetFilter` | PASSIVE | `DeviceHandle::fdo_init_set_filter` |
//! | `WdfDeviceInitSetRequestAttributes` | ≤ DISPATCH | `DeviceHandle::fdo_init_set_request_context`, control-device creation |
//! | `WdfDeviceInitSetPnpPowerEventCallbacks` | ≤ DISPATCH | `DeviceHandle::fdo_init_set_pnp_power_callbacks` (the callbacks: [`pnp_power`]) |
//! | `WdfDeviceCreate` | PASSIVE | device creation |
//! | `WdfObjectGetTypedContextWorker` | ≤ DISPATCH + 1 | the trampolines of devices and queues |
//! | `WdfObjectAllocateContext` | ≤ DISPATCH | `RequestHandle::mark_cancelable` |
//! | `WdfObjectReferenceActual`, `WdfObjectDereferenceActual` | ≤ DISPATCH | calls through a kept `Device`, `Queue` or `IoTarget`; lookaside lists and blocks; the file create callback |
//! | `WdfIoQueueCreate` | ≤ DISPATCH | `DeviceHandle::create_queue` |
//! | `WdfDeviceConfigureRequestDispatching` | ≤ DISPATCH | `DeviceHandle::configure_request_dispatching` |
//! | `WdfDeviceCreateSymbolicLink` | PASSIVE | `DeviceHandle::create_symbolic_link` |
//! | `WdfDeviceCreateDeviceInterface` | PASSIVE | `DeviceHandle::create_device_interface` |
//! | `WdfControlFinishInitializing` | ≤ DISPATCH | `DeviceHandle::finish_initializing` |
//! | `WdfIoQueueRetrieveNextRequest` | ≤ DISPATCH | `DeviceHandle::retrieve_next_request` |
//! | `WdfIoQueueRetrieveRequestByFileObject` | ≤ DISPATCH | `DeviceHandle::retrieve_request_by_file_object` |
//! | `WdfIoQueueStop`, `WdfIoQueueStart` | ≤ DISPATCH | `DeviceHandle::stop_queue`, `start_queue` |
//! | `WdfIoQueuePurgeSynchronously` | PASSIVE | `DeviceHandle::purge_queue` |
//! | `WdfIoQueueStopSynchronously` | PASSIVE | `DeviceHandle::stop_queue_synchronously` |
//! | `WdfIoQueueGetState` | ≤ DISPATCH | `QueueHandle::queued` |
//! | `WdfIoQueueGetDevice` | ≤ DISPATCH | queue ownership checks; a request's device (`RequestHandle::device_context`, `default_io_target`) |
//! | `WdfRequestGetIoQueue` | ≤ DISPATCH | `RequestHandle::default_io_target`, `queue_context`, `device_context` |
//! | `WdfDeviceGetIoTarget` | ≤ DISPATCH | `RequestHandle::default_io_target` |
//! | `WdfDeviceGetDefaultQueue` | ≤ DISPATCH | `DeviceHandle::default_queue` |
//! | `WdfRequestGetParameters` | ≤ DISPATCH | `RequestHandle::request_type`, `parameters` |
//! | `WdfRequestSetInformation`, `WdfRequestGetInformation` | ≤ DISPATCH | request information |
//! | `WdfRequestCompleteWithInformation` | ≤ DISPATCH | `RequestHandle::complete` |
//! | `WdfRequestForwardToIoQueue` | ≤ DISPATCH | `RequestHandle::forward_to_queue` |
//! | `WdfRequestFormatRequestUsingCurrentType` | ≤ DISPATCH | `RequestHandle::send_with_completion`, `send_with_routine` |
//! | `WdfRequestSetCompletionRoutine` | ≤ DISPATCH | `RequestHandle::send_with_completion`, `send_with_routine` |
//! | `WdfRequestSend` | ≤ DISPATCH (PASSIVE synchronous) | `RequestHandle::send_and_forget`, `send_with_completion`, `send_with_routine`, `send_synchronously` |
//! | `WdfIoTargetSendIoctlSynchronously`, `WdfIoTargetSendInternalIoctlSynchronously` (buffer or memory-object descriptors) | PASSIVE | `IoTargetHandle::send_ioctl_synchronously` |
//! | `WdfRequestGetStatus` | ≤ DISPATCH | a failed send; the completion trampoline |
//! | `WdfRequestIsCanceled` | ≤ DISPATCH | `RequestHandle::is_canceled` |
//! | `WdfRequestRetrieveInputBuffer`, `WdfRequestRetrieveOutputBuffer` | ≤ DISPATCH | request buffers |
//! | `WdfRequestMarkCancelableEx`, `WdfRequestUnmarkCancelable` | ≤ DISPATCH | cancelable requests |
//! | `WdfRequestStopAcknowledge` | ≤ DISPATCH | `RequestRef::stop_acknowledge` (in `EvtIoStop`) |
//! | `WdfVerifierDbgBreakPoint` | ≤ DISPATCH | a dropped request, in debug builds |
//! | `WdfWaitLockCreate`, `WdfObjectDelete` | ≤ DISPATCH | `WaitLockHandle::create`, its drop |
//! | `WdfWaitLockAcquire` | PASSIVE (≤ DISPATCH with a zero timeout) | `WaitLockHandle::acquire`, `try_acquire` |
//! | `WdfWaitLockRelease` | ≤ DISPATCH | `WaitLockHandle::release` |
//! | `WdfTimerCreate` (parent: a device, or a queue with `AutomaticSerialization`), `WdfTimerStart` | ≤ DISPATCH | `TimerHandle::create`, `start` |
//! | `WdfTimerStop` | ≤ DISPATCH (PASSIVE to wait) | `TimerHandle::stop` |
//! | `WdfWorkItemCreate`, `WdfWorkItemEnqueue` | ≤ DISPATCH | `WorkItemHandle::create`, `enqueue` |
//! | `WdfWorkItemFlush` | PASSIVE | `WorkItemHandle::flush` |
//! | `WdfDriverOpenParametersRegistryKey`, `WdfRegistryQueryULong`, `WdfRegistryClose` | PASSIVE | `DriverHandle::open_parameters_key`, `ParametersKey` |
//! | `WdfLookasideListCreate`, `WdfMemoryCreateFromLookaside`, `WdfMemoryGetBuffer` | ≤ DISPATCH | `LookasideHandle`, `LookasideBlock` ([`lookaside`]) |
//! | `WdfDeviceWdmGetDeviceObject` | ≤ DISPATCH | `RequestHandle::hook_keyboard_connect` ([`keyboard`]) |
//! | `WdfWdmDeviceGetWdfDeviceHandle` | ≤ DISPATCH | the hooked keyboard class service callback ([`keyboard`]) |

mod cancel;
mod child;
mod contexts;
mod device;
mod driver;
mod file;
mod keyboard;
mod live;
mod lookaside;
mod memory;
mod pnp_power;
mod queue;
mod record;
mod registry;
mod request;
mod request_context;
mod sent_ioctl;
mod timer;
mod wait_lock;
mod work_item;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

#[cfg(not(feature = "host"))]
use ::wdk_sys;
#[cfg(feature = "host")]
use kmdf_sim::bindings as wdk_sys;
use wdk_sys::{
    UNICODE_STRING, WDF_OBJECT_ATTRIBUTES, WDF_OBJECT_CONTEXT_TYPE_INFO, WDFOBJECT,
    call_unsafe_wdf_function_binding,
};
use wdm_compat::memory::{try_box, try_collect, try_push};
use wdm_compat::{NtResult, NtStatus, SpinLock};

pub(crate) use cancel::KeptHandle;
pub(crate) use device::DeviceHandle;
pub(crate) use driver::DriverHandle;
#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
pub(crate) use driver::image_driver_entry;
#[cfg(feature = "host")]
pub(crate) use driver::image_entry;
pub(crate) use file::{FileContext, FileEventsBox, FileRef, keep_file_events};
pub(crate) use lookaside::{LookasideBlock, LookasideHandle};
pub(crate) use memory::MemoryHandle;
pub(crate) use queue::QueueHandle;
pub(crate) use record::ContextGuard;
pub(crate) use registry::ParametersKey;
pub(crate) use request::{IoTargetHandle, RequestHandle, RequestRef};
pub(crate) use request_context::RequestContextSpec;
pub(crate) use timer::TimerHandle;
pub(crate) use wait_lock::WaitLockHandle;
pub(crate) use work_item::WorkItemHandle;

/// A `WDF_OBJECT_CONTEXT_TYPE_INFO` in a `static`.
#[repr(transparent)]
pub(crate) struct TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO);

// SAFETY: the info is immutable after compilation; its pointers name other immutable statics
// (the context name and the info itself), so sharing it between threads is sharing constants.
unsafe impl Sync for TypeInfo {}

/// The context of every device and queue the crate creates: the address of its record.
static RECORD: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"WdfSafeRecord".as_ptr(),
    ContextSize: size_of::<*const c_void>(),
    // As WDF_DECLARE_CONTEXT_TYPE does: the info is its own unique type.
    UniqueType: &raw const RECORD.0,
    EvtDriverGetUniqueContextType: None,
});

// KMDF aligns context memory to MEMORY_ALLOCATION_ALIGNMENT (16 bytes on x64).
const _: () = assert!(align_of::<*const c_void>() <= 16);

/// `WDF_OBJECT_ATTRIBUTES_INIT` + `WDF_OBJECT_ATTRIBUTES_SET_CONTEXT_TYPE(info)`, with the
/// object's cleanup and destroy callbacks.
fn attributes(
    info: &'static TypeInfo,
    cleanup: wdk_sys::PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    destroy: wdk_sys::PFN_WDF_OBJECT_CONTEXT_DESTROY,
) -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        Size: size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        EvtCleanupCallback: cleanup,
        EvtDestroyCallback: destroy,
        ExecutionLevel: wdk_sys::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope:
            wdk_sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ContextTypeInfo: &raw const info.0,
        ..WDF_OBJECT_ATTRIBUTES::default()
    }
}

/// The context of type `info` on `object`, or null.
fn context_of(object: WDFOBJECT, info: &'static TypeInfo) -> *mut c_void {
    // SAFETY: `object` is a live framework handle the caller got from the framework (a callback
    // argument or a handle the crate created and has not seen destroyed); `info` is a static
    // type info that lives forever.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfObjectGetTypedContextWorker, object, &raw const info.0)
    }
}

/// The record pointer stored in `object`'s [`RECORD`] context (null when none was stored).
fn record_of<R>(object: WDFOBJECT) -> *const R {
    let slot = context_of(object, &RECORD).cast::<*const c_void>();
    if slot.is_null() {
        return ptr::null();
    }
    // SAFETY: a RECORD context is pointer-sized, pointer-aligned, zeroed by the framework at
    // allocation and written only by `publish_record`.
    unsafe { slot.read() }.cast()
}

/// Stores `record` in `object`'s [`RECORD`] context.
fn publish_record<R>(object: WDFOBJECT, record: *const R) {
    let slot = context_of(object, &RECORD).cast::<*const c_void>();
    if !slot.is_null() {
        // SAFETY: as in `record_of`; the object was just created, so no callback reads the
        // slot concurrently (callbacks reach the object only once it is returned to the crate).
        unsafe { slot.write(record.cast()) };
    }
}

/// `name` as UTF-16, for a `UNICODE_STRING` that lives as long as the vector.
fn utf16(name: &str) -> NtResult<Vec<u16>> {
    let units = try_collect(name.encode_utf16().count(), name.encode_utf16())
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    if units.len() * 2 > usize::from(u16::MAX) - 1 {
        return Err(NtStatus::NAME_TOO_LONG);
    }
    Ok(units)
}

/// A `UNICODE_STRING` over `units` (no terminating NUL: the length counts).
fn unicode(units: &[u16]) -> UNICODE_STRING {
    let bytes = u16::try_from(units.len() * 2).unwrap_or(u16::MAX - 1);
    UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: units.as_ptr().cast_mut(),
    }
}

/// A flag of a WDF enum, for a `ULONG` flags field: the enum's Rust type is `i32` in the WDK's
/// bindings (MSVC's `int`), `u32` in others, so the cast is not always a no-op.
#[allow(
    clippy::unnecessary_cast,
    clippy::cast_sign_loss,
    reason = "the width of a bindgen enum depends on the headers (see above)"
)]
const fn enum_flags(flag: wdk_sys::_WDF_DRIVER_INIT_FLAGS::Type) -> u32 {
    flag as u32
}

// ---------------------------------------------------------------------------------------------
// The image's statics.

/// Anything the image keeps until the driver unloads (the record slots).
trait Kept: Send + Sync {}

impl<T: Send + Sync> Kept for T {}

/// A kept record: owned like a `Box`, but held as a raw pointer, because the driver reads the
/// record through `&'static` references while it is kept, and a `Box` asserts that it is the
/// only way to the value (moving one would invalidate those references under Rust's aliasing
/// rules, which Miri checks).
struct KeptRecord(core::ptr::NonNull<dyn Kept>);

// SAFETY: it owns a `dyn Kept`, which is `Send + Sync`, and hands out only shared references.
unsafe impl Send for KeptRecord {}
// SAFETY: as above.
unsafe impl Sync for KeptRecord {}

impl Drop for KeptRecord {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` in `keep` and is freed only here, once
        // no code of the driver runs any more (the image's kept records go at unload).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// What a driver image keeps in its statics: the driver value, and the slots records live in
/// ([`record`]), kept until the `WDFDRIVER` is destroyed, so a `Device`, `Queue` or `IoTarget`
/// a driver kept past a removal finds a slot that says the record is gone, never freed
/// memory.
struct Image {
    driver: AtomicPtr<c_void>,
    /// The driver value's type, recorded before the value is published (`driver_of_type`).
    driver_type: SpinLock<Option<core::any::TypeId>>,
    /// The `WDFDRIVER` (what `WdfGetDriver` reads from the driver globals), for creating a
    /// control device after `DriverEntry`.
    wdf_driver: AtomicPtr<c_void>,
    /// The `WDFDRIVER`'s destroy callback has begun: KMDF deleted the driver's children.
    torn_down: AtomicBool,
    /// The slots no record holds (see [`record`]); before `kept`, which owns the slots, so it
    /// is dropped first.
    free_slots: SpinLock<record::FreeSlots>,
    kept: SpinLock<Vec<KeptRecord>>,
    /// The first queues' records by `WDFQUEUE`, read without a lock or a framework call when
    /// a request is presented (what a C driver gets for free by naming its callbacks). More
    /// queues than slots are found through their context, as before.
    queues: [QueueSlot; QUEUE_SLOTS],
}

/// How many queues' records [`Image::queues`] holds.
const QUEUE_SLOTS: usize = 8;

/// One queue's record pointer, by its handle. `queue` is null when the slot is free and
/// [`CLAIMED`] while a registration writes `record`; a reader compares it with a real handle,
/// which is neither.
struct QueueSlot {
    queue: AtomicPtr<c_void>,
    record: AtomicPtr<c_void>,
}

/// The placeholder a registration puts in a slot it is filling (never a handle's value).
const CLAIMED: *mut c_void = ptr::without_provenance_mut(1);

impl QueueSlot {
    /// A free slot.
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "only the array initializer uses it, where each element is a value of its own"
    )]
    const FREE: Self = Self {
        queue: AtomicPtr::new(ptr::null_mut()),
        record: AtomicPtr::new(ptr::null_mut()),
    };
}

impl Image {
    const fn new() -> Self {
        Self {
            driver: AtomicPtr::new(ptr::null_mut()),
            driver_type: SpinLock::new(None),
            wdf_driver: AtomicPtr::new(ptr::null_mut()),
            torn_down: AtomicBool::new(false),
            free_slots: SpinLock::new(record::FreeSlots::new()),
            kept: SpinLock::new(Vec::new()),
            queues: [QueueSlot::FREE; QUEUE_SLOTS],
        }
    }
}

/// The image's statics: a `static` of the driver image.
#[cfg(not(feature = "host"))]
fn image() -> Option<&'static Image> {
    static IMAGE: Image = Image::new();
    Some(&IMAGE)
}

/// The image's statics: on the host one process holds many images, so they hang from the
/// simulated loader's per-image pointer, installed by `DriverEntry` and freed with the
/// `WDFDRIVER` ([`uninstall_image`]).
#[cfg(feature = "host")]
fn image() -> Option<&'static Image> {
    let installed = kmdf_sim::image_static().cast::<Image>();
    // SAFETY: the pointer is null or the `Box<Image>` `install_image` leaked for the image
    // whose code runs on this thread; it is freed only by `uninstall_image`, in the WDFDRIVER's
    // destroy callback, after which none of the image's code runs.
    unsafe { installed.as_ref() }
}

/// Gives the image its statics (nothing to do for a real image: they are in its data section).
#[cfg(not(feature = "host"))]
fn install_image() -> bool {
    true
}

#[cfg(feature = "host")]
fn install_image() -> bool {
    let image = Box::into_raw(Box::new(Image::new()));
    match kmdf_sim::set_image_static(image.cast()) {
        Some(old) if old.is_null() => true,
        _ => {
            // SAFETY: just leaked above and never published.
            drop(unsafe { Box::from_raw(image) });
            false
        }
    }
}

/// The image's statics are done with: the `WDFDRIVER` is destroyed.
#[cfg(not(feature = "host"))]
fn uninstall_image() {
    if let Some(image) = image() {
        // The records left in slots go first, while every slot still exists.
        record::unload(&image.free_slots);
        // Taken out under the lock, dropped after it is released: the records' drops (the
        // driver's contexts) run at the caller's IRQL, not at the spin lock's.
        let kept = core::mem::take(&mut *image.kept.lock());
        drop(kept);
    }
}

#[cfg(feature = "host")]
fn uninstall_image() {
    let Some(old) = kmdf_sim::set_image_static(ptr::null_mut()) else {
        return;
    };
    if !old.is_null() {
        // SAFETY: leaked by `install_image` and unpublished just above; no code of the image
        // runs any more (its WDFDRIVER is being destroyed).
        let image = unsafe { Box::from_raw(old.cast::<Image>()) };
        // The records left in slots go first, while every slot still exists.
        record::unload(&image.free_slots);
        drop(image);
    }
}

/// Lists a queue's record under its handle, when a slot is free.
fn register_queue(queue: *mut c_void, record: *const c_void) {
    let slots = image().map_or(&[][..], |image| &image.queues[..]);
    let claimed = slots.iter().find(|slot| {
        slot.queue
            .compare_exchange(
                ptr::null_mut(),
                CLAIMED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    });
    if let Some(slot) = claimed {
        slot.record.store(record.cast_mut(), Ordering::Relaxed);
        // Publishes the record with the handle: a reader that sees the handle sees it.
        slot.queue.store(queue, Ordering::Release);
    }
}

/// The record listed for `queue` by [`register_queue`], if any.
fn registered_queue(queue: *mut c_void) -> Option<*const c_void> {
    let image = image()?;
    image
        .queues
        .iter()
        .find(|slot| slot.queue.load(Ordering::Acquire) == queue)
        .map(|slot| slot.record.load(Ordering::Relaxed).cast_const())
}

/// Takes a destroyed queue off the list (before KMDF may reuse its handle's value).
fn unregister_queue(queue: *mut c_void) {
    let slots = image().map_or(&[][..], |image| &image.queues[..]);
    for slot in slots
        .iter()
        .filter(|slot| slot.queue.load(Ordering::Acquire) == queue)
    {
        slot.record.store(ptr::null_mut(), Ordering::Relaxed);
        slot.queue.store(ptr::null_mut(), Ordering::Release);
    }
}

/// `KeGetCurrentIrql` (Windows; the host asks the simulation instead).
#[cfg(not(feature = "host"))]
pub(crate) fn current_irql() -> u8 {
    // SAFETY: reads the processor's IRQL; callable at any IRQL, no arguments.
    unsafe { wdk_sys::ntddk::KeGetCurrentIrql() }
}

/// Moves `record` (a record slot) into the image's kept allocations, to live until the driver
/// unloads.
///
/// # Errors
///
/// `STATUS_INSUFFICIENT_RESOURCES` when memory is short (nothing is kept then);
/// `STATUS_DRIVER_INTERNAL_ERROR` outside a loaded image.
fn keep<T: Send + Sync + 'static>(record: T) -> NtResult<&'static T> {
    let image = image().ok_or(NtStatus::DRIVER_INTERNAL_ERROR)?;
    let record = try_box(record).map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    let kept: core::ptr::NonNull<T> = core::ptr::NonNull::from(Box::leak(record));
    if let Err(unkept) = try_push(&mut image.kept.lock(), KeptRecord(kept)) {
        // Dropping the `KeptRecord` frees the record again: nobody has seen it.
        drop(unkept);
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    }
    // SAFETY: the record now belongs to the image's kept records, which free it only when the
    // WDFDRIVER is destroyed, after KMDF destroyed every object of the driver, so no code of
    // the driver runs afterwards; only shared references to it are made.
    Ok(unsafe { kept.as_ref() })
}

/// Runs driver code; on the host a panic in it becomes the bug check it would be, reported to
/// the simulation, instead of unwinding through a C frame.
#[cfg(feature = "host")]
use kmdf_sim::guarded;

/// Runs driver code (a kernel panic handler turns a panic into a bug check).
#[cfg(not(feature = "host"))]
fn guarded<R>(_fallback: R, f: impl FnOnce() -> R) -> R {
    f()
}
