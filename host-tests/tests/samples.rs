//! Every sample, under every backend, with one set of expectations: each test below is written
//! once and run once per [`Backend`].
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use host_tests::Backend;
use host_tests::hid::{self, KeyboardStack};
use host_tests::keyboard::{self, KeyboardClassStack};
use wdm_compat::NtStatus;
use wdm_compat::host::{DriverId, FileHandle, IoManager};

/// Defines `mod $name` with one `#[test]` per backend, each calling `$body(backend)`.
macro_rules! for_each_backend {
    ($(#[doc = $doc:literal])* $name:ident, $body:expr) => {
        $(#[doc = $doc])*
        mod $name {
            use super::*;

            #[test]
            fn wdm() {
                ($body)(Backend::Wdm);
            }

            #[test]
            fn kmdf() {
                ($body)(Backend::Kmdf);
            }
        }
    };
}

const ECHO: u32 = echo::IOCTL_ECHO.code().to_raw();

fn load_echo(backend: Backend) -> (IoManager, DriverId, FileHandle) {
    let io = IoManager::new();
    let driver = io
        .load_driver("echo", backend.entry_point::<echo::Echo>())
        .unwrap();
    let handle = io.open(echo::USER_PATH).unwrap();
    (io, driver, handle)
}

fn load_null(backend: Backend) -> (IoManager, DriverId, FileHandle) {
    let io = IoManager::new();
    let driver = io
        .load_driver("null", backend.entry_point::<null_device::NullDevice>())
        .unwrap();
    let handle = io.open(null_device::USER_PATH).unwrap();
    (io, driver, handle)
}

// ---------------------------------------------------------------------------------------------
// echo

/// One IOCTL_ECHO costs the KMDF echo driver three framework calls, as a C `EvtIoDeviceControl`
/// would make: `WdfRequestRetrieveInputBuffer`, `WdfRequestRetrieveOutputBuffer` and
/// `WdfRequestCompleteWithInformation`. The control code and the lengths come with the
/// callback, and the queue's callbacks are found without asking the framework.
#[test]
fn an_echo_ioctl_costs_the_kmdf_driver_three_framework_calls() {
    let (io, _driver, handle) = load_echo(Backend::Kmdf);
    // Warm up, then count over many requests.
    assert_eq!(
        handle
            .device_io_control(ECHO, &7u32.to_le_bytes(), 4)
            .information,
        4
    );
    let before = kmdf_sim::framework_calls(&io);
    for value in 0u32..100 {
        let result = handle.device_io_control(ECHO, &value.to_le_bytes(), 4);
        assert_eq!(result.data, value.to_le_bytes());
    }
    let calls = kmdf_sim::framework_calls(&io) - before;
    assert_eq!(calls, 300, "framework calls for 100 IOCTLs");
}

for_each_backend!(
    /// IOCTL_ECHO returns the value it was sent, with Information = 4.
    echo_returns_each_value_it_is_sent,
    |backend| {
        let (_io, _driver, handle) = load_echo(backend);
        for value in [0, 1, 0xDEAD_BEEF, u32::MAX] {
            let result = handle.device_io_control(ECHO, &value.to_le_bytes(), 4);
            assert_eq!(result.status, NtStatus::SUCCESS);
            assert_eq!(result.information, 4);
            assert_eq!(result.data, value.to_le_bytes());
        }
    }
);

for_each_backend!(
    /// Output buffers one byte short, and absent, fail with STATUS_BUFFER_TOO_SMALL and return
    /// nothing.
    echo_refuses_short_or_absent_output,
    |backend| {
        let (_io, _driver, handle) = load_echo(backend);
        for output_length in [0, 3] {
            let result = handle.device_io_control(ECHO, &7u32.to_le_bytes(), output_length);
            assert_eq!(result.status, NtStatus::BUFFER_TOO_SMALL, "output {output_length}");
            assert_eq!(result.information, 0);
            assert!(result.data.is_empty());
        }
    }
);

for_each_backend!(
    /// Input buffers one byte short, and absent, fail with STATUS_BUFFER_TOO_SMALL.
    echo_refuses_short_or_absent_input,
    |backend| {
        let (_io, _driver, handle) = load_echo(backend);
        for input in [&[][..], &[1, 2, 3][..]] {
            let result = handle.device_io_control(ECHO, input, 4);
            assert_eq!(result.status, NtStatus::BUFFER_TOO_SMALL, "input {input:?}");
            assert_eq!(result.information, 0);
        }
    }
);

for_each_backend!(
    /// Oversized buffers work; only the 4 echoed bytes come back.
    echo_accepts_oversized_buffers_and_returns_four_bytes,
    |backend| {
        let (_io, _driver, handle) = load_echo(backend);
        let mut input = 0x1234_5678u32.to_le_bytes().to_vec();
        input.extend_from_slice(&[0xAA; 60]);
        let result = handle.device_io_control(ECHO, &input, 64);
        assert_eq!(result.status, NtStatus::SUCCESS);
        assert_eq!(result.information, 4);
        assert_eq!(result.data, 0x1234_5678u32.to_le_bytes());
    }
);

for_each_backend!(
    /// Any other IOCTL is an invalid device request.
    echo_fails_unknown_ioctls,
    |backend| {
        let (io, _driver, handle) = load_echo(backend);
        let unknown = ECHO + (1 << 2);
        let result = handle.device_io_control(unknown, &1u32.to_le_bytes(), 4);
        assert_eq!(result.status, NtStatus::INVALID_DEVICE_REQUEST);
        assert_eq!(result.information, 0);
        assert!(io.trace().iter().any(|line| line == "[echo] unknown IOCTL 0x80002004"));
    }
);

for_each_backend!(
    /// A write stores its bytes and the next read returns them once; a read with nothing stored
    /// returns zero bytes.
    echo_reads_back_what_was_written_once,
    |backend| {
        let (_io, _driver, handle) = load_echo(backend);
        let empty = handle.read(16);
        assert_eq!((empty.status, empty.information), (NtStatus::SUCCESS, 0));
        let written = handle.write(b"ping");
        assert_eq!((written.status, written.information), (NtStatus::SUCCESS, 4));
        let read = handle.read(16);
        assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 4));
        assert_eq!(read.data, b"ping");
        let again = handle.read(16);
        assert_eq!(again.information, 0);
    }
);

