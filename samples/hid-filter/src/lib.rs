//! # The HID upper-filter sample
//!
//! An upper filter that sits above a HID device (think of Microsoft's kbfiltr over a keyboard)
//! and changes nothing:
//!
//! * every request passes down untouched, and its completion comes back to the sender
//!   unchanged;
//! * on the way it counts the reads and internal IOCTLs that pass, and on their way back up it
//!   counts their completions and the bytes the device returned, and traces each;
//! * open, close, device control, PnP and power requests pass down without being observed.
//!
//! Removal (surprise or orderly) is handled by the backend: the remove request passes down
//! first, then the filter detaches and deletes its device, in that order.
//!
//! The driver is written once against [`wdm_compat::io`]; `samples/hid-filter/wdm` builds it
//! as a WDM driver and `samples/hid-filter/kmdf` as a KMDF driver. It is safe Rust throughout (`forbid(unsafe_code)`).
#![no_std]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use wdm_compat::io::{
    Completion, DeviceControlRequest, DeviceRole, DeviceSettings, IoDriver, ReadRequest,
    RequestKind,
};
use wdm_compat::{IoType, NtResult, kd_print};

/// What the filter has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Reads passed down.
    pub reads: u32,
    /// Internal IOCTLs passed down.
    pub internal_ioctls: u32,
    /// Observed requests completed below.
    pub completions: u32,
    /// Bytes the device returned for completed reads.
    pub bytes_read: usize,
}

/// The filter driver.
#[derive(Debug, Default)]
pub struct HidFilter {
    reads: AtomicU32,
    internal_ioctls: AtomicU32,
    completions: AtomicU32,
    bytes_read: AtomicUsize,
}

impl HidFilter {
    /// What the filter has seen so far.
    #[must_use]
    pub fn counts(&self) -> Counts {
        Counts {
            reads: self.reads.load(Ordering::Relaxed),
            internal_ioctls: self.internal_ioctls.load(Ordering::Relaxed),
            completions: self.completions.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
        }
    }
}

impl IoDriver for HidFilter {
    const NAME: &'static str = "hid-filter";

    const DEVICE: DeviceSettings = DeviceSettings {
        role: DeviceRole::UpperFilter,
        // A filter takes both from the device below it.
        device_type: 0x22,
        io_type: IoType::Buffered,
    };

    fn load() -> NtResult<Self> {
        kd_print!("[hid-filter] DriverEntry -- loading");
        Ok(Self::default())
    }

    fn unload(&self) {
        let counts = self.counts();
        kd_print!(
            "[hid-filter] DriverUnload -- saw {} reads, {} internal IOCTLs, {} completions",
            counts.reads,
            counts.internal_ioctls,
            counts.completions
        );
    }

    fn on_read<R: ReadRequest>(&self, request: R) -> R::Done {
        let number = self.reads.fetch_add(1, Ordering::Relaxed) + 1;
        kd_print!(
            "[hid-filter] read #{number} of {} bytes passed down",
            request.length()
        );
        request.forward_observed()
    }

    fn on_internal_device_control<R: DeviceControlRequest>(&self, request: R) -> R::Done {
        let number = self.internal_ioctls.fetch_add(1, Ordering::Relaxed) + 1;
        kd_print!(
            "[hid-filter] internal IOCTL #{number} {} passed down",
            request.ioctl_code()
        );
        request.forward_observed()
    }

    fn on_device_control<R: DeviceControlRequest>(&self, request: R) -> R::Done {
        request.forward()
    }

    fn on_lower_completion(&self, completion: &Completion) {
        self.completions.fetch_add(1, Ordering::Relaxed);
        if completion.kind == RequestKind::Read {
            self.bytes_read
                .fetch_add(completion.information, Ordering::Relaxed);
        }
        kd_print!(
            "[hid-filter] {:?} completed below: {}, {} bytes",
            completion.kind,
            completion.status,
            completion.information
        );
    }
}
