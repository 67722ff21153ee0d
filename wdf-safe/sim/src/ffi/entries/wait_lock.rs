//! Wait locks (shared/support/fxwaitlockapi.cpp).

use wdm_compat::NtStatus;

use super::{DISPATCH, PASSIVE, attributes, enter, handle, not_null, object, write};
use crate::ffi::bindings::{
    NTSTATUS, PLONGLONG, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, WDFWAITLOCK,
};
use crate::framework::objects::{Handle, Kind};
use crate::framework::wait_lock;

pub(crate) unsafe extern "C" fn WdfWaitLockCreate(
    globals: PWDF_DRIVER_GLOBALS,
    lock_attributes: PWDF_OBJECT_ATTRIBUTES,
    lock: *mut WDFWAITLOCK,
) -> NTSTATUS {
    const DDI: &str = "WdfWaitLockCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    if !not_null(&cx, DDI, "Lock", lock) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(lock, core::ptr::null_mut());
    if !cx.check_irql(DDI, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    let attributes = match attributes(&cx, DDI, lock_attributes) {
        Ok(attributes) => attributes,
        Err(status) => return status.to_raw(),
    };
    let parent = match attributes.as_ref().and_then(|a| a.parent) {
        Some(raw) => match object(&cx, DDI, core::ptr::without_provenance_mut::<u8>(raw)) {
            Some(parent) => Some(parent),
            None => return NtStatus::INVALID_HANDLE.to_raw(),
        },
        None => None,
    };
    match wait_lock::create(&cx, parent, attributes.as_ref()) {
        Ok(created) => {
            write(lock, core::ptr::without_provenance_mut(created.raw()));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfWaitLockAcquire(
    globals: PWDF_DRIVER_GLOBALS,
    lock: WDFWAITLOCK,
    timeout: PLONGLONG,
) -> NTSTATUS {
    const DDI: &str = "WdfWaitLockAcquire";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let Some(found) = handle(&cx, DDI, lock, Kind::WaitLock) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    // SAFETY: NULL or, by the DDI's contract, a LONGLONG for the call.
    let timeout = (!timeout.is_null()).then(|| unsafe { timeout.read_unaligned() });
    // Only a zero timeout (a try) is allowed above PASSIVE_LEVEL.
    if timeout != Some(0) && !cx.check_irql(DDI, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    wait_lock::acquire(&cx, DDI, found, timeout)
}

pub(crate) unsafe extern "C" fn WdfWaitLockRelease(
    globals: PWDF_DRIVER_GLOBALS,
    lock: WDFWAITLOCK,
) {
    const DDI: &str = "WdfWaitLockRelease";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return;
    }
    let Some(found): Option<Handle> = handle(&cx, DDI, lock, Kind::WaitLock) else {
        return;
    };
    wait_lock::release(&cx, DDI, found);
}
