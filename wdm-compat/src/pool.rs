//! Pool allocations the way kernel authors make them: from the paged or the non-paged pool,
//! charged to a pool tag the driver chooses (`ExAllocatePool2` / `ExAllocatePoolWithTag`,
//! `ExFreePoolWithTag`), so that `!poolused`, poolmon and Driver Verifier's pool tracking
//! tell the driver's memory apart.
//!
//! [`PoolBox<T>`] owns one `T` in a non-paged block, [`PagedBox<T>`] in a paged one:
//! `try_new` hands the value back when the pool is short (a kernel allocation must not fail
//! silently, nor panic), and dropping the box drops the value and frees the block. A paged
//! block's page may be out, and serving the fault needs IRQL ≤ APC_LEVEL: a `PagedBox` holds
//! a `Copy` value, read and written by value through [`read`](PagedBox::read) /
//! [`write`](PagedBox::write), which check the IRQL and copy in one step and are refused above
//! that level (no reference into the block is handed out, so none can be used after the IRQL
//! goes up, under a spin lock), and one dropped above it is left (charged to the driver, so
//! the leak is named at unload) rather than freed. The global allocator (`Box`, `Vec`) keeps drawing from
//! the non-paged pool under the crate's own tag.
//!
//! Under the host simulation (feature `host`) the blocks are counted per driver and tag
//! (`IoManager::pool_in_use`; a block is charged back to the driver that allocated it, whoever
//! frees it); a driver that unloads with blocks outstanding is reported as Driver Verifier
//! reports it (bug check 0xC4, subcode 0x62, naming the tags), and a paged block allocated,
//! touched or freed above APC_LEVEL as SDV IrqlExAllocatePool.
//!
//! ```
//! use wdm_compat::pool::{PagedBox, PoolBox, PoolTag};
//!
//! const TAG: PoolTag = PoolTag::new(*b"Toas");
//! let Ok(counter) = PoolBox::try_new(0u32, TAG) else {
//!     // STATUS_INSUFFICIENT_RESOURCES, in a driver.
//!     return;
//! };
//! assert_eq!(*counter, 0);
//! let Ok(table) = PagedBox::try_new([0u8; 64], TAG) else {
//!     return;
//! };
//! assert_eq!(table.read().map(|t| t.len()), Some(64));
//! ```

use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::sys::tagged::TaggedBlock;

/// A pool tag: four characters, as `!poolused` and poolmon show them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolTag(u32);

impl PoolTag {
    /// The tag that shows as `chars` (`PoolTag::new(*b"Toas")` is the C driver's `'saoT'`).
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn new(chars: [u8; 4]) -> Self {
        Self(u32::from_le_bytes(chars))
    }

    /// The tag as the kernel's `ULONG`.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn to_raw(self) -> u32 {
        self.0
    }

    /// The tag of a kernel `ULONG`.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }
}

impl fmt::Display for PoolTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0.to_le_bytes() {
            let shown = if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte)
            } else {
                '?'
            };
            write!(f, "{shown}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PoolTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PoolTag('{self}')")
    }
}

/// One `T` in a non-paged pool block of its own, tagged, freed when dropped.
pub struct PoolBox<T>(TaggedBlock<T>);

impl<T> PoolBox<T> {
    /// Moves `value` into a new non-paged block charged to `tag`; gives `value` back when the
    /// pool is short. A `T` aligned above 16 bytes (the pool's alignment) does not compile.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `value`, when no block was allocated.
    pub fn try_new(value: T, tag: PoolTag) -> Result<Self, T> {
        TaggedBlock::try_new(value, false, tag.to_raw()).map(Self)
    }

    /// The tag the block is charged to.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn tag(&self) -> PoolTag {
        PoolTag(self.0.tag())
    }
}

impl<T> Deref for PoolBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // A non-paged block: always resident.
        self.0.resident()
    }
}

impl<T> DerefMut for PoolBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.resident_mut()
    }
}

/// One `Copy` `T` in a paged pool block of its own, tagged: read and written by value at
/// ≤ APC_LEVEL only.
pub struct PagedBox<T: Copy>(TaggedBlock<T>);

impl<T: Copy> PagedBox<T> {
    /// Moves `value` into a new paged block charged to `tag`; gives `value` back when the pool
    /// is short, or above APC_LEVEL (refused; reported under the host simulation).
    ///
    /// IRQL: ≤ APC_LEVEL.
    ///
    /// # Errors
    ///
    /// `value`, when no block was allocated.
    pub fn try_new(value: T, tag: PoolTag) -> Result<Self, T> {
        TaggedBlock::try_new(value, true, tag.to_raw()).map(Self)
    }

    /// A copy of the value, or `None` above APC_LEVEL (where its page may not be brought in).
    ///
    /// IRQL: any (`None` above APC_LEVEL).
    #[must_use]
    pub fn read(&self) -> Option<T> {
        // The check and the copy together: no reference outlives the IRQL it was checked at.
        self.0.get().copied()
    }

    /// Replaces the value; gives `value` back above APC_LEVEL.
    ///
    /// IRQL: any (refused above APC_LEVEL).
    ///
    /// # Errors
    ///
    /// `value`, above APC_LEVEL.
    pub fn write(&mut self, value: T) -> Result<(), T> {
        match self.0.get_mut() {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(value),
        }
    }

    /// The tag the block is charged to.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn tag(&self) -> PoolTag {
        PoolTag(self.0.tag())
    }
}

impl<T: fmt::Debug> fmt::Debug for PoolBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PoolBox").field(&**self).finish()
    }
}

impl<T: Copy> fmt::Debug for PagedBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PagedBox('{}')", self.tag())
    }
}
