//! A stand-in for wdk-sys 0.5.2, for compiling the seams for a Windows target without the WDK.
//!
//! The types are kmdf-sim's bindings files themselves (`wdf-safe/sim/src/ffi/bindings/`):
//! `kmdf.rs`, the WDF items (handles, enums, structures, `WdfFunctions_01033`,
//! `call_unsafe_wdf_function_binding!`), and `wdm.rs`, the kernel's (driver and device objects,
//! IRPs, stack locations, MDLs), so the seams are checked against the same declarations they
//! run against on the host. `kmdf.rs` names its neighbours through `super::`, which this crate
//! root provides (`wdm`, `table`, `current_globals`). What is this crate's own: the kernel
//! routines wdm-compat's WDK seam calls ([`ntddk`], declarations only).
//!
//! Nothing here runs: the check is `cargo check`, so the table is empty.
#![no_std]
#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs,
    reason = "the WDK's names"
)]

#[path = "../../../../wdf-safe/sim/src/ffi/bindings/wdm.rs"]
mod wdm;

pub mod ntddk;

#[path = "../../../../wdf-safe/sim/src/ffi/bindings/kmdf.rs"]
pub mod bindings;

pub use bindings::*;
pub use wdm::*;

/// `LARGE_INTEGER`, as bindgen makes the union (the seams name only `QuadPart`'s layout).
#[repr(C)]
#[derive(Clone, Copy)]
pub union _LARGE_INTEGER {
    pub QuadPart: i64,
}
pub type LARGE_INTEGER = _LARGE_INTEGER;
pub type PLARGE_INTEGER = *mut _LARGE_INTEGER;

/// The function table `WdfFunctions_01033` points at: the KMDF loader fills the real one.
mod table {
    pub(crate) static TABLE: [super::WDFFUNC; 458] = [None; 458];
}

/// `WdfDriverGlobals`: the KMDF loader fills the real one.
fn current_globals() -> PWDF_DRIVER_GLOBALS {
    core::ptr::null_mut()
}
