//! A small KMDF control-device driver (the widget) written with the public API only, driven
//! from the user-mode side of the simulated I/O manager: statuses, bytes, callback order, and
//! what the verifier reports. PnP function drivers, filters, transfers, kept handles and
//! retrieved requests have test files of their own (`kmdf_function.rs`, `kmdf_filters.rs`,
//! `kmdf_transfers.rs`, `kmdf_kept_handles.rs`, `kmdf_retrieved.rs`), sharing `common/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::Mutex;

use common::{IOCTL_ECHO, IOCTL_PARK, Stats, ioctl};
use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, Manual, Read, RequestType, Sequential, Write};
use wdf_safe::{
    AnyRequest, ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue,
    QueueConfig, Request, RequestDone, SpinLock, WaitLock,
};
use wdm_compat::host::IoManager;
use wdm_compat::kd_print;

const IOCTL_RELEASE: u32 = ioctl(0x902);
const IOCTL_STOP_READS: u32 = ioctl(0x903);
const IOCTL_START_READS: u32 = ioctl(0x904);
const IOCTL_PURGE_READS: u32 = ioctl(0x905);
const IOCTL_TAKE_READ: u32 = ioctl(0x906);
const IOCTL_DROP_READ: u32 = ioctl(0x907);
const IOCTL_BAD_INFORMATION: u32 = ioctl(0x908);
const IOCTL_COUNT: u32 = ioctl(0x909);
/// IOCTL_ECHO's twin with METHOD_OUT_DIRECT.
const IOCTL_ECHO_DIRECT: u32 = ioctl(0x90B) | 2;
/// IOCTL_ECHO's twin with METHOD_IN_DIRECT.
const IOCTL_ECHO_IN_DIRECT: u32 = ioctl(0x90D) | 1;
/// IOCTL_ECHO's twin with METHOD_NEITHER.
const IOCTL_ECHO_NEITHER: u32 = ioctl(0x90C) | 3;
const IOCTL_COUNT_UNDER_SPIN_LOCK: u32 = ioctl(0x90A);
const IOCTL_QUEUED: u32 = ioctl(0x90E);
const IOCTL_INFORMATION: u32 = ioctl(0x90F);
const IOCTL_TARGET: u32 = ioctl(0x910);
const IOCTL_PURGE_PARKED: u32 = ioctl(0x911);
/// Completes with a status computed as `STATUS_PENDING`.
const IOCTL_COMPUTED_PENDING: u32 = ioctl(0x912);
/// Completes while holding the driver's spin lock.
const IOCTL_COMPLETE_UNDER_SPIN_LOCK: u32 = ioctl(0x913);
/// Purges the read queue while holding the driver's spin lock (at DISPATCH_LEVEL).
const IOCTL_PURGE_UNDER_SPIN_LOCK: u32 = ioctl(0x914);

/// A control-device driver: a sequential default queue for reads and writes, a parallel queue
/// dedicated to device controls, and a manual queue for parked requests.
struct Widget {
    device: Device<Widget, Ready>,
    reads: Queue<Sequential>,
    parked: Queue<Manual>,
    stored: SpinLock<Vec<u8>>,
    counted: WaitLock<u32>,
}

/// Where the threaded cancellation test is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    Idle,
    Holding,
    Cancelled,
}

/// A hand-off between the test thread and a driver callback on another thread.
struct Handoff(Mutex<Held>, std::sync::Condvar);

static HOLD: Handoff = Handoff(Mutex::new(Held::Idle), std::sync::Condvar::new());

impl Handoff {
    fn set(&self, state: Held) {
        *self.0.lock().unwrap() = state;
        self.1.notify_all();
    }

    fn wait_until(&self, state: Held) {
        let guard = self.0.lock().unwrap();
        let (_guard, timeout) = self
            .1
            .wait_timeout_while(guard, std::time::Duration::from_secs(10), |s| *s != state)
            .unwrap();
        assert!(!timeout.timed_out(), "the other thread never got there");
    }
}

