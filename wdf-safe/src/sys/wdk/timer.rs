//! `WDFTIMER`: a timer parented to a device, its `EvtTimerFunc` trampoline, and its cleanup.

use core::ptr;

use super::device::DeviceHandle;
use super::driver::driver;
use super::live::LiveCell;
use super::wdk_sys::{
    self, WDF_TIMER_CONFIG, WDFOBJECT, WDFTIMER, call_unsafe_wdf_function_binding,
};
use super::{RECORD, attributes, guarded, keep, publish_record, record_of};
use crate::sys::{DeviceCallback, DriverCallbacks};
use wdm_compat::{NtResult, NtStatus};

/// 100 ns ticks per millisecond.
const TICKS_PER_MS: i64 = 10_000;

/// The crate's record of a timer (kept until the driver unloads, like a queue's): the timer
/// until KMDF disposes it, and the driver's callback.
struct TimerRecord<D: DriverCallbacks> {
    timer: LiveCell<wdk_sys::WDFTIMER__>,
    device: DeviceHandle<D>,
    callback: D::DeviceCallback,
}

/// `WDFTIMER`: the cell of its record, cleared when KMDF disposes the timer (with its device).
pub(crate) struct TimerHandle<D: DriverCallbacks>(&'static TimerRecord<D>);

impl<D: DriverCallbacks> Clone for TimerHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: DriverCallbacks> Copy for TimerHandle<D> {}

impl<D: DriverCallbacks> TimerHandle<D> {
    /// `WdfTimerCreate` with `device` as the parent: fires `callback` once per start
    /// (`period_ms` 0) or every `period_ms` milliseconds once started.
    pub(crate) fn create(
        device: DeviceHandle<D>,
        period_ms: u32,
        callback: D::DeviceCallback,
    ) -> NtResult<Self> {
        let parent = device.held_device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        // Kept before the framework call, so nothing can fail after it (inert if it fails).
        let record = keep(TimerRecord {
            timer: LiveCell::new(),
            device,
            callback,
        })?;
        let mut config = WDF_TIMER_CONFIG {
            Size: size_of::<WDF_TIMER_CONFIG>() as u32,
            EvtTimerFunc: Some(evt_timer_func::<D>),
            Period: period_ms,
            ..WDF_TIMER_CONFIG::default()
        };
        let mut attributes = attributes(&RECORD, Some(evt_timer_cleanup::<D>), None);
        attributes.ParentObject = parent.raw().cast();
        let mut timer: WDFTIMER = ptr::null_mut();
        // SAFETY: the configuration and attributes are read during the call; the parent is a
        // device held by a reference for it; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfTimerCreate,
                &mut config,
                &mut attributes,
                &mut timer
            )
        };
        NtStatus::from_raw(status).ok()?;
        record.timer.set(timer);
        publish_record(timer.cast(), ptr::from_ref(record));
        Ok(Self(record))
    }

    /// `WdfTimerStart`, due `due_ms` milliseconds from now: whether it was queued already
    /// (it is queued again, for the new time). `false` once the timer is gone.
    pub(crate) fn start(self, due_ms: u32) -> bool {
        let Some(timer) = self.0.timer.hold() else {
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
        let Some(timer) = self.0.timer.hold() else {
            return Ok(false);
        };
        // SAFETY: a timer the crate created, held.
        let queued =
            unsafe { call_unsafe_wdf_function_binding!(WdfTimerStop, timer.raw(), u8::from(wait)) };
        Ok(queued != 0)
    }
}

/// `EvtTimerFunc`: the driver's callback, with its driver value and the timer's device.
unsafe extern "C" fn evt_timer_func<D: DriverCallbacks>(timer: WDFTIMER) {
    guarded((), || {
        // SAFETY: records are kept until the driver unloads; every timer of this image has a
        // `TimerRecord<D>` with this `D`, the image's only driver type.
        let record = unsafe { record_of::<TimerRecord<D>>(timer.cast()).as_ref() };
        if let (Some(record), Some(driver)) = (record, driver::<D>()) {
            record.callback.call(driver, record.device);
        }
    });
}

/// The timer's `EvtCleanupCallback`: KMDF disposed it (its device is going), so the crate's
/// handles find no timer from now on.
unsafe extern "C" fn evt_timer_cleanup<D: DriverCallbacks>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: records are kept until the driver unloads.
        if let Some(record) = unsafe { record_of::<TimerRecord<D>>(object).as_ref() } {
            record.timer.close();
        }
        publish_record::<TimerRecord<D>>(object, ptr::null());
    });
}
