//! Any alignment from the kernel pool, for a driver image's global allocator.
//!
//! The pool hands out blocks aligned to `MEMORY_ALLOCATION_ALIGNMENT` (16 bytes on x64), and
//! neither `ExAllocatePool*` nor wdk-alloc's allocator looks at a layout's alignment. A safe
//! `Box` of a `#[repr(align(64))]` type would then be misaligned, which is undefined behaviour.
//! [`PoolAligned`] serves such layouts from a larger block: the value starts at the first
//! suitably aligned address past one word, and that word, just below it, keeps the block's own
//! address for `dealloc`.

#![cfg_attr(
    not(all(not(feature = "host"), target_os = "windows")),
    allow(
        dead_code,
        unreachable_pub,
        reason = "only a driver image's global allocator uses it"
    )
)]

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

/// The alignment of every block the kernel pool returns (`MEMORY_ALLOCATION_ALIGNMENT`, x64).
pub(crate) const POOL_ALIGNMENT: usize = 16;

/// A global allocator over `A`, whose blocks are [`POOL_ALIGNMENT`]-aligned whatever the layout
/// asks, that honours every alignment.
#[derive(Debug)]
pub struct PoolAligned<A>(pub(crate) A);

/// The block to take from the pool for a layout aligned above the pool's: room for the value,
/// for moving it up to its alignment, and for the word that remembers the block.
fn outer_layout(layout: Layout) -> Option<Layout> {
    let size = layout
        .size()
        .checked_add(layout.align())?
        .checked_add(size_of::<usize>())?;
    Layout::from_size_align(size, POOL_ALIGNMENT).ok()
}

// SAFETY: layouts the pool aligns well enough go to `A` unchanged. Others get a block of
// `outer_layout`, inside which the returned pointer is aligned as asked and followed by at least
// `layout.size()` bytes; `dealloc` gives `A` back exactly the block and layout it handed out.
unsafe impl<A: GlobalAlloc> GlobalAlloc for PoolAligned<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= POOL_ALIGNMENT {
            // SAFETY: the caller's layout has a non-zero size (`GlobalAlloc::alloc`'s contract).
            return unsafe { self.0.alloc(layout) };
        }
        let Some(outer) = outer_layout(layout) else {
            return ptr::null_mut();
        };
        // SAFETY: `outer` is larger than the caller's layout, so its size is not zero.
        let block = unsafe { self.0.alloc(outer) };
        if block.is_null() {
            return block;
        }
        // The first address past one word that has the alignment asked for.
        let start = block.addr() + size_of::<usize>();
        let offset = start.next_multiple_of(layout.align()) - block.addr();
        // SAFETY: `offset` is less than one word plus the alignment, so the value's bytes,
        // `offset..offset + size`, lie inside the `size + align + word`-byte block.
        let value = unsafe { block.add(offset) };
        let slot = value.cast::<*mut u8>().wrapping_sub(1);
        // SAFETY: the word below the value is inside the block (`offset` is at least a word) and
        // aligned (the value's alignment is above 16, a multiple of the word's).
        unsafe { slot.write(block) };
        value
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        if layout.align() <= POOL_ALIGNMENT {
            // SAFETY: `alloc` returned `pointer` from `A` for this very layout.
            unsafe { self.0.dealloc(pointer, layout) };
            return;
        }
        let slot = pointer.cast::<*mut u8>().wrapping_sub(1);
        // SAFETY: `alloc` wrote the block's address in that word, just below `pointer`.
        let block = unsafe { slot.read() };
        if let Some(outer) = outer_layout(layout) {
            // SAFETY: `block` came from `A` with `outer`, which the same layout gives again.
            unsafe { self.0.dealloc(block, outer) };
        }
    }
}

#[cfg(all(test, feature = "host"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use core::alloc::{GlobalAlloc, Layout};
    use std::alloc::System;

    use super::{POOL_ALIGNMENT, PoolAligned};

    /// The kernel pool's behaviour: every block 16-byte aligned, whatever the layout asks.
    struct Pool;

    // SAFETY: forwards to the system allocator with the alignment replaced by the pool's.
    unsafe impl GlobalAlloc for Pool {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let pool = Layout::from_size_align(layout.size(), POOL_ALIGNMENT).unwrap();
            // SAFETY: same size as the caller's layout, which is not zero.
            unsafe { System.alloc(pool) }
        }

        unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
            let pool = Layout::from_size_align(layout.size(), POOL_ALIGNMENT).unwrap();
            // SAFETY: `alloc` made it with this layout.
            unsafe { System.dealloc(pointer, pool) };
        }
    }

    #[test]
    fn every_alignment_is_honoured_and_every_byte_is_usable() {
        let allocator = PoolAligned(Pool);
        for align in [1, 8, 16, 32, 64, 256, 4096] {
            for size in [1, 7, 64, 1000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size.
                let value = unsafe { allocator.alloc(layout) };
                assert!(!value.is_null());
                assert_eq!(value.addr() % align, 0, "size {size}, align {align}");
                // SAFETY: `size` bytes were allocated for this layout.
                unsafe { value.write_bytes(0xA5, size) };
                // SAFETY: as above.
                let bytes = unsafe { core::slice::from_raw_parts(value, size) };
                assert!(bytes.iter().all(|b| *b == 0xA5));
                // SAFETY: allocated above with this layout.
                unsafe { allocator.dealloc(value, layout) };
            }
        }
    }

    #[test]
    fn growing_an_over_aligned_block_keeps_its_bytes_and_alignment() {
        let allocator = PoolAligned(Pool);
        let layout = Layout::from_size_align(64, 64).unwrap();
        // SAFETY: a non-zero size.
        let value = unsafe { allocator.alloc(layout) };
        // SAFETY: 64 bytes were allocated.
        unsafe { value.write_bytes(7, 64) };
        // SAFETY: `value` came from this allocator with `layout`; the new size is not zero.
        let grown = unsafe { allocator.realloc(value, layout, 640) };
        assert_eq!(grown.addr() % 64, 0);
        // SAFETY: the first 64 bytes were copied over by `realloc`.
        let bytes = unsafe { core::slice::from_raw_parts(grown, 64) };
        assert!(bytes.iter().all(|b| *b == 7));
        // SAFETY: allocated by `realloc` with this size and alignment.
        unsafe { allocator.dealloc(grown, Layout::from_size_align(640, 64).unwrap()) };
    }
}
