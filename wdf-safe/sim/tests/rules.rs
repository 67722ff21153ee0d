//! SDV rules the simulated framework's verifier reports by name, each provoked by a driver
//! written the C way (raw calls through the function table), which is how a driver gets past
//! the types of `wdf-safe` that make these mistakes compile errors. What KMDF itself does in
//! each case is cited on the check (`src/framework/request.rs`, `queue.rs`); the verifier
//! breaks here are what KMDF's verifier breaks into the debugger for, with the rule named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

#[allow(dead_code, reason = "each test binary uses a part of it")]
mod common;

use core::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

use common::{
    control_device, create_driver, create_queue, finish_initializing, parallel_default_queue,
    symbolic_link,
};
use kmdf_sim::bindings::{
    _WDF_IO_QUEUE_DISPATCH_TYPE as Dispatch, NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT,
    PFN_WDF_IO_QUEUE_IO_READ, WDF_IO_QUEUE_CONFIG, WDFQUEUE, WDFREQUEST,
    call_unsafe_wdf_function_binding,
};
use wdm_compat::host::{IoManager, Violation};
use wdm_compat::{NtStatus, kd_print};

/// The manual queue the forwarding test's read callback forwards to; only that test's driver
/// creates it.
static PARKING: AtomicPtr<kmdf_sim::bindings::WDFQUEUE__> = AtomicPtr::new(null_mut());

/// What a C driver's `DriverEntry` does: a non-PnP driver, a control device `\Device\<name>`
/// with a link, a parallel default queue whose `EvtIoRead` is `read`, and, when `parking` is
/// given, a manual queue stored there.
fn raw_driver(
    object: PDRIVER_OBJECT,
    path: PCUNICODE_STRING,
    name: &str,
    read: PFN_WDF_IO_QUEUE_IO_READ,
    parking: Option<&AtomicPtr<kmdf_sim::bindings::WDFQUEUE__>>,
) -> NTSTATUS {
    let driver = create_driver(object, path);
    let device = control_device(driver, name, false);
    symbolic_link(device, name);
    let _reads = parallel_default_queue(device, read);
    if let Some(slot) = parking {
        let mut config = WDF_IO_QUEUE_CONFIG {
            Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
            DispatchType: Dispatch::WdfIoQueueDispatchManual,
            ..WDF_IO_QUEUE_CONFIG::default()
        };
        let (status, manual) = create_queue(device, &mut config);
        assert_eq!(status, 0);
        slot.store(manual, Ordering::SeqCst);
    }
    finish_initializing(device);
    0
}

/// Loads the driver into a recording simulation, sends one read of 4 bytes through its device
/// and returns the read's status and what the verifier reported.
fn read_once(name: &str, entry: kmdf_sim::ImageEntry) -> (IoManager, NtStatus, Vec<Violation>) {
    let io = IoManager::new();
    io.set_strict(false);
    io.load_driver(name, kmdf_sim::entry_point(entry)).unwrap();
    assert!(io.take_violations().is_empty());
    let handle = io.open(&format!(r"\\.\{name}")).unwrap();
    let status = handle.read(4).status;
    drop(handle);
    let reports = io.take_violations();
    (io, status, reports)
}

fn rules(reports: &[Violation]) -> Vec<&'static str> {
    reports.iter().filter_map(|v| v.rule).collect()
}

fn reference(request: WDFREQUEST) {
    // SAFETY: a request the driver owns (or holds a reference to); the tag is only compared.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfObjectReferenceActual,
            request.cast(),
            null_mut(),
            0,
            core::ptr::null()
        );
    }
}

fn dereference(request: WDFREQUEST) {
    // SAFETY: drops the reference `reference` took.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfObjectDereferenceActual,
            request.cast(),
            null_mut(),
            0,
            core::ptr::null()
        );
    }
}

fn complete(request: WDFREQUEST, status: NtStatus) {
    // SAFETY: a live request handle (possibly, deliberately, not the driver's any more).
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRequestCompleteWithInformation,
            request,
            status.to_raw(),
            0
        );
    }
}

fn mark_cancelable(request: WDFREQUEST) -> NtStatus {
    unsafe extern "C" fn on_cancel(request: WDFREQUEST) {
        complete(request, NtStatus::CANCELLED);
    }
    // SAFETY: a live request handle; the routine completes it.
    NtStatus::from_raw(unsafe {
        call_unsafe_wdf_function_binding!(WdfRequestMarkCancelableEx, request, Some(on_cancel))
    })
}

#[test]
fn kmdf_double_completion_is_reported_by_the_verifier() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
        // A reference keeps the object, so the second call reaches KMDF's ownership check
        // (without it the handle is gone: an invalid-handle bug check).
        reference(request);
        complete(request, NtStatus::SUCCESS);
        complete(request, NtStatus::SUCCESS);
        dereference(request);
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        raw_driver(object, path, "RawTwice", Some(read), None)
    }
    let (_io, status, reports) = read_once("RawTwice", entry);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(rules(&reports), ["DoubleCompletion"], "{reports:#?}");
}

