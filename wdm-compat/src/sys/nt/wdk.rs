//! The kernel routines of the NT backend taken from wdk-sys (feature `wdk`: a driver package
//! built with the WDK and wdk-build).
//!
//! Each routine keeps the signature of its `raw-dylib` twin over this backend's own structure
//! types, whose layouts are checked below against the WDK's own (`wdk_sys::DRIVER_OBJECT`, …),
//! so a header that disagrees with them stops the build instead of corrupting memory. The
//! integer parameters go through `as _` where the WDK's type is an enum (`MEMORY_CACHING_TYPE`,
//! `MM_PAGE_PRIORITY`), whose Rust width depends on the bindings.
//!
//! | routine | IRQL |
//! |---|---|
//! | `IoCreateDevice`, `IoDeleteDevice` | PASSIVE |
//! | `IoCreateSymbolicLink`, `IoDeleteSymbolicLink` | PASSIVE |
//! | `IoAttachDeviceToDeviceStack`, `IoDetachDevice` | ≤ DISPATCH, PASSIVE |
//! | `IofCallDriver`, `IofCompleteRequest` | ≤ DISPATCH |
//! | `IoReleaseCancelSpinLock` | DISPATCH (inside a cancel routine) |
//! | `MmMapLockedPagesSpecifyCache` | ≤ DISPATCH |
//! | `KeAcquireSpinLockRaiseToDpc`, `KeReleaseSpinLock` | ≤ DISPATCH, DISPATCH |
//! | `KeDelayExecutionThread` | ≤ APC (the seam: PASSIVE) |
//! | `KeBugCheckEx` | any |
//! | `DbgPrint` | any (≤ DIRQL) |
#![allow(non_snake_case, reason = "the kernel routines keep their names")]

use core::ffi::c_void;
use core::mem::offset_of;

use wdk_sys::ntddk;
use wdk_sys::{DEVICE_OBJECT, DRIVER_EXTENSION, DRIVER_OBJECT, IO_STACK_LOCATION, IRP, MDL};

pub(super) use wdk_sys::ntddk::DbgPrint;

use super::{
    DeviceObject, DriverExtension, DriverObject, IoStackLocation, Irp, Mdl, UnicodeString,
};

/// The kernel pool as wdk-alloc serves it (non-paged; the pool's 16-byte alignment whatever the
/// layout asks), which `super::super::pool::PoolAligned` makes a global allocator for every
/// alignment.
pub use wdk_alloc::WdkAllocator as Pool;

// This backend's structures against the WDK's: every field it reads or writes, and the size of
// the two it does arithmetic or copies with (the stack location, one below another in the IRP,
// and UNICODE_STRING). Device objects, driver objects, IRPs and MDLs are only ever allocated by
// the kernel, so only their field offsets matter.
const _: () = {
    assert!(size_of::<UnicodeString>() == size_of::<wdk_sys::UNICODE_STRING>());
    assert!(
        offset_of!(DriverObject, driver_extension) == offset_of!(DRIVER_OBJECT, DriverExtension)
    );
    assert!(offset_of!(DriverObject, driver_unload) == offset_of!(DRIVER_OBJECT, DriverUnload));
    assert!(offset_of!(DriverObject, major_function) == offset_of!(DRIVER_OBJECT, MajorFunction));
    assert!(offset_of!(DriverExtension, add_device) == offset_of!(DRIVER_EXTENSION, AddDevice));
    assert!(offset_of!(DeviceObject, driver_object) == offset_of!(DEVICE_OBJECT, DriverObject));
    assert!(offset_of!(DeviceObject, flags) == offset_of!(DEVICE_OBJECT, Flags));
    assert!(
        offset_of!(DeviceObject, device_extension) == offset_of!(DEVICE_OBJECT, DeviceExtension)
    );
    assert!(offset_of!(DeviceObject, device_type) == offset_of!(DEVICE_OBJECT, DeviceType));
    assert!(offset_of!(DeviceObject, stack_size) == offset_of!(DEVICE_OBJECT, StackSize));
    assert!(offset_of!(Mdl, mdl_flags) == offset_of!(MDL, MdlFlags));
    assert!(offset_of!(Mdl, mapped_system_va) == offset_of!(MDL, MappedSystemVa));
    assert!(offset_of!(Mdl, byte_count) == offset_of!(MDL, ByteCount));
    assert!(offset_of!(Irp, mdl_address) == offset_of!(IRP, MdlAddress));
    assert!(offset_of!(Irp, system_buffer) == offset_of!(IRP, AssociatedIrp));
    assert!(offset_of!(Irp, status) == offset_of!(IRP, IoStatus));
    assert!(offset_of!(Irp, requestor_mode) == offset_of!(IRP, RequestorMode));
    assert!(offset_of!(Irp, pending_returned) == offset_of!(IRP, PendingReturned));
    assert!(offset_of!(Irp, cancel) == offset_of!(IRP, Cancel));
    assert!(offset_of!(Irp, cancel_irql) == offset_of!(IRP, CancelIrql));
    assert!(offset_of!(Irp, cancel_routine) == offset_of!(IRP, CancelRoutine));
    assert!(offset_of!(Irp, user_buffer) == offset_of!(IRP, UserBuffer));
    // `Tail.Overlay` starts with `DriverContext[4]`.
    assert!(offset_of!(Irp, driver_context) == offset_of!(IRP, Tail));
    assert!(size_of::<IoStackLocation>() == size_of::<IO_STACK_LOCATION>());
    assert!(offset_of!(IoStackLocation, control) == offset_of!(IO_STACK_LOCATION, Control));
    assert!(offset_of!(IoStackLocation, parameters) == offset_of!(IO_STACK_LOCATION, Parameters));
    assert!(
        offset_of!(IoStackLocation, device_object) == offset_of!(IO_STACK_LOCATION, DeviceObject)
    );
    assert!(
        offset_of!(IoStackLocation, completion_routine)
            == offset_of!(IO_STACK_LOCATION, CompletionRoutine)
    );
    assert!(offset_of!(IoStackLocation, context) == offset_of!(IO_STACK_LOCATION, Context));
};

