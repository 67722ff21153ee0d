//! Device inits and devices (shared/core/fxdeviceinitapi.cpp, fxdeviceapi.cpp,
//! fxdevicecontrolapi.cpp, shared/support/fxdeviceinterfaceapi.cpp).

use std::format;

use wdm_compat::NtStatus;

use super::{DISPATCH, PASSIVE, attributes, enter, handle, not_null, read, sized, unicode, write};
use crate::ffi::bindings::{
    _WDF_DEVICE_IO_TYPE as IoType, _WDF_TRI_STATE as Tri, BOOLEAN, GUID, NTSTATUS,
    PCUNICODE_STRING, PDEVICE_OBJECT, PWDF_DRIVER_GLOBALS, PWDF_FILEOBJECT_CONFIG,
    PWDF_OBJECT_ATTRIBUTES, PWDF_PNPPOWER_EVENT_CALLBACKS, PWDFDEVICE_INIT, ULONG,
    WDF_DEVICE_IO_TYPE, WDF_FILEOBJECT_CONFIG, WDF_PNPPOWER_EVENT_CALLBACKS, WDF_REQUEST_TYPE,
    WDFDEVICE, WDFDRIVER, WDFIOTARGET, WDFQUEUE,
};
use crate::framework::Cx;
use crate::framework::device::{self, FileConfig, InitKind};
use crate::framework::objects::{Handle, Kind};

fn raw<T>(handle: Handle) -> *mut T {
    core::ptr::without_provenance_mut(handle.raw())
}

/// A device init argument: NULL is `WDF_REQUIRED_PARAMETER_IS_NULL`, anything else must be a
/// live init.
fn init(cx: &Cx, ddi: &str, init: PWDFDEVICE_INIT) -> Option<Handle> {
    if !not_null(cx, ddi, "DeviceInit", init) {
        return None;
    }
    handle(cx, ddi, init, Kind::DeviceInit)
}

/// Runs a setter on a live init.
fn set(
    globals: PWDF_DRIVER_GLOBALS,
    ddi: &str,
    raw_init: PWDFDEVICE_INIT,
    change: impl FnOnce(&Cx, &mut device::InitBody),
) {
    let Some(cx) = enter(globals, ddi) else {
        return;
    };
    let Some(handle) = init(&cx, ddi, raw_init) else {
        return;
    };
    if !cx.check_irql(ddi, DISPATCH) {
        return;
    }
    let _ = device::with_init(&cx, handle, |body| change(&cx, body));
}

pub(crate) unsafe extern "C" fn WdfControlDeviceInitAllocate(
    globals: PWDF_DRIVER_GLOBALS,
    driver: WDFDRIVER,
    sddl: PCUNICODE_STRING,
) -> PWDFDEVICE_INIT {
    const DDI: &str = "WdfControlDeviceInitAllocate";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    if handle(&cx, DDI, driver, Kind::Driver).is_none()
        || !not_null(&cx, DDI, "SDDLString", sddl)
        || !cx.check_irql(DDI, PASSIVE)
    {
        return core::ptr::null_mut();
    }
    let Ok(sddl) = unicode(&cx, DDI, sddl) else {
        return core::ptr::null_mut();
    };
    device::new_control_init(&cx, sddl).map_or(core::ptr::null_mut(), raw)
}