#[test]
fn kmdf_file_object_configured_is_reported_by_the_verifier() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
        // SAFETY: the live request presented to this callback; the device has no file-object
        // configuration, so there is no file object to find.
        let file = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetFileObject, request) };
        assert!(file.is_null());
        complete(request, NtStatus::SUCCESS);
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        raw_driver(object, path, "RawNoFiles", Some(read), None)
    }
    let (_io, status, reports) = read_once("RawNoFiles", entry);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(rules(&reports), ["FileObjectConfigured"], "{reports:#?}");
}

#[test]
fn kmdf_invalid_req_access_is_reported_by_the_verifier() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
        reference(request);
        complete(request, NtStatus::SUCCESS);
        // Use after completion: refused, and named.
        let status = mark_cancelable(request);
        kd_print!("mark after completion: {status}");
        dereference(request);
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        raw_driver(object, path, "RawStaleUse", Some(read), None)
    }
    let (io, status, reports) = read_once("RawStaleUse", entry);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(rules(&reports), ["InvalidReqAccess"], "{reports:#?}");
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "mark after completion: STATUS_INVALID_DEVICE_REQUEST")
    );
}

#[test]
fn kmdf_mark_canc_on_canc_req_local_is_reported_by_the_verifier() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
        assert_eq!(mark_cancelable(request), NtStatus::SUCCESS);
        let again = mark_cancelable(request);
        kd_print!("second mark: {again}");
        // SAFETY: the driver's cancelable request.
        let status =
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestUnmarkCancelable, request) };
        assert_eq!(status, 0);
        complete(request, NtStatus::SUCCESS);
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        raw_driver(object, path, "RawMarkTwice", Some(read), None)
    }
    let (io, status, reports) = read_once("RawMarkTwice", entry);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(rules(&reports), ["MarkCancOnCancReqLocal"], "{reports:#?}");
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "second mark: STATUS_INVALID_DEVICE_REQUEST")
    );
}

#[test]
fn kmdf_req_not_canceled_local_is_reported_by_the_verifier() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
        assert_eq!(mark_cancelable(request), NtStatus::SUCCESS);
        // Completed while still cancelable: KMDF breaks, then completes anyway.
        complete(request, NtStatus::SUCCESS);
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        raw_driver(object, path, "RawStillCancelable", Some(read), None)
    }
    let (_io, status, reports) = read_once("RawStillCancelable", entry);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(rules(&reports), ["ReqNotCanceledLocal"], "{reports:#?}");
}

#[test]
fn kmdf_req_mark_cancelable_send_is_reported_by_the_verifier() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
        assert_eq!(mark_cancelable(request), NtStatus::SUCCESS);
        let parking = PARKING.load(Ordering::SeqCst);
        // SAFETY: the driver's request and a live queue of its device.
        let status = NtStatus::from_raw(unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestForwardToIoQueue, request, parking)
        });
        kd_print!("forward of a cancelable request: {status}");
        // SAFETY: still the driver's cancelable request (the forward was refused).
        let status =
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestUnmarkCancelable, request) };
        assert_eq!(status, 0);
        complete(request, NtStatus::SUCCESS);
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        raw_driver(
            object,
            path,
            "RawForwardCancelable",
            Some(read),
            Some(&PARKING),
        )
    }
    let (io, status, reports) = read_once("RawForwardCancelable", entry);
    assert_eq!(status, NtStatus::SUCCESS);
    assert_eq!(rules(&reports), ["ReqMarkCancelableSend"], "{reports:#?}");
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "forward of a cancelable request: STATUS_INVALID_DEVICE_REQUEST")
    );
}

#[test]
fn kmdf_request_completed_is_reported_when_the_device_goes_with_a_request_held() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, _request: WDFREQUEST, _length: usize) {
        // Neither completed, nor forwarded, nor made cancelable: kept for ever.
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        raw_driver(object, path, "RawKeeper", Some(read), None)
    }
    let io = IoManager::new();
    io.set_strict(false);
    let driver = io
        .load_driver("RawKeeper", kmdf_sim::entry_point(entry))
        .unwrap();
    let handle = io.open(r"\\.\RawKeeper").unwrap();
    let read = handle.read_async(4).unwrap();
    assert!(read.returned_pending());
    assert!(io.take_violations().is_empty());
    // Unloading deletes the control device, whose queues wait for the held request: KMDF would
    // wait for ever.
    let _ = io.unload_driver(driver);
    let reports = io.take_violations();
    assert!(
        rules(&reports).contains(&"RequestCompleted"),
        "{reports:#?}"
    );
}
