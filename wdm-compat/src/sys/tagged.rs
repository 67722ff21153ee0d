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
    /// From the paged pool: touched and freed only at ≤ APC_LEVEL.
    paged: bool,
    _owns: PhantomData<T>,
}

/// Whether a paged block may be touched or freed now (≤ APC_LEVEL); above, it is refused
/// (and reported under the host simulation), since the page may be out.
fn paged_access_allowed(what: &str) -> bool {
    #[cfg(feature = "host")]
    {
        !super::host::paged_access_refused(what)
    }
    #[cfg(not(feature = "host"))]
    {
        let _ = what;
        super::current_irql() <= 1
    }
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
            paged,
            _owns: PhantomData,
        })
    }

    pub(crate) const fn tag(&self) -> u32 {
        self.tag
    }

    /// The value of a block `PoolBox` made (non-paged: always resident).
    pub(crate) const fn resident(&self) -> &T {
        // SAFETY: the block holds an initialised `T` until it is dropped. (Called for non-paged
        // blocks only; a paged one read above APC_LEVEL would fault, a bug check, not a wrong
        // value.)
        unsafe { self.block.as_ref() }
    }

    /// As [`resident`](Self::resident), for writing.
    pub(crate) const fn resident_mut(&mut self) -> &mut T {
        // SAFETY: as for `resident`, and `&mut self` makes the access unique.
        unsafe { self.block.as_mut() }
    }

    /// The value: always for a non-paged block, ≤ APC_LEVEL only for a paged one.
    pub(crate) fn get(&self) -> Option<&T> {
        if self.paged && !paged_access_allowed("reading") {
            return None;
        }
        // SAFETY: the block holds an initialised `T` until it is dropped, resident (non-paged,
        // or paged at an IRQL where a page fault is served).
        Some(unsafe { self.block.as_ref() })
    }

    /// As [`get`](Self::get), for writing.
    pub(crate) fn get_mut(&mut self) -> Option<&mut T> {
        if self.paged && !paged_access_allowed("writing") {
            return None;
        }
        // SAFETY: as for `get`, and `&mut self` makes the access unique.
        Some(unsafe { self.block.as_mut() })
    }
}

impl<T> Drop for TaggedBlock<T> {
    fn drop(&mut self) {
        if self.paged && !paged_access_allowed("freeing") {
            // Touching or freeing it now could fault: the block (and its value) are left, and
            // stay charged to the driver (Driver Verifier names the tag at unload).
            return;
        }
        // SAFETY: the block holds an initialised `T`, dropped once, here.
        unsafe { self.block.as_ptr().drop_in_place() };
        // SAFETY: the block came from `allocate_pool` with this size and tag, freed once.
        unsafe { super::free_pool(self.block.cast(), size_of::<T>(), self.tag) };
    }
}
