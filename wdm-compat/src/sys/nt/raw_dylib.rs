//! The kernel routines of the portable backend, imported from `ntoskrnl.exe` by name with
//! `raw-dylib`: no import library, so no WDK, is needed to link the driver.

use core::ffi::c_void;
use core::ptr;

use super::{DeviceObject, DriverObject, Irp, Mdl, UnicodeString};

#[link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    pub(super) fn IoCreateDevice(
        driver: *mut DriverObject,
        extension_size: u32,
        name: *const UnicodeString,
        device_type: u32,
        characteristics: u32,
        exclusive: u8,
        device: *mut *mut DeviceObject,
    ) -> i32;
    pub(super) fn IoDeleteDevice(device: *mut DeviceObject);
    pub(super) fn IoCreateSymbolicLink(
        link: *const UnicodeString,
        target: *const UnicodeString,
    ) -> i32;
    pub(super) fn IoDeleteSymbolicLink(link: *const UnicodeString) -> i32;
    pub(super) fn IofCompleteRequest(irp: *mut Irp, boost: i8);
    pub(super) fn IofCallDriver(device: *mut DeviceObject, irp: *mut Irp) -> i32;
    pub(super) fn IoAttachDeviceToDeviceStack(
        source: *mut DeviceObject,
        target: *mut DeviceObject,
    ) -> *mut DeviceObject;
    pub(super) fn IoDetachDevice(target: *mut DeviceObject);
    pub(super) fn IoReleaseCancelSpinLock(irql: u8);
    pub(super) fn MmMapLockedPagesSpecifyCache(
        mdl: *mut Mdl,
        access_mode: i8,
        cache_type: i32,
        requested_address: *mut c_void,
        bug_check_on_failure: u32,
        priority: u32,
    ) -> *mut c_void;
    pub(super) fn KeAcquireSpinLockRaiseToDpc(lock: *mut usize) -> u8;
    pub(super) fn KeReleaseSpinLock(lock: *mut usize, irql: u8);
    pub(super) fn ExAllocatePoolWithTag(pool_type: i32, size: usize, tag: u32) -> *mut c_void;
    pub(super) fn ExFreePoolWithTag(pointer: *mut c_void, tag: u32);
    pub(super) fn KeDelayExecutionThread(mode: i8, alertable: u8, interval: *mut i64) -> i32;
    pub(super) fn KeBugCheckEx(code: u32, p1: usize, p2: usize, p3: usize, p4: usize) -> !;
}

#[link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "C" {
    pub(super) fn DbgPrint(format: *const u8, ...) -> u32;
}

/// The IRQL: Wine runs drivers in user mode, where there is none (PASSIVE_LEVEL).
pub(super) const fn current_irql() -> u8 {
    0
}

/// `NonPagedPoolNx`.
const NON_PAGED_POOL_NX: i32 = 512;
/// The pool tag of the crate's allocations: 'Wdfs' read backwards, as the debugger shows it.
const POOL_TAG: u32 = u32::from_le_bytes(*b"Wdfs");

/// The kernel pool (non-paged, no-execute): blocks aligned to 16 bytes whatever the layout asks,
/// which `super::super::pool::PoolAligned` makes a global allocator for every alignment.
#[derive(Debug)]
pub struct Pool;

// SAFETY: `ExAllocatePoolWithTag` returns a block of at least the size asked for, or null; the
// alignment is the pool's, which `PoolAligned` (the only user) accounts for.
unsafe impl core::alloc::GlobalAlloc for Pool {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        // SAFETY: any size may be asked for; failure returns null, which `alloc` may return.
        unsafe { ExAllocatePoolWithTag(NON_PAGED_POOL_NX, layout.size(), POOL_TAG).cast() }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, _layout: core::alloc::Layout) {
        // SAFETY: `pointer` came from `alloc` above, with the same tag.
        unsafe { ExFreePoolWithTag(pointer.cast(), POOL_TAG) };
    }
}
