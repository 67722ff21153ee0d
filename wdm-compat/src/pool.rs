//! Pool allocations the way kernel authors make them: from the paged or the non-paged pool,
//! charged to a pool tag the driver chooses (`ExAllocatePool2` / `ExAllocatePoolWithTag`,
//! `ExFreePoolWithTag`), so that `!poolused`, poolmon and Driver Verifier's pool tracking
//! tell the driver's memory apart.
//!
//! [`PoolBox<T>`] owns one `T` in such a block: [`PoolBox::try_new`] hands the value back when
//! the pool is short (a kernel allocation must not fail silently, nor panic), and dropping the
//! box drops the value and frees the block. The global allocator (`Box`, `Vec`) keeps drawing
//! from the non-paged pool under the crate's own tag.
//!
//! Under the host simulation (feature `host`) the blocks are counted per driver and tag
//! (`IoManager::pool_in_use`); a driver that unloads
//! with blocks outstanding is reported as Driver Verifier reports it (bug check 0xC4, subcode
//! 0x62, naming the tags), and a paged allocation above APC_LEVEL as SDV IrqlExAllocatePool.
//!
//! ```
//! use wdm_compat::pool::{PoolBox, PoolTag, PoolType};
//!
//! const TAG: PoolTag = PoolTag::new(*b"Toas");
//! let Ok(counter) = PoolBox::try_new(0u32, PoolType::NonPaged, TAG) else {
//!     // STATUS_INSUFFICIENT_RESOURCES, in a driver.
//!     return;
//! };
//! assert_eq!(*counter, 0);
//! ```

use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::sys::tagged::TaggedBlock;

/// Which pool a block comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolType {
    /// Non-paged (no-execute) pool: usable at any IRQL up to DISPATCH_LEVEL.
    NonPaged,
    /// Paged pool: only at PASSIVE_LEVEL or APC_LEVEL (above, touching it may fault): an
    /// allocation above APC_LEVEL is refused.
    Paged,
}

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

/// One `T` in a pool block of its own, tagged, freed when dropped.
pub struct PoolBox<T>(TaggedBlock<T>);

impl<T> PoolBox<T> {
    /// Moves `value` into a new block of `pool`, charged to `tag`; gives `value` back when the
    /// pool is short (or refuses: paged pool above APC_LEVEL). A `T` aligned above 16 bytes (the
    /// pool's alignment) does not compile.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (non-paged), ≤ APC_LEVEL (paged).
    ///
    /// # Errors
    ///
    /// `value`, when no block was allocated.
    pub fn try_new(value: T, pool: PoolType, tag: PoolTag) -> Result<Self, T> {
        TaggedBlock::try_new(value, pool == PoolType::Paged, tag.to_raw()).map(Self)
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
        self.0.get()
    }
}

impl<T> DerefMut for PoolBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

impl<T: fmt::Debug> fmt::Debug for PoolBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PoolBox").field(&**self).finish()
    }
}
