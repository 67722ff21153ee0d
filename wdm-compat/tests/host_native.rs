//! A driver written against the safe layer (`WdmDriver`), run through the seam's host backend:
//! the real trampolines, raw pointers and buffers lent as slices.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Mutex;

use wdm_compat::host::{IoManager, flags};
use wdm_compat::{
    Device, DeviceConfig, DispatchStatus, DriverSetup, IoType, Irp, NamedDevice, NtResult,
    NtStatus, PendingIrp, WdmDriver, kd_print,
};

const IOCTL_PANIC: u32 = (0x22 << 16) | (0x801 << 2);

struct Native {
    stored: Mutex<Vec<u8>>,
    parked: Mutex<Option<PendingIrp>>,
    _device: NamedDevice<()>,
}

impl WdmDriver for Native {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device = setup.create_device(
            &DeviceConfig::named(r"\Device\Native").io_type(IoType::Buffered),
            (),
        )?;
        let device = device
            .create_symbolic_link(r"\DosDevices\Native")
            .map_err(|(_, status)| status)?;
        kd_print!("native: loaded");
        Ok(Self {
            stored: Mutex::new(Vec::new()),
            parked: Mutex::new(None),
            _device: device,
        })
    }

    fn on_write<'r>(&self, _device: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        let data = match irp.request().write_buffer() {
            Ok(data) => data.to_vec(),
            Err(status) => return irp.complete(status),
        };
        let count = data.len();
        let parked = self.parked.lock().unwrap().take();
        match parked {
            // A read is waiting: it gets the bytes.
            Some(read) => read.complete_with(|request| {
                let out = request.read_buffer()?;
                let n = out.len().min(count);
                out[..n].copy_from_slice(&data[..n]);
                Ok(n)
            }),
            None => *self.stored.lock().unwrap() = data,
        }
        irp.complete_with_information(NtStatus::SUCCESS, count)
    }

    fn on_read<'r>(&self, _device: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        let stored = core::mem::take(&mut *self.stored.lock().unwrap());
        if stored.is_empty() {
            let (status, pending) = irp.mark_pending();
            *self.parked.lock().unwrap() = Some(pending);
            return status;
        }
        let count = match irp.request().read_buffer() {
            Ok(out) => {
                let n = out.len().min(stored.len());
                out[..n].copy_from_slice(&stored[..n]);
                n
            }
            Err(status) => return irp.complete(status),
        };
        irp.complete_with_information(NtStatus::SUCCESS, count)
    }

    fn on_device_control<'r>(&self, _device: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        let Some(code) = irp.request().ioctl_code() else {
            return irp.complete(NtStatus::INVALID_DEVICE_REQUEST);
        };
        match code.to_raw() {
            IOCTL_PANIC => panic!("driver bug"),
            _ => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }
}

fn loaded_with_id() -> (IoManager, wdm_compat::host::DriverId) {
    let manager = IoManager::new();
    let id = manager
        .load_driver("native", wdm_compat::driver::entry_point::<Native>())
        .unwrap();
    (manager, id)
}

fn loaded() -> IoManager {
    loaded_with_id().0
}

#[test]
fn safe_layer_driver_loads_with_a_ready_buffered_device_and_link() {
    let manager = loaded();
    let device = manager.resolve(r"\\.\Native").unwrap();
    let info = manager.device(device).unwrap();
    assert_eq!(info.name.as_deref(), Some(r"\Device\Native"));
    assert_eq!(info.flags & flags::DO_DEVICE_INITIALIZING, 0);
    assert_ne!(info.flags & flags::DO_BUFFERED_IO, 0);
    assert_eq!(manager.trace(), vec!["native: loaded".to_string()]);
}

#[test]
fn safe_layer_driver_write_then_read_through_lent_buffers() {
    let manager = loaded();
    let handle = manager.open(r"\\.\Native").unwrap();
    let write = handle.write(b"seam");
    assert_eq!((write.status, write.information), (NtStatus::SUCCESS, 4));
    let read = handle.read(8);
    assert_eq!(read.status, NtStatus::SUCCESS);
    assert_eq!(read.data, b"seam");
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(manager.violations().is_empty());
}

#[test]
fn safe_layer_pending_read_is_completed_by_a_later_write() {
    let manager = loaded();
    let handle = manager.open(r"\\.\Native").unwrap();
    let read = handle.read_async(3).unwrap();
    assert!(read.returned_pending());
    assert!(!read.is_complete());
    assert_eq!(handle.write(b"abcdef").information, 6);
    let result = read.result().unwrap();
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.data, b"abc");
    assert!(manager.violations().is_empty());
}

#[test]
fn safe_layer_unknown_ioctl_fails_and_copies_nothing() {
    let manager = loaded();
    let handle = manager.open(r"\\.\Native").unwrap();
    let result = handle.device_io_control((0x22 << 16) | (0x900 << 2), &[1, 2], 2);
    assert_eq!(result.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert!(result.data.is_empty());
}

#[test]
fn safe_layer_panic_drops_the_irp_which_is_reported_and_cancelled() {
    let manager = loaded();
    manager.set_strict(false);
    let handle = manager.open(r"\\.\Native").unwrap();
    let result = handle.device_io_control(IOCTL_PANIC, &[], 0);
    assert_eq!(result.status, NtStatus::CANCELLED);
    let violations = manager.take_violations();
    assert!(violations[0].is_verifier(0xC9, 0x226), "{violations:#?}");
    assert!(
        violations[0].message.contains("dropped"),
        "{}",
        violations[0]
    );
    assert!(violations[1].is_bug_check(0x1E), "{violations:#?}");
    assert!(
        violations[1].message.contains("driver bug"),
        "{}",
        violations[1]
    );
    assert_eq!(violations.len(), 2);
    assert!(violations.iter().all(|v| v.driver == "native"));
}

#[test]
fn safe_layer_unload_deletes_link_and_device() {
    let (manager, id) = loaded_with_id();
    let device = manager.resolve(r"\\.\Native").unwrap();
    manager.unload_driver(id).unwrap();
    assert!(manager.device(device).unwrap().deleted);
    assert_eq!(
        manager.open(r"\\.\Native").err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    assert!(manager.violations().is_empty());
}
