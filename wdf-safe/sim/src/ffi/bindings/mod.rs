//! The project's own bindings: the items of wdk-sys 0.5.2 that wdf-safe's KMDF seam
//! (`wdf-safe/src/sys/wdk.rs`) names, with the names, types, enum values and function-table
//! indices of the KMDF 1.33 headers (`wdfdriver.h`, `wdfdevice.h`, `wdfio.h`, `wdfrequest.h`,
//! `wdfobject.h`, `wdffuncenum.h`, `wdfglobals.h`) and the x64 layouts, so the seam that ships
//! is the seam the host tests compile and run.
//!
//! As in wdk-sys, C enums are modules of constants (bindgen's "module consts" style), structures
//! are `repr(C)` with the headers' field names, and [`call_unsafe_wdf_function_binding!`]
//! calls a framework function by name through the function table, passing the driver globals
//! first. Two things differ, both because many driver images share one process here:
//!
//! * [`WdfDriverGlobals`] is a function, not a static: it returns the globals of the image whose
//!   code the calling thread is running (the simulated framework sets it around every call
//!   into a driver), where a real image has one static filled in by the KMDF loader.
//! * [`WdfFunctions_01033`] points at the simulated framework's table, which is the same for
//!   every image.
//!
//! Two files, re-exported here flat as wdk-sys has them: `wdm.rs`, the kernel's base types, and
//! `kmdf.rs`, the WDF items. Each asserts its layouts at its end against the offsets of the
//! WDK's x64 headers.

mod kmdf;
mod wdm;

pub use kmdf::*;
pub use wdm::*;

/// The function table `WdfFunctions_01033` points at (the simulated framework's).
use super::table;

/// `WdfDriverGlobals()`'s answer: the globals of the image whose code this thread runs.
fn current_globals() -> PWDF_DRIVER_GLOBALS {
    crate::framework::current_globals()
}
