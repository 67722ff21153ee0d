//! What a dispatch routine returns, and why it cannot be made up.
//!
//! A WDM dispatch routine's return value must agree with what it did to the IRP (wdm.h
//! `IoMarkIrpPending`; Driver Verifier 0xC9 subcodes 0x224, 0x226, 0x23D, 0x23E):
//!
//! * completed → the status it completed with;
//! * passed down → exactly what `IoCallDriver` returned (SDV LowerDriverReturn);
//! * kept for later → `STATUS_PENDING`, after `IoMarkIrpPending`.
//!
//! [`DispatchStatus`] has no public constructor: only [`Irp::complete`](crate::Irp::complete),
//! [`Irp::mark_pending`](crate::Irp::mark_pending) and the forwarding methods make one, each
//! carrying the one status that is right for what it did. A routine that forgets its IRP has
//! nothing to return, so it does not compile.

use core::marker::PhantomData;

use crate::status::NtStatus;

/// The status a dispatch routine returns, as produced by finishing its IRP — the IRP `'r` it
/// was given: a dispatch routine's signature (`fn<'r>(.., Irp<'r, C>) -> DispatchStatus<'r>`)
/// ties the two with one lifetime, which the compiler never unifies with another (invariant),
/// so returning the status of another IRP does not compile.
#[must_use = "return this from the dispatch routine"]
#[derive(Debug, PartialEq, Eq)]
pub struct DispatchStatus<'r>(NtStatus, Brand<'r>);

/// The IRP a value belongs to (see [`DispatchStatus`]).
pub(crate) type Brand<'r> = PhantomData<fn(&'r ()) -> &'r ()>;

static_assertions::assert_eq_size!(DispatchStatus<'static>, i32);
static_assertions::assert_not_impl_any!(DispatchStatus<'static>: Clone, Copy, Default);

impl DispatchStatus<'_> {
    pub(crate) const fn new(status: NtStatus) -> Self {
        Self(status, PhantomData)
    }

    pub(crate) const fn pending() -> Self {
        Self(NtStatus::PENDING.status(), PhantomData)
    }

    /// The status itself (for tests and traces).
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn status(&self) -> NtStatus {
        self.0
    }

    /// Whether the routine pended its IRP.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn is_pending(&self) -> bool {
        self.0.is_pending()
    }
}
