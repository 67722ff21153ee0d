//! # kmdf-echo
//!
//! Microsoft's KMDF echo sample (`general/echo/kmdf`, DriverSync) written with wdf-safe: a PnP
//! function device of a root-enumerated node (`root\ECHO`), opened through its device
//! interface [`GUID_DEVINTERFACE_ECHO`]. It shows asynchronous I/O the KMDF way:
//!
//! * A write stores its bytes (at most [`MAX_WRITE_LENGTH`]; longer fails with
//!   `STATUS_BUFFER_OVERFLOW`) and a read asks for them back (one with nothing stored completes
//!   at once with 0 bytes) — but neither completes in its callback: each waits in a manual queue
//!   until the device's periodic timer ([`TIMER_PERIOD_MS`]) takes it out and completes it, one
//!   request per tick, in order. A write completes with its length, a read with what was stored
//!   (cut to its length).
//! * While a request waits, its sender can cancel it (or close its handle): the framework takes
//!   it out of the queue and hands it back (`EvtIoCanceledOnQueue`), and the driver completes it
//!   with `STATUS_CANCELLED`. The timer then never sees it, so the race the C sample settles
//!   with a cancel routine and a completion-ownership count cannot complete a request twice
//!   here: a request is in the queue or in the driver's hands, never both.
//! * The default queue is sequential: the framework presents one request at a time, as in the C
//!   sample.
//! * Self-managed I/O drives both, as in the C sample: `EvtDeviceSelfManagedIoInit` and
//!   `…Restart` start the default queue and the timer; `…Suspend` (before the device leaves D0,
//!   or is removed) stops the queue, waiting for the request it presented to be done with, and
//!   stops the timer, waiting for a tick in progress. While the device is in D3 nothing
//!   completes: new requests wait in the default queue, and waiting ones stay waiting.
//!
//! Where the C sample serializes the timer with the queue (`AutomaticSerialization`) and keeps
//! the current request in the queue context, this port keeps waiting requests in a manual queue
//! and the stored bytes behind a spin lock; wdf-safe can express the C sample's way too
//! (`QueueConfig::synchronized`, `Device::create_serialized_timer`, `CancelableRequest::keep`).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

use wdf_safe::device::FdoInit;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Manual, Read, Sequential, Write};
use wdf_safe::pnp_power::PnpPowerCallbacks;
use wdf_safe::timer::{Timer, TimerConfig};
use wdf_safe::{
    AnyRequest, Device, DriverContext, Guid, KmdfDriver, NtResult, NtStatus, Queue, QueueConfig,
    Request, RequestDone, SpinLock, StaticQueue,
};
use wdm_compat::kd_print;

/// `GUID_DEVINTERFACE_ECHO`, the interface the C sample's clients open:
/// `{CDC35B6E-0BE4-4936-BF5F-5537380A7C1A}`.
pub const GUID_DEVINTERFACE_ECHO: Guid = Guid {
    data1: 0xCDC3_5B6E,
    data2: 0x0BE4,
    data3: 0x4936,
    data4: [0xBF, 0x5F, 0x55, 0x37, 0x38, 0x0A, 0x7C, 0x1A],
};

/// The longest write the device stores, as in the C sample.
pub const MAX_WRITE_LENGTH: usize = 40 * 1024;

/// How often the timer completes the request that waits longest, in milliseconds (the first
/// tick comes that long after the device was added).
pub const TIMER_PERIOD_MS: u32 = 100;

/// The driver: the one echo device's waiting requests and timer, and the bytes last written.
pub struct KmdfEcho {
    device: SpinLock<Option<EchoDevice>>,
    stored: SpinLock<Vec<u8>>,
}

/// What the device's callbacks share (handles: the queues and the timer are the framework's,
/// and go with the device).
#[derive(Clone, Copy)]
struct EchoDevice {
    /// The default queue, which presents reads and writes.
    presented: Queue<Sequential>,
    /// Requests waiting for the timer.
    waiting: Queue<Manual>,
    /// Completes the request that waited longest, every [`TIMER_PERIOD_MS`].
    timer: Timer<KmdfEcho>,
}

impl KmdfEcho {
    /// Queues `request` for the timer, or completes it with why that failed.
    fn wait_for_timer<'r, K>(&self, request: Request<'r, K>) -> RequestDone<'r>
    where
        K: wdf_safe::kind::RequestKind,
    {
        let Some(device) = *self.device.lock() else {
            return request.complete(NtStatus::INVALID_DEVICE_STATE);
        };
        match request.forward_to_queue(&device.waiting) {
            Ok(done) => done,
            Err((request, status)) => request.complete(status),
        }
    }
}

/// `EvtIoWrite`: store the bytes, then wait for the timer.
fn echo_write<'r>(echo: &KmdfEcho, mut request: Request<'r, Write>) -> RequestDone<'r> {
    let length = request.length();
    if length > MAX_WRITE_LENGTH {
        kd_print!("[kmdf-echo] write of {length} bytes refused: at most {MAX_WRITE_LENGTH}");
        return request.complete_with_information(NtStatus::BUFFER_OVERFLOW, 0);
    }
    let stored = match request.input_buffer(0) {
        Ok(input) => {
            let mut stored = echo.stored.lock();
            stored.clear();
            if stored.try_reserve_exact(input.len()).is_err() {
                Err(NtStatus::INSUFFICIENT_RESOURCES)
            } else {
                stored.extend_from_slice(input);
                Ok(())
            }
        }
        // A zero-length write stores nothing.
        Err(NtStatus::BUFFER_TOO_SMALL) if length == 0 => {
            echo.stored.lock().clear();
            Ok(())
        }
        Err(status) => Err(status),
    };
    if let Err(status) = stored {
        return request.complete(status);
    }
    kd_print!("[kmdf-echo] write of {length} bytes waits for the timer");
    echo.wait_for_timer(request)
}

