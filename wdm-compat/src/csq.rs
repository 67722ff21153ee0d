//! A cancel-safe queue of pending IRPs, in the spirit of IoCsq: a driver that keeps IRPs for
//! later (reads waiting for data, requests waiting for hardware) puts them here, and a
//! requester's `CancelIo` (or the closing of its handle) finishes them without a race.
//!
//! An IRP waiting in the queue can be taken out by the driver ([`CancelSafeQueue::remove_next`])
//! or by its cancellation, never both: whoever gets it finishes it, exactly once. A cancelled
//! IRP goes to the queue's [`CancelHandler`], chosen at compile time like the completer; the
//! default, [`CompleteCancelled`], completes it with `STATUS_CANCELLED`.
//!
//! ```
//! # #[cfg(feature = "tracking")] fn main() {
//! use wdm_compat::csq::CancelSafeQueue;
//! use wdm_compat::host::DispatchHarness;
//! use wdm_compat::{NtStatus, TrackingCompleter};
//!
//! // Reads wait in the queue until a write arrives (a "mailbox").
//! static WAITING: std::sync::OnceLock<CancelSafeQueue<TrackingCompleter>> = std::sync::OnceLock::new();
//! let queue = WAITING.get_or_init(|| CancelSafeQueue::new().unwrap());
//!
//! let harness = DispatchHarness::<TrackingCompleter>::new();
//! let read = harness.read(4, |irp| queue.insert(irp));
//! assert_eq!(read.returned, NtStatus::PENDING);
//! assert_eq!(queue.len(), 1);
//!
//! // Cancelling the waiting read finishes it through the queue's cancel handler.
//! assert!(read.cancel());
//! assert!(queue.is_empty());
//! assert_eq!(read.tracked_now()[0].status, NtStatus::CANCELLED);
//! assert_eq!(read.result_now().unwrap().status, NtStatus::CANCELLED);
//! # }
//! # #[cfg(not(feature = "tracking"))] fn main() {}
//! ```

use core::marker::PhantomData;

use crate::dispatch::DispatchStatus;
use crate::irp::{Irp, IrpCompleter, PendingIrp, SystemCompleter};
use crate::request::FileObjectId;
use crate::status::{NtResult, NtStatus};
use crate::sys::IrpRef;
use crate::sys::csq::{Csq, NotQueued};

/// What happens to an IRP cancelled while it waits in a [`CancelSafeQueue`]: a zero-sized type
/// chosen at compile time, like the completer.
///
/// `cancelled` runs in the IRP's cancel routine (at DISPATCH_LEVEL, the cancel spin lock already
/// released), when an IRP was cancelled before it could be queued, or when the queue is dropped
/// with IRPs still in it; it must finish the IRP. It must not queue the IRP again: a cancelled
/// IRP inserted into a queue comes straight back to the handler, for ever.
pub trait CancelHandler<C: IrpCompleter>: 'static {
    /// Finishes `irp`, which was cancelled.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn cancelled(irp: PendingIrp<C>);
}

/// Completes a cancelled IRP with `STATUS_CANCELLED` and no information.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompleteCancelled;

impl<C: IrpCompleter> CancelHandler<C> for CompleteCancelled {
    fn cancelled(irp: PendingIrp<C>) {
        irp.complete(NtStatus::CANCELLED);
    }
}

/// A queue of pending IRPs that cancellation can take IRPs out of safely.
///
/// Keep it in the driver or a device extension. Dropping it cancels the IRPs still in it (each
/// through `H`).
pub struct CancelSafeQueue<
    C: IrpCompleter = SystemCompleter,
    H: CancelHandler<C> = CompleteCancelled,
> {
    raw: Csq,
    _types: PhantomData<fn() -> (C, H)>,
}

static_assertions::assert_impl_all!(CancelSafeQueue<SystemCompleter>: Send, Sync);
static_assertions::assert_eq_size!(CancelSafeQueue<SystemCompleter>, usize);

impl<C: IrpCompleter, H: CancelHandler<C>> CancelSafeQueue<C, H> {
    /// An empty queue.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES` when memory is short.
    pub fn new() -> NtResult<Self> {
        Csq::try_new(cancelled::<C, H>)
            .map(|raw| Self {
                raw,
                _types: PhantomData,
            })
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)
    }

    /// Marks `irp` pending and queues it (`IoMarkIrpPending` + `IoCsqInsertIrp`), and returns
    /// the `STATUS_PENDING` the dispatch routine must return.
    ///
    /// An IRP cancelled before it could be queued goes straight to the cancel handler; one
    /// that cannot be queued for lack of memory is completed with
    /// `STATUS_INSUFFICIENT_RESOURCES`. Either way the routine still returns `STATUS_PENDING`,
    /// which is right for an IRP marked pending, whoever completes it.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn insert<'r>(&self, irp: Irp<'r, C>) -> DispatchStatus<'r> {
        let (status, pending) = irp.mark_pending();
        self.insert_pending(pending);
        status
    }

    /// Queues an IRP that was marked pending earlier.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn insert_pending(&self, irp: PendingIrp<C>) {
        let Some(raw) = irp.into_raw() else {
            return;
        };
        match self.raw.insert(raw) {
            Ok(()) => {}
            Err(NotQueued::Cancelled(raw)) => H::cancelled(PendingIrp::from_ref(raw)),
            Err(NotQueued::NoMemory(raw)) => {
                PendingIrp::<C>::from_ref(raw).complete(NtStatus::INSUFFICIENT_RESOURCES);
            }
        }
    }

    /// Takes out the oldest waiting IRP (`IoCsqRemoveNextIrp`); it is the caller's to finish.
    /// `None` when none waits (IRPs being cancelled at this moment are not handed out).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use = "the IRP taken out must be completed"]
    pub fn remove_next(&self) -> Option<PendingIrp<C>> {
        self.raw.remove_next(None).map(PendingIrp::from_ref)
    }

    /// Takes out the oldest waiting IRP that came through `file` (its handle).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use = "the IRP taken out must be completed"]
    pub fn remove_next_of(&self, file: FileObjectId) -> Option<PendingIrp<C>> {
        self.raw
            .remove_next(Some(file.as_usize()))
            .map(PendingIrp::from_ref)
    }

    /// Cancels every waiting IRP that came through `file` (each through the cancel handler),
    /// as a driver does when that handle is cleaned up (`IRP_MJ_CLEANUP`). Returns how many.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn cancel_all_of(&self, file: FileObjectId) -> usize {
        let mut count = 0;
        while let Some(irp) = self.remove_next_of(file) {
            H::cancelled(irp);
            count += 1;
        }
        count
    }

    /// How many IRPs wait (including any being cancelled at this moment).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no IRP waits.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The seam's cancel handler for a queue of `C` IRPs handled by `H`.
fn cancelled<C: IrpCompleter, H: CancelHandler<C>>(raw: IrpRef) {
    H::cancelled(PendingIrp::from_ref(raw));
}

impl<C: IrpCompleter, H: CancelHandler<C>> core::fmt::Debug for CancelSafeQueue<C, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CancelSafeQueue")
            .field("len", &self.len())
            .finish()
    }
}