fn widget_read<'r>(widget: &Widget, request: Request<'r, Read>) -> RequestDone<'r> {
    kd_print!("widget: read of {}", request.length());
    if request.length() == 7 {
        // A cancellation while the driver holds the request: unmarking then says it is gone.
        let Ok(cancelable) = request.mark_cancelable(widget_cancel) else {
            panic!("not cancelled yet");
        };
        widget.device.purge_queue(&widget.reads);
        return match cancelable.unmark() {
            Ok(request) => request.complete(NtStatus::SUCCESS),
            Err(cancelled) => {
                kd_print!("widget: unmark says the request was cancelled");
                cancelled.into_done()
            }
        };
    }
    if request.length() == 5 {
        // Holds the request until the test cancelled it, then marks it cancelable.
        HOLD.set(Held::Holding);
        HOLD.wait_until(Held::Cancelled);
        kd_print!("widget: is_canceled says {}", request.is_canceled());
        return match request.mark_cancelable(widget_cancel) {
            Ok(cancelable) => cancelable.park(),
            Err((request, status)) => {
                kd_print!("widget: read was cancelled already");
                request.complete(status)
            }
        };
    }
    if request.length() == 6 {
        // Cancelable for a moment, then taken back: the request is the driver's again.
        let Ok(cancelable) = request.mark_cancelable(widget_cancel) else {
            panic!("not cancelled yet");
        };
        return match cancelable.unmark() {
            Ok(request) => {
                kd_print!("widget: unmarked, completing");
                request.complete(NtStatus::SUCCESS)
            }
            Err(cancelled) => cancelled.into_done(),
        };
    }
    if request.length() == 9 {
        // Purging the queue while holding a request that is not cancelable: KMDF would wait for
        // it forever, the simulated verifier reports it.
        widget.device.purge_queue(&widget.reads);
        return request.complete(NtStatus::SUCCESS);
    }
    let stored = core::mem::take(&mut *widget.stored.lock());
    if stored.is_empty() {
        // Nothing to give yet: hold the request until a cancellation (purge, unload).
        kd_print!("widget: read parked until cancelled");
        return match request.mark_cancelable(widget_cancel) {
            Ok(cancelable) => cancelable.park(),
            Err((request, status)) => {
                kd_print!("widget: read was cancelled already");
                request.complete(status)
            }
        };
    }
    let request = request;
    request.complete_with(|request| {
        let output = request.output_buffer(1)?;
        let count = output.len().min(stored.len());
        output[..count].copy_from_slice(&stored[..count]);
        Ok(count)
    })
}

fn widget_cancel<'r>(request: Request<'r, Read>) -> RequestDone<'r> {
    kd_print!("widget: cancel routine");
    request.complete(NtStatus::CANCELLED)
}

fn widget_write<'r>(widget: &Widget, request: Request<'r, Write>) -> RequestDone<'r> {
    kd_print!("widget: write of {}", request.length());
    request.complete_with(|request| {
        // Zero-length writes reach this queue (AllowZeroLengthRequests): the buffer
        // retrieval refuses them.
        let data = request.input_buffer(0)?.to_vec();
        let count = data.len();
        *widget.stored.lock() = data;
        Ok(count)
    })
}

