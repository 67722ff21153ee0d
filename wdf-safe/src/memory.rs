//! Memory objects (`WDFMEMORY` from `WdfMemoryCreate`): a buffer of the driver's own, charged to
//! a pool tag it chooses, that it fills, sends to the device below with a request of its own
//! ([`Device::send_ioctl`]) and gets back with the answer in it.
//!
//! In C the driver calls `WdfMemoryCreate` and keeps the `WDFMEMORY` and the buffer pointer;
//! nothing stops it from writing the buffer while a request it was formatted with is at its
//! target, or from using the pointer after `WdfObjectDelete`. Here the buffer is a [`Memory`]
//! value: a send takes it, and the completion callback gets it back
//! ([`IoctlCompletion`](crate::io_target::IoctlCompletion)), so the bytes are the driver's only
//! while no target can write them. Dropping it deletes the object.
//!
//! The buffer is non-paged (`NonPagedPoolNx`), so it may be used at DISPATCH_LEVEL; it is
//! zeroed when made (pool memory is not). The memory object belongs to the driver, not to the
//! device it is made for: it stays valid until the `Memory` goes, however long the driver keeps
//! it, past the device's removal too. A `Memory` never dropped (`mem::forget`) is a leak KMDF's
//! pool tracking reports at unload, naming the tag.

use core::fmt;
use core::ops::{Deref, DerefMut};

use wdm_compat::NtResult;
use wdm_compat::pool::PoolTag;

use crate::sys::MemoryHandle;
use crate::{Device, KmdfDriver};

/// A `WDFMEMORY` buffer of `len` bytes, owned by the driver (see the [module](self)).
pub struct Memory {
    raw: MemoryHandle,
}

impl Memory {
    /// `WdfMemoryCreate`: `len` zeroed bytes of non-paged pool charged to `tag`, for the
    /// driver of `device` (the object's parent is the driver).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_PARAMETER` for zero bytes (KMDF makes no empty memory objects),
    /// `STATUS_INVALID_DEVICE_STATE` once the device is gone, `STATUS_INSUFFICIENT_RESOURCES`.
    pub fn create<D: KmdfDriver, S>(
        device: &Device<D, S>,
        tag: PoolTag,
        len: usize,
    ) -> NtResult<Self> {
        MemoryHandle::create(device.raw(), len, tag.to_raw()).map(|raw| Self { raw })
    }

    /// [`create`](Self::create) with a copy of `bytes` in it.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create) (an empty `bytes` is `STATUS_INVALID_PARAMETER`).
    pub fn from_bytes<D: KmdfDriver, S>(
        device: &Device<D, S>,
        tag: PoolTag,
        bytes: &[u8],
    ) -> NtResult<Self> {
        let mut memory = Self::create(device, tag, bytes.len())?;
        memory.copy_from_slice(bytes);
        Ok(memory)
    }

    pub(crate) fn into_raw(self) -> MemoryHandle {
        self.raw
    }

    pub(crate) const fn from_raw(raw: MemoryHandle) -> Self {
        Self { raw }
    }
}

impl Deref for Memory {
    type Target = [u8];

    /// The buffer (`WdfMemoryGetBuffer`, read once when it was made).
    fn deref(&self) -> &[u8] {
        self.raw.as_slice()
    }
}

impl DerefMut for Memory {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.raw.as_mut_slice()
    }
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory").field("len", &self.len()).finish()
    }
}
