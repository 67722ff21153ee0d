//! IOCTLs a driver sends with requests and memory objects of its own, as C drivers ask the
//! device below something without a request to forward: `WdfRequestCreate`, a format with
//! `WDFMEMORY` buffers, a completion routine, `WdfRequestSend`.
//!
//! | DDI | IRQL | used by |
//! |---|---|---|
//! | `WdfDeviceGetIoTarget`, `WdfRequestCreate` | ≤ DISPATCH | [`DeviceHandle::send_ioctl`] |
//! | `WdfIoTargetFormatRequestForIoctl`, `…ForInternalIoctl` | ≤ DISPATCH | the same |
//! | `WdfRequestSetCompletionRoutine`, `WdfRequestSend`, `WdfRequestGetStatus` | ≤ DISPATCH | the same |
//! | `WdfObjectDelete` (the request) | ≤ DISPATCH | the completion routine, a send that failed |
//!
//! The request carries, in a context of its own, the driver's callback, the device, and the
//! memory objects (the crate's handles, so no one else can reach their bytes while the target
//! may write them). Exactly one of two paths takes them out again: the completion routine, when
//! `WdfRequestSend` accepted the request (KMDF then calls it once), or the failed send itself.
//! The request's cleanup callback drops whatever is still there, so nothing leaks even if the
//! request goes some other way (its parent's deletion). The request is deleted by the crate
//! as soon as it is back.
//!
//! The device cannot go while the request is at its target: the request is sent to the
//! device's own default target, which KMDF empties before the device is removed
//! (`FxIoTarget::Remove`, from the target's dispose, cancels sent I/O and waits for it), so the
//! device handle in the context is good when the completion routine runs. The request itself
//! is parented to the driver, so nothing but the crate deletes it.
//!
//! When the device below completes the request before `WdfRequestSend` returns, the completion
//! routine, and the driver's callback, run on the sender's stack: a callback that sends again
//! to a device that always answers at once recurses (the driver should send again from a work
//! item or timer).

use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use super::device::DeviceHandle;
use super::driver::driver_of_type;
use super::memory::{MemoryHandle, parented};
use super::wdk_sys::{
    self, PWDF_REQUEST_COMPLETION_PARAMS, WDF_OBJECT_CONTEXT_TYPE_INFO, WDFCONTEXT, WDFIOTARGET,
    WDFOBJECT, WDFREQUEST, call_unsafe_wdf_function_binding,
};
use super::{TypeInfo, context_of, guarded};
use crate::sys::{DriverCallbacks, IoctlCallback, IoctlOutcome};
use wdm_compat::NtStatus;

/// The context type of a sent IOCTL's request; its size is set per callback type
/// (`ContextSizeOverride`).
static SENT_IOCTL: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"WdfSafeSentIoctl".as_ptr(),
    ContextSize: size_of::<*const c_void>(),
    UniqueType: &raw const SENT_IOCTL.0,
    EvtDriverGetUniqueContextType: None,
});

/// What the request carries while it is out.
struct InFlight<D: DriverCallbacks, C> {
    callback: C,
    device: DeviceHandle<D>,
    input: Option<MemoryHandle>,
    output: Option<MemoryHandle>,
}

/// The request's context: `full` (false in the framework's zeroed memory) says whether `value`
/// holds an [`InFlight`]; taking it is one atomic swap, so the value is read out once whoever
/// takes it.
#[repr(C)]
struct Slot<D: DriverCallbacks, C> {
    full: AtomicBool,
    value: MaybeUninit<InFlight<D, C>>,
}

/// The slot of `request`, a request this module created with [`SENT_IOCTL`] sized for
/// `Slot<D, C>`; null when the framework has none.
fn slot_of<D: DriverCallbacks, C>(request: WDFREQUEST) -> *mut Slot<D, C> {
    context_of(request.cast(), &SENT_IOCTL).cast()
}

