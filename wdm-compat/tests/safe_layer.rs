//! What the safe WDM layer promises, checked in the simulated I/O manager: DriverEntry unwinds
//! on failure, every transfer method hands out only safe views, forwarding returns what the
//! lower driver returned, and the defaults fill the whole major-function table.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use wdm_compat::host::{DeviceNodeConfig, IoManager, ScriptedDriver, flags, major};
use wdm_compat::{
    Device, DeviceConfig, DispatchStatus, DriverSetup, IoType, IoctlBuffers, Irp, NamedDevice,
    NtResult, NtStatus, PhysicalDevice, WdmDriver,
};

const fn ioctl(function: u32, method: u32) -> u32 {
    (0x22 << 16) | (function << 2) | method
}
const OUT_DIRECT: u32 = ioctl(0x810, 2);
const IN_DIRECT: u32 = ioctl(0x811, 1);
const NEITHER: u32 = ioctl(0x812, 3);
/// Completed with a status computed as STATUS_PENDING.
const COMPUTED_PENDING: u32 = ioctl(0x813, 0);

/// DriverEntry creates a named device and its link, then fails on a second device whose name
/// collides: everything before the failure must be undone.
struct Unwinding;

impl WdmDriver for Unwinding {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let first = setup.create_device(&DeviceConfig::named(r"\Device\Unwind"), ())?;
        let _named = first
            .create_symbolic_link(r"\DosDevices\Unwind")
            .map_err(|(_, s)| s)?;
        let _second = setup.create_device(&DeviceConfig::named(r"\Device\Unwind"), ())?;
        Ok(Self)
    }
}

#[test]
fn driver_entry_failure_undoes_every_earlier_step() {
    let io = IoManager::new();
    let result = io.load_driver("unwinding", wdm_compat::driver::entry_point::<Unwinding>());
    assert_eq!(result.err(), Some(NtStatus::OBJECT_NAME_COLLISION));
    assert_eq!(
        io.open(r"\\.\Unwind").err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    let device = io.device_by_name(r"\Device\Unwind");
    assert!(
        device.is_none_or(|d| io.device(d).unwrap().deleted),
        "the device is gone"
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// One device; IOCTLs of every transfer method; nothing else handled.
struct Methods {
    _device: NamedDevice<()>,
}

impl WdmDriver for Methods {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let config = DeviceConfig::named(r"\Device\Methods").io_type(IoType::Direct);
        let device = setup.create_device(&config, ())?;
        let device = device
            .create_symbolic_link(r"\DosDevices\Methods")
            .map_err(|(_, s)| s)?;
        Ok(Self { _device: device })
    }

    fn on_device_control<'r>(&self, _device: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        if irp.request().ioctl_code().map(|c| c.to_raw()) == Some(COMPUTED_PENDING) {
            // The constant itself does not compile here; a computed value is refused at run
            // time.
            return irp.complete(NtStatus::from_raw(0x103));
        }
        irp.complete_with(|request| match request.ioctl_buffers()? {
            // Out-direct: input and output are separate memory, both at once.
            IoctlBuffers::OutDirect(mut buffers) => {
                let (input, output) = buffers.split();
                let count = input.len().min(output.len());
                for (out, byte) in output.iter_mut().zip(input) {
                    *out = byte.wrapping_add(1);
                }
                Ok(count)
            }
            // Neither: only numbers; refusing is the safe answer.
            IoctlBuffers::Neither { input, output } => {
                assert_ne!(input.address, 0);
                assert_eq!(output.length, 4);
                Err(NtStatus::INVALID_DEVICE_REQUEST)
            }
            // In-direct: two inputs; the caller's pages are only read.
            IoctlBuffers::InDirect(buffers) => {
                let sum = buffers
                    .input()
                    .iter()
                    .chain(buffers.pages())
                    .map(|&b| usize::from(b));
                Ok(sum.sum())
            }
            IoctlBuffers::Buffered(_) => Err(NtStatus::NOT_SUPPORTED),
        })
    }

    fn on_read<'r>(&self, _device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        // A direct-I/O read: the caller's pages through the MDL.
        irp.complete_with(|request| {
            let out = request.read_buffer()?;
            out.fill(0x5A);
            Ok(out.len())
        })
    }
}

