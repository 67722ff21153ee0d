//! The Windows backend: the real KMDF, through wdk-sys (feature `wdk`, Windows targets).
//!
//! Every framework call goes through `wdk_sys::call_unsafe_wdf_function_binding!`, which looks
//! the function up in the KMDF function table of the loaded framework version; the table below
//! (and in the crate docs) lists each DDI with its IRQL.
//!
//! How the crate's objects map onto KMDF's:
//!
//! * The driver value `D` returned by [`KmdfDriver::driver_entry`] is boxed and published in
//!   one `static` (a driver image holds one driver); it is dropped in the `WDFDRIVER`'s
//!   `EvtDestroyCallback`, after every device and queue was cleaned up. A request that arrives
//!   on a control device before `driver_entry` returned (possible once `finish_initializing`
//!   ran) is completed with `STATUS_DEVICE_NOT_READY`.
//! * Each `WDFDEVICE` and `WDFQUEUE` the crate creates carries one pointer-sized context of the
//!   type [`RECORD`]: the address of the crate's record for it (`DeviceRecord<D>`, holding the
//!   typed contexts and cleanup callbacks; `QueueRecord<D>`, holding the callbacks). Records are
//!   kept until the `WDFDRIVER` is destroyed ([`KEPT`]); when KMDF destroys an object, its
//!   record's handle cell is cleared. So the crate's `Device`, `Queue` and `IoTarget` handles,
//!   which point to records, stay valid for the driver's whole life: one kept past a removal
//!   finds no object (calls fail with `STATUS_INVALID_DEVICE_STATE` or do nothing) instead of a
//!   deleted one. The cost is a record of a few hundred bytes per device instance (and its typed
//!   contexts) until the driver unloads.
//! * A request that is marked cancelable gets a context of the type [`CANCEL`] holding the
//!   driver's cancel routine, read back by the one `EvtRequestCancel` trampoline.
//! * Typed contexts ([`Device::allocate_context`](crate::Device::allocate_context)) live in the
//!   device record rather than in KMDF's own context memory: a Rust context type is identified
//!   by its `static` [`ContextTypeInfo`], which cannot be a `WDF_OBJECT_CONTEXT_TYPE_INFO`
//!   without putting a WDK type in the public API.
//!
//! | DDI | IRQL | used by |
//! |---|---|---|
//! | `WdfDriverCreate` | PASSIVE | `DriverEntry` |
//! | `WdfControlDeviceInitAllocate` | PASSIVE | `DriverHandle::create_control_device` |
//! | `WdfDeviceInitAssignName` | PASSIVE | `DriverHandle::create_control_device` |
//! | `WdfDeviceInitSetIoType`, `…SetExclusive`, `…SetCharacteristics`, `…SetDeviceType` | ≤ DISPATCH | device creation |
//! | `WdfDeviceInitSetFileObjectConfig` | ≤ DISPATCH | device creation (`EvtFileClose`) |
//! | `WdfDeviceInitFree` | ≤ DISPATCH | a failed control-device creation |
//! | `WdfFdoInitSetFilter` | PASSIVE | `DeviceHandle::fdo_create` |
//! | `WdfDeviceCreate` | PASSIVE | device creation |
//! | `WdfObjectGetTypedContextWorker` | ≤ DISPATCH + 1 | every callback trampoline |
//! | `WdfObjectAllocateContext` | ≤ DISPATCH | `RequestHandle::mark_cancelable` |
//! | `WdfIoQueueCreate` | ≤ DISPATCH | `DeviceHandle::create_queue` |
//! | `WdfDeviceConfigureRequestDispatching` | ≤ DISPATCH | `DeviceHandle::configure_request_dispatching` |
//! | `WdfDeviceCreateSymbolicLink` | PASSIVE | `DeviceHandle::create_symbolic_link` |
//! | `WdfDeviceCreateDeviceInterface` | PASSIVE | `DeviceHandle::create_device_interface` |
//! | `WdfControlFinishInitializing` | ≤ DISPATCH | `DeviceHandle::finish_initializing` |
//! | `WdfIoQueueRetrieveNextRequest` | ≤ DISPATCH | `DeviceHandle::retrieve_next_request` |
//! | `WdfIoQueueStop`, `WdfIoQueueStart` | ≤ DISPATCH | `DeviceHandle::stop_queue`, `start_queue` |
//! | `WdfIoQueuePurgeSynchronously` | PASSIVE | `DeviceHandle::purge_queue` |
//! | `WdfIoQueueGetState` | ≤ DISPATCH | `QueueHandle::queued` |
//! | `WdfIoQueueGetDevice` | ≤ DISPATCH | queue ownership checks |
//! | `WdfRequestGetIoQueue` | ≤ DISPATCH | `RequestHandle::default_io_target` |
//! | `WdfDeviceGetIoTarget` | ≤ DISPATCH | `RequestHandle::default_io_target` |
//! | `WdfRequestGetParameters` | ≤ DISPATCH | `RequestHandle::request_type`, `parameters` |
//! | `WdfRequestSetInformation`, `WdfRequestGetInformation` | ≤ DISPATCH | request information |
//! | `WdfRequestCompleteWithInformation` | ≤ DISPATCH | `RequestHandle::complete` |
//! | `WdfRequestForwardToIoQueue` | ≤ DISPATCH | `RequestHandle::forward_to_queue` |
//! | `WdfRequestFormatRequestUsingCurrentType` | ≤ DISPATCH | `RequestHandle::send_observed` |
//! | `WdfRequestSetCompletionRoutine` | ≤ DISPATCH | `RequestHandle::send_observed` |
//! | `WdfRequestSend` | ≤ DISPATCH | `RequestHandle::send_and_forget`, `send_observed` |
//! | `WdfRequestGetStatus` | ≤ DISPATCH | a failed send; the completion trampoline |
//! | `WdfRequestIsCanceled` | ≤ DISPATCH | `RequestHandle::is_canceled` |
//! | `WdfRequestRetrieveInputBuffer`, `WdfRequestRetrieveOutputBuffer` | ≤ DISPATCH | request buffers |
//! | `WdfRequestMarkCancelableEx`, `WdfRequestUnmarkCancelable` | ≤ DISPATCH | cancelable requests |

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use wdk_sys::{
    GUID, NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT, PWDF_REQUEST_COMPLETION_PARAMS,
    PWDFDEVICE_INIT, UNICODE_STRING, WDF_DRIVER_CONFIG, WDF_FILEOBJECT_CONFIG, WDF_IO_QUEUE_CONFIG,
    WDF_OBJECT_ATTRIBUTES, WDF_OBJECT_CONTEXT_TYPE_INFO, WDF_REQUEST_PARAMETERS,
    WDF_REQUEST_SEND_OPTIONS, WDFCONTEXT, WDFDEVICE, WDFDRIVER, WDFFILEOBJECT, WDFIOTARGET,
    WDFOBJECT, WDFQUEUE, WDFREQUEST, call_unsafe_wdf_function_binding,
};
use wdm_compat::{IoControlCode, IoType, NtResult, NtStatus, Parameters, SpinLock};

