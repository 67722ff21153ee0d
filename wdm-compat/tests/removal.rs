//! `IRP_MN_REMOVE_DEVICE` on a filter, as the seam handles it: it waits for the driver's own
//! routines still running for the device, and for IRPs it forwarded with an observer, before it
//! passes the removal down (what `IoReleaseRemoveLockAndWait` does for a C driver); and an
//! observed forward keeps the device, and the extension its observer reads, until the observer
//! has run.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use wdm_compat::host::{
    DeviceNode, DeviceNodeConfig, DriverId, IoManager, IrpId, IrpParameters, ScriptedDriver, flags,
    major, pnp_minor,
};
use wdm_compat::{
    Device, DispatchStatus, DriverSetup, Irp, IrpOutcome, NtResult, NtStatus, PendingIrp,
    PhysicalDevice, WdmDriver,
};

const fn ioctl(function: u32) -> u32 {
    (0x22 << 16) | (function << 2)
}
/// The filter signals that its dispatch routine is inside, then waits to be released before it
/// passes the IOCTL down.
const HOLD_IN_DISPATCH: u32 = ioctl(0x830);
/// The filter passes it down with an observer; the bus keeps it pending.
const HOLD_BELOW: u32 = ioctl(0x831);
/// The filter passes it down with an observer that names another driver type.
const WRONG_DRIVER: u32 = ioctl(0x832);

/// The filter's device extension: says when it is dropped.
struct Extension {
    dropped: Arc<AtomicBool>,
}

impl Drop for Extension {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// What the test hands the filter when it loads.
struct Probes {
    entered: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
    dropped: Arc<AtomicBool>,
    observed: Arc<AtomicUsize>,
}

static PROBES: Mutex<Option<Probes>> = Mutex::new(None);

/// A PnP filter: IOCTLs as above; a read is pended and kept, and the next write passes that
/// read down with an observer (`PendingIrp::forward_observing`).
struct Filter {
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
    dropped: Arc<AtomicBool>,
    observed: Arc<AtomicUsize>,
    kept_read: Mutex<Option<PendingIrp>>,
}

fn count_observation(filter: &Filter, device: &Device<Extension>, outcome: &IrpOutcome<'_>) {
    // The extension is read here: the device must still be there.
    assert!(!device.extension().dropped.load(Ordering::SeqCst));
    assert_eq!(outcome.status(), NtStatus::SUCCESS);
    filter.observed.fetch_add(1, Ordering::SeqCst);
}

impl WdmDriver for Filter {
    type DeviceExtension = Extension;

    const PNP: bool = true;

    fn driver_entry(_setup: &mut DriverSetup<'_, Extension>) -> NtResult<Self> {
        let probes = PROBES.lock().unwrap().take().unwrap();
        Ok(Self {
            entered: Mutex::new(probes.entered),
            release: Mutex::new(probes.release),
            dropped: probes.dropped,
            observed: probes.observed,
            kept_read: Mutex::new(None),
        })
    }

    fn add_device(&self, _physical_device: &PhysicalDevice) -> NtResult<Extension> {
        Ok(Extension {
            dropped: Arc::clone(&self.dropped),
        })
    }

    fn on_device_control<'r>(
        &self,
        device: &Device<Extension>,
        mut irp: Irp<'r>,
    ) -> DispatchStatus<'r> {
        let code = irp.request().ioctl_code().map(|c| c.to_raw());
        let Some(lower) = device.lower() else {
            return irp.complete(NtStatus::INVALID_DEVICE_REQUEST);
        };
        if code == Some(WRONG_DRIVER) {
            return irp.forward_observing::<Impostor>(lower, |_, _, _| {
                panic!("an observer of another driver type must never run")
            });
        }
        if code == Some(HOLD_IN_DISPATCH) {
            self.entered.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
            return irp.forward(lower);
        }
        irp.forward_observing::<Self>(lower, count_observation)
    }

    fn on_read<'r>(&self, _device: &Device<Extension>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let (status, pending) = irp.mark_pending();
        *self.kept_read.lock().unwrap() = Some(pending);
        status
    }

    fn on_write<'r>(&self, device: &Device<Extension>, irp: Irp<'r>) -> DispatchStatus<'r> {
        if let Some(read) = self.kept_read.lock().unwrap().take() {
            read.forward_observing::<Self>(device, count_observation);
        }
        irp.complete(NtStatus::SUCCESS)
    }

    fn on_other<'r>(&self, device: &Device<Extension>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_create<'r>(&self, device: &Device<Extension>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_close<'r>(&self, device: &Device<Extension>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_cleanup<'r>(&self, device: &Device<Extension>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }
}

