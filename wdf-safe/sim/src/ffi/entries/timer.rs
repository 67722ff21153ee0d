//! Timers (shared/core/fxtimerapi.cpp).

use wdm_compat::NtStatus;

use super::{DISPATCH, enter, handle, parented_create, write};
use crate::ffi::bindings::{
    BOOLEAN, LONGLONG, NTSTATUS, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, PWDF_TIMER_CONFIG,
    WDF_TIMER_CONFIG, WDFTIMER,
};
use crate::framework::objects::Kind;
use crate::framework::timer;

/// `MAXLONG`: the longest period KMDF takes.
const MAXLONG: u32 = 0x7FFF_FFFF;

pub(crate) unsafe extern "C" fn WdfTimerCreate(
    globals: PWDF_DRIVER_GLOBALS,
    config: PWDF_TIMER_CONFIG,
    timer_attributes: PWDF_OBJECT_ATTRIBUTES,
    timer: *mut WDFTIMER,
) -> NTSTATUS {
    const DDI: &str = "WdfTimerCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let (attributes, parent, config) = match parented_create(
        &cx,
        DDI,
        timer,
        "Timer",
        timer_attributes,
        config,
        "WDF_TIMER_CONFIG",
        |c: &WDF_TIMER_CONFIG| c.Size,
    ) {
        Ok(checked) => checked,
        Err(status) => return status.to_raw(),
    };
    if config.Period > MAXLONG || config.EvtTimerFunc.is_none() {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    // `_GetEffectiveLock`: serialized with its parent's callbacks when asked and the parent has
    // a synchronization scope (a queue's); a parent without one gives no lock.
    let lock = (config.AutomaticSerialization != 0)
        .then(|| crate::framework::serialization::of_queue(&cx, parent))
        .flatten();
    match timer::create(
        &cx,
        config.EvtTimerFunc,
        config.Period,
        parent,
        &attributes,
        lock,
    ) {
        Ok(created) => {
            write(timer, core::ptr::without_provenance_mut(created.raw()));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfTimerStart(
    globals: PWDF_DRIVER_GLOBALS,
    timer: WDFTIMER,
    due_time: LONGLONG,
) -> BOOLEAN {
    const DDI: &str = "WdfTimerStart";
    let Some(cx) = enter(globals, DDI) else {
        return 0;
    };
    let Some(found) = handle(&cx, DDI, timer, Kind::Timer) else {
        return 0;
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return 0;
    }
    u8::from(timer::start(&cx, DDI, found, due_time))
}

pub(crate) unsafe extern "C" fn WdfTimerStop(
    globals: PWDF_DRIVER_GLOBALS,
    timer: WDFTIMER,
    wait: BOOLEAN,
) -> BOOLEAN {
    const DDI: &str = "WdfTimerStop";
    let Some(cx) = enter(globals, DDI) else {
        return 0;
    };
    let Some(found) = handle(&cx, DDI, timer, Kind::Timer) else {
        return 0;
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return 0;
    }
    u8::from(timer::stop(&cx, DDI, found, wait != 0))
}