use crate::KmdfDriver;
use crate::context::{ContextType, ContextTypeInfo};
use crate::device::{ControlDeviceSettings, Guid, InitSettings};
use crate::driver::DriverContext;
use crate::kind::{DispatchType, RequestType};
use crate::queue::Callbacks;
use crate::request::{CancelRoutine, Request};

/// PASSIVE_LEVEL check of a DDI: KMDF's own verifier checks the IRQL of every DDI it is given
/// (with the verifier on, it breaks into the debugger), so the crate adds nothing.
pub(crate) fn check_passive(_ddi: &str) {}

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

/// The context of a cancelable request: its cancel routine.
static CANCEL: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"WdfSafeCancelRoutine".as_ptr(),
    ContextSize: size_of::<CancelRoutine>(),
    UniqueType: &raw const CANCEL.0,
    EvtDriverGetUniqueContextType: None,
});

// KMDF aligns context memory to MEMORY_ALLOCATION_ALIGNMENT (16 bytes on x64).
const _: () = assert!(align_of::<CancelRoutine>() <= 16);
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
    let units: Vec<u16> = name.encode_utf16().collect();
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

/// `WDF_IO_TYPE` of an [`IoType`].
const fn wdf_io_type(io_type: IoType) -> wdk_sys::WDF_DEVICE_IO_TYPE {
    match io_type {
        IoType::Buffered => wdk_sys::_WDF_DEVICE_IO_TYPE::WdfDeviceIoBuffered,
        IoType::Direct => wdk_sys::_WDF_DEVICE_IO_TYPE::WdfDeviceIoDirect,
        IoType::Neither => wdk_sys::_WDF_DEVICE_IO_TYPE::WdfDeviceIoNeither,
    }
}

/// `WDF_REQUEST_TYPE` of a [`RequestType`].
const fn wdf_request_type(request_type: RequestType) -> wdk_sys::WDF_REQUEST_TYPE {
    use wdk_sys::_WDF_REQUEST_TYPE as T;
    match request_type {
        RequestType::Create => T::WdfRequestTypeCreate,
        RequestType::Read => T::WdfRequestTypeRead,
        RequestType::Write => T::WdfRequestTypeWrite,
        RequestType::DeviceControl => T::WdfRequestTypeDeviceControl,
        RequestType::InternalDeviceControl => T::WdfRequestTypeDeviceControlInternal,
    }
}

// ---------------------------------------------------------------------------------------------
// The driver.

/// The driver value, boxed: published when `driver_entry` returns, dropped when the
/// `WDFDRIVER` is destroyed.
static DRIVER: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// The published driver value.
fn driver<D: KmdfDriver>() -> Option<&'static D> {
    let published = DRIVER.load(Ordering::Acquire).cast::<D>();
    // SAFETY: `DRIVER` holds null or a `Box<D>` leaked by `driver_entry` with this image's one
    // driver type (the entry macro is the only caller, once per image); the box is freed only
    // in `evt_driver_destroy`, after KMDF destroyed every object whose callbacks could run.
    unsafe { published.as_ref() }
}

/// Anything the crate keeps until the driver unloads.
trait Kept: Send + Sync {}

impl<T: Send + Sync> Kept for T {}

/// Every device and queue record the crate made, kept (inert once its object is destroyed)
/// until the `WDFDRIVER` is destroyed: a `Device`, `Queue` or `IoTarget` a driver kept past a
/// removal then finds a record that says the object is gone, never freed memory.
static KEPT: SpinLock<Vec<Box<dyn Kept>>> = SpinLock::new(Vec::new());

/// Moves `record` into [`KEPT`].
fn keep<T: Send + Sync + 'static>(record: Box<T>) -> &'static T {
    let kept: *const T = &raw const *record;
    KEPT.lock().push(record);
    // SAFETY: the box now belongs to `KEPT`, which frees it only in `evt_driver_destroy`, after
    // KMDF has destroyed every object of the driver, so no code of the driver runs afterwards;
    // moving the box into the vector does not move its contents.
    unsafe { &*kept }
}

/// `WDFDRIVER` during `DriverEntry`.
pub(crate) struct DriverHandle<'a, 'b, D> {
    driver: WDFDRIVER,
    _lifetimes: Lifetimes<'a, 'b, D>,
}

/// The borrows a `DriverHandle` stands for (DriverEntry's) and its driver type.
type Lifetimes<'a, 'b, D> = PhantomData<(&'a mut (), &'b (), fn(&D))>;

impl<D: KmdfDriver> DriverHandle<'_, '_, D> {
    /// `WdfControlDeviceInitAllocate` + the init's setters + `WdfDeviceCreate`.
    pub(crate) fn create_control_device(
        &mut self,
        init: &ControlDeviceSettings,
    ) -> NtResult<DeviceHandle<D>> {
        let sddl = utf16(init.sddl)?;
        let sddl = unicode(&sddl);
        // SAFETY: `self.driver` is the WDFDRIVER created in this DriverEntry; the SDDL string
        // outlives the call (the framework copies it).
        let mut raw_init = unsafe {
            call_unsafe_wdf_function_binding!(WdfControlDeviceInitAllocate, self.driver, &sddl)
        };
        if raw_init.is_null() {
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        if let Some(name) = init.name {
            let name = utf16(name)?;
            let name = unicode(&name);
            // SAFETY: `raw_init` is the live init allocated above; the framework copies the name.
            let status = unsafe {
                call_unsafe_wdf_function_binding!(WdfDeviceInitAssignName, raw_init, &name)
            };
            if let Err(status) = NtStatus::from_raw(status).ok() {
                // SAFETY: the init was not handed to WdfDeviceCreate, so the driver still owns it.
                unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitFree, raw_init) };
                return Err(status);
            }
        }
        apply_settings::<D>(raw_init, &init.settings, false);
        let record = DeviceRecord::<D>::new(ptr::null_mut(), init.settings, false);
        match create_device::<D>(&mut raw_init, record) {
            Ok(handle) => Ok(handle),
            Err(status) => {
                // SAFETY: WdfDeviceCreate failed, so the init is still the driver's to free.
                unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitFree, raw_init) };
                Err(status)
            }
        }
    }
}

/// The `WdfDeviceInitSet*` calls for the settings that differ from the framework's defaults
/// (a filter keeps what the framework takes from the device below), and the file-object
/// callbacks.
fn apply_settings<D: KmdfDriver>(init: PWDFDEVICE_INIT, settings: &InitSettings, fdo: bool) {
    let default = InitSettings::DEFAULT;
    if settings.io_type != default.io_type {
        // SAFETY: `init` is a live device init owned by the caller (a control init it
        // allocated, or the FDO init lent to EvtDriverDeviceAdd), not yet given to
        // WdfDeviceCreate; the same holds for every call below.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetIoType,
                init,
                wdf_io_type(settings.io_type)
            );
        }
    }
    if settings.exclusive != default.exclusive {
        // SAFETY: as above.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetExclusive,
                init,
                u8::from(settings.exclusive)
            );
        }
    }
    if settings.characteristics != default.characteristics {
        // SAFETY: as above. OR-ed in (TRUE), so the bits the framework set itself (such as
        // FILE_AUTOGENERATED_DEVICE_NAME on a control init) stay.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetCharacteristics,
                init,
                settings.characteristics,
                1
            );
        }
    }
    if fdo && settings.device_type != default.device_type {
        // SAFETY: as above; control-device inits keep their default type (SDV
        // ControlDeviceInitAPI), so only an FDO init gets it.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceInitSetDeviceType,
                init,
                u32::from(settings.device_type)
            );
        }
    }
    let mut file_config = WDF_FILEOBJECT_CONFIG {
        Size: size_of::<WDF_FILEOBJECT_CONFIG>() as u32,
        EvtDeviceFileCreate: None,
        EvtFileClose: Some(evt_file_close::<D>),
        EvtFileCleanup: None,
        AutoForwardCleanupClose: wdk_sys::_WDF_TRI_STATE::WdfUseDefault,
        FileObjectClass: wdk_sys::_WDF_FILEOBJECT_CLASS::WdfFileObjectWdfCannotUseFsContexts,
    };
    // SAFETY: as above; the configuration is read during the call.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceInitSetFileObjectConfig,
            init,
            &mut file_config,
            wdk_sys::WDF_NO_OBJECT_ATTRIBUTES
        );
    }
}

