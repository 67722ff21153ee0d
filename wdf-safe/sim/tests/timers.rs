//! `WDFTIMER` as KMDF's own checks see a C driver's timers (shared/core/fxtimerapi.cpp,
//! fxtimer.cpp): a timer needs a parent, and `WdfTimerStop(Wait = TRUE)` from the timer's own
//! callback is a verifier break, not a deadlock. The ordinary firing and stopping is tested
//! through wdf-safe (`wdf-safe/tests/kmdf_timer.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

#[allow(dead_code, reason = "each test binary uses a part of it")]
mod common;

use core::ptr::null_mut;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

use common::{control_device, create_driver};
use kmdf_sim::bindings::{
    _WDF_EXECUTION_LEVEL as Level, _WDF_SYNCHRONIZATION_SCOPE as Scope, NTSTATUS, PCUNICODE_STRING,
    PDRIVER_OBJECT, WDF_OBJECT_ATTRIBUTES, WDF_TIMER_CONFIG, WDFTIMER,
    call_unsafe_wdf_function_binding,
};
use wdm_compat::NtStatus;
use wdm_compat::host::IoManager;

/// What `WdfTimerCreate` without a parent returned.
static PARENTLESS: AtomicI32 = AtomicI32::new(0);
/// What `WdfTimerStop(Wait = TRUE)` returned inside the timer's callback.
static STOPPED_FROM_CALLBACK: Mutex<Option<u8>> = Mutex::new(None);

fn timer_config() -> WDF_TIMER_CONFIG {
    WDF_TIMER_CONFIG {
        Size: size_of::<WDF_TIMER_CONFIG>() as u32,
        EvtTimerFunc: Some(stop_myself),
        ..WDF_TIMER_CONFIG::default()
    }
}

unsafe extern "C" fn stop_myself(timer: WDFTIMER) {
    // SAFETY: the timer handed to its own callback; the wait is what KMDF refuses here.
    let stopped = unsafe { call_unsafe_wdf_function_binding!(WdfTimerStop, timer, 1) };
    *STOPPED_FROM_CALLBACK.lock().unwrap() = Some(stopped);
}

unsafe extern "C" fn timer_driver(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
    let driver = create_driver(object, path);
    let device = control_device(driver, "TimerC", true);
    let mut config = timer_config();
    let mut timer: WDFTIMER = null_mut();
    // SAFETY: a configuration read during the call, no attributes (so no parent), a local.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(WdfTimerCreate, &mut config, null_mut(), &mut timer)
    };
    PARENTLESS.store(status, Ordering::SeqCst);
    // WDF_OBJECT_ATTRIBUTES_INIT, then the parent.
    let mut attributes = WDF_OBJECT_ATTRIBUTES {
        Size: size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: Level::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: Scope::WdfSynchronizationScopeInheritFromParent,
        ParentObject: device.cast(),
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    // SAFETY: as above, with the device as the parent.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(WdfTimerCreate, &mut config, &mut attributes, &mut timer)
    };
    assert_eq!(status, 0);
    // SAFETY: the timer just created; due in 1 ms (relative, 100 ns units).
    let queued = unsafe { call_unsafe_wdf_function_binding!(WdfTimerStart, timer, -10_000) };
    assert_eq!(queued, 0);
    0
}

#[test]
fn a_timer_needs_a_parent_and_stopping_it_with_a_wait_from_its_own_callback_is_refused() {
    let io = IoManager::new();
    io.set_strict(false);
    io.load_driver("timerc", kmdf_sim::entry_point(timer_driver))
        .unwrap();
    assert_eq!(
        NtStatus::from_raw(PARENTLESS.load(Ordering::SeqCst)),
        NtStatus::WDF_PARENT_NOT_SPECIFIED
    );
    kmdf_sim::advance_clock(&io, core::time::Duration::from_millis(1));
    assert_eq!(*STOPPED_FROM_CALLBACK.lock().unwrap(), Some(0));
    let reports = io.take_violations();
    assert!(
        reports
            .iter()
            .any(|v| v.message.contains("from within the timer's own callback")),
        "{reports:#?}"
    );
}
