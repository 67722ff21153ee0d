//! The escape hatches: the raw IRP and device object behind the wrappers, and a pending IRP
//! handed to "a kernel routine" (here: a slot that plays one) and taken back with `from_raw`.
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

use wdm_compat::driver::entry_point;
use wdm_compat::host::IoManager;
use wdm_compat::{
    Device, DispatchStatus, DriverSetup, Irp, NamedDevice, NtResult, NtStatus, PendingIrp,
    WdmDriver,
};

/// A read parked outside the crate's types, as a raw `PIRP` (its address).
struct Parking {
    parked: Mutex<Option<usize>>,
    device_seen: Mutex<Vec<usize>>,
    _device: NamedDevice<()>,
}

impl WdmDriver for Parking {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device =
            common::buffered_device(setup, r"\Device\Parking", r"\DosDevices\Parking", ())?;
        Ok(Self {
            parked: Mutex::new(None),
            device_seen: Mutex::new(Vec::new()),
            _device: device,
        })
    }

    fn on_read<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        self.device_seen
            .lock()
            .unwrap()
            .push(device.as_raw().addr());
        let seen = irp.as_raw();
        assert!(!seen.is_null());
        let (status, pending) = irp.mark_pending();
        assert_eq!(pending.as_raw(), seen, "the same IRP, pended");
        // Given up to "a kernel routine the crate does not wrap".
        *self.parked.lock().unwrap() = Some(pending.into_raw_irp().expose_provenance());
        status
    }

    fn on_write<'r>(&self, device: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let mut seen = self.device_seen.lock().unwrap();
        seen.push(device.as_raw().addr());
        // Every callback saw one and the same, non-null device object.
        let same = seen.iter().all(|&d| d != 0 && Some(&d) == seen.first());
        drop(seen);
        if !same {
            return irp.complete(NtStatus::INTERNAL_ERROR);
        }
        let Some(address) = self.parked.lock().unwrap().take() else {
            return irp.complete(NtStatus::DEVICE_NOT_READY);
        };
        let raw = std::ptr::with_exposed_provenance_mut(address);
        // SAFETY: the pointer is the pending read `on_read` gave up with `into_raw_irp`: live,
        // still this driver's (nobody else held it), and no other handle to it exists.
        let read: PendingIrp = unsafe { PendingIrp::from_raw(raw) }.unwrap();
        read.complete_with(|request| {
            let out = request.read_buffer()?;
            out.fill(b'!');
            Ok(out.len())
        });
        irp.complete(NtStatus::SUCCESS)
    }
}

#[test]
fn a_pending_irp_given_up_as_a_pointer_comes_back_and_completes_once() {
    let manager = IoManager::new();
    manager
        .load_driver("parking", entry_point::<Parking>())
        .unwrap();
    let handle = manager.open(r"\\.\Parking").unwrap();
    let read = handle.read_async(3).unwrap();
    assert!(read.returned_pending());
    assert!(read.result().is_none(), "parked outside the crate");
    // The write finds the read where it left it (and the device object unchanged).
    assert_eq!(handle.write(b"go").status, NtStatus::SUCCESS);
    let result = read.result().unwrap();
    assert_eq!(
        (result.status, result.data.as_slice()),
        (NtStatus::SUCCESS, &b"!!!"[..])
    );
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}