/// Another driver type with the same extension type: an observer naming it would read the
/// filter's instance as an `Impostor`.
struct Impostor {
    _not_a_filter: u64,
}

impl WdmDriver for Impostor {
    type DeviceExtension = Extension;

    fn driver_entry(_setup: &mut DriverSetup<'_, Extension>) -> NtResult<Self> {
        Ok(Self { _not_a_filter: 0 })
    }
}

fn pass_down<'r>(device: &Device<Extension>, irp: Irp<'r>) -> DispatchStatus<'r> {
    match device.lower() {
        Some(lower) => irp.forward(lower),
        None => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// The bus under the filter: logs the IOCTLs and removals that reach its PDO in order, keeps
/// `HOLD_BELOW` IOCTLs pending in `held`, answers reads with 3 bytes and succeeds the rest.
fn bus(log: Arc<Mutex<Vec<&'static str>>>, held: Arc<Mutex<Vec<IrpId>>>) -> ScriptedDriver {
    let pnp_log = Arc::clone(&log);
    ScriptedDriver::new()
        .succeeding(&[major::CREATE, major::CLEANUP, major::CLOSE])
        .on(major::PNP, move |k, _d, irp| {
            if k.minor(irp) == pnp_minor::REMOVE_DEVICE {
                pnp_log.lock().unwrap().push("remove");
            }
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        })
        .on(major::READ, |k, _d, irp| {
            k.write_system_buffer(irp, 0, b"abc").unwrap();
            k.complete(irp, NtStatus::SUCCESS, 3);
            NtStatus::SUCCESS
        })
        .on(major::DEVICE_CONTROL, move |k, _d, irp| {
            log.lock().unwrap().push("ioctl");
            if matches!(
                k.parameters(irp),
                IrpParameters::DeviceControl {
                    code: HOLD_BELOW,
                    ..
                }
            ) {
                k.mark_pending(irp);
                held.lock().unwrap().push(irp);
                return NtStatus::PENDING.status();
            }
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        })
}

struct Setup {
    io: IoManager,
    node: DeviceNode,
    filter: DriverId,
    log: Arc<Mutex<Vec<&'static str>>>,
    held: Arc<Mutex<Vec<IrpId>>>,
    entered: mpsc::Receiver<()>,
    release: mpsc::Sender<()>,
    dropped: Arc<AtomicBool>,
    observed: Arc<AtomicUsize>,
}

/// A started node of the bus with the filter over it. The tests share `PROBES`, so they take
/// turns.
fn setup(pdo_name: &'static str) -> Setup {
    let io = IoManager::new();
    let log = Arc::default();
    let held = Arc::default();
    let bus = io
        .load_driver("bus", bus(Arc::clone(&log), Arc::clone(&held)))
        .unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let dropped = Arc::new(AtomicBool::new(false));
    let observed = Arc::new(AtomicUsize::new(0));
    *PROBES.lock().unwrap() = Some(Probes {
        entered: entered_tx,
        release: release_rx,
        dropped: Arc::clone(&dropped),
        observed: Arc::clone(&observed),
    });
    let filter = io
        .load_driver("filter", wdm_compat::driver::entry_point::<Filter>())
        .unwrap();
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name,
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[filter],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    Setup {
        io,
        node,
        filter,
        log,
        held,
        entered,
        release,
        dropped,
        observed,
    }
}

static TURNS: Mutex<()> = Mutex::new(());

#[test]
fn the_removal_waits_for_a_dispatch_routine_still_running_before_it_goes_down() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let s = setup(r"\Device\RemoveWaitsPdo");
    let handle = s.node.open().unwrap();
    std::thread::scope(|scope| {
        let ioctl = scope.spawn(|| handle.device_io_control(HOLD_IN_DISPATCH, &[], 0));
        s.entered.recv().unwrap();
        let removal = scope.spawn(|| s.node.remove());
        // The removal is under way while the IOCTL's dispatch routine is still inside the
        // filter. Without the wait, the bus would see the removal now, before the IOCTL.
        std::thread::sleep(Duration::from_millis(50));
        assert!(!s.dropped.load(Ordering::SeqCst));
        s.release.send(()).unwrap();
        assert_eq!(ioctl.join().unwrap().status, NtStatus::SUCCESS);
        assert_eq!(removal.join().unwrap(), NtStatus::SUCCESS);
    });
    assert_eq!(*s.log.lock().unwrap(), ["ioctl", "remove"]);
    assert!(
        s.dropped.load(Ordering::SeqCst),
        "the extension went with the device"
    );
    drop(handle);
    assert!(s.io.violations().is_empty(), "{:#?}", s.io.violations());
}

