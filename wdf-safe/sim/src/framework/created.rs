//! Requests the driver creates (`WdfRequestCreate`) and formats for an I/O target with memory
//! objects (`WdfIoTargetFormatRequestForIoctl`, `…ForInternalIoctl`): shared/core/fxrequest.cpp
//! (`FxRequest::_Create`), fxrequestbase.cpp (`ValidateTarget`, `VerifyDispose`, the
//! destructor), shared/targets/general/km/fxiotargetkm.cpp (`FormatIoctlRequest`) and
//! shared/inc/private/km/fxiotargetkm.hpp (`FxIoContext::CopyParameters`).
//!
//! * The request owns an IRP of its own, allocated for the target's stack at creation
//!   (`REQUEST_ALLOCATED_INTERNAL`) and freed with the request. Formatting fills the IRP's
//!   first stack location; the simulation allocates a fresh IRP for each format, which no
//!   driver can tell apart (the IRP is never lent out).
//! * Formatting references the memory objects (`StoreAndReferenceMemory`) until the request is
//!   formatted again or freed. A buffered IOCTL's input is copied into a system buffer when it
//!   is formatted, and the `Information` bytes the target returned are copied back into the
//!   output memory when it completes (`m_CopyBackToBuffer`); with direct I/O the target writes
//!   the output memory's own pages (the simulation copies them back at completion).
//! * The completion routine's parameters name both memory objects, and `Output.Length` is the
//!   `Information` the target returned.
//! * Deleting a request that is still at its target is a verifier break
//!   (`FxRequestBase::VerifyDispose`), after which the deletion goes on, as in KMDF: freeing
//!   the IRP the device below still holds is then reported by the simulated I/O manager.
//! * A removed device's default target cancels what was sent to it and waits for it
//!   (`FxIoTarget::Remove`, from the target's `Dispose`, shared/targets/general/fxiotarget.cpp),
//!   so every completion routine has run before the device's objects go.

use wdm_compat::NtStatus;
use wdm_compat::host::IrpId;

use super::Cx;
use super::lifecycle::{self, Attributes};
use super::objects::{Body, Handle, Object};
use super::request::{Method, Owner, Parameters, RequestBody, StopState, with_request};
use crate::ffi::bindings::_WDF_REQUEST_TYPE as RequestType;
use crate::ffi::memory::{Block, DriverPointer};

/// What a driver-created request holds beyond a framework request: the memory objects it was
/// last formatted with (each referenced by it).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Created {
    pub(crate) input: Option<Handle>,
    pub(crate) output: Option<Handle>,
}

/// The device below `target`, and the device the target belongs to.
fn target_of(cx: &Cx, target: Handle) -> Option<(wdm_compat::host::DeviceId, Handle)> {
    let state = cx.lock();
    let object = state.objects.get(target)?;
    Some((object.target()?.lower, object.parent?))
}

/// `WdfRequestCreate` with `target` (validated by the entry): a request under `parent` (the
/// driver when none, `FxObject::Commit`'s default), with an IRP for the target's stack.
pub(crate) fn create(
    cx: &Cx,
    parent: Option<Handle>,
    attributes: Option<&Attributes>,
    target: Handle,
) -> Result<Handle, NtStatus> {
    let (lower, device) = target_of(cx, target).ok_or(NtStatus::INVALID_DEVICE_STATE)?;
    let irp = cx.kernel.allocate_ioctl_irp(lower, false, 0, &[], 0);
    let (Some(system), Some(mdl)) = (Block::zeroed(0), Block::zeroed(0)) else {
        let _ = cx.kernel.free_irp(irp);
        return Err(NtStatus::INSUFFICIENT_RESOURCES);
    };
    let body = Body::Request(RequestBody {
        irp,
        device,
        request_type: RequestType::WdfRequestTypeNoFormat,
        minor: 0,
        parameters: Parameters::default(),
        user_mode: false,
        method: Method::Buffered,
        system,
        mdl,
        information: 0,
        status: NtStatus::SUCCESS,
        owner: Owner::Driver(std::thread::current().id()),
        queue: None,
        presented: false,
        cancel: None,
        canceled: false,
        stop: StopState::None,
        in_evt_io_stop: false,
        completion: None,
        completion_context: DriverPointer::default(),
        formatted: false,
        created: Some(Created::default()),
    });
    let parent = parent.or_else(|| cx.image.driver());
    let created = lifecycle::create_object(cx, parent, attributes, body);
    if created.is_err() {
        let _ = cx.kernel.free_irp(irp);
    }
    created
}

