//! The spin lock primitive behind [`crate::sync::SpinLock`] (see there).

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicUsize, Ordering};

use super as sys;
use crate::thread_rules::{ASpinLockIsReleasedOnTheThreadThatAcquiredIt, StaysOnItsThread};

/// `DISPATCH_LEVEL`.
#[cfg(not(all(not(feature = "host"), target_os = "windows")))]
const DISPATCH_LEVEL: u8 = 2;

// On Windows the kernel's spin lock does the work (it raises the IRQL for real).
#[cfg(all(not(feature = "host"), target_os = "windows"))]
use sys::{acquire_spin_lock as acquire, release_spin_lock as release};

/// The portable spin lock: raise the IRQL, then spin on the word.
#[cfg(not(any(feature = "host", target_os = "windows")))]
fn acquire(locked: &AtomicUsize) -> u8 {
    let previous_irql = sys::raise_irql(DISPATCH_LEVEL);
    while locked
        .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    previous_irql
}

/// The portable spin lock on the host: the word holds a token of the holding thread, so a
/// thread acquiring a lock it already holds — which would spin forever — is caught, as Driver
/// Verifier's deadlock detection catches it (bug check 0xC4, 0x1001: a resource acquired
/// recursively; SDV SpinLock). Acquiring above DISPATCH_LEVEL is Driver Verifier's
/// IrqlKeDispatchLte check (0xC4, 0x20011).
#[cfg(feature = "host")]
fn acquire(locked: &AtomicUsize) -> u8 {
    std::thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    let irql = sys::current_irql();
    if irql > DISPATCH_LEVEL {
        sys::host::rule_bug_check(
            "IrqlKeDispatchLte",
            0xC4,
            [0x0002_0011, usize::from(irql), 0, 0],
            "KeAcquireSpinLock above DISPATCH_LEVEL",
        );
    }
    // The address of a thread-local: non-zero, and unique among the live threads.
    let me = TOKEN.with(|token| core::ptr::from_ref(token).addr());
    let previous_irql = sys::raise_irql(DISPATCH_LEVEL);
    loop {
        match locked.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return previous_irql,
            Err(holder) if holder == me => {
                sys::lower_irql(previous_irql);
                sys::host::rule_bug_check(
                    "SpinLock",
                    0xC4,
                    [0x1001, core::ptr::from_ref(locked).addr(), 0, 0],
                    "SpinLock acquired again by the thread that holds it: it would spin forever (deadlock)",
                );
            }
            Err(_) => core::hint::spin_loop(),
        }
    }
}

/// Releases a lock taken with [`acquire`] and restores the IRQL.
#[cfg(not(any(feature = "host", target_os = "windows")))]
fn release(locked: &AtomicUsize, previous_irql: u8) {
    locked.store(0, Ordering::Release);
    sys::lower_irql(previous_irql);
}

/// Releases a lock taken with [`acquire`] and restores the IRQL. The lock must be released at
/// DISPATCH_LEVEL, where acquiring it left the processor (SDV IrqlKeReleaseSpinLock; Driver
/// Verifier 0xC4, 0x20015): code that lowered the IRQL while holding it is reported (not
/// stopped: this runs in the guard's `Drop`).
#[cfg(feature = "host")]
fn release(locked: &AtomicUsize, previous_irql: u8) {
    let irql = sys::current_irql();
    if irql != DISPATCH_LEVEL {
        sys::host::report_rule_bug_check(
            "IrqlKeReleaseSpinLock",
            0xC4,
            [0x0002_0015, usize::from(irql), 0, 0],
            "KeReleaseSpinLock at an IRQL other than DISPATCH_LEVEL",
        );
    }
    locked.store(0, Ordering::Release);
    sys::lower_irql(previous_irql);
}

/// Data of type `T` guarded by a spin lock.
///
/// Keep critical sections short and never complete, forward or send a request inside one.
pub struct SpinLock<T> {
    /// A `KSPIN_LOCK`: zero when free.
    locked: AtomicUsize,
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
            locked: AtomicUsize::new(0),
            data: UnsafeCell::new(value),
        }
    }

    /// Raises the IRQL to DISPATCH_LEVEL, acquires the lock, and returns the guard that gives
    /// access to the data and releases the lock (restoring the IRQL) when dropped.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL; the holder runs at DISPATCH_LEVEL.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let previous_irql = acquire(&self.locked);
        SpinLockGuard {
            lock: self,
            previous_irql,
            _thread: PhantomData,
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
            .field("locked", &(self.locked.load(Ordering::Relaxed) != 0))
            .finish()
    }
}

/// Access to a [`SpinLock`]'s data; releases the lock and restores the IRQL when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinLockGuard<'a, T> {
    lock: &'a SpinLock<T>,
    previous_irql: u8,
    _thread: StaysOnItsThread<dyn ASpinLockIsReleasedOnTheThreadThatAcquiredIt>,
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
        release(&self.lock.locked, self.previous_irql);
    }
}
