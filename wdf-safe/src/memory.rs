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
use core::ops::{Deref, DerefMut, Range};

use wdm_compat::pool::PoolTag;
use wdm_compat::{NtResult, NtStatus};

use crate::sys::{MemoryHandle, SendBuffer};
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

    /// The whole buffer, for one synchronous send
    /// ([`IoTarget::send_ioctl_synchronously_with_memory`](crate::request::IoTarget::send_ioctl_synchronously_with_memory)).
    ///
    /// IRQL: any.
    pub fn whole(&mut self) -> MemoryRange<'_> {
        let len = self.len();
        MemoryRange {
            memory: self,
            offset: 0,
            len,
        }
    }

    /// The bytes `range` of the buffer, for one synchronous send (a `WDFMEMORY_OFFSET` of
    /// `range.start` and `range.len()`).
    ///
    /// IRQL: any.
    ///
    /// # Errors
    ///
    /// `STATUS_INTEGER_OVERFLOW` for a range past the buffer's end (KMDF's status for such
    /// offsets), `STATUS_INVALID_PARAMETER` for an empty one (KMDF reads an offset with a zero
    /// length as "the rest of the buffer", so an empty part cannot be described: send no
    /// buffer instead).
    pub fn range(&mut self, range: Range<usize>) -> NtResult<MemoryRange<'_>> {
        if range.end > self.len() {
            return Err(NtStatus::INTEGER_OVERFLOW);
        }
        if range.is_empty() {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        Ok(MemoryRange {
            memory: self,
            offset: range.start,
            len: range.len(),
        })
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

/// A part of a [`Memory`] buffer that one synchronous send transfers (`WDFMEMORY_OFFSET`),
/// from [`Memory::whole`] or [`Memory::range`]: never empty, never past the buffer's end. It
/// borrows the memory exclusively for the send, since the device below may write it.
pub struct MemoryRange<'a> {
    memory: &'a mut Memory,
    offset: usize,
    len: usize,
}

impl<'a> MemoryRange<'a> {
    /// Where the part starts in the buffer.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// How many bytes the part holds (never zero).
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a range is never empty (kept for clippy's `len_without_is_empty`).
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    pub(crate) fn into_send_buffer(self) -> SendBuffer<'a> {
        SendBuffer::Memory {
            memory: &mut self.memory.raw,
            offset: self.offset,
            len: self.len,
        }
    }
}

impl fmt::Debug for MemoryRange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRange")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}
