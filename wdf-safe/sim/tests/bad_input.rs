//! What the simulated framework does with arguments KMDF would refuse, driven by drivers written
//! the C way (raw calls through the function table): it reports what KMDF's verifier reports and
//! fails the call, instead of crashing the test process.
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

use common::{
    control_device, create_driver, create_queue, finish_initializing, parallel_default_queue,
    symbolic_link, unicode,
};
use kmdf_sim::bindings::{
    _WDF_IO_QUEUE_DISPATCH_TYPE as Dispatch, NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT,
    WDF_IO_QUEUE_CONFIG, WDF_NO_OBJECT_ATTRIBUTES, WDFDEVICE, WDFQUEUE, WDFREQUEST,
    call_unsafe_wdf_function_binding,
};
use wdm_compat::host::{IoManager, Violation};
use wdm_compat::{NtStatus, SpinLock, kd_print};

/// Loads a driver whose `DriverEntry` is `entry` into a fresh, recording simulation, and
/// returns what the verifier reported and what the driver traced.
fn run(entry: kmdf_sim::ImageEntry) -> (IoManager, Vec<Violation>) {
    let io = IoManager::new();
    io.set_strict(false);
    io.load_driver("raw", kmdf_sim::entry_point(entry)).unwrap();
    let reports = io.take_violations();
    (io, reports)
}

fn bug_check(reports: &[Violation], p1: usize) -> &Violation {
    reports
        .iter()
        .find(|v| v.is_bug_check(0x10D) && v.bug_check.unwrap().params[0] == p1)
        .unwrap_or_else(|| panic!("no 0x10D/{p1:#x} in {reports:#?}"))
}

#[test]
fn a_handle_of_the_wrong_kind_is_bug_check_0x10d_invalid_handle() {
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        let driver = create_driver(object, path);
        // SAFETY: deliberately wrong: a WDFDRIVER where a WDFREQUEST belongs. The framework
        // looks the handle up before touching anything.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestCompleteWithInformation,
                driver.cast::<kmdf_sim::bindings::WDFREQUEST__>(),
                0,
                0
            );
        }
        0
    }
    let (_io, reports) = run(entry);
    let check = bug_check(&reports, 0x5).bug_check.unwrap();
    // P3: the type the DDI wanted, FX_TYPE_REQUEST.
    assert_eq!(check.params[2], 0x1008);
    assert!(
        reports[0]
            .message
            .contains("WdfRequestCompleteWithInformation")
    );
}

#[test]
fn a_null_required_parameter_is_bug_check_0x10d_required_parameter_is_null() {
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        let _driver = create_driver(object, path);
        let mut device: WDFDEVICE = null_mut();
        // SAFETY: deliberately wrong: no DeviceInit at all.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreate,
                null_mut(),
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut device
            )
        };
        kd_print!("WdfDeviceCreate(NULL): {}", NtStatus::from_raw(status));
        0
    }
    let (io, reports) = run(entry);
    let report = bug_check(&reports, 0x4);
    assert!(report.message.contains("DeviceInit"), "{report}");
    assert_eq!(
        io.trace(),
        ["WdfDeviceCreate(NULL): STATUS_INVALID_PARAMETER"]
    );
}

#[test]
fn a_structure_size_that_is_not_kmdf_1_33s_fails_with_info_length_mismatch() {
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        let driver = create_driver(object, path);
        let device = control_device(driver, "RawSize", true);
        let mut config = WDF_IO_QUEUE_CONFIG {
            // The size of an older WDF_IO_QUEUE_CONFIG, without the Settings and Driver fields.
            Size: 80,
            DispatchType: Dispatch::WdfIoQueueDispatchManual,
            ..WDF_IO_QUEUE_CONFIG::default()
        };
        let (status, queue) = create_queue(device, &mut config);
        kd_print!(
            "WdfIoQueueCreate(Size 80): {}, queue {:?}",
            NtStatus::from_raw(status),
            queue
        );
        0
    }
    let (io, reports) = run(entry);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(
        reports[0]
            .message
            .contains("WDF_IO_QUEUE_CONFIG.Size is 80, not the 96"),
        "{reports:#?}"
    );
    assert_eq!(
        io.trace(),
        ["WdfIoQueueCreate(Size 80): STATUS_INFO_LENGTH_MISMATCH, queue 0x0"]
    );
}

#[test]
fn a_passive_level_ddi_called_at_dispatch_level_fails_and_is_reported() {
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        let driver = create_driver(object, path);
        let device = control_device(driver, "RawIrql", true);
        let link: Vec<u16> = r"\DosDevices\RawIrql".encode_utf16().collect();
        let link = unicode(&link);
        let lock = SpinLock::new(());
        let guard = lock.lock();
        // SAFETY: a live device; the name outlives the call. Deliberately at DISPATCH_LEVEL
        // (the spin lock is held).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfDeviceCreateSymbolicLink, device, &link)
        };
        drop(guard);
        kd_print!("at DISPATCH_LEVEL: {}", NtStatus::from_raw(status));
        0
    }
    let (io, reports) = run(entry);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].rule, Some("KmdfIrql"));
    assert!(
        reports[0]
            .message
            .contains("at level 2, should be at level 0")
    );
    assert_eq!(
        io.trace(),
        ["at DISPATCH_LEVEL: STATUS_INVALID_DEVICE_REQUEST"]
    );
    // The call did not happen: there is no link.
    assert!(io.open(r"\\.\RawIrql").is_err());
}

#[test]
fn a_request_handle_used_after_completion_is_an_invalid_handle() {
    unsafe extern "C" fn read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
        // SAFETY: the request the framework presented.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestCompleteWithInformation, request, 0, 0);
        }
        // SAFETY: deliberately wrong: the request is gone.
        let information =
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetInformation, request) };
        kd_print!("after completion: {information}");
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        let driver = create_driver(object, path);
        let device = control_device(driver, "RawStale", false);
        symbolic_link(device, "RawStale");
        // A default queue after WdfControlFinishInitializing would be refused.
        let _queue = parallel_default_queue(device, Some(read));
        finish_initializing(device);
        0
    }
    let (io, reports) = run(entry);
    assert!(reports.is_empty(), "{reports:#?}");
    let handle = io.open(r"\\.\RawStale").unwrap();
    let read = handle.read(4);
    assert_eq!(read.status, NtStatus::SUCCESS);
    let reports = io.take_violations();
    let check = bug_check(&reports, 0x5);
    assert!(
        check.message.contains("WdfRequestGetInformation"),
        "{check}"
    );
    assert!(io.trace().iter().any(|l| l == "after completion: 0"));
}

#[test]
fn a_ddi_called_outside_any_framework_callback_fails_without_a_crash() {
    let mut request: WDFREQUEST = null_mut();
    // SAFETY: deliberately wrong: no driver image runs on this thread, so there are no driver
    // globals; the framework refuses the call before looking at anything.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfIoQueueRetrieveNextRequest,
            core::ptr::without_provenance_mut(0x1234_0000_0001),
            &mut request
        )
    };
    assert_eq!(NtStatus::from_raw(status), NtStatus::INVALID_DEVICE_STATE);
    assert!(request.is_null());
}
