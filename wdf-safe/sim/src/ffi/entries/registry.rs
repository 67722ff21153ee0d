//! The driver's `Parameters` key (shared/core/km/fxdriverapikm.cpp, shared/support/fxregkey.cpp).

use wdm_compat::NtStatus;

use super::{PASSIVE, attributes, enter, handle, not_null, unicode, write};
use crate::ffi::bindings::{
    ACCESS_MASK, NTSTATUS, PCUNICODE_STRING, PULONG, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES,
    WDFDRIVER, WDFKEY,
};
use crate::framework::lifecycle;
use crate::framework::objects::Kind;
use crate::framework::registry;

pub(crate) unsafe extern "C" fn WdfDriverOpenParametersRegistryKey(
    globals: PWDF_DRIVER_GLOBALS,
    driver: WDFDRIVER,
    _desired_access: ACCESS_MASK,
    key_attributes: PWDF_OBJECT_ATTRIBUTES,
    key: *mut WDFKEY,
) -> NTSTATUS {
    const DDI: &str = "WdfDriverOpenParametersRegistryKey";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    if !not_null(&cx, DDI, "Key", key) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(key, core::ptr::null_mut());
    if !cx.check_irql(DDI, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    if let Err(status) = attributes(&cx, DDI, key_attributes) {
        return status.to_raw();
    }
    let Some(driver) = handle(&cx, DDI, driver, Kind::Driver) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    match registry::open_parameters(&cx, driver) {
        Ok(opened) => {
            write(key, core::ptr::without_provenance_mut(opened.raw()));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfRegistryQueryULong(
    globals: PWDF_DRIVER_GLOBALS,
    key: WDFKEY,
    value_name: PCUNICODE_STRING,
    value: PULONG,
) -> NTSTATUS {
    const DDI: &str = "WdfRegistryQueryULong";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    if !not_null(&cx, DDI, "ValueName", value_name) || !not_null(&cx, DDI, "Value", value) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    if !cx.check_irql(DDI, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    let Some(found) = handle(&cx, DDI, key, Kind::Key) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    let name = match unicode(&cx, DDI, value_name) {
        Ok(name) => name.unwrap_or_default(),
        Err(status) => return status.to_raw(),
    };
    match registry::query_u32(&cx, found, &name) {
        Ok(read) => {
            write(value, read);
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfRegistryClose(globals: PWDF_DRIVER_GLOBALS, key: WDFKEY) {
    const DDI: &str = "WdfRegistryClose";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if !cx.check_irql(DDI, PASSIVE) {
        return;
    }
    if let Some(found) = handle(&cx, DDI, key, Kind::Key) {
        lifecycle::delete_object(&cx, found, DDI);
    }
}