fn methods() -> (IoManager, wdm_compat::host::FileHandle) {
    let io = IoManager::new();
    io.load_driver("methods", wdm_compat::driver::entry_point::<Methods>())
        .unwrap();
    let handle = io.open(r"\\.\Methods").unwrap();
    (io, handle)
}

#[test]
fn out_direct_ioctls_write_the_callers_pages_and_in_direct_ones_only_read_them() {
    let (_io, handle) = methods();
    let result = handle.device_io_control(OUT_DIRECT, &[1, 2, 3], 3);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.information, 3);
    assert_eq!(result.output, [2, 3, 4]);
    // METHOD_IN_DIRECT: the pages were probed for read access; the driver gets them
    // read-only, so what the caller sent comes back as it was.
    let result = handle.device_io_control_with(IN_DIRECT, &[1, 2, 3], vec![10, 20, 30]);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.information, 66);
    assert_eq!(result.output, [10, 20, 30]);
}

#[test]
fn an_irp_completed_with_a_computed_pending_status_finishes_with_internal_error() {
    let (io, handle) = methods();
    let result = handle.device_io_control(COMPUTED_PENDING, &[], 0);
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
fn neither_ioctls_never_expose_user_memory() {
    let (_io, handle) = methods();
    let result = handle.device_io_control(NEITHER, &[1, 2, 3, 4], 4);
    assert_eq!(result.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(
        result.output, [0; 4],
        "nothing was written to the caller's buffer"
    );
}

#[test]
fn direct_reads_fill_the_mdl_and_zero_length_reads_get_an_empty_buffer() {
    let (_io, handle) = methods();
    let read = handle.read(6);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 6));
    assert_eq!(read.output, [0x5A; 6]);
    let empty = handle.read(0);
    assert_eq!((empty.status, empty.information), (NtStatus::SUCCESS, 0));
}

#[test]
fn unhandled_major_functions_get_the_documented_defaults() {
    let (_io, handle) = methods();
    // Write: no method, so `on_other`: STATUS_NOT_SUPPORTED.
    assert_eq!(handle.write(b"x").status, NtStatus::NOT_SUPPORTED);
    assert_eq!(
        handle.internal_device_control(OUT_DIRECT, &[], 0).status,
        NtStatus::NOT_SUPPORTED
    );
    // Create, cleanup and close succeed by default.
    assert_eq!(handle.close(), NtStatus::SUCCESS);
}

/// Passes the IRP to the device below (a filter's answer to what it does not handle).
fn pass_down<'r>(device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
    match device.lower() {
        Some(lower) => irp.forward(lower),
        None => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// A bus driver whose PDO succeeds creates, cleanups, closes and PnP IRPs, and answers device
/// controls with `bytes` in the system buffer and `status`.
fn answering_bus(status: NtStatus, bytes: &'static [u8]) -> ScriptedDriver {
    ScriptedDriver::new()
        .succeeding(&[major::CREATE, major::CLEANUP, major::CLOSE, major::PNP])
        .on(major::DEVICE_CONTROL, move |k, _d, irp| {
            k.write_system_buffer(irp, 0, bytes).unwrap();
            k.complete(irp, status, bytes.len());
            status
        })
}

/// A started device node `pdo_name` of `bus`, with `filter` over it.
fn filtered_node(
    io: &IoManager,
    pdo_name: &'static str,
    bus: wdm_compat::host::DriverId,
    filter: wdm_compat::host::DriverId,
) -> wdm_compat::host::DeviceNode {
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
    node
}

/// A PnP filter that forwards everything and answers nothing itself.
struct PassThrough;

impl WdmDriver for PassThrough {
    type DeviceExtension = ();

    const PNP: bool = true;

    fn driver_entry(_setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        Ok(Self)
    }

    fn add_device(&self, _physical_device: &PhysicalDevice) -> NtResult<()> {
        Ok(())
    }

    fn on_other<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_create<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_close<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_cleanup<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }
}

