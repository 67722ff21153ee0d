//! Memory the framework lends to drivers: object contexts and request buffers.
//!
//! A driver keeps the pointers the framework gives it (a context's address, a buffer's) and
//! writes through them while the framework goes on using its own copy of the same pointer, so
//! the memory is a raw allocation whose pointer is never reborrowed as a reference that would
//! outlive one access: everything handed out derives from the one pointer the allocator
//! returned.

use core::alloc::Layout;
use core::ptr::NonNull;
use std::alloc::{alloc_zeroed, dealloc};
use std::boxed::Box;
use std::vec::Vec;

/// `MEMORY_ALLOCATION_ALIGNMENT` on x64: KMDF aligns context memory to it.
pub(crate) const MEMORY_ALLOCATION_ALIGNMENT: usize = 16;

/// A zeroed allocation the framework lends to a driver.
///
/// # Invariants
///
/// `pointer` came from `alloc_zeroed(layout)` (or is dangling when `layout.size()` is 0) and is
/// freed only by `Drop`; the framework reads and writes the bytes only through raw pointers
/// derived from it, while the driver it lent them to is not using them.
pub(crate) struct Block {
    pointer: NonNull<u8>,
    layout: Layout,
}

// SAFETY: a block is plain memory owned by the framework object that holds it; moving the
// owner to another thread moves the ownership, and access is synchronized by the framework's
// lock (its own accesses) or by the framework's rules for drivers (the driver's).
unsafe impl Send for Block {}

impl Block {
    /// `size` zeroed bytes aligned to [`MEMORY_ALLOCATION_ALIGNMENT`]; `None` when the
    /// allocation fails (the framework then returns `STATUS_INSUFFICIENT_RESOURCES`).
    pub(crate) fn zeroed(size: usize) -> Option<Self> {
        let layout = Layout::from_size_align(size, MEMORY_ALLOCATION_ALIGNMENT).ok()?;
        if size == 0 {
            return Some(Self {
                pointer: NonNull::dangling(),
                layout,
            });
        }
        // SAFETY: the layout has a non-zero size (checked above).
        let pointer = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        Some(Self { pointer, layout })
    }

    /// A block holding a copy of `bytes`.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let block = Self::zeroed(bytes.len())?;
        block.write(0, bytes);
        Some(block)
    }

    /// The address lent to drivers.
    pub(crate) const fn as_ptr(&self) -> *mut u8 {
        self.pointer.as_ptr()
    }

    pub(crate) const fn len(&self) -> usize {
        self.layout.size()
    }

    /// A copy of the bytes.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        if self.len() == 0 {
            return Vec::new();
        }
        // SAFETY: the block holds `len` initialized (zeroed, then written) bytes; the framework
        // copies them only when no driver is writing them (before presenting a request, after
        // it was completed or sent).
        unsafe { core::slice::from_raw_parts(self.pointer.as_ptr(), self.len()) }.to_vec()
    }

    /// Copies `bytes` in at `offset`, as much as fits.
    pub(crate) fn write(&self, offset: usize, bytes: &[u8]) {
        let room = self.len().saturating_sub(offset);
        let count = bytes.len().min(room);
        if count == 0 {
            return;
        }
        // SAFETY: `offset + count <= len`, so the result stays inside the allocation.
        let target = unsafe { self.pointer.as_ptr().add(offset) };
        // SAFETY: `count` bytes fit at `target` (above), the source is a distinct slice, and no
        // driver is using the bytes while the framework fills them (as in `to_vec`).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), target, count) };
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated by `alloc_zeroed` with this layout (invariant), freed once.
            unsafe { dealloc(self.pointer.as_ptr(), self.layout) };
        }
    }
}

impl core::fmt::Debug for Block {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Block").field("len", &self.len()).finish()
    }
}

/// A pointer a driver gave the framework to hand back to it (a completion routine's context):
/// the framework never dereferences it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DriverPointer(pub(crate) *mut core::ffi::c_void);

impl Default for DriverPointer {
    fn default() -> Self {
        Self(core::ptr::null_mut())
    }
}

// SAFETY: the framework only stores the pointer and passes it back to the driver's own
// routine, on whatever thread KMDF would call that routine on; it never reads through it.
unsafe impl Send for DriverPointer {}

/// An image's `WDF_DRIVER_GLOBALS`, at a stable address that identifies the image.
pub(crate) struct Globals(Box<super::bindings::WDF_DRIVER_GLOBALS>);

// SAFETY: the structure is written once, when the image is bound, and never afterwards; only
// its address is used later (compared, and passed to drivers, who do not write it).
unsafe impl Send for Globals {}
// SAFETY: as above: no thread writes it after creation.
unsafe impl Sync for Globals {}

impl Globals {
    pub(crate) fn new(globals: super::bindings::WDF_DRIVER_GLOBALS) -> Self {
        Self(Box::new(globals))
    }

    /// `PWDF_DRIVER_GLOBALS`.
    pub(crate) fn as_ptr(&self) -> super::bindings::PWDF_DRIVER_GLOBALS {
        core::ptr::from_ref::<super::bindings::WDF_DRIVER_GLOBALS>(&self.0).cast_mut()
    }
}
