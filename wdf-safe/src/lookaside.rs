//! Lookaside lists: fixed-size blocks a driver allocates and frees often (a packet, a
//! per-request record), from a `WDFLOOKASIDE` the framework keeps warm, charged to a pool tag
//! the driver chooses, each block owned by a Rust value.
//!
//! ```ignore
//! let packets = LookasideList::<Packet>::create(&device, PoolTag::new(*b"Pkt "))?;
//! let packet = packets.allocate(Packet::default()).map_err(|(_, status)| status)?;
//! // `packet` derefs to the `Packet`; dropping it drops the value and gives the block back.
//! ```
//!
//! In C the driver calls `WdfLookasideListCreate`, then `WdfMemoryCreateFromLookaside` +
//! `WdfMemoryGetBuffer` per block and `WdfObjectDelete` to give it back; here the block is a
//! [`LookasideBox<T>`] and giving it back is its drop. Blocks come from non-paged pool
//! (`NonPagedPoolNx`), so they may be used at DISPATCH_LEVEL. A block stays valid however long
//! the driver keeps its box, even past the removal of the device the list was made for (KMDF
//! deletes the list and its memory objects with the device; the crate's reference keeps what
//! a box points to until the box goes). A box the driver never drops (`mem::forget`) is a
//! leak KMDF's pool tracking reports at unload, naming the tag.
//!
//! A [`PagedLookasideList`] gives blocks of paged pool (`PagedPool`), for `Copy` data only
//! PASSIVE_LEVEL and APC_LEVEL code uses: the list is made at PASSIVE_LEVEL, blocks are taken
//! at ≤ APC_LEVEL, and a [`PagedLookasideBox`] is read and written by value (`read`, `write`),
//! each refused above APC_LEVEL, where touching a page that is not resident bug-checks. No
//! reference into the block is handed out, so none can be used after the IRQL went up (a spin
//! lock taken while holding one), and a `Copy` value has no `Drop` to run on the block. A box
//! dropped above APC_LEVEL cannot be given back then: it is leaked, and reported at unload.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use wdm_compat::NtResult;
use wdm_compat::NtStatus;
use wdm_compat::pool::PoolTag;

use crate::sys::{LookasideBlock, LookasideHandle};
use crate::{Device, KmdfDriver};

/// A `WDFLOOKASIDE` of blocks sized for a `T`, parented to a device.
pub struct LookasideList<T> {
    raw: LookasideHandle,
    _blocks: PhantomData<fn(T) -> T>,
}

impl<T> LookasideList<T> {
    /// `WdfLookasideListCreate`: a list of blocks the size of a `T`, from non-paged pool
    /// charged to `tag`, deleted by the framework with `device` (blocks out stay valid) or
    /// when this value is dropped.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_PARAMETER` for a `T` aligned to more than 16 bytes (the framework's
    /// block alignment), `STATUS_INVALID_DEVICE_STATE` once the device is gone,
    /// `STATUS_INSUFFICIENT_RESOURCES`.
    pub fn create<D: KmdfDriver, S>(device: &Device<D, S>, tag: PoolTag) -> NtResult<Self> {
        list_of::<T, D, S>(device, tag, false).map(|raw| Self {
            raw,
            _blocks: PhantomData,
        })
    }

    /// `WdfMemoryCreateFromLookaside`: a block holding `value`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// Gives `value` back with `STATUS_INSUFFICIENT_RESOURCES` when no block can be had (the
    /// list is fallible as pool is), or `STATUS_DELETE_PENDING` once the device is being
    /// removed or gone (each block is parented to it; blocks already out stay valid).
    pub fn allocate(&self, value: T) -> Result<LookasideBox<T>, (T, NtStatus)> {
        self.raw.allocate(value).map(LookasideBox)
    }
}

impl<T> fmt::Debug for LookasideList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookasideList").finish_non_exhaustive()
    }
}

/// A `T` in a block of a [`LookasideList`]; dropping it drops the value and gives the block
/// back (`WdfObjectDelete` of its `WDFMEMORY`).
pub struct LookasideBox<T>(LookasideBlock<T>);

impl<T> Deref for LookasideBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for LookasideBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for LookasideBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LookasideBox").field(&**self).finish()
    }
}

/// A `WDFLOOKASIDE` of paged blocks sized for a `Copy` `T`, parented to a device (see the
/// [module](self)).
pub struct PagedLookasideList<T: Copy> {
    raw: LookasideHandle,
    _blocks: PhantomData<fn(T) -> T>,
}

impl<T: Copy> PagedLookasideList<T> {
    /// `WdfLookasideListCreate` with `PagedPool`: blocks the size of a `T`, charged to `tag`,
    /// deleted by the framework with `device` or when this value is dropped.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` above PASSIVE_LEVEL (no framework call), and as
    /// [`LookasideList::create`].
    pub fn create<D: KmdfDriver, S>(device: &Device<D, S>, tag: PoolTag) -> NtResult<Self> {
        list_of::<T, D, S>(device, tag, true).map(|raw| Self {
            raw,
            _blocks: PhantomData,
        })
    }

    /// `WdfMemoryCreateFromLookaside`: a paged block holding `value`.
    ///
    /// IRQL: ≤ APC_LEVEL.
    ///
    /// # Errors
    ///
    /// Gives `value` back with `STATUS_INVALID_DEVICE_REQUEST` above APC_LEVEL (no framework
    /// call: taking paged pool there could fault), and as [`LookasideList::allocate`].
    pub fn allocate(&self, value: T) -> Result<PagedLookasideBox<T>, (T, NtStatus)> {
        self.raw.allocate(value).map(PagedLookasideBox)
    }
}

impl<T: Copy> fmt::Debug for PagedLookasideList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagedLookasideList").finish_non_exhaustive()
    }
}

/// A `Copy` `T` in a block of a [`PagedLookasideList`], read and written by value at
/// ≤ APC_LEVEL only. Dropping it gives the block back; above APC_LEVEL it is leaked instead.
pub struct PagedLookasideBox<T: Copy>(LookasideBlock<T>);

impl<T: Copy> PagedLookasideBox<T> {
    /// A copy of the value, or `None` above APC_LEVEL (where its page may not be brought in).
    ///
    /// IRQL: any (`None` above APC_LEVEL).
    #[must_use]
    pub fn read(&self) -> Option<T> {
        // The check and the copy together: no reference outlives the IRQL it was checked at.
        self.0.resident().then(|| *self.0)
    }

    /// Replaces the value; gives `value` back above APC_LEVEL.
    ///
    /// IRQL: any (refused above APC_LEVEL).
    ///
    /// # Errors
    ///
    /// `value`, above APC_LEVEL.
    pub fn write(&mut self, value: T) -> Result<(), T> {
        if !self.0.resident() {
            return Err(value);
        }
        *self.0 = value;
        Ok(())
    }
}

impl<T: Copy> fmt::Debug for PagedLookasideBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagedLookasideBox").finish_non_exhaustive()
    }
}

/// `WdfLookasideListCreate` of blocks sized and aligned for a `T` (paged pool when `paged`).
fn list_of<T, D: KmdfDriver, S>(
    device: &Device<D, S>,
    tag: PoolTag,
    paged: bool,
) -> NtResult<LookasideHandle> {
    LookasideHandle::create(
        device.raw(),
        size_of::<T>(),
        align_of::<T>(),
        tag.to_raw(),
        paged,
    )
}