#[test]
fn forwarding_returns_what_the_lower_driver_returned_and_its_outcome_reaches_the_sender() {
    let io = IoManager::new();
    let bus = io
        .load_driver("bus", answering_bus(NtStatus::BUFFER_OVERFLOW, &[7, 7]))
        .unwrap();
    let filter = io
        .load_driver("filter", wdm_compat::driver::entry_point::<PassThrough>())
        .unwrap();
    let node = filtered_node(&io, r"\Device\PassPdo", bus, filter);
    let handle = node.open().unwrap();
    let result = handle.device_io_control(ioctl(0x900, 0), &[], 2);
    // A warning status passes through with its data (BUFFER_OVERFLOW copies back).
    assert_eq!(
        (result.status, result.information),
        (NtStatus::BUFFER_OVERFLOW, 2)
    );
    assert_eq!(result.data, [7, 7]);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A PnP filter that pends every device control first and passes it down from another thread
/// (`PendingIrp::forward`: copy the location, a routine that only propagates the pending flag).
struct PendThenForward;

impl WdmDriver for PendThenForward {
    type DeviceExtension = ();

    const PNP: bool = true;

    fn driver_entry(_setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        Ok(Self)
    }

    fn add_device(&self, _physical_device: &PhysicalDevice) -> NtResult<()> {
        Ok(())
    }

    fn on_device_control<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let Some(lower) = device.lower() else {
            return irp.complete(NtStatus::INVALID_DEVICE_REQUEST);
        };
        let (status, pending) = irp.mark_pending();
        // The device below is borrowed from this routine's device, so the other thread is
        // joined before the routine returns.
        std::thread::scope(|scope| {
            scope.spawn(|| pending.forward(lower));
        });
        status
    }

    fn on_other<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_create<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_close<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }

    fn on_cleanup<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        pass_down(device, irp)
    }
}

#[test]
fn a_pended_irp_passed_down_later_completes_with_the_lower_drivers_answer() {
    let io = IoManager::new();
    let bus = io
        .load_driver("bus", answering_bus(NtStatus::SUCCESS, &[1, 2, 3]))
        .unwrap();
    let filter = io
        .load_driver(
            "filter",
            wdm_compat::driver::entry_point::<PendThenForward>(),
        )
        .unwrap();
    let node = filtered_node(&io, r"\Device\PendPdo", bus, filter);
    let handle = node.open().unwrap();
    let operation = handle
        .device_io_control_async(ioctl(0x901, 0), &[], 3)
        .unwrap();
    assert!(operation.returned_pending(), "the filter pended it");
    let result = operation.wait(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 3));
    assert_eq!(result.data, [1, 2, 3]);
    // The pending flag reached the originator through the filter's location.
    assert!(io.probe(operation.irp()).pending_returned());
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// The extension of [`SelfDeleting`]'s device: says when it is dropped.
struct Watched {
    dropped: Arc<AtomicBool>,
    label: String,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// Keeps its device in its state and deletes it from one of that device's own IOCTLs (a control
/// device that "unplugs" itself); `HOLD` first waits until `release` is sent.
struct SelfDeleting {
    device: Mutex<Option<NamedDevice<Watched>>>,
    dropped: Arc<AtomicBool>,
    entered: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
}

const DELETE: u32 = ioctl(0x820, 0);
const DELETE_AND_HOLD: u32 = ioctl(0x821, 0);
const PING: u32 = ioctl(0x822, 0);

static SELF_DELETING_CHANNELS: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>> =
    Mutex::new(None);

impl WdmDriver for SelfDeleting {
    type DeviceExtension = Watched;

