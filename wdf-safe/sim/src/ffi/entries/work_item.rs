//! Work items (shared/core/fxworkitemapi.cpp).

use wdm_compat::NtStatus;

use super::{DISPATCH, PASSIVE, enter, handle, parented_create, write};
use crate::ffi::bindings::{
    NTSTATUS, PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, PWDF_WORKITEM_CONFIG,
    WDF_WORKITEM_CONFIG, WDFWORKITEM,
};
use crate::framework::objects::Kind;
use crate::framework::work_item;

pub(crate) unsafe extern "C" fn WdfWorkItemCreate(
    globals: PWDF_DRIVER_GLOBALS,
    config: PWDF_WORKITEM_CONFIG,
    item_attributes: PWDF_OBJECT_ATTRIBUTES,
    item: *mut WDFWORKITEM,
) -> NTSTATUS {
    const DDI: &str = "WdfWorkItemCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let (attributes, parent, config) = match parented_create(
        &cx,
        DDI,
        item,
        "WorkItem",
        item_attributes,
        config,
        "WDF_WORKITEM_CONFIG",
        |c: &WDF_WORKITEM_CONFIG| c.Size,
    ) {
        Ok(checked) => checked,
        Err(status) => return status.to_raw(),
    };
    if config.EvtWorkItemFunc.is_none() {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    // Not serialized with the parent's callbacks in the simulation (the crate never asks).
    if config.AutomaticSerialization != 0 {
        return NtStatus::NOT_SUPPORTED.to_raw();
    }
    match work_item::create(&cx, config.EvtWorkItemFunc, parent, &attributes) {
        Ok(created) => {
            write(item, core::ptr::without_provenance_mut(created.raw()));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfWorkItemEnqueue(
    globals: PWDF_DRIVER_GLOBALS,
    item: WDFWORKITEM,
) {
    const DDI: &str = "WdfWorkItemEnqueue";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    let Some(found) = handle(&cx, DDI, item, Kind::WorkItem) else {
        return;
    };
    if cx.check_irql(DDI, DISPATCH) {
        work_item::enqueue(&cx, DDI, found);
    }
}

pub(crate) unsafe extern "C" fn WdfWorkItemFlush(globals: PWDF_DRIVER_GLOBALS, item: WDFWORKITEM) {
    const DDI: &str = "WdfWorkItemFlush";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    let Some(found) = handle(&cx, DDI, item, Kind::WorkItem) else {
        return;
    };
    if cx.check_irql(DDI, PASSIVE) {
        work_item::flush(&cx, DDI, found);
    }
}