/// Takes the in-flight state out of `request`'s slot, once.
///
/// # Safety
///
/// `request` is a live request this module created for `D` and `C` (its slot is a
/// `Slot<D, C>`), and no other thread uses the slot now (the send path before `WdfRequestSend`
/// or after it failed; the completion routine; the cleanup callback).
unsafe fn take<D: DriverCallbacks, C>(request: WDFREQUEST) -> Option<InFlight<D, C>> {
    // SAFETY: per the contract, the slot is a `Slot<D, C>` in context memory KMDF aligned to
    // 16 bytes (checked at compile time in `send_ioctl`) and zeroed, so `full` is valid.
    let slot = unsafe { slot_of::<D, C>(request).as_ref() }?;
    if !slot.full.swap(false, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: `full` said the value was written and not yet taken, and this swap cleared it,
    // so the value is read out once; the value is not otherwise borrowed.
    Some(unsafe { slot.value.as_ptr().read() })
}

/// `WdfObjectDelete` of a request this module created.
fn delete(request: WDFREQUEST) {
    // SAFETY: a request the crate created and nobody else holds; it is not at its target
    // (never sent, or back in its completion routine).
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, request.cast()) };
}

/// Why a send did not happen, with the memory back.
pub(crate) type NotSent = (NtStatus, Option<MemoryHandle>, Option<MemoryHandle>);

impl<D: DriverCallbacks> DeviceHandle<D> {
    /// `WdfRequestCreate` (parented to the driver, for the device's default target) +
    /// `WdfIoTargetFormatRequestForIoctl` (or `…ForInternalIoctl` when `internal`) with
    /// `input` and `output` + `WdfRequestSetCompletionRoutine` + `WdfRequestSend`: `callback`
    /// gets the outcome and the memory when the target completes the request. `Err` when it
    /// was not sent, with why and the memory.
    pub(crate) fn send_ioctl<C: IoctlCallback<D>>(
        self,
        internal: bool,
        code: u32,
        input: Option<MemoryHandle>,
        output: Option<MemoryHandle>,
        callback: C,
    ) -> Result<(), NotSent> {
        const {
            assert!(
                align_of::<Slot<D, C>>() <= 16,
                "KMDF aligns context memory to 16 bytes"
            );
        }
        // An internal METHOD_NEITHER IOCTL hands the driver below kernel addresses to read as
        // structures (the reason synchronous sends refuse it too).
        if internal && code & 3 == 3 {
            return Err((NtStatus::INVALID_PARAMETER, input, output));
        }
        let Some(held) = self.held_device() else {
            return Err((NtStatus::INVALID_DEVICE_STATE, input, output));
        };
        // SAFETY: a device held by a reference for the call.
        let target = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetIoTarget, held.raw()) };
        if target.is_null() {
            return Err((NtStatus::INVALID_DEVICE_STATE, input, output));
        }
        // Parented to the driver (no `ParentObject`), not the device: only the crate deletes
        // the request, so a device deleted by another thread while this one is between
        // `WdfRequestCreate` and `WdfRequestSend` cannot free it under the send path (or run
        // its cleanup concurrently with it). A request sent is drained by the target's removal.
        let mut attributes = parented(ptr::null_mut());
        attributes.ContextTypeInfo = &raw const SENT_IOCTL.0;
        attributes.ContextSizeOverride = size_of::<Slot<D, C>>();
        attributes.EvtCleanupCallback = Some(evt_sent_ioctl_cleanup::<D, C>);
        let mut request: WDFREQUEST = ptr::null_mut();
        // SAFETY: the attributes are read during the call (no parent: the driver); the target is
        // the held device's default target; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestCreate,
                &mut attributes,
                target,
                &mut request
            )
        };
        if let Err(status) = NtStatus::from_raw(status).ok() {
            return Err((status, input, output));
        }
        if request.is_null() {
            return Err((NtStatus::INSUFFICIENT_RESOURCES, input, output));
        }
        let raw_input = input.as_ref().map_or(ptr::null_mut(), MemoryHandle::raw);
        let raw_output = output.as_ref().map_or(ptr::null_mut(), MemoryHandle::raw);
        // SAFETY: the request was just created with a context of this type and size; only this
        // thread knows it yet.
        let Some(slot) = (unsafe { slot_of::<D, C>(request).as_mut() }) else {
            delete(request);
            return Err((NtStatus::INSUFFICIENT_RESOURCES, input, output));
        };
        slot.value.write(InFlight {
            callback,
            device: self,
            input,
            output,
        });
        slot.full.store(true, Ordering::Release);
        let not_sent = |status: NtStatus| {
            // SAFETY: the request is this module's, for `D` and `C`, and was not sent.
            let taken = unsafe { take::<D, C>(request) };
            delete(request);
            let (input, output) = taken.map_or((None, None), |t| (t.input, t.output));
            Err((status, input, output))
        };
        // The request is the crate's and not sent; the target is the held device's default
        // target; the memory objects are referenced by the handles in the request's context,
        // which nobody else can reach until the completion routine; no offsets: the whole
        // buffers.
        let status = if internal {
            // SAFETY: as just said.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfIoTargetFormatRequestForInternalIoctl,
                    target,
                    request,
                    code,
                    raw_input,
                    ptr::null_mut(),
                    raw_output,
                    ptr::null_mut()
                )
            }
        } else {
            // SAFETY: as just said.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfIoTargetFormatRequestForIoctl,
                    target,
                    request,
                    code,
                    raw_input,
                    ptr::null_mut(),
                    raw_output,
                    ptr::null_mut()
                )
            }
        };
        if let Err(status) = NtStatus::from_raw(status).ok() {
            return not_sent(status);
        }
        // SAFETY: the crate's formatted request; the routine reads the context it was made
        // with and needs no context pointer.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSetCompletionRoutine,
                request,
                Some(evt_sent_ioctl_completed::<D, C>),
                ptr::null_mut()
            );
        }
        // SAFETY: as above; without options the send is asynchronous, and on TRUE the
        // completion routine runs once, now or later.
        let sent = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSend,
                request,
                target,
                wdk_sys::WDF_NO_SEND_OPTIONS.cast()
            )
        };
        if sent != 0 {
            return Ok(());
        }
        // SAFETY: the crate's request, not sent.
        let status = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetStatus, request) };
        not_sent(NtStatus::from_raw(status))
    }
}

