//! `WDFLOOKASIDE` and the `WDFMEMORY` blocks made from it, owned by Rust values.
//!
//! | DDI | IRQL | used by |
//! |---|---|---|
//! | `WdfLookasideListCreate` | ≤ DISPATCH (paged: PASSIVE) | [`LookasideHandle::create`] |
//! | `WdfMemoryCreateFromLookaside`, `WdfMemoryGetBuffer` | ≤ DISPATCH | [`LookasideHandle::allocate`] |
//! | `WdfObjectReferenceActual`, `WdfObjectDelete`, `WdfObjectDereferenceActual` | ≤ DISPATCH | both handles, made and dropped |
//!
//! KMDF deletes a list and its memory objects with their parent (here the device the list is
//! created for) whatever Rust still holds, so both handles hold a framework reference from
//! the start: a deleted object is then only disposed, and its memory (the list, the block)
//! stays until the reference goes (`FxObject::Release` → `SelfDestruct`, which gives the block
//! back to the list). Dropping a handle deletes its object — a no-op when its parent already
//! did (`FxObject::DeleteObject` ignores a deleted object) — and drops the reference.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};

use super::contexts::ObjectHead;
use super::device::DeviceHandle;
use super::memory::{delete_and_release, parented, reference};
use super::record::Ticket;
use super::wdk_sys::{self, WDFLOOKASIDE, WDFMEMORY, call_unsafe_wdf_function_binding};
use crate::sys::DriverCallbacks;
use wdm_compat::{NtResult, NtStatus};

/// The alignment KMDF gives a lookaside block (`MEMORY_ALLOCATION_ALIGNMENT` on x64).
const BLOCK_ALIGNMENT: usize = 16;

/// `APC_LEVEL`: the highest IRQL at which paged memory may be touched.
const APC_LEVEL: u8 = 1;

/// A `WDFLOOKASIDE` of non-paged blocks, referenced by the crate while the handle lives, and
/// the cell of the device its blocks are parented to.
pub(crate) struct LookasideHandle {
    list: NonNull<wdk_sys::WDFLOOKASIDE__>,
    /// Blocks come from paged pool: allocated, read and given back at ≤ APC_LEVEL only.
    paged: bool,
    /// Each new block's `WDFMEMORY` is committed under the device (`FxObject::Commit` with the
    /// list's memory attributes reads the parent's handle): the device is held around it, and
    /// a list kept past the device's removal gives no more blocks.
    device: Ticket<()>,
}

// SAFETY: a framework handle; KMDF's lookaside lists serve any thread at ≤ DISPATCH_LEVEL, and
// the reference the handle holds is released once, by whoever drops it.
unsafe impl Send for LookasideHandle {}
// SAFETY: as above; `allocate` through a shared handle is what the list is for.
unsafe impl Sync for LookasideHandle {}

impl LookasideHandle {
    /// `WdfLookasideListCreate` for blocks of `size` bytes aligned to `align`, from
    /// `NonPagedPoolNx` (or `PagedPool` when `paged`) tagged `tag`, the list and its memory
    /// objects parented to `device`.
    ///
    /// `STATUS_INVALID_PARAMETER` for an alignment the framework does not give;
    /// `STATUS_INVALID_DEVICE_STATE` once the device is gone; `STATUS_INVALID_DEVICE_REQUEST`
    /// for a paged list above PASSIVE_LEVEL (KMDF's rule), without a framework call.
    pub(crate) fn create<D: DriverCallbacks>(
        device: DeviceHandle<D>,
        size: usize,
        align: usize,
        tag: u32,
        paged: bool,
    ) -> NtResult<Self> {
        if align > BLOCK_ALIGNMENT {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        if paged && crate::sys::current_irql() > 0 {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let held = device.held_device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let mut list_attributes = parented(held.raw().cast());
        let mut memory_attributes = parented(held.raw().cast());
        let mut list: WDFLOOKASIDE = ptr::null_mut();
        // SAFETY: the attributes are read during the call; the parent is a device held by a
        // reference for it; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfLookasideListCreate,
                &mut list_attributes,
                size.max(1),
                if paged {
                    wdk_sys::_POOL_TYPE::PagedPool
                } else {
                    wdk_sys::_POOL_TYPE::NonPagedPoolNx
                },
                &mut memory_attributes,
                tag,
                &mut list
            )
        };
        NtStatus::from_raw(status).ok()?;
        let list = NonNull::new(list).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        reference(list.as_ptr().cast());
        Ok(Self {
            list,
            paged,
            device: device.ticket(),
        })
    }

