//! `ioctl-cost`: what one `IOCTL_ECHO` costs the driver, against a driver written the C way.
//!
//! ```text
//! ioctl-cost raw|kmdf [--round-trips N]
//! ```
//!
//! Loads one echo driver into the simulated KMDF and sends `N` `IOCTL_ECHO` round trips (the
//! answer checked): `kmdf` is the echo sample through wdf-safe (`KmdfBackend`); `raw` is the
//! same IOCTL handled the way a C KMDF driver does it, straight through the function table
//! (`EvtIoDeviceControl`: `WdfRequestRetrieveInputBuffer`, `WdfRequestRetrieveOutputBuffer`,
//! copy four bytes, `WdfRequestCompleteWithInformation`). It prints the framework calls per
//! IOCTL, then exits.
//!
//! The instructions are counted from outside, by `.ci/ioctl-cost`: it runs both modes under
//! callgrind collecting only inside a driver's `EvtIoDeviceControl` and not inside the
//! framework's entries (`--toggle-collect` on both), so the count is the driver's own code,
//! the binding wrappers included, as on Windows.

use std::process::ExitCode;

use host_tests::Backend;
use wdm_compat::host::IoManager;

const USAGE: &str = "usage: ioctl-cost raw|kmdf [--round-trips N]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let mut round_trips: u32 = 10_000;
    while let Some(arg) = args.next() {
        match (
            arg.as_str(),
            args.next().map(|n| n.replace('_', "").parse()),
        ) {
            ("--round-trips", Some(Ok(n))) => round_trips = n,
            _ => return usage(),
        }
    }
    let io = IoManager::new();
    let (driver, path) = match mode.as_str() {
        "kmdf" => (
            io.load_driver("echo", Backend::Kmdf.entry_point::<echo::Echo>()),
            echo::USER_PATH,
        ),
        "raw" => (
            io.load_driver("rawecho", kmdf_sim::entry_point(raw::driver_entry)),
            raw::USER_PATH,
        ),
        _ => return usage(),
    };
    if driver.is_err() {
        eprintln!("ioctl-cost: the {mode} driver did not load");
        return ExitCode::FAILURE;
    }
    let Ok(handle) = io.open(path) else {
        eprintln!("ioctl-cost: {path} did not open");
        return ExitCode::FAILURE;
    };
    let before = kmdf_sim::framework_calls(&io);
    for value in 0..round_trips {
        let answer =
            handle.device_io_control(echo::IOCTL_ECHO.code().to_raw(), &value.to_le_bytes(), 4);
        if answer.data != value.to_le_bytes() {
            eprintln!("ioctl-cost: {mode}: wrong answer for {value}");
            return ExitCode::FAILURE;
        }
    }
    let calls = kmdf_sim::framework_calls(&io) - before;
    println!(
        "framework calls per IOCTL: {mode} {}",
        calls / u64::from(round_trips.max(1))
    );
    if !io.violations().is_empty() {
        eprintln!("ioctl-cost: {mode}: {:#?}", io.violations());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

/// The echo IOCTL as a C KMDF driver writes it, through the simulated framework's function
/// table: the baseline the crate's per-request cost is measured against. Not driver code of
/// the project: a test program's stand-in for C, so its `unsafe` is its own.
#[allow(
    unsafe_code,
    reason = "a C-style driver, written against the raw function table"
)]
mod raw {
    use core::ptr::null_mut;

    use kmdf_sim::bindings::{
        _WDF_DRIVER_INIT_FLAGS as Flags, _WDF_IO_QUEUE_DISPATCH_TYPE as Dispatch, NTSTATUS,
        PCUNICODE_STRING, PDRIVER_OBJECT, PVOID, PWDFDEVICE_INIT, UNICODE_STRING,
        WDF_DRIVER_CONFIG, WDF_IO_QUEUE_CONFIG, WDF_NO_OBJECT_ATTRIBUTES, WDFDEVICE, WDFDRIVER,
        WDFQUEUE, WDFREQUEST, call_unsafe_wdf_function_binding,
    };

    pub(crate) const USER_PATH: &str = r"\\.\RawEcho";
    const STATUS_SUCCESS: NTSTATUS = 0;
    /// `STATUS_INVALID_DEVICE_REQUEST`.
    const STATUS_INVALID_DEVICE_REQUEST: NTSTATUS = 0xC000_0010_u32.cast_signed();

    fn unicode(units: &[u16]) -> UNICODE_STRING {
        let bytes = u16::try_from(units.len() * 2).unwrap_or(0);
        UNICODE_STRING {
            Length: bytes,
            MaximumLength: bytes,
            Buffer: units.as_ptr().cast_mut(),
        }
    }

