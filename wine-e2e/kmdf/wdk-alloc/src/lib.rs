//! Stand-in for wdk-alloc: `WdkAllocator` exists so the seams' re-export compiles; the test
//! program installs its own allocator, so this one only ever reports exhaustion.
#![no_std]

/// The kernel-pool allocator's stand-in.
#[derive(Debug)]
pub struct WdkAllocator;

// SAFETY: returning null is a valid answer to every request (allocation failure).
unsafe impl core::alloc::GlobalAlloc for WdkAllocator {
    unsafe fn alloc(&self, _layout: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: core::alloc::Layout) {}
}
