//! The IRP cell of a simulated request (host backend only).
//!
//! The simulated framework keeps each request's IRP in an [`IrpCell`]. A request object
//! handed to the driver ([`crate::Request`]) holds the one [`IrpSlot`] that may reach into the
//! cell, so buffers borrowed from the IRP can be plain `&mut [u8]` tied to the request; the
//! framework itself touches the cell only while no slot is out.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use wdm_compat::PendingIrp;

/// A request's IRP, reachable only through a claimed [`IrpSlot`].
///
/// # Invariants
///
/// `irp` is read or written only through the `IrpSlot` that successfully claimed the cell
/// (`claimed` went from `false` to `true`), and that slot is unique until it is dropped.
pub(crate) struct IrpCell {
    irp: UnsafeCell<Option<PendingIrp>>,
    claimed: AtomicBool,
}

// SAFETY: the `PendingIrp` inside is `Send`; only the one claiming slot touches it (type
// invariant), so sharing the cell between threads never gives two threads access at once.
unsafe impl Sync for IrpCell {}

impl IrpCell {
    pub(crate) const fn new(irp: PendingIrp) -> Self {
        Self {
            irp: UnsafeCell::new(Some(irp)),
            claimed: AtomicBool::new(false),
        }
    }
}

/// An object that keeps its IRP in an [`IrpCell`] (the framework's request object).
pub(crate) trait HasIrpCell: Sync + 'static {
    /// The cell.
    fn irp_cell(&self) -> &IrpCell;
}

/// Claims `owner`'s cell: the unique slot, unless one is out already.
pub(crate) fn claim<T: HasIrpCell>(owner: &'static T) -> Option<IrpSlot<T>> {
    let was = owner.irp_cell().claimed.swap(true, Ordering::AcqRel);
    (!was).then_some(IrpSlot { owner })
}

/// The unique way into an [`IrpCell`]; gives the claim back when dropped. One pointer wide.
pub(crate) struct IrpSlot<T: HasIrpCell> {
    owner: &'static T,
}

impl<T: HasIrpCell> IrpSlot<T> {
    /// The IRP, while it has not been taken.
    pub(crate) fn irp_mut(&mut self) -> Option<&mut PendingIrp> {
        // SAFETY: this slot claimed the cell (invariant of `IrpCell`), so no other reference to
        // its contents exists; the borrow is tied to `&mut self`.
        unsafe { &mut *self.owner.irp_cell().irp.get() }.as_mut()
    }

    /// The IRP, shared.
    pub(crate) fn irp(&self) -> Option<&PendingIrp> {
        // SAFETY: as in `irp_mut`; `&self` allows only shared access through this slot.
        unsafe { &*self.owner.irp_cell().irp.get() }.as_ref()
    }

    /// Takes the IRP out (to complete or forward it); later slots find the cell empty.
    pub(crate) fn take(&mut self) -> Option<PendingIrp> {
        // SAFETY: as in `irp_mut`.
        unsafe { &mut *self.owner.irp_cell().irp.get() }.take()
    }

    /// The object whose cell this slot claimed.
    pub(crate) const fn owner(&self) -> &'static T {
        self.owner
    }
}

impl<T: HasIrpCell> Drop for IrpSlot<T> {
    fn drop(&mut self) {
        self.owner
            .irp_cell()
            .claimed
            .store(false, Ordering::Release);
    }
}