/// `WdfDeviceCreate` with a [`RECORD`] context pointing to `record`, which is kept until the
/// driver unloads once the device exists (and dropped here if it does not).
fn create_device<D: KmdfDriver>(
    init: &mut PWDFDEVICE_INIT,
    record: Box<DeviceRecord<D>>,
) -> NtResult<DeviceHandle<D>> {
    let mut attributes = attributes(
        &RECORD,
        Some(evt_device_cleanup::<D>),
        Some(evt_device_destroy::<D>),
    );
    let mut device: WDFDEVICE = ptr::null_mut();
    // SAFETY: `init` is a live init owned by the caller; on success the framework takes it and
    // sets it to null, on failure the caller still owns it.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(WdfDeviceCreate, init, &mut attributes, &mut device)
    };
    NtStatus::from_raw(status).ok()?;
    record.device.store(device, Ordering::Release);
    let record = keep(record);
    publish_record(device.cast(), record);
    Ok(DeviceHandle(record))
}

/// `EvtDriverUnload`.
unsafe extern "C" fn evt_driver_unload<D: KmdfDriver>(_driver: WDFDRIVER) {
    if let Some(driver) = driver::<D>() {
        driver.unload();
    }
}

/// The `WDFDRIVER`'s `EvtDestroyCallback`: every device is gone, so the driver value goes, then
/// the records (and the typed contexts in them).
unsafe extern "C" fn evt_driver_destroy<D: KmdfDriver>(_object: WDFOBJECT) {
    let published = DRIVER.swap(ptr::null_mut(), Ordering::AcqRel).cast::<D>();
    if !published.is_null() {
        // SAFETY: the pointer came from `Box::into_raw` in `driver_entry` and was unpublished
        // just above, so this is its only owner; no callback can run any more.
        drop(unsafe { Box::from_raw(published) });
    }
    let kept = core::mem::take(&mut *KEPT.lock());
    drop(kept);
}

/// `EvtDriverDeviceAdd`.
unsafe extern "C" fn evt_device_add<D: KmdfDriver>(
    _driver: WDFDRIVER,
    init: PWDFDEVICE_INIT,
) -> NTSTATUS {
    let Some(driver) = driver::<D>() else {
        return NtStatus::DEVICE_NOT_READY.to_raw();
    };
    // Kept even if no device is created: a few hundred bytes per AddDevice until unload, and no
    // question of who frees it.
    let record = keep(DeviceRecord::<D>::new(init, InitSettings::DEFAULT, true));
    let result = driver.device_add(crate::FdoInit::from_raw(DeviceHandle(record)));
    // The init belongs to the framework again once the callback returns.
    record.init.store(ptr::null_mut(), Ordering::Release);
    match result {
        Ok(()) => NtStatus::SUCCESS.to_raw(),
        Err(status) => status.to_raw(),
    }
}

/// `EvtFileClose`.
unsafe extern "C" fn evt_file_close<D: KmdfDriver>(_file: WDFFILEOBJECT) {
    if let Some(driver) = driver::<D>() {
        driver.on_file_close();
    }
}

/// What `DriverEntry` of driver `D` does: `WdfDriverCreate` (with the unload callback, so it is
/// in place before anything can fail), then [`KmdfDriver::driver_entry`].
///
/// # Safety
///
/// Only `DriverEntry` may call it, once, with the driver object and registry path the system
/// passed to it; `D` must be the only driver type of the image.
pub(crate) unsafe fn driver_entry<D: KmdfDriver>(
    driver_object: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: if D::PNP {
            Some(evt_device_add::<D>)
        } else {
            None
        },
        EvtDriverUnload: Some(evt_driver_unload::<D>),
        DriverInitFlags: if D::PNP {
            0
        } else {
            enum_flags(wdk_sys::_WDF_DRIVER_INIT_FLAGS::WdfDriverInitNonPnpDriver)
        },
        DriverPoolTag: u32::from_le_bytes(*b"Wdfs"),
    };
    let mut driver_attributes = WDF_OBJECT_ATTRIBUTES {
        Size: size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        EvtDestroyCallback: Some(evt_driver_destroy::<D>),
        ExecutionLevel: wdk_sys::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope:
            wdk_sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut driver: WDFDRIVER = ptr::null_mut();
    // SAFETY: the caller passes DriverEntry's own arguments; the configuration and attributes
    // are read during the call.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver_object,
            registry_path,
            &mut driver_attributes,
            &mut config,
            &mut driver
        )
    };
    if let Err(status) = NtStatus::from_raw(status).ok() {
        return status.to_raw();
    }
    let handle = DriverHandle::<D> {
        driver,
        _lifetimes: PhantomData,
    };
    let mut context = DriverContext::from_raw(handle);
    match D::driver_entry(&mut context) {
        Ok(value) => {
            DRIVER.store(Box::into_raw(Box::new(value)).cast(), Ordering::Release);
            NtStatus::SUCCESS.to_raw()
        }
        // The framework deletes the WDFDRIVER and the devices created so far when DriverEntry
        // fails.
        Err(status) => status.to_raw(),
    }
}

// ---------------------------------------------------------------------------------------------
// Devices.

/// The crate's record of a device (the target of its [`RECORD`] context).
///
/// `repr(C)` with `device` first: code that does not know `D` (an I/O target) reads the device
/// through a pointer to the record.
#[repr(C)]
pub(crate) struct DeviceRecord<D: 'static> {
    /// The device once created; null again once KMDF destroyed it.
    device: AtomicPtr<wdk_sys::WDFDEVICE__>,
    /// The FDO init lent to `EvtDriverDeviceAdd`, until `WdfDeviceCreate` or the callback's end.
    init: AtomicPtr<wdk_sys::WDFDEVICE_INIT>,
    filter: AtomicBool,
    pnp: bool,
    ready: AtomicBool,
    settings: SpinLock<InitSettings>,
    cleanup: SpinLock<Vec<fn(&D)>>,
    /// The typed contexts, each kept until the driver unloads.
    contexts: SpinLock<Vec<&'static dyn AttachedContext>>,
    default_queue: AtomicPtr<wdk_sys::WDFQUEUE__>,
}

