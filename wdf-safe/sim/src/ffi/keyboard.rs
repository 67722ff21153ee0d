//! The keyboard class/port contract (kbdmou.h, ntddkbd.h), for the simulated keyboard stacks:
//! keystrokes do not travel in IRPs. The class driver (kbdclass) sends
//! `IOCTL_INTERNAL_KEYBOARD_CONNECT` down its stack with a `CONNECT_DATA` naming its device
//! object and its class service callback; the port driver (i8042prt, kbdhid) keeps it and, from
//! its interrupt's DPC at DISPATCH_LEVEL, calls the callback with a range of
//! `KEYBOARD_INPUT_DATA`. A filter between them (kbfiltr) rewrites the `CONNECT_DATA` on its
//! way down so that the port calls the filter, which calls the class.
//!
//! A service callback is a raw function pointer read out of an IRP's buffer, so the simulation
//! calls only routines registered with it ([`register_service_routine`], the seam's; the
//! simulated class driver's own is registered from the start): a connect naming anything else
//! is refused, where a real port driver would jump to it and bug-check.

use core::ffi::c_void;
use std::sync::{Arc, Mutex, PoisonError};
use std::vec::Vec;

use wdm_compat::host::IoManager;

use crate::framework::{Cx, Framework, device};

/// `IOCTL_INTERNAL_KEYBOARD_CONNECT`: `CTL_CODE(FILE_DEVICE_KEYBOARD, 0x0080, METHOD_NEITHER,
/// FILE_ANY_ACCESS)`.
pub const IOCTL_INTERNAL_KEYBOARD_CONNECT: u32 = 0x000B_0203;
/// `IOCTL_INTERNAL_KEYBOARD_DISCONNECT`: `CTL_CODE(FILE_DEVICE_KEYBOARD, 0x0100,
/// METHOD_NEITHER, FILE_ANY_ACCESS)`.
pub const IOCTL_INTERNAL_KEYBOARD_DISCONNECT: u32 = 0x000B_0403;
/// `sizeof(CONNECT_DATA)` on x64: `ClassDeviceObject`, then `ClassService`.
pub const CONNECT_DATA_SIZE: usize = 16;

/// `KEYBOARD_INPUT_DATA` (ntddkbd.h), 12 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyboardInputData {
    /// `UnitId`: which keyboard (`\Device\KeyboardPortN`).
    pub unit_id: u16,
    /// `MakeCode`: the scan code.
    pub make_code: u16,
    /// `Flags`: `KEY_MAKE` (0), `KEY_BREAK` (1), `KEY_E0` (2), `KEY_E1` (4).
    pub flags: u16,
    /// `Reserved`.
    pub reserved: u16,
    /// `ExtraInformation`.
    pub extra_information: u32,
}

/// `PSERVICE_CALLBACK_ROUTINE` as kbdmou.h declares it: (`NormalContext`: the class device
/// object, `SystemArgument1`: the first `KEYBOARD_INPUT_DATA`, `SystemArgument2`: one past the
/// last, `SystemArgument3`: the `ULONG` count of entries consumed).
pub type ServiceRoutine = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void, *mut c_void);

/// The routines a connect may name.
static ROUTINES: Mutex<Vec<ServiceRoutine>> = Mutex::new(Vec::new());
/// The simulated class drivers' receivers, by address (kept for the process's life, as the
/// simulation keeps device objects).
static SINKS: Mutex<Vec<Arc<ClassSink>>> = Mutex::new(Vec::new());

/// Lets a connect name `routine`.
///
/// # Safety
///
/// `routine` must be callable with any pointer as its first argument (it must check the
/// device object it is given before using it), a valid `[start, end)` range of
/// `KEYBOARD_INPUT_DATA` and a valid `ULONG` pointer, at DISPATCH_LEVEL.
pub unsafe fn register_service_routine(routine: ServiceRoutine) {
    let mut routines = ROUTINES.lock().unwrap_or_else(PoisonError::into_inner);
    if !routines.iter().any(|r| core::ptr::fn_addr_eq(*r, routine)) {
        routines.push(routine);
    }
}

/// Who a port driver calls with its keystrokes: the `CONNECT_DATA` it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassConnection {
    device: usize,
    service: usize,
}