/// A copy of a memory object's bytes (none for no memory object).
fn memory_bytes(cx: &Cx, memory: Option<Handle>) -> Result<Vec<u8>, NtStatus> {
    memory.map_or(Ok(Vec::new()), |memory| {
        super::lookaside::read_memory(cx, memory).ok_or(NtStatus::INVALID_HANDLE)
    })
}

/// `WdfIoTargetFormatRequestForIoctl` / `…ForInternalIoctl` (validated by the entry): the
/// request's next stack location becomes an IOCTL `code` to `target` with `input`'s bytes and
/// room for `output`'s. Only requests the driver created are modelled (`NOT_SUPPORTED`, with
/// a break, for one a queue presented); a request at its target cannot be formatted.
pub(crate) fn format_for_ioctl(
    cx: &Cx,
    target: Handle,
    request: Handle,
    internal: bool,
    code: u32,
    input: Option<Handle>,
    output: Option<Handle>,
) -> NtStatus {
    let ddi = if internal {
        "WdfIoTargetFormatRequestForInternalIoctl"
    } else {
        "WdfIoTargetFormatRequestForIoctl"
    };
    let Some((created, owner)) = with_request(cx, request, |r| (r.created, r.owner)) else {
        return NtStatus::INVALID_HANDLE;
    };
    if created.is_none() {
        cx.verifier_break(
            None,
            &format!(
                "{ddi}: formatting a request a queue presented is not modelled by the simulated \
                 framework (create one with WdfRequestCreate)"
            ),
        );
        return NtStatus::NOT_SUPPORTED;
    }
    if owner == Owner::Sent {
        cx.verifier_break(
            None,
            &format!("{ddi}: the request is still at its I/O target"),
        );
        return NtStatus::INVALID_DEVICE_REQUEST;
    }
    let Some((lower, _)) = target_of(cx, target) else {
        return NtStatus::INVALID_DEVICE_STATE;
    };
    let (input_bytes, output_length) = match (memory_bytes(cx, input), memory_bytes(cx, output)) {
        (Ok(input), Ok(output)) => (input, output.len()),
        (Err(status), _) | (_, Err(status)) => return status,
    };
    let input_length = input_bytes.len();
    let k = &cx.kernel;
    let irp = k.allocate_ioctl_irp(lower, internal, code, &input_bytes, output_length);
    let (Some(system), Some(mdl)) = (
        Block::from_bytes(&k.system_buffer(irp)),
        Block::from_bytes(&k.mdl_buffer(irp)),
    ) else {
        let _ = k.free_irp(irp);
        return NtStatus::INSUFFICIENT_RESOURCES;
    };
    for memory in [input, output].into_iter().flatten() {
        lifecycle::reference(cx, memory);
    }
    let replaced = with_request(cx, request, |r| {
        let old = (r.irp, r.created);
        r.irp = irp;
        r.created = Some(Created { input, output });
        r.request_type = if internal {
            RequestType::WdfRequestTypeDeviceControlInternal
        } else {
            RequestType::WdfRequestTypeDeviceControl
        };
        r.parameters = Parameters {
            input_length,
            output_length,
            code,
            ..Parameters::default()
        };
        r.method = match code & 3 {
            0 => Method::Buffered,
            3 => Method::Neither,
            _ => Method::Direct,
        };
        r.system = system;
        r.mdl = mdl;
        r.information = 0;
        r.status = NtStatus::SUCCESS;
        r.formatted = true;
        old
    });
    if let Some((old_irp, old)) = replaced {
        released(cx, old_irp, old.unwrap_or_default());
    }
    NtStatus::SUCCESS
}

