//! The driver's parameters in the registry (`WdfDriverOpenParametersRegistryKey`): the
//! `Parameters` key under the driver's service key, where an INF's `AddReg` or an administrator
//! puts its settings. Opened for reading in `DriverEntry`, closed when the key is dropped.
//!
//! ```
//! # #[cfg(feature = "host")] fn main() {
//! use wdf_safe::{DriverContext, KmdfDriver, NtResult, NtStatus};
//!
//! struct Tuned {
//!     period_ms: u32,
//! }
//!
//! impl KmdfDriver for Tuned {
//!     fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
//!         // A missing key or value means the default.
//!         let period_ms = driver
//!             .parameters()
//!             .and_then(|key| key.query_u32("PeriodMs"))
//!             .unwrap_or(100);
//!         wdm_compat::kd_print!("period {period_ms} ms");
//!         Ok(Self { period_ms })
//!     }
//! }
//!
//! let io = wdm_compat::host::IoManager::new();
//! wdf_safe::set_driver_parameter(&io, "tuned", "PeriodMs", wdf_safe::RegistryValue::Dword(250));
//! io.load_driver("tuned", wdf_safe::entry_point::<Tuned>()).unwrap();
//! assert!(io.trace().iter().any(|line| line == "period 250 ms"));
//! # }
//! # #[cfg(not(feature = "host"))] fn main() {}
//! ```

use core::marker::PhantomData;

use crate::KmdfDriver;
use crate::driver::DriverContext;
use crate::sys::ParametersKey;
use wdm_compat::NtResult;

/// The driver's `Parameters` registry key, open for reading while `DriverEntry` runs.
pub struct RegistryKey<'a> {
    raw: ParametersKey,
    _entry: PhantomData<&'a ()>,
}

impl RegistryKey<'_> {
    /// `WdfRegistryQueryULong`: the `REG_DWORD` value `name` (names are case-insensitive).
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_NOT_FOUND` when there is no such value, `STATUS_OBJECT_TYPE_MISMATCH`
    /// when it is not a `REG_DWORD`.
    pub fn query_u32(&self, name: &str) -> NtResult<u32> {
        self.raw.query_u32(name)
    }
}

impl<D: KmdfDriver> DriverContext<'_, '_, D> {
    /// `WdfDriverOpenParametersRegistryKey(KEY_READ)`: the driver's `Parameters` key, closed
    /// (`WdfRegistryClose`) when the returned key is dropped.
    ///
    /// IRQL: PASSIVE_LEVEL (`DriverEntry`).
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_NOT_FOUND` when the service has no `Parameters` key.
    pub fn parameters(&self) -> NtResult<RegistryKey<'_>> {
        self.raw().open_parameters_key().map(|raw| RegistryKey {
            raw,
            _entry: PhantomData,
        })
    }
}
