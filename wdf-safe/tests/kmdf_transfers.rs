//! Reads and writes checked against their length, with buffered and direct I/O.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::{Read, RequestType, Sequential, Write};
use wdf_safe::{
    ControlDeviceInit, DriverContext, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone,
};
use wdm_compat::host::IoManager;

/// A control device whose reads and writes need at least 4 bytes, with buffered or direct I/O.
struct Transfer<const DIRECT: bool>;

fn transfer_read<'r, const DIRECT: bool>(
    _driver: &Transfer<DIRECT>,
    request: Request<'r, Read>,
) -> RequestDone<'r> {
    request.complete_with(|request| {
        request.output_buffer(4)?[..4].copy_from_slice(b"DATA");
        Ok(4)
    })
}

fn transfer_write<'r, const DIRECT: bool>(
    _driver: &Transfer<DIRECT>,
    request: Request<'r, Write>,
) -> RequestDone<'r> {
    request.complete_with(|request| Ok(request.input_buffer(4)?.len()))
}

impl<const DIRECT: bool> KmdfDriver for Transfer<DIRECT> {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(if DIRECT {
            r"\Device\Direct"
        } else {
            r"\Device\Buffered"
        })?;
        init.set_io_type(if DIRECT {
            wdm_compat::IoType::Direct
        } else {
            wdm_compat::IoType::Buffered
        });
        // One open at a time (IoCreateDevice's Exclusive).
        init.set_exclusive(true);
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(if DIRECT {
            r"\DosDevices\Direct"
        } else {
            r"\DosDevices\Buffered"
        })?;
        device.create_default_queue(
            QueueConfig::<Sequential, Self>::sequential().on_read(transfer_read::<DIRECT>),
        )?;
        // Writes have a queue of their own.
        let writes = device.create_queue(
            QueueConfig::<Sequential, Self>::sequential().on_write(transfer_write::<DIRECT>),
        )?;
        device.configure_request_dispatching(&writes, RequestType::Write)?;
        let _ = device.finish_initializing();
        Ok(Self)
    }
}

fn check_transfers(io: &IoManager, path: &str) {
    let handle = io.open(path).unwrap();
    assert_eq!(
        io.open(path).err(),
        Some(NtStatus::ACCESS_DENIED),
        "exclusive"
    );
    // Zero-length: completed by the framework (no AllowZeroLengthRequests).
    assert_eq!(
        (handle.read(0).status, handle.read(0).information),
        (NtStatus::SUCCESS, 0)
    );
    assert_eq!(handle.write(&[]).status, NtStatus::SUCCESS);
    // One byte short: STATUS_BUFFER_TOO_SMALL, nothing transferred.
    let short = handle.read(3);
    assert_eq!(
        (short.status, short.information),
        (NtStatus::BUFFER_TOO_SMALL, 0),
        "{path}"
    );
    let short = handle.write(&[1, 2, 3]);
    assert_eq!(
        (short.status, short.information),
        (NtStatus::BUFFER_TOO_SMALL, 0),
        "{path}"
    );
    // Exact and oversized.
    let exact = handle.read(4);
    assert_eq!(
        (exact.status, exact.data.as_slice()),
        (NtStatus::SUCCESS, &b"DATA"[..]),
        "{path}"
    );
    let large = handle.read(64);
    assert_eq!(
        (large.status, large.information),
        (NtStatus::SUCCESS, 4),
        "{path}"
    );
    assert_eq!(&large.data[..4], b"DATA");
    let written = handle.write(&[7; 100]);
    assert_eq!(
        (written.status, written.information),
        (NtStatus::SUCCESS, 100),
        "{path}"
    );
}

#[test]
fn reads_and_writes_are_checked_against_their_length_with_buffered_and_direct_io() {
    let io = IoManager::new();
    io.load_driver("buffered", wdf_safe::entry_point::<Transfer<false>>())
        .unwrap();
    io.load_driver("direct", wdf_safe::entry_point::<Transfer<true>>())
        .unwrap();
    check_transfers(&io, r"\\.\Buffered");
    check_transfers(&io, r"\\.\Direct");
}
