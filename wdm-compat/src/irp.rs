//! IRP ownership: [`Irp<C>`](Irp) is completed, forwarded or pended exactly once.
//!
//! WDM's rules for an IRP a dispatch routine receives (wdm.h; Learn: "Completing IRPs",
//! "Passing IRPs down the driver stack"):
//!
//! * it is completed exactly once (`IoCompleteRequest`; a second completion is bug check 0x44);
//! * a routine that completes it, or passes it down without a completion routine, returns the
//!   status it completed with, or exactly what `IoCallDriver` returned;
//! * a routine that keeps it for later marks it pending first and then returns `STATUS_PENDING`.
//!
//! Here each of those is a method that takes the `Irp` by value and returns the
//! [`DispatchStatus`] the routine must return, so a second completion, a use after forwarding,
//! or returning `STATUS_PENDING` without marking the IRP do not compile.
//!
//! The completer `C` is a zero-sized type chosen at compile time: [`SystemCompleter`] calls the
//! I/O manager (the real one, or the host simulation); [`NoopCompleter`] and
//! `TrackingCompleter` (feature `tracking`) let unit tests run dispatch logic on its own.

use core::marker::PhantomData;

use crate::dispatch::{Brand, DispatchStatus};
use crate::request::IoRequest;
use crate::status::NtStatus;
use crate::sys::IrpRef;
use crate::thread_rules::{AnIrpIsFinishedInItsDispatchRoutineOrMarkedPending, StaysOnItsThread};

/// How an IRP is finished once its dispatch logic has decided the outcome.
///
/// The completer is a type parameter of [`Irp`], so the choice costs nothing at run time: every
/// completer is a zero-sized type and `Irp<C>` is one pointer wide whatever `C` is.
///
/// A driver author may write one: it sees each completion's status and information, and then
/// hands the completion to a completer of this crate (only [`Irp`] can make an
/// [`IrpCompletion`], so a completer cannot finish an IRP it was not given). Load a driver with
/// it in the host simulation through
/// `driver::entry_point_with` (feature `host`).
///
/// ```
/// # #[cfg(feature = "host")] fn main() {
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use wdm_compat::host::DispatchHarness;
/// use wdm_compat::{IrpCompleter, IrpCompletion, NtStatus, SystemCompleter};
///
/// static FAILURES: AtomicUsize = AtomicUsize::new(0);
///
/// /// Counts failed completions, then completes through the I/O manager.
/// struct CountingCompleter;
///
/// impl IrpCompleter for CountingCompleter {
///     fn complete(completion: IrpCompletion) {
///         if completion.status().is_error() {
///             FAILURES.fetch_add(1, Ordering::Relaxed);
///         }
///         SystemCompleter::complete(completion);
///     }
/// }
///
/// let harness = DispatchHarness::<CountingCompleter>::new();
/// let outcome = harness.write(b"abc", |irp| irp.complete(NtStatus::ACCESS_DENIED));
/// assert_eq!(outcome.result.unwrap().status, NtStatus::ACCESS_DENIED);
/// assert_eq!(FAILURES.load(Ordering::Relaxed), 1);
/// # }
/// # #[cfg(not(feature = "host"))] fn main() {}
/// ```
pub trait IrpCompleter: 'static {
    /// Finishes `completion`'s IRP with its status and information.
    fn complete(completion: IrpCompletion);
}

/// An IRP on its way out, with the status and information it is completed with.
///
/// Only [`Irp`] creates these. A completer either passes it on to [`SystemCompleter`] or
/// records it; there is nothing else it can do with the IRP.
#[must_use = "a completer must finish the IRP"]
pub struct IrpCompletion {
    irp: IrpRef,
    status: NtStatus,
    information: usize,
}

impl IrpCompletion {
    /// The status the IRP is completed with (`IoStatus.Status`).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub const fn status(&self) -> NtStatus {
        self.status
    }

    /// The information the IRP is completed with (`IoStatus.Information`).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub const fn information(&self) -> usize {
        self.information
    }
}

