//! Objects and contexts (shared/object/fxobjectapi.cpp, handleapi.cpp), and the verifier's
//! break (shared/core/verifierapi.cpp).

use wdm_compat::NtStatus;

use super::{DISPATCH, attributes, enter, not_null, object, write};
use crate::ffi::bindings::{
    LONG, NTSTATUS, PCCH, PCWDF_OBJECT_CONTEXT_TYPE_INFO, PVOID, PWDF_DRIVER_GLOBALS,
    PWDF_OBJECT_ATTRIBUTES, WDFOBJECT,
};
use crate::framework::lifecycle;
use crate::framework::objects::Kind;

pub(crate) unsafe extern "C" fn WdfObjectGetTypedContextWorker(
    globals: PWDF_DRIVER_GLOBALS,
    handle: WDFOBJECT,
    type_info: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
) -> PVOID {
    const DDI: &str = "WdfObjectGetTypedContextWorker";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    if !not_null(&cx, DDI, "Handle", handle) || !not_null(&cx, DDI, "TypeInfo", type_info) {
        return core::ptr::null_mut();
    }
    let Some(found) = object(&cx, DDI, handle) else {
        return core::ptr::null_mut();
    };
    // Context lookup compares the type info's address (FxObjectGetTypedContext).
    lifecycle::typed_context(&cx, found, type_info.addr())
        .map_or(core::ptr::null_mut(), |p| p.cast())
}

pub(crate) unsafe extern "C" fn WdfObjectAllocateContext(
    globals: PWDF_DRIVER_GLOBALS,
    handle: WDFOBJECT,
    context_attributes: PWDF_OBJECT_ATTRIBUTES,
    context: *mut PVOID,
) -> NTSTATUS {
    const DDI: &str = "WdfObjectAllocateContext";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    write(context, core::ptr::null_mut());
    if !not_null(&cx, DDI, "Handle", handle) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    let Some(found) = object(&cx, DDI, handle) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    let attributes = match attributes(&cx, DDI, context_attributes) {
        Ok(Some(attributes)) => attributes,
        Ok(None) => return NtStatus::WDF_PARENT_NOT_SPECIFIED.to_raw(),
        Err(status) => return status.to_raw(),
    };
    if attributes.parent.is_some() {
        return NtStatus::WDF_PARENT_ASSIGNMENT_NOT_ALLOWED.to_raw();
    }
    match lifecycle::allocate_context(&cx, found, &attributes) {
        Ok((status, address)) => {
            write(context, address.cast());
            status.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfObjectReferenceActual(
    globals: PWDF_DRIVER_GLOBALS,
    handle: WDFOBJECT,
    _tag: PVOID,
    _line: LONG,
    _file: PCCH,
) {
    const DDI: &str = "WdfObjectReferenceActual";
    if let Some(cx) = enter(globals, DDI)
        && let Some(found) = object(&cx, DDI, handle)
    {
        let _ = lifecycle::reference(&cx, found);
    }
}

pub(crate) unsafe extern "C" fn WdfObjectDereferenceActual(
    globals: PWDF_DRIVER_GLOBALS,
    handle: WDFOBJECT,
    _tag: PVOID,
    _line: LONG,
    _file: PCCH,
) {
    const DDI: &str = "WdfObjectDereferenceActual";
    if let Some(cx) = enter(globals, DDI)
        && let Some(found) = object(&cx, DDI, handle)
    {
        let _ = lifecycle::dereference(&cx, found);
    }
}

pub(crate) unsafe extern "C" fn WdfObjectDelete(globals: PWDF_DRIVER_GLOBALS, handle: WDFOBJECT) {
    const DDI: &str = "WdfObjectDelete";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    let Some(found) = object(&cx, DDI, handle) else {
        return;
    };
    let (kind, control, created) = {
        let state = cx.lock();
        let object = state.objects.get(found);
        (
            object.map(|o| o.body.kind()),
            object.and_then(|o| o.device()).is_some_and(|d| d.control),
            object
                .and_then(|o| o.request())
                .is_some_and(|r| r.created.is_some()),
        )
    };
    // The driver, PnP devices, framework requests and queues dispatched to are not the
    // driver's to delete (MarkNoDeleteDDI); a control device is (the driver deletes it when it
    // is done with it, as kbfiltr's sideband device when the last filter device goes), and so
    // is a request it created (once it is back from its target: the deletion reports it
    // otherwise, `VerifyDispose`).
    let deletable = (kind == Some(Kind::Device) && control) || created;
    if !deletable
        && matches!(
            kind,
            Some(Kind::Driver | Kind::Device | Kind::Request | Kind::DeviceInit)
        )
    {
        cx.verifier_break(
            None,
            "WdfObjectDelete: the object cannot be deleted by the driver (STATUS_CANNOT_DELETE)",
        );
        return;
    }
    lifecycle::delete_object(&cx, found, "WdfObjectDelete");
}

pub(crate) unsafe extern "C" fn WdfVerifierDbgBreakPoint(globals: PWDF_DRIVER_GLOBALS) {
    if let Some(cx) = enter(globals, "WdfVerifierDbgBreakPoint") {
        cx.verifier_break(
            None,
            "the driver broke into the debugger (WdfVerifierDbgBreakPoint); its trace says why",
        );
    }
}
