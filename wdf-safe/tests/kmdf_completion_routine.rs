//! A request sent on with the driver's own completion routine (`WdfRequestSend` after
//! `WdfRequestFormatRequestUsingCurrentType` and `WdfRequestSetCompletionRoutine`), through the
//! shipped seam and the simulated KMDF: a filter's routine gets each request back with the
//! device below's outcome and finishes it itself, changing a successful answer; a failure below
//! reaches the routine as the status; a request the device below answers later waits for it,
//! and its routine runs then; a request the routine sends back down again is answered by the
//! last trip. Routines run at DISPATCH_LEVEL.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::Mutex;

use wdf_safe::kind::DeviceControl;
use wdf_safe::request::SentOutcome;
use wdf_safe::{
    DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request, RequestDone,
};
use wdm_compat::host::{IoManager, IrpId, IrpParameters, KernelCalls, ScriptedDriver, major};

/// Answered below at once: the input `u32` doubled.
const IOCTL_DOUBLE: u32 = 0x0022_2000;
/// Failed below with `STATUS_INVALID_PARAMETER`.
const IOCTL_FAIL: u32 = 0x0022_2004;
/// Kept below until the test completes it, at DISPATCH_LEVEL.
const IOCTL_LATER: u32 = 0x0022_2008;
/// Answered below with 1, then 2, …: the routine sends it down until the answer is 3.
const IOCTL_COUNT: u32 = 0x0022_200C;

/// What each run of the routine saw: the code, the outcome, the IRQL.
static SEEN: Mutex<Vec<(u32, SentOutcome, u8)>> = Mutex::new(Vec::new());
/// The IRP the device below keeps for `IOCTL_LATER`.
static KEPT: Mutex<Option<(KernelCalls, IrpId)>> = Mutex::new(None);

struct Adder;

fn on_ioctl<'r>(_: &Adder, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let Some(target) = request.default_io_target() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    match request.send_with_completion_routine::<Adder>(&target, answered) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

/// The completion routine: adds one to a successful answer, or sends a count down again.
fn answered<'c>(
    _: &Adder,
    mut request: Request<'c, DeviceControl>,
    outcome: SentOutcome,
) -> RequestDone<'c> {
    let code = request.ioctl_code().to_raw();
    SEEN.lock()
        .unwrap()
        .push((code, outcome, wdm_compat::host::simulated_irql()));
    if !outcome.status.is_success() {
        return request.complete(outcome.status);
    }
    let Ok(out) = request.output_buffer(4) else {
        return request.complete(NtStatus::BUFFER_TOO_SMALL);
    };
    let value = u32::from_le_bytes(out[..4].try_into().unwrap());
    if code == IOCTL_COUNT && value < 3 {
        let Some(target) = request.default_io_target() else {
            return request.complete(NtStatus::INVALID_DEVICE_STATE);
        };
        return match request.send_with_completion_routine::<Adder>(&target, answered) {
            Ok(done) => done,
            Err((request, status)) => request.complete(status),
        };
    }
    out[..4].copy_from_slice(&(value + 1).to_le_bytes());
    request.complete_with_information(NtStatus::SUCCESS, outcome.information)
}

impl KmdfDriver for Adder {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        device.create_default_queue(QueueConfig::parallel().on_device_control(on_ioctl))?;
        Ok(())
    }
}

fn lower() -> ScriptedDriver {
    let counted = std::sync::atomic::AtomicU32::new(0);
    common::pnp_bus().on(major::DEVICE_CONTROL, move |k, _device, irp| {
        let IrpParameters::DeviceControl { code, .. } = k.parameters(irp) else {
            panic!("a device control");
        };
        let answer = match code {
            IOCTL_FAIL => {
                k.complete(irp, NtStatus::INVALID_PARAMETER, 0);
                return NtStatus::INVALID_PARAMETER;
            }
            IOCTL_LATER => {
                k.mark_pending(irp);
                *KEPT.lock().unwrap() = Some((k.clone(), irp));
                return NtStatus::PENDING.status();
            }
            IOCTL_COUNT => counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1,
            _ => {
                let input = k.system_buffer(irp);
                u32::from_le_bytes(input[..4].try_into().unwrap()) * 2
            }
        };
        k.write_system_buffer(irp, 0, &answer.to_le_bytes())
            .unwrap();
        k.complete(irp, NtStatus::SUCCESS, 4);
        NtStatus::SUCCESS
    })
}

fn outcome(status: NtStatus, information: usize) -> SentOutcome {
    SentOutcome {
        status,
        information,
    }
}

#[test]
fn a_filters_completion_routine_finishes_each_request_it_sent_down() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", lower()).unwrap();
    let driver = io
        .load_driver("addr", wdf_safe::entry_point::<Adder>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\AddrPdo");
    let handle = node.open().unwrap();

    // Answered at once: the routine adds one. Routines run at DISPATCH_LEVEL (as when the
    // IRP is completed from a DPC: the simulation's worst case), whoever completes.
    let answer = handle.device_io_control(IOCTL_DOUBLE, &20u32.to_le_bytes(), 4);
    assert_eq!(answer.status, NtStatus::SUCCESS);
    assert_eq!(answer.data, 41u32.to_le_bytes());
    assert_eq!(
        SEEN.lock().unwrap().pop(),
        Some((IOCTL_DOUBLE, outcome(NtStatus::SUCCESS, 4), 2))
    );

    // A failure below is the routine's to pass on.
    let failed = handle.device_io_control(IOCTL_FAIL, &1u32.to_le_bytes(), 4);
    assert_eq!(failed.status, NtStatus::INVALID_PARAMETER);
    assert_eq!(
        SEEN.lock().unwrap().pop(),
        Some((IOCTL_FAIL, outcome(NtStatus::INVALID_PARAMETER, 0), 2))
    );

    // Answered later: the client waits, and the routine runs only then.
    let later = handle
        .device_io_control_async(IOCTL_LATER, &5u32.to_le_bytes(), 4)
        .unwrap();
    let (k, irp) = KEPT
        .lock()
        .unwrap()
        .take()
        .expect("the device kept the IRP");
    assert!(later.result().is_none(), "the client's request waits");
    assert!(SEEN.lock().unwrap().is_empty(), "no routine ran yet");
    k.write_system_buffer(irp, 0, &70u32.to_le_bytes()).unwrap();
    k.complete(irp, NtStatus::SUCCESS, 4);
    let answer = later.wait(core::time::Duration::from_secs(10)).unwrap();
    drop(later);
    assert_eq!(answer.status, NtStatus::SUCCESS);
    assert_eq!(answer.data, 71u32.to_le_bytes());
    assert_eq!(
        SEEN.lock().unwrap().pop(),
        Some((IOCTL_LATER, outcome(NtStatus::SUCCESS, 4), 2))
    );

    // Sent down again from the routine until the device below says 3.
    let counted = handle.device_io_control(IOCTL_COUNT, &[0; 4], 4);
    assert_eq!(counted.status, NtStatus::SUCCESS);
    assert_eq!(counted.data, 4u32.to_le_bytes());
    assert_eq!(
        SEEN.lock()
            .unwrap()
            .drain(..)
            .map(|(code, outcome, _)| (code, outcome))
            .collect::<Vec<_>>(),
        [(IOCTL_COUNT, outcome(NtStatus::SUCCESS, 4)); 3]
    );

    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