impl<D: KmdfDriver> DeviceRecord<D> {
    fn new(init: PWDFDEVICE_INIT, settings: InitSettings, pnp: bool) -> Box<Self> {
        Box::new(Self {
            device: AtomicPtr::new(ptr::null_mut()),
            init: AtomicPtr::new(init),
            filter: AtomicBool::new(false),
            pnp,
            ready: AtomicBool::new(false),
            settings: SpinLock::new(settings),
            cleanup: SpinLock::new(Vec::new()),
            contexts: SpinLock::new(Vec::new()),
            default_queue: AtomicPtr::new(ptr::null_mut()),
        })
    }
}

/// A typed context attached to a device, with its cleanup callback.
trait AttachedContext: Send + Sync {
    fn info(&self) -> &'static ContextTypeInfo;
    fn value(&self) -> &(dyn Any + Send + Sync);
    fn cleanup(&self);
}

struct Attached<T> {
    value: T,
    cleanup: Option<fn(&T)>,
}

impl<T: ContextType> AttachedContext for Attached<T> {
    fn info(&self) -> &'static ContextTypeInfo {
        T::type_info()
    }

    fn value(&self) -> &(dyn Any + Send + Sync) {
        &self.value
    }

    fn cleanup(&self) {
        if let Some(cleanup) = self.cleanup {
            cleanup(&self.value);
        }
    }
}

/// `WDFDEVICE` (and, before creation, the FDO's `PWDFDEVICE_INIT`): the device's record, kept
/// until the driver unloads.
pub(crate) struct DeviceHandle<D: 'static>(&'static DeviceRecord<D>);

impl<D> Clone for DeviceHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for DeviceHandle<D> {}

impl<D: KmdfDriver> DeviceHandle<D> {
    const fn record(&self) -> &'static DeviceRecord<D> {
        self.0
    }

    /// The live device; `None` before creation and after KMDF destroyed it.
    fn device(self) -> Option<WDFDEVICE> {
        let device = self.0.device.load(Ordering::Acquire);
        (!device.is_null()).then_some(device)
    }

    /// `WdfFdoInitSetFilter` (applied at `fdo_create`).
    pub(crate) fn fdo_init_set_filter(self) {
        self.record().filter.store(true, Ordering::Release);
    }

    /// `WdfDeviceInitSet*` on the FDO init (applied at `fdo_create`).
    pub(crate) fn fdo_init_update(self, update: impl FnOnce(&mut InitSettings)) {
        update(&mut self.record().settings.lock());
    }

    /// `WdfDeviceCreate` with the FDO init.
    pub(crate) fn fdo_create(self) -> NtResult {
        let record = self.record();
        let mut init = record.init.load(Ordering::Acquire);
        if init.is_null() {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        if record.filter.load(Ordering::Acquire) {
            // SAFETY: the FDO init is lent to the running EvtDriverDeviceAdd.
            unsafe { call_unsafe_wdf_function_binding!(WdfFdoInitSetFilter, init) };
        }
        let settings = *record.settings.lock();
        apply_settings::<D>(init, &settings, true);
        let mut attributes = attributes(
            &RECORD,
            Some(evt_device_cleanup::<D>),
            Some(evt_device_destroy::<D>),
        );
        let mut device: WDFDEVICE = ptr::null_mut();
        // SAFETY: as above; the framework consumes the init on success.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreate,
                &mut init,
                &mut attributes,
                &mut device
            )
        };
        NtStatus::from_raw(status).ok()?;
        record.init.store(ptr::null_mut(), Ordering::Release);
        record.device.store(device, Ordering::Release);
        publish_record(device.cast(), core::ptr::from_ref(record));
        Ok(())
    }

    /// What the init set up.
    pub(crate) fn init_settings(self) -> InitSettings {
        *self.record().settings.lock()
    }

    /// Attaches a context of type `T`, initialised in place.
    pub(crate) fn allocate_context<T: ContextType>(
        self,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<&'static T> {
        if self.context::<T>().is_some() {
            return Err(NtStatus::OBJECT_NAME_EXISTS);
        }
        let attached = keep(Box::new(Attached {
            value: init(),
            cleanup,
        }));
        self.record().contexts.lock().push(attached);
        Ok(&attached.value)
    }

    /// The context of type `T`, found by its type info's address.
    pub(crate) fn context<T: ContextType>(self) -> Option<&'static T> {
        let attached: &'static dyn AttachedContext = self
            .record()
            .contexts
            .lock()
            .iter()
            .copied()
            .find(|c| core::ptr::eq(c.info(), T::type_info()))?;
        attached.value().downcast_ref::<T>()
    }

    /// `WdfIoQueueCreate`.
    pub(crate) fn create_queue(
        self,
        dispatch: DispatchType,
        callbacks: Callbacks<D>,
        allow_zero_length: bool,
        default_queue: bool,
    ) -> NtResult<QueueHandle> {
        let record = self.record();
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        if default_queue && record.ready.load(Ordering::Acquire) {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        use wdk_sys::_WDF_IO_QUEUE_DISPATCH_TYPE as Dt;
        let mut config = WDF_IO_QUEUE_CONFIG {
            Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
            PowerManaged: wdk_sys::_WDF_TRI_STATE::WdfUseDefault,
            DispatchType: match dispatch {
                DispatchType::Sequential => Dt::WdfIoQueueDispatchSequential,
                DispatchType::Parallel => Dt::WdfIoQueueDispatchParallel,
                DispatchType::Manual => Dt::WdfIoQueueDispatchManual,
            },
            AllowZeroLengthRequests: u8::from(allow_zero_length),
            DefaultQueue: u8::from(default_queue),
            EvtIoDefault: callbacks.create.map(|_| evt_io_default::<D> as _),
            EvtIoRead: callbacks.read.map(|_| evt_io_read::<D> as _),
            EvtIoWrite: callbacks.write.map(|_| evt_io_write::<D> as _),
            EvtIoDeviceControl: callbacks
                .device_control
                .map(|_| evt_io_device_control::<D> as _),
            EvtIoInternalDeviceControl: callbacks
                .internal_device_control
                .map(|_| evt_io_internal_device_control::<D> as _),
            ..WDF_IO_QUEUE_CONFIG::default()
        };
        if dispatch == DispatchType::Parallel {
            // WDF_IO_QUEUE_CONFIG_INIT: no limit on the requests presented at once.
            config.Settings.Parallel.NumberOfPresentedRequests = u32::MAX;
        }
        let queue_record = Box::new(QueueRecord {
            queue: AtomicPtr::new(ptr::null_mut()),
            callbacks,
        });
        let mut attributes = attributes(
            &RECORD,
            Some(evt_queue_cleanup::<D>),
            Some(evt_queue_destroy::<D>),
        );
        let mut queue: WDFQUEUE = ptr::null_mut();
        // SAFETY: the device is live (checked above, and the caller is one of its callbacks or
        // DriverEntry); configuration and attributes are read during the call.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfIoQueueCreate,
                device,
                &mut config,
                &mut attributes,
                &mut queue
            )
        };
        NtStatus::from_raw(status).ok()?;
        queue_record.queue.store(queue, Ordering::Release);
        let queue_record = keep(queue_record);
        publish_record(queue.cast(), core::ptr::from_ref(queue_record));
        if default_queue {
            record.default_queue.store(queue, Ordering::Release);
        }
        Ok(QueueHandle(&queue_record.queue))
    }

    /// `WdfDeviceConfigureRequestDispatching`.
    pub(crate) fn configure_request_dispatching(
        self,
        queue: QueueHandle,
        request_type: RequestType,
    ) -> NtResult {
        let record = self.record();
        let (device, raw_queue) = self.live_pair(queue)?;
        if record.ready.load(Ordering::Acquire) {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        if record.default_queue.load(Ordering::Acquire) == raw_queue {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        // SAFETY: a queue the crate created points to its kept record until it is destroyed.
        let queue_record = unsafe { record_of::<QueueRecord<D>>(raw_queue.cast()).as_ref() };
        let handles = queue_record
            .is_some_and(|q| q.callbacks.is_empty() || q.callbacks.handles(request_type));
        if !handles {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        // SAFETY: device and queue are live; the request type is one of the enum's values.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceConfigureRequestDispatching,
                device,
                raw_queue,
                wdf_request_type(request_type)
            )
        };
        NtStatus::from_raw(status).ok()
    }

    /// Registers a callback for the device's `EvtCleanupCallback`.
    pub(crate) fn on_cleanup(self, callback: fn(&D)) {
        self.record().cleanup.lock().push(callback);
    }

    /// `WdfDeviceCreateSymbolicLink`.
    pub(crate) fn create_symbolic_link(self, link: &'static str) -> NtResult {
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let units = utf16(link)?;
        let link = unicode(&units);
        // SAFETY: the device is live; the framework copies the name.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfDeviceCreateSymbolicLink, device, &link)
        };
        NtStatus::from_raw(status).ok()
    }

    /// `WdfDeviceCreateDeviceInterface`.
    pub(crate) fn create_device_interface(self, class: &Guid) -> NtResult {
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let guid = GUID {
            Data1: class.data1,
            Data2: class.data2,
            Data3: class.data3,
            Data4: class.data4,
        };
        // SAFETY: the device is live; the GUID is read during the call; no reference string.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreateDeviceInterface,
                device,
                &guid,
                ptr::null()
            )
        };
        NtStatus::from_raw(status).ok()
    }

    /// `WdfControlFinishInitializing` (a PnP device needs nothing: the framework finishes
    /// when `EvtDriverDeviceAdd` returns).
    pub(crate) fn finish_initializing(self) {
        let record = self.record();
        record.ready.store(true, Ordering::Release);
        if let (false, Some(device)) = (record.pnp, self.device()) {
            // SAFETY: a live control device.
            unsafe { call_unsafe_wdf_function_binding!(WdfControlFinishInitializing, device) };
        }
    }

    /// The live device and queue, when `queue` is a live queue of this live device.
    fn live_pair(self, queue: QueueHandle) -> NtResult<(WDFDEVICE, WDFQUEUE)> {
        let device = self.device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let raw_queue = queue.raw().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        // SAFETY: a live queue the crate created.
        let owner = unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueGetDevice, raw_queue) };
        if owner == device {
            Ok((device, raw_queue))
        } else {
            Err(NtStatus::INVALID_DEVICE_REQUEST)
        }
    }

    /// `WdfIoQueueRetrieveNextRequest`.
    pub(crate) fn retrieve_next_request(self, queue: QueueHandle) -> NtResult<RequestHandle> {
        let (_device, queue) = self.live_pair(queue)?;
        let mut request: WDFREQUEST = ptr::null_mut();
        // SAFETY: a live queue of this device; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfIoQueueRetrieveNextRequest, queue, &mut request)
        };
        NtStatus::from_raw(status).ok()?;
        RequestHandle::accept(request).ok_or(NtStatus::NO_MORE_ENTRIES)
    }

    /// `WdfIoQueueStop` (asynchronous: no stop-complete callback).
    pub(crate) fn stop_queue(self, queue: QueueHandle) {
        if let Ok((_device, queue)) = self.live_pair(queue) {
            // SAFETY: a live queue of this device; no callback, so no context.
            unsafe {
                call_unsafe_wdf_function_binding!(WdfIoQueueStop, queue, None, ptr::null_mut());
            }
        }
    }

    /// `WdfIoQueueStart`.
    pub(crate) fn start_queue(self, queue: QueueHandle, _driver: &D) {
        if let Ok((_device, queue)) = self.live_pair(queue) {
            // SAFETY: a live queue of this device.
            unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStart, queue) };
        }
    }

    /// `WdfIoQueuePurgeSynchronously`.
    pub(crate) fn purge_queue(self, queue: QueueHandle) {
        if let Ok((_device, queue)) = self.live_pair(queue) {
            // SAFETY: a live queue of this device; the public method requires PASSIVE_LEVEL.
            unsafe { call_unsafe_wdf_function_binding!(WdfIoQueuePurgeSynchronously, queue) };
        }
    }
}