for_each_backend!(
    /// A read shorter than what is stored returns the first bytes.
    echo_short_read_returns_the_first_bytes,
    |backend| {
        let (_io, _driver, handle) = load_echo(backend);
        assert_eq!(handle.write(b"abcdef").status, NtStatus::SUCCESS);
        let read = handle.read(3);
        assert_eq!(read.data, b"abc");
    }
);

for_each_backend!(
    /// A write over the maximum fails with STATUS_INVALID_BUFFER_SIZE and keeps what was stored.
    echo_refuses_writes_over_the_maximum,
    |backend| {
        let (_io, _driver, handle) = load_echo(backend);
        assert_eq!(handle.write(b"kept").status, NtStatus::SUCCESS);
        let big = vec![0x55; echo::MAX_WRITE_LENGTH + 1];
        let result = handle.write(&big);
        assert_eq!(result.status, NtStatus::INVALID_BUFFER_SIZE);
        assert_eq!(result.information, 0);
        assert_eq!(handle.read(16).data, b"kept");
        let exact = vec![0x66; echo::MAX_WRITE_LENGTH];
        assert_eq!(handle.write(&exact).information, echo::MAX_WRITE_LENGTH);
    }
);

for_each_backend!(
    /// Zero-length reads and writes succeed with 0 bytes and never reach the driver.
    echo_completes_zero_length_transfers_without_the_driver,
    |backend| {
        let (io, _driver, handle) = load_echo(backend);
        let before = io.trace().len();
        let write = handle.write(&[]);
        let read = handle.read(0);
        assert_eq!((write.status, write.information), (NtStatus::SUCCESS, 0));
        assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 0));
        assert_eq!(io.trace().len(), before, "the driver saw a zero-length request");
    }
);

for_each_backend!(
    /// The trace shows the driver's life in order.
    echo_traces_its_lifecycle_in_order,
    |backend| {
        let (io, driver, handle) = load_echo(backend);
        assert_eq!(handle.device_io_control(ECHO, &0xDEAD_BEEFu32.to_le_bytes(), 4).information, 4);
        assert_eq!(handle.close(), NtStatus::SUCCESS);
        io.unload_driver(driver).unwrap();
        assert_eq!(
            io.trace(),
            [
                "[echo] DriverEntry -- loading",
                "[echo] IRP_MJ_CREATE",
                "[echo] echoing value 0xDEADBEEF",
                "[echo] IRP_MJ_CLOSE",
                "[echo] DriverUnload -- cleaning up",
            ]
        );
        assert!(io.open(echo::USER_PATH).is_err(), "the link is gone after unload");
    }
);

// ---------------------------------------------------------------------------------------------
// null-device