pub(crate) unsafe extern "C" fn WdfDeviceInitAssignName(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    name: PCUNICODE_STRING,
) -> NTSTATUS {
    const DDI: &str = "WdfDeviceInitAssignName";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let Some(handle) = init(&cx, DDI, raw_init) else {
        return NtStatus::INVALID_PARAMETER.to_raw();
    };
    if !cx.check_irql(DDI, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    let name = match unicode(&cx, DDI, name) {
        Ok(name) => name,
        Err(status) => return status.to_raw(),
    };
    let _ = device::with_init(&cx, handle, |body| device::assign_name(body, name));
    NtStatus::SUCCESS.to_raw()
}

pub(crate) unsafe extern "C" fn WdfDeviceInitSetIoType(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    io_type: WDF_DEVICE_IO_TYPE,
) {
    set(globals, "WdfDeviceInitSetIoType", raw_init, |cx, body| {
        if (IoType::WdfDeviceIoNeither..=IoType::WdfDeviceIoDirect).contains(&io_type) {
            body.io_type = io_type;
        } else {
            cx.verifier_break(
                None,
                &format!("WdfDeviceInitSetIoType: {io_type} is not an I/O type; ignored"),
            );
        }
    });
}

pub(crate) unsafe extern "C" fn WdfDeviceInitSetExclusive(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    exclusive: BOOLEAN,
) {
    set(globals, "WdfDeviceInitSetExclusive", raw_init, |_, body| {
        body.exclusive = exclusive != 0;
    });
}

pub(crate) unsafe extern "C" fn WdfDeviceInitSetDeviceType(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    device_type: ULONG,
) {
    set(
        globals,
        "WdfDeviceInitSetDeviceType",
        raw_init,
        |_, body| {
            body.device_type = device_type;
        },
    );
}

pub(crate) unsafe extern "C" fn WdfDeviceInitSetCharacteristics(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    characteristics: ULONG,
    or_in_values: BOOLEAN,
) {
    set(
        globals,
        "WdfDeviceInitSetCharacteristics",
        raw_init,
        |_, body| {
            device::set_characteristics(body, characteristics, or_in_values != 0);
        },
    );
}

pub(crate) unsafe extern "C" fn WdfDeviceInitSetFileObjectConfig(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    config: PWDF_FILEOBJECT_CONFIG,
    file_attributes: PWDF_OBJECT_ATTRIBUTES,
) {
    const DDI: &str = "WdfDeviceInitSetFileObjectConfig";
    set(globals, DDI, raw_init, |cx, body| {
        let Some(config) = read(cx, DDI, "FileObjectConfig", config.cast_const()) else {
            return;
        };
        let file_attributes = sized(
            cx,
            DDI,
            "WDF_FILEOBJECT_CONFIG",
            config.Size as usize,
            size_of::<WDF_FILEOBJECT_CONFIG>(),
        )
        .and_then(|()| attributes(cx, DDI, file_attributes));
        let Ok(file_attributes) = file_attributes else {
            return;
        };
        if !(Tri::WdfFalse..=Tri::WdfUseDefault).contains(&config.AutoForwardCleanupClose) {
            cx.verifier_break(
                None,
                "WdfDeviceInitSetFileObjectConfig: AutoForwardCleanupClose is not a WDF_TRI_STATE",
            );
            return;
        }
        body.file = FileConfig {
            create: config.EvtDeviceFileCreate,
            close: config.EvtFileClose,
            cleanup: config.EvtFileCleanup,
            auto_forward: config.AutoForwardCleanupClose,
            class: config.FileObjectClass,
            attributes: file_attributes,
        };
    });
}

pub(crate) unsafe extern "C" fn WdfDeviceInitSetPnpPowerEventCallbacks(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    callbacks: PWDF_PNPPOWER_EVENT_CALLBACKS,
) {
    const DDI: &str = "WdfDeviceInitSetPnpPowerEventCallbacks";
    set(globals, DDI, raw_init, |cx, body| {
        let Some(callbacks) = read(cx, DDI, "PnpPowerEventCallbacks", callbacks.cast_const())
        else {
            return;
        };
        if sized(
            cx,
            DDI,
            "WDF_PNPPOWER_EVENT_CALLBACKS",
            callbacks.Size as usize,
            size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>(),
        )
        .is_err()
        {
            return;
        }
        if body.kind == InitKind::Control {
            // A control device has no PnP or power package, so KMDF copies the callbacks
            // (fxdeviceinitapi.cpp) and never calls them; SDV ControlDeviceInitAPI flags the
            // call, and so does the simulation.
            cx.verifier_break(
                Some("ControlDeviceInitAPI"),
                "WdfDeviceInitSetPnpPowerEventCallbacks on a control-device init",
            );
            return;
        }
        body.pnp_power = callbacks;
    });
}

pub(crate) unsafe extern "C" fn WdfDeviceInitSetRequestAttributes(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
    request_attributes: PWDF_OBJECT_ATTRIBUTES,
) {
    const DDI: &str = "WdfDeviceInitSetRequestAttributes";
    set(globals, DDI, raw_init, |cx, body| {
        if !not_null(cx, DDI, "RequestAttributes", request_attributes) {
            return;
        }
        match attributes(cx, DDI, request_attributes) {
            // A request's parent is the framework's choice (`FxDeviceInitSetRequestAttributes`
            // refuses a parent).
            Ok(Some(attributes)) if attributes.parent.is_some() => {
                cx.verifier_break(
                    None,
                    &format!("{DDI}: a request's attributes may not name a parent"),
                );
            }
            Ok(attributes) => body.request_attributes = attributes,
            Err(_) => {}
        }
    });
}

pub(crate) unsafe extern "C" fn WdfDeviceInitFree(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
) {
    const DDI: &str = "WdfDeviceInitFree";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if let Some(handle) = init(&cx, DDI, raw_init) {
        let _ = device::free_init(&cx, handle);
    }
}

pub(crate) unsafe extern "C" fn WdfFdoInitSetFilter(
    globals: PWDF_DRIVER_GLOBALS,
    raw_init: PWDFDEVICE_INIT,
) {
    const DDI: &str = "WdfFdoInitSetFilter";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    let Some(handle) = init(&cx, DDI, raw_init) else {
        return;
    };
    if !cx.check_irql(DDI, PASSIVE) {
        return;
    }
    let fdo = device::with_init(&cx, handle, |body| {
        let fdo = matches!(body.kind, InitKind::Fdo { .. });
        if fdo {
            body.filter = true;
        }
        fdo
    });
    if fdo == Some(false) {
        cx.verifier_break(None, "WdfFdoInitSetFilter: the init is not an FDO init");
    }
}

pub(crate) unsafe extern "C" fn WdfDeviceCreate(
    globals: PWDF_DRIVER_GLOBALS,
    device_init: *mut PWDFDEVICE_INIT,
    device_attributes: PWDF_OBJECT_ATTRIBUTES,
    out_device: *mut WDFDEVICE,
) -> NTSTATUS {
    const DDI: &str = "WdfDeviceCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    if !not_null(&cx, DDI, "Device", out_device) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(out_device, core::ptr::null_mut());
    let Some(raw_init) = read(&cx, DDI, "DeviceInit", device_init.cast_const()) else {
        return NtStatus::INVALID_PARAMETER.to_raw();
    };
    let Some(handle) = init(&cx, DDI, raw_init) else {
        return NtStatus::INVALID_PARAMETER.to_raw();
    };
    if !cx.check_irql(DDI, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    let result = attributes(&cx, DDI, device_attributes)
        .and_then(|attributes| device::create(&cx, handle, attributes.as_ref()));
    match result {
        Ok(created) => {
            // The init belongs to the framework now.
            write(device_init, core::ptr::null_mut());
            write(out_device, raw(created));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfControlFinishInitializing(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
) {
    const DDI: &str = "WdfControlFinishInitializing";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if let Some(device) = handle(&cx, DDI, raw_device, Kind::Device)
        && cx.check_irql(DDI, DISPATCH)
    {
        device::finish_control(&cx, device);
    }
}

pub(crate) unsafe extern "C" fn WdfDeviceCreateSymbolicLink(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
    link: PCUNICODE_STRING,
) -> NTSTATUS {
    const DDI: &str = "WdfDeviceCreateSymbolicLink";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let Some(device) = handle(&cx, DDI, raw_device, Kind::Device) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !not_null(&cx, DDI, "SymbolicLinkName", link) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    if !cx.check_irql(DDI, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    match unicode(&cx, DDI, link) {
        Ok(link) => device::create_symbolic_link(&cx, device, &link.unwrap_or_default()).to_raw(),
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfDeviceCreateDeviceInterface(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
    class: *const GUID,
    reference: PCUNICODE_STRING,
) -> NTSTATUS {
    const DDI: &str = "WdfDeviceCreateDeviceInterface";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let Some(device) = handle(&cx, DDI, raw_device, Kind::Device) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    let Some(guid) = read(&cx, DDI, "InterfaceClassGUID", class) else {
        return NtStatus::INVALID_PARAMETER.to_raw();
    };
    if !cx.check_irql(DDI, PASSIVE) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    let reference = match unicode(&cx, DDI, reference) {
        Ok(reference) => reference,
        Err(status) => return status.to_raw(),
    };
    let [a, b, c, d, e, f, g, h] = guid.Data4;
    let class = format!(
        "{{{:08X}-{:04X}-{:04X}-{a:02X}{b:02X}-{c:02X}{d:02X}{e:02X}{f:02X}{g:02X}{h:02X}}}",
        guid.Data1, guid.Data2, guid.Data3
    );
    device::create_device_interface(&cx, device, &class, reference.as_deref()).to_raw()
}

pub(crate) unsafe extern "C" fn WdfDeviceConfigureRequestDispatching(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
    raw_queue: WDFQUEUE,
    request_type: WDF_REQUEST_TYPE,
) -> NTSTATUS {
    const DDI: &str = "WdfDeviceConfigureRequestDispatching";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let (Some(device), Some(queue)) = (
        handle(&cx, DDI, raw_device, Kind::Device),
        handle(&cx, DDI, raw_queue, Kind::Queue),
    ) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    device::configure_request_dispatching(&cx, device, queue, request_type).to_raw()
}

pub(crate) unsafe extern "C" fn WdfDeviceGetIoTarget(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
) -> WDFIOTARGET {
    const DDI: &str = "WdfDeviceGetIoTarget";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    let Some(device) = handle(&cx, DDI, raw_device, Kind::Device) else {
        return core::ptr::null_mut();
    };
    device::io_target(&cx, device).map_or(core::ptr::null_mut(), raw)
}

pub(crate) unsafe extern "C" fn WdfDeviceGetDefaultQueue(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
) -> WDFQUEUE {
    const DDI: &str = "WdfDeviceGetDefaultQueue";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    let Some(device) = handle(&cx, DDI, raw_device, Kind::Device) else {
        return core::ptr::null_mut();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return core::ptr::null_mut();
    }
    let queue = cx
        .lock()
        .objects
        .get(device)
        .and_then(|o| o.device())
        .and_then(|d| d.default_queue);
    queue.map_or(core::ptr::null_mut(), raw)
}

pub(crate) unsafe extern "C" fn WdfDeviceWdmGetDeviceObject(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
) -> PDEVICE_OBJECT {
    const DDI: &str = "WdfDeviceWdmGetDeviceObject";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    let Some(device) = handle(&cx, DDI, raw_device, Kind::Device) else {
        return core::ptr::null_mut();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return core::ptr::null_mut();
    }
    device::wdm_device_object(&cx, device).map_or(core::ptr::null_mut(), |p| p.cast())
}

pub(crate) unsafe extern "C" fn WdfWdmDeviceGetWdfDeviceHandle(
    globals: PWDF_DRIVER_GLOBALS,
    device_object: PDEVICE_OBJECT,
) -> WDFDEVICE {
    const DDI: &str = "WdfWdmDeviceGetWdfDeviceHandle";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return core::ptr::null_mut();
    }
    // The address is only compared, never read: one this framework did not hand out finds no
    // device (KMDF would read whatever is there).
    device::device_of_wdm_object(&cx, device_object as usize).map_or(core::ptr::null_mut(), raw)
}

pub(crate) unsafe extern "C" fn WdfFileObjectGetDevice(
    globals: PWDF_DRIVER_GLOBALS,
    raw_file: crate::ffi::bindings::WDFFILEOBJECT,
) -> WDFDEVICE {
    const DDI: &str = "WdfFileObjectGetDevice";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    let Some(file) = handle(&cx, DDI, raw_file, Kind::FileObject) else {
        return core::ptr::null_mut();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return core::ptr::null_mut();
    }
    let device = cx
        .lock()
        .objects
        .get(file)
        .and_then(|o| o.file())
        .map(|f| f.device);
    device.map_or(core::ptr::null_mut(), raw)
}
