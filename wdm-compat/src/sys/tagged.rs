//! The block behind `wdm_compat::pool::PoolBox`: one `T` in a tagged pool block of its own
//! (the backend's `allocate_pool` / `free_pool`).

use core::marker::PhantomData;
use core::ptr::NonNull;

/// The pool's alignment (`MEMORY_ALLOCATION_ALIGNMENT` on x64).
const POOL_ALIGNMENT: usize = 16;

/// A `T` in a pool block charged to `tag`, owned alone, dropped and freed with the value.
pub(crate) struct TaggedBlock<T> {
    block: NonNull<T>,
    tag: u32,
    _owns: PhantomData<T>,
}

// SAFETY: the block owns its `T` alone (as `Box<T>` does); the block is plain memory any thread
// may free (the pool is not per-thread).
unsafe impl<T: Send> Send for TaggedBlock<T> {}
// SAFETY: shared access to the block is shared access to the `T`.
unsafe impl<T: Sync> Sync for TaggedBlock<T> {}

impl<T> TaggedBlock<T> {
    /// Moves `value` into a new block; gives it back when none could be allocated.
    pub(crate) fn try_new(value: T, paged: bool, tag: u32) -> Result<Self, T> {
        const {
            assert!(
                align_of::<T>() <= POOL_ALIGNMENT,
                "the pool aligns blocks to 16 bytes"
            );
        }
        let Some(block) = super::allocate_pool(paged, size_of::<T>(), tag) else {
            return Err(value);
        };
        let block = block.cast::<T>();
        // SAFETY: a fresh block of at least `size_of::<T>()` bytes, aligned to 16 (at least
        // `T`'s alignment, asserted above), owned by nobody else.
        unsafe { block.as_ptr().write(value) };
        Ok(Self {
            block,
            tag,
            _owns: PhantomData,
        })
    }

    pub(crate) const fn tag(&self) -> u32 {
        self.tag
    }

    pub(crate) const fn get(&self) -> &T {
        // SAFETY: the block holds an initialised `T` until it is dropped.
        unsafe { self.block.as_ref() }
    }

    pub(crate) const fn get_mut(&mut self) -> &mut T {
        // SAFETY: as for `get`, and `&mut self` makes the access unique.
        unsafe { self.block.as_mut() }
    }
}

impl<T> Drop for TaggedBlock<T> {
    fn drop(&mut self) {
        // SAFETY: the block holds an initialised `T`, dropped once, here.
        unsafe { self.block.as_ptr().drop_in_place() };
        // SAFETY: the block came from `allocate_pool` with this size and tag, freed once.
        unsafe { super::free_pool(self.block.cast(), size_of::<T>(), self.tag) };
    }
}
