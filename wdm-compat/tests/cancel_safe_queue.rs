//! The cancel-safe queue in a WDM driver: a mailbox whose reads wait in a `CancelSafeQueue`
//! until a write delivers a message, cancelled before, while and after they wait, by handle
//! cleanup, by unload, and raced from threads.
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

use wdm_compat::csq::CancelSafeQueue;
use wdm_compat::driver::entry_point;
use wdm_compat::host::{IoManager, ScriptedDriver, major};
use wdm_compat::{
    Device, DispatchStatus, DriverSetup, Irp, IrpCompleter, NamedDevice, NtResult, NtStatus,
    PendingIrp, WdmDriver,
};

/// `IOCTL_TAKE`: take the oldest waiting read out of the queue and hold it.
const IOCTL_TAKE: u32 = 0x0022_2000;
/// `IOCTL_FINISH`: complete the held read with `STATUS_SUCCESS` and no data.
const IOCTL_FINISH: u32 = 0x0022_2004;

struct Mailbox {
    // Dropped first at unload: what still waits is cancelled before the device goes.
    waiting: CancelSafeQueue,
    held: Mutex<Option<PendingIrp>>,
    _device: NamedDevice<()>,
}

impl WdmDriver for Mailbox {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device =
            common::buffered_device(setup, r"\Device\Mailbox", r"\DosDevices\Mailbox", ())?;
        Ok(Self {
            waiting: CancelSafeQueue::new()?,
            held: Mutex::new(None),
            _device: device,
        })
    }

    fn on_read<'r>(&self, _: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        self.waiting.insert(irp)
    }

    fn on_write<'r>(&self, _: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        let message: Vec<u8> = match irp.request().write_buffer() {
            Ok(data) => data.to_vec(),
            Err(status) => return irp.complete(status),
        };
        match self.waiting.remove_next() {
            Some(read) => read.complete_with(|request| {
                let out = request.read_buffer()?;
                let n = out.len().min(message.len());
                out[..n].copy_from_slice(&message[..n]);
                Ok(n)
            }),
            None => return irp.complete(NtStatus::DEVICE_NOT_READY),
        }
        irp.complete_with_information(NtStatus::SUCCESS, message.len())
    }

    fn on_device_control<'r>(&self, _: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        let code = irp.request().ioctl_code().map(|c| c.to_raw());
        let mut held = self.held.lock().unwrap();
        let status = match code {
            Some(IOCTL_TAKE) => match self.waiting.remove_next() {
                Some(read) => {
                    *held = Some(read);
                    NtStatus::SUCCESS
                }
                None => NtStatus::NO_MORE_ENTRIES,
            },
            Some(IOCTL_FINISH) => match held.take() {
                Some(read) => {
                    read.complete(NtStatus::SUCCESS);
                    NtStatus::SUCCESS
                }
                None => NtStatus::NO_MORE_ENTRIES,
            },
            _ => NtStatus::INVALID_DEVICE_REQUEST,
        };
        drop(held);
        irp.complete(status)
    }

    fn on_cleanup<'r>(&self, _: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        // The closing handle's waiting reads end with it.
        if let Some(file) = irp.request().file_object() {
            self.waiting.cancel_all_of(file);
        }
        irp.complete(NtStatus::SUCCESS)
    }
}

fn mailbox() -> IoManager {
    let manager = IoManager::new();
    manager
        .load_driver("mailbox", entry_point::<Mailbox>())
        .unwrap();
    manager
}

#[test]
fn a_waiting_read_gets_the_next_message() {
    let manager = mailbox();
    let handle = manager.open(r"\\.\Mailbox").unwrap();
    let read = handle.read_async(16).unwrap();
    assert!(read.returned_pending());
    assert_eq!(handle.write(b"hello").information, 5);
    let result = read.result().unwrap();
    assert_eq!(
        (result.status, result.data.as_slice()),
        (NtStatus::SUCCESS, &b"hello"[..])
    );
    // No reader: the write is refused.
    assert_eq!(handle.write(b"x").status, NtStatus::DEVICE_NOT_READY);
}

#[test]
fn cancel_while_waiting_completes_through_the_cancel_handler() {
    let manager = mailbox();
    let handle = manager.open(r"\\.\Mailbox").unwrap();
    let first = handle.read_async(4).unwrap();
    let second = handle.read_async(4).unwrap();
    assert!(first.cancel(), "the queue's cancel routine ran");
    assert_eq!(first.result().unwrap().status, NtStatus::CANCELLED);
    // The other read still waits, and is the one the next message goes to.
    assert!(second.result().is_none());
    assert_eq!(handle.write(b"ok").status, NtStatus::SUCCESS);
    assert_eq!(second.result().unwrap().data, b"ok");
    assert!(manager.violations().is_empty());
}