/// The device's `EvtCleanupCallback`: the driver's cleanup callbacks, then the contexts' (the
/// queues, children of the device, were cleaned up before).
unsafe extern "C" fn evt_device_cleanup<D: KmdfDriver>(object: WDFOBJECT) {
    // SAFETY: records are kept until the driver unloads.
    let Some(record) = (unsafe { record_of::<DeviceRecord<D>>(object).as_ref() }) else {
        return;
    };
    if let Some(driver) = driver::<D>() {
        let callbacks: Vec<fn(&D)> = record.cleanup.lock().clone();
        for callback in callbacks {
            callback(driver);
        }
    }
    // The callbacks run outside the lock: they may look contexts up.
    let contexts: Vec<&'static dyn AttachedContext> = record.contexts.lock().clone();
    for context in contexts {
        context.cleanup();
    }
}

/// The device's `EvtDestroyCallback`: the record (kept until unload) now says the device is
/// gone.
unsafe extern "C" fn evt_device_destroy<D: KmdfDriver>(object: WDFOBJECT) {
    // SAFETY: records are kept until the driver unloads.
    if let Some(record) = unsafe { record_of::<DeviceRecord<D>>(object).as_ref() } {
        record.device.store(ptr::null_mut(), Ordering::Release);
    }
    publish_record::<DeviceRecord<D>>(object, ptr::null());
}

// ---------------------------------------------------------------------------------------------
// Queues.

/// The crate's record of a queue (kept until the driver unloads): the queue while it lives, and
/// the driver's callbacks.
struct QueueRecord<D> {
    queue: AtomicPtr<wdk_sys::WDFQUEUE__>,
    callbacks: Callbacks<D>,
}

/// `WDFQUEUE`: the queue cell of its record, null once KMDF destroyed the queue.
#[derive(Clone, Copy)]
pub(crate) struct QueueHandle(&'static AtomicPtr<wdk_sys::WDFQUEUE__>);

impl QueueHandle {
    /// The live queue.
    fn raw(self) -> Option<WDFQUEUE> {
        let queue = self.0.load(Ordering::Acquire);
        (!queue.is_null()).then_some(queue)
    }

    /// `WdfIoQueueGetState`'s `QueueRequests` (0 once the queue is gone).
    pub(crate) fn queued(self) -> usize {
        let Some(queue) = self.raw() else {
            return 0;
        };
        let mut queued: u32 = 0;
        let mut driver_owned: u32 = 0;
        // SAFETY: a live queue the crate created; the out-pointers are locals.
        let _state = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfIoQueueGetState,
                queue,
                &mut queued,
                &mut driver_owned
            )
        };
        usize::try_from(queued).unwrap_or(usize::MAX)
    }
}

