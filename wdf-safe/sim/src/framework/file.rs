//! `FxFileObject` and `FxPkgGeneral`'s create, cleanup and close (shared/core/fxfileobject.cpp,
//! fxfileobjectapi.cpp, shared/irphandlers/general/fxpkggeneral.cpp).
//!
//! With a file-object class other than `WdfFileObjectNotRequired`, each open of the device
//! gets a `WDFFILEOBJECT` (with the attributes of `WdfDeviceInitSetFileObjectConfig`: its
//! context and callbacks) when its `IRP_MJ_CREATE` arrives, before the create goes to a create
//! queue, to `EvtDeviceFileCreate` (with a create request the driver completes), or is
//! completed (or passed down, by a filter) by the framework. `EvtFileCleanup` and
//! `EvtFileClose` get that object, which is deleted after close (its cleanup and destroy
//! callbacks run then); a create that fails deletes it at once. `WdfRequestGetFileObject`
//! finds it from a request's IRP.
//!
//! A create that fails (whoever completes it: the driver, now or later, or the framework) takes
//! its file object with it, from within the completion, as `FxPkgGeneral::CreateCompleted`
//! does.
//!
//! Simplified: `WdfRequestGetIoQueue` on the create request of `EvtDeviceFileCreate` finds no
//! queue (KMDF returns its internal create queue, `m_DefaultQueueForCreates`).

use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceId, FileObject, IrpId, major};

use super::device::Routing;
use super::objects::{Body, Handle, Object};
use super::{Cx, io, lifecycle, queue, request};
use crate::ffi::callbacks;

/// `FxFileObject`: which open it stands for, on which device.
pub(crate) struct FileBody {
    /// The I/O manager's file object (none for the temporary object of a device without file
    /// objects whose close had none).
    pub(crate) file: Option<FileObject>,
    pub(crate) device: Handle,
}

/// The `WDFFILEOBJECT` of the open `file` on `device`, if the framework made one.
pub(crate) fn find(cx: &Cx, device: Handle, file: FileObject) -> Option<Handle> {
    let state = cx.lock();
    state
        .objects
        .of_image(cx.image.id)
        .find(|(_, object)| {
            object
                .file()
                .is_some_and(|f| f.device == device && f.file == Some(file))
        })
        .map(|(handle, _)| handle)
}

/// `FxPkgGeneral::OnCreate`: the file object first (when the device has file objects), then
/// the create queue, `EvtDeviceFileCreate`, or the framework's own answer (a filter passes the
/// create down, any other device succeeds it).
pub(crate) fn create(
    cx: &Cx,
    device: Handle,
    routing: &Routing,
    wdm: DeviceId,
    irp: IrpId,
    create_queue: Option<Handle>,
) -> NtStatus {
    let file = if routing.file.has_file_objects() {
        let Some(file) = cx.kernel.file_object(irp) else {
            return io::complete(cx, irp, NtStatus::INVALID_DEVICE_REQUEST);
        };
        let body = Body::FileObject(FileBody {
            file: Some(file),
            device,
        });
        match lifecycle::create_object(cx, Some(device), routing.file.attributes.as_ref(), body) {
            Ok(handle) => Some(handle),
            Err(status) => return io::complete(cx, irp, status),
        }
    } else {
        None
    };
    if let Some(queue) = create_queue {
        return io::queue_irp(cx, device, wdm, irp, queue);
    }
    if let Some(callback) = routing.file.create {
        let Some(file) = file else {
            // KMDF refuses EvtDeviceFileCreate with WdfFileObjectNotRequired at
            // WdfDeviceInitSetFileObjectConfig; a driver that gets here has neither.
            return io::complete(cx, irp, NtStatus::INVALID_DEVICE_REQUEST);
        };
        let request = match request::new_request(cx, device, wdm, irp) {
            Ok(request) => request,
            Err(status) => {
                lifecycle::delete_object(cx, file, "a failed create");
                return io::complete(cx, irp, status);
            }
        };
        cx.kernel.mark_pending(irp);
        request::hand_to_driver(cx, request);
        // The driver completes the create; a failure deletes the file object then (in the
        // completion, `request::complete`).
        callbacks::evt_device_file_create(Some(callback), device, request, file);
        return NtStatus::PENDING.status();
    }
    match routing.lower {
        Some(lower) if routing.auto_forward => io::forward(cx, irp, lower),
        _ => io::complete(cx, irp, NtStatus::SUCCESS),
    }
}

/// `FxPkgGeneral::OnCleanup` / `OnClose`: `EvtFileCleanup` / `EvtFileClose` with the open's
/// file object (after close the object is deleted); a cleanup then flushes the device's queues
/// of what came through that handle; then down the stack or completed.
pub(crate) fn cleanup_or_close(
    cx: &Cx,
    device: Handle,
    routing: &Routing,
    irp: IrpId,
    major: u8,
) -> NtStatus {
    let close = major == major::CLOSE;
    let callback = if close {
        routing.file.close
    } else {
        routing.file.cleanup
    };
    let opened = cx.kernel.file_object(irp);
    let file = opened.and_then(|f| find(cx, device, f));
    match file {
        Some(file) => {
            callbacks::evt_file(callback, file);
            if close {
                lifecycle::delete_object(cx, file, "close");
            }
        }
        // Without a file object KMDF still calls the callbacks, with NULL.
        None => callbacks::evt_file_null(callback),
    }
    if !close && let Some(opened) = opened {
        queue::flush_by_file_object(cx, device, opened);
    }
    match routing.lower {
        Some(lower) if routing.auto_forward => io::forward(cx, irp, lower),
        _ => io::complete(cx, irp, NtStatus::SUCCESS),
    }
}

/// `WdfRequestGetFileObject`: the file object of the request's open, `None` when the device
/// has none (no file-object class: SDV FileObjectConfigured, reported by the caller).
pub(crate) fn of_request(cx: &Cx, request: Handle) -> Result<Option<Handle>, ()> {
    let (irp, device) = {
        let state = cx.lock();
        let Some(r) = state.objects.get(request).and_then(Object::request) else {
            return Ok(None);
        };
        let device = r.device;
        let class_set = state
            .objects
            .get(device)
            .and_then(Object::device)
            .is_some_and(|d| d.file.has_file_objects());
        if !class_set {
            return Err(());
        }
        (r.irp, device)
    };
    Ok(cx
        .kernel
        .file_object(irp)
        .and_then(|file| find(cx, device, file)))
}