/// Completes IRPs through the I/O manager (`IoCompleteRequest` with `IO_NO_INCREMENT`): the
/// completer of every driver, and the default of [`Irp`] and [`WdmDriver`](crate::WdmDriver).
///
/// Under the `host` feature "the I/O manager" is the simulation in `crate::host`, which runs the
/// completion routines of the devices above and hands the caller its result:
///
/// ```
/// # #[cfg(feature = "host")] fn main() {
/// use wdm_compat::host::DispatchHarness;
/// use wdm_compat::{NtStatus, SystemCompleter};
///
/// let harness = DispatchHarness::<SystemCompleter>::new();
/// let outcome = harness.read(8, |irp| irp.complete_with_information(NtStatus::SUCCESS, 8));
/// let result = outcome.result.unwrap();
/// assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 8));
/// # }
/// # #[cfg(not(feature = "host"))] fn main() {}
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemCompleter;

impl IrpCompleter for SystemCompleter {
    fn complete(completion: IrpCompletion) {
        completion
            .irp
            .complete(completion.status, completion.information);
    }
}

/// Completes nothing: the IRP is simply let go.
///
/// For unit tests of dispatch logic that only look at the [`DispatchStatus`] a routine returns.
/// Never use it in a driver: the IRP would never finish, which the host verifier reports when
/// the routine claims success:
///
/// ```
/// # #[cfg(feature = "host")] fn main() {
/// use wdm_compat::host::DispatchHarness;
/// use wdm_compat::{NoopCompleter, NtStatus};
///
/// let harness = DispatchHarness::<NoopCompleter>::new();
/// let outcome = harness.read(8, |irp| irp.complete(NtStatus::END_OF_FILE));
/// assert_eq!(outcome.returned, NtStatus::END_OF_FILE);
/// assert!(outcome.result.is_none(), "nothing completed the IRP");
///
/// let outcome = harness.read(8, |irp| irp.complete(NtStatus::SUCCESS));
/// assert!(outcome.violations.iter().any(|v| v.rule == Some("IrpProcessingComplete")));
/// # }
/// # #[cfg(not(feature = "host"))] fn main() {}
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopCompleter;

impl IrpCompleter for NoopCompleter {
    fn complete(completion: IrpCompletion) {
        // Deliberately not completed: the IRP belongs to a test that inspects only the status.
        drop(completion);
    }
}

/// Records each completion on the IRP itself, in the host simulation, instead of running the
/// I/O manager's completion path.
///
/// Because the record lives on the IRP, tests running in parallel never see each other's
/// completions. Read it back with
/// [`IrpProbe::tracked_completions`](crate::host::IrpProbe::tracked_completions), or from a
/// [`DispatchHarness`](crate::host::DispatchHarness) outcome:
///
/// ```
/// use wdm_compat::host::DispatchHarness;
/// use wdm_compat::{NtStatus, TrackingCompleter};
///
/// let harness = DispatchHarness::<TrackingCompleter>::new();
/// let outcome = harness.device_control(0x0022_2000, &[1, 2], 0, |irp| {
///     irp.complete(NtStatus::INVALID_DEVICE_REQUEST)
/// });
/// assert_eq!(outcome.tracked.len(), 1);
/// assert_eq!(outcome.tracked[0].status, NtStatus::INVALID_DEVICE_REQUEST);
/// assert!(outcome.violations.is_empty());
/// ```
///
/// A whole driver loads with it through
/// [`driver::entry_point_with`](crate::driver::entry_point_with).
#[cfg(feature = "tracking")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackingCompleter;

#[cfg(feature = "tracking")]
impl IrpCompleter for TrackingCompleter {
    fn complete(completion: IrpCompletion) {
        completion
            .irp
            .tracked_complete(completion.status, completion.information);
    }
}