    fn driver_entry(setup: &mut DriverSetup<'_, Watched>) -> NtResult<Self> {
        let dropped = Arc::new(AtomicBool::new(false));
        let extension = Watched {
            dropped: Arc::clone(&dropped),
            label: "self-deleting".into(),
        };
        let device = setup.create_device(&DeviceConfig::named(r"\Device\SelfDel"), extension)?;
        let device = device
            .create_symbolic_link(r"\DosDevices\SelfDel")
            .map_err(|(_, s)| s)?;
        let (entered, release) = SELF_DELETING_CHANNELS.lock().unwrap().take().unzip();
        Ok(Self {
            device: Mutex::new(Some(device)),
            dropped,
            entered: Mutex::new(entered),
            release: Mutex::new(release),
        })
    }

    fn on_device_control<'r>(
        &self,
        device: &Device<Watched>,
        mut irp: Irp<'r>,
    ) -> DispatchStatus<'r> {
        let code = irp.request().ioctl_code().map(|c| c.to_raw());
        if code == Some(PING) {
            return irp.complete(NtStatus::SUCCESS);
        }
        // The guard goes while this routine still holds `device`.
        drop(self.device.lock().unwrap().take());
        if code == Some(DELETE_AND_HOLD) {
            if let Some(entered) = self.entered.lock().unwrap().take() {
                entered.send(()).unwrap();
            }
            if let Some(release) = self.release.lock().unwrap().take() {
                release.recv().unwrap();
            }
        }
        // Still the driver's data, read through the routine's `&Device`.
        let label_length = device.extension().label.len();
        let dropped_under_us = self.dropped.load(Ordering::SeqCst);
        irp.complete_with(|request| {
            let out = request.ioctl_buffers()?;
            let IoctlBuffers::Buffered(mut buffers) = out else {
                return Err(NtStatus::NOT_SUPPORTED);
            };
            let output = buffers.output();
            let reply = [
                u8::from(dropped_under_us),
                u8::try_from(label_length).unwrap_or(0),
            ];
            let n = reply.len().min(output.len());
            output[..n].copy_from_slice(&reply[..n]);
            Ok(n)
        })
    }
}

#[test]
fn a_driver_deleting_its_device_inside_that_devices_dispatch_keeps_the_extension_until_it_returns()
{
    let io = IoManager::new();
    io.load_driver(
        "self-deleting",
        wdm_compat::driver::entry_point::<SelfDeleting>(),
    )
    .unwrap();
    let handle = io.open(r"\\.\SelfDel").unwrap();
    let device = io.device_by_name(r"\Device\SelfDel").unwrap();
    let result = handle.device_io_control(DELETE, &[], 2);
    assert_eq!(result.status, NtStatus::SUCCESS);
    // Byte 0: the extension had not been dropped when the routine read it; byte 1: it read it.
    assert_eq!(result.output, [0, 13]);
    // The deletion finished when the routine returned: the link is gone, the device deleted.
    assert!(io.device(device).unwrap().deleted);
    assert_eq!(
        io.open(r"\\.\SelfDel").err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn irps_reaching_a_device_whose_deletion_is_pending_fail_with_delete_pending() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    *SELF_DELETING_CHANNELS.lock().unwrap() = Some((entered_tx, release_rx));
    let io = IoManager::new();
    io.load_driver(
        "self-deleting",
        wdm_compat::driver::entry_point::<SelfDeleting>(),
    )
    .unwrap();
    let first = io.open(r"\\.\SelfDel").unwrap();
    let second = io.open(r"\\.\SelfDel").unwrap();
    let device = io.device_by_name(r"\Device\SelfDel").unwrap();
    std::thread::scope(|s| {
        let holder = s.spawn(|| first.device_io_control(DELETE_AND_HOLD, &[], 2));
        entered_rx.recv().unwrap();
        // The guard is gone but a routine is still inside the device: the device object is
        // still there, and an IRP through another handle is refused, not dispatched.
        assert!(!io.device(device).unwrap().deleted);
        let refused = second.device_io_control(PING, &[], 0);
        assert_eq!(refused.status, NtStatus::DELETE_PENDING);
        release_tx.send(()).unwrap();
        let held = holder.join().unwrap();
        assert_eq!(held.status, NtStatus::SUCCESS);
        assert_eq!(held.output, [0, 13]);
    });
    assert!(io.device(device).unwrap().deleted);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// Pends every read and keeps it in its state, never to finish it.
struct Hoarder {
    _device: NamedDevice<()>,
    reads: Mutex<Vec<wdm_compat::PendingIrp>>,
}

impl WdmDriver for Hoarder {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device = setup.create_device(&DeviceConfig::named(r"\Device\Hoarder"), ())?;
        let device = device
            .create_symbolic_link(r"\DosDevices\Hoarder")
            .map_err(|(_, s)| s)?;
        Ok(Self {
            _device: device,
            reads: Mutex::new(Vec::new()),
        })
    }

    fn on_read<'r>(&self, _device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let (status, pending) = irp.mark_pending();
        self.reads.lock().unwrap().push(pending);
        status
    }
}

