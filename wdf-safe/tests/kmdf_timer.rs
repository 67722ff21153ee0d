//! `Timer`, a `WDFTIMER` parented to a device, on the simulated framework's clock: a one-shot
//! timer fires once per start and not before its time, a periodic one once per period until
//! stopped, a restart moves the due time, the callback runs at DISPATCH_LEVEL (so it cannot
//! wait for itself), and the timer goes with its device (a handle kept past it finds nothing).
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::DeviceControl;
use wdf_safe::kind::state::Ready;
use wdf_safe::timer::{Timer, TimerConfig};
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig,
    Request, RequestDone,
};
use wdm_compat::host::{DeviceNodeConfig, FileHandle, IoManager, ScriptedDriver, flags, major};

const fn ioctl(function: u32) -> u32 {
    (0x22 << 16) | (function << 2)
}
/// Start the one-shot timer, due in the input's milliseconds; answers whether it was queued.
const START_ONCE: u32 = ioctl(0xB00);
/// Start the periodic timer, first due in the input's milliseconds.
const START_EVERY: u32 = ioctl(0xB01);
/// Stop the periodic timer; answers whether it was queued.
const STOP_EVERY: u32 = ioctl(0xB02);
/// The firings so far: one-shot, periodic.
const COUNTS: u32 = ioctl(0xB03);

struct Clockwork {
    once: Timer<Clockwork>,
    every: Timer<Clockwork>,
    once_fired: AtomicU32,
    every_fired: AtomicU32,
}

/// What `stop_and_wait` said from the periodic timer's own callback (the same in every test).
static STOP_FROM_CALLBACK: Mutex<Option<NtResult<bool>>> = Mutex::new(None);

fn once_fired(clockwork: &Clockwork, _device: Device<Clockwork, Ready>) {
    clockwork.once_fired.fetch_add(1, Ordering::SeqCst);
}

fn every_fired(clockwork: &Clockwork, _device: Device<Clockwork, Ready>) {
    clockwork.every_fired.fetch_add(1, Ordering::SeqCst);
    // A timer's callback runs at DISPATCH_LEVEL: waiting for the timer (its own callback among
    // what it would wait for) is refused.
    *STOP_FROM_CALLBACK.lock().unwrap() = Some(clockwork.every.stop_and_wait());
}

fn clockwork_ioctl<'r>(
    clockwork: &Clockwork,
    mut request: Request<'r, DeviceControl>,
) -> RequestDone<'r> {
    let code = request.ioctl_code().to_raw();
    match code {
        START_ONCE | START_EVERY => {
            let due: u32 = match request.read_input() {
                Ok(due) => due,
                Err(status) => return request.complete(status),
            };
            let timer = if code == START_ONCE {
                clockwork.once
            } else {
                clockwork.every
            };
            let queued = u32::from(timer.start(due));
            request.complete_with(|request| request.write_output(&queued))
        }
        STOP_EVERY => {
            let queued = u32::from(clockwork.every.stop());
            request.complete_with(|request| request.write_output(&queued))
        }
        COUNTS => {
            // One-shot firings in the low half, periodic in the high half.
            let counts = u64::from(clockwork.once_fired.load(Ordering::SeqCst))
                | u64::from(clockwork.every_fired.load(Ordering::SeqCst)) << 32;
            request.complete_with(|request| request.write_output(&counts))
        }
        _ => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

impl KmdfDriver for Clockwork {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Clockwork")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Clockwork")?;
        let _queue = device
            .create_default_queue(QueueConfig::parallel().on_device_control(clockwork_ioctl))?;
        let once = device.create_timer(TimerConfig::one_shot(once_fired))?;
        let every = device.create_timer(TimerConfig::periodic(100, every_fired))?;
        let _ready = device.finish_initializing();
        Ok(Self {
            once,
            every,
            once_fired: AtomicU32::new(0),
            every_fired: AtomicU32::new(0),
        })
    }
}

fn load() -> (IoManager, FileHandle) {
    let io = IoManager::new();
    io.load_driver("clockwork", wdf_safe::entry_point::<Clockwork>())
        .unwrap();
    let handle = io.open(r"\\.\Clockwork").unwrap();
    (io, handle)
}

fn answer(handle: &FileHandle, code: u32, input: &[u8]) -> u32 {
    let result = handle.device_io_control(code, input, 4);
    assert_eq!(result.status, NtStatus::SUCCESS);
    u32::from_le_bytes(result.data.try_into().unwrap())
}