    /// `DriverEntry`: a non-PnP driver, a control device `\Device\RawEcho` with its link, and
    /// a parallel default queue with `EvtIoDeviceControl`.
    pub(crate) unsafe extern "C" fn driver_entry(
        object: PDRIVER_OBJECT,
        path: PCUNICODE_STRING,
    ) -> NTSTATUS {
        let mut config = WDF_DRIVER_CONFIG {
            Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
            EvtDriverUnload: Some(unload),
            DriverInitFlags: Flags::WdfDriverInitNonPnpDriver as u32,
            ..WDF_DRIVER_CONFIG::default()
        };
        let mut driver: WDFDRIVER = null_mut();
        // SAFETY: DriverEntry's own arguments; the configuration is read during the call.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDriverCreate,
                object,
                path,
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut config,
                &mut driver
            )
        };
        if status != STATUS_SUCCESS {
            return status;
        }
        let sddl: Vec<u16> = "D:P(A;;GA;;;SY)(A;;GA;;;BA)".encode_utf16().collect();
        let sddl = unicode(&sddl);
        // SAFETY: the WDFDRIVER just created; the SDDL outlives the call.
        let mut init: PWDFDEVICE_INIT = unsafe {
            call_unsafe_wdf_function_binding!(WdfControlDeviceInitAllocate, driver, &sddl)
        };
        let name: Vec<u16> = r"\Device\RawEcho".encode_utf16().collect();
        let name = unicode(&name);
        // SAFETY: a live init; the name outlives the call.
        let status =
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitAssignName, init, &name) };
        if status != STATUS_SUCCESS {
            return status;
        }
        let mut device: WDFDEVICE = null_mut();
        // SAFETY: a live init, consumed on success.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreate,
                &mut init,
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut device
            )
        };
        if status != STATUS_SUCCESS {
            return status;
        }
        let link: Vec<u16> = r"\DosDevices\RawEcho".encode_utf16().collect();
        let link = unicode(&link);
        // SAFETY: a live device; the name outlives the call.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfDeviceCreateSymbolicLink, device, &link)
        };
        if status != STATUS_SUCCESS {
            return status;
        }
        let mut queue_config = WDF_IO_QUEUE_CONFIG {
            Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
            DispatchType: Dispatch::WdfIoQueueDispatchParallel,
            DefaultQueue: 1,
            EvtIoDeviceControl: Some(raw_evt_io_device_control),
            ..WDF_IO_QUEUE_CONFIG::default()
        };
        queue_config.Settings.Parallel.NumberOfPresentedRequests = u32::MAX;
        let mut queue: WDFQUEUE = null_mut();
        // SAFETY: a live device; the configuration is read during the call.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfIoQueueCreate,
                device,
                &mut queue_config,
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut queue
            )
        };
        if status != STATUS_SUCCESS {
            return status;
        }
        // SAFETY: a live control device.
        unsafe { call_unsafe_wdf_function_binding!(WdfControlFinishInitializing, device) };
        STATUS_SUCCESS
    }

    unsafe extern "C" fn unload(_driver: WDFDRIVER) {}

    /// `EvtIoDeviceControl`, as the C echo sample's: both buffers of at least four bytes, the
    /// value copied across, completed with four bytes.
    unsafe extern "C" fn raw_evt_io_device_control(
        _queue: WDFQUEUE,
        request: WDFREQUEST,
        _output_length: usize,
        _input_length: usize,
        code: u32,
    ) {
        let mut status = STATUS_INVALID_DEVICE_REQUEST;
        let mut information = 0;
        if code == echo::IOCTL_ECHO.code().to_raw() {
            let mut input: PVOID = null_mut();
            let mut output: PVOID = null_mut();
            // SAFETY: the request presented to this callback; the out-pointers are locals.
            status = unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveInputBuffer,
                    request,
                    4,
                    &mut input,
                    null_mut()
                )
            };
            if status == STATUS_SUCCESS {
                // SAFETY: as above.
                status = unsafe {
                    call_unsafe_wdf_function_binding!(
                        WdfRequestRetrieveOutputBuffer,
                        request,
                        4,
                        &mut output,
                        null_mut()
                    )
                };
            }
            if status == STATUS_SUCCESS {
                // SAFETY: the input buffer is at least four bytes (the framework checked the
                // minimum), alive until the request completes below.
                let value = unsafe { input.cast::<u32>().read_unaligned() };
                // SAFETY: as above, for the output buffer.
                unsafe { output.cast::<u32>().write_unaligned(value) };
                information = 4;
            }
        }
        // SAFETY: completes the request presented to this callback, once.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestCompleteWithInformation,
                request,
                status,
                information
            );
        }
    }
}
