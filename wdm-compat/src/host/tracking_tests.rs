//! Unit tests of the `TrackingCompleter` path (needs the crate-internal trampoline for a
//! completer other than `SystemCompleter`).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::{DriverEntry, IoManager};
use crate::{
    Device, DeviceConfig, DispatchStatus, DriverSetup, IoType, Irp, NamedDevice, NtResult,
    NtStatus, TrackingCompleter, WdmDriver,
};

struct Tracked {
    _device: NamedDevice<()>,
}

impl WdmDriver<TrackingCompleter> for Tracked {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device = setup.create_device(
            &DeviceConfig::named(r"\Device\Tracked").io_type(IoType::Buffered),
            (),
        )?;
        let device = device
            .create_symbolic_link(r"\DosDevices\Tracked")
            .map_err(|(_, status)| status)?;
        Ok(Self { _device: device })
    }

    fn on_read<'r>(
        &self,
        _device: &Device<()>,
        irp: Irp<'r, TrackingCompleter>,
    ) -> DispatchStatus<'r> {
        irp.complete_with_information(NtStatus::END_OF_FILE, 3)
    }
}

fn load() -> IoManager {
    let manager = IoManager::new();
    let entry = DriverEntry::from_fn(crate::sys::thunk::driver_entry::<Tracked, TrackingCompleter>);
    manager.load_driver("tracked", entry).unwrap();
    manager
}

#[test]
fn tracking_completer_records_on_the_irp_without_running_completion() {
    let manager = load();
    let handle = manager.open(r"\\.\Tracked").unwrap();
    // An operation keeps its IRP readable after completion (a synchronous read's IRP retires
    // as soon as the result is returned).
    let operation = handle.read_async(8).unwrap();
    let probe = manager.probe(operation.irp());
    let result = operation.result().unwrap();
    assert_eq!(result.status, NtStatus::END_OF_FILE);
    assert_eq!(result.information, 3);
    let tracked = probe.tracked_completion().unwrap();
    assert_eq!(
        (tracked.status, tracked.information),
        (NtStatus::END_OF_FILE, 3)
    );
    assert_eq!(probe.tracked_completions().len(), 1);
    assert!(probe.is_completed());
    assert!(manager.violations().is_empty());
}

#[test]
fn tracked_then_real_completion_is_a_double_completion() {
    let manager = load();
    manager.set_strict(false);
    let handle = manager.open(r"\\.\Tracked").unwrap();
    let result = handle.read(8);
    manager.kernel().complete(result.irp, NtStatus::SUCCESS, 0);
    let violations = manager.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].is_bug_check(0x44));
}