/// `EvtRequestCompletionRoutine` of a sent IOCTL: the request is deleted, then the driver's
/// callback gets the outcome and the memory.
unsafe extern "C" fn evt_sent_ioctl_completed<D: DriverCallbacks, C: IoctlCallback<D>>(
    request: WDFREQUEST,
    _target: WDFIOTARGET,
    params: PWDF_REQUEST_COMPLETION_PARAMS,
    _context: WDFCONTEXT,
) {
    guarded((), || {
        if request.is_null() {
            return;
        }
        // SAFETY: the routine was set on a request `send_ioctl::<C>` created for `D`; KMDF
        // calls it once, when the target completed it, and no other path uses the slot then.
        let taken = unsafe { take::<D, C>(request) };
        // SAFETY: KMDF passes the completion parameters of this request, valid for the call
        // (checked for NULL).
        let (status, information) = match unsafe { params.as_ref() } {
            Some(params) => (
                // SAFETY: `Status` is the member of `IoStatus`'s union a completed IRP carries.
                NtStatus::from_raw(unsafe { params.IoStatus.__bindgen_anon_1.Status }),
                usize::try_from(params.IoStatus.Information).unwrap_or(usize::MAX),
            ),
            None => (NtStatus::UNSUCCESSFUL, 0),
        };
        delete(request);
        let Some(taken) = taken else {
            return;
        };
        if let Some(driver) = driver_of_type::<D>() {
            taken.callback.completed(
                driver,
                taken.device,
                IoctlOutcome {
                    status,
                    information,
                    input: taken.input,
                    output: taken.output,
                },
            );
        }
    });
}

/// The request's `EvtCleanupCallback`: drops what it still carries (nothing, on both usual
/// paths).
unsafe extern "C" fn evt_sent_ioctl_cleanup<D: DriverCallbacks, C: IoctlCallback<D>>(
    object: WDFOBJECT,
) {
    guarded((), || {
        // SAFETY: registered only on requests `send_ioctl::<C>` created for `D`; KMDF runs
        // cleanup once, after the completion routine and the send path are done with it.
        drop(unsafe { take::<D, C>(object.cast()) });
    });
}