/// The queue's record and the driver, for an `EvtIo*` trampoline; `None` completes the
/// request with the status returned.
fn presentation<D: KmdfDriver>(
    queue: WDFQUEUE,
) -> Result<(&'static QueueRecord<D>, &'static D), NtStatus> {
    // SAFETY: records are kept until the driver unloads.
    let record = unsafe { record_of::<QueueRecord<D>>(queue.cast()).as_ref() };
    let record = record.ok_or(NtStatus::INVALID_DEVICE_STATE)?;
    let driver = driver::<D>().ok_or(NtStatus::DEVICE_NOT_READY)?;
    Ok((record, driver))
}

/// Completes a request the crate will not present.
fn refuse(request: WDFREQUEST, status: NtStatus) {
    // SAFETY: the framework just presented the request to the driver, which owns it.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRequestCompleteWithInformation,
            request,
            status.to_raw(),
            0
        );
    }
}

/// Presents `request` to the callback `pick` selects, or refuses it.
fn present<D: KmdfDriver, K: crate::kind::RequestKind>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    pick: impl FnOnce(&Callbacks<D>) -> Option<crate::queue::IoCallback<D, K>>,
) {
    let (record, driver) = match presentation::<D>(queue) {
        Ok(found) => found,
        Err(status) => return refuse(request, status),
    };
    let Some(callback) = pick(&record.callbacks) else {
        return refuse(request, NtStatus::INVALID_DEVICE_REQUEST);
    };
    let Some(handle) = RequestHandle::accept(request) else {
        return;
    };
    let _done = callback(driver, Request::from_raw(handle));
}

/// `EvtIoDefault`: registered only for create requests.
unsafe extern "C" fn evt_io_default<D: KmdfDriver>(queue: WDFQUEUE, request: WDFREQUEST) {
    if request_type_of(request) == Some(RequestType::Create) {
        present::<D, crate::kind::Create>(queue, request, |c| c.create);
    } else {
        refuse(request, NtStatus::INVALID_DEVICE_REQUEST);
    }
}

/// `EvtIoRead`.
unsafe extern "C" fn evt_io_read<D: KmdfDriver>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    _length: usize,
) {
    present::<D, crate::kind::Read>(queue, request, |c| c.read);
}

/// `EvtIoWrite`.
unsafe extern "C" fn evt_io_write<D: KmdfDriver>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    _length: usize,
) {
    present::<D, crate::kind::Write>(queue, request, |c| c.write);
}

/// `EvtIoDeviceControl`.
unsafe extern "C" fn evt_io_device_control<D: KmdfDriver>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    _output_length: usize,
    _input_length: usize,
    _code: u32,
) {
    present::<D, crate::kind::DeviceControl>(queue, request, |c| c.device_control);
}

/// `EvtIoInternalDeviceControl`.
unsafe extern "C" fn evt_io_internal_device_control<D: KmdfDriver>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    _output_length: usize,
    _input_length: usize,
    _code: u32,
) {
    present::<D, crate::kind::InternalDeviceControl>(queue, request, |c| c.internal_device_control);
}

/// The queue's `EvtCleanupCallback`.
unsafe extern "C" fn evt_queue_cleanup<D: KmdfDriver>(object: WDFOBJECT) {
    // SAFETY: records are kept until the driver unloads.
    let record = unsafe { record_of::<QueueRecord<D>>(object).as_ref() };
    if let (Some(record), Some(driver)) = (record, driver::<D>())
        && let Some(cleanup) = record.callbacks.cleanup
    {
        cleanup(driver);
    }
}

/// The queue's `EvtDestroyCallback`: the record (kept until unload) now says the queue is gone.
unsafe extern "C" fn evt_queue_destroy<D: KmdfDriver>(object: WDFOBJECT) {
    // SAFETY: records are kept until the driver unloads.
    if let Some(record) = unsafe { record_of::<QueueRecord<D>>(object).as_ref() } {
        record.queue.store(ptr::null_mut(), Ordering::Release);
    }
    publish_record::<QueueRecord<D>>(object, ptr::null());
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// `WdfRequestGetParameters`.
fn parameters_of(request: WDFREQUEST) -> WDF_REQUEST_PARAMETERS {
    // WDF_REQUEST_PARAMETERS_INIT: zeroed, with its size.
    let mut parameters = WDF_REQUEST_PARAMETERS {
        Size: size_of::<WDF_REQUEST_PARAMETERS>() as u16,
        ..WDF_REQUEST_PARAMETERS::default()
    };
    // SAFETY: the caller owns the live request; the out-structure is a local.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfRequestGetParameters, request, &mut parameters);
    }
    parameters
}

/// The crate's request type of a request, `None` for the types it does not present.
fn request_type_of(request: WDFREQUEST) -> Option<RequestType> {
    use wdk_sys::_WDF_REQUEST_TYPE as T;
    match parameters_of(request).Type {
        T::WdfRequestTypeCreate => Some(RequestType::Create),
        T::WdfRequestTypeRead => Some(RequestType::Read),
        T::WdfRequestTypeWrite => Some(RequestType::Write),
        T::WdfRequestTypeDeviceControl => Some(RequestType::DeviceControl),
        T::WdfRequestTypeDeviceControlInternal => Some(RequestType::InternalDeviceControl),
        _ => None,
    }
}

/// `WDFREQUEST`, owned by the driver: one pointer, like the handle it is.
pub(crate) struct RequestHandle(NonNull<wdk_sys::WDFREQUEST__>);

impl RequestHandle {
    /// Takes ownership of a request the framework handed to the driver; one of a type the
    /// crate does not present is completed with `STATUS_INVALID_DEVICE_REQUEST`.
    fn accept(request: WDFREQUEST) -> Option<Self> {
        let handle = NonNull::new(request)?;
        if request_type_of(request).is_none() {
            refuse(request, NtStatus::INVALID_DEVICE_REQUEST);
            return None;
        }
        Some(Self(handle))
    }

    /// The `WDFREQUEST`.
    const fn raw(&self) -> WDFREQUEST {
        self.0.as_ptr()
    }

    /// `WdfRequestGetParameters`'s `Type`.
    pub(crate) fn request_type(&self) -> RequestType {
        // `accept` lets only the five presented types in, so the fallback is never taken.
        request_type_of(self.raw()).unwrap_or(RequestType::Create)
    }

