//! A stand-in for wdk-alloc, for compiling the seams for a Windows target without the WDK:
//! `WdkAllocator` exists with the real one's name and trait so the entry macros' global
//! allocator type-checks. Never linked into an image.
#![no_std]

/// The kernel-pool allocator's stand-in.
#[derive(Debug)]
pub struct WdkAllocator;

// SAFETY: returning null is a valid answer to every request (allocation failure), and
// `dealloc` is only ever given what `alloc` returned, which is nothing.
unsafe impl core::alloc::GlobalAlloc for WdkAllocator {
    unsafe fn alloc(&self, _layout: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _pointer: *mut u8, _layout: core::alloc::Layout) {}
}
