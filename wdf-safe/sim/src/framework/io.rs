//! `FxDevice::DispatchWithLock`: where an IRP that reaches a framework device goes
//! (`GetDispatchPackage`, shared/inc/private/common/fxdevice.hpp).
//!
//! * create, cleanup and close: `FxPkgGeneral` (shared/irphandlers/general/fxpkggeneral.cpp,
//!   [`file`](super::file));
//! * read, write, device controls: `FxPkgIo` (shared/irphandlers/io/fxpkgio.cpp) — to the queue
//!   configured for the type, else the default queue; with none, a filter passes the IRP down
//!   and any other device fails it with `STATUS_INVALID_DEVICE_REQUEST`;
//! * PnP and power: `FxPkgPnp` ([`pnp`](super::pnp));
//! * everything else: `FxDefaultIrpHandler` (passed down by a filter, else failed).

use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceId, IrpId, major};

use super::device::{self, Routing};
use super::objects::Handle;
use super::{Cx, file, pnp, queue, request};
use crate::ffi::bindings::_WDF_REQUEST_TYPE as RequestType;

/// `IRP_MJ_SHUTDOWN`.
const SHUTDOWN: u8 = 0x10;

/// Routes one IRP; returns what the dispatch routine returns.
pub(crate) fn dispatch(cx: &Cx, wdm: DeviceId, irp: IrpId) -> NtStatus {
    let major = cx.kernel.major(irp);
    let Some((device, routing)) = device::routing(cx, wdm) else {
        return complete(cx, irp, NtStatus::INVALID_DEVICE_REQUEST);
    };
    match major {
        major::CREATE => create(cx, device, &routing, wdm, irp),
        major::CLEANUP | major::CLOSE => file::cleanup_or_close(cx, device, &routing, irp, major),
        major::READ | major::WRITE | major::DEVICE_CONTROL | major::INTERNAL_DEVICE_CONTROL => {
            io(cx, device, &routing, wdm, irp, major)
        }
        major::PNP if !routing.control => pnp::dispatch_pnp(cx, device, &routing, irp),
        major::POWER if !routing.control => pnp::dispatch_power(cx, device, &routing, irp),
        SHUTDOWN if !routing.filter => complete(cx, irp, NtStatus::SUCCESS),
        _ => forward_or_fail(cx, &routing, irp, routing.filter),
    }
}

pub(crate) fn complete(cx: &Cx, irp: IrpId, status: NtStatus) -> NtStatus {
    cx.kernel.complete(irp, status, 0);
    status
}

/// `IoSkipCurrentIrpStackLocation` + `IoCallDriver` to the device below.
pub(crate) fn forward(cx: &Cx, irp: IrpId, lower: DeviceId) -> NtStatus {
    cx.kernel.skip_current_location(irp);
    cx.kernel.call_driver(irp, lower)
}

/// Sends the IRP down and waits for the device below to complete it: a completion routine
/// that signals and returns `STATUS_MORE_PROCESSING_REQUIRED`, so the IRP is this driver's
/// again afterwards (`SendIrpSynchronously`). Returns the lower drivers' status.
pub(crate) fn send_synchronously(cx: &Cx, irp: IrpId, lower: DeviceId) -> NtStatus {
    let (signal, completed) = std::sync::mpsc::channel::<()>();
    cx.kernel.copy_current_location_to_next(irp);
    cx.kernel
        .set_completion_routine(irp, move |_k, _device, _irp| {
            let _ = signal.send(());
            NtStatus::MORE_PROCESSING_REQUIRED
        });
    let _returned = cx.kernel.call_driver(irp, lower);
    // The routine runs once, now or when a lower driver completes the IRP later.
    let _ = completed.recv();
    cx.kernel.status(irp)
}

/// Passes the IRP down when `pass` and there is a device below, else fails it.
fn forward_or_fail(cx: &Cx, routing: &Routing, irp: IrpId, pass: bool) -> NtStatus {
    match routing.lower {
        Some(lower) if pass => forward(cx, irp, lower),
        _ => complete(cx, irp, NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// A request for the IRP, handed to `queue` (`STATUS_PENDING`: the framework pended the IRP).
pub(crate) fn queue_irp(
    cx: &Cx,
    device: Handle,
    wdm: DeviceId,
    irp: IrpId,
    queue: Handle,
) -> NtStatus {
    match request::new_request(cx, device, wdm, irp) {
        Ok(request) => {
            cx.kernel.mark_pending(irp);
            queue::queue_request(cx, queue, request);
            NtStatus::PENDING.status()
        }
        Err(status) => complete(cx, irp, status),
    }
}

/// `FxPkgGeneral::OnCreate` ([`file::create`]).
fn create(cx: &Cx, device: Handle, routing: &Routing, wdm: DeviceId, irp: IrpId) -> NtStatus {
    let create_queue = queue_for(cx, device, RequestType::WdfRequestTypeCreate);
    file::create(cx, device, routing, wdm, irp, create_queue)
}

fn queue_for(cx: &Cx, device: Handle, request_type: i32) -> Option<Handle> {
    cx.lock()
        .objects
        .get(device)
        .and_then(|o| o.device())
        .and_then(|d| d.queue_for(request_type))
}

/// `FxPkgIo::DispatchStep1`.
fn io(
    cx: &Cx,
    device: Handle,
    routing: &Routing,
    wdm: DeviceId,
    irp: IrpId,
    major: u8,
) -> NtStatus {
    let request_type = request::request_type_of(major);
    let Some(queue) = queue_for(cx, device, request_type) else {
        return forward_or_fail(cx, routing, irp, routing.filter);
    };
    if routing.filter {
        // A filter's default queue without a callback for the type passes the IRP down.
        let state = cx.lock();
        let unhandled = state
            .objects
            .get(device)
            .and_then(|o| o.device())
            .is_some_and(|d| d.default_queue == Some(queue))
            && state
                .objects
                .get(queue)
                .and_then(|o| o.queue())
                .is_some_and(|q| !q.handles(request_type));
        drop(state);
        if unhandled {
            return forward_or_fail(cx, routing, irp, true);
        }
    }
    queue_irp(cx, device, wdm, irp, queue)
}
