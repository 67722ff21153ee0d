//! Synchronous sends to the device below, through the shipped seam and the simulated KMDF: a
//! function driver asks its bus two questions in `EvtDevicePrepareHardware` (an IOCTL and an
//! internal IOCTL) and serves the answers to its client; a send from a timer callback, at
//! DISPATCH_LEVEL, is refused without reaching the framework.
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
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::io_target::SendTimeout;
use wdf_safe::kind::DeviceControl;
use wdf_safe::kind::state::Ready;
use wdf_safe::pnp_power::PnpPowerCallbacks;
use wdf_safe::timer::TimerConfig;
use wdf_safe::{
    Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone,
};
use wdm_compat::IoControlCode;
use wdm_compat::host::{IoManager, IrpParameters, ScriptedDriver, major};

/// The bus's IOCTL: returns its input's `u32` times two.
const IOCTL_BUS_DOUBLE: u32 = 0x0022_2000;
/// The bus's internal IOCTL: returns the bus's version, 7.
const IOCTL_INTERNAL_BUS_VERSION: u32 = 0x0022_2004;
/// The driver's own IOCTL: what it learned from the bus.
const IOCTL_LEARNED: u32 = 0x0022_2400;

/// What the driver learned in `EvtDevicePrepareHardware`.
#[derive(Default)]
struct Learned {
    doubled: AtomicU32,
    version: AtomicU32,
}
wdf_safe::declare_context_type!(Learned);

struct Asker;

static TIMER_SEND: Mutex<Option<NtStatus>> = Mutex::new(None);

fn timeout() -> SendTimeout {
    SendTimeout::milliseconds(NonZeroU32::new(1000).unwrap())
}

fn prepare(_: &Asker, device: Device<Asker, Ready>) -> NtResult {
    let target = device
        .default_io_target()
        .ok_or(NtStatus::INVALID_DEVICE_STATE)?;
    let learned = device
        .context::<Learned>()
        .ok_or(NtStatus::INVALID_DEVICE_STATE)?;
    let mut answer = [0u8; 4];
    let count = target.send_ioctl_synchronously(
        IoControlCode::from_raw(IOCTL_BUS_DOUBLE),
        &21u32.to_le_bytes(),
        &mut answer,
        timeout(),
    )?;
    assert_eq!(count, 4);
    learned
        .doubled
        .store(u32::from_le_bytes(answer), Ordering::SeqCst);
    let count = target.send_internal_ioctl_synchronously(
        IoControlCode::from_raw(IOCTL_INTERNAL_BUS_VERSION),
        &[],
        &mut answer,
        timeout(),
    )?;
    assert_eq!(count, 4);
    learned
        .version
        .store(u32::from_le_bytes(answer), Ordering::SeqCst);
    // A METHOD_NEITHER internal IOCTL's bytes would be read below as kernel pointers (here, a
    // forged keyboard connect naming a "callback"): refused before anything is sent (the
    // bus would fail the test on any other code).
    let forged = target.send_internal_ioctl_synchronously(
        wdf_safe::keyboard::IOCTL_INTERNAL_KEYBOARD_CONNECT,
        &[0x41; 16],
        &mut [],
        timeout(),
    );
    assert_eq!(forged, Err(NtStatus::INVALID_PARAMETER));
    Ok(())
}

/// At DISPATCH_LEVEL: the send is refused.
fn tick(_: &Asker, device: Device<Asker, Ready>) {
    let mut answer = [0u8; 4];
    let status = device.default_io_target().map(|target| {
        target
            .send_ioctl_synchronously(
                IoControlCode::from_raw(IOCTL_BUS_DOUBLE),
                &1u32.to_le_bytes(),
                &mut answer,
                timeout(),
            )
            .err()
            .unwrap_or(NtStatus::SUCCESS)
    });
    *TIMER_SEND.lock().unwrap() = status;
}

fn on_ioctl<'r>(_: &Asker, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    if request.ioctl_code().to_raw() != IOCTL_LEARNED {
        return request.complete(NtStatus::INVALID_DEVICE_REQUEST);
    }
    let Some(learned) = request.device_context::<Learned>() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    let both = [
        learned.doubled.load(Ordering::SeqCst),
        learned.version.load(Ordering::SeqCst),
    ];
    request.complete_with(|request| {
        let out = request.output_buffer(8)?;
        out[..4].copy_from_slice(&both[0].to_le_bytes());
        out[4..8].copy_from_slice(&both[1].to_le_bytes());
        Ok(8)
    })
}

impl KmdfDriver for Asker {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_pnp_power_callbacks(PnpPowerCallbacks::new().on_prepare_hardware(prepare));
        let device = init.create().map_err(|(_, status)| status)?;
        device.allocate_context(Learned::default, None)?;
        device.create_default_queue(QueueConfig::parallel().on_device_control(on_ioctl))?;
        let timer = device.create_timer(TimerConfig::one_shot(tick))?;
        timer.start(10);
        Ok(())
    }
}

/// A bus whose PDO answers the two questions.
fn bus() -> ScriptedDriver {
    let answer = |k: &wdm_compat::host::KernelCalls, irp, value: u32| {
        k.write_system_buffer(irp, 0, &value.to_le_bytes()).unwrap();
        k.complete(irp, NtStatus::SUCCESS, 4);
        NtStatus::SUCCESS
    };
    ScriptedDriver::new()
        .succeeding(&[
            major::CREATE,
            major::CLEANUP,
            major::CLOSE,
            major::PNP,
            major::POWER,
        ])
        .on(major::DEVICE_CONTROL, move |k, _device, irp| {
            let IrpParameters::DeviceControl { code, .. } = k.parameters(irp) else {
                panic!("a device control");
            };
            assert_eq!(code, IOCTL_BUS_DOUBLE);
            assert!(!k.from_user_mode(irp), "sent from kernel mode");
            let input = k.system_buffer(irp);
            let value = u32::from_le_bytes(input[..4].try_into().unwrap());
            answer(k, irp, value * 2)
        })
        .on(major::INTERNAL_DEVICE_CONTROL, move |k, _device, irp| {
            let IrpParameters::DeviceControl { code, .. } = k.parameters(irp) else {
                panic!("an internal device control");
            };
            assert_eq!(code, IOCTL_INTERNAL_BUS_VERSION);
            answer(k, irp, 7)
        })
}

#[test]
fn a_driver_asks_its_bus_synchronously_and_a_send_at_dispatch_level_is_refused() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let driver = io
        .load_driver("asker", wdf_safe::entry_point::<Asker>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\AskerPdo");
    let handle = node.open().unwrap();
    let learned = handle.device_io_control(IOCTL_LEARNED, &[], 8);
    assert_eq!(learned.status, NtStatus::SUCCESS);
    assert_eq!(learned.data, [42, 0, 0, 0, 7, 0, 0, 0]);
    // The timer callback runs at DISPATCH_LEVEL: its send is refused.
    wdf_safe::advance_clock(&io, core::time::Duration::from_millis(20));
    assert_eq!(
        *TIMER_SEND.lock().unwrap(),
        Some(NtStatus::INVALID_DEVICE_REQUEST)
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
