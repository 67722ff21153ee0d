//! A request sent synchronously (`WdfRequestSend` with `WDF_REQUEST_SEND_OPTION_SYNCHRONOUS`
//! after `WdfRequestFormatRequestUsingCurrentType`), through the shipped seam and the simulated
//! KMDF: a filter sends a device control down, gets it back with what the device below wrote,
//! changes the answer and completes it; a failure below comes back as the status; above
//! PASSIVE_LEVEL the send is refused before anything is sent.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use core::num::NonZeroU32;

use wdf_safe::io_target::SendTimeout;
use wdf_safe::kind::DeviceControl;
use wdf_safe::{
    DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request, RequestDone,
    SpinLock,
};
use wdm_compat::host::{IoManager, IrpParameters, ScriptedDriver, major};

/// Answered below: the input `u32` doubled.
const IOCTL_DOUBLE: u32 = 0x0022_2000;
/// Failed below with `STATUS_INVALID_PARAMETER`.
const IOCTL_FAIL: u32 = 0x0022_2004;
/// The filter tries to send it while holding a spin lock.
const IOCTL_AT_DISPATCH: u32 = 0x0022_2008;

struct Adder {
    lock: SpinLock<()>,
}

fn timeout() -> SendTimeout {
    SendTimeout::milliseconds(NonZeroU32::new(1000).unwrap())
}

fn on_ioctl<'r>(adder: &Adder, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let Some(target) = request.default_io_target() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    if request.ioctl_code().to_raw() == IOCTL_AT_DISPATCH {
        let guard = adder.lock.lock();
        let sent = request.send_synchronously(&target, timeout());
        drop(guard);
        // Refused, and still ours: nothing went down.
        let Err((request, status)) = sent else {
            panic!("sent at DISPATCH_LEVEL");
        };
        assert_eq!(status, NtStatus::INVALID_DEVICE_REQUEST);
        return request.complete(status);
    }
    let (mut request, status) = match request.send_synchronously(&target, timeout()) {
        Ok(sent) => sent,
        Err((request, status)) => return request.complete(status),
    };
    if !status.is_success() {
        return request.complete(status);
    }
    // Back with the lower driver's answer in the buffer: add one to it.
    let information = request.information();
    let answer = request.output_buffer(4).map(|out| {
        let value = u32::from_le_bytes(out[..4].try_into().unwrap()) + 1;
        out[..4].copy_from_slice(&value.to_le_bytes());
    });
    match answer {
        Ok(()) => request.complete_with_information(NtStatus::SUCCESS, information),
        Err(status) => request.complete(status),
    }
}

impl KmdfDriver for Adder {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self {
            lock: SpinLock::new(()),
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        device.create_default_queue(QueueConfig::parallel().on_device_control(on_ioctl))?;
        Ok(())
    }
}

fn lower() -> ScriptedDriver {
    ScriptedDriver::new()
        .succeeding(&[
            major::CREATE,
            major::CLEANUP,
            major::CLOSE,
            major::PNP,
            major::POWER,
        ])
        .on(major::DEVICE_CONTROL, |k, _device, irp| {
            let IrpParameters::DeviceControl { code, .. } = k.parameters(irp) else {
                panic!("a device control");
            };
            assert_ne!(code, IOCTL_AT_DISPATCH, "a refused send reached the device");
            if code == IOCTL_FAIL {
                k.complete(irp, NtStatus::INVALID_PARAMETER, 0);
                return NtStatus::INVALID_PARAMETER;
            }
            let input = k.system_buffer(irp);
            let value = u32::from_le_bytes(input[..4].try_into().unwrap()) * 2;
            k.write_system_buffer(irp, 0, &value.to_le_bytes()).unwrap();
            k.complete(irp, NtStatus::SUCCESS, 4);
            NtStatus::SUCCESS
        })
}

#[test]
fn a_filter_sends_a_request_synchronously_and_completes_it_with_its_own_answer() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", lower()).unwrap();
    let driver = io
        .load_driver("adder", wdf_safe::entry_point::<Adder>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\AdderPdo");
    let handle = node.open().unwrap();
    let answer = handle.device_io_control(IOCTL_DOUBLE, &20u32.to_le_bytes(), 4);
    assert_eq!(answer.status, NtStatus::SUCCESS);
    assert_eq!(answer.data, 41u32.to_le_bytes());
    let failed = handle.device_io_control(IOCTL_FAIL, &1u32.to_le_bytes(), 4);
    assert_eq!(failed.status, NtStatus::INVALID_PARAMETER);
    let refused = handle.device_io_control(IOCTL_AT_DISPATCH, &1u32.to_le_bytes(), 4);
    assert_eq!(refused.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