fn counts(handle: &FileHandle) -> [u32; 2] {
    let result = handle.device_io_control(COUNTS, &[], 8);
    let counts = u64::from_le_bytes(result.data.try_into().unwrap());
    [(counts & 0xFFFF_FFFF) as u32, (counts >> 32) as u32]
}

fn advance(io: &IoManager, ms: u64) {
    wdf_safe::advance_clock(io, Duration::from_millis(ms));
}

#[test]
fn a_one_shot_timer_fires_once_per_start_and_not_before_its_time() {
    let (io, handle) = load();
    assert_eq!(answer(&handle, START_ONCE, &100u32.to_le_bytes()), 0);
    advance(&io, 99);
    assert_eq!(counts(&handle), [0, 0]);
    advance(&io, 1);
    assert_eq!(counts(&handle), [1, 0]);
    advance(&io, 1000);
    assert_eq!(counts(&handle), [1, 0], "fired once, not again");
    // Started again, it fires again; restarted while waiting, only at the new time.
    assert_eq!(answer(&handle, START_ONCE, &50u32.to_le_bytes()), 0);
    advance(&io, 40);
    assert_eq!(answer(&handle, START_ONCE, &50u32.to_le_bytes()), 1);
    advance(&io, 40);
    assert_eq!(counts(&handle), [1, 0], "moved to 50 ms after the restart");
    advance(&io, 10);
    assert_eq!(counts(&handle), [2, 0]);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_periodic_timer_fires_every_period_until_stopped_and_its_callback_cannot_wait_for_it() {
    let (io, handle) = load();
    assert_eq!(answer(&handle, START_EVERY, &50u32.to_le_bytes()), 0);
    // Due at 50, 150, 250.
    advance(&io, 260);
    assert_eq!(counts(&handle), [0, 3]);
    assert_eq!(
        answer(&handle, STOP_EVERY, &[]),
        1,
        "it was waiting for 350"
    );
    advance(&io, 1000);
    assert_eq!(counts(&handle), [0, 3]);
    assert_eq!(answer(&handle, STOP_EVERY, &[]), 0);
    // From its own callback, at DISPATCH_LEVEL, waiting for the timer is refused.
    assert_eq!(
        *STOP_FROM_CALLBACK.lock().unwrap(),
        Some(Err(NtStatus::INVALID_DEVICE_REQUEST))
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A PnP driver whose device starts a periodic timer when it is added; the driver keeps the
/// timer, and tries it again at unload, after the device was removed.
struct Paced {
    kept: Mutex<Option<Timer<Paced>>>,
    fired: AtomicU32,
}

/// What the kept timer's `start` said at unload, and the firings then.
static AFTER_REMOVAL: Mutex<Option<(bool, u32)>> = Mutex::new(None);

fn paced_fired(paced: &Paced, _device: Device<Paced, Ready>) {
    paced.fired.fetch_add(1, Ordering::SeqCst);
}

impl KmdfDriver for Paced {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self {
            kept: Mutex::new(None),
            fired: AtomicU32::new(0),
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        let timer = device.create_timer(TimerConfig::periodic(100, paced_fired))?;
        timer.start(100);
        *self.kept.lock().unwrap() = Some(timer);
        Ok(())
    }

    fn unload(&self) {
        let started = self
            .kept
            .lock()
            .unwrap()
            .is_some_and(|timer| timer.start(10));
        *AFTER_REMOVAL.lock().unwrap() = Some((started, self.fired.load(Ordering::SeqCst)));
    }
}

fn bus() -> ScriptedDriver {
    ScriptedDriver::new().succeeding(&[major::CREATE, major::CLEANUP, major::CLOSE, major::PNP])
}

#[test]
fn a_timer_goes_with_its_device_and_a_kept_handle_finds_it_gone() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let paced = io
        .load_driver("paced", wdf_safe::entry_point::<Paced>())
        .unwrap();
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\PacedPdo",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[paced],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    // Due at 100 and 200 while the device is there.
    advance(&io, 250);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    // Its device removed, the timer went with it: no more firings.
    advance(&io, 1000);
    io.unload_driver(paced).unwrap();
    assert_eq!(*AFTER_REMOVAL.lock().unwrap(), Some((false, 2)));
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
