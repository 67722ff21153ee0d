//! The spin lock primitive behind [`crate::sync::SpinLock`] (see there).

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use super as sys;

/// `DISPATCH_LEVEL`.
pub(crate) const DISPATCH_LEVEL: u8 = 2;

/// Data of type `T` guarded by a spin lock.
///
/// Keep critical sections short and never complete, forward or send a request inside one.
pub struct SpinLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `T` to one holder at a time, so sharing the lock between
// threads moves `T` between them: `T: Send` suffices, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A new, unlocked spin lock holding `value`.
    ///
    /// IRQL: any.
    pub const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(value),
        }
    }

    /// Raises the IRQL to DISPATCH_LEVEL, acquires the lock, and returns the guard that gives
    /// access to the data and releases the lock (restoring the IRQL) when dropped.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL; the holder runs at DISPATCH_LEVEL.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let previous_irql = sys::raise_irql(DISPATCH_LEVEL);
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        SpinLockGuard {
            lock: self,
            previous_irql,
            _not_send: PhantomData,
        }
    }

    /// The data, through exclusive access to the lock itself (no locking needed).
    ///
    /// IRQL: any.
    pub const fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Consumes the lock and returns the data.
    ///
    /// IRQL: any.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinLock")
            .field("locked", &self.locked.load(Ordering::Relaxed))
            .finish()
    }
}

/// Access to a [`SpinLock`]'s data; releases the lock and restores the IRQL when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    previous_irql: u8,
    _not_send: PhantomData<*mut ()>,
}

static_assertions::assert_not_impl_any!(SpinLockGuard<'static, u32>: Send);

impl<T> Deref for SpinLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while `locked` is held by it, so no other reference to
        // the data exists; the reference lives no longer than `&self`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference made through the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        sys::lower_irql(self.previous_irql);
    }
}