    /// `WdfRequestGetParameters`.
    pub(crate) fn parameters(&self) -> Parameters {
        let parameters = parameters_of(self.raw());
        let request_type = self.request_type();
        match request_type {
            RequestType::Read => {
                // SAFETY: for a read, `Type` says the framework filled in `Parameters.Read`.
                let read = unsafe { parameters.Parameters.Read };
                Parameters::Read {
                    length: read.Length,
                    offset: read.DeviceOffset,
                }
            }
            RequestType::Write => {
                // SAFETY: for a write, the framework filled in `Parameters.Write`.
                let write = unsafe { parameters.Parameters.Write };
                Parameters::Write {
                    length: write.Length,
                    offset: write.DeviceOffset,
                }
            }
            RequestType::DeviceControl | RequestType::InternalDeviceControl => {
                // SAFETY: for both device controls, the framework filled in
                // `Parameters.DeviceIoControl`.
                let ioctl = unsafe { parameters.Parameters.DeviceIoControl };
                Parameters::DeviceControl {
                    code: IoControlCode::from_raw(ioctl.IoControlCode),
                    input_length: ioctl.InputBufferLength,
                    output_length: ioctl.OutputBufferLength,
                }
            }
            RequestType::Create => Parameters::Other,
        }
    }

    /// `WdfRequestSetInformation`.
    pub(crate) fn set_information(&self, information: usize) {
        // SAFETY: the driver owns the live request.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSetInformation,
                self.raw(),
                information as u64
            );
        }
    }

    /// `WdfRequestGetInformation`.
    pub(crate) fn information(&self) -> usize {
        // SAFETY: the driver owns the live request.
        let information =
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetInformation, self.raw()) };
        usize::try_from(information).unwrap_or(usize::MAX)
    }

    /// `WdfRequestCompleteWithInformation`.
    pub(crate) fn complete(self, status: NtStatus, information: usize) {
        // SAFETY: the driver owns the live request and gives it up here (the handle is
        // consumed).
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestCompleteWithInformation,
                self.raw(),
                status.to_raw(),
                information as u64
            );
        }
    }

    /// `WdfRequestForwardToIoQueue`.
    pub(crate) fn forward_to_queue(self, queue: QueueHandle) -> Result<(), (Self, NtStatus)> {
        let Some(queue) = queue.raw() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        // SAFETY: the driver owns the live request and the queue is live; on success the queue
        // owns the request.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestForwardToIoQueue, self.raw(), queue)
        };
        match NtStatus::from_raw(status).ok() {
            Ok(()) => Ok(()),
            Err(status) => Err((self, status)),
        }
    }

    /// The default I/O target of the request's device, when it has one (a PnP FDO; KMDF gives
    /// none to control devices).
    pub(crate) fn default_io_target(&self) -> Option<IoTargetHandle> {
        // SAFETY: the driver owns the live request, which was presented by a queue.
        let queue = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetIoQueue, self.raw()) };
        if queue.is_null() {
            return None;
        }
        // SAFETY: a live queue (the request's).
        let device = unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueGetDevice, queue) };
        // The device record starts with its device cell (`repr(C)`), whatever the driver type.
        let cell = record_of::<AtomicPtr<wdk_sys::WDFDEVICE__>>(device.cast());
        // SAFETY: records are kept until the driver unloads.
        let cell = unsafe { cell.as_ref() }?;
        let target = IoTargetHandle(cell);
        target.io_target().is_some().then_some(target)
    }

    /// `WdfRequestSend` with `WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET`, as kbfiltr passes
    /// requests down (no formatting: the framework skips the driver's stack location).
    pub(crate) fn send_and_forget(self, target: &IoTargetHandle) -> Result<(), (Self, NtStatus)> {
        let Some(target) = target.io_target() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        let mut options = WDF_REQUEST_SEND_OPTIONS {
            Size: size_of::<WDF_REQUEST_SEND_OPTIONS>() as u32,
            Flags: enum_flags(
                wdk_sys::_WDF_REQUEST_SEND_OPTIONS_FLAGS::WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET,
            ),
            Timeout: 0,
        };
        // SAFETY: the driver owns the live request and the target is its device's default
        // target; on TRUE the target owns the request.
        let sent = unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestSend, self.raw(), target, &mut options)
        };
        if sent != 0 {
            return Ok(());
        }
        let status = self.status();
        Err((self, status))
    }

    /// `WdfRequestFormatRequestUsingCurrentType` + `WdfRequestSetCompletionRoutine` +
    /// `WdfRequestSend`: the completion routine shows the outcome to the driver, then completes
    /// the request with it.
    pub(crate) fn send_observed<D: KmdfDriver>(
        self,
        target: &IoTargetHandle,
    ) -> Result<(), (Self, NtStatus)> {
        let Some(target) = target.io_target() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        // SAFETY: the driver owns the live request.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestFormatRequestUsingCurrentType, self.raw());
        }
        // SAFETY: as above; the routine needs no context.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSetCompletionRoutine,
                self.raw(),
                Some(evt_request_completion::<D>),
                ptr::null_mut()
            );
        }
        // SAFETY: as in `send_and_forget`; without options the send is asynchronous.
        let sent = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSend,
                self.raw(),
                target,
                wdk_sys::WDF_NO_SEND_OPTIONS.cast()
            )
        };
        if sent != 0 {
            return Ok(());
        }
        let status = self.status();
        Err((self, status))
    }

    /// `WdfRequestGetStatus`.
    fn status(&self) -> NtStatus {
        // SAFETY: the driver owns the live request.
        NtStatus::from_raw(unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestGetStatus, self.raw())
        })
    }

    /// `WdfRequestIsCanceled`.
    pub(crate) fn is_canceled(&self) -> bool {
        // SAFETY: the driver owns the live request.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestIsCanceled, self.raw()) != 0 }
    }

    /// `WdfRequestRetrieveOutputBuffer` or `WdfRequestRetrieveInputBuffer`, with no minimum
    /// (the safe layer checks lengths): the buffer's address and length.
    fn retrieve(&self, output: bool) -> NtResult<(*mut u8, usize)> {
        let mut buffer: *mut c_void = ptr::null_mut();
        let mut length: usize = 0;
        let status = if output {
            // SAFETY: the driver owns the live request; the out-pointers are locals.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveOutputBuffer,
                    self.raw(),
                    0,
                    &mut buffer,
                    &mut length
                )
            }
        } else {
            // SAFETY: as above.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveInputBuffer,
                    self.raw(),
                    0,
                    &mut buffer,
                    &mut length
                )
            }
        };
        NtStatus::from_raw(status).ok()?;
        Ok((buffer.cast(), length))
    }

    /// The output buffer, borrowed from the handle.
    fn output(&mut self) -> NtResult<&mut [u8]> {
        let (buffer, length) = self.retrieve(true)?;
        if buffer.is_null() {
            return Ok(&mut []);
        }
        // The slice borrows the handle mutably and completing consumes the handle, so it can
        // neither outlive the buffer nor alias a buffered IOCTL's input view (same `&mut self`).
        // SAFETY: the framework returned a system-space buffer of `length` bytes that stays
        // valid until the request is completed; the borrow (above) keeps it unique.
        Ok(unsafe { core::slice::from_raw_parts_mut(buffer, length) })
    }

    /// The input buffer, borrowed from the handle.
    fn input(&mut self) -> NtResult<&[u8]> {
        let (buffer, length) = self.retrieve(false)?;
        if buffer.is_null() {
            return Ok(&[]);
        }
        // SAFETY: as in `output`.
        Ok(unsafe { core::slice::from_raw_parts(buffer, length) })
    }

    /// `WdfRequestRetrieveOutputBuffer` on a read.
    pub(crate) fn read_buffer(&mut self) -> NtResult<&mut [u8]> {
        self.output()
    }

    /// `WdfRequestRetrieveInputBuffer` on a write.
    pub(crate) fn write_buffer(&mut self) -> NtResult<&[u8]> {
        self.input()
    }

    /// `WdfRequestRetrieveInputBuffer` on a device control.
    pub(crate) fn ioctl_input(&mut self) -> NtResult<&[u8]> {
        self.input()
    }

    /// `WdfRequestRetrieveOutputBuffer` on a device control.
    pub(crate) fn ioctl_output(&mut self) -> NtResult<&mut [u8]> {
        self.output()
    }

    /// Stores `routine` in the request's [`CANCEL`] context, then `WdfRequestMarkCancelableEx`.
    pub(crate) fn mark_cancelable(self, routine: CancelRoutine) -> Result<Self, (Self, NtStatus)> {
        let mut attributes = attributes(&CANCEL, None, None);
        let mut context: *mut c_void = ptr::null_mut();
        // SAFETY: the driver owns the live request; the out-pointer is a local. A second
        // allocation returns STATUS_OBJECT_NAME_EXISTS with the existing context.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfObjectAllocateContext,
                self.raw().cast(),
                &mut attributes,
                &mut context
            )
        };
        let status = NtStatus::from_raw(status);
        if !status.is_success() {
            return Err((self, status));
        }
        if context.is_null() {
            // A second mark finds the context allocated already (STATUS_OBJECT_NAME_EXISTS).
            context = context_of(self.raw().cast(), &CANCEL);
        }
        if context.is_null() {
            return Err((self, NtStatus::INSUFFICIENT_RESOURCES));
        }
        // SAFETY: a CANCEL context is `size_of::<CancelRoutine>()` bytes, aligned to 16, and
        // only this function writes it, before the cancel routine can run.
        unsafe { context.cast::<CancelRoutine>().write(routine) };
        // SAFETY: the driver owns the live request.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestMarkCancelableEx,
                self.raw(),
                Some(evt_request_cancel)
            )
        };
        match NtStatus::from_raw(status).ok() {
            Ok(()) => Ok(self),
            Err(status) => Err((self, status)),
        }
    }

    /// `WdfRequestUnmarkCancelable`: `Err(STATUS_CANCELLED)` when the cancel routine owns the
    /// request.
    pub(crate) fn unmark_cancelable(self) -> Result<Self, NtStatus> {
        // SAFETY: the driver owns the live cancelable request.
        let status =
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestUnmarkCancelable, self.raw()) };
        NtStatus::from_raw(status).ok().map(|()| self)
    }

    /// The driver leaves a cancelable request to its cancel routine: nothing to call.
    pub(crate) fn leave_to_cancel_routine(self) {
        let _ = self;
    }

    /// A request was dropped without being completed, forwarded or sent: KMDF would wait for
    /// it forever (the same mistake SDV's RequestCompleted describes), so the crate completes it
    /// with `STATUS_CANCELLED` after saying so in the debugger.
    pub(crate) fn dropped(self) {
        wdm_compat::kd_print!(
            "wdf-safe: a request was dropped without being completed; completing it with STATUS_CANCELLED"
        );
        self.complete(NtStatus::CANCELLED, 0);
    }
}

