//! Device records that cannot be freed under a running routine.
//!
//! A driver's per-device record (the typed layer's `Device<X>`) is published as the device
//! object's context, and every trampoline that runs for the device reads it from there. Deleting
//! a device must not free the record while such a routine can still reach it — and safe driver
//! code can ask for the deletion from anywhere, including a dispatch routine of that very device
//! (dropping the `OwnedDevice` it keeps in its state). So deletion runs down, as the remove lock
//! of a C driver does (`IoAcquireRemoveLock` / `IoReleaseRemoveLockAndWait`), except that it
//! does not wait: the last routine to leave finishes it.
//!
//! Each device keeps one counter in driver-owned storage of the device object (its extension on
//! Windows): the number of routines inside (dispatch routines, and the completion routine of an
//! observed forward, each for its duration), plus a [`DELETING`] bit.
//!
//! * [`DeviceRef::enter`] counts a routine in, unless deletion has begun (the dispatch routine
//!   then fails the IRP with `STATUS_DELETE_PENDING`, as `IoAcquireRemoveLock` tells a C driver
//!   to).
//! * [`DeviceRef::enter_on_behalf`] counts in the completion routine of an observed forward
//!   when the forward is made (by a routine inside, or the owner), and that routine counts
//!   out: so the device object, and the record the routine reads, outlive the IRP below.
//! * The seam's `IRP_MN_REMOVE_DEVICE` sets the bit and then [waits](DeviceRef::wait_until_alone)
//!   for every other count before it passes the IRP down.
//! * [`DeviceRef::begin_delete`] sets the bit; whoever sees the count reach zero with the bit
//!   set — the deleter if nobody is inside, else the last routine to [`DeviceRef::leave`] —
//!   calls [`finish_delete`], exactly once: it unpublishes the record, deletes the device
//!   object and frees the record.
//!
//! The counter itself is never freed under a routine: the device object outlives every routine
//! the I/O manager runs for it (an IRP sent through a handle holds a reference on the device
//! object; the host simulation never frees device objects).

use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::Ordering;

use super::{DeviceRef, SharedBox};

/// The counter's top bit: deletion has begun, no routine may enter.
const DELETING: usize = 1 << (usize::BITS - 1);

impl DeviceRef {
    /// Counts a routine in for this device. `false` once deletion has begun (or for a device
    /// without the seam's counter): the routine must not touch the record.
    #[must_use]
    pub(crate) fn enter(self) -> bool {
        self.io_count().is_some_and(|count| {
            count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |value| {
                    (value & DELETING == 0).then_some(value.wrapping_add(1))
                })
                .is_ok()
        })
    }

    /// Counts a routine out. `true` when it was the last one of a device whose deletion has
    /// begun: the caller must then call [`finish_delete`], and not touch the record.
    #[must_use]
    pub(crate) fn leave(self) -> bool {
        self.io_count()
            .is_some_and(|count| count.fetch_sub(1, Ordering::AcqRel) == DELETING | 1)
    }

    /// Counts in a routine that will run later on behalf of a caller who is inside the device
    /// or owns it (the completion routine of an observed forward), whether or not deletion has
    /// begun: the caller's own count, or its ownership, keeps the count from reaching zero
    /// before this one is added, so the device cannot be gone.
    pub(crate) fn enter_on_behalf(self) {
        if let Some(count) = self.io_count() {
            count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Waits until the calling routine is the only one counted in (what
    /// `IoReleaseRemoveLockAndWait` does before a C driver passes `IRP_MN_REMOVE_DEVICE` down):
    /// dispatch routines on other processors, and IRPs forwarded with an observer and not yet
    /// back, finish first, so nothing of this driver sends an IRP to the device below once it
    /// has been told to go. Deletion must have begun, so no new routine enters meanwhile.
    ///
    /// IRQL: PASSIVE_LEVEL (the PnP manager sends the removal there).
    pub(crate) fn wait_until_alone(self) {
        let Some(count) = self.io_count() else {
            return;
        };
        let mut round = 0_u32;
        while count.load(Ordering::Acquire) & !DELETING > 1 {
            if !super::wait_a_moment(round, count.load(Ordering::Acquire) & !DELETING) {
                return;
            }
            round = round.saturating_add(1);
        }
    }

    /// Begins the deletion of the device (once; later calls change nothing). `true` when no
    /// routine is inside: the caller must then call [`finish_delete`] itself; otherwise the
    /// last routine to leave does.
    #[must_use]
    pub(crate) fn begin_delete(self) -> bool {
        self.io_count()
            .is_some_and(|count| count.fetch_or(DELETING, Ordering::AcqRel) == 0)
    }
}

/// Unpublishes the device's record of type `T`, deletes the device object and frees the record.
///
/// # Safety
///
/// Call only as [`DeviceRef::begin_delete`] / [`DeviceRef::leave`] direct: when the count has
/// reached zero with deletion begun. The device's context must be null or a pointer published
/// with `SharedBox<T>::publish` for this `T`, and no reference to the record may be used
/// afterwards.
pub(crate) unsafe fn finish_delete<T>(device: DeviceRef) {
    let context = device.context();
    device.set_context(ptr::null());
    device.delete();
    // SAFETY: the context was published as a `SharedBox<T>` (caller's contract) and cleared
    // above, so it is taken back once; no routine is inside the device to use it.
    drop(unsafe { SharedBox::<T>::from_published(context) });
}

/// A device object this driver created, owning the record published as its context; dropping
/// it deletes the device — at once, or when the last routine running for it leaves.
///
/// # Invariants
///
/// `record` is the pointer published (with `SharedBox<T>::publish`) as `device`'s context, and
/// the deletion of `device` has not begun while `self` lives, so the record is alive.
pub(crate) struct PublishedDevice<T> {
    device: DeviceRef,
    record: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: the owner hands out only `&T` and may free the `T` on drop (on this thread or, when
// deferred, on the thread of the last routine), like a `Box<T>` would.
unsafe impl<T: Send + Sync> Send for PublishedDevice<T> {}
// SAFETY: as above: shared access to `T` from several threads needs `T: Sync`.
unsafe impl<T: Sync> Sync for PublishedDevice<T> {}

impl<T> PublishedDevice<T> {
    /// Publishes `record` as `device`'s context; hands it back when memory is short.
    pub(crate) fn try_new(device: DeviceRef, record: T) -> Result<Self, T> {
        let boxed = SharedBox::try_new(record)?;
        let record = boxed.0;
        device.set_context(boxed.publish());
        Ok(Self {
            device,
            record,
            _owns: PhantomData,
        })
    }

    /// The record, for as long as the owner lives.
    pub(crate) const fn get(&self) -> &T {
        // SAFETY: by the invariant the record is alive while `self` is, and only shared
        // references to it are ever made.
        unsafe { self.record.as_ref() }
    }
}

impl<T> Drop for PublishedDevice<T> {
    fn drop(&mut self) {
        if self.device.begin_delete() {
            // SAFETY: nobody is inside the device and its context is this owner's `SharedBox<T>`
            // (invariant); `self.record` is not used after this.
            unsafe { finish_delete::<T>(self.device) };
        }
        // Otherwise the last routine inside finishes the deletion (and frees the record).
    }
}