for_each_backend!(
    /// Writes report every byte written; reads return zero bytes; the data is gone.
    null_device_swallows_writes_and_reads_nothing,
    |backend| {
        let (_io, _driver, handle) = load_null(backend);
        let written = handle.write(&[1; 100]);
        assert_eq!((written.status, written.information), (NtStatus::SUCCESS, 100));
        let read = handle.read(100);
        assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 0));
        assert!(read.data.is_empty());
    }
);

for_each_backend!(
    /// An IOCTL is not something the null device handles.
    null_device_fails_ioctls,
    |backend| {
        let (_io, _driver, handle) = load_null(backend);
        let result = handle.device_io_control(ECHO, &[0; 4], 4);
        assert_eq!(result.status, NtStatus::INVALID_DEVICE_REQUEST);
    }
);

for_each_backend!(
    /// The trace shows load, open, write, read, close and unload in order.
    null_device_traces_its_lifecycle_in_order,
    |backend| {
        let (io, driver, handle) = load_null(backend);
        assert_eq!(handle.write(b"hello").information, 5);
        assert_eq!(handle.read(8).information, 0);
        assert_eq!(handle.close(), NtStatus::SUCCESS);
        io.unload_driver(driver).unwrap();
        assert_eq!(
            io.trace(),
            [
                "[null-device] DriverEntry -- loading",
                "[null-device] IRP_MJ_CREATE",
                "[null-device] IRP_MJ_WRITE -- discarding 5 bytes",
                "[null-device] IRP_MJ_READ -- nothing to return",
                "[null-device] IRP_MJ_CLOSE",
                "[null-device] DriverUnload -- cleaning up",
            ]
        );
    }
);

// ---------------------------------------------------------------------------------------------
// hid-filter

fn keyboard(backend: Backend) -> (IoManager, KeyboardStack, DriverId, FileHandle) {
    let io = IoManager::new();
    let (stack, filter) =
        KeyboardStack::build(&io, backend.entry_point::<hid_filter::HidFilter>()).unwrap();
    let handle = stack.node().open().unwrap();
    (io, stack, filter, handle)
}

for_each_backend!(
    /// A read waits below the filter until a key is pressed, then returns the report unchanged;
    /// the filter counts the read on the way down and its completion on the way up.
    hid_filter_passes_reads_and_reports_through_unchanged,
    |backend| {
        let (io, stack, _filter, handle) = keyboard(backend);
        let read = handle.read_async(hid::REPORT_LENGTH).unwrap();
        assert!(read.returned_pending(), "the read must pend below the filter");
        assert_eq!(stack.waiting_reads(), 1);
        assert!(!read.is_complete());
        assert!(stack.press(hid::key_report(0x1D)));
        let result = read.result().unwrap();
        assert_eq!(result.status, NtStatus::SUCCESS);
        assert_eq!(result.information, hid::REPORT_LENGTH);
        assert_eq!(result.data, hid::key_report(0x1D));
        let trace = io.trace();
        let down = trace.iter().position(|l| l == "[hid-filter] read #1 of 8 bytes passed down");
        let up = trace
            .iter()
            .position(|l| l == "[hid-filter] Read completed below: STATUS_SUCCESS, 8 bytes");
        assert!(down.is_some() && up.is_some() && down < up, "{trace:#?}");
    }
);

for_each_backend!(
    /// A zero-length read is the lower driver's to answer: the filter passes it down like any
    /// other (a control device's backend completes it itself; a filter's must not).
    hid_filter_passes_zero_length_reads_down,
    |backend| {
        let (io, stack, _filter, handle) = keyboard(backend);
        let read = handle.read_async(0).unwrap();
        assert!(read.returned_pending(), "the read must pend below the filter");
        assert_eq!(stack.waiting_reads(), 1);
        assert!(stack.press(hid::key_report(0x04)));
        let result = read.result().unwrap();
        assert_eq!(result.status, NtStatus::SUCCESS);
        assert!(
            io.trace()
                .iter()
                .any(|l| l == "[hid-filter] read #1 of 0 bytes passed down"),
            "{:#?}",
            io.trace()
        );
    }
);

for_each_backend!(
    /// A zero-length write is the device's to answer too: the filter has no write callback, so
    /// it passes down (KMDF would complete it with success itself on a queue that does not
    /// allow zero-length requests), and the keyboard below, which takes no writes, refuses it.
    hid_filter_passes_zero_length_writes_down,
    |backend| {
        let (io, _stack, _filter, handle) = keyboard(backend);
        let write = handle.write(&[]);
        assert_eq!(
            (write.status, write.information),
            (NtStatus::INVALID_DEVICE_REQUEST, 0)
        );
        assert!(io.violations().is_empty(), "{:#?}", io.violations());
    }
);