/// `EvtRequestCancel`: runs the routine stored by `mark_cancelable`.
unsafe extern "C" fn evt_request_cancel(request: WDFREQUEST) {
    let context = context_of(request.cast(), &CANCEL).cast::<CancelRoutine>();
    if context.is_null() {
        return refuse(request, NtStatus::CANCELLED);
    }
    // SAFETY: written by `mark_cancelable` before the request became cancelable.
    let routine = unsafe { context.read() };
    let Some(handle) = RequestHandle::accept(request) else {
        return;
    };
    let _done = match routine {
        CancelRoutine::Create(f) => f(Request::from_raw(handle)),
        CancelRoutine::Read(f) => f(Request::from_raw(handle)),
        CancelRoutine::Write(f) => f(Request::from_raw(handle)),
        CancelRoutine::DeviceControl(f) => f(Request::from_raw(handle)),
        CancelRoutine::InternalDeviceControl(f) => f(Request::from_raw(handle)),
    };
}

/// `EvtRequestCompletionRoutine` of `send_observed`.
unsafe extern "C" fn evt_request_completion<D: KmdfDriver>(
    request: WDFREQUEST,
    _target: WDFIOTARGET,
    _params: PWDF_REQUEST_COMPLETION_PARAMS,
    _context: WDFCONTEXT,
) {
    let Some(handle) = RequestHandle::accept(request) else {
        return;
    };
    let status = handle.status();
    let information = handle.information();
    if let Some(driver) = driver::<D>() {
        use wdm_compat::io::RequestKind as Kind;
        let (kind, ioctl_code) = match handle.parameters() {
            Parameters::Read { .. } => (Kind::Read, None),
            Parameters::Write { .. } => (Kind::Write, None),
            Parameters::DeviceControl { code, .. } => (
                if handle.request_type() == RequestType::DeviceControl {
                    Kind::DeviceControl
                } else {
                    Kind::InternalDeviceControl
                },
                Some(code),
            ),
            Parameters::Other => (Kind::Create, None),
        };
        driver.on_sent_request_completed(&wdm_compat::io::Completion {
            kind,
            status,
            information,
            ioctl_code,
        });
    }
    handle.complete(status, information);
}

/// `WDFIOTARGET`: the default I/O target of a device, reached through the device's record
/// (its device cell), so a target kept past the device's removal finds no device instead of a
/// deleted one.
#[derive(Clone, Copy)]
pub(crate) struct IoTargetHandle(&'static AtomicPtr<wdk_sys::WDFDEVICE__>);

impl IoTargetHandle {
    /// `WdfDeviceGetIoTarget` of the live device.
    fn io_target(&self) -> Option<WDFIOTARGET> {
        let device = self.0.load(Ordering::Acquire);
        if device.is_null() {
            return None;
        }
        // SAFETY: a live device (its record's cell is cleared when KMDF destroys it).
        let target = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetIoTarget, device) };
        (!target.is_null()).then_some(target)
    }
}

impl core::fmt::Debug for IoTargetHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("IoTarget")
            .field(&self.0.load(Ordering::Relaxed))
            .finish()
    }
}

/// What [`kmdf_driver_entry!`](crate::kmdf_driver_entry) expands to call; not part of the API.
pub mod entry {
    /// The global allocator of a KMDF driver image (wdk-alloc: non-paged pool).
    pub use wdk_alloc::WdkAllocator as Allocator;

    /// `DriverEntry` of driver type `D`.
    ///
    /// # Safety
    ///
    /// Only the system may call it, once, as the image's `DriverEntry` (KMDF's
    /// `FxDriverEntry` calls it), with the arguments it was given; `D` must be the image's
    /// only driver type.
    pub unsafe fn driver_entry<D: crate::KmdfDriver>(
        driver_object: *mut core::ffi::c_void,
        registry_path: *const core::ffi::c_void,
    ) -> i32 {
        // SAFETY: forwarded from DriverEntry (the caller's contract).
        unsafe { super::driver_entry::<D>(driver_object.cast(), registry_path.cast()) }
    }
}