#[test]
fn a_pended_irp_dropped_at_unload_is_reported_as_pended_and_lost() {
    let io = IoManager::new();
    io.set_strict(false);
    let driver = io
        .load_driver("hoarder", wdm_compat::driver::entry_point::<Hoarder>())
        .unwrap();
    let handle = io.open(r"\\.\Hoarder").unwrap();
    let read = handle.read_async(4).unwrap();
    assert!(read.returned_pending());
    drop(handle);
    io.unload_driver(driver).unwrap();
    // The simulation finished the lost read for its originator.
    assert_eq!(read.result().map(|r| r.status), Some(NtStatus::CANCELLED));
    let reports = io.take_violations();
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert!(
        reports[0].message.contains("was pended, then dropped"),
        "{reports:#?}"
    );
    assert!(!reports[0].message.contains("or pended"), "{reports:#?}");
}

/// Takes its spin lock twice on one thread in its IOCTL routine.
struct Recursive {
    _device: NamedDevice<()>,
    count: wdm_compat::SpinLock<u32>,
}

impl WdmDriver for Recursive {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device = setup.create_device(&DeviceConfig::named(r"\Device\Recursive"), ())?;
        let device = device
            .create_symbolic_link(r"\DosDevices\Recursive")
            .map_err(|(_, s)| s)?;
        Ok(Self {
            _device: device,
            count: wdm_compat::SpinLock::new(0),
        })
    }

    fn on_device_control<'r>(&self, _device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let mut outer = self.count.lock();
        *outer += 1;
        // A helper that takes the lock again, as a driver might by accident.
        let inner = self.count.lock();
        let value = *inner;
        drop(inner);
        drop(outer);
        irp.complete_with_information(NtStatus::SUCCESS, usize::try_from(value).unwrap_or(0))
    }
}

#[test]
fn a_spin_lock_acquired_again_by_its_holder_is_a_deadlock_bug_check_not_a_hang() {
    let io = IoManager::new();
    io.set_strict(false);
    io.load_driver("recursive", wdm_compat::driver::entry_point::<Recursive>())
        .unwrap();
    let handle = io.open(r"\\.\Recursive").unwrap();
    let result = handle.device_io_control(ioctl(0x830, 0), &[], 0);
    // The driver code stopped at the second acquisition; the IRP did not succeed.
    assert_ne!(result.status, NtStatus::SUCCESS);
    let reports = io.take_violations();
    assert!(reports[0].is_verifier(0xC4, 0x1001), "{reports:#?}");
    assert!(
        reports[0].message.contains("acquired again"),
        "{reports:#?}"
    );
    assert!(
        reports.iter().all(|r| !r.is_bug_check(0x1E)),
        "a bug check is not reported again as a panic: {reports:#?}"
    );
    // The lock was released as the driver code unwound: the next IOCTL gets as far again.
    let again = handle.device_io_control(ioctl(0x830, 0), &[], 0);
    assert_ne!(again.status, NtStatus::SUCCESS);
    assert!(io.take_violations()[0].is_verifier(0xC4, 0x1001));
}
