//! Shared pieces of the host tests and of `run-sample`: the two backends a sample can be built
//! with, a simulated HID device stack for the filter sample to sit on, a simulated keyboard class
//! stack (kbdclass, i8042prt and the class service callback) for keyboard filters, and a
//! root-enumerated device node for the KMDF-only samples.
//!
//! A sample is written once against [`wdm_compat::io`]; [`Backend::entry_point`] turns it into
//! a WDM or a KMDF driver that the simulated I/O manager ([`wdm_compat::host::IoManager`]) can
//! load. Tests are written once and run for every [`Backend`] in [`Backend::ALL`].
//!
//! Beside this crate, in their own workspaces (they build for `x86_64-pc-windows-msvc`):
//! `wine/`, the WDM samples as real drivers under Wine (`wine/run.sh`), and `windows-check/`,
//! the seams and the nine driver images type-checked for Windows against the project's own
//! bindings. The programs: `run-sample` (one sample end to end, as its client and DbgView would
//! show it) and `bench` (round trips per second and peak memory of the simulation).

pub mod hid;
pub mod keyboard;
pub mod ops;
pub mod root;
pub mod scenario;

use wdm_compat::host::DriverEntry;
use wdm_compat::io::{IoDriver, WdmBackend};

/// How a sample is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// As a WDM driver: dispatch routines over IRPs ([`WdmBackend`]).
    Wdm,
    /// As a KMDF driver: a device, a default queue and framework requests
    /// ([`wdf_safe::io::KmdfBackend`]), on the simulated framework.
    Kmdf,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Self; 2] = [Self::Wdm, Self::Kmdf];

    /// `"wdm"` or `"kmdf"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Wdm => "wdm",
            Self::Kmdf => "kmdf",
        }
    }

    /// Parses `"wdm"` or `"kmdf"` (any case).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|backend| backend.name().eq_ignore_ascii_case(text))
    }

    /// The entry point of sample `D` built with this backend.
    #[must_use]
    pub fn entry_point<D: IoDriver>(self) -> DriverEntry {
        match self {
            Self::Wdm => wdm_compat::driver::entry_point::<WdmBackend<D>>(),
            Self::Kmdf => wdf_safe::io::entry_point::<D>(),
        }
    }
}
