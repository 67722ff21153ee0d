//! `WaitLock`, a `WDFWAITLOCK`: the simulated framework's wait lock lets one thread in at a
//! time and puts the others to sleep, refuses a zero-timeout try while it is held, and reports a
//! thread that acquires it twice (it would wait for itself forever).
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::DeviceControl;
use wdf_safe::{
    ControlDeviceInit, DriverContext, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone, WaitLock,
};
use wdm_compat::host::IoManager;

const fn ioctl(function: u32) -> u32 {
    (0x22 << 16) | (function << 2)
}
/// Take the lock, say so, and hold it until the test says to let go.
const HOLD: u32 = ioctl(0xA00);
/// Try the lock without waiting: 1 if it was free.
const TRY: u32 = ioctl(0xA01);
/// Wait for the lock, count one, answer the count.
const COUNT: u32 = ioctl(0xA02);
/// Take the lock, then take it again on the same thread.
const TWICE: u32 = ioctl(0xA03);
/// Make a lock and drop it at once.
const SHORT_LIVED: u32 = ioctl(0xA04);

/// What the test and the driver hand each other.
struct Signals {
    held: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
}

static SIGNALS: Mutex<Option<Signals>> = Mutex::new(None);

struct Locker {
    counted: WaitLock<u32>,
}

fn locker_ioctl<'r>(locker: &Locker, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    match request.ioctl_code().to_raw() {
        HOLD => {
            let Ok(guard) = locker.counted.lock() else {
                return request.complete(NtStatus::INVALID_DEVICE_STATE);
            };
            let signals = SIGNALS.lock().unwrap().take().unwrap();
            signals.held.send(()).unwrap();
            signals.release.recv().unwrap();
            drop(guard);
            request.complete(NtStatus::SUCCESS)
        }
        TRY => {
            let free = u32::from(locker.counted.try_lock().is_some());
            request.complete_with(|request| request.write_output(&free))
        }
        COUNT => {
            let total = match locker.counted.lock() {
                Ok(mut counted) => {
                    *counted += 1;
                    *counted
                }
                Err(status) => return request.complete(status),
            };
            request.complete_with(|request| request.write_output(&total))
        }
        TWICE => {
            let Ok(first) = locker.counted.lock() else {
                return request.complete(NtStatus::INVALID_DEVICE_STATE);
            };
            let second = locker.counted.lock().map(|_| ());
            drop(first);
            request.complete(second.err().unwrap_or(NtStatus::SUCCESS))
        }
        SHORT_LIVED => match WaitLock::new(7u8) {
            Ok(lock) => {
                let value = lock.lock().map_or(0, |guard| *guard);
                drop(lock);
                request.complete_with(|request| request.write_output(&u32::from(value)))
            }
            Err(status) => request.complete(status),
        },
        _ => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

impl KmdfDriver for Locker {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Locker")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Locker")?;
        let _queue =
            device.create_default_queue(QueueConfig::parallel().on_device_control(locker_ioctl))?;
        let _ready = device.finish_initializing();
        Ok(Self {
            counted: WaitLock::new(0)?,
        })
    }
}

fn load() -> IoManager {
    let io = IoManager::new();
    io.load_driver("locker", wdf_safe::entry_point::<Locker>())
        .unwrap();
    io
}

fn value(data: &[u8]) -> u32 {
    u32::from_le_bytes(data.try_into().unwrap())
}

static TURNS: Mutex<()> = Mutex::new(());

#[test]
fn a_held_wait_lock_refuses_a_try_and_puts_a_waiter_to_sleep_until_it_is_released() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = load();
    let (held_tx, held) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    *SIGNALS.lock().unwrap() = Some(Signals {
        held: held_tx,
        release: release_rx,
    });
    let handle = io.open(r"\\.\Locker").unwrap();
    let waiter_done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| handle.device_io_control(HOLD, &[], 0));
        held.recv().unwrap();
        assert_eq!(value(&handle.device_io_control(TRY, &[], 4).data), 0);
        let waiter = scope.spawn(|| {
            let result = handle.device_io_control(COUNT, &[], 4);
            waiter_done.store(true, Ordering::SeqCst);
            result
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !waiter_done.load(Ordering::SeqCst),
            "the waiter is still asleep"
        );
        release.send(()).unwrap();
        assert_eq!(holder.join().unwrap().status, NtStatus::SUCCESS);
        assert_eq!(value(&waiter.join().unwrap().data), 1);
    });
    assert_eq!(value(&handle.device_io_control(TRY, &[], 4).data), 1);
    assert_eq!(
        value(&handle.device_io_control(SHORT_LIVED, &[], 4).data),
        7
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_thread_taking_its_own_wait_lock_again_is_reported_instead_of_hanging() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = load();
    io.set_strict(false);
    let handle = io.open(r"\\.\Locker").unwrap();
    let twice = handle.device_io_control(TWICE, &[], 0);
    assert_eq!(twice.status, NtStatus::INVALID_DEVICE_REQUEST);
    let reports = io.take_violations();
    assert!(
        reports.iter().any(|v| v.rule == Some("WdfWaitlock")),
        "{reports:#?}"
    );
    // The first hold was released: the lock is free again.
    assert_eq!(value(&handle.device_io_control(COUNT, &[], 4).data), 1);
}