/// A sent created request came back: what the target returned goes into the output memory
/// (`Information` bytes of a buffered IOCTL's system buffer; a direct one's pages), as
/// `FxIoContext::CopyParameters` does before the completion routine runs. Returns the memory
/// objects, for the completion parameters; `None` for a request the driver did not create.
pub(crate) fn copy_back(cx: &Cx, request: Handle, information: usize) -> Option<Created> {
    let found = with_request(cx, request, |r| {
        let returned = match r.method {
            // `Information` bytes whatever the status, as `CopyParameters` copies them. More
            // than the output holds would overrun it on Windows; the I/O manager's side has
            // reported that completion already (Driver Verifier 0x312), and the copy stops at
            // the output's end.
            Method::Buffered => {
                let mut bytes = r.system.to_vec();
                bytes.truncate(information.min(r.parameters.output_length));
                bytes
            }
            Method::Direct => r.mdl.to_vec(),
            // The device below writes a METHOD_NEITHER output in place; the simulated I/O
            // manager does not model those bytes (its `UserBuffer` is an address only).
            Method::Neither => Vec::new(),
        };
        (r.created, returned)
    });
    let Some((Some(created), returned)) = found else {
        return None;
    };
    if let Some(output) = created.output {
        super::lookaside::write_memory(cx, output, &returned);
    }
    Some(created)
}

/// `FxRequestBase::VerifyDispose`: a driver-created request still at its target is a verifier
/// break (the deletion goes on). Returns whether it was reported.
pub(crate) fn verify_dispose(cx: &Cx, request: Handle) -> bool {
    let sent = cx
        .lock()
        .objects
        .get(request)
        .and_then(Object::request)
        .is_some_and(|r| r.created.is_some() && r.owner == Owner::Sent);
    if sent {
        cx.verifier_break(
            None,
            "WdfObjectDelete: the driver is deleting a WDFREQUEST while it is still active on \
             its WDFIOTARGET",
        );
    }
    sent
}

/// The request is freed: its IRP goes (`IoFreeIrp`, from its completion routine too), and so
/// do its references on the memory objects it was formatted with.
pub(crate) fn released(cx: &Cx, irp: IrpId, created: Created) {
    let _ = cx.kernel.free_irp(irp);
    for memory in [created.input, created.output].into_iter().flatten() {
        lifecycle::dereference(cx, memory);
    }
}

/// How long the removal of a device's target waits for sent requests before the simulation
/// reports them (KMDF waits for ever).
const REMOVE_WAIT: core::time::Duration = core::time::Duration::from_secs(10);

/// The IRPs of the requests `device` has at its target.
fn sent_of(cx: &Cx, device: Handle) -> Vec<IrpId> {
    let state = cx.lock();
    state
        .objects
        .of_image(cx.image.id)
        .filter_map(|(_, object)| object.request())
        .filter(|r| r.device == device && r.owner == Owner::Sent)
        .map(|r| r.irp)
        .collect()
}

/// `FxIoTarget::Remove` of `device`'s default target, as the device is deleted: each request
/// sent to it is cancelled (`_CancelSentRequests`), and the removal waits until their
/// completion routines have run (`WaitForSentIoToComplete`). A target that never completes
/// one is reported once the simulation stops waiting.
pub(crate) fn remove_target(cx: &Cx, device: Handle) {
    for irp in sent_of(cx, device) {
        let _ = cx.kernel.cancel(irp);
    }
    let deadline = std::time::Instant::now() + REMOVE_WAIT;
    while !sent_of(cx, device).is_empty() {
        if std::time::Instant::now() > deadline {
            cx.verifier_break(
                None,
                "the device's I/O target is being removed, but the device below never \
                 completed a request sent to it, even cancelled (KMDF would wait for ever)",
            );
            return;
        }
        std::thread::yield_now();
    }
}