// Every function below forwards to the wdk-sys routine of the same name, casting between this
// backend's structure pointers and the WDK's, which name the same memory (layouts checked
// above). Its `# Safety` is the routine's own contract, which the caller upholds.

/// `IoCreateDevice`.
///
/// # Safety
///
/// As for `IoCreateDevice`.
pub(super) unsafe fn IoCreateDevice(
    driver: *mut DriverObject,
    extension_size: u32,
    name: *const UnicodeString,
    device_type: u32,
    characteristics: u32,
    exclusive: u8,
    device: *mut *mut DeviceObject,
) -> i32 {
    // SAFETY: the caller's contract; the pointers name WDK structures (layouts checked).
    unsafe {
        ntddk::IoCreateDevice(
            driver.cast(),
            extension_size,
            name.cast_mut().cast(),
            device_type,
            characteristics,
            exclusive,
            device.cast(),
        )
    }
}

/// `IoDeleteDevice`.
///
/// # Safety
///
/// As for `IoDeleteDevice`.
pub(super) unsafe fn IoDeleteDevice(device: *mut DeviceObject) {
    // SAFETY: as for `IoCreateDevice`.
    unsafe { ntddk::IoDeleteDevice(device.cast()) }
}

/// `IoCreateSymbolicLink`.
///
/// # Safety
///
/// As for `IoCreateSymbolicLink`.
pub(super) unsafe fn IoCreateSymbolicLink(
    link: *const UnicodeString,
    target: *const UnicodeString,
) -> i32 {
    // SAFETY: as for `IoCreateDevice`; the routine only reads the strings.
    unsafe { ntddk::IoCreateSymbolicLink(link.cast_mut().cast(), target.cast_mut().cast()) }
}

/// `IoDeleteSymbolicLink`.
///
/// # Safety
///
/// As for `IoDeleteSymbolicLink`.
pub(super) unsafe fn IoDeleteSymbolicLink(link: *const UnicodeString) -> i32 {
    // SAFETY: as for `IoCreateSymbolicLink`.
    unsafe { ntddk::IoDeleteSymbolicLink(link.cast_mut().cast()) }
}

/// `IofCompleteRequest`.
///
/// # Safety
///
/// As for `IoCompleteRequest`.
pub(super) unsafe fn IofCompleteRequest(irp: *mut Irp, boost: i8) {
    // SAFETY: as for `IoCreateDevice`.
    unsafe { ntddk::IofCompleteRequest(irp.cast(), boost as _) }
}

/// `IofCallDriver`.
///
/// # Safety
///
/// As for `IoCallDriver`.
pub(super) unsafe fn IofCallDriver(device: *mut DeviceObject, irp: *mut Irp) -> i32 {
    // SAFETY: as for `IoCreateDevice`.
    unsafe { ntddk::IofCallDriver(device.cast(), irp.cast()) }
}

/// `IoAttachDeviceToDeviceStack`.
///
/// # Safety
///
/// As for `IoAttachDeviceToDeviceStack`.
pub(super) unsafe fn IoAttachDeviceToDeviceStack(
    source: *mut DeviceObject,
    target: *mut DeviceObject,
) -> *mut DeviceObject {
    // SAFETY: as for `IoCreateDevice`.
    unsafe { ntddk::IoAttachDeviceToDeviceStack(source.cast(), target.cast()).cast() }
}

/// `IoDetachDevice`.
///
/// # Safety
///
/// As for `IoDetachDevice`.
pub(super) unsafe fn IoDetachDevice(target: *mut DeviceObject) {
    // SAFETY: as for `IoCreateDevice`.
    unsafe { ntddk::IoDetachDevice(target.cast()) }
}