#[test]
fn an_observed_forward_keeps_the_device_until_its_observer_ran_and_a_removal_waiting_on_it_is_a_hang()
 {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let s = setup(r"\Device\ObservedPdo");
    // The hang is reported as what Windows ends it with, which strict mode would make a panic.
    s.io.set_strict(false);
    let handle = s.node.open().unwrap();
    let operation = handle.device_io_control_async(HOLD_BELOW, &[], 0).unwrap();
    assert!(operation.returned_pending());
    let held = s.held.lock().unwrap().pop().unwrap();

    // The IOCTL is pending below with the filter's observer on it: the removal waits for it,
    // and on one thread nothing can complete it, so Windows would hang here.
    assert_eq!(s.node.remove(), NtStatus::SUCCESS);
    let violations = s.io.take_violations();
    assert!(
        violations.iter().any(|v| v.is_bug_check(0x1D5)),
        "{violations:#?}"
    );
    assert_eq!(s.observed.load(Ordering::SeqCst), 0);
    assert!(
        !s.dropped.load(Ordering::SeqCst),
        "the extension is kept for the observer"
    );

    // The bus completes it at last: the observer runs on the kept device, then the device goes.
    s.io.kernel().complete(held, NtStatus::SUCCESS, 0);
    assert_eq!(operation.result().unwrap().status, NtStatus::SUCCESS);
    assert_eq!(s.observed.load(Ordering::SeqCst), 1);
    assert!(s.dropped.load(Ordering::SeqCst));
    let device = s.io.devices_of(s.filter);
    assert!(
        device.iter().all(|d| s.io.device(*d).unwrap().deleted),
        "the filter's device is deleted"
    );
    drop(operation);
    drop(handle);
}

#[test]
fn a_pended_irp_forwarded_later_with_an_observer_is_observed_once() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let s = setup(r"\Device\PendObservePdo");
    let handle = s.node.open().unwrap();
    let read = handle.read_async(3).unwrap();
    assert!(read.returned_pending());
    assert_eq!(handle.write(b"go").status, NtStatus::SUCCESS);
    let result = read.result().unwrap();
    assert_eq!(
        (result.status, result.data.as_slice()),
        (NtStatus::SUCCESS, &b"abc"[..])
    );
    assert_eq!(s.observed.load(Ordering::SeqCst), 1);
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(s.node.remove(), NtStatus::SUCCESS);
    assert!(s.dropped.load(Ordering::SeqCst));
    assert!(s.io.violations().is_empty(), "{:#?}", s.io.violations());
}

#[test]
fn an_observed_forward_naming_another_driver_type_is_refused() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let s = setup(r"\Device\WrongDriverPdo");
    let handle = s.node.open().unwrap();
    let result = handle.device_io_control(WRONG_DRIVER, &[], 0);
    assert_eq!(result.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert!(s.log.lock().unwrap().is_empty(), "nothing went down");
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(s.node.remove(), NtStatus::SUCCESS);
    assert!(s.io.violations().is_empty(), "{:#?}", s.io.violations());
}