impl ClassConnection {
    /// Reads a `CONNECT_DATA` (`None` when shorter than [`CONNECT_DATA_SIZE`]).
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let device = bytes.get(..8)?.try_into().ok().map(usize::from_le_bytes)?;
        let service = bytes
            .get(8..16)?
            .try_into()
            .ok()
            .map(usize::from_le_bytes)?;
        Some(Self { device, service })
    }

    /// The `CONNECT_DATA` bytes.
    #[must_use]
    pub fn to_bytes(self) -> [u8; CONNECT_DATA_SIZE] {
        let mut bytes = [0; CONNECT_DATA_SIZE];
        let (device, service) = bytes.split_at_mut(8);
        device.copy_from_slice(&self.device.to_le_bytes());
        service.copy_from_slice(&self.service.to_le_bytes());
        bytes
    }

    /// Calls the connection's service callback with `keys`, as a port driver's DPC does (the
    /// caller raises to DISPATCH_LEVEL first); returns how many the callback consumed, or
    /// `None` when the connection names a routine nobody registered (nothing is called).
    ///
    /// When the connection's device object is a framework device's (a filter hooked the
    /// connect), the routine runs as that driver image's code, as on Windows where it is code
    /// in the filter's image.
    #[must_use]
    pub fn deliver(self, io: &IoManager, keys: &[KeyboardInputData]) -> Option<u32> {
        let routine = ROUTINES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .find(|r| *r as usize == self.service)?;
        let mut data = keys.to_vec();
        let range = data.as_mut_ptr_range();
        let mut consumed: u32 = 0;
        let framework = io.library::<Framework>();
        let _frame = device::owner_of_wdm_object(&framework, self.device)
            .map(|(image, driver)| Cx::new(image, io.kernel_as(driver)).enter());
        // SAFETY: `routine` was registered with `register_service_routine`, whose contract
        // admits any device pointer; the range is this function's own vector, alive for the
        // call, and `consumed` a local.
        unsafe {
            routine(
                self.device as *mut c_void,
                range.start.cast(),
                range.end.cast(),
                (&raw mut consumed).cast(),
            );
        }
        Some(consumed)
    }
}

/// What a simulated class driver received through its service callback.
#[derive(Debug, Default)]
pub struct ClassSink {
    received: Mutex<Vec<KeyboardInputData>>,
}

impl ClassSink {
    /// A new receiver, kept for the process's life.
    #[must_use]
    pub fn new() -> Arc<Self> {
        ensure_class_routine();
        let sink = Arc::new(Self::default());
        SINKS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sink.clone());
        sink
    }

    /// The `CONNECT_DATA` a class driver sends down: this receiver as its "device object" and
    /// the simulated class service callback.
    #[must_use]
    pub fn connection(self: &Arc<Self>) -> ClassConnection {
        ClassConnection {
            device: Arc::as_ptr(self) as usize,
            service: CLASS_SERVICE as usize,
        }
    }

    /// The keystrokes received so far, in order.
    #[must_use]
    pub fn received(&self) -> Vec<KeyboardInputData> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn ensure_class_routine() {
    // SAFETY: `class_service` looks its device pointer up among the live sinks before using
    // it, and reads the range it is given only when the pointers are ordered and aligned.
    unsafe { register_service_routine(CLASS_SERVICE) };
}

/// The simulated class driver's callback, as one function pointer (two casts of a function
/// need not give the same address, and the port finds the routine by address).
static CLASS_SERVICE: ServiceRoutine = class_service;

/// The simulated kbdclass's `KeyboardClassServiceCallback`: appends the range to its sink's
/// list and consumes all of it.
unsafe extern "C" fn class_service(
    device: *mut c_void,
    start: *mut c_void,
    end: *mut c_void,
    consumed: *mut c_void,
) {
    let sink = SINKS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|s| core::ptr::eq(Arc::as_ptr(s).cast::<c_void>(), device))
        .cloned();
    let Some(sink) = sink else { return };
    let start = start.cast::<KeyboardInputData>();
    let end = end.cast::<KeyboardInputData>();
    if start.is_null() || !start.is_aligned() || end < start {
        return;
    }
    let count = (end as usize - start as usize) / size_of::<KeyboardInputData>();
    // SAFETY: per `register_service_routine`'s contract, the caller passes a valid range of
    // `KEYBOARD_INPUT_DATA`; `count` entries fit in it.
    let keys = unsafe { core::slice::from_raw_parts(start, count) };
    sink.received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend_from_slice(keys);
    if !consumed.is_null() {
        // SAFETY: per the contract, `consumed` points to the caller's ULONG.
        unsafe {
            consumed
                .cast::<u32>()
                .write(u32::try_from(count).unwrap_or(u32::MAX))
        };
    }
}
