//! `WDFTIMER`: a timer parented to a device (see [`child`](super::child)).

use core::ptr;

use super::child::{ChildHandle, ChildRecord, evt_child};
use super::device::DeviceHandle;
use super::wdk_sys::{self, WDF_TIMER_CONFIG, WDFTIMER, call_unsafe_wdf_function_binding};
use crate::sys::DriverCallbacks;
use wdm_compat::{NtResult, NtStatus};

/// 100 ns ticks per millisecond.
const TICKS_PER_MS: i64 = 10_000;

/// `WDFTIMER`: a ticket to its record, whose cell is cleared when KMDF disposes the timer (with
/// its device).
pub(crate) struct TimerHandle<D: DriverCallbacks>(ChildHandle<D, wdk_sys::WDFTIMER__>);

impl<D: DriverCallbacks> Clone for TimerHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: DriverCallbacks> Copy for TimerHandle<D> {}

impl<D: DriverCallbacks> TimerHandle<D> {
    /// `WdfObjectAllocateContext` on the object.
    pub(crate) fn allocate_context<T: core::any::Any + Send + Sync>(
        self,
        info: &'static crate::sys::ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<crate::sys::ContextGuard<T>> {
        self.0.allocate_context(info, init, cleanup)
    }

    /// The object's context whose type info is `info`.
    pub(crate) fn context<T: core::any::Any>(
        self,
        info: &'static crate::sys::ContextTypeInfo,
    ) -> Option<crate::sys::ContextGuard<T>> {
        self.0.context::<T>(info)
    }

    /// `WdfTimerCreate` with `device` as the parent (or `serialized_with`, one of its queues,
    /// with `AutomaticSerialization`): fires `callback` once per start (`period_ms` 0) or
    /// every `period_ms` milliseconds once started.
    pub(crate) fn create(
        device: DeviceHandle<D>,
        period_ms: u32,
        callback: D::DeviceCallback,
        serialized_with: Option<super::queue::QueueHandle>,
    ) -> NtResult<Self> {
        let mut prepared = ChildRecord::prepare(device, callback)?;
        let mut config = WDF_TIMER_CONFIG {
            Size: size_of::<WDF_TIMER_CONFIG>() as u32,
            EvtTimerFunc: Some(evt_child::<D, wdk_sys::WDFTIMER__>),
            Period: period_ms,
            ..WDF_TIMER_CONFIG::default()
        };
        // The queue, held for the call: the timer's parent, whose callback lock it shares.
        let queue = match serialized_with {
            Some(queue) => Some(device.live_pair(queue)?.1),
            None => None,
        };
        if let Some(queue) = &queue {
            prepared.attributes.ParentObject = queue.raw().cast();
            config.AutomaticSerialization = 1;
        }
        let mut timer: WDFTIMER = ptr::null_mut();
        // SAFETY: the configuration and attributes are read during the call; the parent is a
        // device held by a reference for it; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfTimerCreate,
                &mut config,
                &mut prepared.attributes,
                &mut timer
            )
        };
        NtStatus::from_raw(status).ok()?;
        Ok(Self(prepared.created(timer)))
    }

    /// `WdfTimerStart`, due `due_ms` milliseconds from now: whether it was queued already
    /// (it is queued again, for the new time). `false` once the timer is gone.
    pub(crate) fn start(self, due_ms: u32) -> bool {
        let Some(timer) = self.0.hold() else {
            return false;
        };
        let due = -(i64::from(due_ms) * TICKS_PER_MS);
        // SAFETY: a timer the crate created, held; a relative due time.
        let queued = unsafe { call_unsafe_wdf_function_binding!(WdfTimerStart, timer.raw(), due) };
        queued != 0
    }

    /// `WdfTimerStop`: whether it was queued. With `wait`, also waits for a callback running
    /// on another processor, which needs PASSIVE_LEVEL: above it the call is refused (KMDF's
    /// verifier would break) and `Err(STATUS_INVALID_DEVICE_REQUEST)` returned.
    pub(crate) fn stop(self, wait: bool) -> NtResult<bool> {
        if wait && crate::sys::current_irql() > 0 {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let Some(timer) = self.0.hold() else {
            return Ok(false);
        };
        // SAFETY: a timer the crate created, held.
        let queued =
            unsafe { call_unsafe_wdf_function_binding!(WdfTimerStop, timer.raw(), u8::from(wait)) };
        Ok(queued != 0)
    }
}