for_each_backend!(
    /// Internal IOCTLs pass down; answers and failures from below come back unchanged.
    hid_filter_passes_internal_ioctls_and_their_failures_through,
    |backend| {
        let (io, _stack, _filter, handle) = keyboard(backend);
        let ok = handle.internal_device_control(hid::IOCTL_GET_ATTRIBUTES, &[], 4);
        assert_eq!((ok.status, ok.data.as_slice()), (NtStatus::SUCCESS, &hid::ATTRIBUTES[..]));
        let unknown = handle.internal_device_control(hid::IOCTL_GET_ATTRIBUTES + 4, &[], 4);
        assert_eq!(unknown.status, NtStatus::INVALID_DEVICE_REQUEST);
        let trace = io.trace();
        assert!(trace.iter().any(|l| l.starts_with("[hid-filter] internal IOCTL #2 ")));
        assert!(trace.iter().any(|l| {
            l == "[hid-filter] InternalDeviceControl completed below: \
                  STATUS_INVALID_DEVICE_REQUEST, 0 bytes"
        }));
    }
);

for_each_backend!(
    /// Over the keyboard class driver, where kbfiltr sits, a pass-through filter sees what is
    /// really there: the class driver's connect and attributes query go by as two internal
    /// IOCTLs (the connect unhooked, so the port driver calls the class driver directly), and
    /// keystrokes reach the class driver without the filter seeing a single read.
    hid_filter_over_the_keyboard_class_sees_the_connect_and_no_keystrokes,
    |backend: Backend| {
        let io = IoManager::new();
        let (stack, filter) = KeyboardClassStack::build(
            &io,
            "hid-filter",
            backend.entry_point::<hid_filter::HidFilter>(),
        )
        .unwrap();
        assert_eq!(stack.connect_result().status, NtStatus::SUCCESS);
        assert_eq!(stack.attributes_result().data, keyboard::ATTRIBUTES);
        assert!(stack.port_calls_class_directly());
        let keys = keyboard::key_stroke(keyboard::SCAN_A);
        assert_eq!(stack.press(&keys), Some(2));
        assert_eq!(stack.class_received(), keys);
        let trace = io.trace();
        assert!(
            trace.iter().any(|l| l.starts_with("[hid-filter] internal IOCTL #1 ")),
            "{trace:#?}"
        );
        assert!(!trace.iter().any(|l| l.contains("read #")), "{trace:#?}");
        assert_eq!(stack.node().remove(), NtStatus::SUCCESS);
        io.unload_driver(filter).unwrap();
        assert!(
            io.trace()
                .last()
                .is_some_and(|l| l.contains("saw 0 reads, 2 internal IOCTLs, 2 completions")),
            "{:#?}",
            io.trace()
        );
        assert!(io.violations().is_empty(), "{:#?}", io.violations());
    }
);

for_each_backend!(
    /// Removal passes down first, then the filter's device is detached and deleted, and the
    /// verifier (which checks the order) reports nothing.
    hid_filter_removal_detaches_and_deletes,
    |backend| {
        let (io, stack, filter, handle) = keyboard(backend);
        assert_eq!(handle.close(), NtStatus::SUCCESS);
        assert_eq!(stack.node().surprise_remove(), NtStatus::SUCCESS);
        assert_eq!(stack.node().remove(), NtStatus::SUCCESS);
        let devices = io.devices_of(filter);
        assert_eq!(devices.len(), 1);
        let info = io.device(devices[0]).unwrap();
        assert!(info.deleted && info.attached_to.is_none(), "{info:?}");
        assert!(io.violations().is_empty(), "{:#?}", io.violations());
        io.unload_driver(filter).unwrap();
        assert!(
            io.trace()
                .last()
                .is_some_and(|l| l.starts_with("[hid-filter] DriverUnload -- saw 0 reads"))
        );
    }
);

for_each_backend!(
    /// Unloading while a handle is open: the driver unloads cleanly (no verifier report), later
    /// requests on the handle fail with STATUS_NO_SUCH_DEVICE without reaching it, and closing
    /// the handle still succeeds. (Windows would defer DriverUnload until the handle closes; the
    /// simulation unloads at once, so this is the outcome on both backends.)
    echo_unloads_cleanly_with_a_handle_still_open,
    |backend| {
        let (io, driver, handle) = load_echo(backend);
        io.unload_driver(driver).unwrap();
        let after = handle.device_io_control(ECHO, &1u32.to_le_bytes(), 4);
        assert_eq!(after.status, NtStatus::NO_SUCH_DEVICE);
        assert_eq!(handle.close(), NtStatus::SUCCESS);
        assert_eq!(
            io.trace(),
            ["[echo] DriverEntry -- loading", "[echo] IRP_MJ_CREATE", "[echo] DriverUnload -- cleaning up"]
        );
        assert!(io.violations().is_empty(), "{:#?}", io.violations());
    }
);