#[test]
fn a_read_cancelled_before_it_is_queued_is_completed_as_cancelled() {
    // A filter above the mailbox cancels each read (IoCancelIrp, no routine set yet: only
    // `Irp->Cancel` is set) before passing it down; the queue sees it cancelled on insertion.
    let manager = mailbox();
    let mailbox_device = manager.device_by_name(r"\Device\Mailbox").unwrap();
    let filter = ScriptedDriver::new()
        .on_entry(move |k| {
            let device = k
                .create_device(Some(r"\Device\Impatient"), 0x22, false)
                .unwrap();
            k.set_flags(device, wdm_compat::host::flags::DO_BUFFERED_IO);
            assert!(k.attach(device, mailbox_device).is_some());
            k.create_symbolic_link(r"\DosDevices\Impatient", device)
                .unwrap();
            NtStatus::SUCCESS
        })
        .on(major::CREATE, move |k, _d, irp| {
            k.skip_current_location(irp);
            k.call_driver(irp, mailbox_device)
        })
        .on(major::CLEANUP, move |k, _d, irp| {
            k.skip_current_location(irp);
            k.call_driver(irp, mailbox_device)
        })
        .on(major::CLOSE, move |k, _d, irp| {
            k.skip_current_location(irp);
            k.call_driver(irp, mailbox_device)
        })
        .on(major::READ, move |k, _d, irp| {
            assert!(!k.cancel(irp), "no cancel routine is set yet");
            k.skip_current_location(irp);
            k.call_driver(irp, mailbox_device)
        });
    manager.load_driver("impatient", filter).unwrap();
    let handle = manager.open(r"\\.\Impatient").unwrap();
    let read = handle.read_async(4).unwrap();
    assert!(read.returned_pending(), "marked pending, then completed");
    assert_eq!(read.result().unwrap().status, NtStatus::CANCELLED);
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

#[test]
fn a_read_taken_out_of_the_queue_is_the_drivers_and_a_late_cancel_does_not_touch_it() {
    let manager = mailbox();
    let handle = manager.open(r"\\.\Mailbox").unwrap();
    let read = handle.read_async(4).unwrap();
    assert_eq!(
        handle.device_io_control(IOCTL_TAKE, &[], 0).status,
        NtStatus::SUCCESS
    );
    // Taken out: its cancel routine was cleared, so CancelIo calls nothing and the IRP stays
    // the driver's.
    assert!(!read.cancel());
    assert!(read.result().is_none());
    assert_eq!(
        handle.device_io_control(IOCTL_FINISH, &[], 0).status,
        NtStatus::SUCCESS
    );
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

#[test]
fn closing_a_handle_cancels_its_waiting_reads_and_no_one_elses() {
    let manager = mailbox();
    let mine = manager.open(r"\\.\Mailbox").unwrap();
    let theirs = manager.open(r"\\.\Mailbox").unwrap();
    let my_read = mine.read_async(4).unwrap();
    let their_read = theirs.read_async(4).unwrap();
    let my_second = mine.read_async(4).unwrap();
    drop(mine);
    assert_eq!(my_read.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(my_second.result().unwrap().status, NtStatus::CANCELLED);
    assert!(their_read.result().is_none());
    assert_eq!(theirs.write(b"hi").status, NtStatus::SUCCESS);
    assert_eq!(their_read.result().unwrap().data, b"hi");
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

#[test]
fn unloading_cancels_what_still_waits() {
    let manager = IoManager::new();
    let driver = manager
        .load_driver("mailbox", entry_point::<Mailbox>())
        .unwrap();
    let handle = manager.open(r"\\.\Mailbox").unwrap();
    let read = handle.read_async(4).unwrap();
    // The handle stays open: the read still waits when the driver goes.
    manager.set_strict(false);
    let _ = manager.unload_driver(driver);
    assert_eq!(read.result().unwrap().status, NtStatus::CANCELLED);
    drop(handle);
    assert!(
        !manager.violations().iter().any(|v| v.is_bug_check(0x44)),
        "{:#?}",
        manager.violations()
    );
}

#[test]
fn cancels_racing_deliveries_finish_every_read_exactly_once() {
    let rounds = if cfg!(miri) { 3 } else { 200 };
    let manager = mailbox();
    let handle = manager.open(r"\\.\Mailbox").unwrap();
    for _ in 0..rounds {
        let read = handle.read_async(4).unwrap();
        let start = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            let canceller = scope.spawn(|| {
                start.wait();
                read.cancel()
            });
            start.wait();
            let delivered = handle.write(b"race").status == NtStatus::SUCCESS;
            let cancelled = canceller.join().unwrap();
            let result = read.result().unwrap();
            // Exactly one of them got the read.
            match result.status {
                NtStatus::SUCCESS => assert!(delivered && result.data == b"race"),
                NtStatus::CANCELLED => assert!(cancelled && !delivered),
                other => panic!("read ended with {other}"),
            }
        });
    }
    // A double completion would be bug check 0x44; nothing was reported.
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

/// The queue is generic over the completer too.
fn _queue_for_any_completer<C: IrpCompleter>() -> NtResult<CancelSafeQueue<C>> {
    CancelSafeQueue::new()
}