fn widget_ioctl<'r>(widget: &Widget, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let code = request.ioctl_code().to_raw();
    kd_print!("widget: ioctl {code:#x}");
    if let Some(stats) = widget.device.context::<Stats>() {
        stats
            .ioctls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    match code {
        IOCTL_ECHO | IOCTL_ECHO_DIRECT | IOCTL_ECHO_NEITHER => request.complete_with(|request| {
            let value: u32 = request.read_input()?;
            request.write_output(&value)
        }),
        // METHOD_IN_DIRECT: the caller's pages are a second input; the writable view (and so
        // `write_output`) is refused, the read-only one is not.
        IOCTL_ECHO_IN_DIRECT => request.complete_with(|request| {
            let refused = request.output_buffer(1).err();
            if refused != Some(NtStatus::INVALID_DEVICE_REQUEST) {
                return Err(NtStatus::INTERNAL_ERROR);
            }
            let _value: u32 = request.read_input()?;
            let pages = request.in_direct_buffer(4)?;
            Ok(pages.len().min(4))
        }),
        IOCTL_PARK => match request.forward_to_queue(&widget.parked) {
            Ok(done) => done,
            Err((request, status)) => request.complete(status),
        },
        IOCTL_RELEASE => {
            match widget.device.retrieve_next_request(&widget.parked) {
                Ok(parked) => {
                    kd_print!("widget: releasing a parked request");
                    let _ = parked.complete_with_information(NtStatus::SUCCESS, 0);
                }
                Err(status) => kd_print!("widget: nothing parked ({status})"),
            }
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_STOP_READS => {
            widget.device.stop_queue(&widget.reads);
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_START_READS => {
            widget.device.start_queue(&widget.reads, widget);
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_PURGE_READS => {
            widget.device.purge_queue(&widget.reads);
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_TAKE_READ | IOCTL_DROP_READ => {
            let status = match widget.device.retrieve_next_request(&widget.reads) {
                Ok(AnyRequest::Read(read)) if code == IOCTL_TAKE_READ => {
                    kd_print!("widget: retrieved a read");
                    let _ = read.complete_with(|read| {
                        read.output_buffer(3)?[..3].copy_from_slice(b"abc");
                        Ok(3)
                    });
                    NtStatus::SUCCESS
                }
                Ok(other) => {
                    kd_print!("widget: dropping a retrieved request");
                    drop(other);
                    NtStatus::SUCCESS
                }
                Err(status) => status,
            };
            request.complete(status)
        }
        IOCTL_QUEUED => {
            let queued = u32::try_from(widget.parked.queued()).unwrap();
            request.complete_with(|request| request.write_output(&queued))
        }
        IOCTL_INFORMATION => {
            let mut request = request;
            request.set_information(3);
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_TARGET => match request.default_io_target() {
            Some(_) => request.complete(NtStatus::SUCCESS),
            None => request.complete(NtStatus::NOT_SUPPORTED),
        },
        IOCTL_COMPUTED_PENDING => request.complete(NtStatus::from_raw(0x103)),
        IOCTL_PURGE_UNDER_SPIN_LOCK => {
            let stored = widget.stored.lock();
            widget.device.purge_queue(&widget.reads);
            drop(stored);
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_COMPLETE_UNDER_SPIN_LOCK => {
            let stored = widget.stored.lock();
            let done = request.complete(NtStatus::SUCCESS);
            drop(stored);
            done
        }
        IOCTL_PURGE_PARKED => {
            widget.device.purge_queue(&widget.parked);
            request.complete(NtStatus::SUCCESS)
        }
        IOCTL_COUNT => {
            let total = match widget.counted.lock() {
                Ok(mut counted) => {
                    *counted += 1;
                    *counted
                }
                Err(status) => return request.complete(status),
            };
            request.complete_with(|request| request.write_output(&total))
        }
        IOCTL_COUNT_UNDER_SPIN_LOCK => {
            let stored = widget.stored.lock();
            let counted = widget.counted.lock().map(|counted| *counted);
            drop(stored);
            request.complete(counted.err().unwrap_or(NtStatus::SUCCESS))
        }
        IOCTL_BAD_INFORMATION => {
            let claimed = request.output_length() + 1;
            request.complete_with_information(NtStatus::SUCCESS, claimed)
        }
        _ => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

impl KmdfDriver for Widget {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        kd_print!("widget: DriverEntry");
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Widget")?;
        // A second instance finds the name taken: the init comes back and gets another name.
        let (device, link) = match init.create(driver) {
            Ok(device) => (device, r"\DosDevices\Widget"),
            Err((mut init, status)) => {
                kd_print!("widget: create failed with {status}, retrying as Widget2");
                init.assign_name(r"\Device\Widget2")?;
                let device = init.create(driver).map_err(|(_, status)| status)?;
                (device, r"\DosDevices\Widget2")
            }
        };
        device.create_symbolic_link(link)?;
        let reads = device.create_default_queue(
            QueueConfig::sequential()
                .on_read(widget_read)
                .on_write(widget_write)
                .allow_zero_length_requests()
                .on_cleanup(|_| kd_print!("widget: read queue cleanup")),
        )?;
        let ioctls =
            device.create_queue(QueueConfig::parallel().on_device_control(widget_ioctl))?;
        device.configure_request_dispatching(&ioctls, RequestType::DeviceControl)?;
        let parked = device.create_queue(QueueConfig::manual())?;
        device.on_cleanup(|_| kd_print!("widget: device cleanup"))?;
        device.allocate_context(
            || Stats {
                ioctls: std::sync::atomic::AtomicU32::new(0),
            },
            Some(|stats: &Stats| {
                let seen = stats.ioctls.load(std::sync::atomic::Ordering::Relaxed);
                kd_print!("widget: context cleanup after {seen} ioctls");
            }),
        )?;
        let again = device.allocate_context(|| panic!("not initialised twice"), None::<fn(&Stats)>);
        kd_print!("widget: second context: {}", again.err().unwrap());
        let device = device.finish_initializing();
        Ok(Self {
            device,
            reads,
            parked,
            stored: SpinLock::new(Vec::new()),
            counted: WaitLock::new(0)?,
        })
    }

    fn unload(&self) {
        kd_print!("widget: DriverUnload");
    }

    fn on_file_close(&self) {
        kd_print!("widget: close");
    }
}

fn widget() -> (IoManager, wdm_compat::host::DriverId) {
    let io = IoManager::new();
    let driver = io
        .load_driver("widget", wdf_safe::entry_point::<Widget>())
        .unwrap();
    (io, driver)
}

#[test]
fn a_request_completed_with_a_computed_pending_status_finishes_with_internal_error() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let result = handle.device_io_control(IOCTL_COMPUTED_PENDING, &[], 0);
    assert_eq!(result.status, NtStatus::INTERNAL_ERROR);
    assert!(
        io.trace()
            .iter()
            .any(|l| l.starts_with("completing with STATUS_PENDING refused")),
        "{:#?}",
        io.trace()
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn control_device_driver_runs_open_ioctl_write_read_close_unload() {
    let (io, driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let echo = handle.device_io_control(IOCTL_ECHO, &0xDEAD_BEEFu32.to_le_bytes(), 4);
    assert_eq!((echo.status, echo.information), (NtStatus::SUCCESS, 4));
    assert_eq!(echo.data, 0xDEAD_BEEFu32.to_le_bytes());
    let written = handle.write(b"hello");
    assert_eq!(
        (written.status, written.information),
        (NtStatus::SUCCESS, 5)
    );
    let read = handle.read(16);
    assert_eq!(
        (read.status, read.data.as_slice()),
        (NtStatus::SUCCESS, &b"hello"[..])
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    assert_eq!(
        io.trace(),
        [
            "widget: DriverEntry",
            "widget: second context: STATUS_OBJECT_NAME_EXISTS",
            "widget: ioctl 0x80002400",
            "widget: write of 5",
            "widget: read of 16",
            "widget: close",
            "widget: DriverUnload",
            "widget: read queue cleanup",
            "widget: device cleanup",
            "widget: context cleanup after 1 ioctls",
        ]
    );
}

#[test]
fn a_failed_create_hands_the_init_back_for_a_retry() {
    let io = IoManager::new();
    io.load_driver("first", wdf_safe::entry_point::<Widget>())
        .unwrap();
    io.load_driver("second", wdf_safe::entry_point::<Widget>())
        .unwrap();
    assert!(io.trace().iter().any(
        |l| l == "widget: create failed with STATUS_OBJECT_NAME_COLLISION, retrying as Widget2"
    ));
    let second = io.open(r"\\.\Widget2").unwrap();
    let echo = second.device_io_control(IOCTL_ECHO, &7u32.to_le_bytes(), 4);
    assert_eq!(echo.data, 7u32.to_le_bytes());
}

#[test]
fn buffer_retrieval_refuses_zero_length_buffers() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    // The queue allows zero-length requests, so the write reaches the driver, whose
    // WdfRequestRetrieveInputBuffer(minimum 0) still fails.
    let written = handle.write(&[]);
    assert_eq!(written.status, NtStatus::BUFFER_TOO_SMALL);
    assert!(io.trace().iter().any(|l| l == "widget: write of 0"));
    for (input, output) in [(0, 4), (3, 4), (4, 0), (4, 3)] {
        let result = handle.device_io_control(IOCTL_ECHO, &vec![1; input], output);
        assert_eq!(
            result.status,
            NtStatus::BUFFER_TOO_SMALL,
            "input {input}, output {output}"
        );
        assert_eq!(result.information, 0);
    }
    let oversized = handle.device_io_control(IOCTL_ECHO, &[9, 0, 0, 0, 1, 2, 3], 64);
    assert_eq!(
        (oversized.status, oversized.data.as_slice()),
        (NtStatus::SUCCESS, &[9, 0, 0, 0][..])
    );
}

#[test]
fn request_types_without_a_handler_are_invalid_device_requests() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let internal = handle.internal_device_control(IOCTL_ECHO, &[0; 4], 4);
    assert_eq!(internal.status, NtStatus::INVALID_DEVICE_REQUEST);
}

#[test]
fn manual_queue_holds_requests_until_the_driver_retrieves_them() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let parked = handle.device_io_control_async(IOCTL_PARK, &[], 0).unwrap();
    assert!(parked.returned_pending());
    assert!(!parked.is_complete());
    let release = handle.device_io_control(IOCTL_RELEASE, &[], 0);
    assert_eq!(release.status, NtStatus::SUCCESS);
    assert_eq!(parked.result().unwrap().status, NtStatus::SUCCESS);
    let trace = io.trace();
    let released = trace
        .iter()
        .position(|l| l == "widget: releasing a parked request")
        .unwrap();
    assert!(
        trace[..released]
            .iter()
            .any(|l| l == "widget: ioctl 0x80002404")
    );
    let again = handle.device_io_control(IOCTL_RELEASE, &[], 0);
    assert_eq!(again.status, NtStatus::SUCCESS);
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "widget: nothing parked (STATUS_NO_MORE_ENTRIES)")
    );
}

#[test]
fn sequential_queue_presents_one_request_at_a_time_and_purge_cancels_both() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let first = handle.read_async(8).unwrap();
    let second = handle.read_async(8).unwrap();
    // The driver holds the first (cancelable); the sequential queue keeps the second back.
    let reads_presented = io
        .trace()
        .iter()
        .filter(|l| l.starts_with("widget: read of"))
        .count();
    assert_eq!(reads_presented, 1);
    assert!(!first.is_complete() && !second.is_complete());
    assert_eq!(
        handle.device_io_control(IOCTL_PURGE_READS, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(first.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(second.result().unwrap().status, NtStatus::CANCELLED);
    assert!(io.trace().iter().any(|l| l == "widget: cancel routine"));
    // A purged queue accepts nothing more.
    assert_eq!(handle.read(8).status, NtStatus::INVALID_DEVICE_STATE);
}

#[test]
fn the_driver_retrieves_from_a_sequential_queue_while_it_holds_a_request() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let held = handle.read_async(8).unwrap();
    let waiting = handle.read_async(8).unwrap();
    // The driver retrieves the waiting read itself and completes it.
    assert_eq!(
        handle.device_io_control(IOCTL_TAKE_READ, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(waiting.result().unwrap().data, b"abc");
    // It still holds the first, so the sequential queue presents nothing new.
    let later = handle.read_async(8).unwrap();
    assert!(!held.is_complete() && !later.is_complete());
    let presented = io
        .trace()
        .iter()
        .filter(|l| l.starts_with("widget: read of"))
        .count();
    assert_eq!(presented, 1);
    assert_eq!(
        handle.device_io_control(IOCTL_PURGE_READS, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(held.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(later.result().unwrap().status, NtStatus::CANCELLED);
}

#[test]
fn a_stopped_queue_presents_nothing_refuses_retrieval_and_start_presents_what_waited() {
    let (io, _driver) = widget();
    io.set_strict(false);
    let handle = io.open(r"\\.\Widget").unwrap();
    assert_eq!(handle.write(b"xyz").status, NtStatus::SUCCESS);
    assert_eq!(
        handle.device_io_control(IOCTL_STOP_READS, &[], 0).status,
        NtStatus::SUCCESS
    );
    let waiting = handle.read_async(8).unwrap();
    assert!(!waiting.is_complete(), "a stopped queue presents nothing");
    // WdfIoQueueRetrieveNextRequest on a stopped queue: STATUS_WDF_PAUSED, which the framework
    // turns into STATUS_DEVICE_BUSY when the driver completes a request with it.
    let take = handle.device_io_control(IOCTL_TAKE_READ, &[], 0);
    assert_eq!(take.status, NtStatus::DEVICE_BUSY);
    // KMDF's verifier also breaks: retrieving from a sequential queue while the driver holds
    // none of its requests races with the framework's own presentation
    // (VerifyGetRequestUpdateFlags).
    let reports = io.take_violations();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(reports[0].message.contains("race"), "{reports:#?}");
    assert_eq!(
        handle.device_io_control(IOCTL_START_READS, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(waiting.result().unwrap().data, b"xyz");
    assert!(io.trace().iter().any(|l| l == "widget: read of 8"));
}

#[test]
fn a_request_cancelled_while_it_waits_in_a_stopped_queue_is_completed_by_the_framework() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    assert_eq!(
        handle.device_io_control(IOCTL_STOP_READS, &[], 0).status,
        NtStatus::SUCCESS
    );
    let read = handle.read_async(8).unwrap();
    assert!(!read.is_complete());
    // KMDF's queue holds the IRP with its own cancel routine (CancelForQueue): the sender's
    // cancellation completes it with STATUS_CANCELLED, stopped queue or not, and the driver
    // never sees it.
    let _ = read.cancel();
    assert_eq!(read.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(
        handle.device_io_control(IOCTL_START_READS, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert!(
        !io.trace().iter().any(|l| l == "widget: read of 8"),
        "{:#?}",
        io.trace()
    );
}

#[test]
fn a_request_cancelled_in_a_manual_queue_is_completed_and_never_retrieved() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let parked = handle.device_io_control_async(IOCTL_PARK, &[], 0).unwrap();
    assert!(!parked.is_complete());
    let _ = parked.cancel();
    assert_eq!(parked.result().unwrap().status, NtStatus::CANCELLED);
    // The driver's retrieval finds nothing: the cancelled request left the queue.
    let release = handle.device_io_control(IOCTL_RELEASE, &[], 0);
    assert_eq!(release.status, NtStatus::SUCCESS);
    assert!(
        io.trace()
            .iter()
            .any(|l| l.starts_with("widget: nothing parked")),
        "{:#?}",
        io.trace()
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn closing_a_handle_cancels_its_requests_waiting_in_queues_and_only_its_own() {
    let (io, _driver) = widget();
    let first = io.open(r"\\.\Widget").unwrap();
    let second = io.open(r"\\.\Widget").unwrap();
    let mine = first.device_io_control_async(IOCTL_PARK, &[], 0).unwrap();
    let theirs = second.device_io_control_async(IOCTL_PARK, &[], 0).unwrap();
    assert!(!mine.is_complete() && !theirs.is_complete());
    // IRP_MJ_CLEANUP of the first handle: KMDF flushes the queues by its file object.
    assert_eq!(first.close(), NtStatus::SUCCESS);
    assert_eq!(mine.result().unwrap().status, NtStatus::CANCELLED);
    assert!(!theirs.is_complete());
    // The other handle's parked request is still there for the driver.
    assert_eq!(
        second.device_io_control(IOCTL_RELEASE, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(theirs.result().unwrap().status, NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn marking_a_request_its_sender_cancelled_fails_and_the_driver_completes_it() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    std::thread::scope(|scope| {
        // The read of 5 bytes waits in its callback until the test has cancelled it.
        let reader = scope.spawn(|| handle.read(5));
        HOLD.wait_until(Held::Holding);
        // CancelIoEx while the driver holds the request: only the IRP's Cancel flag records it.
        assert_eq!(handle.cancel_io(), 1);
        HOLD.set(Held::Cancelled);
        let read = reader.join().unwrap();
        assert_eq!(read.status, NtStatus::CANCELLED);
    });
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "widget: read was cancelled already"),
        "{:#?}",
        io.trace()
    );
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "widget: is_canceled says true")
    );
    assert!(!io.trace().iter().any(|l| l == "widget: cancel routine"));
}

#[test]
fn unload_cancels_held_requests_and_runs_cleanup_children_first() {
    let (io, driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let read = handle.read_async(8).unwrap();
    assert!(!read.is_complete());
    drop(handle);
    io.unload_driver(driver).unwrap();
    assert_eq!(read.result().unwrap().status, NtStatus::CANCELLED);
    let trace = io.trace();
    let tail: Vec<&str> = trace
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "widget: DriverUnload",
            "widget: cancel routine",
            "widget: read queue cleanup",
            "widget: device cleanup",
            "widget: context cleanup after 0 ioctls",
        ]
    );
}

#[test]
fn verifier_reports_information_larger_than_the_buffer() {
    let (io, _driver) = widget();
    io.set_strict(false);
    let handle = io.open(r"\\.\Widget").unwrap();
    let _ = handle.device_io_control(IOCTL_BAD_INFORMATION, &[], 4);
    let reports = io.take_violations();
    let report = reports
        .iter()
        .find(|v| v.rule == Some("WDF_REQUEST_FATAL_ERROR_INFORMATION_LENGTH_MISMATCH"))
        .expect("reported");
    let bug_check = report.bug_check.unwrap();
    assert_eq!(
        (bug_check.code, bug_check.params[0], bug_check.params[1]),
        (0x10D, 6, 4)
    );
}

#[test]
fn a_dropped_request_is_reported_and_completed_with_status_cancelled() {
    let (io, driver) = widget();
    io.set_strict(false);
    let handle = io.open(r"\\.\Widget").unwrap();
    let held = handle.read_async(8).unwrap();
    let dropped = handle.read_async(8).unwrap();
    assert_eq!(
        handle.device_io_control(IOCTL_DROP_READ, &[], 0).status,
        NtStatus::SUCCESS
    );
    // The seam completes a request dropped without completion (KMDF would wait for it
    // forever) and says so in the debugger; a debug build also breaks into it.
    assert_eq!(dropped.result().unwrap().status, NtStatus::CANCELLED);
    assert!(
        io.trace().iter().any(
            |l| l.contains("dropped without being completed") && l.contains("RequestCompleted")
        ),
        "{:#?}",
        io.trace()
    );
    let reports = io.take_violations();
    assert!(
        reports
            .iter()
            .any(|v| v.message.contains("WdfVerifierDbgBreakPoint")),
        "{reports:#?}"
    );
    drop(handle);
    io.unload_driver(driver).unwrap();
    // The held read was cancelable: unload cancels it through its cancel routine.
    assert_eq!(held.result().unwrap().status, NtStatus::CANCELLED);
    assert!(io.take_violations().is_empty());
}

/// A driver that forgets `WdfControlFinishInitializing`.
struct Unfinished;

impl KmdfDriver for Unfinished {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Unfinished")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Unfinished")?;
        Ok(Self)
    }
}

#[test]
fn a_control_device_never_finished_is_reported_and_still_opens_as_on_windows() {
    let io = IoManager::new();
    io.set_strict(false);
    io.load_driver("unfinished", wdf_safe::entry_point::<Unfinished>())
        .unwrap();
    let reports = io.take_violations();
    assert!(
        reports
            .iter()
            .any(|v| v.rule == Some("CtlDeviceFinishInitDrEntry")),
        "{reports:#?}"
    );
    // The I/O manager clears DO_DEVICE_INITIALIZING on every device a DriverEntry created
    // (IopReadyDeviceObjects), so the device opens even so; the framework completes the create
    // itself (no create queue, no EvtDeviceFileCreate).
    let handle = io.open(r"\\.\Unfinished").unwrap();
    assert_eq!(handle.close(), NtStatus::SUCCESS);
}

#[test]
fn a_purge_at_dispatch_level_is_refused_by_the_seam_before_the_framework_sees_it() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let result = handle.device_io_control(IOCTL_PURGE_UNDER_SPIN_LOCK, &[], 0);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert!(
        io.trace()
            .iter()
            .any(|l| l.starts_with("WdfIoQueuePurgeSynchronously refused at IRQL 2")),
        "{:#?}",
        io.trace()
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    // The read queue was not purged: it still takes requests.
    assert_eq!(handle.write(b"abc").status, NtStatus::SUCCESS);
    assert_eq!(handle.read(3).data, b"abc");
}

#[test]
fn a_kmdf_driver_may_complete_a_request_while_holding_a_spin_lock() {
    // SpinLockSafe is a WDM rule: KMDF lets WdfRequestComplete run at DISPATCH_LEVEL under a
    // spin lock (the WDM side of the same check: host_verifier.rs).
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let result = handle.device_io_control(IOCTL_COMPLETE_UNDER_SPIN_LOCK, &[], 0);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_wait_lock_serves_passive_callers_and_the_verifier_reports_one_taken_under_a_spin_lock() {
    let (io, _driver) = widget();
    io.set_strict(false);
    let handle = io.open(r"\\.\Widget").unwrap();
    for expected in 1..=2u32 {
        let count = handle.device_io_control(IOCTL_COUNT, &[], 4);
        assert_eq!(count.data, expected.to_le_bytes());
    }
    assert!(io.take_violations().is_empty());
    // Refused, not spun on at DISPATCH_LEVEL.
    let refused = handle.device_io_control(IOCTL_COUNT_UNDER_SPIN_LOCK, &[], 0);
    assert_eq!(refused.status, NtStatus::INVALID_DEVICE_REQUEST);
    let reports = io.take_violations();
    assert!(
        reports.iter().any(|v| v.rule == Some("KmdfIrql")),
        "{reports:#?}"
    );
}

#[test]
fn unmarking_after_a_cancellation_reports_it_and_the_cancel_routine_completes() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let read = handle.read(7);
    assert_eq!(read.status, NtStatus::CANCELLED);
    let trace = io.trace();
    let unmarked = trace
        .iter()
        .position(|l| l == "widget: unmark says the request was cancelled");
    let cancelled = trace.iter().position(|l| l == "widget: cancel routine");
    assert!(
        cancelled.is_some() && unmarked.is_some() && cancelled < unmarked,
        "{trace:#?}"
    );
}

#[test]
fn buffers_of_every_transfer_method_are_checked_against_their_length() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    for code in [IOCTL_ECHO, IOCTL_ECHO_DIRECT, IOCTL_ECHO_IN_DIRECT] {
        // Zero-length, one byte short and absent buffers: STATUS_BUFFER_TOO_SMALL, nothing back.
        for (input, output) in [(0, 4), (3, 4), (4, 3), (4, 0)] {
            let result = handle.device_io_control(code, &vec![1; input], output);
            assert_eq!(
                result.status,
                NtStatus::BUFFER_TOO_SMALL,
                "{code:#x}: {input}/{output}"
            );
            assert_eq!(result.information, 0);
        }
        // Oversized: the value and 4 bytes (METHOD_IN_DIRECT: 4 bytes read, none written).
        let result = handle.device_io_control_with(code, &[5, 0, 0, 0, 9, 9], vec![7; 16]);
        assert_eq!(
            (result.status, result.information),
            (NtStatus::SUCCESS, 4),
            "{code:#x}"
        );
        let echoed: &[u8] = if code == IOCTL_ECHO_IN_DIRECT {
            &[7; 4]
        } else {
            &[5, 0, 0, 0]
        };
        assert_eq!(&result.output[..4], echoed, "{code:#x}");
    }
    // METHOD_NEITHER from user mode: no safe access to the caller's memory.
    let neither = handle.device_io_control(IOCTL_ECHO_NEITHER, &[5, 0, 0, 0], 4);
    assert_eq!(neither.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(neither.output, [0; 4]);
}

/// A driver whose DriverEntry tries the framework's refusals and prints each outcome.
struct Refusals;

fn refusals_read<'r>(_driver: &Refusals, request: Request<'r, Read>) -> RequestDone<'r> {
    kd_print!("refusals: read of {}", request.length());
    request.complete(NtStatus::SUCCESS)
}

fn refusals_write<'r>(_driver: &Refusals, request: Request<'r, Write>) -> RequestDone<'r> {
    kd_print!("refusals: write of {}", request.length());
    let length = request.length();
    request.complete_with_information(NtStatus::SUCCESS, length)
}

impl KmdfDriver for Refusals {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        // A device without a name cannot get a symbolic link.
        let unnamed = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL).unwrap();
        let unnamed = unnamed.create(driver).map_err(|(_, status)| status)?;
        kd_print!(
            "link without a name: {}",
            unnamed.create_symbolic_link(r"\DosDevices\X").unwrap_err()
        );
        let _ = unnamed.finish_initializing();

        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL).unwrap();
        kd_print!("bad name: {}", init.assign_name("Refusals").unwrap_err());
        init.assign_name(r"\Device\Refusals")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Refusals")?;
        kd_print!(
            "second link: {}",
            device
                .create_symbolic_link(r"\DosDevices\Again")
                .unwrap_err()
        );
        let empty = device.create_queue(QueueConfig::<Sequential, Self>::sequential());
        kd_print!("presenting queue without callbacks: {}", empty.unwrap_err());
        // No AllowZeroLengthRequests: the framework completes zero-length reads and writes.
        let default = device.create_default_queue(
            QueueConfig::sequential()
                .on_read(refusals_read)
                .on_write(refusals_write),
        )?;
        let second = device.create_default_queue(QueueConfig::sequential().on_read(refusals_read));
        kd_print!("second default queue: {}", second.unwrap_err());
        let to_default = device.configure_request_dispatching(&default, RequestType::Read);
        kd_print!(
            "dispatching to the default queue: {}",
            to_default.unwrap_err()
        );
        let reads = device.create_queue(QueueConfig::sequential().on_read(refusals_read))?;
        let wrong_type = device.configure_request_dispatching(&reads, RequestType::Write);
        kd_print!(
            "dispatching a type without a callback: {}",
            wrong_type.unwrap_err()
        );
        device.configure_request_dispatching(&reads, RequestType::Read)?;
        let other = device.create_queue(QueueConfig::sequential().on_read(refusals_read))?;
        let busy = device.configure_request_dispatching(&other, RequestType::Read);
        kd_print!("type bound twice: {}", busy.unwrap_err());
        let ready = device.finish_initializing();
        // A queue that only receives what the driver forwards can still be created.
        let late = ready.create_queue(QueueConfig::<Manual, Self>::manual());
        kd_print!("manual queue after finishing: {}", late.is_ok());
        Ok(Self)
    }
}

#[test]
fn the_framework_refuses_what_kmdf_refuses_with_its_statuses() {
    let io = IoManager::new();
    io.load_driver("refusals", wdf_safe::entry_point::<Refusals>())
        .unwrap();
    assert_eq!(
        io.trace(),
        [
            "link without a name: STATUS_INVALID_DEVICE_STATE",
            "bad name: STATUS_OBJECT_NAME_INVALID",
            "second link: STATUS_INVALID_DEVICE_REQUEST",
            "presenting queue without callbacks: STATUS_WDF_NO_CALLBACK",
            "second default queue: STATUS_UNSUCCESSFUL",
            "dispatching to the default queue: STATUS_INVALID_DEVICE_REQUEST",
            "dispatching a type without a callback: STATUS_INVALID_DEVICE_REQUEST",
            "type bound twice: STATUS_WDF_BUSY",
            "manual queue after finishing: true",
        ]
    );
    // The device works: reads go to the dedicated queue and complete.
    let handle = io.open(r"\\.\Refusals").unwrap();
    assert_eq!(handle.read(4).status, NtStatus::SUCCESS);
}

#[test]
fn zero_length_reads_and_writes_are_completed_by_the_framework_unless_allowed() {
    let io = IoManager::new();
    io.load_driver("refusals", wdf_safe::entry_point::<Refusals>())
        .unwrap();
    let handle = io.open(r"\\.\Refusals").unwrap();
    let read = handle.read(0);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 0));
    let written = handle.write(&[]);
    assert_eq!(
        (written.status, written.information),
        (NtStatus::SUCCESS, 0)
    );
    assert!(
        !io.trace().iter().any(|l| l.starts_with("refusals: ")),
        "the driver saw a zero-length request: {:#?}",
        io.trace()
    );
    // Non-empty ones reach the callbacks.
    assert_eq!(handle.write(b"ab").information, 2);
    assert_eq!(handle.read(3).status, NtStatus::SUCCESS);
    let trace = io.trace();
    let seen: Vec<&str> = trace
        .iter()
        .filter(|l| l.starts_with("refusals: "))
        .map(String::as_str)
        .collect();
    assert_eq!(seen, ["refusals: write of 2", "refusals: read of 3"]);
}

#[test]
fn verifier_reports_no_io_queue_purge_synchronously_from_the_queues_own_callback() {
    // The read callback purges its own queue while holding the request: KMDF would wait for
    // that request forever.
    let (io, _driver) = widget();
    io.set_strict(false);
    let handle = io.open(r"\\.\Widget").unwrap();
    let read = handle.read(9);
    assert_eq!(read.status, NtStatus::SUCCESS);
    let reports = io.take_violations();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].rule, Some("NoIoQueuePurgeSynchronously"));
    assert!(
        reports[0].message.contains("at queue purge"),
        "{reports:#?}"
    );
}

#[test]
#[should_panic(expected = "rule NoIoQueuePurgeSynchronously")]
fn strict_mode_fails_the_test_at_the_user_side_call() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let _ = handle.read(9);
}