/// `EvtIoRead`: nothing stored completes at once; otherwise wait for the timer.
fn echo_read<'r>(echo: &KmdfEcho, request: Request<'r, Read>) -> RequestDone<'r> {
    if echo.stored.lock().is_empty() {
        return request.complete_with_information(NtStatus::SUCCESS, 0);
    }
    echo.wait_for_timer(request)
}

/// `EvtIoCanceledOnQueue` of the waiting queue: a request cancelled while it waited for the
/// timer comes back here (the framework would complete it the same way without this callback;
/// the C sample's cancel routine says so in the debugger, and so does this).
fn waiting_canceled<'r>(_echo: &KmdfEcho, request: AnyRequest<'r>) -> RequestDone<'r> {
    kd_print!("[kmdf-echo] a waiting request was cancelled");
    request.complete_with_information(NtStatus::CANCELLED, 0)
}

/// `EvtDeviceSelfManagedIoInit` and `…Restart`: the queue presents again and the timer runs.
fn start_io(echo: &KmdfEcho, device: Device<KmdfEcho, Ready>) -> NtResult {
    let Some(state) = *echo.device.lock() else {
        return Err(NtStatus::INVALID_DEVICE_STATE);
    };
    device.start_queue(&state.presented, echo);
    state.timer.start(TIMER_PERIOD_MS);
    kd_print!("[kmdf-echo] self-managed I/O started");
    Ok(())
}

/// `EvtDeviceSelfManagedIoSuspend`, at PASSIVE_LEVEL: the queue stops presenting (after the
/// request it presented is done with) and the timer stops (after a tick in progress).
fn suspend_io(echo: &KmdfEcho, device: Device<KmdfEcho, Ready>) -> NtResult {
    let Some(state) = *echo.device.lock() else {
        return Ok(());
    };
    device.stop_queue_synchronously(&state.presented)?;
    state.timer.stop_and_wait()?;
    kd_print!("[kmdf-echo] self-managed I/O suspended");
    Ok(())
}

/// `EvtTimerFunc`, at DISPATCH_LEVEL: completes the request that waited longest.
fn tick(echo: &KmdfEcho, device: Device<KmdfEcho, Ready>) {
    let Some(state) = *echo.device.lock() else {
        return;
    };
    let Ok(request) = device.retrieve_next_request(&state.waiting) else {
        return;
    };
    match request {
        AnyRequest::Write(request) => {
            let length = request.length();
            kd_print!("[kmdf-echo] timer completes a write of {length} bytes");
            let _done = request.complete_with_information(NtStatus::SUCCESS, length);
        }
        AnyRequest::Read(mut request) => {
            let copied = match request.output_buffer(1) {
                Ok(output) => {
                    let stored = echo.stored.lock();
                    let count = output.len().min(stored.len());
                    if let (Some(to), Some(from)) = (output.get_mut(..count), stored.get(..count)) {
                        to.copy_from_slice(from);
                    }
                    Ok(count)
                }
                Err(status) => Err(status),
            };
            let _done = match copied {
                Ok(count) => {
                    kd_print!("[kmdf-echo] timer completes a read with {count} bytes");
                    request.complete_with_information(NtStatus::SUCCESS, count)
                }
                Err(status) => request.complete(status),
            };
        }
        other => {
            let _done = other.complete_with_information(NtStatus::INVALID_DEVICE_REQUEST, 0);
        }
    }
}

/// The device's default queue, sequential as the C sample's: one request at a time. A
/// constant, so KMDF's `EvtIoRead` and `EvtIoWrite` call these functions directly.
struct EchoQueue;

impl StaticQueue<KmdfEcho> for EchoQueue {
    type Kind = Sequential;
    const CONFIG: QueueConfig<Sequential, KmdfEcho> = QueueConfig::sequential()
        .on_read(echo_read)
        .on_write(echo_write);
}

impl KmdfDriver for KmdfEcho {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        kd_print!("[kmdf-echo] DriverEntry");
        Ok(Self {
            device: SpinLock::new(None),
            stored: SpinLock::new(Vec::new()),
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        if self.device.lock().is_some() {
            // One echo device per driver, as the sample's single root node.
            return Err(NtStatus::DEVICE_BUSY);
        }
        init.set_pnp_power_callbacks(
            PnpPowerCallbacks::new()
                .on_self_managed_io_init(start_io)
                .on_self_managed_io_restart(start_io)
                .on_self_managed_io_suspend(suspend_io),
        );
        let device = init.create().map_err(|(_init, status)| status)?;
        device.create_device_interface(&GUID_DEVINTERFACE_ECHO)?;
        let presented = device.create_static_default_queue::<EchoQueue>()?;
        let waiting =
            device.create_queue(QueueConfig::manual().on_canceled_on_queue(waiting_canceled))?;
        let timer: Timer<Self> =
            device.create_timer(TimerConfig::periodic(TIMER_PERIOD_MS, tick))?;
        *self.device.lock() = Some(EchoDevice {
            presented,
            waiting,
            timer,
        });
        kd_print!("[kmdf-echo] device added");
        Ok(())
    }

    fn unload(&self) {
        kd_print!("[kmdf-echo] DriverUnload");
    }
}
