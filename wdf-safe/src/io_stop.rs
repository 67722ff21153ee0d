//! Power-managed queues: `EvtIoStop` and `EvtIoResume`.
//!
//! A queue made with [`QueueConfig::power_managed`](crate::QueueConfig::power_managed) presents
//! requests only while its device is in D0: requests that arrive in Dx wait in the queue. When
//! the device leaves D0 (after `EvtDeviceSelfManagedIoSuspend`, before `EvtDeviceD0Exit`), KMDF
//! hands each request the driver still owns from the queue — one it sent to the device below,
//! or left to its cancel routine — to `EvtIoStop`, and waits until each is acknowledged or
//! completed. Back in D0, `EvtIoResume` runs for each acknowledged request, then the queue
//! presents again. At removal the device first leaves D0 this way ([`StopAction::Suspend`]);
//! after `EvtDeviceReleaseHardware` the queue is purged: requests waiting in it are cancelled,
//! requests the driver left to their cancel routine are cancelled through it, and the rest go
//! to `EvtIoStop` again with [`StopAction::Purge`].
//!
//! An `EvtIoStop` here must return the [`StopDone`] of the request it was given, and the only
//! way to get it is [`StopRequest::acknowledge`] (`WdfRequestStopAcknowledge` with
//! `Requeue = FALSE`): so the callback cannot return without acknowledging (SDV
//! EvtIoStopCompleteOrStopAck), cannot acknowledge outside `EvtIoStop` (StopAckWithinEvtIoStop),
//! and cannot read the request's parameters in `EvtIoStop` or `EvtIoResume` (EvtIoStopGetParam,
//! EvtIoResumeGetParam). `EvtIoResume` is required with `EvtIoStop` (EvtIoStopResume).
//!
//! Requeueing (`Requeue = TRUE`) and completing the request inside `EvtIoStop` would take the
//! request from whoever holds it (the driver below, the cancel routine); they are not offered.
//! The request still completes the usual way: the driver below completes a sent request, and a
//! purge at removal cancels a parked one through its cancel routine.
//!
//! IRQL: both callbacks run at ≤ DISPATCH_LEVEL.

use core::marker::PhantomData;

use crate::sys::RequestRef;

/// Which request a value belongs to (invariant, as [`RequestDone`](crate::RequestDone)'s).
type Brand<'r> = PhantomData<fn(&'r ()) -> &'r ()>;

/// `WDF_REQUEST_STOP_ACTION_FLAGS`: why the request is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopAction {
    /// `WdfRequestStopActionSuspend`: the device leaves D0 and comes back.
    Suspend,
    /// `WdfRequestStopActionPurge`: the device is being removed; the queue will not present
    /// again.
    Purge,
}

/// `WdfRequestStopActionPurge`.
const ACTION_PURGE: u32 = 0x2;
/// `WdfRequestStopRequestCancelable`.
const REQUEST_CANCELABLE: u32 = 0x1000_0000;

/// The request `EvtIoStop` is about, lent for the call.
#[must_use = "acknowledge it: the device cannot leave D0 until every stopped request is"]
pub struct StopRequest<'r> {
    raw: RequestRef,
    flags: u32,
    _brand: Brand<'r>,
    // A raw pointer inside: neither Send nor Sync, so it stays in its callback's thread.
    _not_send: PhantomData<*const ()>,
}

/// Proof that the request `'r` given to `EvtIoStop` was acknowledged; only
/// [`StopRequest::acknowledge`] makes one.
#[must_use = "return this from EvtIoStop"]
#[derive(Debug)]
pub struct StopDone<'r>(Brand<'r>);

/// The request `EvtIoResume` is about: one acknowledged in `EvtIoStop`, still the driver's.
pub struct ResumedRequest<'r> {
    _raw: RequestRef,
    _brand: Brand<'r>,
    _not_send: PhantomData<*const ()>,
}

/// `EvtIoStop`: the callback returns the proof that it acknowledged the request it was given.
pub type IoStopCallback<D> = for<'r> fn(&D, StopRequest<'r>) -> StopDone<'r>;

/// `EvtIoResume`.
pub type IoResumeCallback<D> = for<'r> fn(&D, ResumedRequest<'r>);

static_assertions::assert_not_impl_any!(StopRequest<'static>: Send, Sync, Clone);
static_assertions::assert_not_impl_any!(StopDone<'static>: Clone, Default);

impl<'r> StopRequest<'r> {
    #[cfg_attr(
        not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
        allow(dead_code, reason = "only a framework backend stops requests")
    )]
    pub(crate) const fn lent(raw: RequestRef, flags: u32) -> Self {
        Self {
            raw,
            flags,
            _brand: PhantomData,
            _not_send: PhantomData,
        }
    }

    /// Why the request is stopped.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn action(&self) -> StopAction {
        if self.flags & ACTION_PURGE != 0 {
            StopAction::Purge
        } else {
            StopAction::Suspend
        }
    }

    /// `WdfRequestStopRequestCancelable`: the driver had marked the request cancelable.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn is_cancelable(&self) -> bool {
        self.flags & REQUEST_CANCELABLE != 0
    }

    /// `WdfRequestStopAcknowledge(Request, Requeue = FALSE)`: the driver keeps the request
    /// (whoever holds it still completes it), and the device may leave D0.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn acknowledge(self) -> StopDone<'r> {
        self.raw.stop_acknowledge();
        StopDone(PhantomData)
    }
}

impl ResumedRequest<'_> {
    #[cfg_attr(
        not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
        allow(dead_code, reason = "only a framework backend resumes requests")
    )]
    pub(crate) const fn lent(raw: RequestRef) -> Self {
        Self {
            _raw: raw,
            _brand: PhantomData,
            _not_send: PhantomData,
        }
    }
}

impl core::fmt::Debug for StopRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StopRequest")
            .field("action", &self.action())
            .field("cancelable", &self.is_cancelable())
            .finish()
    }
}

impl core::fmt::Debug for ResumedRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ResumedRequest")
    }
}