for_each_backend!(
    /// Who may open the echo device: on both builds only the system and administrators
    /// (`SDDL_DEVOBJ_SYS_ALL_ADM_ALL`: KMDF's control-device SDDL; the WDM build's
    /// `IoCreateDeviceSecure` equivalent). A handle opened for reading only cannot write.
    echo_security_decides_who_opens_and_the_handle_decides_what_it_may_do,
    |backend: Backend| {
        use wdm_compat::host::{Access, OpenOptions};
        let (io, driver, admin) = load_echo(backend);
        let user = io.open_with(echo::USER_PATH, OpenOptions::USER);
        assert_eq!(user.err(), Some(NtStatus::ACCESS_DENIED));
        let reader = io
            .open_with(echo::USER_PATH, OpenOptions::ADMINISTRATOR.access(Access::READ))
            .unwrap();
        assert_eq!(reader.write(b"no").status, NtStatus::ACCESS_DENIED);
        assert_eq!(reader.read(4).status, NtStatus::SUCCESS);
        assert_eq!(admin.write(b"yes").status, NtStatus::SUCCESS);
        drop((reader, admin));
        io.unload_driver(driver).unwrap();
        assert!(io.violations().is_empty(), "{:#?}", io.violations());
    }
);

for_each_backend!(
    /// Driver Verifier's low resources simulation over echo's DriverEntry: each allocation the
    /// seams make fails in turn. Every failure unloads cleanly with
    /// `STATUS_INSUFFICIENT_RESOURCES` — no bug check, no verifier report, no device or link
    /// left — and once DriverEntry needs fewer allocations than the one failed, echo works.
    echo_driver_entry_survives_each_allocation_failing,
    |backend: Backend| {
        let mut failures = 0;
        for nth in 0..32 {
            let io = IoManager::new();
            io.fail_allocation(nth);
            match io.load_driver("echo", backend.entry_point::<echo::Echo>()) {
                Err(status) => {
                    assert_eq!(status, NtStatus::INSUFFICIENT_RESOURCES, "allocation {nth}");
                    assert_eq!(
                        io.open(echo::USER_PATH).err(),
                        Some(NtStatus::OBJECT_NAME_NOT_FOUND),
                        "allocation {nth}"
                    );
                    failures += 1;
                }
                Ok(driver) => {
                    let handle = io.open(echo::USER_PATH).unwrap();
                    assert_eq!(handle.write(b"ok").status, NtStatus::SUCCESS);
                    drop(handle);
                    io.unload_driver(driver).unwrap();
                    break;
                }
            }
            assert!(io.violations().is_empty(), "allocation {nth}: {:#?}", io.violations());
        }
        // The seams allocate during DriverEntry (records, names), and each failure was handled.
        assert!(failures >= 2, "{failures}");
    }
);

for_each_backend!(
    /// The low resources simulation over the filter's AddDevice (and DriverEntry): each
    /// allocation the seams make fails in turn; the stack is built without the filter's device
    /// or not at all, never with a half-made one, and the verifier reports nothing.
    hid_filter_add_device_survives_each_allocation_failing,
    |backend: Backend| {
        let mut failures = 0;
        for nth in 0..32 {
            let io = IoManager::new();
            io.fail_allocation(nth);
            let built = KeyboardStack::build(&io, backend.entry_point::<hid_filter::HidFilter>());
            match built {
                Err(status) => {
                    assert_eq!(status, NtStatus::INSUFFICIENT_RESOURCES, "allocation {nth}");
                    failures += 1;
                }
                Ok((stack, filter)) => {
                    let handle = stack.node().open().unwrap();
                    let read = handle.read_async(hid::REPORT_LENGTH).unwrap();
                    assert!(stack.press(hid::key_report(0x04)), "allocation {nth}");
                    assert_eq!(read.result().unwrap().data, hid::key_report(0x04));
                    drop(handle);
                    assert_eq!(stack.node().remove(), NtStatus::SUCCESS);
                    io.unload_driver(filter).unwrap();
                    if io.devices_of(filter).is_empty() {
                        // Built without the filter's device: its AddDevice ran out of memory.
                        failures += 1;
                    } else {
                        break;
                    }
                }
            }
            assert!(io.violations().is_empty(), "allocation {nth}: {:#?}", io.violations());
        }
        assert!(failures >= 1, "{failures}");
    }
);