    /// `WdfMemoryCreateFromLookaside` + `WdfMemoryGetBuffer`: a block holding `value`, or the
    /// value back with why there is none (`STATUS_INSUFFICIENT_RESOURCES`, or
    /// `STATUS_DELETE_PENDING` once the list's parent is being deleted).
    ///
    /// A paged list's block is refused above APC_LEVEL (`STATUS_INVALID_DEVICE_REQUEST`,
    /// without a framework call): taking it from paged pool could fault.
    pub(crate) fn allocate<T>(&self, value: T) -> Result<LookasideBlock<T>, (T, NtStatus)> {
        if self.paged && crate::sys::current_irql() > APC_LEVEL {
            return Err((value, NtStatus::INVALID_DEVICE_REQUEST));
        }
        // The memory object's parent, held for the call (see `device`).
        // SAFETY: a device ticket, erased from a `DeviceRecord<D>` (`repr(C)`, `ObjectHead`
        // first).
        let held = unsafe { self.device.enter_head::<ObjectHead<wdk_sys::WDFDEVICE__>>() }
            .and_then(|head| head.cell.hold());
        let Some(_device) = held else {
            return Err((value, NtStatus::DELETE_PENDING));
        };
        let mut memory: WDFMEMORY = ptr::null_mut();
        // SAFETY: the list is referenced by this handle and the device its memory objects are
        // committed under is held; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfMemoryCreateFromLookaside,
                self.list.as_ptr(),
                &mut memory
            )
        };
        if let Err(status) = NtStatus::from_raw(status).ok() {
            return Err((value, status));
        }
        let Some(memory) = NonNull::new(memory) else {
            return Err((value, NtStatus::INSUFFICIENT_RESOURCES));
        };
        reference(memory.as_ptr().cast());
        let mut size: usize = 0;
        // SAFETY: a live memory object (referenced above); the out-pointer is a local.
        let buffer = unsafe {
            call_unsafe_wdf_function_binding!(WdfMemoryGetBuffer, memory.as_ptr(), &mut size)
        }
        .cast::<T>();
        match NonNull::new(buffer) {
            Some(slot) if slot.is_aligned() && size >= size_of::<T>() => {
                // SAFETY: the block is at least `T`'s size and aligned for it, and no one else
                // uses it while the memory object is the crate's.
                unsafe { slot.write(value) };
                Ok(LookasideBlock {
                    memory,
                    value: slot,
                    paged: self.paged,
                    _owns: PhantomData,
                })
            }
            _ => {
                delete_and_release(memory.as_ptr().cast());
                Err((value, NtStatus::INVALID_PARAMETER))
            }
        }
    }
}

impl Drop for LookasideHandle {
    fn drop(&mut self) {
        // Blocks still out keep the list (each memory object references it).
        delete_and_release(self.list.as_ptr().cast());
    }
}

/// A `T` in a lookaside block: the block is the crate's (a referenced `WDFMEMORY`) until the
/// value is dropped, then goes back to its list.
pub(crate) struct LookasideBlock<T> {
    memory: NonNull<wdk_sys::WDFMEMORY__>,
    value: NonNull<T>,
    /// From a paged list: touched and given back at ≤ APC_LEVEL only.
    paged: bool,
    _owns: PhantomData<T>,
}

// SAFETY: the block owns its `T` like a `Box`, and the memory object's reference is released
// once, by whoever drops it, at ≤ DISPATCH_LEVEL (any thread).
unsafe impl<T: Send> Send for LookasideBlock<T> {}
// SAFETY: shared access gives `&T` only.
unsafe impl<T: Sync> Sync for LookasideBlock<T> {}

impl<T> Deref for LookasideBlock<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: initialised in `allocate` and dropped only in `drop`; the reference keeps the
        // block whatever KMDF deleted.
        unsafe { self.value.as_ref() }
    }
}

impl<T> DerefMut for LookasideBlock<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, borrowed uniquely through `&mut self`.
        unsafe { self.value.as_mut() }
    }
}

impl<T> LookasideBlock<T> {
    /// Whether the block may be touched now: always for a non-paged block, at ≤ APC_LEVEL for
    /// a paged one (above it, its page may not be brought in).
    pub(crate) fn resident(&self) -> bool {
        !self.paged || crate::sys::current_irql() <= APC_LEVEL
    }
}

impl<T> Drop for LookasideBlock<T> {
    fn drop(&mut self) {
        if !self.resident() {
            // Dropping the value or giving the block back could fault: both are left, and the
            // block stays charged to its tag (reported at unload).
            wdm_compat::kd_print!(
                "wdf-safe: a paged lookaside block dropped above APC_LEVEL is leaked"
            );
            return;
        }
        // SAFETY: the value was written in `allocate` and is dropped once, here; the block is
        // still referenced.
        unsafe { ptr::drop_in_place(self.value.as_ptr()) };
        delete_and_release(self.memory.as_ptr().cast());
    }
}
