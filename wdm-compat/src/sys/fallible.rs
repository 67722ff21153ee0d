//! Allocations that fail with a status instead of a bug check.
//!
//! `Box::new` and `Vec::push` treat an allocation failure as fatal: with wdk-alloc as the global
//! allocator it becomes a panic, which in a driver is a bug check. Kernel pool allocations fail
//! under memory pressure (and under Driver Verifier's low resources simulation), so the seams
//! allocate through these instead and turn a failure into `STATUS_INSUFFICIENT_RESOURCES`. On
//! the host the simulation can refuse them on purpose
//! ([`IoManager::fail_allocation`](crate::host::IoManager::fail_allocation)).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

/// Whether this allocation is refused (the host simulation's low resources simulation).
fn refused() -> bool {
    #[cfg(feature = "host")]
    {
        super::host::allocation_refused()
    }
    #[cfg(not(feature = "host"))]
    {
        false
    }
}

/// `value` in a new box, or `value` back when the allocation failed.
///
/// # Errors
///
/// Hands `value` back when no memory could be had for it.
pub fn try_box<T>(value: T) -> Result<Box<T>, T> {
    if refused() {
        return Err(value);
    }
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        // Nothing is allocated for a zero-sized value.
        return Ok(Box::new(value));
    }
    // SAFETY: the layout's size is not zero (checked above).
    let raw = unsafe { alloc::alloc::alloc(layout) }.cast::<T>();
    let Some(raw) = NonNull::new(raw) else {
        return Err(value);
    };
    // SAFETY: `raw` is a fresh, unaliased allocation of `T`'s layout, from the global
    // allocator `Box` frees with; writing `value` initialises it before the box owns it.
    unsafe {
        raw.as_ptr().write(value);
    }
    // SAFETY: as above: an initialised `T` in memory of `T`'s layout from the global allocator.
    Ok(unsafe { Box::from_raw(raw.as_ptr()) })
}

/// Pushes `value` onto `list`, or hands it back when growing the list failed.
///
/// # Errors
///
/// Hands `value` back when no memory could be had for it.
pub fn try_push<T>(list: &mut Vec<T>, value: T) -> Result<(), T> {
    if list.len() == list.capacity() && (refused() || list.try_reserve(1).is_err()) {
        return Err(value);
    }
    list.push(value);
    Ok(())
}

/// The first `count` of `items` in a new list, or `None` when no memory could be had for it.
pub fn try_collect<T>(count: usize, items: impl IntoIterator<Item = T>) -> Option<Vec<T>> {
    let mut list = Vec::new();
    if refused() || list.try_reserve_exact(count).is_err() {
        return None;
    }
    list.extend(items.into_iter().take(count));
    Some(list)
}
