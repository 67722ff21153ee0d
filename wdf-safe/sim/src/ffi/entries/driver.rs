//! `WdfDriverCreate` (shared/core/fxdriverapi.cpp).

use wdm_compat::NtStatus;

use super::{PASSIVE, attributes, enter, not_null, read, sized, unicode, write};
use crate::ffi::bindings::{
    NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT, PWDF_DRIVER_CONFIG, PWDF_DRIVER_GLOBALS,
    PWDF_OBJECT_ATTRIBUTES, WDF_DRIVER_CONFIG, WDFDRIVER,
};
use crate::framework::driver::{self, DriverConfig};

pub(crate) unsafe extern "C" fn WdfDriverCreate(
    globals: PWDF_DRIVER_GLOBALS,
    driver_object: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
    driver_attributes: PWDF_OBJECT_ATTRIBUTES,
    driver_config: PWDF_DRIVER_CONFIG,
    out_driver: *mut WDFDRIVER,
) -> NTSTATUS {
    const DDI: &str = "WdfDriverCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    write(out_driver, core::ptr::null_mut());
    if !not_null(&cx, DDI, "DriverObject", driver_object)
        || !not_null(&cx, DDI, "RegistryPath", registry_path)
    {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    let Some(config) = read(&cx, DDI, "DriverConfig", driver_config.cast_const()) else {
        return NtStatus::INVALID_PARAMETER.to_raw();
    };
    let result = sized(
        &cx,
        DDI,
        "WDF_DRIVER_CONFIG",
        config.Size as usize,
        size_of::<WDF_DRIVER_CONFIG>(),
    )
    .and_then(|()| {
        if cx.check_irql(DDI, PASSIVE) {
            Ok(())
        } else {
            Err(NtStatus::INVALID_DEVICE_REQUEST)
        }
    })
    .and_then(|()| unicode(&cx, DDI, registry_path).map(|_| ()))
    .and_then(|()| attributes(&cx, DDI, driver_attributes))
    .and_then(|attributes| {
        driver::create(
            &cx,
            driver_object,
            attributes.as_ref(),
            &DriverConfig {
                device_add: config.EvtDriverDeviceAdd,
                unload: config.EvtDriverUnload,
                flags: config.DriverInitFlags,
            },
        )
    });
    match result {
        Ok(handle) => {
            write(out_driver, core::ptr::without_provenance_mut(handle.raw()));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}
