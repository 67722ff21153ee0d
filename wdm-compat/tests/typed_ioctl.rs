//! Typed IOCTLs on both sides: a driver matches requests against `define_ioctl!` constants and
//! gets decoded input (fixed-size or bounded bytes), and the user side sends with the same
//! constants.
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
use wdm_compat::ioctl::Bounded;
use wdm_compat::{
    Device, DispatchStatus, DriverSetup, Irp, NamedDevice, NtResult, NtStatus, WdmDriver,
    define_ioctl, io_buffer_struct,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Pair {
    a: u32,
    b: u32,
}
io_buffer_struct!(Pair { a: u32, b: u32 });

define_ioctl!(IOCTL_POST, 0x8000, 0x801, Bounded<1, 64> => u32);
define_ioctl!(IOCTL_PEEK, 0x8000, 0x802, () => Bounded<0, 64>);
define_ioctl!(IOCTL_ADD, 0x8000, 0x803, Pair => u32);
define_ioctl!(IOCTL_ADD_DIRECT, 0x8000, 0x804, Pair => u32, method = OutDirect);
define_ioctl!(IOCTL_ADD_IN_DIRECT, 0x8000, 0x805, Pair => u32, method = InDirect);

struct Board {
    message: Mutex<Vec<u8>>,
    _device: NamedDevice<()>,
}

impl WdmDriver for Board {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device = common::buffered_device(setup, r"\Device\Board", r"\DosDevices\Board", ())?;
        Ok(Self {
            message: Mutex::new(Vec::new()),
            _device: device,
        })
    }

    fn on_device_control<'r>(&self, _: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        irp.complete_with(|request| {
            // Each IOCTL in turn; a request that is none of them comes back.
            let request = match request.ioctl(IOCTL_POST) {
                Ok(call) => {
                    let message = call.input()?;
                    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
                    *self.message.lock().unwrap() = message.to_vec();
                    return call.reply(&length);
                }
                Err(request) => request,
            };
            let request = match request.ioctl(IOCTL_PEEK) {
                Ok(call) => return call.reply(&self.message.lock().unwrap()),
                Err(request) => request,
            };
            for add in [IOCTL_ADD, IOCTL_ADD_DIRECT, IOCTL_ADD_IN_DIRECT] {
                if request.ioctl_code() == Some(add.code()) {
                    let call = request.ioctl(add).map_err(|_| NtStatus::INTERNAL_ERROR)?;
                    let Pair { a, b } = call.input()?;
                    return call.reply(&a.wrapping_add(b));
                }
            }
            Err(NtStatus::INVALID_DEVICE_REQUEST)
        })
    }
}

fn board() -> (IoManager, wdm_compat::host::FileHandle) {
    let manager = IoManager::new();
    manager
        .load_driver("board", entry_point::<Board>())
        .unwrap();
    let handle = manager.open(r"\\.\Board").unwrap();
    (manager, handle)
}

#[test]
fn bounded_bytes_go_in_and_come_back_through_the_same_constants() {
    let (manager, handle) = board();
    assert_eq!(handle.call(IOCTL_POST, b"hello, board"), Ok(12));
    assert_eq!(handle.call(IOCTL_PEEK, &()), Ok(b"hello, board".to_vec()));
    // The bounds are the type's: 1 to 64 bytes.
    assert_eq!(
        handle.call(IOCTL_POST, b""),
        Err(NtStatus::BUFFER_TOO_SMALL)
    );
    assert_eq!(
        handle.call(IOCTL_POST, &[7; 65]),
        Err(NtStatus::INVALID_PARAMETER)
    );
    assert_eq!(handle.call(IOCTL_POST, &[7; 64]), Ok(64));
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

#[test]
fn fixed_size_input_is_decoded_and_a_short_one_refused() {
    let (_manager, handle) = board();
    assert_eq!(handle.call(IOCTL_ADD, &Pair { a: 40, b: 2 }), Ok(42));
    // The same call through METHOD_OUT_DIRECT: the reply goes to the caller's pages.
    assert_eq!(handle.call(IOCTL_ADD_DIRECT, &Pair { a: 1, b: 2 }), Ok(3));
    // METHOD_IN_DIRECT pages are read-only: the reply is refused, not written.
    assert_eq!(
        handle.call(IOCTL_ADD_IN_DIRECT, &Pair { a: 1, b: 2 }),
        Err(NtStatus::INVALID_DEVICE_REQUEST)
    );
    // Four bytes where eight are declared, sent by hand.
    let short = handle.device_io_control(IOCTL_ADD.code().to_raw(), &[1, 0, 0, 0], 4);
    assert_eq!(short.status, NtStatus::BUFFER_TOO_SMALL);
    // A reply that does not fit the caller's buffer.
    let cramped = handle.device_io_control(IOCTL_ADD.code().to_raw(), &[0; 8], 2);
    assert_eq!(cramped.status, NtStatus::BUFFER_TOO_SMALL);
}

#[test]
fn a_request_matching_no_constant_comes_back_to_the_handler() {
    let (_manager, handle) = board();
    let other = handle.device_io_control(0x8000_2FFC, &[], 0);
    assert_eq!(other.status, NtStatus::INVALID_DEVICE_REQUEST);
}