#[test]
fn simulations_on_parallel_threads_each_reach_their_own_driver() {
    let threads: Vec<_> = (0..8u32)
        .map(|n| {
            std::thread::spawn(move || {
                let (io, driver) = widget();
                let handle = io.open(r"\\.\Widget").unwrap();
                for round in 0..50u32 {
                    let value = n * 1000 + round;
                    let echo = handle.device_io_control(IOCTL_ECHO, &value.to_le_bytes(), 4);
                    assert_eq!(echo.data, value.to_le_bytes());
                }
                let text = format!("thread {n}");
                assert_eq!(handle.write(text.as_bytes()).status, NtStatus::SUCCESS);
                assert_eq!(handle.read(16).data, text.as_bytes());
                drop(handle);
                io.unload_driver(driver).unwrap();
                let ioctls = io
                    .trace()
                    .iter()
                    .filter(|l| l.starts_with("widget: ioctl"))
                    .count();
                assert_eq!(ioctls, 50);
                assert!(
                    io.trace()
                        .iter()
                        .any(|l| l == "widget: context cleanup after 50 ioctls")
                );
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn a_queue_counts_what_waits_and_a_purged_queue_refuses_forwarded_requests() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let queued = |handle: &wdm_compat::host::FileHandle| {
        let result = handle.device_io_control(IOCTL_QUEUED, &[], 4);
        u32::from_le_bytes(result.data.try_into().unwrap())
    };
    assert_eq!(queued(&handle), 0);
    let first = handle.device_io_control_async(IOCTL_PARK, &[], 0).unwrap();
    let second = handle.device_io_control_async(IOCTL_PARK, &[], 0).unwrap();
    assert_eq!(queued(&handle), 2);
    // Purging the manual queue cancels what waits in it; it accepts nothing afterwards, so a
    // forward to it fails with STATUS_WDF_BUSY, which the framework completes as
    // STATUS_DEVICE_BUSY.
    assert_eq!(
        handle.device_io_control(IOCTL_PURGE_PARKED, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(first.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(second.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(queued(&handle), 0);
    let refused = handle.device_io_control(IOCTL_PARK, &[], 0);
    assert_eq!(refused.status, NtStatus::DEVICE_BUSY);
}

#[test]
fn set_information_is_what_complete_reports_and_a_control_device_has_no_io_target() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let result = handle.device_io_control(IOCTL_INFORMATION, &[], 4);
    assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 3));
    let target = handle.device_io_control(IOCTL_TARGET, &[], 0);
    assert_eq!(target.status, NtStatus::NOT_SUPPORTED);
}

#[test]
fn a_request_marked_cancelable_and_unmarked_is_the_drivers_again() {
    let (io, _driver) = widget();
    let handle = io.open(r"\\.\Widget").unwrap();
    let read = handle.read(6);
    assert_eq!(read.status, NtStatus::SUCCESS);
    assert!(
        io.trace()
            .iter()
            .any(|l| l == "widget: unmarked, completing")
    );
    assert!(!io.trace().iter().any(|l| l == "widget: cancel routine"));
}