/// An IRP that this driver owns: it must be completed, forwarded or pended, exactly once.
///
/// `Irp` is neither `Send` nor `Sync`: a dispatch routine works on its IRP in the thread that
/// called it. To finish an IRP somewhere else, [`mark_pending`](Irp::mark_pending) turns it into
/// a [`PendingIrp`], which is `Send`.
///
/// Dropping an `Irp` without finishing it is a driver bug: the host simulation reports it, and a
/// kernel debug build bug-checks (see `SAFETY.md`).
#[must_use = "an IRP must be completed, forwarded or marked pending"]
pub struct Irp<'r, C: IrpCompleter = SystemCompleter> {
    // `None` only after a consuming method took the IRP out, so `Drop` knows it was finished.
    raw: Option<IrpRef>,
    _completer: PhantomData<C>,
    _thread: StaysOnItsThread<dyn AnIrpIsFinishedInItsDispatchRoutineOrMarkedPending>,
    /// The IRP's identity for [`DispatchStatus<'r>`](DispatchStatus).
    _brand: Brand<'r>,
}

static_assertions::assert_eq_size!(Irp<'static, SystemCompleter>, usize);
static_assertions::assert_eq_size!(Irp<'static, NoopCompleter>, usize);
static_assertions::assert_not_impl_any!(Irp<'static, SystemCompleter>: Send, Sync, Clone);

impl<'r, C: IrpCompleter> Irp<'r, C> {
    pub(crate) const fn from_ref(raw: IrpRef) -> Self {
        Self {
            raw: Some(raw),
            _completer: PhantomData,
            _thread: PhantomData,
            _brand: PhantomData,
        }
    }

    /// Takes the IRP out for a consuming operation; `None` cannot happen for a live `Irp`
    /// (every method that empties `raw` also consumes `self`).
    fn take(mut self) -> Option<IrpRef> {
        self.raw.take()
    }

    /// Takes the IRP out for forwarding; leaves `self` empty so its `Drop` does nothing.
    pub(crate) fn take_raw(&mut self) -> Option<IrpRef> {
        self.raw.take()
    }

    /// The handle, for the escape hatches (`sys/escape.rs`).
    pub(crate) const fn raw_ref(&self) -> Option<&IrpRef> {
        self.raw.as_ref()
    }

    /// Typed, bounds-checked access to the current stack location and its buffers.
    ///
    /// IRQL: any level at which the IRP's buffers are resident (≤ DISPATCH_LEVEL for
    /// buffered and direct I/O).
    pub fn request(&mut self) -> IoRequest<'_> {
        IoRequest::new(self.raw.as_mut())
    }

    /// The decoded parameters of the current stack location.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn parameters(&self) -> crate::request::Parameters {
        self.raw.as_ref().map_or(
            crate::request::Parameters::Other,
            crate::request::decode_parameters,
        )
    }

    /// `IoStatus.Information` as it stands now.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn information(&self) -> usize {
        self.raw.as_ref().map_or(0, IrpRef::information)
    }

    /// `IoStatus.Status` as it stands now: what the sender set (the PnP manager sends PnP IRPs
    /// with `STATUS_NOT_SUPPORTED`) or a driver above left. A driver that does not handle a
    /// PnP or power request completes it with this, unchanged.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn status(&self) -> NtStatus {
        self.raw.as_ref().map_or(NtStatus::SUCCESS, IrpRef::status)
    }

    /// Completes the IRP with `status` and `Information = 0`, and returns the status the
    /// dispatch routine must return.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL. Never while holding a spin lock (SDV SpinLockSafe).
    pub fn complete(self, status: NtStatus) -> DispatchStatus<'r> {
        self.complete_with_information(status, 0)
    }

    /// Completes the IRP with `status` and `information` (bytes transferred for reads, writes
    /// and buffered IOCTLs), and returns the status the dispatch routine must return.
    ///
    /// For a buffered IOCTL the I/O manager copies `information` bytes back to the caller, so
    /// it must not exceed the output length (the host verifier reports 0xC9/0x312).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete_with_information(
        self,
        status: NtStatus,
        information: usize,
    ) -> DispatchStatus<'r> {
        let status = status.for_completion();
        if let Some(irp) = self.take() {
            C::complete(IrpCompletion {
                irp,
                status,
                information,
            });
        }
        DispatchStatus::new(status)
    }

    /// Runs `handler` on the request and completes the IRP with its outcome:
    /// `Ok(n)` → `STATUS_SUCCESS` with `Information = n`; `Err(s)` → `s` with `Information = 0`.
    ///
    /// The handler's buffers borrow the IRP, so none of them can outlive the completion.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete_with(
        mut self,
        handler: impl FnOnce(IoRequest<'_>) -> Result<usize, NtStatus>,
    ) -> DispatchStatus<'r> {
        let outcome = handler(self.request());
        match outcome {
            Ok(information) => self.complete_with_information(NtStatus::SUCCESS, information),
            Err(status) => self.complete(status),
        }
    }

    /// Marks the IRP pending (`IoMarkIrpPending`) and splits it into the `STATUS_PENDING` the
    /// dispatch routine must return and a [`PendingIrp`] to finish later, from any thread.
    ///
    /// Mark first, then publish: the `PendingIrp` exists only after the mark, so it cannot
    /// reach another thread unmarked (SDV MarkingQueuedIrps).
    ///
    /// IRQL: any.
    pub fn mark_pending(self) -> (DispatchStatus<'r>, PendingIrp<C>) {
        let mut raw = self.take();
        if let Some(irp) = raw.as_mut() {
            irp.mark_pending();
        }
        (
            DispatchStatus::pending(),
            PendingIrp {
                raw,
                _completer: PhantomData,
            },
        )
    }
}

