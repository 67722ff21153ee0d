//! Probes: a test's view of one IRP, which keeps the IRP from retiring while it lives.

use std::vec::Vec;

use super::IoManager;
use super::completion::TrackedCompletion;
use crate::host::IrpId;
use crate::host::user::IoResult;
use crate::status::NtStatus;

impl IoManager {
    /// A probe into an IRP's state, for assertions. While the probe lives the IRP stays
    /// readable after it completes; a probe made after the IRP retired (a synchronous request
    /// whose result was already returned) reads nothing: probe an [`IoOperation`]'s IRP
    /// (`read_async` and friends) to look at it after completion.
    ///
    /// [`IoOperation`]: crate::host::IoOperation
    #[must_use]
    pub fn probe(&self, irp: IrpId) -> IrpProbe {
        let kept = self.with_world(|w| w.keep_irp(irp));
        IrpProbe {
            manager: self.clone(),
            irp,
            kept,
        }
    }
}

/// A view of one IRP's state, for assertions in tests ([`IoManager::probe`]).
#[derive(Debug)]
pub struct IrpProbe {
    manager: IoManager,
    irp: IrpId,
    /// Whether this probe counts as one of the IRP's keepers.
    kept: bool,
}

impl Clone for IrpProbe {
    fn clone(&self) -> Self {
        self.manager.probe(self.irp)
    }
}

impl Drop for IrpProbe {
    fn drop(&mut self) {
        if self.kept {
            self.manager.release_irp(self.irp);
        }
    }
}

impl IrpProbe {
    /// The IRP this probe looks at.
    #[must_use]
    pub const fn id(&self) -> IrpId {
        self.irp
    }

    /// Whether the simulation still holds the IRP (it had not retired when the probe was made).
    #[must_use]
    pub const fn is_held(&self) -> bool {
        self.kept
    }

    /// The last completion `TrackingCompleter` recorded on the IRP.
    #[must_use]
    pub fn tracked_completion(&self) -> Option<TrackedCompletion> {
        self.manager
            .with_world(|w| w.irp(self.irp).and_then(|i| i.tracked.last().copied()))
    }

    /// Every completion `TrackingCompleter` recorded on the IRP, oldest first.
    #[must_use]
    pub fn tracked_completions(&self) -> Vec<TrackedCompletion> {
        self.manager.with_world(|w| {
            w.irp(self.irp)
                .map(|i| i.tracked.clone())
                .unwrap_or_default()
        })
    }

    /// Whether the IRP finished (completed through the I/O manager or `TrackingCompleter`).
    #[must_use]
    pub fn is_completed(&self) -> bool {
        self.manager.is_completed(self.irp)
    }

    /// `IoStatus.Status`.
    #[must_use]
    pub fn status(&self) -> NtStatus {
        self.manager.status(self.irp)
    }

    /// `IoStatus.Information`.
    #[must_use]
    pub fn information(&self) -> usize {
        self.manager.information(self.irp)
    }

    /// `Irp->Cancel`.
    #[must_use]
    pub fn cancel_requested(&self) -> bool {
        self.manager.cancel_requested(self.irp)
    }

    /// `Irp->PendingReturned` (after completion: whether the top driver marked it pending).
    #[must_use]
    pub fn pending_returned(&self) -> bool {
        self.manager.pending_returned(self.irp)
    }

    /// `StackCount`: the number of stack locations the IRP was allocated with.
    #[must_use]
    pub fn stack_count(&self) -> usize {
        self.manager
            .with_world(|w| w.irp(self.irp).map_or(0, |i| i.stack.len()))
    }

    /// The final result, once the IRP completed.
    #[must_use]
    pub fn result(&self) -> Option<IoResult> {
        self.manager.irp_result(self.irp)
    }
}