/// `IoReleaseCancelSpinLock`.
///
/// # Safety
///
/// As for `IoReleaseCancelSpinLock`: the caller holds the cancel spin lock.
pub(super) unsafe fn IoReleaseCancelSpinLock(irql: u8) {
    // SAFETY: the caller's contract.
    unsafe { ntddk::IoReleaseCancelSpinLock(irql) }
}

/// `MmMapLockedPagesSpecifyCache`.
///
/// # Safety
///
/// As for `MmMapLockedPagesSpecifyCache`.
pub(super) unsafe fn MmMapLockedPagesSpecifyCache(
    mdl: *mut Mdl,
    access_mode: i8,
    cache_type: i32,
    requested_address: *mut c_void,
    bug_check_on_failure: u32,
    priority: u32,
) -> *mut c_void {
    // SAFETY: as for `IoCreateDevice`.
    unsafe {
        ntddk::MmMapLockedPagesSpecifyCache(
            mdl.cast(),
            access_mode as _,
            cache_type as _,
            requested_address,
            bug_check_on_failure,
            priority as _,
        )
    }
}

/// `KeAcquireSpinLockRaiseToDpc`.
///
/// # Safety
///
/// As for `KeAcquireSpinLockRaiseToDpc`: `lock` is a live `KSPIN_LOCK`.
pub(super) unsafe fn KeAcquireSpinLockRaiseToDpc(lock: *mut usize) -> u8 {
    // SAFETY: the caller's contract; `KSPIN_LOCK` is a `ULONG_PTR`, the size of `usize`.
    unsafe { ntddk::KeAcquireSpinLockRaiseToDpc(lock.cast()) }
}

/// `KeReleaseSpinLock`.
///
/// # Safety
///
/// As for `KeReleaseSpinLock`: the caller holds `lock`, acquired at `irql`.
pub(super) unsafe fn KeReleaseSpinLock(lock: *mut usize, irql: u8) {
    // SAFETY: as for `KeAcquireSpinLockRaiseToDpc`.
    unsafe { ntddk::KeReleaseSpinLock(lock.cast(), irql) }
}

/// `KeDelayExecutionThread`.
///
/// # Safety
///
/// As for `KeDelayExecutionThread`: `interval` points to a live `LARGE_INTEGER`; the caller
/// runs at ≤ APC_LEVEL.
pub(super) unsafe fn KeDelayExecutionThread(mode: i8, alertable: u8, interval: *mut i64) -> i32 {
    // SAFETY: the caller's contract; `LARGE_INTEGER` is an 8-byte, 8-aligned union of `i64`.
    unsafe { ntddk::KeDelayExecutionThread(mode, alertable, interval.cast()) }
}

/// `POOL_FLAG_NON_PAGED` and `POOL_FLAG_PAGED` (`ExAllocatePool2`'s flags).
const POOL_FLAG_NON_PAGED: u64 = 0x40;
const POOL_FLAG_PAGED: u64 = 0x100;
/// `NonPagedPoolNx` and `PagedPool`, the pool types the portable seam passes.
const NON_PAGED_POOL_NX: i32 = 512;

/// `ExAllocatePoolWithTag`'s contract over `ExAllocatePool2` (which the WDK recommends, and
/// wdk-alloc uses): non-paged or paged pool, by the classic pool type.
///
/// # Safety
///
/// As for `ExAllocatePool2`: non-paged pool at ≤ DISPATCH_LEVEL, paged at ≤ APC_LEVEL.
pub(super) unsafe fn ExAllocatePoolWithTag(pool_type: i32, size: usize, tag: u32) -> *mut c_void {
    let flags = if pool_type == NON_PAGED_POOL_NX {
        POOL_FLAG_NON_PAGED
    } else {
        POOL_FLAG_PAGED
    };
    // SAFETY: the caller's contract; a failure returns null.
    unsafe { ntddk::ExAllocatePool2(flags, size as _, tag) }.cast()
}

/// `ExFreePoolWithTag`.
///
/// # Safety
///
/// `pointer` came from [`ExAllocatePoolWithTag`] with `tag` and is freed once.
pub(super) unsafe fn ExFreePoolWithTag(pointer: *mut c_void, tag: u32) {
    // SAFETY: the caller's contract.
    unsafe { ntddk::ExFreePoolWithTag(pointer.cast(), tag) }
}

/// `KeGetCurrentIrql`.
pub(super) fn current_irql() -> u8 {
    // SAFETY: callable at any IRQL; it only reads the processor's IRQL.
    unsafe { ntddk::KeGetCurrentIrql() }
}

/// `KeBugCheckEx`.
///
/// # Safety
///
/// Always allowed; it does not return.
pub(super) unsafe fn KeBugCheckEx(code: u32, p1: usize, p2: usize, p3: usize, p4: usize) -> ! {
    // SAFETY: bug-checking is always allowed; `ULONG_PTR` is pointer-sized.
    unsafe { ntddk::KeBugCheckEx(code, p1 as _, p2 as _, p3 as _, p4 as _) }
}