impl<C: IrpCompleter> Drop for Irp<'_, C> {
    fn drop(&mut self) {
        if let Some(irp) = self.raw.take() {
            irp.leaked();
        }
    }
}

/// An IRP that was marked pending: its dispatch routine has returned `STATUS_PENDING`, and the
/// driver completes it later, possibly from another thread.
#[must_use = "a pending IRP must be completed"]
pub struct PendingIrp<C: IrpCompleter = SystemCompleter> {
    raw: Option<IrpRef>,
    _completer: PhantomData<C>,
}

static_assertions::assert_eq_size!(PendingIrp<SystemCompleter>, usize);
static_assertions::assert_impl_all!(PendingIrp<SystemCompleter>: Send);
static_assertions::assert_not_impl_any!(PendingIrp<SystemCompleter>: Sync, Clone);

impl<C: IrpCompleter> PendingIrp<C> {
    fn take(mut self) -> Option<IrpRef> {
        self.raw.take()
    }

    /// Typed access to the request, as on [`Irp::request`].
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn request(&mut self) -> IoRequest<'_> {
        IoRequest::new(self.raw.as_mut())
    }

    /// Whether someone asked for this IRP to be cancelled (`Irp->Cancel`).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn is_cancel_requested(&self) -> bool {
        self.raw.as_ref().is_some_and(IrpRef::cancel_requested)
    }

    /// Completes the IRP with `status` and `Information = 0`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete(self, status: NtStatus) {
        self.complete_with_information(status, 0);
    }

    /// Completes the IRP with `status` and `information`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete_with_information(self, status: NtStatus, information: usize) {
        let status = status.for_completion();
        if let Some(irp) = self.take() {
            C::complete(IrpCompletion {
                irp,
                status,
                information,
            });
        }
    }

    /// Runs `handler` on the request and completes with its outcome, as
    /// [`Irp::complete_with`].
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete_with(mut self, handler: impl FnOnce(IoRequest<'_>) -> Result<usize, NtStatus>) {
        let outcome = handler(self.request());
        match outcome {
            Ok(information) => self.complete_with_information(NtStatus::SUCCESS, information),
            Err(status) => self.complete(status),
        }
    }
}

impl<C: IrpCompleter> PendingIrp<C> {
    /// Takes the IRP out for forwarding or queueing; the empty `PendingIrp` then drops
    /// silently.
    pub(crate) fn into_raw(mut self) -> Option<IrpRef> {
        self.raw.take()
    }

    /// The handle, for the escape hatches (`sys/escape.rs`).
    pub(crate) const fn raw_ref(&self) -> Option<&IrpRef> {
        self.raw.as_ref()
    }

    /// A pending IRP the crate took back (out of a cancel-safe queue).
    pub(crate) const fn from_ref(raw: IrpRef) -> Self {
        Self {
            raw: Some(raw),
            _completer: PhantomData,
        }
    }
}

impl<C: IrpCompleter> Drop for PendingIrp<C> {
    fn drop(&mut self) {
        if let Some(irp) = self.raw.take() {
            irp.leaked();
        }
    }
}
